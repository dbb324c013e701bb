//! Recordings and the stream, black-box: the real service binary, simulated cameras, the real
//! ffmpeg, ffprobe as the judge. Every scenario with MediaMTX runs twice (`on_both!`): on
//! the fake MediaMTX, whose RTSP relay starts the on-demand publisher for the first reader,
//! and on a real MediaMTX (skipped with a `skipped:` notice when none is found). A camera
//! unplugged mid-recording (its descriptor removed) ends the recording with
//! `recording.error` and a playable file, in every media mode; in `mediamtx` mode a stream
//! that ends mid-recording is an error too, while in `auto` the recording goes on from the
//! device in a second file when MediaMTX dies (`recording.source_changed`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cs_tests::mediamtx::MediaServerUnderTest as Mtx;
use cs_tests::procs::processes;
use cs_tests::{ffprobe, TestService, WsClient};
use domain::Role;
use serde_json::{json, Value};

/// Generous bound for waits on a loaded CI box; not a timing claim.
const WAIT_SECS: f64 = 30.0;

/// The service in media mode `mode` against `mtx`.
fn start_on(mtx: &Mtx, mode: &str) -> TestService {
    TestService::builder()
        .config(&mtx.service_config(mode, 1))
        .start()
}

/// Waits until the service says MediaMTX serves.
async fn media_mode_is_mediamtx(ws: &mut WsClient) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    loop {
        let info = ws.ok("get_server_info", json!({})).await;
        if info["media_mode"] == "mediamtx" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "MediaMTX never served: {info}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until MediaMTX serves (the service says so) and `path` exists on it.
async fn serving(ws: &mut WsClient, mtx: &Mtx, path: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    loop {
        let info = ws.ok("get_server_info", json!({})).await;
        if info["media_mode"] == "mediamtx" && mtx.has_path(path).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "MediaMTX never served {path}: {info}, paths {:?}",
            mtx.path_names().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The file plays: H.264 at `size`, lasting more than nothing.
fn assert_playable(path: &Path, size: (u64, u64)) {
    let j = ffprobe(path);
    let v = &j["streams"][0];
    assert_eq!(v["codec_name"], "h264", "{j}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(size.0), Some(size.1)),
        "{j}"
    );
    let duration: f64 = j["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    assert!(duration > 0.0, "{} has no duration: {j}", path.display());
}

fn recording_path(svc: &TestService, name: &Value) -> PathBuf {
    svc.dir
        .path()
        .join("recordings")
        .join(name.as_str().expect("a file name"))
}

async fn subscribe(ws: &mut WsClient, topics: Value) {
    ws.ok("subscribe_events", json!({"topics": topics})).await;
}

/// The next event of `topic` (others are skipped).
async fn event(ws: &mut WsClient, topic: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    loop {
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs_f64();
        let n = ws
            .notification(left)
            .await
            .unwrap_or_else(|| panic!("no {topic} event"));
        if n["params"]["result"]["topic"] == topic {
            return n["params"]["result"].clone();
        }
    }
}

/// Waits until `device` is listed CONNECTED.
async fn connected(ws: &mut WsClient, device: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    loop {
        let r = ws
            .call("get_camera_status", json!({"device": device}))
            .await;
        if r["result"]["status"] == "CONNECTED" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{device} never connected: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the recording has written video beyond its header (the file grows).
async fn file_grows(path: &Path) {
    let first = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) <= first + 10_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} does not grow",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Live ffmpeg processes (not their shells) whose command line contains `needle`.
fn ffmpegs_with(needle: &str) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| !p.zombie && p.comm == "ffmpeg" && p.cmdline.contains(needle))
        .map(|p| p.pid)
        .collect()
}

/// Unplugs camera `index` mid-recording and checks what the client is told and what is left.
async fn unplug_mid_recording(svc: &TestService, ws: &mut WsClient, index: u16, source: &str) {
    let device = format!("camera{index}");
    subscribe(ws, json!(["recording.*"])).await;
    let r = ws
        .ok(
            "start_recording",
            json!({"device": device, "format": "mkv"}),
        )
        .await;
    assert_eq!(r["source"], source, "{r}");
    let status = ws.ok("get_camera_status", json!({"device": device})).await;
    assert_eq!(status["recording"]["source"], source, "{status}");
    let file = recording_path(svc, &r["filename"]);
    file_grows(&file).await;

    svc.unplug_sim(index);
    let e = event(ws, "recording.error").await;
    assert_eq!(e["device"], device.as_str(), "{e}");
    assert_eq!(e["filename"], r["filename"], "{e}");
    assert_eq!(e["status"], "FAILED", "{e}");
    assert!(
        e["reason"]
            .as_str()
            .is_some_and(|s| s.contains("went away")),
        "{e}"
    );
    assert!(e["file_size"].as_u64().is_some_and(|n| n > 0), "{e}");

    assert_playable(
        &file,
        (r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap()),
    );
    let stop = ws.err("stop_recording", json!({"device": device})).await;
    assert_eq!(stop["code"], -32020, "nothing records any more: {stop}");
    let m = ws.ok("get_metrics", json!({})).await;
    assert_eq!(m["recordings"]["failed_total"], 1, "{m}");
    assert_eq!(m["recordings"]["active"], 0, "{m}");
    assert!(
        ffmpegs_with(file.to_str().unwrap()).is_empty(),
        "the recorder of {} is still running",
        file.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_a_camera_unplugged_mid_recording_ends_it_with_an_error_and_a_playable_file() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    svc.plug_sim(4, "Gate");
    connected(&mut ws, "camera4").await;
    unplug_mid_recording(&svc, &mut ws, 4, "device").await;
}

/// camera0 records from MediaMTX (on `rtsp_port`) while a viewer comes and goes; `fake`
/// adds the checks only the fake can make.
async fn record_from_the_stream(
    svc: &TestService,
    rtsp_port: u16,
    fake: Option<&fakemtx::FakeMediamtx>,
) {
    let mut ws = svc.ws_as(Role::Admin).await;
    media_mode_is_mediamtx(&mut ws).await;

    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    assert_eq!(r["source"], "stream", "{r}");
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(768), Some(432)),
        "{r}"
    );
    let file = recording_path(svc, &r["filename"]);
    file_grows(&file).await;

    // The recorder is a reader of the path; the publisher is the only one making pictures.
    let port = rtsp_port;
    let recorders = ffmpegs_with(file.to_str().unwrap());
    assert_eq!(recorders.len(), 1, "one recorder: {recorders:?}");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", recorders[0]))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default();
    assert!(
        cmdline.contains(&format!("rtsp://127.0.0.1:{port}/camera0")) && cmdline.contains("copy"),
        "the recorder copies the stream: {cmdline}"
    );
    assert!(
        !cmdline.contains("lavfi"),
        "the recorder makes no pictures: {cmdline}"
    );
    let publishers = ffmpegs_with(&format!("localhost:{port}/camera0"));
    assert_eq!(publishers.len(), 1, "one publisher: {publishers:?}");
    if let Some(fake) = fake {
        assert_eq!(fake.on_demand_starts("camera0"), 1);
        let path = fake.path("camera0").expect("the path runs");
        assert_eq!(path["ready"], true, "{path}");
        assert!(
            path["readers"].as_array().is_some_and(|r| !r.is_empty()),
            "{path}"
        );
    }

    // A snapshot meanwhile comes from the stream, not from the device.
    let snap = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
    assert!(matches!(snap["tier"].as_u64(), Some(1 | 2)), "{snap}");

    // A viewer comes and goes; the recording goes on.
    let s = ws.ok("start_streaming", json!({"device": "camera0"})).await;
    assert_eq!(s["ready"], true, "{s}");
    let stopped = ws.ok("stop_streaming", json!({"device": "camera0"})).await;
    assert!(
        stopped["held_by"]
            .as_array()
            .is_some_and(|h| h.contains(&json!("recording"))),
        "{stopped}"
    );
    file_grows(&file).await;
    let status = ws
        .ok("get_camera_status", json!({"device": "camera0"}))
        .await;
    assert_eq!(status["recording"]["status"], "RECORDING", "{status}");
    assert_eq!(status["recording"]["source"], "stream", "{status}");
    assert_eq!(
        ffmpegs_with(&format!("localhost:{port}/camera0")),
        publishers,
        "the publisher was never restarted"
    );

    let done = ws.ok("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(done["status"], "STOPPED", "{done}");
    assert!(done["duration"].as_f64().is_some_and(|d| d > 0.0), "{done}");
    assert_playable(&file, (768, 432));
    assert!(
        ffmpegs_with(file.to_str().unwrap()).is_empty(),
        "the recorder ended"
    );
    // stop_recording gave back the recording's hold.
    let after = ws.ok("stop_streaming", json!({"device": "camera0"})).await;
    assert!(
        after["held_by"]
            .as_array()
            .is_some_and(|h| !h.contains(&json!("recording"))),
        "{after}"
    );
}

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
                let test = concat!("mediamtx_recording::", stringify!($scenario), "::real_mediamtx");
                let Some(mtx) = super::Mtx::real(test) else { return };
                super::$scenario(mtx).await;
            }
        }
    )*};
}

on_both!(
    mediamtx_a_recording_reads_the_stream_and_outlives_a_viewer,
    mediamtx_a_camera_unplugged_mid_recording_ends_it_with_an_error_and_a_playable_file,
    mediamtx_a_stream_that_ends_mid_recording_is_an_error_and_the_file_plays,
    auto_a_recording_goes_on_from_the_device_when_mediamtx_dies,
);

async fn mediamtx_a_recording_reads_the_stream_and_outlives_a_viewer(mtx: Mtx) {
    let svc = start_on(&mtx, "mediamtx");
    record_from_the_stream(&svc, mtx.rtsp_port(), mtx.fake_ref()).await;
    drop(svc);
    mtx.stop().await;
}

async fn mediamtx_a_camera_unplugged_mid_recording_ends_it_with_an_error_and_a_playable_file(
    mtx: Mtx,
) {
    let svc = start_on(&mtx, "mediamtx");
    let mut ws = svc.ws_as(Role::Admin).await;
    svc.plug_sim(5, "Yard");
    connected(&mut ws, "camera5").await;
    serving(&mut ws, &mtx, "camera5").await;
    unplug_mid_recording(&svc, &mut ws, 5, "stream").await;
    drop(svc);
    mtx.stop().await;
}

async fn mediamtx_a_stream_that_ends_mid_recording_is_an_error_and_the_file_plays(mut mtx: Mtx) {
    let svc = start_on(&mtx, "mediamtx");
    let mut ws = svc.ws_as(Role::Admin).await;
    serving(&mut ws, &mtx, "camera1").await;
    subscribe(&mut ws, json!(["recording.*"])).await;
    let r = ws.ok("start_recording", json!({"device": "camera1"})).await;
    assert_eq!(r["source"], "stream", "{r}");
    let file = recording_path(&svc, &r["filename"]);
    file_grows(&file).await;

    // MediaMTX restarts empty: the publisher is killed and the readers' sessions end.
    mtx.restart_empty().await;
    let e = event(&mut ws, "recording.error").await;
    assert_eq!(e["filename"], r["filename"], "{e}");
    assert_eq!(e["status"], "FAILED", "{e}");
    assert!(e["reason"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
    assert_playable(&file, (768, 432));
    let m = ws.ok("get_metrics", json!({})).await;
    assert_eq!(m["recordings"]["failed_total"], 1, "{m}");
    // The camera records again once the path is back.
    serving(&mut ws, &mtx, "camera1").await;
    let again = ws.ok("start_recording", json!({"device": "camera1"})).await;
    assert_eq!(again["source"], "stream", "{again}");
    file_grows(&recording_path(&svc, &again["filename"])).await;
    ws.ok("stop_recording", json!({"device": "camera1"})).await;
    assert_playable(&recording_path(&svc, &again["filename"]), (768, 432));
    drop(svc);
    mtx.stop().await;
}

/// The promise: MediaMTX dies (killed) mid-recording in `auto`; the recording goes
/// on from the device in a second file, the client is told, `stop_recording` returns both
/// files and both play.
async fn auto_a_recording_goes_on_from_the_device_when_mediamtx_dies(mut mtx: Mtx) {
    let svc = start_on(&mtx, "auto");
    let mut ws = svc.ws_as(Role::Admin).await;
    serving(&mut ws, &mtx, "camera0").await;
    subscribe(&mut ws, json!(["recording.*"])).await;
    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    assert_eq!(r["source"], "stream", "{r}");
    let first = recording_path(&svc, &r["filename"]);
    file_grows(&first).await;

    mtx.die().await;
    let e = event(&mut ws, "recording.source_changed").await;
    assert_eq!(
        (
            e["device"].as_str(),
            e["status"].as_str(),
            e["source"].as_str(),
            e["previous_source"].as_str()
        ),
        (
            Some("camera0"),
            Some("RECORDING"),
            Some("device"),
            Some("stream")
        ),
        "{e}"
    );
    assert_eq!(e["filename"], r["filename"], "the same recording: {e}");
    assert!(e["reason"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
    let new_file = e["new_file"]
        .as_str()
        .expect("the new file's name")
        .to_owned();
    assert_ne!(json!(new_file), r["filename"], "{e}");
    assert_eq!(e["files"], json!([r["filename"], new_file]), "{e}");
    let second = recording_path(&svc, &json!(new_file));
    file_grows(&second).await;

    let status = ws
        .ok("get_camera_status", json!({"device": "camera0"}))
        .await;
    assert_eq!(
        (
            status["recording"]["status"].as_str(),
            status["recording"]["source"].as_str()
        ),
        (Some("RECORDING"), Some("device")),
        "{status}"
    );
    assert_eq!(status["recording"]["filename"], r["filename"], "{status}");
    // The first file is finished and plays while the second is written.
    assert_playable(&first, (768, 432));

    let done = ws.ok("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(done["status"], "STOPPED", "{done}");
    assert_eq!(done["filename"], r["filename"], "{done}");
    assert_eq!(done["files"], json!([r["filename"], new_file]), "{done}");
    assert!(done["duration"].as_f64().is_some_and(|d| d > 0.0), "{done}");
    let sizes =
        std::fs::metadata(&first).unwrap().len() + std::fs::metadata(&second).unwrap().len();
    assert_eq!(done["file_size"].as_u64(), Some(sizes), "{done}");
    assert_playable(&first, (768, 432));
    assert_playable(&second, (768, 432));
    let stop = event(&mut ws, "recording.stop").await;
    assert_eq!(stop["stop_reason"], "requested", "{stop}");
    let m = ws.ok("get_metrics", json!({})).await;
    assert_eq!(m["recordings"]["failed_total"], 0, "nothing was lost: {m}");
    assert_eq!(m["recordings"]["active"], 0, "{m}");
    let listed = ws.ok("list_recordings", json!({})).await;
    let names: Vec<&str> = listed["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["filename"].as_str())
        .collect();
    assert!(
        names.contains(&r["filename"].as_str().unwrap()) && names.contains(&new_file.as_str()),
        "{listed}"
    );
    assert!(
        ffmpegs_with(second.to_str().unwrap()).is_empty(),
        "the recorder ended"
    );

    // MediaMTX back: the next recording reads the stream again.
    mtx.come_back().await;
    serving(&mut ws, &mtx, "camera0").await;
    let again = ws.ok("start_recording", json!({"device": "camera0"})).await;
    assert_eq!(again["source"], "stream", "{again}");
    ws.ok("stop_recording", json!({"device": "camera0"})).await;
    drop(svc);
    mtx.stop().await;
}
