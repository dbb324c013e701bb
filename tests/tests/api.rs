//! The foundation's contract, black-box: authentication, roles, errors, limits, hot-plug.

use base64::Engine;
use cs_tests::http;
use cs_tests::{TestService, WsClient};
use domain::{Method, Role};
use serde_json::{json, Value};

fn code(v: &Value) -> i64 {
    v["code"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn ping_needs_no_authentication() {
    let svc = TestService::start();
    let mut ws = svc.ws().await;
    assert_eq!(ws.ok("ping", Value::Null).await, "pong");
}

#[tokio::test]
async fn every_method_is_checked_against_every_role() {
    let svc = TestService::start();
    let mut anon = svc.ws().await;
    let mut by_role = Vec::new();
    for role in Role::ALL {
        by_role.push((role, svc.ws_as(role).await));
    }
    for &method in Method::ALL {
        if method == Method::Authenticate {
            continue;
        }
        let r = anon.call(method.name(), json!({})).await;
        match method.min_role() {
            None => assert!(
                r.get("error").is_none_or(|e| code(e) != -32001),
                "{} anonymous: {r}",
                method.name()
            ),
            Some(_) => {
                assert_eq!(
                    code(&r["error"]),
                    -32001,
                    "{} anonymous: {r}",
                    method.name()
                );
                assert_eq!(r["error"]["data"]["reason"], "auth_required");
            }
        }
        for (role, ws) in by_role.iter_mut() {
            let r = ws.call(method.name(), json!({})).await;
            let c = r.get("error").map(code).unwrap_or(0);
            match method.min_role() {
                Some(need) if !role.allows(need) => {
                    assert_eq!(c, -32002, "{} as {role}: {r}", method.name());
                    assert_eq!(r["error"]["data"]["required_role"], need.as_str());
                    assert_eq!(r["error"]["data"]["role"], role.as_str());
                }
                _ => assert!(
                    c != -32001 && c != -32002,
                    "{} as {role} must pass the role check: {r}",
                    method.name()
                ),
            }
        }
    }
}

#[tokio::test]
async fn authenticate_reports_role_permissions_and_expiry() {
    let svc = TestService::start();
    let mut ws = svc.ws().await;
    let token = svc.token(Role::Operator, 600);
    let r = ws.ok("authenticate", json!({"auth_token": token})).await;
    assert_eq!(r["role"], "operator");
    assert_eq!(r["permissions"], json!(["view", "control"]));
    assert!(r["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(r["session_id"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn bearer_header_on_the_upgrade_authenticates_the_connection() {
    let svc = TestService::start();
    let token = svc.token(Role::Viewer, 600);
    let mut ws = WsClient::connect(&svc.ws_url(), Some(&token)).await;
    assert_eq!(ws.ok("get_camera_list", Value::Null).await["total"], 2);
    let mut bad = WsClient::connect(&svc.ws_url(), Some("not-a-token")).await;
    let e = bad.err("get_camera_list", Value::Null).await;
    assert_eq!(
        (code(&e), e["data"]["reason"].clone()),
        (-32001, json!("invalid_token"))
    );
}

#[tokio::test]
async fn expired_token_mid_session_is_refused_until_reauthentication() {
    let svc = TestService::start();
    let mut ws = svc.ws().await;
    // A token that expires at the first whole second at least 300 ms away (JWT times are
    // whole seconds; the margin lets authenticate arrive first): the wait below is the time
    // to that instant (0.3 to 1.3 s), not a fixed 2.6 s.
    let now = cs_tests::service::now();
    let exp_ms = ((now.unix_millis() + 300) / 1000 + 1) * 1000;
    let issued = now.plus_millis(-60_000);
    let lifetime = (exp_ms / 1000 - issued.unix_secs()) as u64;
    let token = cs_auth::JwtAuthority::new(cs_tests::service::TEST_SECRET.as_bytes()).issue(
        "tester",
        Role::Viewer,
        lifetime,
        issued,
    );
    ws.ok("authenticate", json!({"auth_token": token})).await;
    ws.ok("get_camera_list", Value::Null).await;
    let left = exp_ms + 20 - cs_tests::service::now().unix_millis();
    tokio::time::sleep(std::time::Duration::from_millis(left.max(0) as u64)).await;
    let e = ws.err("get_camera_list", Value::Null).await;
    assert_eq!(code(&e), -32001);
    assert_eq!(e["data"]["reason"], "token_expired");
    assert!(ws.alive().await, "the connection stays open");
    ws.ok(
        "authenticate",
        json!({"auth_token": svc.token(Role::Viewer, 600)}),
    )
    .await;
    ws.ok("get_camera_list", Value::Null).await;
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn signed(claims: Value, alg: jsonwebtoken::Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_refused_without_dropping_the_connection() {
    let svc = TestService::builder()
        .config("logging: {audit_window_secs: 1}")
        .start();
    let now = cs_tests::service::now().unix_secs();
    let good = json!({"user_id": "mallory", "role": "admin", "iat": now, "exp": now + 600});
    let secret = cs_tests::service::TEST_SECRET.as_bytes();
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong secret",
            signed(
                good.clone(),
                hs256,
                b"another-secret-another-secret-another-secret",
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&good)
            ),
        ),
        (
            "HS512",
            signed(good.clone(), jsonwebtoken::Algorithm::HS512, secret),
        ),
        (
            "role root",
            signed(
                json!({"user_id": "m", "role": "root", "iat": now, "exp": now + 600}),
                hs256,
                secret,
            ),
        ),
        (
            "numeric user",
            signed(
                json!({"user_id": 42, "role": "admin", "iat": now, "exp": now + 600}),
                hs256,
                secret,
            ),
        ),
        (
            "missing role",
            signed(
                json!({"user_id": "m", "iat": now, "exp": now + 600}),
                hs256,
                secret,
            ),
        ),
        (
            "exp as text",
            signed(
                json!({"user_id": "m", "role": "admin", "iat": now, "exp": "later"}),
                hs256,
                secret,
            ),
        ),
        ("garbage", "abc.def".to_owned()),
        (
            "unknown key",
            "csk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".to_owned(),
        ),
    ];
    let mut ws = svc.ws().await;
    for (what, token) in cases {
        let e = ws.err("authenticate", json!({"auth_token": token})).await;
        assert_eq!(code(&e), -32001, "{what}: {e}");
        assert_eq!(e["data"]["reason"], "invalid_token", "{what}: {e}");
        assert!(ws.alive().await, "{what}: connection dropped");
        let e = ws.err("get_camera_list", Value::Null).await;
        assert_eq!(code(&e), -32001, "{what}: still unauthenticated");
    }
    let expired = signed(
        json!({"user_id": "m", "role": "admin", "iat": now - 100, "exp": now - 10}),
        hs256,
        secret,
    );
    let e = ws.err("authenticate", json!({"auth_token": expired})).await;
    assert_eq!(e["data"]["reason"], "token_expired");
    // Denials of one peer are written once per window, the rest counted in an aggregated
    // record when the window (1 s here) is over.
    let audited = || {
        svc.audit()
            .iter()
            .filter(|r| r["event"] == "auth_failure")
            .map(|r| r["count"].as_u64().unwrap_or(1))
            .sum::<u64>()
    };
    let failures = TestService::eventually(10.0, || async {
        let n = audited();
        (n >= 10).then_some(n)
    })
    .await;
    assert!(
        failures.is_some(),
        "auth failures are audited ({})",
        audited()
    );
}

#[tokio::test]
async fn revoked_api_key_is_refused_on_the_next_call() {
    let svc = TestService::start();
    let out = svc.cli(&["keys", "add", "--role", "operator", "--label", "ci"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("csk_"));
    let mut ws = svc.ws().await;
    let r = ws.ok("authenticate", json!({"auth_token": key})).await;
    assert_eq!(
        (r["role"].clone(), r["expires_at"].clone()),
        (json!("operator"), Value::Null)
    );
    ws.ok("get_camera_list", Value::Null).await;
    let listed: Value = serde_json::from_slice(&svc.cli(&["keys", "list"]).stdout).unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    assert!(
        !std::fs::read_to_string(svc.dir.path().join("api-keys.json"))
            .unwrap()
            .contains(&key)
    );
    assert!(svc.cli(&["keys", "revoke", &id]).status.success());
    let e = ws.err("get_camera_list", Value::Null).await;
    assert_eq!(
        (code(&e), e["data"]["reason"].clone()),
        (-32001, json!("key_revoked"))
    );
    let e = ws.err("authenticate", json!({"auth_token": key})).await;
    assert_eq!(e["data"]["reason"], "key_revoked");
}

#[tokio::test]
async fn malformed_requests_get_the_documented_codes() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    ws.send_text("{not json").await;
    assert_eq!(code(&ws.recv_answer(5.0).await.unwrap()["error"]), -32700);
    ws.send_text(r#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#)
        .await;
    assert_eq!(code(&ws.recv_answer(5.0).await.unwrap()["error"]), -32600);
    ws.send_text(r#"{"jsonrpc":"2.0","id":8}"#).await;
    assert_eq!(code(&ws.recv_answer(5.0).await.unwrap()["error"]), -32600);
    let e = ws.err("launch_rockets", json!({})).await;
    assert_eq!(code(&e), -32601);
    assert!(e["data"]["details"]
        .as_str()
        .unwrap()
        .contains("launch_rockets"));
    let invalid = [
        ("get_camera_status", json!({"device": 0})),
        ("get_camera_status", json!({"device": "/dev/video0"})),
        ("get_camera_status", json!({"device": "camera1000"})),
        (
            "get_camera_status",
            json!({"device": "camera0", "verbose": true}),
        ),
        ("get_camera_status", json!("camera0")),
        (
            "take_snapshot",
            json!({"device": "camera0", "quality": 500}),
        ),
        (
            "take_snapshot",
            json!({"device": "camera0", "filename": "../etc/passwd"}),
        ),
        ("list_recordings", json!({"limit": "ten"})),
        ("get_recording_info", json!({"filename": "a/b"})),
        ("delete_snapshot", json!({"filename": "%2e%2e"})),
        ("delete_recording", json!({"filename": ".."})),
        ("subscribe_events", json!({"topics": ["camera.exploded"]})),
    ];
    for (m, p) in invalid {
        let e = ws.err(m, p.clone()).await;
        assert_eq!(code(&e), -32602, "{m} {p}: {e}");
        assert!(
            e["data"]["details"].as_str().is_some_and(|d| !d.is_empty()),
            "{m}: {e}"
        );
    }
    let e = ws
        .err("get_camera_status", json!({"device": "camera9"}))
        .await;
    assert_eq!(code(&e), -32000);
    assert_eq!(e["data"]["available"], json!(["camera0", "camera1"]));
    assert!(ws.alive().await);
}

#[tokio::test]
async fn notifications_are_executed_but_never_answered() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    ws.send_text(r#"{"jsonrpc":"2.0","method":"ping"}"#).await;
    ws.send_text(r#"{"jsonrpc":"2.0","method":"get_camera_list"}"#)
        .await;
    assert_eq!(
        ws.ok("ping", Value::Null).await,
        "pong",
        "the first answer is for the call with an id"
    );
}

#[tokio::test]
async fn batches_authorise_each_entry_and_hold_at_most_ten() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    ws.send_text(
        json!([
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "id": 2, "method": "get_camera_list"},
            {"jsonrpc": "2.0", "id": 3, "method": "get_metrics"},
            {"jsonrpc": "2.0", "id": 4, "method": "take_snapshot", "params": {"device": "camera0"}},
            {"jsonrpc": "2.0", "method": "ping"}
        ])
        .to_string(),
    )
    .await;
    let answers = ws.recv_answer(10.0).await.unwrap();
    let by_id = |id: i64| {
        answers
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        answers.as_array().unwrap().len(),
        4,
        "the notification is not answered: {answers}"
    );
    assert_eq!(by_id(1)["result"], "pong");
    assert_eq!(by_id(2)["result"]["total"], 2);
    assert_eq!(code(&by_id(3)["error"]), -32002);
    assert_eq!(code(&by_id(4)["error"]), -32002);
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    ws.send_text(Value::Array(eleven).to_string()).await;
    let a = ws.recv_answer(10.0).await.unwrap();
    assert_eq!(code(&a["error"]), -32600, "{a}");
    assert!(ws.alive().await);
}

#[tokio::test]
async fn oversized_messages_are_refused_and_the_connection_survives() {
    let svc = TestService::builder()
        .config("server: {max_message_bytes: 4096}")
        .start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    let big = json!({"jsonrpc": "2.0", "id": 99, "method": "ping", "params": {"pad": "x".repeat(10_000)}});
    ws.send_text(big.to_string()).await;
    let a = ws
        .recv_answer(10.0)
        .await
        .expect("an answer to the oversized message");
    assert!(a.get("error").is_some(), "{a}");
    assert!(ws.alive().await);
}

#[tokio::test]
async fn rate_limit_answers_retry_after_then_recovers() {
    let svc = TestService::builder()
        .config("auth: {rate_per_second: 5, rate_burst: 5}")
        .start();
    let mut ws = svc.ws().await;
    let mut limited = None;
    for _ in 0..20 {
        let r = ws.call("ping", Value::Null).await;
        if r.get("error").is_some() {
            limited = Some(r["error"].clone());
            break;
        }
    }
    let e = limited.expect("the 20 quick calls hit the limit");
    assert_eq!(code(&e), -32040);
    let wait = e["data"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!(wait > 0 && wait <= 1000, "{e}");
    tokio::time::sleep(std::time::Duration::from_millis(wait + 20)).await;
    assert_eq!(ws.ok("ping", Value::Null).await, "pong");
    assert!(svc.audit().iter().any(|r| r["event"] == "rate_limited"));
}

#[tokio::test]
async fn hot_plugged_simulated_camera_appears_and_disappears() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    svc.plug_sim(5, "Porch");
    let mut found = None;
    for _ in 0..250 {
        let list = ws.ok("get_camera_list", Value::Null).await;
        let cams = list["cameras"].as_array().cloned().unwrap_or_default();
        found = cams
            .into_iter()
            .find(|c| c["device"] == "camera5" && c["status"] == "CONNECTED");
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found.expect("camera5 listed")["name"], "Porch");
    svc.unplug_sim(5);
    let mut status = Value::Null;
    for _ in 0..250 {
        status = ws
            .ok("get_camera_status", json!({"device": "camera5"}))
            .await["status"]
            .clone();
        if status == "DISCONNECTED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "DISCONNECTED");
}

#[tokio::test]
async fn camera_status_and_capabilities_describe_the_simulated_camera() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    let caps = ws
        .ok("get_camera_capabilities", json!({"device": "camera1"}))
        .await;
    assert_eq!(caps["card"], "Simulated Camera 1");
    assert_eq!(caps["formats"][0]["pixel_format"], "YUYV");
    assert_eq!(caps["resolutions"], json!(["1280x720", "640x480"]));
    assert_eq!(caps["frame_rates"], json!([30.0, 15.0]));
    assert_eq!(
        caps["current"],
        json!({"pixel_format": "YUYV", "width": 1280, "height": 720, "fps": 30.0})
    );
    let status = ws
        .ok("get_camera_status", json!({"device": "camera1"}))
        .await;
    assert_eq!(status["resolution"], "1280x720");
    assert_eq!(status["capabilities"], caps);
    let text = status.to_string();
    assert!(!text.contains("/dev/"), "device paths never appear: {text}");
}

#[tokio::test]
async fn server_info_lists_every_method() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    let info = ws.ok("get_server_info", Value::Null).await;
    let methods: Vec<&str> = info["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    for m in Method::ALL {
        assert!(methods.contains(&m.name()), "{}", m.name());
    }
    assert_eq!(info["name"], "camera-service");
    let status = ws.ok("get_status", Value::Null).await;
    for c in ["api", "camera_monitor", "media_server", "storage"] {
        assert!(
            status["components"][c]["status"].is_string(),
            "{c}: {status}"
        );
    }
}

#[tokio::test]
async fn health_endpoints_answer_and_other_paths_are_404() {
    let svc = TestService::start();
    let live = http::get(svc.addr, "/health/live", &[]).await;
    assert_eq!(
        (live.status, live.json()),
        (200, json!({"status": "alive"}))
    );
    let ready = http::get(svc.addr, "/health/ready", &[]).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["ready"], true);
    let health = http::get(svc.addr, "/health", &[]).await;
    assert_eq!(health.json()["status"], "HEALTHY");
    assert_eq!(http::get(svc.addr, "/nope", &[]).await.status, 404);
    assert_eq!(http::get(svc.addr, "/ws", &[]).await.status, 426);
}

#[tokio::test]
async fn the_call_command_prints_the_camera_list() {
    let svc = TestService::start();
    let token = svc.token(Role::Viewer, 600);
    let out = svc.cli(&[
        "call",
        "get_camera_list",
        "--url",
        &svc.ws_url(),
        "--token",
        &token,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["device"].as_str())
        .collect();
    assert_eq!(ids, ["camera0", "camera1"]);
    let out = svc.cli(&[
        "call",
        "get_camera_status",
        "{\"device\": 5}",
        "--url",
        &svc.ws_url(),
        "--token",
        &token,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("-32602"));
}

#[tokio::test]
async fn state_changing_calls_and_denials_are_audited() {
    let svc = TestService::start();
    let mut viewer = svc.ws_as(Role::Viewer).await;
    viewer
        .err("take_snapshot", json!({"device": "camera0"}))
        .await;
    let mut admin = svc.ws_as(Role::Admin).await;
    admin
        .call("set_retention_policy", json!({"enabled": false}))
        .await;
    let audit = svc.audit();
    assert!(audit
        .iter()
        .any(|r| r["event"] == "permission_denied" && r["method"] == "take_snapshot"));
    assert!(audit
        .iter()
        .any(|r| r["event"] == "call" && r["method"] == "set_retention_policy"));
    assert!(audit.iter().any(|r| r["event"] == "auth_success"));
}
