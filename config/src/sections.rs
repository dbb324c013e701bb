//! The sections of the configuration file, with their defaults and checks.
//!
//! One file of ~980 lines: every section of the YAML file with its defaults and checks, in the
//! file's order, so one place documents the whole configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{ConfigError, Secret};

fn check(
    ok: bool,
    key: &str,
    value: impl std::fmt::Display,
    problem: &str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(key, value, problem))
    }
}

/// The listening socket and transport limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to bind (`0.0.0.0` for every interface).
    pub host: String,
    /// TCP port; 0 picks a free one (tests).
    pub port: u16,
    /// Host name put in stream URLs; empty means this machine's host name.
    pub public_host: String,
    pub max_connections: u32,
    /// Largest accepted WebSocket message.
    pub max_message_bytes: u32,
    /// Serve `/metrics` to non-loopback clients too.
    pub metrics_public: bool,
    /// A WebSocket connection not authenticated this long after its upgrade is closed (1008).
    pub auth_timeout_secs: u64,
    /// WebSocket connections not yet authenticated, at most; `None`: half of
    /// `max_connections` (at most 1000). Always below `max_connections`, so authenticated
    /// clients keep room.
    pub max_unauthenticated: Option<u32>,
    /// Unauthenticated WebSocket connections from one source address, at most.
    pub max_unauthenticated_per_ip: u32,
    /// A WebSocket peer silent this long is pinged; one silent for another interval is
    /// dropped as dead.
    pub ping_interval_secs: u64,
    /// Event subscriptions one connection may hold at once.
    pub max_subscriptions: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "0.0.0.0".into(),
            port: 8002,
            public_host: String::new(),
            max_connections: 20_000,
            max_message_bytes: 64 * 1024,
            metrics_public: false,
            auth_timeout_secs: 10,
            max_unauthenticated: None,
            max_unauthenticated_per_ip: 32,
            ping_interval_secs: 30,
            max_subscriptions: 32,
        }
    }
}

impl ServerConfig {
    /// `max_unauthenticated` in effect.
    pub fn unauthenticated_limit(&self) -> u32 {
        self.max_unauthenticated
            .unwrap_or((self.max_connections / 2).min(1000))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.host.parse::<std::net::IpAddr>().is_ok(),
            "server.host",
            &self.host,
            "must be an IP address",
        )?;
        check(
            self.max_connections >= 1,
            "server.max_connections",
            self.max_connections,
            "must be >= 1",
        )?;
        check(
            (1024..=16 * 1024 * 1024).contains(&self.max_message_bytes),
            "server.max_message_bytes",
            self.max_message_bytes,
            "must be 1024..=16777216",
        )?;
        check(
            (1..=3600).contains(&self.auth_timeout_secs),
            "server.auth_timeout_secs",
            self.auth_timeout_secs,
            "must be 1..=3600",
        )?;
        if let Some(n) = self.max_unauthenticated {
            check(
                n < self.max_connections,
                "server.max_unauthenticated",
                n,
                "must be below server.max_connections",
            )?;
        }
        check(
            self.max_unauthenticated_per_ip >= 1,
            "server.max_unauthenticated_per_ip",
            self.max_unauthenticated_per_ip,
            "must be >= 1",
        )?;
        check(
            (1..=3600).contains(&self.ping_interval_secs),
            "server.ping_interval_secs",
            self.ping_interval_secs,
            "must be 1..=3600",
        )?;
        check(
            (1..=10_000).contains(&self.max_subscriptions),
            "server.max_subscriptions",
            self.max_subscriptions,
            "must be 1..=10000",
        )
    }
}

/// Authentication, sessions and per-connection rate limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HS256 secret. Prefer `jwt_secret_file` or the env var.
    pub jwt_secret: Option<Secret>,
    /// File holding the secret; created with a random secret (mode 0600) when missing.
    pub jwt_secret_file: PathBuf,
    /// API key store (argon2 hashes only).
    pub keys_file: PathBuf,
    /// Calls per second allowed on one connection (token bucket).
    pub rate_per_second: f64,
    /// Calls allowed at once on one connection.
    pub rate_burst: u32,
    /// argon2 verifications of API keys running at once (each takes a core and 4 MiB).
    pub key_verify_concurrency: u32,
    /// API-key verifications allowed to wait for a slot; more are refused (-32040).
    pub key_verify_queue: u32,
    /// Longest an API-key verification waits for a slot before it is refused (-32040).
    pub key_verify_wait_ms: u64,
    /// Longest wait imposed on a peer or a key id after repeated failed API keys.
    pub backoff_max_ms: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: None,
            jwt_secret_file: "/var/lib/camera-service/jwt-secret".into(),
            keys_file: "/var/lib/camera-service/api-keys.json".into(),
            rate_per_second: 100.0,
            rate_burst: 200,
            key_verify_concurrency: 2,
            key_verify_queue: 16,
            key_verify_wait_ms: 2_000,
            backoff_max_ms: 30_000,
        }
    }
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(s) = &self.jwt_secret {
            check(
                s.expose().len() >= 32,
                "auth.jwt_secret",
                "***",
                "must be at least 32 bytes",
            )?;
        }
        check(
            self.rate_per_second.is_finite() && self.rate_per_second > 0.0,
            "auth.rate_per_second",
            self.rate_per_second,
            "must be > 0",
        )?;
        check(
            self.rate_burst >= 1,
            "auth.rate_burst",
            self.rate_burst,
            "must be >= 1",
        )?;
        check(
            (1..=64).contains(&self.key_verify_concurrency),
            "auth.key_verify_concurrency",
            self.key_verify_concurrency,
            "must be 1..=64",
        )?;
        check(
            self.key_verify_queue <= 10_000,
            "auth.key_verify_queue",
            self.key_verify_queue,
            "must be 0..=10000",
        )?;
        check(
            (1..=60_000).contains(&self.key_verify_wait_ms),
            "auth.key_verify_wait_ms",
            self.key_verify_wait_ms,
            "must be 1..=60000",
        )?;
        check(
            (100..=3_600_000).contains(&self.backoff_max_ms),
            "auth.backoff_max_ms",
            self.backoff_max_ms,
            "must be 100..=3600000",
        )
    }
}

/// One simulated camera: an ffmpeg test pattern with a V4L2-like description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedCamera {
    /// The N of `camera<N>`.
    pub index: u16,
    #[serde(default = "default_sim_name")]
    pub name: String,
    /// ffmpeg lavfi source name (`testsrc2`, `smptebars`, `mandelbrot`, ...).
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// Offered sizes, `WxH`; the first is the current mode.
    #[serde(default = "default_sim_sizes")]
    pub resolutions: Vec<String>,
    /// Offered rates, frames per second; the first is the current rate.
    #[serde(default = "default_sim_rates")]
    pub frame_rates: Vec<f64>,
}

fn default_sim_name() -> String {
    "Simulated Camera".into()
}
fn default_pattern() -> String {
    "testsrc2".into()
}
fn default_sim_sizes() -> Vec<String> {
    vec!["1280x720".into(), "640x480".into()]
}
fn default_sim_rates() -> Vec<f64> {
    vec![30.0, 15.0]
}

impl SimulatedCamera {
    pub fn with_index(index: u16) -> SimulatedCamera {
        SimulatedCamera {
            index,
            name: format!("Simulated Camera {index}"),
            pattern: default_pattern(),
            resolutions: default_sim_sizes(),
            frame_rates: default_sim_rates(),
        }
    }

    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        check(
            self.index <= 999,
            &format!("{key}.index"),
            self.index,
            "must be 0..=999",
        )?;
        check(
            !self.name.trim().is_empty() && self.name.len() <= 64,
            &format!("{key}.name"),
            &self.name,
            "must be 1..=64 characters",
        )?;
        check(
            !self.pattern.is_empty()
                && self
                    .pattern
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            &format!("{key}.pattern"),
            &self.pattern,
            "must be an ffmpeg lavfi source name (letters, digits, _)",
        )?;
        check(
            !self.resolutions.is_empty(),
            &format!("{key}.resolutions"),
            "[]",
            "must list at least one size",
        )?;
        for r in &self.resolutions {
            check(
                domain::Resolution::parse(r).is_ok(),
                &format!("{key}.resolutions"),
                r,
                "must be WIDTHxHEIGHT",
            )?;
        }
        check(
            !self.frame_rates.is_empty(),
            &format!("{key}.frame_rates"),
            "[]",
            "must list at least one rate",
        )?;
        for f in &self.frame_rates {
            check(
                f.is_finite() && *f > 0.0 && *f <= 240.0,
                &format!("{key}.frame_rates"),
                f,
                "must be in (0, 240]",
            )?;
        }
        Ok(())
    }
}

/// Where cameras come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// Directory watched for V4L2 nodes (`/dev`); empty turns V4L2 discovery off.
    pub device_dir: String,
    /// Also take regular files in `device_dir` for V4L2 nodes, not only character devices
    /// (test benches serve fake nodes from FUSE). Off for real devices.
    pub accept_file_nodes: bool,
    /// Simulated cameras from this file.
    pub simulated: Vec<SimulatedCamera>,
    /// Directory watched for simulated-camera descriptor files (`*.yaml`, one camera each);
    /// empty turns it off.
    pub simulated_dir: String,
    /// Safety-net rescan period of discovery, seconds.
    pub rescan_secs: u64,
}

impl Default for CameraConfig {
    /// The embedded default: two simulated cameras, no hardware needed.
    fn default() -> Self {
        CameraConfig {
            device_dir: String::new(),
            accept_file_nodes: false,
            simulated: vec![
                SimulatedCamera::with_index(0),
                SimulatedCamera::with_index(1),
            ],
            simulated_dir: String::new(),
            rescan_secs: 30,
        }
    }
}

impl CameraConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.simulated.iter().enumerate() {
            let key = format!("camera.simulated[{i}]");
            c.validate(&key)?;
            check(
                seen.insert(c.index),
                &format!("{key}.index"),
                c.index,
                "is used twice",
            )?;
        }
        check(
            (1..=3600).contains(&self.rescan_secs),
            "camera.rescan_secs",
            self.rescan_secs,
            "must be 1..=3600",
        )
    }
}

/// Which media plane serves streams, snapshots and recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    /// MediaMTX while its API answers, direct otherwise.
    #[default]
    Auto,
    Mediamtx,
    Direct,
}

impl MediaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaMode::Auto => "auto",
            MediaMode::Mediamtx => "mediamtx",
            MediaMode::Direct => "direct",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    pub mode: MediaMode,
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Longest a snapshot may take before ffmpeg is killed, seconds.
    pub snapshot_timeout_secs: f64,
    /// H.264 encoding of recordings and streams (STANAG 4406 profile).
    pub video: VideoConfig,
    /// Snapshot capture processes (ffmpeg) running at once, all cameras together; more
    /// wait up to `snapshot_timeout_secs`, then get -32003 `capture_limit`.
    pub max_captures: u32,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            mode: MediaMode::Auto,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            snapshot_timeout_secs: 10.0,
            video: VideoConfig::default(),
            max_captures: 4,
        }
    }
}

impl MediaConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.snapshot_timeout_secs.is_finite()
                && (0.5..=120.0).contains(&self.snapshot_timeout_secs),
            "media.snapshot_timeout_secs",
            self.snapshot_timeout_secs,
            "must be 0.5..=120",
        )?;
        check(
            (1..=256).contains(&self.max_captures),
            "media.max_captures",
            self.max_captures,
            "must be 1..=256",
        )?;
        self.video.encoding().map(|_| ())
    }
}

/// How video is encoded. It must lie inside the STANAG 4406 profile (constrained baseline
/// or baseline, level <= 3.0 within the level's limits, yuv420p, 64..=2000 kbit/s, a GOP of
/// at most 2 s, at most 1280x720); anything else is refused at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    /// `constrained_baseline` or `baseline`.
    pub profile: String,
    /// `1.0` .. `3.0` (text or number).
    #[serde(deserialize_with = "level_text")]
    pub level: String,
    pub pixel_format: String,
    pub bitrate_kbps: u32,
    /// Keyframe interval, seconds.
    pub gop_secs: f64,
    /// Largest encoded frame, `WxH`.
    pub max_resolution: String,
}

/// `level: 3.0` (a YAML number) and `level: "3.0"` mean the same.
fn level_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Level {
        Text(String),
        Number(f64),
    }
    Ok(match Level::deserialize(d)? {
        Level::Text(t) => t,
        Level::Number(n) => format!("{n:.1}"),
    })
}

impl Default for VideoConfig {
    fn default() -> Self {
        let e = domain::media::VideoEncoding::standard();
        VideoConfig {
            profile: e.profile().as_str().into(),
            level: e.level().as_str().into(),
            pixel_format: domain::media::VideoEncoding::PIXEL_FORMAT.into(),
            bitrate_kbps: e.bitrate_kbps(),
            gop_secs: e.gop_secs(),
            max_resolution: e.max_size().to_string(),
        }
    }
}

impl VideoConfig {
    /// The validated encoding, or the key that breaks the profile and why.
    pub fn encoding(&self) -> Result<domain::media::VideoEncoding, ConfigError> {
        use domain::media::ProfileViolation as V;
        let max = domain::Resolution::parse(&self.max_resolution).map_err(|e| {
            ConfigError::invalid(
                "media.video.max_resolution",
                &self.max_resolution,
                e.to_string(),
            )
        })?;
        domain::media::VideoEncoding::parse(
            &self.profile,
            &self.level,
            &self.pixel_format,
            self.bitrate_kbps,
            self.gop_secs,
            max,
        )
        .map_err(|e| {
            let (key, value) = match &e {
                V::Profile(v) => ("media.video.profile", v.clone()),
                V::Level(v) => ("media.video.level", v.clone()),
                V::PixelFormat(v) => ("media.video.pixel_format", v.clone()),
                V::Bitrate(_) | V::BitrateAboveLevel { .. } => {
                    ("media.video.bitrate_kbps", self.bitrate_kbps.to_string())
                }
                V::Gop(_) => ("media.video.gop_secs", self.gop_secs.to_string()),
                _ => ("media.video.max_resolution", self.max_resolution.clone()),
            };
            ConfigError::invalid(key, value, e.to_string())
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub recordings_dir: PathBuf,
    pub snapshots_dir: PathBuf,
    /// Service state (retention policy, ...).
    pub state_dir: PathBuf,
    /// New captures are refused (-32060) when free space is below this many bytes.
    pub min_free_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            recordings_dir: "/var/lib/camera-service/recordings".into(),
            snapshots_dir: "/var/lib/camera-service/snapshots".into(),
            state_dir: "/var/lib/camera-service".into(),
            min_free_bytes: 512 * 1024 * 1024,
        }
    }
}

impl StorageConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, p) in [
            ("storage.recordings_dir", &self.recordings_dir),
            ("storage.snapshots_dir", &self.snapshots_dir),
            ("storage.state_dir", &self.state_dir),
        ] {
            check(
                !p.as_os_str().is_empty(),
                key,
                p.display(),
                "must not be empty",
            )?;
        }
        Ok(())
    }
}

/// The initial retention policy (`set_retention_policy` overrides it and persists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub enabled: bool,
    pub max_age_days: Option<f64>,
    pub max_size_gb: Option<f64>,
    /// How often automatic retention runs, seconds.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: false,
            max_age_days: Some(30.0),
            max_size_gb: None,
            interval_secs: 3600,
        }
    }
}

impl RetentionConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("retention.max_age_days", self.max_age_days),
            ("retention.max_size_gb", self.max_size_gb),
        ] {
            if let Some(v) = v {
                check(v.is_finite() && v > 0.0, key, v, "must be > 0")?;
            }
        }
        check(
            (10..=86_400).contains(&self.interval_secs),
            "retention.interval_secs",
            self.interval_secs,
            "must be 10..=86400",
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Split recordings into files of this many seconds; absent: one file.
    pub segment_seconds: Option<u64>,
    /// A recording whose ffmpeg reports no progress and whose file has not grown for this
    /// many seconds is stalled: finished, and reported as `recording.error`.
    pub stall_secs: u64,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            segment_seconds: None,
            stall_secs: 10,
        }
    }
}

impl RecordingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(s) = self.segment_seconds {
            check(
                (10..=86_400).contains(&s),
                "recording.segment_seconds",
                s,
                "must be 10..=86400",
            )?;
        }
        // Fragments and clusters are written at least every GOP (at most 2 s).
        check(
            (3..=3600).contains(&self.stall_secs),
            "recording.stall_secs",
            self.stall_secs,
            "must be 3..=3600",
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediamtxConfig {
    /// MediaMTX's control API.
    pub api_url: String,
    pub rtsp_port: u16,
    pub webrtc_port: u16,
    pub hls_port: u16,
    /// Period of the path reconcile loop, seconds.
    pub reconcile_secs: u64,
    /// Timeout of one API request, milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for MediamtxConfig {
    fn default() -> Self {
        MediamtxConfig {
            api_url: "http://127.0.0.1:9997".into(),
            rtsp_port: 8554,
            webrtc_port: 8889,
            hls_port: 8888,
            reconcile_secs: 10,
            request_timeout_ms: 2000,
        }
    }
}

impl MediamtxConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.api_url.starts_with("http://") || self.api_url.starts_with("https://"),
            "mediamtx.api_url",
            &self.api_url,
            "must be an http:// or https:// URL",
        )?;
        // Port 0 would mean "any port" to a listener, and MediaMTX's URLs must name a port.
        for (key, port) in [
            ("mediamtx.rtsp_port", self.rtsp_port),
            ("mediamtx.webrtc_port", self.webrtc_port),
            ("mediamtx.hls_port", self.hls_port),
        ] {
            check(port != 0, key, port, "must be 1..=65535")?;
        }
        check(
            (1..=3600).contains(&self.reconcile_secs),
            "mediamtx.reconcile_secs",
            self.reconcile_secs,
            "must be 1..=3600",
        )?;
        check(
            (50..=60_000).contains(&self.request_timeout_ms),
            "mediamtx.request_timeout_ms",
            self.request_timeout_ms,
            "must be 50..=60000",
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Events buffered per subscriber before the oldest are dropped.
    pub subscriber_buffer: usize,
    /// A subscriber that has not read anything for this long while events wait is disconnected.
    pub stuck_disconnect_secs: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            subscriber_buffer: 256,
            stuck_disconnect_secs: 60,
        }
    }
}

impl EventsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            (1..=65_536).contains(&self.subscriber_buffer),
            "events.subscriber_buffer",
            self.subscriber_buffer,
            "must be 1..=65536",
        )?;
        check(
            (1..=86_400).contains(&self.stuck_disconnect_secs),
            "events.stuck_disconnect_secs",
            self.stuck_disconnect_secs,
            "must be 1..=86400",
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Journal lines under systemd, human-readable on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    Json,
    Human,
    /// `<N>` priority prefixes and no timestamps, for systemd's journal (what `auto`
    /// picks when stdout is the journal's stream, `$JOURNAL_STREAM`).
    Journal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// `trace`, `debug`, `info`, `warning` (or `warn`), `error`, `critical`; any case.
    #[serde(deserialize_with = "log_level_text")]
    pub level: String,
    pub format: LogFormat,
    /// Audit log (JSON lines); empty: audit records go to the main log.
    pub audit_file: String,
    /// Rotate the audit file past this size.
    pub audit_max_bytes: u64,
    /// Rotated audit files kept.
    pub audit_keep: u32,
    /// Denials and rate-limit hits of one peer are written once per this many seconds,
    /// with a count (the first at once, the rest summed at the window's end).
    pub audit_window_secs: u64,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".into(),
            format: LogFormat::Auto,
            audit_file: String::new(),
            audit_max_bytes: 10 * 1024 * 1024,
            audit_keep: 5,
            audit_window_secs: 10,
        }
    }
}

/// `warn` is the common spelling of `warning`; levels are case-insensitive.
fn log_level_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?.to_ascii_lowercase();
    Ok(match text.as_str() {
        "warn" => "warning".to_owned(),
        _ => text,
    })
}

pub const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warning", "error", "critical"];

impl LoggingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            LOG_LEVELS.contains(&self.level.as_str()),
            "logging.level",
            &self.level,
            "must be one of trace, debug, info, warning, error, critical",
        )?;
        check(
            self.audit_max_bytes >= 4096,
            "logging.audit_max_bytes",
            self.audit_max_bytes,
            "must be >= 4096",
        )?;
        check(
            (1..=100).contains(&self.audit_keep),
            "logging.audit_keep",
            self.audit_keep,
            "must be 1..=100",
        )?;
        check(
            (1..=3600).contains(&self.audit_window_secs),
            "logging.audit_window_secs",
            self.audit_window_secs,
            "must be 1..=3600",
        )
    }
}

/// The MQTT bridge (docs/mqtt.md): events, state, snapshots and commands on a broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Off by default.
    pub enabled: bool,
    /// `mqtt://host[:1883]` or `mqtts://host[:8883]` (then `ca_file` is required).
    pub broker_url: String,
    /// PEM file of the CA that signed the broker's certificate (for `mqtts://`).
    pub ca_file: String,
    /// Broker user name; empty: connect without credentials.
    pub username: String,
    /// Broker password. Prefer `CAMERA_SERVICE_MQTT_PASSWORD` or `password_file`.
    pub password: Option<Secret>,
    /// File holding the password (trailing newline ignored).
    pub password_file: String,
    /// Empty: `camera-service-<hostname>`.
    pub client_id: String,
    /// Every topic starts with it; empty: `camera-service/<hostname>`.
    pub base_topic: String,
    /// QoS of everything published and subscribed (0, 1 or 2).
    pub qos: u8,
    /// The role commands received on the broker run with.
    pub role: String,
    /// Publish Home Assistant discovery configs.
    pub discovery: bool,
    pub discovery_prefix: String,
    /// Take and publish a snapshot of every connected camera this often; 0: only when one is
    /// taken anyway.
    pub snapshot_interval_secs: u64,
    /// Snapshots larger than this are not published (the event still is).
    pub snapshot_max_bytes: u64,
    /// How often `<base>/system` is re-published besides on every health change.
    pub system_interval_secs: u64,
    /// Outgoing messages waiting for the broker before the oldest events are dropped.
    pub queue_capacity: usize,
    pub keepalive_secs: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: false,
            broker_url: "mqtt://127.0.0.1:1883".into(),
            ca_file: String::new(),
            username: String::new(),
            password: None,
            password_file: String::new(),
            client_id: String::new(),
            base_topic: String::new(),
            qos: 1,
            role: "operator".into(),
            discovery: true,
            discovery_prefix: "homeassistant".into(),
            snapshot_interval_secs: 0,
            snapshot_max_bytes: 1024 * 1024,
            system_interval_secs: 60,
            queue_capacity: 1024,
            keepalive_secs: 30,
        }
    }
}

/// A topic name we publish under: levels not empty, no wildcards, no leading or trailing `/`.
fn plain_topic(t: &str) -> bool {
    !t.is_empty() && !t.contains(['+', '#', '\0']) && t.split('/').all(|l| !l.is_empty())
}

impl MqttConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.broker_url.as_str();
        let tls = url.starts_with("mqtts://");
        check(
            url.starts_with("mqtt://") || tls,
            "mqtt.broker_url",
            url,
            "must start with mqtt:// or mqtts://",
        )?;
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or("");
        check(
            !rest.is_empty() && !rest.contains(['/', '@', '?']),
            "mqtt.broker_url",
            url,
            "must be mqtt[s]://host[:port] (credentials go in mqtt.username / mqtt.password)",
        )?;
        check(
            !tls || !self.ca_file.is_empty(),
            "mqtt.ca_file",
            "\"\"",
            "is required with an mqtts:// broker_url",
        )?;
        check(self.qos <= 2, "mqtt.qos", self.qos, "must be 0, 1 or 2")?;
        check(
            domain::Role::parse(&self.role).is_some(),
            "mqtt.role",
            &self.role,
            "must be viewer, operator or admin",
        )?;
        check(
            self.base_topic.is_empty() || plain_topic(&self.base_topic),
            "mqtt.base_topic",
            &self.base_topic,
            "must be topic levels without wildcards, empty levels or leading/trailing /",
        )?;
        check(
            plain_topic(&self.discovery_prefix),
            "mqtt.discovery_prefix",
            &self.discovery_prefix,
            "must be topic levels without wildcards or empty levels",
        )?;
        check(
            self.client_id.len() <= 128,
            "mqtt.client_id",
            &self.client_id,
            "must be at most 128 bytes",
        )?;
        check(
            (1024..=64 * 1024 * 1024).contains(&self.snapshot_max_bytes),
            "mqtt.snapshot_max_bytes",
            self.snapshot_max_bytes,
            "must be 1024..=67108864",
        )?;
        check(
            (1..=86_400).contains(&self.system_interval_secs),
            "mqtt.system_interval_secs",
            self.system_interval_secs,
            "must be 1..=86400",
        )?;
        check(
            self.snapshot_interval_secs <= 86_400,
            "mqtt.snapshot_interval_secs",
            self.snapshot_interval_secs,
            "must be 0..=86400",
        )?;
        check(
            (16..=1_000_000).contains(&self.queue_capacity),
            "mqtt.queue_capacity",
            self.queue_capacity,
            "must be 16..=1000000",
        )?;
        check(
            (5..=3600).contains(&self.keepalive_secs),
            "mqtt.keepalive_secs",
            self.keepalive_secs,
            "must be 5..=3600",
        )
    }

    /// The password: `password` (file or env), else `password_file`'s first line.
    pub fn password_text(&self) -> Result<Option<String>, std::io::Error> {
        if let Some(p) = &self.password {
            return Ok(Some(p.expose().to_owned()));
        }
        if self.password_file.is_empty() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&self.password_file)?;
        Ok(Some(text.lines().next().unwrap_or("").to_owned()))
    }
}
