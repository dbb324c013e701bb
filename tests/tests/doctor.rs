//! `camera-service doctor`, black-box: the real binary on a healthy setup (fake MediaMTX,
//! FUSE fake video nodes) and on broken ones; one line per check, `--json`, exit status.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use cs_fakecam::{devices, plug, FakeCam, TempDir};
use cs_tests::mediamtx::free_port;
use cs_tests::service::binary;
use fakemtx::FakeMediamtx;
use serde_json::Value;

/// Writes a config in `dir` (`extra` YAML lines appended) and runs `doctor --json`.
fn doctor(dir: &Path, extra: &str) -> (bool, Value) {
    doctor_env(dir, extra, &[])
}

/// [`doctor`] with `CAMERA_SERVICE_*` overrides of the base keys.
fn doctor_env(dir: &Path, extra: &str, env: &[(&str, &str)]) -> (bool, Value) {
    let d = dir.display();
    let secret = dir.join("jwt-secret");
    if !secret.exists() {
        std::fs::write(&secret, "s".repeat(48)).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "server: {{host: 127.0.0.1, port: {port}}}\n\
             auth: {{jwt_secret_file: {d}/jwt-secret, keys_file: {d}/keys.json}}\n\
             storage: {{recordings_dir: {d}/rec, snapshots_dir: {d}/snap, state_dir: {d}/state, min_free_bytes: 1048576}}\n\
             {extra}\n",
            port = free_port()
        ),
    )
    .unwrap();
    let out = Command::new(binary())
        .env_remove("CAMERA_SERVICE_BIN")
        .arg("--config")
        .arg(&config)
        .args(["doctor", "--json"])
        .envs(env.iter().copied())
        .output()
        .expect("doctor runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json prints JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["ok"], out.status.success(), "{report}");
    (out.status.success(), report)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_setup_passes_every_check() {
    let test = "a_healthy_setup_passes_every_check";
    let Some(bench) = FakeCam::mount_or_skip(
        test,
        [
            ("cap", devices::uvc_capture()),
            ("meta", devices::uvc_metadata()),
        ],
    ) else {
        return;
    };
    let dev = TempDir::new("doctor-dev").unwrap();
    plug(dev.path(), 0, &bench.node("cap")).unwrap();
    plug(dev.path(), 1, &bench.node("meta")).unwrap();
    let mtx = FakeMediamtx::start()
        .await
        .expect("the fake MediaMTX starts");
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "camera: {{device_dir: '{}', accept_file_nodes: true, simulated: []}}\n\
         media: {{mode: mediamtx}}\n\
         mediamtx: {{api_url: '{}'}}",
        dev.path().display(),
        mtx.api_url()
    );
    let (dir_path, extra2) = (dir.path().to_owned(), extra.clone());
    let (ok, report) = tokio::task::spawn_blocking(move || doctor(&dir_path, &extra2))
        .await
        .unwrap();

    assert!(ok, "{report:#}");
    assert!(failed(&report).is_empty(), "{report:#}");
    assert_eq!(check(&report, "jwt_secret")["status"], "ok", "{report:#}");
    let cap = check(&report, "device video0");
    assert!(
        cap["detail"]
            .as_str()
            .unwrap()
            .starts_with("capture: HD Pro Webcam C920"),
        "{cap}"
    );
    let meta = check(&report, "device video1");
    assert!(
        meta["detail"].as_str().unwrap().contains("non-capture"),
        "{meta}"
    );
    assert!(
        check(&report, "mediamtx")["detail"]
            .as_str()
            .unwrap()
            .contains("v1.15.5"),
        "{report:#}"
    );
    assert_eq!(
        check(&report, "mediamtx_config")["status"],
        "ok",
        "{report:#}"
    );
    assert_eq!(check(&report, "encoders")["status"], "ok", "{report:#}");
    assert_eq!(check(&report, "port")["status"], "ok", "{report:#}");
}

#[test]
fn missing_ffmpeg_is_a_problem_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, report) = doctor(
        dir.path(),
        "media: {mode: direct, ffmpeg: /nonexistent/ffmpeg}",
    );
    assert!(!ok);
    assert_eq!(failed(&report), ["ffmpeg"], "{report:#}");
    let ffmpeg = check(&report, "ffmpeg");
    assert!(
        ffmpeg["fix"].as_str().unwrap().contains("media.ffmpeg"),
        "{ffmpeg}"
    );
    assert_eq!(check(&report, "encoders")["status"], "skip");
}

#[test]
fn an_unreadable_device_directory_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the directory should be: read_dir fails even for root.
    let not_dir = dir.path().join("not-a-dir");
    std::fs::write(&not_dir, "").unwrap();
    let (ok, report) = doctor(
        dir.path(),
        &format!(
            "media: {{mode: direct}}\ncamera: {{device_dir: '{}'}}",
            not_dir.display()
        ),
    );
    assert!(!ok);
    assert_eq!(failed(&report), ["device_dir"], "{report:#}");
    assert!(check(&report, "device_dir")["detail"]
        .as_str()
        .unwrap()
        .contains("cannot read"));
}

#[test]
fn mediamtx_down_is_a_problem_in_auto_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, report) = doctor(
        dir.path(),
        &format!(
            "media: {{mode: auto}}\nmediamtx: {{api_url: 'http://127.0.0.1:{}'}}",
            free_port()
        ),
    );
    assert!(!ok);
    assert_eq!(failed(&report), ["mediamtx"], "{report:#}");
    assert!(check(&report, "mediamtx")["detail"]
        .as_str()
        .unwrap()
        .contains("DEGRADED"));
}

#[test]
fn disk_under_the_floor_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, report) = doctor_env(
        dir.path(),
        "media: {mode: direct}",
        &[(
            "CAMERA_SERVICE_STORAGE_MIN_FREE_BYTES",
            "18446744073709551615",
        )],
    );
    assert!(!ok);
    assert_eq!(
        failed(&report),
        ["disk recordings", "disk snapshots"],
        "{report:#}"
    );
}

#[test]
fn a_secret_readable_by_others_and_a_port_taken_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("jwt-secret");
    std::fs::write(&secret, "s".repeat(48)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let port = port.to_string();
    let (ok, report) = doctor_env(
        dir.path(),
        "media: {mode: direct}",
        &[("CAMERA_SERVICE_SERVER_PORT", &port)],
    );
    assert!(!ok);
    assert_eq!(failed(&report), ["jwt_secret", "port"], "{report:#}");
    assert!(check(&report, "jwt_secret")["fix"]
        .as_str()
        .unwrap()
        .starts_with("chmod 600"));
}

#[test]
fn a_bad_config_is_reported_as_the_only_check_and_text_output_has_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "server: {port: not-a-port}\n").unwrap();
    let out = Command::new(binary())
        .env_remove("CAMERA_SERVICE_BIN")
        .arg("--config")
        .arg(&config)
        .arg("doctor")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("[FAIL] config: "), "{text}");
    assert!(lines[0].contains(" — fix: "), "{text}");
}
