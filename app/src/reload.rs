//! Reloading the configuration while running (SIGHUP, `systemctl reload`).
//!
//! What can change live is applied: `logging.level`, the retention policy
//! (`retention.enabled`, `max_age_days`, `max_size_gb`), `camera.simulated` (cameras
//! added, changed or removed), and the keys (`auth.jwt_secret`, `auth.jwt_secret_file`,
//! `auth.keys_file`: new JWTs and API keys are checked against the new ones from the next
//! call). Every other key that changed is named in the log as needing a restart, and keeps
//! its old value until then. A file that does not load changes nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use config::{Config, SimulatedCamera};
use domain::{CameraId, Timestamp};
use ports::auth::{CredentialError, Identity, KeyPrecheck, KeyStore, TokenVerifier};
use ports::camera::{DiscoveredCamera, DiscoverySink};
use serde::Serialize;
use serde_json::Value;
use slog::{info, warn, Logger};

use crate::files::{configured_policy, Files};
use crate::logging::LogLevel;

/// What one reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// Keys whose new value is in effect.
    pub applied: Vec<String>,
    /// Keys that changed but keep their old value until a restart.
    pub needs_restart: Vec<String>,
    /// Keys that could not be applied, with why (their old value stays).
    pub failed: Vec<String>,
}

/// Builds the credential checkers a configuration describes (the composition root knows how).
pub type AuthFactory = Box<
    dyn Fn(&Config) -> Result<(Arc<dyn TokenVerifier>, Arc<dyn KeyStore>), String> + Send + Sync,
>;

/// Describes a simulated camera as discovery would (the composition root knows how).
pub type DescribeSimulated = fn(&SimulatedCamera) -> Option<DiscoveredCamera>;

/// What a reload acts on.
pub struct ReloadParts {
    pub config: Config,
    pub level: LogLevel,
    pub files: Arc<Files>,
    pub cameras: Arc<dyn DiscoverySink>,
    pub describe: DescribeSimulated,
    pub tokens: Arc<SwappableTokens>,
    pub keys: Arc<SwappableKeys>,
    pub auth: AuthFactory,
    pub log: Logger,
}

pub struct Reloader {
    parts: ReloadParts,
    /// The configuration in effect (live keys updated, others as at start).
    current: Mutex<Config>,
}

/// Keys applied live; the rest of a changed configuration needs a restart.
const LIVE: [&str; 8] = [
    "logging.level",
    "retention.enabled",
    "retention.max_age_days",
    "retention.max_size_gb",
    "camera.simulated",
    "auth.jwt_secret",
    "auth.jwt_secret_file",
    "auth.keys_file",
];

impl Reloader {
    pub fn new(parts: ReloadParts) -> Reloader {
        Reloader {
            current: Mutex::new(parts.config.clone()),
            parts,
        }
    }

    /// Applies `new` as far as it can be applied live, and logs what changed.
    pub async fn apply(&self, new: Config) -> ReloadReport {
        let old = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let changed = changed_keys(&old, &new);
        let mut report = ReloadReport::default();
        let mut effective = old.clone();
        let live = |key: &str| changed.iter().any(|k| k == key);

        if live("logging.level") {
            self.parts.level.set(&new.logging.level);
            effective.logging.level = new.logging.level.clone();
            report.applied.push("logging.level".into());
        }
        let retention: Vec<&str> = LIVE[1..4].iter().copied().filter(|k| live(k)).collect();
        if !retention.is_empty() {
            match self
                .parts
                .files
                .reconfigure(configured_policy(&new.retention))
                .await
            {
                Ok(()) => {
                    effective.retention.enabled = new.retention.enabled;
                    effective.retention.max_age_days = new.retention.max_age_days;
                    effective.retention.max_size_gb = new.retention.max_size_gb;
                    report
                        .applied
                        .extend(retention.iter().map(|k| k.to_string()));
                }
                Err(e) => report
                    .failed
                    .extend(retention.iter().map(|k| format!("{k}: {e}"))),
            }
        }
        if live("camera.simulated") {
            self.replug_simulated(&old.camera.simulated, &new.camera.simulated);
            effective.camera.simulated = new.camera.simulated.clone();
            report.applied.push("camera.simulated".into());
        }
        let auth: Vec<&str> = LIVE[5..].iter().copied().filter(|k| live(k)).collect();
        if !auth.is_empty() {
            match (self.parts.auth)(&new) {
                Ok((tokens, keys)) => {
                    self.parts.tokens.replace(tokens);
                    self.parts.keys.replace(keys);
                    effective.auth.jwt_secret = new.auth.jwt_secret.clone();
                    effective.auth.jwt_secret_file = new.auth.jwt_secret_file.clone();
                    effective.auth.keys_file = new.auth.keys_file.clone();
                    report.applied.extend(auth.iter().map(|k| k.to_string()));
                }
                Err(e) => report
                    .failed
                    .extend(auth.iter().map(|k| format!("{k}: {e}"))),
            }
        }
        report.needs_restart = changed
            .into_iter()
            .filter(|k| !LIVE.contains(&k.as_str()))
            .collect();
        report.applied.sort();
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = effective;

        let log = &self.parts.log;
        info!(log, "configuration reloaded";
            "applied" => report.applied.join(", "),
            "needs_restart" => report.needs_restart.join(", "));
        for key in &report.needs_restart {
            warn!(log, "changed configuration key needs a restart to take effect"; "key" => key);
        }
        for failure in &report.failed {
            warn!(log, "changed configuration key could not be applied"; "key" => failure);
        }
        report
    }

    /// Cameras gone from the list are unplugged; new or changed ones (re)plugged.
    fn replug_simulated(&self, old: &[SimulatedCamera], new: &[SimulatedCamera]) {
        let by_index = |list: &[SimulatedCamera]| -> BTreeMap<u16, SimulatedCamera> {
            list.iter().map(|c| (c.index, c.clone())).collect()
        };
        let (old, new) = (by_index(old), by_index(new));
        for index in old.keys().filter(|i| !new.contains_key(i)) {
            if let Some(id) = CameraId::new(*index) {
                self.parts.cameras.vanished(id);
            }
        }
        for (index, cam) in &new {
            if old.get(index) == Some(cam) {
                continue;
            }
            match (self.parts.describe)(cam) {
                Some(found) => self.parts.cameras.appeared(found),
                None => {
                    warn!(self.parts.log, "simulated camera has no usable size"; "index" => index)
                }
            }
        }
    }
}

/// `section.key` (or `section.key.sub` inside nested sections) of every value that differs.
/// Secrets are compared by value, though they print as `***`.
pub fn changed_keys(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (
        serde_json::to_value(old).unwrap_or(Value::Null),
        serde_json::to_value(new).unwrap_or(Value::Null),
    );
    diff("", &a, &b, &mut out);
    let secret = |c: &Config| c.auth.jwt_secret.as_ref().map(|s| s.expose().to_owned());
    if secret(old) != secret(new) && !out.iter().any(|k| k == "auth.jwt_secret") {
        out.push("auth.jwt_secret".into());
    }
    out.sort();
    out
}

fn diff(prefix: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                diff(
                    &path,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (x, y) if x != y => out.push(prefix.to_owned()),
        _ => {}
    }
}

/// A [`TokenVerifier`] that a reload can replace.
pub struct SwappableTokens(RwLock<Arc<dyn TokenVerifier>>);

impl SwappableTokens {
    pub fn new(inner: Arc<dyn TokenVerifier>) -> SwappableTokens {
        SwappableTokens(RwLock::new(inner))
    }

    fn replace(&self, inner: Arc<dyn TokenVerifier>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = inner;
    }

    fn get(&self) -> Arc<dyn TokenVerifier> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl TokenVerifier for SwappableTokens {
    fn verify(&self, token: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        self.get().verify(token, now)
    }
}

/// A [`KeyStore`] that a reload can replace.
pub struct SwappableKeys(RwLock<Arc<dyn KeyStore>>);

impl SwappableKeys {
    pub fn new(inner: Arc<dyn KeyStore>) -> SwappableKeys {
        SwappableKeys(RwLock::new(inner))
    }

    fn replace(&self, inner: Arc<dyn KeyStore>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = inner;
    }

    fn get(&self) -> Arc<dyn KeyStore> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl KeyStore for SwappableKeys {
    fn verify(&self, key: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        self.get().verify(key, now)
    }

    fn precheck(&self, key: &str, now: Timestamp) -> Result<KeyPrecheck, CredentialError> {
        self.get().precheck(key, now)
    }

    fn check(&self, key_id: &str, now: Timestamp) -> Result<(), CredentialError> {
        self.get().check(key_id, now)
    }

    fn list(&self) -> Result<Vec<ports::auth::ApiKeyRecord>, ports::auth::KeyStoreError> {
        self.get().list()
    }

    fn add(
        &self,
        role: domain::Role,
        label: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(String, ports::auth::ApiKeyRecord), ports::auth::KeyStoreError> {
        self.get().add(role, label, expires_at, now)
    }

    fn revoke(&self, id: &str) -> Result<bool, ports::auth::KeyStoreError> {
        self.get().revoke(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        Config::from_yaml_with_env(yaml, "test", Vec::<(String, String)>::new()).unwrap()
    }

    #[test]
    fn changed_keys_name_section_and_key() {
        let old = config("logging: {level: info}\nserver: {port: 8002}");
        let new = config(
            "logging: {level: debug}\nserver: {port: 9000}\nmedia: {video: {gop_secs: 0.5}}",
        );
        assert_eq!(
            changed_keys(&old, &new),
            ["logging.level", "media.video.gop_secs", "server.port"]
        );
        assert!(changed_keys(&old, &old.clone()).is_empty());
    }

    #[test]
    fn a_changed_secret_is_seen_though_it_prints_redacted() {
        let old = config("auth: {jwt_secret: 0123456789abcdef0123456789abcdef}");
        let new = config("auth: {jwt_secret: fedcba9876543210fedcba9876543210}");
        assert_eq!(changed_keys(&old, &new), ["auth.jwt_secret"]);
    }
}
