//! Media modes `auto` and `mediamtx`, black-box: the real service binary, simulated cameras
//! and the real ffmpeg, against MediaMTX. Every stream scenario (`on_both!`) runs twice:
//! `<scenario>::fake` against the fake MediaMTX (which refuses any request off MediaMTX's
//! OpenAPI spec, models path state and relays RTSP, running the service's `runOnDemand`
//! publishers for real; it adds the checks only it can make) and `<scenario>::real_mediamtx`
//! against a real MediaMTX (found like `scripts/lib.sh`'s `find_mediamtx`; skipped with a
//! `skipped:` notice when there is none, a failure with `CS_REQUIRE_MEDIAMTX=1`). Fault
//! injection (a failing or hung API, paths edited by hand) and the request checks run on the
//! fake only; HLS and WebRTC (WHEP) playback on the real server only.
//!
//! One file of ~820 lines: every scenario runs on the fake and the real MediaMTX through the
//! same helpers.

use std::time::Duration;

use cs_tests::mediamtx::{free_port, MediaServerUnderTest as Mtx, Servers};
use cs_tests::{ServiceBuilder, TestService, WsClient};
use domain::Role;
use fakemtx::{FakeMediamtx, Outage};
use serde_json::{json, Value};

/// One reconcile period of the services started here.
const RECONCILE_SECS: u64 = 1;
/// Generous bound for "within one reconcile period" (a loaded CI box); not a timing claim.
const WAIT_SECS: f64 = 15.0;

async fn fake() -> FakeMediamtx {
    FakeMediamtx::start()
        .await
        .expect("fake MediaMTX starts with the shared spec")
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    free_port()
}

fn with_mediamtx(builder: ServiceBuilder, fake: &FakeMediamtx, mode: &str) -> ServiceBuilder {
    with_mediamtx_rtsp(builder, fake, mode, fake.rtsp_port())
}

/// As [`with_mediamtx`], with the service reading streams from `rtsp_port`.
fn with_mediamtx_rtsp(
    builder: ServiceBuilder,
    fake: &FakeMediamtx,
    mode: &str,
    rtsp_port: u16,
) -> ServiceBuilder {
    builder.config(&format!(
        "media: {{mode: {mode}}}\nmediamtx: {{api_url: '{}', reconcile_secs: {RECONCILE_SECS}, request_timeout_ms: 500, rtsp_port: {rtsp_port}}}\n",
        fake.api_url(),
    ))
}

fn start_auto(fake: &FakeMediamtx) -> TestService {
    with_mediamtx(TestService::builder(), fake, "auto").start()
}

/// The fake's config of `name` once the service has created it.
async fn path_appears(fake: &FakeMediamtx, name: &str) -> Value {
    TestService::eventually(WAIT_SECS, || async { fake.config_path(name) })
        .await
        .unwrap_or_else(|| {
            panic!(
                "path {name} was not created; MediaMTX has {:?}",
                fake.config_path_names()
            )
        })
}

async fn media_server_status(ws: &mut WsClient) -> (String, String) {
    let s = ws.ok("get_status", json!({})).await;
    let c = &s["components"]["media_server"];
    (
        c["status"].as_str().unwrap_or_default().to_owned(),
        c["details"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn media_server_becomes(ws: &mut WsClient, wanted: &str) -> String {
    media_server_says(ws, wanted, "").await
}

/// Waits until the `media_server` component has status `wanted` and details with `needle`.
async fn media_server_says(ws: &mut WsClient, wanted: &str, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    loop {
        let (status, details) = media_server_status(ws).await;
        if status == wanted && details.contains(needle) {
            return details;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "media_server stayed {status} ({details}), expected {wanted} ({needle})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_appears_gets_an_on_demand_path_with_the_lifecycle_settings() {
    let fake = fake().await;
    let svc = start_auto(&fake);
    svc.plug_sim(5, "Lobby");
    let conf = path_appears(&fake, "camera5").await;

    assert_eq!(conf["source"], "publisher");
    assert_eq!(
        conf["runOnDemandRestart"], true,
        "the publisher restarts if it dies"
    );
    assert_eq!(conf["runOnDemandStartTimeout"], "10s");
    assert_eq!(
        conf["runOnDemandCloseAfter"], "10s",
        "policies are held by the service, not by edits"
    );
    let cmd = conf["runOnDemand"].as_str().unwrap();
    for part in [
        "-f lavfi -i testsrc2=size=1280x720:rate=30",
        "-c:v libx264",
        "-profile:v baseline",
        "-level:v 3.0",
        "-pix_fmt yuv420p",
        "-g 30",
        "rtsp://localhost:$RTSP_PORT/$MTX_PATH",
    ] {
        assert!(cmd.contains(part), "{part:?} missing from {cmd}");
    }
    // Every request the service made was on MediaMTX's spec.
    let off_spec: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.rejection.is_some())
        .collect();
    assert!(off_spec.is_empty(), "{off_spec:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_edited_or_deleted_by_hand_is_put_back() {
    let fake = fake().await;
    let _svc = start_auto(&fake);
    let original = path_appears(&fake, "camera0").await;
    path_appears(&fake, "camera1").await;
    fake.edit_path_by_hand(
        "camera0",
        json!({"runOnDemandCloseAfter": "1h0m0s", "runOnDemand": "true"}),
    );
    fake.delete_path_by_hand("camera1");
    let fixed = TestService::eventually(WAIT_SECS, || async {
        fake.config_path("camera0").filter(|c| {
            c["runOnDemand"] == original["runOnDemand"] && c["runOnDemandCloseAfter"] == "10s"
        })
    })
    .await;
    assert!(
        fixed.is_some(),
        "camera0 still edited: {:?}",
        fake.config_path("camera0")
    );
    path_appears(&fake, "camera1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_hung_mediamtx_also_means_direct_mode() {
    let fake = fake().await;
    let svc = start_auto(&fake);
    let mut ws = svc.ws_as(Role::Viewer).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    fake.go_down(Outage::ServerError("config file locked".into()))
        .await;
    let details = media_server_says(&mut ws, "DEGRADED", "failed (500)").await;
    assert!(
        details.contains("config file locked"),
        "MediaMTX's own text: {details}"
    );
    fake.come_back().await.unwrap();
    media_server_becomes(&mut ws, "HEALTHY").await;
    fake.go_down(Outage::Hang).await;
    let details = media_server_says(&mut ws, "DEGRADED", "did not answer").await;
    assert!(
        details.contains("did not answer within 500 ms"),
        "{details}"
    );
    assert!(ws.alive().await, "the API keeps answering");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_urls_are_built_from_the_public_host() {
    let fake = fake().await;
    let svc = start_auto(&fake);
    let mut ws = svc.ws_as(Role::Viewer).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    path_appears(&fake, "camera1").await;

    let info = ws.ok("get_stream_url", json!({"device": "camera1"})).await;
    assert_eq!(info["device"], "camera1");
    assert_eq!(info["stream_name"], "camera1");
    assert_eq!(info["ready"], false);
    assert_eq!(info["readers"], 0);
    let port = |key: &str| info["urls"][key].as_str().unwrap().to_owned();
    assert!(
        port("rtsp").starts_with("rtsp://camera.test:") && port("rtsp").ends_with("/camera1"),
        "{info}"
    );
    assert_eq!(port("webrtc"), "http://camera.test:8889/camera1/");
    assert_eq!(port("whep"), "http://camera.test:8889/camera1/whep");
    assert_eq!(port("hls"), "http://camera.test:8888/camera1/index.m3u8");

    let cams = ws.ok("get_camera_list", json!({})).await;
    assert_eq!(cams["cameras"][1]["streams"], info["urls"]);
    let all = ws.ok("get_streams", json!({})).await;
    assert_eq!(
        (all["total"].as_u64(), all["active"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(ws.ok("get_server_info", json!({})).await["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("streams")));
}

/// ffmpeg reading `url` over RTSP/TCP until it is killed (a client watching a stream).
fn rtsp_viewer(url: &str) -> tokio::process::Child {
    tokio::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            url,
        ])
        .args(["-map", "0:v:0", "-c", "copy", "-f", "null", "-"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

// ----- stream scenarios, against the fake or a real MediaMTX -----

async fn stream_status(ws: &mut WsClient, device: &str) -> Value {
    ws.ok("get_stream_status", json!({"device": device})).await
}

/// `start_streaming` on a cold camera answers ready, and the stream carries bytes.
async fn ready_on_first_read(svc: &TestService, device: &str) {
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    let before = ws.ok("get_stream_url", json!({"device": device})).await;
    assert_eq!(
        before["ready"], false,
        "{device} was already running: {before}"
    );
    let started = ws.ok("start_streaming", json!({"device": device})).await;
    assert_eq!(started["ready"], true, "{started}");
    assert_eq!(started["stream_name"], device);
    let bytes = TestService::eventually(WAIT_SECS, || {
        let url = svc.ws_url();
        let token = svc.token(Role::Viewer, 3600);
        async move {
            let mut ws = WsClient::connect(&url, Some(&token)).await;
            let r = ws
                .call("get_stream_status", json!({"device": device}))
                .await;
            let s = &r["result"];
            (s["ready"] == true && s["bytes_received"].as_u64() > Some(0)).then(|| s.clone())
        }
    })
    .await;
    assert!(bytes.is_some(), "no bytes from {device}'s publisher");
}

/// A JPEG snapshot's file: it starts as a JPEG does and has the size reported.
fn assert_jpeg(svc: &TestService, shot: &Value) {
    let file = svc
        .dir
        .path()
        .join("snapshots")
        .join(shot["filename"].as_str().expect("a file name"));
    let bytes = std::fs::read(&file).expect("the snapshot file");
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "{shot}");
    assert_eq!(Some(bytes.len() as u64), shot["file_size"].as_u64());
}

/// With the stream running and held, snapshots come from its newest keyframe (tier 1).
async fn tier1_snapshot(svc: &TestService, device: &str) {
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    let started = ws.ok("start_streaming", json!({"device": device})).await;
    assert_eq!(started["ready"], true, "{started}");
    // Until the held reader decoded its first keyframe a snapshot may still be tier 2.
    let first = TestService::eventually(WAIT_SECS, || {
        let url = svc.ws_url();
        let token = svc.token(Role::Operator, 3600);
        async move {
            let mut ws = WsClient::connect(&url, Some(&token)).await;
            let r = ws.ok("take_snapshot", json!({"device": device})).await;
            assert_ne!(r["tier"], 3, "the stream could not serve: {r}");
            (r["tier"] == 1).then_some(r)
        }
    })
    .await
    .expect("a tier-1 snapshot of the running stream");
    let next = ws.ok("take_snapshot", json!({"device": device})).await;
    for shot in [&first, &next] {
        assert_eq!(
            (
                shot["status"].as_str(),
                shot["tier"].as_u64(),
                shot["format"].as_str()
            ),
            (Some("SUCCESS"), Some(1), Some("jpg")),
            "{shot}"
        );
        // The stream's size (the encoding profile's fit of 1280x720), not the camera's.
        assert_eq!(
            (shot["width"].as_u64(), shot["height"].as_u64()),
            (Some(768), Some(432)),
            "{shot}"
        );
        assert_jpeg(svc, shot);
    }
}

/// With the stream not running, a snapshot activates it and reads it (tier 2); the stream
/// is then held.
async fn tier2_snapshot(svc: &TestService, device: &str) {
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    let before = stream_status(&mut ws, device).await;
    assert_eq!(before["ready"], false, "{before}");
    let shot = ws.ok("take_snapshot", json!({"device": device})).await;
    assert_eq!(
        (shot["status"].as_str(), shot["tier"].as_u64()),
        (Some("SUCCESS"), Some(2)),
        "{shot}"
    );
    assert_eq!(
        (shot["width"].as_u64(), shot["height"].as_u64()),
        (Some(768), Some(432)),
        "{shot}"
    );
    assert_jpeg(svc, &shot);
    let after = stream_status(&mut ws, device).await;
    assert_eq!(
        after["ready"], true,
        "the snapshot holds the stream: {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_streaming_on_an_unknown_camera_is_camera_not_found() {
    let fake = fake().await;
    let svc = start_auto(&fake);
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    let err = ws
        .err("start_streaming", json!({"device": "camera42"}))
        .await;
    assert_eq!(err["code"], -32000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_direct_mode_stream_methods_are_unsupported_and_mediamtx_is_never_asked() {
    let fake = fake().await;
    let svc = with_mediamtx(TestService::builder(), &fake, "direct").start();
    let mut ws = svc.ws_as(Role::Operator).await;
    for (method, params) in [
        ("start_streaming", json!({"device": "camera0"})),
        ("get_stream_url", json!({"device": "camera0"})),
        ("get_streams", json!({})),
    ] {
        let err = ws.err(method, params).await;
        assert_eq!(err["code"], -32030, "{method}: {err}");
    }
    assert_eq!(
        ws.ok("get_server_info", json!({})).await["media_mode"],
        "direct"
    );
    assert!(fake.requests().is_empty());
}

// ----- snapshots while MediaMTX is down (needs the direct media use cases) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_falls_back_to_direct_capture_when_the_stream_gives_no_picture() {
    // MediaMTX's API answers but nothing serves RTSP: the stream reader ends at once, so
    // the snapshot does not wait for MediaMTX's start timeout.
    let fake = fake().await;
    let svc = with_mediamtx_rtsp(TestService::builder(), &fake, "auto", closed_port()).start();
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    path_appears(&fake, "camera0").await;
    let shot = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
    assert_eq!(
        (shot["status"].as_str(), shot["tier"].as_u64()),
        (Some("SUCCESS"), Some(3))
    );
    assert_eq!(
        (shot["width"].as_u64(), shot["height"].as_u64()),
        (Some(1280), Some(720))
    );
}

// ----- the stream scenarios, each on the fake and on a real MediaMTX -----

/// Declares `<scenario>::fake` and `<scenario>::real_mediamtx`, both running the async fn
/// `<scenario>(Mtx)`.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fake() {
                super::$scenario(super::Mtx::fake().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn real_mediamtx() {
                let test = concat!("mediamtx::", stringify!($scenario), "::real_mediamtx");
                let Some(mtx) = super::Mtx::real(test) else { return };
                super::$scenario(mtx).await;
            }
        }
    )*};
}

on_both!(
    a_simulated_cameras_stream_becomes_ready_on_first_read,
    a_tier1_snapshot_comes_from_the_held_streams_keyframe,
    a_tier2_snapshot_activates_the_stream_then_reads_it,
    a_snapshot_is_tier3_from_the_device_while_mediamtx_is_down,
    a_client_watching_a_stream_is_reported_with_the_bytes,
    a_camera_that_goes_away_loses_its_path,
    paths_come_back_within_a_reconcile_period_after_mediamtx_restarts_empty,
    mediamtx_down_degrades_health_and_it_heals_by_itself,
    mediamtx_down_when_the_service_starts_then_up_heals_and_creates_the_paths,
);

fn on(mtx: &Mtx, mode: &str) -> TestService {
    TestService::builder()
        .config(&mtx.service_config(mode, RECONCILE_SECS))
        .start()
}

/// Waits until MediaMTX has the path `name`.
async fn has_path(mtx: &Mtx, name: &str) {
    let found = TestService::eventually(WAIT_SECS, || async {
        mtx.has_path(name).await.then_some(())
    })
    .await;
    assert!(
        found.is_some(),
        "path {name} was not created; MediaMTX has {:?}",
        mtx.path_names().await
    );
}

async fn a_simulated_cameras_stream_becomes_ready_on_first_read(mtx: Mtx) {
    let svc = on(&mtx, "mediamtx");
    ready_on_first_read(&svc, "camera0").await;
    if let Some(fake) = mtx.fake_ref() {
        let path = fake.path("camera0").unwrap();
        assert_eq!(path["tracks"], json!(["H264"]), "{path}");
        assert_eq!(fake.on_demand_starts("camera0"), 1);
    }
    let mut ws = svc.ws_as(Role::Operator).await;
    let stopped = ws.ok("stop_streaming", json!({"device": "camera0"})).await;
    assert_eq!(stopped["status"], "STOPPED");
    assert!(
        mtx.has_path("camera0").await,
        "stopping a stream keeps the camera's path"
    );
    drop(svc);
    mtx.stop().await;
}

async fn a_tier1_snapshot_comes_from_the_held_streams_keyframe(mtx: Mtx) {
    let svc = on(&mtx, "mediamtx");
    tier1_snapshot(&svc, "camera0").await;
    if let Some(fake) = mtx.fake_ref() {
        assert_eq!(fake.on_demand_starts("camera0"), 1);
    }
    drop(svc);
    mtx.stop().await;
}

async fn a_tier2_snapshot_activates_the_stream_then_reads_it(mtx: Mtx) {
    let svc = on(&mtx, "mediamtx");
    has_path(&mtx, "camera1").await;
    if let Some(fake) = mtx.fake_ref() {
        assert_eq!(
            fake.on_demand_starts("camera1"),
            0,
            "nothing runs before the snapshot"
        );
    }
    tier2_snapshot(&svc, "camera1").await;
    if let Some(fake) = mtx.fake_ref() {
        assert_eq!(fake.on_demand_starts("camera1"), 1);
    }
    drop(svc);
    mtx.stop().await;
}

async fn a_snapshot_is_tier3_from_the_device_while_mediamtx_is_down(mut mtx: Mtx) {
    let svc = on(&mtx, "auto");
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    mtx.die().await;
    media_server_becomes(&mut ws, "DEGRADED").await;
    let shot = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
    assert_eq!(
        (shot["status"].as_str(), shot["tier"].as_u64()),
        (Some("SUCCESS"), Some(3)),
        "{shot}"
    );
    // The camera's own size, not the stream's.
    assert_eq!(
        (shot["width"].as_u64(), shot["height"].as_u64()),
        (Some(1280), Some(720)),
        "{shot}"
    );
    assert_jpeg(&svc, &shot);
    mtx.come_back().await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    drop(svc);
    mtx.stop().await;
}

async fn a_client_watching_a_stream_is_reported_with_the_bytes(mtx: Mtx) {
    let svc = on(&mtx, "auto");
    let mut ws = svc.ws_as(Role::Viewer).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    has_path(&mtx, "camera0").await;
    let viewer = rtsp_viewer(&format!("rtsp://127.0.0.1:{}/camera0", mtx.rtsp_port()));

    // The service holds the stream too (a viewer was seen); its own reader is not counted.
    let s = TestService::eventually(WAIT_SECS, || {
        let url = svc.ws_url();
        let token = svc.token(Role::Viewer, 3600);
        async move {
            let mut ws = WsClient::connect(&url, Some(&token)).await;
            let r = ws
                .call("get_stream_status", json!({"device": "camera0"}))
                .await;
            let s = r["result"].clone();
            (s["ready"] == true && s["readers"] == 1 && s["bytes_sent"].as_u64() > Some(0))
                .then_some(s)
        }
    })
    .await
    .expect("the viewer was never reported");
    assert!(s["bytes_received"].as_u64().unwrap() > 0, "{s}");
    assert!(s["ready_since"].is_string(), "{s}");
    let cam = ws
        .ok("get_camera_status", json!({"device": "camera0"}))
        .await;
    assert_eq!(
        (
            cam["stream"]["ready"].as_bool(),
            cam["stream"]["readers"].as_u64()
        ),
        (Some(true), Some(1)),
        "{cam}"
    );
    let all = ws.ok("get_streams", json!({})).await;
    assert_eq!(all["active"], 1);
    if let Some(fake) = mtx.fake_ref() {
        assert_eq!(
            fake.on_demand_starts("camera0"),
            1,
            "one publisher serves both readers"
        );
    }
    drop(viewer);
    drop(svc);
    mtx.stop().await;
}

async fn a_camera_that_goes_away_loses_its_path(mtx: Mtx) {
    let svc = on(&mtx, "auto");
    svc.plug_sim(6, "Dock");
    has_path(&mtx, "camera6").await;
    svc.unplug_sim(6);
    let gone = TestService::eventually(WAIT_SECS, || async {
        (!mtx.has_path("camera6").await).then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "camera6's path is still there: {:?}",
        mtx.path_names().await
    );
    let names = mtx.path_names().await;
    assert!(
        names.contains(&"camera0".to_owned()),
        "other cameras keep theirs: {names:?}"
    );
    assert!(
        names.contains(&"all_others".to_owned()),
        "paths the service does not manage stay: {names:?}"
    );
    drop(svc);
    mtx.stop().await;
}

async fn paths_come_back_within_a_reconcile_period_after_mediamtx_restarts_empty(mut mtx: Mtx) {
    let svc = on(&mtx, "auto");
    has_path(&mtx, "camera0").await;
    has_path(&mtx, "camera1").await;
    mtx.restart_empty().await;
    if let Some(fake) = mtx.fake_ref() {
        assert_eq!(fake.config_path_names(), vec!["all_others".to_string()]);
    }
    has_path(&mtx, "camera0").await;
    has_path(&mtx, "camera1").await;
    // The paths work again: a stream comes up on the first read.
    let mut ws = svc.ws_as(Role::Operator).await;
    let started = ws.ok("start_streaming", json!({"device": "camera1"})).await;
    assert_eq!(started["ready"], true, "{started}");
    drop(svc);
    mtx.stop().await;
}

async fn mediamtx_down_degrades_health_and_it_heals_by_itself(mut mtx: Mtx) {
    let svc = on(&mtx, "auto");
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    assert_eq!(
        ws.ok("get_server_info", json!({})).await["media_mode"],
        "mediamtx"
    );

    mtx.die().await;
    let details = media_server_becomes(&mut ws, "DEGRADED").await;
    assert!(details.contains("not answering"), "{details}");
    assert_eq!(ws.ok("get_status", json!({})).await["status"], "DEGRADED");
    assert_eq!(
        ws.ok("get_server_info", json!({})).await["media_mode"],
        "direct"
    );
    let err = ws.err("get_stream_url", json!({"device": "camera0"})).await;
    assert_eq!(err["code"], -32050);
    assert_eq!(err["data"]["dependency"], "mediamtx");
    assert_eq!(
        ws.ok("get_camera_list", json!({})).await["cameras"][0]["streams"],
        json!({})
    );

    mtx.come_back().await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    assert_eq!(ws.ok("get_status", json!({})).await["status"], "HEALTHY");
    assert_eq!(
        ws.ok("get_server_info", json!({})).await["media_mode"],
        "mediamtx"
    );
    has_path(&mtx, "camera0").await;
    let info = ws.ok("get_stream_url", json!({"device": "camera0"})).await;
    assert_eq!(info["stream_name"], "camera0");
    drop(svc);
    mtx.stop().await;
}

async fn mediamtx_down_when_the_service_starts_then_up_heals_and_creates_the_paths(mut mtx: Mtx) {
    mtx.die().await;
    let svc = on(&mtx, "mediamtx");
    let mut ws = svc.ws_as(Role::Operator).await;
    // Degraded from the start ("waiting for the first answer"), then with the reason.
    let details = media_server_says(&mut ws, "DEGRADED", "not answering").await;
    assert!(details.contains("media.mode is mediamtx"), "{details}");
    let err = ws
        .err("start_streaming", json!({"device": "camera0"}))
        .await;
    assert_eq!(
        (err["code"].as_i64(), err["data"]["dependency"].as_str()),
        (Some(-32050), Some("mediamtx"))
    );
    mtx.come_back().await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    has_path(&mtx, "camera0").await;
    has_path(&mtx, "camera1").await;
    let started = ws.ok("start_streaming", json!({"device": "camera0"})).await;
    assert_eq!(started["ready"], true, "{started}");
    drop(svc);
    mtx.stop().await;
}

// ----- playback through a real MediaMTX, with the URLs the service gives -----

/// The service against a real MediaMTX with HLS and WebRTC open, URLs on 127.0.0.1.
fn on_real_with_players(mtx: &Mtx) -> TestService {
    TestService::builder()
        .config(&mtx.service_config("mediamtx", RECONCILE_SECS))
        .config("server: {public_host: 127.0.0.1}\n")
        .start()
}

/// `host:port` and path of an `http://` URL.
fn split_http_url(url: &str) -> (std::net::SocketAddr, String) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_once('/').expect("a path");
    (
        authority.parse().expect("an IP address and port"),
        format!("/{path}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_mediamtx_the_hls_url_plays_frames_decoded_by_ffmpeg() {
    let servers = Servers {
        hls: true,
        webrtc: false,
    };
    let Some(mtx) = Mtx::real_with(
        "mediamtx::real_mediamtx_the_hls_url_plays_frames_decoded_by_ffmpeg",
        servers,
    ) else {
        return;
    };
    let svc = on_real_with_players(&mtx);
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    let info = ws.ok("start_streaming", json!({"device": "camera0"})).await;
    let hls = info["urls"]["hls"].as_str().expect("an HLS URL").to_owned();
    // ffmpeg plays the playlist and decodes frames (its null muxer counts them).
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-i", &hls])
            .args(["-map", "0:v:0", "-frames:v", "10", "-f", "framemd5", "-"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffmpeg finished within a minute")
    .expect("ffmpeg runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let frames = stdout.lines().filter(|l| !l.starts_with('#')).count();
    assert!(
        out.status.success() && frames == 10,
        "{hls}: {} frames decoded, {}; {}",
        frames,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    drop(svc);
    mtx.stop().await;
}

/// A minimal WebRTC offer to receive one H.264 video track (RFC 8829's shape; the DTLS
/// fingerprint is made up: the answer, not a session, is what is checked).
fn whep_offer() -> String {
    let fingerprint: Vec<String> = (0u8..32).map(|b| format!("{:02X}", b * 7 + 1)).collect();
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:csTestUfrag",
        "a=ice-pwd:csTestPasswordOf24Chars0",
        "a=ice-options:trickle",
        &format!("a=fingerprint:sha-256 {}", fingerprint.join(":")),
        "a=setup:actpass",
        "a=mid:0",
        "a=recvonly",
        "a=rtcp-mux",
        "a=rtpmap:96 H264/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "",
    ]
    .join("\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_mediamtx_the_webrtc_url_answers_a_whep_offer_with_an_sdp_answer() {
    let servers = Servers {
        hls: false,
        webrtc: true,
    };
    let Some(mtx) = Mtx::real_with(
        "mediamtx::real_mediamtx_the_webrtc_url_answers_a_whep_offer_with_an_sdp_answer",
        servers,
    ) else {
        return;
    };
    let svc = on_real_with_players(&mtx);
    let mut ws = svc.ws_as(Role::Operator).await;
    media_server_becomes(&mut ws, "HEALTHY").await;
    let info = ws.ok("start_streaming", json!({"device": "camera0"})).await;
    let page = info["urls"]["webrtc"].as_str().expect("a WebRTC URL");
    let whep = info["urls"]["whep"].as_str().expect("a WHEP URL");
    assert_eq!(whep, format!("{page}whep"), "{info}");

    // The page is MediaMTX's WebRTC reader.
    let (addr, path) = split_http_url(page);
    let r = cs_tests::http::get(addr, &path, &[]).await;
    assert_eq!(r.status, 200, "{page}: {}", r.text());
    assert!(r.text().contains("<html"), "{page}: {}", r.text());

    let (addr, path) = split_http_url(whep);
    let r = cs_tests::http::post(addr, &path, "application/sdp", whep_offer().as_bytes()).await;
    assert_eq!(r.status, 201, "{whep}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/sdp"));
    assert!(
        r.header("location").is_some(),
        "a session URL: {:?}",
        r.headers
    );
    let answer = r.text();
    assert!(answer.starts_with("v=0"), "{answer}");
    assert!(answer.contains("m=video"), "{answer}");
    assert!(answer.contains("H264/90000"), "{answer}");
    assert!(answer.contains("a=sendonly"), "MediaMTX sends: {answer}");
    drop(svc);
    mtx.stop().await;
}
