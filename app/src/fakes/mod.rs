//! In-memory fakes of the ports the app's unit tests need (test builds only): a clock the
//! test moves, credentials read from the token text, an in-memory file and state store, a
//! capture tool that is not there, and a core built from them; `media`: a capture tool whose
//! recordings the test ends, an event log to wait on and `Media` on them; `mtx`: MediaMTX
//! and its stream reader in memory, and `Streams` on them. Nothing here sleeps: time passes
//! when a test says so, and tests wait for events, not for time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use config::Config;
use domain::api::Quality;
use domain::events::{Event, Topic};
use domain::files::FileKind;
use domain::files::SnapshotFormat;
use domain::stream::PathConfig;
use domain::{Role, SafeFileName, Timestamp};
use ports::auth::{CredentialError, Identity, KeyPrecheck, KeyStore, TokenVerifier};
use ports::camera::CaptureSource;
use ports::capture::{
    Capture, CaptureError, MediaInfo, MediaInspector, Recorder, RecordingEnd, RecordingRequest,
    Still, StillRequest,
};
use ports::clock::Clock;
use ports::controls::{ApplyFailure, CameraControls, ControlsError};
use ports::events::EventPublisher;
use ports::files::{FileFacts, FileStore, NewFile, Space, StateStore, StoreError};
use ports::media_server::{
    MediaServer, MediaServerError, PathStatus, StreamFrame, StreamHandle, StreamReader,
};
use ports::system::{ProcessSample, ProcessStats, ProcessStatsError};
use slog::{o, Logger};

use crate::cameras::CameraRegistry;
use crate::core::{Core, CoreParts};
use crate::events::EventHub;
use crate::health::Health;
use crate::media::{Media, MediaParts};
use crate::metrics::Metrics;
use crate::streams::{Streams, StreamsParts};

mod media;
mod mtx;
pub use media::*;
use mtx::streams;
pub use mtx::*;

/// A clock that moves only when told (`advance`).
pub struct FakeClock {
    micros: AtomicU64,
}

/// The fake clock's wall time at monotonic zero: 2025-01-15T14:30:00Z.
const EPOCH_MS: i64 = 1_736_951_400_000;

impl FakeClock {
    pub fn new() -> Arc<FakeClock> {
        Arc::new(FakeClock {
            micros: AtomicU64::new(1_000_000),
        })
    }

    pub fn advance(&self, by: Duration) {
        self.micros
            .fetch_add(by.as_micros() as u64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(EPOCH_MS + (self.monotonic_ms() as i64))
    }
    fn monotonic_ms(&self) -> u64 {
        self.micros.load(Ordering::SeqCst) / 1000
    }
    fn monotonic_us(&self) -> u64 {
        self.micros.load(Ordering::SeqCst)
    }
}

/// JWTs as plain text: `jwt:<role>:<subject>:<expires, unix ms>`.
pub struct FakeTokens;

impl FakeTokens {
    pub fn token(role: Role, subject: &str, expires_at: Timestamp) -> String {
        format!(
            "jwt:{}:{subject}:{}",
            role.as_str(),
            expires_at.unix_millis()
        )
    }
}

impl TokenVerifier for FakeTokens {
    fn verify(&self, token: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        let bad = || CredentialError::Invalid(format!("not a fake token: {token}"));
        let mut parts = token.split(':');
        if parts.next() != Some("jwt") {
            return Err(bad());
        }
        let role = parts.next().and_then(Role::parse).ok_or_else(bad)?;
        let subject = parts.next().ok_or_else(bad)?.to_owned();
        let exp = parts
            .next()
            .and_then(|t| t.parse().ok())
            .map(Timestamp::from_unix_millis)
            .ok_or_else(bad)?;
        if exp <= now {
            return Err(CredentialError::Expired);
        }
        Ok(Identity {
            subject,
            role,
            expires_at: Some(exp),
            key_id: None,
        })
    }
}

/// API keys as plain text: `csk_<id>_<role>`; revoked by id.
#[derive(Default)]
pub struct FakeKeys {
    revoked: Mutex<BTreeSet<String>>,
}

impl FakeKeys {
    pub fn revoke(&self, id: &str) {
        self.revoked.lock().unwrap().insert(id.to_owned());
    }
}

impl KeyStore for FakeKeys {
    fn verify(&self, key: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        let rest = key
            .strip_prefix("csk_")
            .ok_or_else(|| CredentialError::Invalid("not a key".into()))?;
        let (id, role) = rest
            .split_once('_')
            .ok_or_else(|| CredentialError::Invalid("not a key".into()))?;
        let role = Role::parse(role).ok_or_else(|| CredentialError::Invalid("role".into()))?;
        self.check(id, now)?;
        Ok(Identity {
            subject: format!("key:{id}"),
            role,
            expires_at: None,
            key_id: Some(id.to_owned()),
        })
    }
    fn precheck(&self, key: &str, now: Timestamp) -> Result<KeyPrecheck, CredentialError> {
        self.verify(key, now)?;
        Ok(KeyPrecheck::Remembered)
    }
    fn check(&self, key_id: &str, _now: Timestamp) -> Result<(), CredentialError> {
        if self.revoked.lock().unwrap().contains(key_id) {
            return Err(CredentialError::Revoked);
        }
        Ok(())
    }
    /// Keys are their own text here: there is no list of them.
    fn list(&self) -> Result<Vec<ports::auth::ApiKeyRecord>, ports::auth::KeyStoreError> {
        Ok(Vec::new())
    }
    fn add(
        &self,
        _role: Role,
        _label: &str,
        _expires_at: Option<Timestamp>,
        _now: Timestamp,
    ) -> Result<(String, ports::auth::ApiKeyRecord), ports::auth::KeyStoreError> {
        Err(ports::auth::KeyStoreError::Unavailable(
            "the fake key store creates no keys".into(),
        ))
    }
    fn revoke(&self, id: &str) -> Result<bool, ports::auth::KeyStoreError> {
        FakeKeys::revoke(self, id);
        Ok(true)
    }
}

/// Files and state documents in memory: (kind, name) → (size, created).
#[derive(Default)]
pub struct MemStore {
    files: Mutex<BTreeMap<(u8, String), (u64, Timestamp)>>,
    docs: Mutex<BTreeMap<String, String>>,
    /// Free bytes reported by `space`.
    pub free: AtomicU64,
}

fn kind_key(kind: FileKind) -> u8 {
    match kind {
        FileKind::Recording => 0,
        FileKind::Snapshot => 1,
    }
}

impl MemStore {
    pub fn new() -> Arc<MemStore> {
        let store = MemStore::default();
        store.free.store(u64::MAX / 2, Ordering::SeqCst);
        Arc::new(store)
    }

    pub fn put(&self, kind: FileKind, name: &str, size: u64, created: Timestamp) {
        self.files
            .lock()
            .unwrap()
            .insert((kind_key(kind), name.to_owned()), (size, created));
    }

    pub fn names(&self, kind: FileKind) -> Vec<String> {
        self.files
            .lock()
            .unwrap()
            .keys()
            .filter(|(k, _)| *k == kind_key(kind))
            .map(|(_, n)| n.clone())
            .collect()
    }

    fn facts(kind: FileKind, name: &str, size: u64, created: Timestamp) -> Option<FileFacts> {
        Some(FileFacts {
            kind,
            name: SafeFileName::parse(name).ok()?,
            size,
            created,
            modified: created,
        })
    }
}

#[async_trait]
impl FileStore for MemStore {
    async fn list(&self, kind: FileKind) -> Result<Vec<FileFacts>, StoreError> {
        Ok(self
            .files
            .lock()
            .unwrap()
            .iter()
            .filter(|((k, _), _)| *k == kind_key(kind))
            .filter_map(|((_, n), (size, at))| MemStore::facts(kind, n, *size, *at))
            .collect())
    }
    async fn stat(&self, kind: FileKind, name: &SafeFileName) -> Result<FileFacts, StoreError> {
        let files = self.files.lock().unwrap();
        let (size, at) = files
            .get(&(kind_key(kind), name.as_str().to_owned()))
            .ok_or_else(|| StoreError::NotFound(name.clone()))?;
        MemStore::facts(kind, name.as_str(), *size, *at)
            .ok_or_else(|| StoreError::NotFound(name.clone()))
    }
    async fn delete(&self, kind: FileKind, name: &SafeFileName) -> Result<(), StoreError> {
        self.files
            .lock()
            .unwrap()
            .remove(&(kind_key(kind), name.as_str().to_owned()))
            .map(|_| ())
            .ok_or_else(|| StoreError::NotFound(name.clone()))
    }
    async fn space(&self, _kind: FileKind) -> Result<Space, StoreError> {
        let used: u64 = self.files.lock().unwrap().values().map(|(s, _)| s).sum();
        let free = self.free.load(Ordering::SeqCst);
        Ok(Space {
            total_bytes: free.saturating_add(used),
            available_bytes: free,
            used_bytes: used,
        })
    }
    async fn create_new(
        &self,
        kind: FileKind,
        wanted: &SafeFileName,
    ) -> Result<NewFile, StoreError> {
        let mut files = self.files.lock().unwrap();
        let key = (kind_key(kind), wanted.as_str().to_owned());
        if files.contains_key(&key) {
            return Err(StoreError::NamesExhausted(wanted.clone()));
        }
        files.insert(key, (0, Timestamp::from_unix_millis(EPOCH_MS)));
        Ok(NewFile {
            name: wanted.clone(),
            path: self.path_of(kind, wanted),
        })
    }
    fn path_of(&self, kind: FileKind, name: &SafeFileName) -> PathBuf {
        Path::new("/mem")
            .join(kind.url_segment())
            .join(name.as_str())
    }
    async fn copy(
        &self,
        kind: FileKind,
        from: &SafeFileName,
        to: &SafeFileName,
    ) -> Result<u64, StoreError> {
        let mut files = self.files.lock().unwrap();
        let (size, at) = *files
            .get(&(kind_key(kind), from.as_str().to_owned()))
            .ok_or_else(|| StoreError::NotFound(from.clone()))?;
        files.insert((kind_key(kind), to.as_str().to_owned()), (size, at));
        Ok(size)
    }
}

#[async_trait]
impl StateStore for MemStore {
    async fn load(&self, key: &SafeFileName) -> Result<Option<String>, StoreError> {
        Ok(self.docs.lock().unwrap().get(key.as_str()).cloned())
    }
    async fn save(&self, key: &SafeFileName, text: &str) -> Result<(), StoreError> {
        self.docs
            .lock()
            .unwrap()
            .insert(key.as_str().to_owned(), text.to_owned());
        Ok(())
    }
}

/// A capture tool that is not installed: every capture is refused as `Unavailable`.
pub struct NoCapture;

fn not_here() -> CaptureError {
    CaptureError::Unavailable {
        dependency: "ffmpeg",
        details: "not in this test".into(),
    }
}

#[async_trait]
impl Capture for NoCapture {
    async fn still(&self, _request: StillRequest<'_>) -> Result<Still, CaptureError> {
        Err(not_here())
    }
    async fn record(&self, _request: RecordingRequest) -> Result<Arc<dyn Recorder>, CaptureError> {
        Err(not_here())
    }
    async fn check(&self) -> Result<String, CaptureError> {
        Err(not_here())
    }
}

#[async_trait]
impl MediaInspector for NoCapture {
    async fn inspect(&self, _path: &Path) -> Result<MediaInfo, CaptureError> {
        Err(not_here())
    }
}

/// Cameras without controls.
pub struct NoControls;

impl CameraControls for NoControls {
    fn list(
        &self,
        _source: &CaptureSource,
    ) -> Result<Vec<domain::controls::Control>, ControlsError> {
        Ok(Vec::new())
    }
    fn apply(
        &self,
        _source: &CaptureSource,
        _changes: &[domain::controls::ControlChange],
    ) -> Result<(), ApplyFailure> {
        Ok(())
    }
    fn serial(&self, _source: &CaptureSource) -> Option<String> {
        None
    }
}

/// No process figures.
pub struct NoProcess;

impl ProcessStats for NoProcess {
    fn sample(&self) -> Result<ProcessSample, ProcessStatsError> {
        Err(ProcessStatsError("no /proc in this test".into()))
    }
}

/// A core of fakes, and the fakes a test drives.
pub struct Fixture {
    pub core: Arc<Core>,
    pub clock: Arc<FakeClock>,
    pub keys: Arc<FakeKeys>,
    pub store: Arc<MemStore>,
}

/// A core on fakes with `config` (media mode direct, no cameras).
pub async fn core(config: Config) -> Fixture {
    let clock = FakeClock::new();
    let keys = Arc::new(FakeKeys::default());
    let store = MemStore::new();
    let log = Logger::root(slog::Discard, o!());
    let hub = EventHub::new(&config.events, clock.clone());
    let events: Arc<dyn ports::events::EventPublisher> = Arc::new(hub.clone());
    let metrics = Metrics::new(clock.clone(), Arc::new(NoProcess), hub.clone());
    let health = Arc::new(Health::new(Arc::clone(&events), clock.clone()));
    let cameras = Arc::new(CameraRegistry::new(
        Arc::clone(&events),
        clock.clone(),
        log.clone(),
    ));
    let media = Arc::new(Media::new(MediaParts {
        capture: Arc::new(NoCapture),
        inspector: Arc::new(NoCapture),
        store: store.clone(),
        events: Arc::clone(&events),
        clock: clock.clone(),
        cameras: Arc::clone(&cameras),
        metrics: metrics.clone(),
        encoding: domain::media::VideoEncoding::standard(),
        min_free_bytes: 0,
        segment_secs: None,
        streams: None,
        log: log.clone(),
        max_captures: 1,
        capture_wait: Duration::from_millis(1),
    }));
    let files = Arc::new(
        crate::files::Files::open(crate::files::FilesParts {
            store: store.clone(),
            inspector: Arc::new(NoCapture),
            state: store.clone(),
            clock: clock.clone(),
            media: Arc::clone(&media),
            health: Arc::clone(&health),
            configured: domain::retention::RetentionPolicy::default(),
            log: log.clone(),
        })
        .await,
    );
    let controls = Arc::new(
        crate::controls::Controls::open(crate::controls::ControlsParts {
            device: Arc::new(NoControls),
            state: store.clone(),
            cameras: Arc::clone(&cameras),
            events,
            clock: clock.clone(),
            log: log.clone(),
        })
        .await,
    );
    let core = Arc::new(Core::new(CoreParts {
        config: Arc::new(config),
        clock: clock.clone(),
        tokens: Arc::new(FakeTokens),
        keys: keys.clone(),
        cameras,
        hub,
        metrics,
        health,
        streams: None,
        media,
        files,
        log: log.clone(),
        audit: log,
        controls,
    }));
    Fixture {
        core,
        clock,
        keys,
        store,
    }
}
