//! Logs, black-box: JSON lines on stdout and the audit file, with correlation ids.

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

/// Every audit record in `audit.log` and its rotated files, oldest file first.
fn audit_records_with_rotated(svc: &TestService) -> Vec<Value> {
    let dir = svc.dir.path();
    let mut files: Vec<std::path::PathBuf> = (1..=5)
        .rev()
        .map(|n| dir.join(format!("audit.log.{n}")))
        .collect();
    files.push(dir.join("audit.log"));
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// Six connections calling as fast as they can for ten seconds, nearly every call
/// rate-limited, must not rotate the earliest security records out of a small audit log:
/// their denials are written once per peer and window, with a count. (The flooders never
/// authenticate: the authentication deadline is raised so it does not end the flood early.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earliest_security_records_survive_a_ten_second_flood() {
    let svc = TestService::builder()
        .config(
            "auth: {rate_per_second: 1, rate_burst: 1}\n\
             logging: {audit_max_bytes: 65536, audit_keep: 1, audit_window_secs: 2}\n\
             server: {auth_timeout_secs: 60}",
        )
        .start();
    let token = svc.token(Role::Admin, 600);
    let mut admin = svc.ws().await;
    admin.ok("authenticate", json!({"auth_token": token})).await;
    let mut intruder = svc.ws().await;
    let e = intruder
        .err("authenticate", json!({"auth_token": "not.a.token"}))
        .await;
    assert_eq!(e["code"], -32001);

    let flood_until = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let flooders: Vec<_> = (0..6)
        .map(|_| {
            let url = svc.ws_url();
            tokio::spawn(async move {
                let mut ws = cs_tests::WsClient::connect(&url, None).await;
                let mut limited = 0u64;
                while tokio::time::Instant::now() < flood_until {
                    for i in 0..50 {
                        ws.send_text(format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"ping"}}"#))
                            .await;
                    }
                    for _ in 0..50 {
                        let answer = ws.recv_answer(10.0).await.expect("every call is answered");
                        if answer["error"]["code"] == -32040 {
                            limited += 1;
                        }
                    }
                }
                limited
            })
        })
        .collect();
    let mut limited = 0;
    for f in flooders {
        limited += f.await.expect("a flooder finished");
    }
    assert!(
        limited > 1000,
        "the flood was a flood ({limited} rate-limited calls)"
    );

    // The aggregated counts are written when their window ends.
    let counted = || {
        audit_records_with_rotated(&svc)
            .iter()
            .filter(|r| r["event"] == "rate_limited")
            .map(|r| r["count"].as_u64().unwrap_or(1))
            .sum::<u64>()
    };
    let all_counted =
        TestService::eventually(15.0, || async { (counted() >= limited).then_some(()) }).await;
    assert!(
        all_counted.is_some(),
        "every rate-limited call is counted: {} of {limited}",
        counted()
    );
    let records = audit_records_with_rotated(&svc);
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "auth_success" && r["role"] == "admin"),
        "the admin's login survived the flood"
    );
    assert!(
        records.iter().any(|r| r["event"] == "auth_failure"),
        "the refused login survived the flood"
    );
    let rate_lines = records
        .iter()
        .filter(|r| r["event"] == "rate_limited")
        .count();
    assert!(
        rate_lines <= 2 * 8,
        "one full and one aggregated line per peer and 2 s window, not {rate_lines}"
    );
}
