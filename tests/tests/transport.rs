//! The transport's promises against the real service: events published before a stop reach
//! every subscriber before the 1001 close (issue #19 item 3); no event after the credential
//! ends (issue #11 item 4); the subscription cap (issue #11 item 6).

use std::time::Duration;

use cs_tests::TestService;
use domain::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn every_recording_stop_reaches_the_subscriber_before_the_going_away_close() {
    let svc = TestService::start();
    svc.plug_sim(2, "Third");
    let mut op = svc.ws_as(Role::Operator).await;
    let mut ready = false;
    for _ in 0..200 {
        let r = op.call("get_camera_list", Value::Null).await;
        if r["result"]["connected"] == 3 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "three cameras connected");

    let (mut sub, _) = tokio_tungstenite::connect_async(svc.ws_url())
        .await
        .expect("upgrade");
    let token = svc.token(Role::Operator, 3600);
    for (id, method, params) in [
        (1, "authenticate", json!({"auth_token": token})),
        (2, "subscribe_events", json!({"topics": ["recording.*"]})),
    ] {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        sub.send(Message::text(req.to_string()))
            .await
            .expect("sent");
        loop {
            let Message::Text(t) = sub.next().await.expect("frame").expect("frame") else {
                continue;
            };
            let v: Value = serde_json::from_str(&t).expect("JSON");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{v}");
                break;
            }
        }
    }
    for cam in ["camera0", "camera1", "camera2"] {
        op.ok("start_recording", json!({"device": cam})).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(svc.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM is sent");

    let mut stops = Vec::new();
    let code = loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("closed within 30 s");
        match msg {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                let r = &v["params"]["result"];
                // A recording stopped before ffmpeg wrote its first frame (a loaded box)
                // ends with recording.error: its ending event must arrive all the same.
                if r["topic"] == "recording.stop" || r["topic"] == "recording.error" {
                    stops.push(r["device"].as_str().unwrap_or_default().to_owned());
                }
            }
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("a close frame, not {other:?}"),
        }
    };
    assert_eq!(code, Some(1001));
    stops.sort();
    assert_eq!(
        stops,
        ["camera0", "camera1", "camera2"],
        "every recording's ending event before the close; service logs:\n{}",
        svc.logs().join("\n")
    );
}

#[tokio::test]
async fn an_expired_token_ends_subscriptions_with_a_last_notification() {
    let svc = TestService::start();
    let mut ws = svc.ws().await;
    let token = svc.token(Role::Viewer, 2);
    ws.ok("authenticate", json!({"auth_token": token})).await;
    let sub = ws
        .ok("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
    let last = ws
        .notification(20.0)
        .await
        .expect("a notification when the token expires");
    assert_eq!(last["method"], "subscription_ended", "{last}");
    assert_eq!(last["params"]["subscription"], sub, "{last}");
    assert_eq!(
        last["params"]["result"]["reason"], "token_expired",
        "{last}"
    );
    // A camera event now reaches nobody on this connection.
    svc.plug_sim(5, "Late");
    assert!(
        ws.notification(2.0).await.is_none(),
        "no event after the credential ended"
    );
}

#[tokio::test]
async fn a_revoked_api_key_ends_subscriptions_before_the_next_event() {
    let svc = TestService::start();
    let out = svc.cli(&["keys", "add", "--role", "viewer", "--label", "watcher"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut ws = svc.ws().await;
    ws.ok("authenticate", json!({"auth_token": key})).await;
    let sub = ws
        .ok("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
    svc.plug_sim(5, "Before");
    let before = ws
        .notification(20.0)
        .await
        .expect("an event while the key is valid");
    assert_eq!(before["method"], "camera_status_update", "{before}");

    let listed: Value = serde_json::from_slice(&svc.cli(&["keys", "list"]).stdout).unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    assert!(svc.cli(&["keys", "revoke", &id]).status.success());
    // The next event is not delivered: the subscription ends instead, saying why.
    svc.plug_sim(6, "After");
    let last = ws
        .notification(20.0)
        .await
        .expect("a notification once the key is revoked");
    assert_eq!(last["method"], "subscription_ended", "{last}");
    assert_eq!(last["params"]["subscription"], sub, "{last}");
    assert_eq!(last["params"]["result"]["reason"], "key_revoked", "{last}");
    svc.plug_sim(7, "Later");
    assert!(
        ws.notification(2.0).await.is_none(),
        "no event after the key was revoked"
    );
}

#[tokio::test]
async fn subscriptions_past_the_cap_are_refused_naming_the_limit() {
    let svc = TestService::builder()
        .config("server: {max_subscriptions: 2}")
        .start();
    let mut ws = svc.ws_as(Role::Viewer).await;
    ws.ok("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
    let second = ws
        .ok("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
    let e = ws
        .err("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
    assert_eq!(e["code"], -32020, "{e}");
    assert_eq!(e["data"]["reason"], "subscription_limit", "{e}");
    assert_eq!(e["data"]["max_subscriptions"], 2, "{e}");
    ws.ok("unsubscribe_events", json!([second])).await;
    ws.ok("subscribe_events", json!({"topics": ["camera.*"]}))
        .await;
}
