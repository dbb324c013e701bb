//! API keys in one JSON file, shared by the server and the `keys` CLI.
//!
//! Each process keeps the file's keys in memory together with the file's identity
//! (device, inode, length, mtime). [`KeyStore::check`], which runs on every call of a
//! key-authenticated connection, costs one `stat`; only when the identity changed (another
//! process wrote the file) is the file read again. Writers replace the file atomically
//! (temporary file, fsync, rename), so a reader never needs a lock. Read-modify-write
//! cycles are serialised across processes by an exclusive `flock` on a sibling lock file
//! (`<file>.lock`), always taken before the in-memory mutex and never while holding it.
//!
//! One file past 600 lines because most of it is the store's tests, which share one
//! fixture; the code itself is the store and its file cache, one concern.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read as _};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use domain::{Role, Timestamp};
use ports::auth::{ApiKeyRecord, CredentialError, Identity, KeyPrecheck, KeyStore, KeyStoreError};

use crate::api_key::{self, NewSecret, PresentedKey};
use crate::files;
use crate::key_file::{self, KeyEntry, Keys};
use crate::verified::VerifiedSecrets;

/// argon2id with 4 MiB and one pass instead of the crate's 19 MiB and two.
///
/// The secrets are 256 random bits, not passwords a person chose: no amount of hashing work
/// changes the odds of guessing one, and a copy of the file gives nobody a usable key at any
/// cost setting. What the cost does change is what one `authenticate` with a known id and a
/// wrong secret costs this service, and the memory a burst of verifications takes on a
/// small box. Verification reads the parameters from each stored hash, so raising these
/// later keeps old keys working.
const KEY_HASH_PARAMS: Params = match Params::new(4 * 1024, 1, 1, None) {
    Ok(params) => params,
    Err(_) => panic!("argon2 parameters are within the documented bounds"),
};

/// `last_used_at` is written back at most this often per key (it is a hint for operators,
/// and writing on every `authenticate` would fsync the file on every connection).
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// Longest accepted label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// Tries at finding an id not yet in the file before giving up (60-bit ids: one suffices).
const ID_ATTEMPTS: usize = 8;

/// API keys (`csk_<id>_<secret>`) stored as argon2 hashes in one JSON file.
pub struct FileKeyStore {
    path: PathBuf,
    lock_path: PathBuf,
    cache: Mutex<Cache>,
    /// Secrets that verified, by key id; emptied whenever the file is reloaded.
    verified: VerifiedSecrets,
    /// argon2 verifications run so far (for tests and the curious).
    hashes_run: AtomicU64,
}

/// The keys as last read, and the identity of the file they were read from.
#[derive(Debug)]
struct Cache {
    stamp: Stamp,
    content: Content,
}

#[derive(Debug)]
enum Content {
    Keys(Keys),
    /// The file as identified by the stamp could not be parsed; the reason is for
    /// operators (it names the file), not for clients.
    Unreadable(String),
}

/// Identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    Absent,
    Present {
        dev: u64,
        ino: u64,
        len: u64,
        mtime_secs: i64,
        mtime_nanos: i64,
    },
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        Stamp::Present {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_secs: meta.mtime(),
            mtime_nanos: meta.mtime_nsec(),
        }
    }

    fn of_path(path: &Path) -> io::Result<Self> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Stamp::of(&meta)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Stamp::Absent),
            Err(err) => Err(err),
        }
    }
}

/// Client-facing reasons: they do not reveal paths or file contents.
const STORE_UNAVAILABLE: &str = "API key store is unavailable";
const UNKNOWN_KEY: &str = "unknown API key";
const WRONG_SECRET: &str = "API key does not match";

impl FileKeyStore {
    /// Opens the store in `path`. A missing file is an empty store (the file and its
    /// directory are created by the first `add`); a file that cannot be read or parsed is
    /// an error naming it.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let mut lock_name = path
            .file_name()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("API key file path {} has no file name", path.display()),
                )
            })?
            .to_owned();
        lock_name.push(".lock");
        let lock_path = path.with_file_name(lock_name);
        let (stamp, keys) = read_file(&path)?;
        Ok(FileKeyStore {
            path,
            lock_path,
            cache: Mutex::new(Cache {
                stamp,
                content: Content::Keys(keys),
            }),
            verified: VerifiedSecrets::new(),
            hashes_run: AtomicU64::new(0),
        })
    }

    /// How many argon2 verifications this store has run.
    pub fn hashes_run(&self) -> u64 {
        self.hashes_run.load(Ordering::Relaxed)
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a key with `role` and `label`, valid until `expires_at` (or forever).
    /// Returns the key text, which exists nowhere else afterwards (show it once), and its
    /// record.
    pub fn add(
        &self,
        role: Role,
        label: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> io::Result<(String, ApiKeyRecord)> {
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "API key label must be at most {MAX_LABEL_CHARS} characters \
                     without control characters"
                ),
            ));
        }
        if expires_at.is_some_and(|at| at <= now) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "API key expiry must be in the future",
            ));
        }
        let secret = NewSecret::generate();
        let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, KEY_HASH_PARAMS)
            .hash_password(secret.as_bytes())
            .map_err(|err| io::Error::other(format!("cannot hash the new API key: {err}")))?
            .to_string();

        let entry = self.modify(|keys| {
            let id = (0..ID_ATTEMPTS)
                .map(|_| api_key::new_id())
                .find(|id| !keys.contains_key(id))
                .ok_or_else(|| io::Error::other("could not find an unused API key id"))?;
            let entry = KeyEntry {
                id: id.clone(),
                role,
                label: label.to_owned(),
                created_at: now,
                expires_at,
                last_used_at: None,
                revoked: false,
                hash,
            };
            keys.insert(id, entry.clone());
            Ok((Change::Write, entry))
        })?;
        Ok((secret.into_key(&entry.id), entry.record()))
    }

    /// All keys, revoked and expired ones included, in creation order.
    pub fn list(&self) -> io::Result<Vec<ApiKeyRecord>> {
        let cache = self.fresh_cache()?;
        match &cache.content {
            Content::Keys(keys) => Ok(key_file::in_creation_order(keys)
                .into_iter()
                .map(KeyEntry::record)
                .collect()),
            Content::Unreadable(reason) => {
                Err(io::Error::new(io::ErrorKind::InvalidData, reason.clone()))
            }
        }
    }

    /// Revokes the key with `id`; `false` when there is no such key. Revoking twice is
    /// harmless. Every process sharing the file refuses the key from its next `check`.
    pub fn revoke(&self, id: &str) -> io::Result<bool> {
        let known = self.modify(|keys| match keys.get_mut(id) {
            None => Ok((Change::None, false)),
            Some(entry) if entry.revoked => Ok((Change::None, true)),
            Some(entry) => {
                entry.revoked = true;
                Ok((Change::Write, true))
            }
        })?;
        self.verified.forget(id);
        Ok(known)
    }

    /// The cache, brought up to date with the file (one `stat` when nothing changed).
    fn fresh_cache(&self) -> io::Result<MutexGuard<'_, Cache>> {
        let mut cache = self.lock_cache();
        let stamp = Stamp::of_path(&self.path)?;
        if stamp != cache.stamp {
            // Another writer changed the file: what verified against the old one is
            // forgotten (a revocation may be among the changes).
            self.verified.forget_all();
            *cache = match read_file(&self.path) {
                Ok((stamp, keys)) => Cache {
                    stamp,
                    content: Content::Keys(keys),
                },
                Err(err) if err.kind() == io::ErrorKind::InvalidData => Cache {
                    // Remembered, so an unchanged broken file is not parsed on every call.
                    stamp,
                    content: Content::Unreadable(err.to_string()),
                },
                Err(err) => return Err(err),
            };
        }
        Ok(cache)
    }

    /// Runs a read-modify-write cycle on the file under the cross-process lock, starting
    /// from the file's current content (not the cache), and leaves the cache up to date.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut Keys) -> io::Result<(Change, T)>,
    ) -> io::Result<T> {
        fs::create_dir_all(files::parent_dir(&self.path))?;
        let lock = files::open_private(&self.lock_path)?;
        lock.lock()?;
        // A broken file is reported, never overwritten.
        let (mut stamp, mut keys) = read_file(&self.path)?;
        if stamp != self.lock_cache().stamp {
            self.verified.forget_all();
        }
        let (changed, out) = change(&mut keys)?;
        if changed == Change::Write {
            let bytes = key_file::render(&keys).map_err(io::Error::other)?;
            files::replace(&self.path, &bytes)?;
            stamp = Stamp::of_path(&self.path)?;
        }
        *self.lock_cache() = Cache {
            stamp,
            content: Content::Keys(keys),
        };
        drop(lock); // closing the file releases the lock
        Ok(out)
    }

    /// Writes `last_used_at` back when the stored one is missing or older than the
    /// resolution. Best effort: a failure here must not fail the authentication.
    fn note_use(&self, id: &str, previous: Option<Timestamp>, now: Timestamp) {
        let stale = |last: Option<Timestamp>| {
            last.is_none_or(|at| now.unix_millis() - at.unix_millis() >= LAST_USED_RESOLUTION_MS)
        };
        if !stale(previous) {
            return;
        }
        let _ = self.modify(|keys| match keys.get_mut(id) {
            Some(entry) if stale(entry.last_used_at) => {
                entry.last_used_at = Some(now);
                Ok((Change::Write, ()))
            }
            _ => Ok((Change::None, ())),
        });
    }

    fn lock_cache(&self) -> MutexGuard<'_, Cache> {
        // Every update replaces the whole cache in one assignment, so a panic elsewhere
        // while the lock was held cannot have left it half-written.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `read` on the entry for `id` as of the file's current version, without copying
    /// it (this is on the path of every call of a key-authenticated connection).
    fn with_entry<R>(
        &self,
        id: &str,
        read: impl FnOnce(Option<&KeyEntry>) -> R,
    ) -> Result<R, CredentialError> {
        let cache = self
            .fresh_cache()
            .map_err(|_| CredentialError::Invalid(STORE_UNAVAILABLE.into()))?;
        match &cache.content {
            Content::Keys(keys) => Ok(read(keys.get(id))),
            Content::Unreadable(_) => Err(CredentialError::Invalid(STORE_UNAVAILABLE.into())),
        }
    }
}

impl fmt::Debug for FileKeyStore {
    /// Path and number of keys only: the hashes are nobody's business in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cache = self.lock_cache();
        let mut out = f.debug_struct("FileKeyStore");
        out.field("path", &self.path);
        match &cache.content {
            Content::Keys(keys) => out.field("keys", &keys.len()),
            Content::Unreadable(_) => out.field("keys", &"<unreadable>"),
        };
        out.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    None,
    Write,
}

impl FileKeyStore {
    /// The checks made before any hashing: shape, known id, revocation, expiry. The
    /// revocation and expiry of a key id are told to anyone who presents it (ids are not
    /// secret, and hashing first would let every guess cost an argon2 run).
    fn live_entry<'k>(
        &self,
        presented: &PresentedKey<'k>,
        now: Timestamp,
    ) -> Result<KeyEntry, CredentialError> {
        let entry = self
            .with_entry(presented.id, |entry| entry.cloned())?
            .ok_or_else(|| CredentialError::Invalid(UNKNOWN_KEY.into()))?;
        if entry.revoked {
            return Err(CredentialError::Revoked);
        }
        if entry.is_expired(now) {
            return Err(CredentialError::Expired);
        }
        Ok(entry)
    }
}

fn store_error(err: io::Error) -> KeyStoreError {
    match err.kind() {
        io::ErrorKind::InvalidInput => KeyStoreError::Invalid(err.to_string()),
        _ => KeyStoreError::Unavailable(err.to_string()),
    }
}

impl KeyStore for FileKeyStore {
    fn list(&self) -> Result<Vec<ApiKeyRecord>, KeyStoreError> {
        FileKeyStore::list(self).map_err(store_error)
    }

    fn add(
        &self,
        role: Role,
        label: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(String, ApiKeyRecord), KeyStoreError> {
        FileKeyStore::add(self, role, label, expires_at, now).map_err(store_error)
    }

    fn revoke(&self, id: &str) -> Result<bool, KeyStoreError> {
        FileKeyStore::revoke(self, id).map_err(store_error)
    }

    /// Finds the record by the key's id, refuses a revoked or expired key, then checks the
    /// secret: against the remembered MAC of the last secret that verified, else against the
    /// argon2 hash.
    fn verify(&self, key: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        let presented =
            PresentedKey::parse(key).map_err(|err| CredentialError::Invalid(err.to_string()))?;
        let entry = self.live_entry(&presented, now)?;
        if !self.verified.matches(&entry.id, presented.secret) {
            self.hashes_run.fetch_add(1, Ordering::Relaxed);
            let verified =
                Argon2::default().verify_password(presented.secret.as_bytes(), entry.hash.as_str());
            // argon2's 4 MiB went back to this thread's arena, which glibc keeps resident;
            // hand it to the kernel (a walk of the free chunks: far below argon2's cost).
            cs_sys::release_free_heap();
            verified.map_err(|_| CredentialError::Invalid(WRONG_SECRET.into()))?;
            self.verified.remember(&entry.id, presented.secret);
        }
        self.note_use(&entry.id, entry.last_used_at, now);
        Ok(Identity {
            subject: format!("key:{}", entry.id),
            role: entry.role,
            expires_at: entry.expires_at,
            key_id: Some(entry.id),
        })
    }

    fn precheck(&self, key: &str, now: Timestamp) -> Result<KeyPrecheck, CredentialError> {
        let presented =
            PresentedKey::parse(key).map_err(|err| CredentialError::Invalid(err.to_string()))?;
        let entry = self.live_entry(&presented, now)?;
        if self.verified.matches(&entry.id, presented.secret) {
            Ok(KeyPrecheck::Remembered)
        } else {
            Ok(KeyPrecheck::NeedsHash { key_id: entry.id })
        }
    }

    /// One `stat` of the file, and a re-read only if another writer replaced it. A key that
    /// is no longer in the file at all counts as revoked. When the file cannot be read the
    /// key is refused: a revocation might be in what cannot be read.
    fn check(&self, key_id: &str, now: Timestamp) -> Result<(), CredentialError> {
        self.with_entry(key_id, |entry| match entry {
            None => Err(CredentialError::Revoked),
            Some(entry) if entry.revoked => Err(CredentialError::Revoked),
            Some(entry) if entry.is_expired(now) => Err(CredentialError::Expired),
            Some(_) => Ok(()),
        })?
    }
}

/// Reads and parses the file, with the identity of the version read (taken from the open
/// file, so content and stamp always belong together). A missing file holds no keys.
fn read_file(path: &Path) -> io::Result<(Stamp, Keys)> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok((Stamp::Absent, Keys::new()))
        }
        Err(err) => {
            return Err(io::Error::new(
                err.kind(),
                format!("cannot read API key file {}: {err}", path.display()),
            ))
        }
    };
    let stamp = Stamp::of(&file.metadata()?);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let keys = key_file::parse(path, &bytes)
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
    Ok((stamp, keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    const NOW_MS: i64 = 1_736_951_400_000; // 2025-01-15T14:30:00Z

    fn now() -> Timestamp {
        Timestamp::from_unix_millis(NOW_MS)
    }

    fn later(secs: i64) -> Timestamp {
        now().plus_millis(secs * 1000)
    }

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                dir: tempfile::tempdir().expect("tempdir"),
            }
        }

        fn path(&self) -> PathBuf {
            self.dir.path().join("state/api_keys.json")
        }

        /// Another handle on the same file, as a second process would have.
        fn open(&self) -> FileKeyStore {
            FileKeyStore::open(self.path()).expect("opens")
        }

        fn file_text(&self) -> String {
            fs::read_to_string(self.path()).expect("key file exists")
        }
    }

    fn add(store: &FileKeyStore, role: Role) -> (String, ApiKeyRecord) {
        store.add(role, "test key", None, now()).expect("adds")
    }

    fn secret_of(key: &str) -> &str {
        key.rsplit_once('_').expect("key has parts").1
    }

    fn invalid_reason(result: Result<Identity, CredentialError>) -> String {
        match result {
            Err(CredentialError::Invalid(reason)) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn missing_file_is_an_empty_store_and_is_not_created_by_opening() {
        let fx = Fixture::new();
        let store = fx.open();

        assert!(store.list().expect("lists").is_empty());
        assert!(!fx.path().exists());
    }

    #[test]
    fn added_key_has_the_documented_shape() {
        let fx = Fixture::new();
        let (key, record) = add(&fx.open(), Role::Operator);

        let rest = key.strip_prefix("csk_").expect("prefix");
        let (id, secret) = rest.split_once('_').expect("id and secret");
        assert_eq!(id, record.id);
        assert_eq!(id.len(), 12);
        assert!(secret.len() >= 32);
        assert!(secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn added_key_is_listed_with_its_metadata() {
        let fx = Fixture::new();
        let store = fx.open();
        let expiry = later(3600);

        let (_, record) = store
            .add(Role::Viewer, "dashboard", Some(expiry), now())
            .expect("adds");

        assert_eq!(
            record,
            ApiKeyRecord {
                id: record.id.clone(),
                role: Role::Viewer,
                label: "dashboard".into(),
                created_at: now(),
                expires_at: Some(expiry),
                last_used_at: None,
                revoked: false,
            }
        );
        assert_eq!(store.list().expect("lists"), [record]);
    }

    #[test]
    fn added_key_verifies_to_its_role() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Admin);

        let identity = store.verify(&key, now()).expect("verifies");

        assert_eq!(
            identity,
            Identity {
                subject: format!("key:{}", record.id),
                role: Role::Admin,
                expires_at: None,
                key_id: Some(record.id.clone()),
            }
        );
        assert_eq!(store.check(&record.id, now()), Ok(()));
    }

    #[test]
    fn plaintext_key_never_reaches_the_file() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Operator);
        store.verify(&key, later(120)).expect("verifies");
        store.revoke(&record.id).expect("revokes");

        let text = fx.file_text();
        assert!(!text.contains(&key));
        assert!(!text.contains(secret_of(&key)));
        assert!(text.contains("$argon2id$"), "{text}");
        assert!(text.contains(&record.id));
    }

    #[test]
    fn key_file_and_lock_file_are_private() {
        let fx = Fixture::new();
        add(&fx.open(), Role::Viewer);

        for path in [fx.path(), fx.dir.path().join("state/api_keys.json.lock")] {
            let mode = fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }

    #[test]
    fn wrong_secret_for_a_known_id_is_invalid() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, _) = add(&store, Role::Admin);
        let secret = secret_of(&key);
        let wrong = format!("{}{}", &key[..key.len() - secret.len()], "x".repeat(43));

        assert_eq!(invalid_reason(store.verify(&wrong, now())), WRONG_SECRET);
    }

    #[test]
    fn another_keys_secret_does_not_open_this_id() {
        let fx = Fixture::new();
        let store = fx.open();
        let (viewer_key, _) = add(&store, Role::Viewer);
        let (_, admin) = add(&store, Role::Admin);
        let spliced = format!("csk_{}_{}", admin.id, secret_of(&viewer_key));

        assert_eq!(invalid_reason(store.verify(&spliced, now())), WRONG_SECRET);
    }

    #[test]
    fn unknown_id_is_invalid() {
        let fx = Fixture::new();
        let store = fx.open();
        add(&store, Role::Admin);
        let key = format!("csk_aaaaaaaaaaaa_{}", "s".repeat(43));

        assert_eq!(invalid_reason(store.verify(&key, now())), UNKNOWN_KEY);
    }

    #[test]
    fn malformed_keys_are_invalid() {
        let fx = Fixture::new();
        let store = fx.open();
        add(&store, Role::Admin);
        for key in [
            "",
            "csk_",
            "csk_nope",
            "eyJhbGciOiJIUzI1NiJ9.e30.x",
            "csk__",
        ] {
            let reason = invalid_reason(store.verify(key, now()));
            assert!(reason.contains("API key"), "{key:?}: {reason}");
        }
    }

    #[test]
    fn revoked_key_is_refused_by_verify_and_check() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Operator);

        assert!(store.revoke(&record.id).expect("revokes"));

        assert_eq!(store.verify(&key, now()), Err(CredentialError::Revoked));
        assert_eq!(
            store.check(&record.id, now()),
            Err(CredentialError::Revoked)
        );
        assert!(store.list().expect("lists")[0].revoked);
    }

    #[test]
    fn revoked_key_is_refused_before_hashing() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Operator);
        store.revoke(&record.id).expect("revokes");

        let guess = format!("csk_{}_{}", record.id, "g".repeat(43));
        assert_eq!(store.verify(&guess, now()), Err(CredentialError::Revoked));
        assert_eq!(store.verify(&key, now()), Err(CredentialError::Revoked));
        assert_eq!(store.precheck(&guess, now()), Err(CredentialError::Revoked));
        assert_eq!(store.hashes_run(), 0, "no argon2 run for a revoked key");
    }

    #[test]
    fn expired_key_is_refused_before_hashing() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, _) = store
            .add(Role::Viewer, "short-lived", Some(later(60)), now())
            .expect("adds");

        assert_eq!(store.verify(&key, later(61)), Err(CredentialError::Expired));
        assert_eq!(
            store.precheck(&key, later(61)),
            Err(CredentialError::Expired)
        );
        assert_eq!(store.hashes_run(), 0);
    }

    #[test]
    fn unknown_and_malformed_keys_are_refused_before_hashing() {
        let fx = Fixture::new();
        let store = fx.open();
        add(&store, Role::Admin);

        let unknown = format!("csk_aaaaaaaaaaaa_{}", "s".repeat(43));
        assert!(store.verify(&unknown, now()).is_err());
        assert!(store.precheck(&unknown, now()).is_err());
        assert!(store.verify("csk_nope", now()).is_err());
        assert_eq!(store.hashes_run(), 0);
    }

    #[test]
    fn a_secret_that_verified_is_not_hashed_again() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Operator);
        assert_eq!(
            store.precheck(&key, now()),
            Ok(KeyPrecheck::NeedsHash {
                key_id: record.id.clone()
            })
        );

        store.verify(&key, now()).expect("first verification");
        assert_eq!(store.hashes_run(), 1);
        assert_eq!(store.precheck(&key, now()), Ok(KeyPrecheck::Remembered));
        for _ in 0..5 {
            store.verify(&key, now()).expect("remembered");
        }

        assert_eq!(store.hashes_run(), 1, "the cache answered");
    }

    #[test]
    fn a_wrong_secret_is_hashed_every_time_and_never_remembered() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Operator);
        store.verify(&key, now()).expect("verifies");
        let wrong = format!("csk_{}_{}", record.id, "w".repeat(43));

        for _ in 0..3 {
            assert_eq!(invalid_reason(store.verify(&wrong, now())), WRONG_SECRET);
        }

        assert_eq!(store.hashes_run(), 4);
        assert_eq!(
            store.precheck(&wrong, now()),
            Ok(KeyPrecheck::NeedsHash { key_id: record.id })
        );
    }

    #[test]
    fn the_cache_is_dropped_on_revoke() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Operator);
        store.verify(&key, now()).expect("verifies");

        store.revoke(&record.id).expect("revokes");

        assert_eq!(store.verify(&key, now()), Err(CredentialError::Revoked));
        assert!(store.verified.lock_is_empty_for(&record.id));
    }

    #[test]
    fn the_cache_is_dropped_when_another_process_changes_the_file() {
        let fx = Fixture::new();
        let server = fx.open();
        let cli = fx.open();
        let (key, _) = add(&server, Role::Operator);
        server.verify(&key, now()).expect("verifies");
        assert_eq!(server.precheck(&key, now()), Ok(KeyPrecheck::Remembered));

        add(&cli, Role::Viewer); // any change by another process: a reload

        assert!(matches!(
            server.precheck(&key, now()),
            Ok(KeyPrecheck::NeedsHash { .. })
        ));
        server.verify(&key, now()).expect("verifies again");
        assert_eq!(server.hashes_run(), 2, "hashed again after the reload");
    }

    #[test]
    fn own_writes_keep_the_cache() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, _) = add(&store, Role::Operator);

        store
            .verify(&key, later(5))
            .expect("verifies, writes last use");
        store
            .verify(&key, later(70))
            .expect("remembered, writes last use again");
        store.verify(&key, later(140)).expect("remembered");

        assert_eq!(store.hashes_run(), 1);
    }

    #[test]
    fn revoking_an_unknown_id_reports_false_and_writes_nothing() {
        let fx = Fixture::new();
        let store = fx.open();
        add(&store, Role::Viewer);
        let before = fx.file_text();

        assert!(!store.revoke("aaaaaaaaaaaa").expect("revoke"));
        assert!(!store.revoke("not even an id").expect("revoke"));
        assert_eq!(fx.file_text(), before);
    }

    #[test]
    fn revoking_twice_is_harmless() {
        let fx = Fixture::new();
        let store = fx.open();
        let (_, record) = add(&store, Role::Viewer);

        assert!(store.revoke(&record.id).expect("first"));
        assert!(store.revoke(&record.id).expect("second"));
        assert_eq!(
            store.check(&record.id, now()),
            Err(CredentialError::Revoked)
        );
    }

    #[test]
    fn key_expires_at_its_expiry() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = store
            .add(Role::Viewer, "short-lived", Some(later(60)), now())
            .expect("adds");

        let identity = store.verify(&key, later(59)).expect("still valid");
        assert_eq!(identity.expires_at, Some(later(60)));
        assert_eq!(store.check(&record.id, later(59)), Ok(()));

        assert_eq!(store.verify(&key, later(60)), Err(CredentialError::Expired));
        assert_eq!(
            store.check(&record.id, later(60)),
            Err(CredentialError::Expired)
        );
    }

    #[test]
    fn expiry_in_the_past_or_a_bad_label_is_refused() {
        let fx = Fixture::new();
        let store = fx.open();

        let past = store.add(Role::Viewer, "x", Some(now()), now());
        let newline = store.add(Role::Viewer, "two\nlines", None, now());
        let long = store.add(Role::Viewer, &"l".repeat(MAX_LABEL_CHARS + 1), None, now());

        for result in [past, newline, long] {
            assert_eq!(
                result.expect_err("refused").kind(),
                io::ErrorKind::InvalidInput
            );
        }
        assert!(!fx.path().exists());
    }

    #[test]
    fn verification_records_last_use_visible_to_other_processes() {
        let fx = Fixture::new();
        let server = fx.open();
        let cli = fx.open();
        let (key, record) = add(&server, Role::Operator);

        server.verify(&key, later(5)).expect("verifies");

        let listed = cli.list().expect("lists");
        assert_eq!(listed[0].id, record.id);
        assert_eq!(listed[0].last_used_at, Some(later(5)));
    }

    #[test]
    fn last_use_is_written_back_at_minute_resolution() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, _) = add(&store, Role::Operator);

        store.verify(&key, later(5)).expect("first use");
        store.verify(&key, later(30)).expect("within the minute");
        assert_eq!(store.list().expect("lists")[0].last_used_at, Some(later(5)));

        store.verify(&key, later(65)).expect("a minute on");
        assert_eq!(
            store.list().expect("lists")[0].last_used_at,
            Some(later(65))
        );
    }

    #[test]
    fn key_added_by_one_process_verifies_in_another() {
        let fx = Fixture::new();
        let server = fx.open();
        let cli = fx.open();
        assert!(server.list().expect("lists").is_empty());

        let (key, record) = add(&cli, Role::Admin);

        let identity = server.verify(&key, now()).expect("server sees the new key");
        assert_eq!(identity.key_id.as_deref(), Some(record.id.as_str()));
        assert_eq!(identity.role, Role::Admin);
    }

    #[test]
    fn revocation_by_another_process_is_seen_on_the_next_check() {
        let fx = Fixture::new();
        let server = fx.open();
        let cli = fx.open();
        let (key, record) = add(&server, Role::Operator);
        server.verify(&key, now()).expect("verifies");
        assert_eq!(server.check(&record.id, now()), Ok(()));

        assert!(cli.revoke(&record.id).expect("cli revokes"));

        assert_eq!(
            server.check(&record.id, now()),
            Err(CredentialError::Revoked)
        );
        assert_eq!(server.verify(&key, now()), Err(CredentialError::Revoked));
    }

    #[test]
    fn revocations_one_after_another_are_each_seen() {
        let fx = Fixture::new();
        let server = fx.open();
        let cli = fx.open();
        let (_, a) = add(&server, Role::Viewer);
        let (_, b) = add(&server, Role::Viewer);
        let (_, c) = add(&server, Role::Viewer);

        for revoked in [&a, &b, &c] {
            assert_eq!(server.check(&revoked.id, now()), Ok(()));
            cli.revoke(&revoked.id).expect("revokes");
            assert_eq!(
                server.check(&revoked.id, now()),
                Err(CredentialError::Revoked)
            );
        }
    }

    #[test]
    fn concurrent_adds_from_two_processes_lose_nothing() {
        let fx = Fixture::new();
        let stores = [Arc::new(fx.open()), Arc::new(fx.open())];
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let store = Arc::clone(&stores[i % 2]);
                std::thread::spawn(move || {
                    store
                        .add(Role::Viewer, &format!("key {i}"), None, now())
                        .expect("adds")
                        .1
                        .id
                })
            })
            .collect();
        let mut added: Vec<String> = threads
            .into_iter()
            .map(|t| t.join().expect("thread finished"))
            .collect();
        added.sort();

        let reader = fx.open();
        let mut listed: Vec<String> = reader
            .list()
            .expect("lists")
            .into_iter()
            .map(|r| r.id)
            .collect();
        listed.sort();
        assert_eq!(listed, added);
    }

    #[test]
    fn removed_key_counts_as_revoked_for_check() {
        let fx = Fixture::new();
        let store = fx.open();
        let (_, record) = add(&store, Role::Viewer);

        fs::remove_file(fx.path()).expect("operator deletes the file");

        assert_eq!(
            store.check(&record.id, now()),
            Err(CredentialError::Revoked)
        );
        assert!(store.list().expect("lists").is_empty());
    }

    #[test]
    fn corrupt_file_fails_open_with_its_name() {
        let fx = Fixture::new();
        fs::create_dir_all(fx.path().parent().expect("parent")).expect("mkdir");
        fs::write(fx.path(), "{ not json").expect("write");

        let err = FileKeyStore::open(fx.path()).expect_err("refused");

        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("api_keys.json"), "{err}");
    }

    #[test]
    fn corrupted_file_refuses_keys_and_is_not_overwritten() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, record) = add(&store, Role::Admin);
        fs::write(fx.path(), "{ truncated").expect("corrupt");

        assert_eq!(invalid_reason(store.verify(&key, now())), STORE_UNAVAILABLE);
        assert_eq!(
            store.check(&record.id, now()),
            Err(CredentialError::Invalid(STORE_UNAVAILABLE.into()))
        );
        let listed = store.list().expect_err("list reports the broken file");
        assert!(listed.to_string().contains("api_keys.json"), "{listed}");
        let added = store.add(Role::Viewer, "x", None, now());
        assert_eq!(
            added.expect_err("refused").kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(fx.file_text(), "{ truncated");
    }

    #[test]
    fn repaired_file_is_picked_up_again() {
        let fx = Fixture::new();
        let store = fx.open();
        let (_, record) = add(&store, Role::Admin);
        let good = fx.file_text();
        fs::write(fx.path(), "{ truncated").expect("corrupt");
        assert!(store.check(&record.id, now()).is_err());

        fs::write(fx.path(), good).expect("repair");

        assert_eq!(store.check(&record.id, now()), Ok(()));
    }

    #[test]
    fn file_edited_in_place_is_reloaded() {
        let fx = Fixture::new();
        let store = fx.open();
        let (_, record) = add(&store, Role::Admin);

        // An operator's editor writing in place (same inode) rather than renaming.
        let edited = fx
            .file_text()
            .replace("\"revoked\": false", "\"revoked\": true");
        fs::write(fx.path(), edited).expect("edit");

        assert_eq!(
            store.check(&record.id, now()),
            Err(CredentialError::Revoked)
        );
    }

    #[test]
    fn file_is_read_again_only_when_its_identity_changes() {
        let fx = Fixture::new();
        let store = fx.open();
        add(&store, Role::Viewer);
        let mtime = fs::metadata(fx.path())
            .and_then(|m| m.modified())
            .expect("mtime");

        // Same inode, same length, mtime put back: the store must not notice (no re-read).
        let edited = fx.file_text().replace("test key", "best key");
        fs::write(fx.path(), &edited).expect("edit in place");
        File::options()
            .write(true)
            .open(fx.path())
            .and_then(|f| f.set_modified(mtime))
            .expect("restore mtime");
        assert_eq!(store.list().expect("lists")[0].label, "test key");

        // Any change to the identity (here the mtime) makes it read the file again.
        File::options()
            .write(true)
            .open(fx.path())
            .and_then(|f| f.set_modified(mtime + std::time::Duration::from_secs(1)))
            .expect("touch");
        assert_eq!(store.list().expect("lists")[0].label, "best key");
    }

    #[test]
    fn errors_and_debug_output_never_show_a_key() {
        let fx = Fixture::new();
        let store = fx.open();
        let (key, _) = add(&store, Role::Admin);
        let wrong = format!("{}x", &key[..key.len() - 1]);

        let shown = [
            format!("{store:?}"),
            format!("{:?}", store.verify(&wrong, now())),
            format!("{:?}", store.list()),
        ];
        for text in shown {
            assert!(!text.contains(secret_of(&key)), "{text}");
            assert!(!text.contains(secret_of(&wrong)), "{text}");
        }
    }
}
