//! `/health` and `get_status` measure storage when asked (issue 19, item 4): a file written
//! just before the request shows in the free space at once, not at the next periodic check.

use cs_tests::{http, TestService};
use domain::Role;
use serde_json::{json, Value};

/// The free bytes in the storage component's details: `N bytes free of M (...)`.
fn free_bytes(report: &Value) -> u64 {
    let details = report["components"]["storage"]["details"]
        .as_str()
        .unwrap_or_else(|| panic!("no storage details: {report}"));
    details
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no free bytes in {details:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_storage_figures_are_measured_on_request() {
    const TAKEN: u64 = 256 * 1024 * 1024;
    let svc = TestService::start();
    let before = free_bytes(&http::get(svc.addr, "/health", &[]).await.json());
    if before < 4 * TAKEN {
        eprintln!("skipped: {before} bytes free is too little to take {TAKEN} for the test");
        return;
    }
    // Real blocks (not a sparse file), in the recordings' filesystem.
    let big = svc.dir.path().join("recordings").join("filler.bin");
    let file = std::fs::File::create(&big).unwrap();
    nix::fcntl::posix_fallocate(&file, 0, TAKEN as i64).expect("space allocated");
    drop(file);

    let after = free_bytes(&http::get(svc.addr, "/health", &[]).await.json());
    assert!(
        before.saturating_sub(after) >= TAKEN / 2,
        "/health still shows {after} bytes free after {TAKEN} were taken (was {before})"
    );
    let mut ws = svc.ws_as(Role::Viewer).await;
    std::fs::remove_file(&big).unwrap();
    let status = ws.ok("get_status", json!({})).await;
    assert!(
        free_bytes(&status) >= after + TAKEN / 2,
        "get_status does not show the {TAKEN} bytes given back: {status} (was {after})"
    );
}
