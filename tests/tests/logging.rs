//! Logs, black-box: JSON lines on stdout and the audit file, with correlation ids.
//! (The `tracing` bridge for jsonrpsee's own logs is unit-tested in `app::tracing_bridge`.)

use cs_tests::TestService;
use domain::Role;
use serde_json::{json, Value};

fn records(svc: &TestService) -> Vec<Value> {
    svc.logs()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn every_line_of_a_request_carries_its_connection_and_request_ids() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;

    ws.ok("start_recording", json!({"device": "camera0"})).await;
    ws.ok("stop_recording", json!({"device": "camera0"})).await;

    let started = TestService::eventually(10.0, || async {
        records(&svc)
            .into_iter()
            .find(|r| r["msg"] == "recording started")
    })
    .await
    .expect("the media component logs the start");
    // Logged by the media component's own logger, inside the request.
    assert!(started["conn"].is_u64(), "{started}");
    assert!(started["req"].is_u64(), "{started}");
    let audit = svc.audit();
    let call = audit
        .iter()
        .find(|r| r["event"] == "call" && r["method"] == "start_recording")
        .expect("the start is audited");
    assert_eq!(call["conn"], started["conn"], "{call}");
    assert_eq!(call["req"], started["req"], "same request, same id: {call}");
    let stop = audit
        .iter()
        .find(|r| r["event"] == "call" && r["method"] == "stop_recording")
        .expect("the stop is audited");
    assert_ne!(stop["req"], call["req"], "each request has its own id");
}
