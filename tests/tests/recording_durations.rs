//! A recording of N seconds plays N seconds (issue 19, item 1), in both media modes: encoded
//! from the camera (`direct`) and copied from the camera's stream on a real MediaMTX
//! (`mediamtx`; skipped with a notice without one) and on the fake one. ffprobe is the judge;
//! the `recording.stop` event must report the file's own duration.
//!
//! `CS_RECORDING_DURATIONS=3,5,10,20` records those durations instead of the default two and
//! prints each measurement (the figures in docs/performance.md came from it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cs_tests::mediamtx::{real_mediamtx_bin, RealMediamtx};
use cs_tests::{ffprobe, TestService, WsClient};
use domain::Role;
use fakemtx::FakeMediamtx;
use serde_json::{json, Value};

/// How far the file's duration may be from the planned one (the bound).
const TOLERANCE_SECS: f64 = 0.1;
/// Generous bound for waits on a loaded box; not a timing claim.
const WAIT_SECS: f64 = 60.0;

fn durations() -> Vec<f64> {
    match std::env::var("CS_RECORDING_DURATIONS") {
        Ok(list) => list
            .split(',')
            .map(|d| {
                d.trim()
                    .parse()
                    .expect("CS_RECORDING_DURATIONS: seconds, comma-separated")
            })
            .collect(),
        Err(_) => vec![2.0, 5.0],
    }
}

/// ffprobe's duration of the file and its number of video packets.
fn probed(path: &Path) -> (f64, u64) {
    let j = ffprobe(path);
    let duration = j["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let packets = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (duration, packets)
}

fn recording_path(svc: &TestService, name: &Value) -> PathBuf {
    svc.dir
        .path()
        .join("recordings")
        .join(name.as_str().expect("a file name"))
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

/// Waits until the service says it serves through MediaMTX.
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

/// Records each duration on camera0 (mp4 and mkv in turn), then checks the files.
async fn recordings_last_what_was_asked(svc: &TestService, source: &str, label: &str) {
    let mut ws = svc.ws_as(Role::Admin).await;
    if source == "stream" {
        media_mode_is_mediamtx(&mut ws).await;
    }
    ws.ok("subscribe_events", json!({"topics": ["recording.*"]}))
        .await;
    let mut failures = Vec::new();
    for (i, planned) in durations().into_iter().enumerate() {
        let format = if i % 2 == 0 { "mp4" } else { "mkv" };
        let r = ws
            .ok(
                "start_recording",
                json!({"device": "camera0", "duration": planned, "format": format}),
            )
            .await;
        assert_eq!(r["source"], source, "{r}");
        let stop = event(&mut ws, "recording.stop").await;
        assert_eq!(stop["filename"], r["filename"], "{stop}");
        assert_eq!(stop["stop_reason"], "duration_reached", "{stop}");
        let file = recording_path(svc, &r["filename"]);
        let (duration, packets) = probed(&file);
        let reported = stop["duration"].as_f64().unwrap_or(-1.0);
        println!(
            "{label} {format} planned {planned} s: ffprobe {duration:.3} s ({packets} frames), recording.stop says {reported:.3} s"
        );
        if (duration - planned).abs() > TOLERANCE_SECS {
            failures.push(format!(
                "{format} of {planned} s plays {duration:.3} s ({packets} frames)"
            ));
        }
        if (reported - duration).abs() > 0.01 {
            failures.push(format!(
                "{format} of {planned} s: recording.stop says {reported} s, the file {duration:.3} s"
            ));
        }
    }
    assert!(failures.is_empty(), "{label}: {failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_recordings_play_as_long_as_planned() {
    let svc = TestService::start();
    recordings_last_what_was_asked(&svc, "device", "direct").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_mediamtx_stream_recordings_play_as_long_as_planned() {
    let Some(bin) = real_mediamtx_bin("the stream recording durations on a real MediaMTX") else {
        return;
    };
    let mtx = RealMediamtx::start(&bin);
    let svc = TestService::builder()
        .config(&format!(
            "media: {{mode: mediamtx}}\nmediamtx: {{api_url: 'http://127.0.0.1:{}', reconcile_secs: 1, rtsp_port: {}}}\n",
            mtx.api, mtx.rtsp
        ))
        .start();
    recordings_last_what_was_asked(&svc, "stream", "real MediaMTX").await;
    drop(svc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_mediamtx_stream_recordings_play_as_long_as_planned() {
    let fake = FakeMediamtx::start()
        .await
        .expect("fake MediaMTX starts with the shared spec");
    let svc = TestService::builder()
        .config(&format!(
            "media: {{mode: mediamtx}}\nmediamtx: {{api_url: '{}', reconcile_secs: 1, request_timeout_ms: 1000, rtsp_port: {}}}\n",
            fake.api_url(),
            fake.rtsp_port()
        ))
        .start();
    recordings_last_what_was_asked(&svc, "stream", "fake MediaMTX").await;
    drop(svc);
    fake.stop().await;
}
