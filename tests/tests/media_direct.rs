//! Snapshots and recordings in media mode `direct`, black-box: the real service binary,
//! simulated cameras (ffmpeg lavfi patterns), the real ffmpeg, and ffprobe as the judge.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cs_tests::procs::processes;
use cs_tests::{ffprobe, TestService, WsClient};
use domain::Role;
use serde_json::{json, Value};

fn probed_duration(path: &Path) -> f64 {
    ffprobe(path)["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0)
}

fn snapshot_path(svc: &TestService, name: &Value) -> PathBuf {
    svc.dir
        .path()
        .join("snapshots")
        .join(name.as_str().expect("a file name"))
}

fn recording_path(svc: &TestService, name: &Value) -> PathBuf {
    svc.dir
        .path()
        .join("recordings")
        .join(name.as_str().expect("a file name"))
}

async fn subscribe(ws: &mut WsClient, topics: Value) {
    let id = ws.ok("subscribe_events", json!({"topics": topics})).await;
    assert!(id.is_string() || id.is_number(), "{id}");
}

/// The next event of `topic` (others are skipped), within 20 s.
async fn event(ws: &mut WsClient, topic: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs_f64();
        let n = ws
            .notification(left)
            .await
            .unwrap_or_else(|| panic!("no {topic} event within 20 s"));
        if n["params"]["result"]["topic"] == topic {
            return n["params"]["result"].clone();
        }
    }
}

#[tokio::test]
async fn a_snapshot_is_a_decodable_jpeg_of_the_cameras_size() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let r = ws.ok("take_snapshot", json!({"device": "camera0"})).await;

    assert_eq!(r["device"], "camera0");
    assert_eq!(r["status"], "SUCCESS");
    assert_eq!(r["format"], "jpg");
    assert_eq!(r["tier"], 3);
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let name = r["filename"].as_str().unwrap();
    assert!(
        name.starts_with("camera0_") && name.ends_with("Z.jpg"),
        "{name}"
    );
    assert_eq!(r["download_url"], format!("/files/snapshots/{name}"));
    let path = snapshot_path(&svc, &r["filename"]);
    assert_eq!(
        r["file_size"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len())
    );
    let probe = ffprobe(&path);
    assert_eq!(probe["streams"][0]["codec_name"], "mjpeg");
    assert_eq!(probe["streams"][0]["width"], 1280);
    assert_eq!(probe["streams"][0]["height"], 720);
}

#[tokio::test]
async fn a_png_snapshot_is_a_png_and_the_client_may_name_it() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let r = ws
        .ok(
            "take_snapshot",
            json!({"device": "camera1", "format": "png", "filename": "front-door"}),
        )
        .await;
    assert_eq!(r["filename"], "front-door.png");
    assert_eq!(r["format"], "png");
    let probe = ffprobe(&snapshot_path(&svc, &r["filename"]));
    assert_eq!(probe["streams"][0]["codec_name"], "png");
    assert_eq!(probe["streams"][0]["width"], 1280);
}

#[tokio::test]
async fn two_snapshots_in_one_second_get_two_files() {
    let svc = TestService::start();
    let mut a = svc.ws_as(Role::Operator).await;
    let mut b = svc.ws_as(Role::Operator).await;
    // Two at once with default names, and two asking for the same name.
    let (ra, rb) = tokio::join!(
        a.ok("take_snapshot", json!({"device": "camera0"})),
        b.ok("take_snapshot", json!({"device": "camera0"}))
    );
    assert_ne!(ra["filename"], rb["filename"]);
    let first = a
        .ok(
            "take_snapshot",
            json!({"device": "camera0", "filename": "same.jpg"}),
        )
        .await;
    let second = a
        .ok(
            "take_snapshot",
            json!({"device": "camera0", "filename": "same.jpg"}),
        )
        .await;
    assert_eq!(first["filename"], "same.jpg");
    assert_eq!(second["filename"], "same-2.jpg");
    for r in [&ra, &rb, &first, &second] {
        let path = snapshot_path(&svc, &r["filename"]);
        assert_eq!(
            ffprobe(&path)["streams"][0]["codec_name"],
            "mjpeg",
            "{}",
            path.display()
        );
    }
}

#[tokio::test]
async fn a_three_second_recording_stops_by_itself() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    subscribe(&mut ws, json!(["recording.*"])).await;
    let r = ws
        .ok(
            "start_recording",
            json!({"device": "camera0", "duration": 3, "format": "mp4"}),
        )
        .await;
    assert_eq!(r["status"], "RECORDING");
    assert_eq!(r["duration"], 3.0);
    assert_eq!(r["format"], "mp4");
    let stop = event(&mut ws, "recording.stop").await;
    assert_eq!(stop["filename"], r["filename"]);

    let d = probed_duration(&recording_path(&svc, &r["filename"]));
    assert!((d - 3.0).abs() <= 0.5, "ffprobe says {d} s");
    let status = ws
        .ok("get_camera_status", json!({"device": "camera0"}))
        .await;
    assert_eq!(status["recording"], Value::Null);
}

#[tokio::test]
async fn start_stop_round_trip_reports_the_files_duration_and_size() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let start = ws
        .ok(
            "start_recording",
            json!({"device": "camera1", "format": "mkv"}),
        )
        .await;
    assert_eq!(start["duration"], Value::Null);
    let status = ws
        .ok("get_camera_status", json!({"device": "camera1"}))
        .await;
    assert_eq!(status["recording"]["filename"], start["filename"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let stop = ws.ok("stop_recording", json!({"device": "camera1"})).await;

    assert_eq!(stop["status"], "STOPPED");
    assert_eq!(stop["filename"], start["filename"]);
    assert_eq!(stop["start_time"], start["start_time"]);
    assert!(stop["end_time"].as_str() > stop["start_time"].as_str());
    let path = recording_path(&svc, &stop["filename"]);
    assert_eq!(
        stop["file_size"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len())
    );
    let reported = stop["duration"].as_f64().unwrap();
    let probed = probed_duration(&path);
    assert!(
        (reported - probed).abs() <= 0.5,
        "reported {reported} s, ffprobe {probed} s"
    );
    assert!(probed > 1.5, "ffprobe {probed} s");
    assert_eq!(ffprobe(&path)["format"]["format_name"], "matroska,webm");
}

#[tokio::test]
async fn recordings_are_h264_in_the_stanag_4406_profile() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let r = ws
        .ok(
            "start_recording",
            json!({"device": "camera0", "duration": 1}),
        )
        .await;
    let stopped = svc_wait_idle(&mut ws, "camera0").await;
    assert!(stopped, "the 1 s recording did not end");
    let probe = ffprobe(&recording_path(&svc, &r["filename"]));
    let v = &probe["streams"][0];
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["profile"], "Constrained Baseline");
    assert!(v["level"].as_i64().unwrap() <= 30, "{v}");
    assert_eq!(v["pix_fmt"], "yuv420p");
    assert!(
        v["width"].as_u64().unwrap() <= 1280 && v["height"].as_u64().unwrap() <= 720,
        "{v}"
    );
}

/// Polls the camera until no recording is under way (at most 20 s).
async fn svc_wait_idle(ws: &mut WsClient, device: &str) -> bool {
    for _ in 0..200 {
        let s = ws.ok("get_camera_status", json!({"device": device})).await;
        if s["recording"].is_null() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn one_recording_per_camera_and_stop_needs_one() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let e = ws.err("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(e["code"], -32020, "{e}");
    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    let e = ws
        .err("start_recording", json!({"device": "camera0"}))
        .await;
    assert_eq!(e["code"], -32004, "{e}");
    assert_eq!(e["data"]["filename"], r["filename"]);
    // The other camera is free.
    ws.ok("start_recording", json!({"device": "camera1"})).await;
    ws.ok("stop_recording", json!({"device": "camera0"})).await;
    ws.ok("stop_recording", json!({"device": "camera1"})).await;
    let e = ws.err("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(e["code"], -32020, "{e}");
}

#[tokio::test]
async fn a_snapshot_while_recording_still_works() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    ws.ok("start_recording", json!({"device": "camera0"})).await;
    let r = ws
        .ok("take_snapshot", json!({"device": "camera0", "quality": 60}))
        .await;
    assert_eq!(r["tier"], 3);
    let probe = ffprobe(&snapshot_path(&svc, &r["filename"]));
    assert_eq!(probe["streams"][0]["width"], 1280);
    assert_eq!(probe["streams"][0]["height"], 720);
    ws.ok("stop_recording", json!({"device": "camera0"})).await;
}

#[tokio::test]
async fn killing_the_service_mid_recording_leaves_a_playable_file() {
    let mut svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let mp4 = ws
        .ok(
            "start_recording",
            json!({"device": "camera0", "format": "mp4"}),
        )
        .await;
    let mkv = ws
        .ok(
            "start_recording",
            json!({"device": "camera1", "format": "mkv"}),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    svc.kill9();
    for r in [&mp4, &mkv] {
        let path = recording_path(&svc, &r["filename"]);
        // The recorder learns of the death at once and finishes its file; give it a moment.
        let mut d = 0.0;
        for _ in 0..50 {
            d = probed_duration(&path);
            if d > 0.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            d > 0.0,
            "{} has no duration after the service was killed",
            path.display()
        );
        // And nothing goes on recording into it without the service.
        let mut writers = writers_of(&path);
        for _ in 0..50 {
            if writers.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            writers = writers_of(&path);
        }
        assert!(
            writers.is_empty(),
            "processes still write {}: {writers:?}",
            path.display()
        );
    }
}

/// Live processes whose command line names `path`.
fn writers_of(path: &Path) -> Vec<i32> {
    let needle = path.to_string_lossy();
    processes()
        .into_iter()
        .filter(|p| !p.zombie && p.cmdline.contains(needle.as_ref()))
        .map(|p| p.pid)
        .collect()
}

/// The ffmpeg processes whose parent is `pid`.
fn ffmpeg_children(pid: u32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| i64::from(p.ppid) == i64::from(pid) && p.comm == "ffmpeg")
        .map(|p| p.pid)
        .collect()
}

#[tokio::test]
async fn a_dying_ffmpeg_is_reported_and_its_file_stays_playable() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    subscribe(&mut ws, json!(["recording.error"])).await;
    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let children = ffmpeg_children(svc.pid());
    assert_eq!(children.len(), 1, "one ffmpeg records: {children:?}");
    std::process::Command::new("kill")
        .args(["-9", &children[0].to_string()])
        .status()
        .unwrap();

    let e = event(&mut ws, "recording.error").await;
    assert_eq!(e["filename"], r["filename"]);
    assert_eq!(e["device"], "camera0");
    assert!(
        e["reason"].as_str().is_some_and(|s| s.contains("signal 9")),
        "{e}"
    );
    assert!(probed_duration(&recording_path(&svc, &r["filename"])) > 0.0);
    assert!(svc_wait_idle(&mut ws, "camera0").await);
    // The camera can record again.
    ws.ok("start_recording", json!({"device": "camera0"})).await;
    ws.ok("stop_recording", json!({"device": "camera0"})).await;
}

#[tokio::test]
async fn snapshot_and_recording_events_reach_operators() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    subscribe(&mut ws, json!(["snapshot.taken"])).await;
    let r = ws.ok("take_snapshot", json!({"device": "camera1"})).await;
    let e = event(&mut ws, "snapshot.taken").await;
    assert_eq!(e["device"], "camera1");
    assert_eq!(e["filename"], r["filename"]);
    assert_eq!(e["file_size"], r["file_size"]);
}

#[tokio::test]
async fn captures_are_refused_below_the_free_space_floor() {
    let svc = TestService::builder()
        .config("storage: {min_free_bytes: 1000000000000000000}")
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    for (method, params) in [
        ("take_snapshot", json!({"device": "camera0"})),
        ("start_recording", json!({"device": "camera0"})),
    ] {
        let e = ws.err(method, params).await;
        assert_eq!(e["code"], -32060, "{method}: {e}");
        assert_eq!(e["data"]["reason"], "insufficient_storage");
    }
    let files: Vec<_> = std::fs::read_dir(svc.dir.path().join("snapshots"))
        .unwrap()
        .collect();
    assert!(files.is_empty(), "a refused capture leaves no file");
}

#[tokio::test]
async fn an_unknown_camera_is_camera_not_found() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    for method in ["take_snapshot", "start_recording", "stop_recording"] {
        let e = ws.err(method, json!({"device": "camera42"})).await;
        assert_eq!(e["code"], -32000, "{method}: {e}");
        assert_eq!(e["data"]["available"], json!(["camera0", "camera1"]));
    }
}

#[tokio::test]
async fn without_ffmpeg_captures_are_dependency_unavailable() {
    let svc = TestService::builder()
        .config("media: {ffmpeg: /nonexistent/ffmpeg}")
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    for (method, params) in [
        ("take_snapshot", json!({"device": "camera0"})),
        ("start_recording", json!({"device": "camera0"})),
    ] {
        let e = ws.err(method, params).await;
        assert_eq!(e["code"], -32050, "{method}: {e}");
        assert_eq!(e["data"]["dependency"], "ffmpeg");
    }
    // Health says why.
    let degraded = TestService::eventually(10.0, || async {
        let s = svc
            .ws_as(Role::Viewer)
            .await
            .ok("get_status", Value::Null)
            .await;
        (s["components"]["media_server"]["status"] == "DEGRADED").then_some(())
    })
    .await;
    assert!(
        degraded.is_some(),
        "health does not report the missing ffmpeg"
    );
}
