//! The fake holds MediaMTX's API to its spec and models the path state tests rely on.

use std::time::Duration;

use fakemtx::spec::Spec;
use fakemtx::{FakeMediamtx, Outage};
use serde_json::{json, Value};

/// One blocking HTTP exchange, off the async runtime: `(status, body as JSON or the text)`.
async fn http(
    fake: &FakeMediamtx,
    method: &'static str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let url = format!("{}{path}", fake.api_url());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let result = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            ("POST", Some(b)) => agent.post(&url).send_json(&b),
            ("POST", None) => agent.post(&url).send_empty(),
            ("PATCH", Some(b)) => agent.patch(&url).send_json(&b),
            ("PATCH", None) => agent.patch(&url).send_empty(),
            (m, _) => return Err(format!("method {m} not used here")),
        };
        let mut resp = result.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    })
    .await
    .map_err(|e| e.to_string())?
}

async fn fake() -> FakeMediamtx {
    FakeMediamtx::start()
        .await
        .expect("fake MediaMTX starts with the shared spec")
}

fn error_text(body: &Value) -> String {
    body.get("error")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn on_demand_body() -> Value {
    json!({
        "source": "publisher",
        "runOnDemand": "ffmpeg -re -f lavfi -i testsrc2 -f rtsp rtsp://localhost:$RTSP_PORT/$MTX_PATH",
        "runOnDemandRestart": true,
        "runOnDemandStartTimeout": "10s",
        "runOnDemandCloseAfter": "300s"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_with_the_default_config_paths() {
    let fake = fake().await;
    let (status, list) = http(&fake, "GET", "/v3/config/paths/list", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["itemCount"], 1);
    assert_eq!(list["items"][0]["name"], "all_others");
    assert_eq!(list["items"][0]["runOnDemandCloseAfter"], "10s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_and_methods_outside_the_spec_are_refused() {
    let fake = fake().await;
    let (status, body) = http(&fake, "GET", "/v3/config/paths/rename/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(error_text(&body).contains("no such API endpoint"), "{body}");
    assert_eq!(body["status"], "error");

    let (status, body) = http(&fake, "GET", "/v3/config/paths/add/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(error_text(&body).contains("not allowed"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_with_an_unknown_field_is_refused_and_changes_nothing() {
    let fake = fake().await;
    let body = json!({"source": "publisher", "runOnDemandCloseAfterr": "10s"});
    let (status, answer) = http(&fake, "POST", "/v3/config/paths/add/camera0", Some(body))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(
        error_text(&answer).contains("unknown field \"runOnDemandCloseAfterr\""),
        "{answer}"
    );
    assert_eq!(fake.config_path("camera0"), None);
    let last = fake.requests().pop().unwrap();
    assert!(last.rejection.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_with_a_mistyped_field_is_refused() {
    let fake = fake().await;
    for body in [
        json!({"runOnDemandRestart": "yes"}),
        json!({"maxReaders": 1.5}),
        json!({"rpiCameraAWBGains": [1.0]}),
        json!(["not", "an", "object"]),
    ] {
        let (status, answer) = http(
            &fake,
            "POST",
            "/v3/config/paths/add/camera0",
            Some(body.clone()),
        )
        .await
        .unwrap();
        assert_eq!(status, 400, "{body} accepted: {answer}");
    }
    assert_eq!(fake.config_path("camera0"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bodies_unexpected_bodies_and_bad_queries_are_refused() {
    let fake = fake().await;
    let (status, _) = http(&fake, "POST", "/v3/config/paths/add/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 400, "add without a body");
    let (status, _) = http(&fake, "PATCH", "/v3/config/global/patch", None)
        .await
        .unwrap();
    assert_eq!(status, 400, "patch without a body");
    let (status, answer) = http(&fake, "GET", "/v3/paths/list?page=first", None)
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(error_text(&answer).contains("not an integer"), "{answer}");
    let (status, answer) = http(&fake, "GET", "/v3/paths/list?limit=3", None)
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(
        error_text(&answer).contains("unknown query parameter"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediamtx_rules_beyond_the_schema_are_applied() {
    let fake = fake().await;
    let bad_duration = json!({"runOnDemandCloseAfter": "five minutes"});
    let (status, answer) = http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(bad_duration),
    )
    .await
    .unwrap();
    assert_eq!(status, 400);
    assert!(error_text(&answer).contains("invalid duration"), "{answer}");
    let not_publisher = json!({"source": "rtsp://elsewhere/x", "runOnDemand": "ffmpeg"});
    let (status, _) = http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(not_publisher),
    )
    .await
    .unwrap();
    assert_eq!(status, 400);
    let (status, answer) = http(
        &fake,
        "POST",
        "/v3/config/paths/add/bad%20name",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(status, 400);
    assert!(
        error_text(&answer).contains("invalid path name"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_paths_read_back_with_defaults_and_go_durations() {
    let fake = fake().await;
    let (status, answer) = http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    assert_eq!((status, answer), (200, json!({"status": "ok"})));
    let (status, conf) = http(&fake, "GET", "/v3/config/paths/get/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(conf["name"], "camera0");
    assert_eq!(conf["runOnDemandCloseAfter"], "5m0s");
    assert_eq!(conf["runOnDemandRestart"], true);
    assert_eq!(conf["record"], false, "defaults filled in");
    let (status, answer) = http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(status, 400);
    assert_eq!(error_text(&answer), "path already exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_replace_and_delete_follow_mediamtx() {
    let fake = fake().await;
    http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    let (status, _) = http(
        &fake,
        "PATCH",
        "/v3/config/paths/patch/camera0",
        Some(json!({"runOnDemandCloseAfter": "1m"})),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let conf = fake.config_path("camera0").unwrap();
    assert_eq!(conf["runOnDemandCloseAfter"], "1m0s");
    assert_eq!(
        conf["runOnDemandRestart"], true,
        "patch keeps the other fields"
    );

    let (status, _) = http(
        &fake,
        "POST",
        "/v3/config/paths/replace/camera0",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        fake.config_path("camera0").unwrap()["runOnDemand"],
        "",
        "replace resets to defaults"
    );

    let (status, _) = http(&fake, "DELETE", "/v3/config/paths/delete/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, answer) = http(&fake, "DELETE", "/v3/config/paths/delete/camera0", None)
        .await
        .unwrap();
    assert_eq!(
        (status, error_text(&answer)),
        (404, "path not found".to_string())
    );
    let (status, _) = http(
        &fake,
        "PATCH",
        "/v3/config/paths/patch/camera0",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_demand_path_becomes_ready_on_its_first_reader() {
    let fake = fake().await;
    http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    let (_, path) = http(&fake, "GET", "/v3/paths/get/camera0", None)
        .await
        .unwrap();
    assert_eq!(path["ready"], false);
    assert_eq!(path["source"], Value::Null);

    let reader = fake.read("camera0").unwrap();
    fake.add_bytes("camera0", 1000, 400);
    let (status, path) = http(&fake, "GET", "/v3/paths/get/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(path["ready"], true);
    assert!(path["readyTime"].is_string());
    assert_eq!(path["readers"].as_array().unwrap().len(), 1);
    assert_eq!(
        (path["bytesReceived"].as_u64(), path["bytesSent"].as_u64()),
        (Some(1000), Some(400))
    );

    assert!(fake.stop_reading("camera0", &reader));
    assert_eq!(fake.close_idle_on_demand(), vec!["camera0".to_string()]);
    assert_eq!(fake.path("camera0").unwrap()["ready"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_without_publisher_cannot_be_read() {
    let fake = fake().await;
    http(&fake, "POST", "/v3/config/paths/add/plain", Some(json!({})))
        .await
        .unwrap();
    assert!(fake.read("plain").is_err());
    assert!(fake.read("missing").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_live_paths_config_recreates_it() {
    let fake = fake().await;
    http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    fake.read("camera0").unwrap();
    // Recording settings are applied live...
    http(
        &fake,
        "PATCH",
        "/v3/config/paths/patch/camera0",
        Some(json!({"record": true})),
    )
    .await
    .unwrap();
    assert_eq!(fake.path("camera0").unwrap()["ready"], true);
    // ...everything else drops the publisher and the readers.
    http(
        &fake,
        "PATCH",
        "/v3/config/paths/patch/camera0",
        Some(json!({"runOnDemandCloseAfter": "1s"})),
    )
    .await
    .unwrap();
    let path = fake.path("camera0").unwrap();
    assert_eq!(path["ready"], false);
    assert_eq!(path["readers"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paginated_like_mediamtx() {
    let fake = fake().await;
    for i in 0..5 {
        http(
            &fake,
            "POST",
            &format!("/v3/config/paths/add/cam{i}"),
            Some(json!({})),
        )
        .await
        .unwrap();
    }
    let (_, page) = http(
        &fake,
        "GET",
        "/v3/config/paths/list?itemsPerPage=2&page=2",
        None,
    )
    .await
    .unwrap();
    assert_eq!(page["pageCount"], 3, "{page}");
    assert_eq!(page["itemCount"], 6, "5 added + all_others");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, runtime) = http(&fake, "GET", "/v3/paths/list", None).await.unwrap();
    assert_eq!(runtime["itemCount"], 5, "all_others has no runtime path");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_forgets_api_paths_and_keeps_the_config_file_ones() {
    let fake = fake().await;
    http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    fake.restart_empty();
    assert_eq!(fake.config_path_names(), vec!["all_others".to_string()]);
    let (status, _) = http(&fake, "GET", "/v3/config/paths/get/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_fake_comes_back_on_the_same_address_with_its_state() {
    let fake = fake().await;
    http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    fake.go_down(Outage::Refuse).await;
    let err = http(&fake, "GET", "/v3/config/global/get", None)
        .await
        .unwrap_err();
    assert!(
        err.to_lowercase().contains("refused") || err.to_lowercase().contains("connect"),
        "{err}"
    );
    fake.come_back().await.unwrap();
    let (status, _) = http(&fake, "GET", "/v3/config/paths/get/camera0", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fake_answers_500_with_a_mediamtx_error() {
    let fake = fake().await;
    fake.go_down(Outage::ServerError("database on fire".into()))
        .await;
    let (status, body) = http(&fake, "GET", "/v3/config/global/get", None)
        .await
        .unwrap();
    assert_eq!(
        (status, error_text(&body)),
        (500, "database on fire".to_string())
    );
    fake.come_back().await.unwrap();
    let (status, global) = http(&fake, "GET", "/v3/config/global/get", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(global["rtspAddress"], ":8554");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_recorded() {
    let fake = fake().await;
    http(
        &fake,
        "POST",
        "/v3/config/paths/add/camera0",
        Some(on_demand_body()),
    )
    .await
    .unwrap();
    http(&fake, "GET", "/v3/paths/list?page=0", None)
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("POST", "/v3/config/paths/add/camera0")
    );
    assert_eq!(reqs[0].body.as_ref(), Some(&on_demand_body()));
    assert_eq!(reqs[0].status, Some(200));
    assert_eq!(reqs[1].query.as_deref(), Some("page=0"));
}

// ----- the validator on its own -----

fn spec() -> Spec {
    let text =
        std::fs::read_to_string(fakemtx::shared_mediamtx_dir().join(fakemtx::SPEC_FILE)).unwrap();
    Spec::parse(&text).unwrap()
}

#[test]
fn every_mediamtx_schema_is_understood() {
    let spec = spec();
    assert!(spec.operations().len() > 40);
    assert!(spec
        .operations()
        .iter()
        .any(|o| o.id == "configPathsAdd" && o.method == "POST"));
}

#[test]
fn nullable_refs_and_nested_items_are_checked() {
    let spec = spec();
    let path = spec.component("Path").unwrap().clone();
    let good = json!({"name": "a", "source": null, "ready": false, "readyTime": null, "readers": [{"type": "rtspSession", "id": "x"}]});
    spec.validate(&path, &good, "p").unwrap();
    let bad_enum = json!({"readers": [{"type": "carrierPigeon", "id": "x"}]});
    assert!(spec
        .validate(&path, &bad_enum, "p")
        .unwrap_err()
        .contains("p.readers[0].type"));
    let bad_null = json!({"ready": null});
    assert!(spec.validate(&path, &bad_null, "p").is_err());
    let too_big = json!({"bytesSent": u64::MAX});
    assert!(
        spec.validate(&path, &too_big, "p").is_err(),
        "int64 overflow"
    );
}
