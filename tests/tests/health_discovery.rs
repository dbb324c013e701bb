//! Health and features follow what the service really does (black-box): `camera_monitor`
//! reports a device directory it cannot watch (DEGRADED, with the reason) and recovers by
//! itself once it can; `hotplug` is offered only where a directory is watched.

use cs_tests::{http, TestService};
use domain::Role;
use serde_json::{json, Value};

async fn camera_monitor(svc: &TestService) -> Value {
    http::get(svc.addr, "/health", &[]).await.json()["components"]["camera_monitor"].clone()
}

#[tokio::test]
async fn camera_monitor_reports_an_unwatchable_device_directory_and_recovers() {
    let outside = tempfile::tempdir().unwrap();
    let devices = outside.path().join("dev");
    let svc = TestService::builder()
        .config(&format!(
            "camera: {{device_dir: '{}', accept_file_nodes: true}}",
            devices.display()
        ))
        .start();

    let degraded = TestService::eventually(10.0, || async {
        let c = camera_monitor(&svc).await;
        (c["status"] == "DEGRADED").then_some(c)
    })
    .await
    .expect("a device directory that does not exist degrades camera_monitor");
    let details = degraded["details"].as_str().unwrap_or_default();
    assert!(
        details.contains("v4l2") && details.contains("cannot watch"),
        "{degraded}"
    );

    std::fs::create_dir(&devices).unwrap();
    let healthy = TestService::eventually(10.0, || async {
        let c = camera_monitor(&svc).await;
        (c["status"] == "HEALTHY").then_some(c)
    })
    .await;
    assert!(
        healthy.is_some(),
        "camera_monitor recovers once the directory can be watched: {}",
        camera_monitor(&svc).await
    );
}

async fn features(svc: &TestService) -> Vec<Value> {
    let mut ws = svc.ws_as(Role::Viewer).await;
    let info = ws.ok("get_server_info", Value::Null).await;
    info["capabilities"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn hotplug_is_offered_only_where_a_directory_is_watched() {
    let watched = TestService::start();
    assert!(features(&watched).await.contains(&json!("hotplug")));

    let fixed = TestService::builder()
        .config("camera: {simulated_dir: '', device_dir: ''}")
        .start();
    let offered = features(&fixed).await;
    assert!(!offered.contains(&json!("hotplug")), "{offered:?}");
    assert!(offered.contains(&json!("cameras")), "{offered:?}");
}
