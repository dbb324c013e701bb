//! Life under systemd, black-box: the real binary talks to a real datagram socket standing
//! in for systemd (`NOTIFY_SOCKET`): READY after listen, STATUS, WATCHDOG pings at half
//! of `WATCHDOG_USEC`, RELOADING/READY around a SIGHUP reload, STOPPING on SIGTERM. And
//! the log lines it writes when its stdout is the journal's stream.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cs_tests::notify::{Notification, NotifySocket};
use cs_tests::service::binary;
use cs_tests::{TestService, WsClient};
use domain::Role;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

fn signal(svc: &TestService, sig: Signal) {
    kill(Pid::from_raw(svc.pid() as i32), sig).expect("the signal is sent");
}

fn records(svc: &TestService) -> Vec<Value> {
    svc.logs()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn record(svc: &TestService, msg: &str, secs: f64) -> Value {
    TestService::eventually(secs, || async {
        records(svc).into_iter().find(|r| r["msg"] == msg)
    })
    .await
    .unwrap_or_else(|| panic!("no {msg:?} in the log:\n{}", svc.logs().join("\n")))
}

/// Polls `get_camera_list` until `check` holds for its cameras (at most `secs`).
async fn cameras_until(ws: &mut WsClient, secs: f64, check: impl Fn(&[Value]) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        let list = ws.ok("get_camera_list", Value::Null).await;
        if check(
            list["cameras"]
                .as_array()
                .map(|v| v.as_slice())
                .unwrap_or(&[]),
        ) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn ready_is_sent_once_listening_with_a_status_line() {
    let sock = NotifySocket::bind();
    let svc = TestService::builder()
        .env("NOTIFY_SOCKET", &sock.path())
        .start();

    let (_, ready) = sock
        .wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 arrives");
    // Listening by then: a client connects at once and sees the configured cameras.
    let mut ws = svc.ws_as(Role::Viewer).await;
    let list = ws.ok("get_camera_list", Value::Null).await;
    assert_eq!(list["total"], 2, "{list}");
    let status = ready.value("STATUS").expect("STATUS comes with READY");
    assert!(
        status.starts_with(&format!("listening on {}; cameras: ", svc.addr)),
        "{status}"
    );
    assert!(status.contains("health: "), "{status}");
    assert!(
        !sock.messages().iter().any(|m| m.has("WATCHDOG=1")),
        "no watchdog pings when none were asked for"
    );
}

#[tokio::test]
async fn watchdog_pings_come_at_half_the_asked_interval() {
    let sock = NotifySocket::bind();
    // 600 ms timeout: a ping every 300 ms.
    let svc = TestService::builder()
        .env("NOTIFY_SOCKET", &sock.path())
        .env("WATCHDOG_USEC", "600000")
        .start();
    let (ready_at, _) = sock
        .wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 arrives");

    // Six pings after READY: on a loaded box allow them to be late, never early.
    let mut pings: Vec<Notification> = Vec::new();
    let mut from = ready_at + 1;
    while pings.len() < 6 {
        let (i, ping) = sock
            .wait_for(from, 10.0, |m| m.has("WATCHDOG=1"))
            .unwrap_or_else(|| {
                panic!(
                    "only {} pings came; logs:\n{}",
                    pings.len(),
                    svc.logs().join("\n")
                )
            });
        pings.push(ping);
        from = i + 1;
    }
    let gaps: Vec<Duration> = pings.windows(2).map(|w| w[1].at - w[0].at).collect();
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(250),
            "pings come at half of WATCHDOG_USEC (300 ms), not faster: {gaps:?}"
        );
    }
    let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    assert!(
        mean < Duration::from_millis(600),
        "pings must come well within the timeout: mean gap {mean:?} ({gaps:?})"
    );
    drop(svc);
}

#[tokio::test]
async fn a_watchdog_meant_for_another_process_is_ignored() {
    let sock = NotifySocket::bind();
    let svc = TestService::builder()
        .env("NOTIFY_SOCKET", &sock.path())
        .env("WATCHDOG_USEC", "200000")
        .env("WATCHDOG_PID", "1")
        .start();
    sock.wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 arrives");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !sock.messages().iter().any(|m| m.has("WATCHDOG=1")),
        "WATCHDOG_PID names another process: no pings; got {:?}",
        sock.messages()
    );
    drop(svc);
}

#[tokio::test]
async fn sigterm_sends_stopping_and_the_process_exits_cleanly() {
    let sock = NotifySocket::bind();
    let mut svc = TestService::builder()
        .env("NOTIFY_SOCKET", &sock.path())
        .start();
    let (ready, _) = sock
        .wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 arrives");

    signal(&svc, Signal::SIGTERM);

    sock.wait_for(ready + 1, 10.0, |m| m.has("STOPPING=1"))
        .expect("STOPPING=1 arrives after SIGTERM");
    let status = svc
        .wait_exit(20.0)
        .expect("the service exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn sighup_applies_live_keys_and_names_those_needing_a_restart() {
    let sock = NotifySocket::bind();
    let svc = TestService::builder()
        .env("NOTIFY_SOCKET", &sock.path())
        .config("logging: {level: info}")
        .start();
    let (ready, _) = sock
        .wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 arrives");
    let mut ws = svc.ws_as(Role::Admin).await;
    ws.ok("get_camera_list", Value::Null).await;

    // Edit the file as an operator would: a new simulated camera list, retention on, a
    // debug log, and two keys that cannot change live.
    let mut config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&svc.config_path).unwrap()).unwrap();
    config["camera"]["simulated"] =
        serde_yaml::from_str("[{index: 0, name: Renamed Camera}, {index: 2, name: Third Camera}]")
            .unwrap();
    config["retention"] = serde_yaml::from_str("{enabled: true, max_age_days: 7}").unwrap();
    config["logging"]["level"] = "debug".into();
    config["server"]["max_connections"] = 77.into();
    config["events"] = serde_yaml::from_str("{subscriber_buffer: 64}").unwrap();
    std::fs::write(&svc.config_path, serde_yaml::to_string(&config).unwrap()).unwrap();

    signal(&svc, Signal::SIGHUP);

    let reloaded = record(&svc, "configuration reloaded", 10.0).await;
    assert_eq!(
        reloaded["applied"],
        "camera.simulated, logging.level, retention.enabled, retention.max_age_days",
        "{reloaded}"
    );
    assert_eq!(
        reloaded["needs_restart"], "events.subscriber_buffer, server.max_connections",
        "{reloaded}"
    );
    let restart_keys: Vec<Value> = records(&svc)
        .into_iter()
        .filter(|r| r["msg"] == "changed configuration key needs a restart to take effect")
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(
        restart_keys,
        [
            json!("events.subscriber_buffer"),
            json!("server.max_connections")
        ]
    );
    // The service manager hears of the reload, then of its end.
    let (reloading, _) = sock
        .wait_for(ready + 1, 10.0, |m| m.has("RELOADING=1"))
        .expect("RELOADING=1 on SIGHUP");
    sock.wait_for(reloading + 1, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 after the reload");

    // Cameras: camera0 renamed, camera1 gone, camera2 new.
    let followed = cameras_until(&mut ws, 10.0, |cams| {
        let status = |d: &str| {
            cams.iter()
                .find(|c| c["device"] == d)
                .map(|c| (c["status"].clone(), c["name"].clone()))
        };
        status("camera0") == Some((json!("CONNECTED"), json!("Renamed Camera")))
            && status("camera1").is_none_or(|(s, _)| s != "CONNECTED")
            && status("camera2") == Some((json!("CONNECTED"), json!("Third Camera")))
    })
    .await;
    assert!(followed, "the camera list never followed the new config");
    // Retention: the new policy is in effect.
    let info = ws.ok("get_storage_info", Value::Null).await;
    assert_eq!(info["retention"]["enabled"], true, "{info}");
    assert_eq!(info["retention"]["max_age_days"], 7.0, "{info}");
}

#[tokio::test]
async fn sighup_changes_the_log_level_live() {
    let sock = NotifySocket::bind();
    let svc = TestService::builder()
        .env("NOTIFY_SOCKET", &sock.path())
        .start();
    let (ready, _) = sock
        .wait_for(0, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 arrives");
    let mut ws = svc.ws_as(Role::Viewer).await;
    let mut config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&svc.config_path).unwrap()).unwrap();
    config["logging"]["level"] = "warning".into();
    std::fs::write(&svc.config_path, serde_yaml::to_string(&config).unwrap()).unwrap();

    signal(&svc, Signal::SIGHUP);
    let (reloading, _) = sock
        .wait_for(ready + 1, 10.0, |m| m.has("RELOADING=1"))
        .expect("RELOADING=1 on SIGHUP");
    sock.wait_for(reloading + 1, 10.0, |m| m.has("READY=1"))
        .expect("READY=1 after the reload");

    // A camera plugged now is logged at info: no longer written. A bad descriptor after it
    // is logged at warning: written, and after anything logged before it.
    svc.plug_sim(5, "Quiet Camera");
    let plugged = cameras_until(&mut ws, 10.0, |cams| {
        cams.iter().any(|c| c["device"] == "camera5")
    })
    .await;
    assert!(plugged, "camera5 never appeared");
    std::fs::write(svc.dir.path().join("sim/broken.yaml"), "index: [").unwrap();
    record(&svc, "ignoring simulated camera descriptor", 10.0).await;
    let info_after = records(&svc)
        .into_iter()
        .filter(|r| r["msg"] == "camera connected" && r["camera"] == "camera5")
        .count();
    assert_eq!(
        info_after, 0,
        "info records are no longer written at level warning"
    );
}

#[tokio::test]
async fn sighup_with_a_broken_file_keeps_the_running_configuration() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    std::fs::write(&svc.config_path, "server: {port: not-a-port}\n").unwrap();

    signal(&svc, Signal::SIGHUP);

    let refused = record(
        &svc,
        "configuration not reloaded: the running one stays",
        10.0,
    )
    .await;
    assert!(
        refused["error"].as_str().unwrap_or("").contains("port"),
        "the error names the key: {refused}"
    );
    let list = ws.ok("get_camera_list", Value::Null).await;
    assert_eq!(list["connected"], 2, "{list}");
}

#[tokio::test]
async fn sighup_brings_a_new_jwt_secret_into_effect() {
    let svc = TestService::start();
    let old_token = svc.token(Role::Viewer, 3600);
    let new_secret = "a-brand-new-secret-a-brand-new-secret-0123";
    let mut config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&svc.config_path).unwrap()).unwrap();
    config["auth"]["jwt_secret"] = new_secret.into();
    std::fs::write(&svc.config_path, serde_yaml::to_string(&config).unwrap()).unwrap();

    signal(&svc, Signal::SIGHUP);
    let reloaded = record(&svc, "configuration reloaded", 10.0).await;
    assert_eq!(reloaded["applied"], "auth.jwt_secret", "{reloaded}");

    let mut ws = svc.ws().await;
    let r = ws
        .call("authenticate", json!({"auth_token": old_token}))
        .await;
    assert_eq!(
        r["error"]["code"], -32001,
        "the old secret's token is refused: {r}"
    );
    let fresh = cs_auth::JwtAuthority::new(new_secret.as_bytes()).issue(
        "tester",
        Role::Viewer,
        3600,
        cs_tests::service::now(),
    );
    let mut ws = svc.ws().await;
    let r = ws.call("authenticate", json!({"auth_token": fresh})).await;
    assert_eq!(r["result"]["authenticated"], true, "{r}");
}

/// Starts the binary with stdout to a file and `JOURNAL_STREAM` naming `stream` (a file's
/// `dev:ino`), format auto; returns what it printed once it listened.
fn journal_run(journal_matches: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "server: {{host: 127.0.0.1, port: 0}}\n\
             auth: {{jwt_secret: {secret}, keys_file: {d}/keys.json}}\n\
             storage: {{recordings_dir: {d}/rec, snapshots_dir: {d}/snap, state_dir: {d}/state, min_free_bytes: 1048576}}\n\
             media: {{mode: direct}}\n\
             logging: {{level: info, format: auto, audit_file: {d}/audit.log}}\n",
            secret = cs_tests::service::TEST_SECRET
        ),
    )
    .unwrap();
    let out_path = dir.path().join("stdout");
    let out = std::fs::File::create(&out_path).unwrap();
    let meta = out.metadata().unwrap();
    let stream = match journal_matches {
        true => format!("{}:{}", meta.dev(), meta.ino()),
        false => format!("{}:{}", meta.dev(), meta.ino() + 1),
    };
    let mut child = Command::new(binary())
        .env_remove("CAMERA_SERVICE_BIN")
        .env("JOURNAL_STREAM", stream)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("the service starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        if text.contains("listening") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    text
}

#[test]
fn under_the_journal_lines_have_priority_prefixes_and_no_timestamps() {
    let text = journal_run(true);
    let listening = text
        .lines()
        .find(|l| l.starts_with("<6>listening "))
        .unwrap_or_else(|| panic!("no journal line for listening:\n{text}"));
    assert!(listening.contains(" addr=127.0.0.1:"), "{listening}");
    for line in text.lines() {
        let prio = line
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .map(|(n, _)| n);
        assert!(
            matches!(prio, Some("2" | "3" | "4" | "6" | "7")),
            "every line starts with a syslog priority: {line:?}"
        );
        assert!(
            !line.contains("\"ts\"") && !line.contains(" ts="),
            "journald stamps the time itself: {line:?}"
        );
    }
}

#[test]
fn a_journal_stream_that_is_not_stdout_leaves_json_lines() {
    let text = journal_run(false);
    let first = text.lines().next().unwrap_or_default();
    let v: Value = serde_json::from_str(first)
        .unwrap_or_else(|e| panic!("stdout is not the journal: JSON lines expected ({e}): {text}"));
    assert!(v["ts"].is_string(), "{v}");
}
