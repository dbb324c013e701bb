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
