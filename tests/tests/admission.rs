//! The one admission step, entry point by entry point (black-box): a JSON-RPC call, each
//! entry of a batch, the subscription pair and an HTTP download all pass the same checks —
//! rate limit, authentication (expiry, revocation), role — with every denial in the audit
//! log and every request in the metrics. MQTT commands pass them through an internal
//! session: `tests/tests/mqtt.rs` (`commands_obey_the_configured_role_and_the_rate_limit`).
//!
//! The rate is tiny (0.05 per second, a burst of 3) so a bucket emptied by the test stays
//! empty for the rest of it: no test waits for a refill.

use cs_tests::{http, service::TEST_SECRET, TestService, WsClient};
use domain::Role;
use serde_json::{json, Value};

const TIGHT: &str = "auth: {rate_per_second: 0.05, rate_burst: 3}";

fn code(v: &Value) -> i64 {
    v["code"].as_i64().unwrap_or(0)
}

fn audited(svc: &TestService, event: &str, field: &str, value: &str) -> bool {
    svc.audit()
        .iter()
        .any(|r| r["event"] == event && r[field] == value)
}

/// A viewer API key (the CLI prints it once) and its id.
fn viewer_key(svc: &TestService) -> (String, String) {
    let out = svc.cli(&["keys", "add", "--role", "viewer", "--label", "admission"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let listed: Value = serde_json::from_slice(&svc.cli(&["keys", "list"]).stdout).unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    (key, id)
}

/// `requests.by_method.<method>.count` of `get_metrics`, asked on a fresh admin connection.
async fn calls_counted(svc: &TestService, method: &str) -> u64 {
    let mut admin = svc.ws_as(Role::Admin).await;
    let m = admin.ok("get_metrics", Value::Null).await;
    m["requests"]["by_method"][method]["count"]
        .as_u64()
        .unwrap_or(0)
}

async fn batch(ws: &mut WsClient, entries: Value) -> Vec<Value> {
    ws.send_text(entries.to_string()).await;
    let answer = ws.recv_answer(20.0).await.expect("the batch is answered");
    answer.as_array().expect("a batch answer").clone()
}

#[tokio::test]
async fn a_call_is_rate_limited_role_checked_revocation_checked_and_counted() {
    let svc = TestService::builder().config(TIGHT).start();
    let (key, key_id) = viewer_key(&svc);

    // Role: a viewer may not record; the denial is audited.
    let mut viewer = svc.ws().await;
    viewer.ok("authenticate", json!({"auth_token": key})).await;
    let e = viewer
        .err("start_recording", json!({"device": "camera0"}))
        .await;
    assert_eq!(e["data"]["reason"], "insufficient_role", "{e}");
    assert!(audited(
        &svc,
        "permission_denied",
        "method",
        "start_recording"
    ));

    // Revocation: the next call of the session is refused, and the refusal audited.
    assert!(svc.cli(&["keys", "revoke", &key_id]).status.success());
    let e = viewer.err("get_camera_list", Value::Null).await;
    assert_eq!(
        (code(&e), e["data"]["reason"].clone()),
        (-32001, json!("key_revoked"))
    );
    assert!(audited(&svc, "auth_failure", "reason", "key_revoked"));

    // Rate limit: the burst is spent (authenticate, start_recording, get_camera_list).
    let e = viewer.err("ping", Value::Null).await;
    assert_eq!(code(&e), -32040, "{e}");
    assert!(audited(&svc, "rate_limited", "via", "ws"));

    // Metrics: the refused calls are counted under their methods.
    assert!(calls_counted(&svc, "start_recording").await >= 1);
}

#[tokio::test]
async fn every_entry_of_a_batch_is_admitted_on_its_own() {
    let svc = TestService::builder().config(TIGHT).start();
    let mut viewer = svc.ws().await;
    let token = svc.token(Role::Viewer, 600);
    let answers = batch(
        &mut viewer,
        json!([
            {"jsonrpc": "2.0", "id": 1, "method": "authenticate", "params": {"auth_token": token}},
            {"jsonrpc": "2.0", "id": 2, "method": "stop_recording", "params": {"device": "camera0"}},
            {"jsonrpc": "2.0", "id": 3, "method": "ping"},
            {"jsonrpc": "2.0", "id": 4, "method": "ping"},
        ]),
    )
    .await;
    let by_id = |id: i64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("entry {id} answered: {answers:?}"))
    };
    assert_eq!(by_id(1)["result"]["authenticated"], true);
    assert_eq!(by_id(2)["error"]["data"]["reason"], "insufficient_role");
    assert_eq!(by_id(3)["result"], "pong");
    assert_eq!(
        code(&by_id(4)["error"]),
        -32040,
        "the fourth entry is over the burst"
    );
    assert!(audited(
        &svc,
        "permission_denied",
        "method",
        "stop_recording"
    ));
    assert!(audited(&svc, "rate_limited", "method", "ping"));
    assert!(calls_counted(&svc, "stop_recording").await >= 1);
}

#[tokio::test]
async fn subscriptions_pass_the_same_checks_and_are_counted() {
    let svc = TestService::builder().config(TIGHT).start();

    // Authentication: no subscription without it.
    let mut anonymous = svc.ws().await;
    let e = anonymous
        .err("subscribe_events", json!({"topics": ["camera.connected"]}))
        .await;
    assert_eq!(code(&e), -32001, "{e}");

    // Role: recording events are for operators; the denial is audited.
    let (key, key_id) = viewer_key(&svc);
    let mut viewer = svc.ws().await;
    viewer.ok("authenticate", json!({"auth_token": key})).await;
    let e = viewer
        .err("subscribe_events", json!({"topics": ["recording.start"]}))
        .await;
    assert_eq!(e["data"]["reason"], "insufficient_role", "{e}");
    assert!(audited(
        &svc,
        "permission_denied",
        "method",
        "subscribe_events"
    ));

    // Revocation: refused on the next subscribe, and audited.
    assert!(svc.cli(&["keys", "revoke", &key_id]).status.success());
    let e = viewer
        .err("subscribe_events", json!({"topics": ["camera.connected"]}))
        .await;
    assert_eq!(e["data"]["reason"], "key_revoked", "{e}");
    assert!(audited(&svc, "auth_failure", "method", "subscribe_events"));

    // Rate limit: the burst is spent (authenticate and two subscribes).
    let e = viewer
        .err("unsubscribe_events", json!({"subscription": 1}))
        .await;
    assert_eq!(code(&e), -32040, "{e}");
    assert!(audited(
        &svc,
        "rate_limited",
        "method",
        "unsubscribe_events"
    ));

    // Metrics: the pair is counted like any method.
    let mut member = svc.ws_as(Role::Viewer).await;
    let sub = member
        .ok("subscribe_events", json!({"topics": ["camera.connected"]}))
        .await;
    member
        .ok("unsubscribe_events", json!({"subscription": sub}))
        .await;
    assert!(calls_counted(&svc, "subscribe_events").await >= 4);
    assert!(calls_counted(&svc, "unsubscribe_events").await >= 2);
}

#[tokio::test]
async fn a_download_is_rate_limited_per_address_credential_checked_audited_and_counted() {
    let svc = TestService::builder().config(TIGHT).start();
    let dir = svc.dir.path().join("snapshots");
    std::fs::write(
        dir.join("camera0_admission.jpg"),
        [0xFFu8, 0xD8, 0xFF, 0xD9],
    )
    .unwrap();
    let path = "/files/snapshots/camera0_admission.jpg";

    // An expired credential is refused (401) and audited.
    let past = cs_tests::service::now().plus_millis(-3_600_000);
    let expired =
        cs_auth::JwtAuthority::new(TEST_SECRET.as_bytes()).issue("tester", Role::Viewer, 60, past);
    let r = http::get(
        svc.addr,
        path,
        &[("Authorization", &format!("Bearer {expired}"))],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(audited(&svc, "auth_failure", "via", "http"));

    // A viewer gets the file; the download is audited.
    let viewer = format!("Bearer {}", svc.token(Role::Viewer, 600));
    let r = http::get(svc.addr, path, &[("Authorization", &viewer)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(audited(&svc, "download", "user", "tester"));

    // Rate limit per address: the burst (3) is spent, the next request is 429, audited.
    let r = http::get(svc.addr, path, &[("Authorization", &viewer)]).await;
    assert_eq!(r.status, 200);
    let r = http::get(svc.addr, path, &[("Authorization", &viewer)]).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.json()["error"]["data"]["retry_after_ms"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    assert!(audited(&svc, "rate_limited", "via", "http"));

    // Metrics: served and refused downloads are counted.
    let text = http::get(svc.addr, "/metrics", &[]).await.text();
    let count = |outcome: &str| {
        let prefix = format!("camera_service_downloads_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{prefix} in /metrics"))
    };
    assert_eq!(count("ok"), 2.0);
    assert_eq!(count("error"), 2.0);
}
