//! A stalled recording is noticed (issue 19, item 2): its source freezes (the recording's
//! ffmpeg, or the real MediaMTX it reads, stopped with SIGSTOP) and within
//! `recording.stall_secs` the client gets `recording.error` saying so, the file is finished
//! and plays, and the camera records no more.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cs_tests::mediamtx::{real_mediamtx_bin, RealMediamtx};
use cs_tests::procs::processes;
use cs_tests::{ffprobe, TestService, WsClient};
use domain::Role;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

const STALL: &str = "recording: {stall_secs: 3}\n";
/// Generous bound for waits on a loaded box; not a timing claim.
const WAIT_SECS: f64 = 60.0;

fn recording_path(svc: &TestService, name: &Value) -> PathBuf {
    svc.dir
        .path()
        .join("recordings")
        .join(name.as_str().expect("a file name"))
}

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

async fn file_grows(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) < 30_000 {
        assert!(
            Instant::now() < deadline,
            "{} does not grow",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn recorder_of(file: &std::path::Path) -> i32 {
    let needle = file.to_string_lossy();
    let found: Vec<i32> = processes()
        .into_iter()
        .filter(|p| !p.zombie && p.comm == "ffmpeg" && p.cmdline.contains(needle.as_ref()))
        .map(|p| p.pid)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one recorder of {}: {found:?}",
        file.display()
    );
    found[0]
}

/// Starts a recording on camera0, freezes `freeze` (a pid, or the recorder when `None`),
/// and checks what the client is told and what is left.
async fn a_frozen_source_stalls_the_recording(
    svc: &TestService,
    source: &str,
    freeze: Option<u32>,
) {
    let mut ws = svc.ws_as(Role::Admin).await;
    let deadline = Instant::now() + Duration::from_secs_f64(WAIT_SECS);
    if source == "stream" {
        loop {
            let info = ws.ok("get_server_info", json!({})).await;
            if info["media_mode"] == "mediamtx" {
                break;
            }
            assert!(Instant::now() < deadline, "MediaMTX never served: {info}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    ws.ok("subscribe_events", json!({"topics": ["recording.*"]}))
        .await;
    let r = ws
        .ok(
            "start_recording",
            json!({"device": "camera0", "format": "mkv"}),
        )
        .await;
    assert_eq!(r["source"], source, "{r}");
    let file = recording_path(svc, &r["filename"]);
    file_grows(&file).await;
    let pid = freeze.unwrap_or_else(|| recorder_of(&file) as u32);
    kill(Pid::from_raw(pid as i32), Signal::SIGSTOP).expect("stopped");
    let frozen = Instant::now();
    let e = event(&mut ws, "recording.error").await;
    let took = frozen.elapsed();
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
    assert_eq!(e["filename"], r["filename"], "{e}");
    assert_eq!(e["status"], "FAILED", "{e}");
    assert!(
        e["reason"].as_str().is_some_and(|s| s.contains("stalled")),
        "{e}"
    );
    assert!(
        // The stall counts from the last progress, up to a preview frame (0.5 s) before
        // the freeze.
        took >= Duration::from_millis(2400) && took <= Duration::from_secs(20),
        "declared stalled {took:?} after the freeze (stall_secs 3)"
    );
    let j = ffprobe(&file);
    assert_eq!(j["streams"][0]["codec_name"], "h264", "{j}");
    let status = ws
        .ok("get_camera_status", json!({"device": "camera0"}))
        .await;
    assert!(status["recording"].is_null(), "{status}");
    let stop = ws.err("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(stop["code"], -32020, "nothing records any more: {stop}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_a_recording_whose_ffmpeg_freezes_is_declared_stalled() {
    let svc = TestService::builder().config(STALL).start();
    a_frozen_source_stalls_the_recording(&svc, "device", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_stop_recording_answers_within_its_bound_when_ffmpeg_is_frozen() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    let file = recording_path(&svc, &r["filename"]);
    file_grows(&file).await;
    let pid = recorder_of(&file);
    kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("stopped");
    let asked = Instant::now();
    let done = ws
        .call("stop_recording", json!({"device": "camera0"}))
        .await;
    let took = asked.elapsed();
    let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
    // The documented bound: 5 s of grace, then the file's duration is read.
    assert!(
        took <= Duration::from_secs(7),
        "stop_recording took {took:?}: {done}"
    );
    assert_eq!(done["result"]["status"], "STOPPED", "{done}");
    assert!(ffprobe(&file)["format"]["duration"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_mediamtx_a_frozen_media_server_stalls_the_recording() {
    let Some(bin) = real_mediamtx_bin("the stall of a frozen real MediaMTX") else {
        return;
    };
    let mtx = RealMediamtx::start(&bin);
    let svc = TestService::builder()
        .config(&format!(
            "media: {{mode: mediamtx}}\nmediamtx: {{api_url: 'http://127.0.0.1:{}', reconcile_secs: 1, rtsp_port: {}}}\n{STALL}",
            mtx.api, mtx.rtsp
        ))
        .start();
    a_frozen_source_stalls_the_recording(&svc, "stream", mtx.pid()).await;
    drop(svc);
}
