//! The first minutes of a new user (issue #10): startup ordering, the environment rule, the
//! CLI's help and messages, as the binary serves them.

use cs_tests::TestService;
use domain::Role;
use serde_json::{json, Value};

/// `camera.simulated` listing `n` cameras, camera0..camera<n-1>.
fn simulated(n: u16) -> String {
    let list: Vec<String> = (0..n)
        .map(|i| format!("{{index: {i}, name: \"Cam {i}\"}}"))
        .collect();
    format!("camera: {{simulated: [{}]}}", list.join(", "))
}

#[tokio::test]
async fn the_service_listens_only_once_the_configured_cameras_are_registered() {
    let svc = TestService::builder().config(&simulated(120)).start();
    // Nothing waited for: the first call after the "listening" line sees every camera.
    let mut ws = svc.ws_as(Role::Viewer).await;
    let list = ws.ok("get_camera_list", Value::Null).await;
    assert_eq!(list["total"], 120, "{list}");
    assert_eq!(list["connected"], 120, "{list}");
    // And the log says so in that order.
    let logs = svc.logs();
    let listening = logs
        .iter()
        .position(|l| l.contains("\"msg\":\"listening\""))
        .expect("a listening line");
    let last_camera = logs
        .iter()
        .rposition(|l| l.contains("\"msg\":\"camera connected\""))
        .expect("camera lines");
    assert!(
        last_camera < listening,
        "a camera was registered after the service listened"
    );
}

/// The binary with `args`, `env` added and every other `CAMERA_SERVICE_*` variable removed.
fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(cs_tests::service::binary());
    for (k, _) in std::env::vars() {
        if k.starts_with("CAMERA_SERVICE_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd.output().expect("the CLI runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn the_tools_own_variables_are_not_configuration() {
    let svc = TestService::start();
    let config = svc.config_path.to_str().unwrap();
    let tools = [
        ("CAMERA_SERVICE_TOKEN", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
        ("CAMERA_SERVICE_DEMO_PORT", "8010"),
        ("CAMERA_SERVICE_DEMO_DIR", "/tmp/somewhere"),
        ("CAMERA_SERVICE_BIN", "/usr/bin/false"),
    ];
    for (var, value) in tools {
        for args in [
            vec!["--config", config, "serve", "--print-config"],
            vec!["--config", config, "token", "--role", "admin"],
            vec!["--config", config, "keys", "list"],
        ] {
            let out = cli(&args, &[(var, value)]);
            assert!(
                out.status.success(),
                "{var}={value} {args:?}: {}",
                text(&out.stderr)
            );
        }
    }
    // CAMERA_SERVICE_CONFIG names the file, as --config does.
    let out = cli(
        &["serve", "--print-config"],
        &[("CAMERA_SERVICE_CONFIG", config)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("public_host: camera.test"),
        "{}",
        text(&out.stdout)
    );
    // A section's unknown key is still refused, by name.
    let out = cli(
        &["--config", config, "serve", "--print-config"],
        &[("CAMERA_SERVICE_SERVER_PROT", "1")],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("CAMERA_SERVICE_SERVER_PROT"));
}

#[test]
fn call_help_lists_every_method_of_the_registry() {
    let out = cli(&["call", "--help"], &[]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for m in domain::Method::ALL {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", m.name())))
            .unwrap_or_else(|| panic!("{} is not listed:\n{help}", m.name()));
        let role = m.min_role().map(Role::as_str).unwrap_or("none");
        assert!(line.contains(role), "{line}");
    }
}

#[test]
fn bad_cli_values_get_clear_messages() {
    let out = cli(&["token", "--role", "boss"], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("viewer, operator, admin"), "{err}");
    let help = text(&cli(&["token", "--help"], &[]).stdout);
    assert!(help.contains("viewer, operator, admin"), "{help}");

    let out = cli(&["token", "--lifetime", "-5m"], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("-5m") && err.contains("negative"), "{err}");
}

#[test]
fn token_and_keys_say_which_config_and_secret_they_used() {
    let svc = TestService::start();
    let config = svc.config_path.to_str().unwrap();
    let out = cli(&["--config", config, "token"], &[]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(config) && err.contains("auth.jwt_secret"),
        "{err}"
    );
    let out = cli(&["--config", config, "keys", "list"], &[]);
    let err = text(&out.stderr);
    assert!(
        err.contains("api-keys.json") && err.contains(config),
        "{err}"
    );
}

#[test]
fn a_token_of_another_secret_gets_a_hint_to_give_the_config() {
    let svc = TestService::start();
    // Another installation's config: its own secret.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        format!(
            "auth: {{jwt_secret_file: {d}/secret, keys_file: {d}/keys.json}}\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let out = cli(
        &[
            "--config",
            other.to_str().unwrap(),
            "call",
            "get_camera_list",
            "--url",
            &svc.ws_url(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("signature does not match") && err.contains("--config"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}/secret", dir.path().display())),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_param_is_named_in_the_error() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    let e = ws
        .err(
            "start_recording",
            json!({"device": "camera0", "duration": "ten"}),
        )
        .await;
    let details = e["data"]["details"].as_str().unwrap();
    assert!(details.starts_with("duration: "), "{e}");
    assert_eq!(e["data"]["param"], "duration");
    let e = ws
        .err("set_retention_policy", json!({"max_age_days": -1}))
        .await;
    assert_eq!(e["data"]["details"], "max_age_days: must be > 0, got -1");
}

#[tokio::test]
async fn call_subscribe_events_prints_each_event_as_a_json_line() {
    use std::io::BufRead;
    let svc = TestService::start();
    let token = svc.token(Role::Viewer, 600);
    let mut child = std::process::Command::new(cs_tests::service::binary())
        .args([
            "call",
            "subscribe_events",
            r#"{"topics": ["camera.*"]}"#,
            "--url",
            &svc.ws_url(),
            "--token",
            &token,
        ])
        .env_remove("CAMERA_SERVICE_BIN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the CLI starts");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let (etx, erx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = etx.send(line);
        }
    });
    // Subscribed once the id is told.
    let note = erx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the subscription id on stderr");
    assert!(note.contains("subscription"), "{note}");
    for (i, index) in [5u16, 6].into_iter().enumerate() {
        svc.plug_sim(index, "Followed");
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("event {i} was not printed"));
        let event: Value = serde_json::from_str(&line).expect("one JSON value per line");
        assert_eq!(event["topic"], "camera.connected", "{line}");
        assert_eq!(event["device"], format!("camera{index}"), "{line}");
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "it follows until stopped"
    );
    // Ctrl-C ends it cleanly.
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        status.is_some_and(|s| s.success()),
        "Ctrl-C ends it with success: {status:?}"
    );
}

/// `get_server_info` of a fresh viewer connection.
async fn server_info(svc: &TestService) -> Value {
    svc.ws_as(Role::Viewer)
        .await
        .ok("get_server_info", Value::Null)
        .await
}

#[tokio::test]
async fn server_info_reports_both_modes_and_only_what_works_now() {
    // auto, with nothing answering at the MediaMTX address: direct, no streams.
    let closed = cs_tests::mediamtx::free_port();
    let svc = TestService::builder()
        .config(&format!(
            "media: {{mode: auto}}\nmediamtx: {{api_url: 'http://127.0.0.1:{closed}', reconcile_secs: 1, request_timeout_ms: 300}}"
        ))
        .start();
    let info = server_info(&svc).await;
    assert_eq!(info["media_mode"], "direct", "{info}");
    assert_eq!(info["configured_media_mode"], "auto", "{info}");
    let caps: Vec<&str> = info["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!caps.contains(&"streams"), "{info}");
    assert!(caps.contains(&"snapshots"), "{info}");
    let mut ws = svc.ws_as(Role::Operator).await;
    let e = ws
        .err("start_streaming", json!({"device": "camera0"}))
        .await;
    assert_eq!(e["code"], -32050, "streams do not work: {e}");

    // With MediaMTX serving, streams are offered.
    let fake = fakemtx::FakeMediamtx::start().await.expect("fake MediaMTX");
    let svc = TestService::builder()
        .config(&format!(
            "media: {{mode: auto}}\nmediamtx: {{api_url: '{}', reconcile_secs: 1, request_timeout_ms: 500, rtsp_port: {}}}",
            fake.api_url(),
            fake.rtsp_port()
        ))
        .start();
    let info = TestService::eventually(20.0, || async {
        let info = server_info(&svc).await;
        (info["media_mode"] == "mediamtx").then_some(info)
    })
    .await
    .expect("MediaMTX is found");
    assert_eq!(info["configured_media_mode"], "auto");
    assert!(
        info["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("streams")),
        "{info}"
    );
}

#[tokio::test]
async fn files_without_credentials_get_an_http_401() {
    let svc = TestService::start();
    let r = cs_tests::http::get(svc.addr, "/files/snapshots/camera0_x.jpg", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let details = r.json()["error"]["data"]["details"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        details.contains("Authorization: Bearer") && !details.contains("authenticate first"),
        "{details}"
    );
}

#[tokio::test]
async fn successive_snapshots_of_a_simulated_camera_show_its_running_clock() {
    let svc = TestService::builder()
        .config("camera: {simulated: [{index: 0, name: Bars, pattern: smptebars, resolutions: [320x240]}]}")
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let mut pictures = Vec::new();
    for _ in 0..2 {
        let r = ws
            .ok(
                "take_snapshot",
                json!({"device": "camera0", "format": "png"}),
            )
            .await;
        let name = r["filename"].as_str().expect("a filename").to_owned();
        let bytes = std::fs::read(svc.dir.path().join("snapshots").join(&name)).unwrap();
        pictures.push(bytes);
    }
    assert_ne!(
        pictures[0], pictures[1],
        "two snapshots of a live camera are two pictures"
    );
}
