//! The API key file: one JSON document, read whole and written whole.
//!
//! ```json
//! {
//!   "version": 1,
//!   "keys": [
//!     {
//!       "id": "k3v5q2mxa7be",
//!       "role": "operator",
//!       "label": "ci runner",
//!       "created_at": "2025-01-15T14:30:00.000Z",
//!       "expires_at": null,
//!       "last_used_at": "2025-01-16T08:00:00.000Z",
//!       "revoked": false,
//!       "hash": "$argon2id$v=19$m=4096,t=1,p=1$<salt>$<hash>"
//!     }
//!   ]
//! }
//! ```
//! Keys are written in creation order. The secret part of a key is stored only as the
//! argon2 PHC string in `hash`; the plaintext never reaches the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use argon2::PasswordHash;
use domain::{Role, Timestamp};
use ports::auth::ApiKeyRecord;
use serde::{Deserialize, Serialize};

use crate::api_key;

/// The only format this build reads and writes.
pub(crate) const VERSION: u32 = 1;

/// The keys of one file, by id.
pub(crate) type Keys = HashMap<String, KeyEntry>;

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyEntry {
    pub id: String,
    pub role: Role,
    pub label: String,
    #[serde(with = "rfc3339")]
    pub created_at: Timestamp,
    #[serde(default, with = "rfc3339_opt")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, with = "rfc3339_opt")]
    pub last_used_at: Option<Timestamp>,
    #[serde(default)]
    pub revoked: bool,
    /// argon2 PHC string of the key's secret part.
    pub hash: String,
}

impl KeyEntry {
    pub fn record(&self) -> ApiKeyRecord {
        ApiKeyRecord {
            id: self.id.clone(),
            role: self.role,
            label: self.label.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked: self.revoked,
        }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    keys: Vec<KeyEntry>,
}

/// Why a key file cannot be used. Names the file; never holds a key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyFileError {
    #[error("API key file {path} is not valid: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("API key file {path} has version {found}; this build reads version {VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("API key file {path}: entry {index} has a malformed id")]
    BadId { path: PathBuf, index: usize },
    #[error("API key file {path}: id {id} appears more than once")]
    DuplicateId { path: PathBuf, id: String },
    #[error("API key file {path}: key {id} does not hold an argon2 PHC hash")]
    BadHash { path: PathBuf, id: String },
}

/// Parses and checks the file's content; an empty (or all-whitespace) file holds no keys.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Keys, KeyFileError> {
    if bytes.trim_ascii().is_empty() {
        return Ok(Keys::new());
    }
    let file: KeyFile = serde_json::from_slice(bytes).map_err(|source| KeyFileError::Json {
        path: path.to_owned(),
        source,
    })?;
    if file.version != VERSION {
        return Err(KeyFileError::Version {
            path: path.to_owned(),
            found: file.version,
        });
    }
    let mut keys = Keys::with_capacity(file.keys.len());
    for (index, entry) in file.keys.into_iter().enumerate() {
        if !api_key::is_valid_id(&entry.id) {
            return Err(KeyFileError::BadId {
                path: path.to_owned(),
                index,
            });
        }
        let is_argon2 = PasswordHash::new(&entry.hash)
            .is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"));
        if !is_argon2 {
            return Err(KeyFileError::BadHash {
                path: path.to_owned(),
                id: entry.id,
            });
        }
        if keys.contains_key(&entry.id) {
            return Err(KeyFileError::DuplicateId {
                path: path.to_owned(),
                id: entry.id,
            });
        }
        keys.insert(entry.id.clone(), entry);
    }
    Ok(keys)
}

/// The file's content for `keys`, in creation order.
pub(crate) fn render(keys: &Keys) -> serde_json::Result<Vec<u8>> {
    let file = KeyFile {
        version: VERSION,
        keys: in_creation_order(keys).into_iter().cloned().collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file)?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(crate) fn in_creation_order(keys: &Keys) -> Vec<&KeyEntry> {
    let mut entries: Vec<&KeyEntry> = keys.values().collect();
    entries.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    entries
}

mod rfc3339 {
    use domain::Timestamp;
    use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        t.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| de::Error::custom(format!("not an RFC 3339 timestamp: {text:?}")))
    }
}

mod rfc3339_opt {
    use domain::Timestamp;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        t.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::rfc3339")] Timestamp);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$\
                        1Hq5WjdQ3zC6fJZBQ5cJXnq8vBx7NKOj1l5cJ0Z8X4Q";

    fn entry(id: &str, created_ms: i64) -> KeyEntry {
        KeyEntry {
            id: id.into(),
            role: Role::Operator,
            label: "ci".into(),
            created_at: Timestamp::from_unix_millis(created_ms),
            expires_at: Some(Timestamp::from_unix_millis(created_ms + 1000)),
            last_used_at: None,
            revoked: false,
            hash: HASH.into(),
        }
    }

    fn path() -> &'static Path {
        Path::new("/var/lib/cs/api_keys.json")
    }

    #[test]
    fn rendered_file_parses_back_to_the_same_keys() {
        let keys: Keys = [entry("bbbbbbbbbbbb", 2000), entry("aaaaaaaaaaaa", 1000)]
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();

        let bytes = render(&keys).expect("renders");

        assert_eq!(parse(path(), &bytes).expect("parses"), keys);
    }

    #[test]
    fn file_lists_keys_in_creation_order_with_rfc3339_times() {
        let keys: Keys = [entry("bbbbbbbbbbbb", 2000), entry("aaaaaaaaaaaa", 1000)]
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();

        let json: serde_json::Value =
            serde_json::from_slice(&render(&keys).expect("renders")).expect("json");

        assert_eq!(json["version"], 1);
        assert_eq!(json["keys"][0]["id"], "aaaaaaaaaaaa");
        assert_eq!(json["keys"][0]["created_at"], "1970-01-01T00:00:01.000Z");
        assert_eq!(json["keys"][1]["id"], "bbbbbbbbbbbb");
        assert_eq!(json["keys"][1]["last_used_at"], serde_json::Value::Null);
    }

    #[test]
    fn empty_file_holds_no_keys() {
        assert!(parse(path(), b"").expect("empty").is_empty());
        assert!(parse(path(), b" \n").expect("blank").is_empty());
    }

    fn error_text(json: &str) -> String {
        parse(path(), json.as_bytes())
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn broken_files_are_refused_naming_the_file() {
        let good = serde_json::to_string(&entry("aaaaaaaaaaaa", 0)).expect("json");
        let cases = [
            ("{", "not valid"),
            (r#"{"version": 2, "keys": []}"#, "version 2"),
            (
                &*format!(r#"{{"version": 1, "keys": [{good}, {good}]}}"#),
                "more than once",
            ),
            (
                &*format!(
                    r#"{{"version": 1, "keys": [{}]}}"#,
                    good.replace("aaaaaaaaaaaa", "short")
                ),
                "malformed id",
            ),
            (
                &*format!(
                    r#"{{"version": 1, "keys": [{}]}}"#,
                    good.replace(HASH, "plaintext-secret")
                ),
                "argon2",
            ),
            (
                &*format!(
                    r#"{{"version": 1, "keys": [{}]}}"#,
                    good.replace("1970-01-01T00:00:00.000Z", "yesterday")
                ),
                "RFC 3339",
            ),
            (
                &*format!(
                    r#"{{"version": 1, "keys": [{}]}}"#,
                    good.replace("operator", "root")
                ),
                "role",
            ),
        ];
        for (json, expected) in cases {
            let text = error_text(json);
            assert!(text.contains("/var/lib/cs/api_keys.json"), "{text}");
            assert!(text.contains(expected), "{expected}: {text}");
        }
    }
}
