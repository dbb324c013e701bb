//! `camera-service doctor`: checks a setup and explains what is wrong, one line per check
//! with the fix. Config valid; JWT secret and API key files present with safe permissions;
//! device directory readable, the service user in the `video` group, every `video<N>` node
//! probed; ffmpeg and ffprobe present with the encoders the service uses; MediaMTX's API
//! reachable, its version and the keys that must agree with ours; free space against the
//! floor; the port free or held by a running camera-service.
//!
//! The outside world is asked through [`Host`] (the composition root answers with the
//! adapters); file modes, directories and users are read here with `std`.
//!
//! Past 600 lines only by its tests (the checks are ~590): one check per function, read top to
//! bottom as the doctor prints them.

use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use config::{Config, MediaMode};
use ports::probe::{ProbeError, ProbeOutcome};
use serde::Serialize;
use serde_json::Value;

/// The user the packaged service runs as.
pub const SERVICE_USER: &str = "camera-service";
/// How long one outside question may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the doctor asks of the outside world.
#[async_trait]
pub trait Host: Send + Sync {
    /// What a device node is (blocking, like [`ports::probe::DeviceProbe`]).
    fn probe(&self, node: &Path) -> Result<ProbeOutcome, ProbeError>;
    /// The first line of `PROGRAM -version`.
    async fn tool_version(&self, program: &Path, timeout: Duration) -> Result<String, String>;
    /// The encoders `ffmpeg -encoders` lists.
    async fn encoders(&self, ffmpeg: &Path, timeout: Duration) -> Result<BTreeSet<String>, String>;
    /// Encoders the service's commands use, with what each is for.
    fn encoders_used(&self) -> Vec<(&'static str, &'static str)>;
    /// MediaMTX's version (`/v3/info`) and global configuration.
    async fn mediamtx(&self, api_url: &str, timeout: Duration) -> Result<(String, Value), String>;
    /// Bytes free to an unprivileged user on the file system holding `dir`.
    fn free_bytes(&self, dir: &Path) -> Result<u64, String>;
    /// Whether a camera-service answers `ping` on 127.0.0.1:`port`.
    async fn answers_as_camera_service(&self, port: u16) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    /// Worth knowing, not a problem: the exit code stays 0.
    Warn,
    /// A problem: the exit code is 1.
    Fail,
    /// Does not apply to this configuration.
    Skip,
}

/// One check's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub check: String,
    pub status: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(check: impl Into<String>, status: Verdict, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(check, Verdict::Ok, detail)
    }

    fn skip(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(check, Verdict::Skip, detail)
    }

    fn warn(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(check, Verdict::Warn, detail).with_fix(fix)
    }

    fn fail(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(check, Verdict::Fail, detail).with_fix(fix)
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Everything the doctor found (`--json` prints this).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// No check failed.
    pub ok: bool,
    /// The configuration file checked (or `built-in default`).
    pub config: String,
    pub checks: Vec<Check>,
}

impl Report {
    fn new(config: String, checks: Vec<Check>) -> Report {
        Report {
            ok: !checks.iter().any(|c| c.status == Verdict::Fail),
            config,
            checks,
        }
    }

    /// One line per check: `[FAIL] ffmpeg: ... — fix: ...`, then a summary line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let tag = match c.status {
                Verdict::Ok => " ok ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
                Verdict::Skip => "skip",
            };
            out.push_str(&format!("[{tag}] {}: {}", c.check, c.detail));
            if let Some(fix) = &c.fix {
                out.push_str(&format!(" — fix: {fix}"));
            }
            out.push('\n');
        }
        let count = |v| self.checks.iter().filter(|c| c.status == v).count();
        out.push_str(&format!(
            "{} problem(s), {} warning(s) ({})\n",
            count(Verdict::Fail),
            count(Verdict::Warn),
            self.config
        ));
        out
    }
}

/// Runs every check against `config` (or reports why it did not load).
pub async fn examine(config: Result<Config, String>, source: String, host: &dyn Host) -> Report {
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            let check = Check::fail(
                "config",
                e,
                "correct the key named above (`camera-service serve --print-config` shows the effective configuration)",
            );
            return Report::new(source, vec![check]);
        }
    };
    let mut checks = vec![Check::ok("config", format!("{source} is valid"))];
    checks.push(secret_file(&config));
    checks.push(keys_file(&config));
    checks.extend(devices(&config, host));
    checks.extend(tools(&config, host).await);
    checks.extend(mediamtx(&config, host).await);
    checks.extend(disk(&config, host));
    checks.push(port(&config, host).await);
    Report::new(source, checks)
}

fn mode_of(path: &Path) -> std::io::Result<u32> {
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777)
}

/// A private file: absent is `absent`, readable by others is a problem.
fn private_file(name: &str, path: &Path, absent: Check) -> Check {
    match mode_of(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => absent,
        Err(e) => Check::fail(
            name,
            format!("cannot read {}: {e}", path.display()),
            format!("make {} readable by the service user", path.display()),
        ),
        Ok(mode) if mode & 0o077 != 0 => Check::fail(
            name,
            format!("{} has mode {mode:04o}: others can read it", path.display()),
            format!("chmod 600 {}", path.display()),
        ),
        Ok(mode) => Check::ok(name, format!("{} present, mode {mode:04o}", path.display())),
    }
}

fn secret_file(config: &Config) -> Check {
    if config.auth.jwt_secret.is_some() {
        return Check::ok(
            "jwt_secret",
            "set by auth.jwt_secret (configuration or environment)",
        );
    }
    let path = &config.auth.jwt_secret_file;
    private_file(
        "jwt_secret",
        path,
        Check::warn(
            "jwt_secret",
            format!("{} does not exist yet", path.display()),
            "nothing to do: the service creates it (mode 0600) on its first start",
        ),
    )
}

fn keys_file(config: &Config) -> Check {
    let path = &config.auth.keys_file;
    private_file(
        "api_keys",
        path,
        Check::ok(
            "api_keys",
            format!(
                "{} does not exist: no API keys yet (`camera-service keys add` creates it)",
                path.display()
            ),
        ),
    )
}

/// `video<N>` (not `video-foo`, not `videoN.tmp`).
fn is_video_node(name: &str) -> bool {
    name.strip_prefix("video")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn devices(config: &Config, host: &dyn Host) -> Vec<Check> {
    let dir = &config.camera.device_dir;
    if dir.is_empty() {
        return vec![Check::skip(
            "device_dir",
            "V4L2 discovery is off (camera.device_dir is empty)",
        )];
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return vec![Check::fail(
                "device_dir",
                format!("cannot read {dir}: {e}"),
                format!("set camera.device_dir to the device directory (/dev) and make it readable by the service user (ls -ld {dir})"),
            )]
        }
    };
    let mut nodes: Vec<(String, PathBuf)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            is_video_node(&name).then(|| (name, e.path()))
        })
        .filter(|(_, path)| {
            let meta = std::fs::metadata(path);
            meta.is_ok_and(|m| {
                m.file_type().is_char_device() || (config.camera.accept_file_nodes && m.is_file())
            })
        })
        .collect();
    nodes.sort_by_key(|(name, _)| name[5..].parse::<u32>().unwrap_or(u32::MAX));
    let mut checks = vec![Check::ok(
        "device_dir",
        format!("{dir} is readable: {} video node(s)", nodes.len()),
    )];
    checks.push(video_group());
    if nodes.is_empty() {
        checks.push(Check::warn(
            "devices",
            format!("no video<N> node in {dir}: no camera is plugged in"),
            "plug a USB camera (it is found within a second), or check `dmesg` for uvcvideo errors",
        ));
    }
    for (name, path) in nodes {
        let check = format!("device {name}");
        checks.push(match host.probe(&path) {
            Ok(ProbeOutcome::Capture(d)) => Check::ok(
                check,
                format!(
                    "capture: {} ({}, {}), {} format(s)",
                    d.card,
                    d.driver,
                    d.bus_info,
                    d.formats.len()
                ),
            ),
            Ok(ProbeOutcome::Incomplete {
                description: d,
                missing,
            }) => Check::warn(
                check,
                format!(
                    "capture: {} ({}, {}), but the driver did not answer for: {}",
                    d.card,
                    d.driver,
                    d.bus_info,
                    missing.join("; ")
                ),
                "the service probes it again by itself; if it persists, re-plug the camera and check `dmesg` for uvcvideo errors",
            ),
            Ok(ProbeOutcome::NotCapture) => Check::ok(
                check,
                "metadata or other non-capture node: not a camera (the service skips it)",
            ),
            Err(ProbeError::Denied(e)) => Check::fail(
                check,
                format!("cannot be opened: {e}"),
                format!("add the service user to the video group (usermod -aG video {SERVICE_USER}) and restart the service"),
            ),
            Err(ProbeError::Gone(e)) => Check::warn(
                check,
                format!("vanished while probed: {e}"),
                "run the doctor again once the camera is plugged in firmly",
            ),
            Err(ProbeError::Failed(e)) => Check::fail(
                check,
                format!("probe error: {e}"),
                "replug the camera; if it persists, see `dmesg` for the driver's complaint",
            ),
        });
    }
    checks
}

/// Whether the service's user may open V4L2 nodes (group `video`).
fn video_group() -> Check {
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let video = groups.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == "video").then(|| (f[2].to_owned(), f[3].to_owned()))
    });
    let Some((gid, members)) = video else {
        return Check::warn(
            "video_group",
            "this system has no video group",
            "cameras' nodes are then root's only: create it (groupadd --system video) and let udev own /dev/video* by it",
        );
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let service_user = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == SERVICE_USER).then(|| f[3].to_owned())
    });
    if let Some(primary_gid) = service_user {
        let member = primary_gid == gid || members.split(',').any(|m| m == SERVICE_USER);
        return match member {
            true => Check::ok(
                "video_group",
                format!("user {SERVICE_USER} is in the video group"),
            ),
            false => Check::fail(
                "video_group",
                format!("user {SERVICE_USER} is not in the video group: it cannot open cameras"),
                format!("usermod -aG video {SERVICE_USER}; systemctl restart camera-service"),
            ),
        };
    }
    // Not installed as a package: the user running the doctor runs the service.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    if field("Uid:").first().is_some_and(|u| u == "0") {
        return Check::ok(
            "video_group",
            format!("no {SERVICE_USER} user; running as root, which opens every device"),
        );
    }
    match field("Groups:").contains(&gid) || field("Gid:").first() == Some(&gid) {
        true => Check::ok("video_group", "this user is in the video group"),
        false => Check::fail(
            "video_group",
            "this user is not in the video group: it cannot open cameras",
            "usermod -aG video $USER, then log in again",
        ),
    }
}

async fn tools(config: &Config, host: &dyn Host) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut ffmpeg_ok = false;
    for (name, path, key) in [
        ("ffmpeg", &config.media.ffmpeg, "media.ffmpeg"),
        ("ffprobe", &config.media.ffprobe, "media.ffprobe"),
    ] {
        match host.tool_version(path, ASK_TIMEOUT).await {
            Ok(version) => {
                ffmpeg_ok |= name == "ffmpeg";
                checks.push(Check::ok(name, format!("{}: {version}", path.display())));
            }
            Err(e) => checks.push(Check::fail(
                name,
                format!("{} cannot run: {e}", path.display()),
                format!("apt install ffmpeg, or set {key} to the {name} to use"),
            )),
        }
    }
    if !ffmpeg_ok {
        checks.push(Check::skip("encoders", "ffmpeg cannot run"));
        return checks;
    }
    match host.encoders(&config.media.ffmpeg, ASK_TIMEOUT).await {
        Ok(have) => {
            let used = host.encoders_used();
            let missing: Vec<String> = used
                .iter()
                .filter(|(e, _)| !have.contains(*e))
                .map(|(e, what)| format!("{e} ({what})"))
                .collect();
            checks.push(match missing.is_empty() {
                true => Check::ok(
                    "encoders",
                    used.iter().map(|(e, _)| *e).collect::<Vec<_>>().join(", "),
                ),
                false => Check::fail(
                    "encoders",
                    format!("ffmpeg lacks {}", missing.join(", ")),
                    "install Debian's ffmpeg (apt install ffmpeg), which has them all",
                ),
            });
        }
        Err(e) => checks.push(Check::fail(
            "encoders",
            format!("ffmpeg -encoders failed: {e}"),
            "install Debian's ffmpeg (apt install ffmpeg)",
        )),
    }
    checks
}

/// `":8554"`, `"127.0.0.1:8554"`, `"[::]:8554"` → 8554.
fn port_of(address: &str) -> Option<u16> {
    address.rsplit_once(':')?.1.parse().ok()
}

async fn mediamtx(config: &Config, host: &dyn Host) -> Vec<Check> {
    if config.media.mode == MediaMode::Direct {
        return vec![Check::skip(
            "mediamtx",
            "media.mode is direct: MediaMTX is not used",
        )];
    }
    let url = &config.mediamtx.api_url;
    let timeout = Duration::from_millis(config.mediamtx.request_timeout_ms).max(ASK_TIMEOUT);
    let (version, global) = match host.mediamtx(url, timeout).await {
        Ok(answer) => answer,
        Err(e) => {
            let consequence = match config.media.mode {
                MediaMode::Auto => "captures run straight from the cameras (DEGRADED): no streams",
                _ => "media.mode is mediamtx: no streams, snapshots or recordings",
            };
            return vec![Check::fail(
                "mediamtx",
                format!("API at {url} does not answer ({e}); {consequence}"),
                "start MediaMTX (example unit: /usr/share/doc/camera-service/examples/mediamtx.service) with api: yes, or set mediamtx.api_url to its API, or media.mode: direct",
            )];
        }
    };
    let mut checks = vec![match version.starts_with("v1.15") {
        true => Check::ok("mediamtx", format!("API at {url} answers: MediaMTX {version}")),
        false => Check::warn(
            "mediamtx",
            format!("API at {url} answers: MediaMTX {version}, not the v1.15 this service is tested with"),
            "use MediaMTX v1.15",
        ),
    }];
    let mtx = &config.mediamtx;
    let mut disagree = Vec::new();
    if global.get("rtsp").and_then(Value::as_bool) == Some(false) {
        disagree.push(
            "rtsp is off, but recordings and snapshots read the streams over RTSP (set rtsp: yes)"
                .to_owned(),
        );
    }
    for (enabled, address, ours, key) in [
        ("rtsp", "rtspAddress", mtx.rtsp_port, "mediamtx.rtsp_port"),
        (
            "webrtc",
            "webrtcAddress",
            mtx.webrtc_port,
            "mediamtx.webrtc_port",
        ),
        ("hls", "hlsAddress", mtx.hls_port, "mediamtx.hls_port"),
    ] {
        if global.get(enabled).and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let theirs = global.get(address).and_then(Value::as_str).unwrap_or("");
        if port_of(theirs) != Some(ours) {
            disagree.push(format!("{address} is {theirs:?} but {key} is {ours}"));
        }
    }
    checks.push(match disagree.is_empty() {
        true => Check::ok(
            "mediamtx_config",
            format!(
                "ports agree: RTSP {}, WebRTC {}, HLS {}",
                mtx.rtsp_port, mtx.webrtc_port, mtx.hls_port
            ),
        ),
        false => Check::fail(
            "mediamtx_config",
            disagree.join("; "),
            "make mediamtx.yml and the mediamtx section of this configuration name the same ports",
        ),
    });
    checks
}

/// The directory itself, or the nearest existing one above it (not created yet).
fn existing_dir(dir: &Path) -> Option<&Path> {
    dir.ancestors().find(|d| d.is_dir())
}

fn disk(config: &Config, host: &dyn Host) -> Vec<Check> {
    let floor = config.storage.min_free_bytes;
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0));
    let mut checks = Vec::new();
    for (what, dir) in [
        ("recordings", &config.storage.recordings_dir),
        ("snapshots", &config.storage.snapshots_dir),
    ] {
        let name = format!("disk {what}");
        let Some(existing) = existing_dir(dir) else {
            checks.push(Check::fail(
                name,
                format!("{} has no existing parent", dir.display()),
                format!("create it: install -d -o {SERVICE_USER} {}", dir.display()),
            ));
            continue;
        };
        checks.push(match host.free_bytes(existing) {
            Ok(free) if free < floor => Check::fail(
                name,
                format!(
                    "{} free on {}, below storage.min_free_bytes ({}): new captures are refused",
                    mib(free),
                    existing.display(),
                    mib(floor)
                ),
                "free space (or enable retention: set_retention_policy / retention.enabled), or lower storage.min_free_bytes",
            ),
            Ok(free) => Check::ok(
                name,
                format!("{} free on {} (floor {})", mib(free), existing.display(), mib(floor)),
            ),
            Err(e) => Check::fail(
                name,
                format!("cannot measure {}: {e}", existing.display()),
                "check the file system is mounted",
            ),
        });
    }
    checks
}

async fn port(config: &Config, host: &dyn Host) -> Check {
    let (h, p) = (&config.server.host, config.server.port);
    if p == 0 {
        return Check::skip("port", "server.port is 0: any free port is taken");
    }
    let addr = format!("{h}:{p}");
    match std::net::TcpListener::bind(&addr) {
        Ok(listener) => {
            drop(listener);
            Check::ok("port", format!("{addr} is free"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if host.answers_as_camera_service(p).await {
                Check::ok("port", format!("{addr} is held by a running camera-service"))
            } else {
                Check::fail(
                    "port",
                    format!("{addr} is held by another program"),
                    format!("stop it (ss -ltnp 'sport = :{p}' names it) or set server.port"),
                )
            }
        }
        Err(e) => Check::fail(
            "port",
            format!("cannot listen on {addr}: {e}"),
            "set server.host to an address of this machine and server.port to a port this user may bind (>= 1024)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbered_video_nodes_are_probed() {
        assert!(is_video_node("video0"));
        assert!(is_video_node("video12"));
        assert!(!is_video_node("video"));
        assert!(!is_video_node("video-cam"));
        assert!(!is_video_node("vbi0"));
    }

    #[test]
    fn ports_are_read_from_mediamtx_addresses() {
        assert_eq!(port_of(":8554"), Some(8554));
        assert_eq!(port_of("127.0.0.1:9997"), Some(9997));
        assert_eq!(port_of("[::]:8889"), Some(8889));
        assert_eq!(port_of("nowhere"), None);
    }

    #[test]
    fn one_failed_check_makes_the_report_fail() {
        let report = Report::new(
            "c.yaml".into(),
            vec![
                Check::ok("config", "c.yaml is valid"),
                Check::warn("devices", "none", "plug one"),
            ],
        );
        assert!(report.ok);
        let report = Report::new(
            "c.yaml".into(),
            vec![Check::fail("ffmpeg", "missing", "apt install ffmpeg")],
        );
        assert!(!report.ok);
        assert_eq!(
            report.text(),
            "[FAIL] ffmpeg: missing — fix: apt install ffmpeg\n1 problem(s), 0 warning(s) (c.yaml)\n"
        );
    }
}
