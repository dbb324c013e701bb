//! Recordings and snapshots as files, black-box: listing, facts, deletion, downloads with
//! Range and ETag, traversal attempts, storage figures and retention.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cs_tests::http;
use cs_tests::TestService;
use domain::Role;
use serde_json::{json, Value};

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// Writes a file into a collection as if it were `age_secs` old.
fn plant(dir: &Path, name: &str, bytes: usize, age_secs: u64) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, vec![7u8; bytes]).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(age_secs))
        .unwrap();
    path
}

fn recordings(svc: &TestService) -> PathBuf {
    svc.dir.path().join("recordings")
}

fn snapshots(svc: &TestService) -> PathBuf {
    svc.dir.path().join("snapshots")
}

fn names(list: &Value) -> Vec<String> {
    list["files"]
        .as_array()
        .expect("a files list")
        .iter()
        .map(|f| f["filename"].as_str().unwrap().to_owned())
        .collect()
}

/// A real little H.264 MP4, `secs` long, `w`x`h`, made by the ffmpeg CLI.
fn make_video(path: &Path, secs: u32, w: u32, h: u32) {
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={w}x{h}:rate=25"))
        .args([
            "-t",
            &secs.to_string(),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(path)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "ffmpeg made {}", path.display());
}

#[tokio::test]
async fn listing_is_newest_first_with_paging_and_a_device_filter() {
    let svc = TestService::start();
    let dir = recordings(&svc);
    plant(&dir, "camera0_a.mp4", 100, 5 * HOUR);
    plant(&dir, "camera1_b.mp4", 200, 4 * HOUR);
    plant(&dir, "camera0_c.mkv", 300, 3 * HOUR);
    plant(&dir, "camera2_d.mp4", 400, 2 * HOUR);
    plant(&dir, "other.mp4", 500, HOUR);
    plant(&dir, "notes.txt", 1, 0);
    let mut ws = svc.ws_as(Role::Viewer).await;

    let all = ws.ok("list_recordings", Value::Null).await;
    assert_eq!(all["total"], 5);
    assert_eq!(
        (all["limit"].clone(), all["offset"].clone()),
        (json!(50), json!(0))
    );
    assert_eq!(
        names(&all),
        [
            "other.mp4",
            "camera2_d.mp4",
            "camera0_c.mkv",
            "camera1_b.mp4",
            "camera0_a.mp4"
        ]
    );
    let c = &all["files"][2];
    assert_eq!(c["device"], "camera0");
    assert_eq!(c["file_size"], 300);
    assert_eq!(c["format"], "mkv");
    assert_eq!(c["download_url"], "/files/recordings/camera0_c.mkv");
    assert!(c["created_time"].as_str().unwrap().ends_with('Z'));
    assert!(c["modified_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(all["files"][0]["device"], Value::Null);

    let page = ws
        .ok("list_recordings", json!({"limit": 2, "offset": 1}))
        .await;
    assert_eq!(page["total"], 5);
    assert_eq!(names(&page), ["camera2_d.mp4", "camera0_c.mkv"]);
    let past = ws
        .ok("list_recordings", json!({"limit": 2, "offset": 10}))
        .await;
    assert_eq!((past["total"].clone(), names(&past).len()), (json!(5), 0));

    let cam0 = ws.ok("list_recordings", json!({"device": "camera0"})).await;
    assert_eq!(cam0["total"], 2);
    assert_eq!(names(&cam0), ["camera0_c.mkv", "camera0_a.mp4"]);
    let e = ws
        .err("list_recordings", json!({"device": "/dev/video0"}))
        .await;
    assert_eq!(e["code"], -32602);
}

#[tokio::test]
async fn snapshots_are_listed_with_their_real_sizes() {
    let svc = TestService::start();
    let mut op = svc.ws_as(Role::Operator).await;
    let a = op.ok("take_snapshot", json!({"device": "camera0"})).await;
    let b = op
        .ok(
            "take_snapshot",
            json!({"device": "camera1", "format": "png"}),
        )
        .await;
    let list = op.ok("list_snapshots", Value::Null).await;
    assert_eq!(list["total"], 2);
    assert_eq!(
        names(&list),
        [
            b["filename"].as_str().unwrap(),
            a["filename"].as_str().unwrap()
        ]
    );
    for (f, r) in list["files"].as_array().unwrap().iter().zip([&b, &a]) {
        assert_eq!(f["file_size"], r["file_size"]);
        assert_eq!(f["format"], r["format"]);
    }
    let one = op.ok("list_snapshots", json!({"device": "camera1"})).await;
    assert_eq!(names(&one), [b["filename"].as_str().unwrap()]);
}

#[tokio::test]
async fn recording_info_reads_the_file_and_follows_its_changes() {
    let svc = TestService::start();
    let path = recordings(&svc).join("camera0_probe.mp4");
    make_video(&path, 2, 320, 240);
    let mut ws = svc.ws_as(Role::Viewer).await;
    let info = ws
        .ok(
            "get_recording_info",
            json!({"filename": "camera0_probe.mp4"}),
        )
        .await;
    assert!(
        (info["duration"].as_f64().unwrap() - 2.0).abs() < 0.1,
        "{info}"
    );
    assert_eq!(
        info["video"],
        json!({"codec": "h264", "width": 320, "height": 240, "fps": 25.0})
    );
    assert_eq!(
        info["file_size"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len())
    );
    assert_eq!(info["device"], "camera0");

    // Another video under the same name: the remembered facts are not reused.
    make_video(&path, 1, 160, 120);
    let again = ws
        .ok(
            "get_recording_info",
            json!({"filename": "camera0_probe.mp4"}),
        )
        .await;
    assert_eq!(again["video"]["width"], 160);
    assert!(
        (again["duration"].as_f64().unwrap() - 1.0).abs() < 0.1,
        "{again}"
    );
}

#[tokio::test]
async fn snapshot_info_gives_the_picture_size() {
    let svc = TestService::start();
    let mut op = svc.ws_as(Role::Operator).await;
    let r = op.ok("take_snapshot", json!({"device": "camera0"})).await;
    let info = op
        .ok("get_snapshot_info", json!({"filename": r["filename"]}))
        .await;
    assert_eq!(
        (info["width"].clone(), info["height"].clone()),
        (json!(1280), json!(720))
    );
    assert_eq!(info["file_size"], r["file_size"]);
    assert_eq!(info["format"], "jpg");
}

#[tokio::test]
async fn missing_files_are_file_not_found() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    // A snapshot's name asked as a recording is not a recording.
    plant(&snapshots(&svc), "camera0_x.jpg", 10, 0);
    for (method, name) in [
        ("get_recording_info", "nope.mp4"),
        ("get_snapshot_info", "nope.jpg"),
        ("delete_recording", "nope.mp4"),
        ("delete_snapshot", "nope.jpg"),
        ("get_recording_info", "camera0_x.jpg"),
        ("delete_recording", "camera0_x.jpg"),
    ] {
        let e = ws.err(method, json!({"filename": name})).await;
        assert_eq!(e["code"], -32005, "{method} {name}: {e}");
        assert_eq!(e["data"]["filename"], name);
    }
    assert!(snapshots(&svc).join("camera0_x.jpg").exists());
}

#[tokio::test]
async fn deleting_removes_the_file_but_not_one_being_recorded() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    let e = ws
        .err("delete_recording", json!({"filename": r["filename"]}))
        .await;
    assert_eq!(e["code"], -32004, "{e}");
    assert_eq!(e["data"]["filename"], r["filename"]);
    let listed = ws.ok("list_recordings", Value::Null).await;
    assert_eq!(listed["files"][0]["in_progress"], true);
    ws.ok("stop_recording", json!({"device": "camera0"})).await;

    let d = ws
        .ok("delete_recording", json!({"filename": r["filename"]}))
        .await;
    assert_eq!(d, json!({"filename": r["filename"], "deleted": true}));
    assert!(!recordings(&svc)
        .join(r["filename"].as_str().unwrap())
        .exists());
    let e = ws
        .err("get_recording_info", json!({"filename": r["filename"]}))
        .await;
    assert_eq!(e["code"], -32005);

    let s = ws.ok("take_snapshot", json!({"device": "camera1"})).await;
    ws.ok("delete_snapshot", json!({"filename": s["filename"]}))
        .await;
    assert_eq!(ws.ok("list_snapshots", Value::Null).await["total"], 0);
}

#[tokio::test]
async fn traversal_names_are_refused_on_every_file_method_and_http_path() {
    let svc = TestService::start();
    // Something worth stealing next to the collections.
    std::fs::write(svc.dir.path().join("secret.jpg"), b"TOP-SECRET-CONTENT").unwrap();
    std::fs::write(svc.dir.path().join("secret.mp4"), b"TOP-SECRET-CONTENT").unwrap();
    let mut ws = svc.ws_as(Role::Admin).await;
    let bad = [
        "../x",
        "a/b",
        "%2e%2e",
        "..",
        "../secret.mp4",
        "..%2fsecret.jpg",
        "/etc/passwd",
        ".hidden",
    ];
    for name in bad {
        for method in [
            "get_recording_info",
            "get_snapshot_info",
            "delete_recording",
            "delete_snapshot",
        ] {
            let e = ws.err(method, json!({"filename": name})).await;
            assert_eq!(e["code"], -32602, "{method} {name:?}: {e}");
        }
        let e = ws
            .err(
                "take_snapshot",
                json!({"device": "camera0", "filename": name}),
            )
            .await;
        assert_eq!(e["code"], -32602, "take_snapshot {name:?}: {e}");
    }
    let token = svc.token(Role::Admin, 600);
    let auth = format!("Bearer {token}");
    for path in [
        "/files/recordings/../secret.mp4",
        "/files/recordings/..%2fsecret.mp4",
        "/files/recordings/%2e%2e%2fsecret.mp4",
        "/files/recordings/%2e%2e",
        "/files/snapshots/a/b",
        "/files/snapshots/..%2F..%2Fsecret.jpg",
        "/files/snapshots/%2e%2e/secret.jpg",
        "/files/../secret.jpg",
        "/files/snapshots/.hidden",
    ] {
        let r = http::get(svc.addr, path, &[("Authorization", &auth)]).await;
        assert!(
            r.status == 400 || r.status == 404,
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(
            !r.text().contains("TOP-SECRET-CONTENT"),
            "{path} leaked: {}",
            r.text()
        );
    }
    assert!(svc.dir.path().join("secret.mp4").exists());
}

#[tokio::test]
async fn downloads_serve_ranges_etags_and_content_types() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let r = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
    let name = r["filename"].as_str().unwrap();
    let bytes = std::fs::read(snapshots(&svc).join(name)).unwrap();
    let url = format!("/files/snapshots/{name}");
    let auth = format!("Bearer {}", svc.token(Role::Viewer, 600));

    let whole = http::get(svc.addr, &url, &[("Authorization", &auth)]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("image/jpeg"));
    assert_eq!(whole.body, bytes);
    let etag = whole.header("etag").expect("an ETag").to_owned();

    let part = http::get(
        svc.addr,
        &url,
        &[("Authorization", &auth), ("Range", "bytes=100-199")],
    )
    .await;
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", bytes.len()).as_str())
    );
    assert_eq!(part.body, bytes[100..200]);
    let tail = http::get(
        svc.addr,
        &url,
        &[("Authorization", &auth), ("Range", "bytes=-50")],
    )
    .await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, bytes[bytes.len() - 50..]);

    let same = http::get(
        svc.addr,
        &url,
        &[("Authorization", &auth), ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(same.status, 304);
    let none = http::get(svc.addr, &url, &[]).await;
    assert_eq!(none.status, 401);
    let missing = http::get(
        svc.addr,
        "/files/snapshots/nope.jpg",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(missing.status, 404);

    // A recording, with an API key this time.
    let out = svc.cli(&["keys", "add", "--role", "viewer", "--label", "downloads"]);
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let rec = ws
        .ok(
            "start_recording",
            json!({"device": "camera1", "duration": 1}),
        )
        .await;
    // The planned second ends the recording by itself: wait for that, not a fixed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !ws
        .ok("get_camera_status", json!({"device": "camera1"}))
        .await["recording"]
        .is_null()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the one-second recording ends"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rec_url = format!("/files/recordings/{}", rec["filename"].as_str().unwrap());
    let video = http::get(
        svc.addr,
        &rec_url,
        &[("Authorization", &format!("Bearer {key}"))],
    )
    .await;
    assert_eq!(video.status, 200);
    assert_eq!(video.header("content-type"), Some("video/mp4"));
    assert_eq!(
        video.body,
        std::fs::read(recordings(&svc).join(rec["filename"].as_str().unwrap())).unwrap()
    );
}

#[tokio::test]
async fn storage_info_counts_the_collections() {
    let svc = TestService::start();
    plant(&recordings(&svc), "camera0_a.mp4", 1000, 0);
    plant(&recordings(&svc), "camera0_b.mkv", 2000, 0);
    plant(&snapshots(&svc), "camera0_c.jpg", 30, 0);
    let mut ws = svc.ws_as(Role::Admin).await;
    let s = ws.ok("get_storage_info", Value::Null).await;
    assert_eq!(
        (s["recordings_count"].clone(), s["recordings_bytes"].clone()),
        (json!(2), json!(3000))
    );
    assert_eq!(
        (s["snapshots_count"].clone(), s["snapshots_bytes"].clone()),
        (json!(1), json!(30))
    );
    let (total, used, available) = (
        s["total_bytes"].as_u64().unwrap(),
        s["used_bytes"].as_u64().unwrap(),
        s["available_bytes"].as_u64().unwrap(),
    );
    assert!(total > 0 && used <= total && available <= total, "{s}");
    let pct = s["usage_percent"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&pct));
    assert!(s["low_space_warning"].is_boolean());
    assert_eq!(s["retention"]["enabled"], false);
    let e = svc
        .ws_as(Role::Operator)
        .await
        .err("get_storage_info", Value::Null)
        .await;
    assert_eq!(e["code"], -32002);
}

#[tokio::test]
async fn the_retention_policy_survives_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let over = format!("storage: {{state_dir: {}}}", state.path().display());
    let policy = json!({"enabled": true, "max_age_days": 7.0, "max_size_gb": 1.5});
    {
        let svc = TestService::builder().config(&over).start();
        let mut ws = svc.ws_as(Role::Admin).await;
        let r = ws
            .ok(
                "set_retention_policy",
                json!({"enabled": true, "max_age_days": 7, "max_size_gb": 1.5}),
            )
            .await;
        assert_eq!(r["policy"], policy);
        // Only the named fields change.
        let r = ws
            .ok("set_retention_policy", json!({"max_age_days": 7}))
            .await;
        assert_eq!(r["policy"], policy);
        let e = ws
            .err("set_retention_policy", json!({"max_age_days": 0}))
            .await;
        assert_eq!(e["code"], -32602);
    }
    let svc = TestService::builder().config(&over).start();
    let mut ws = svc.ws_as(Role::Admin).await;
    assert_eq!(
        ws.ok("get_storage_info", Value::Null).await["retention"],
        policy
    );
}

#[tokio::test]
async fn cleanup_deletes_exactly_what_the_policy_selects() {
    let svc = TestService::start();
    let (rec, snap) = (recordings(&svc), snapshots(&svc));
    plant(&rec, "camera0_old.mp4", 1000, 40 * DAY);
    plant(&snap, "camera0_old.jpg", 100, 31 * DAY);
    plant(&rec, "camera0_mid.mp4", 1000, 10 * DAY);
    plant(&snap, "camera0_new.jpg", 100, DAY);
    plant(&rec, "camera0_newest.mp4", 1000, HOUR);
    let mut ws = svc.ws_as(Role::Admin).await;
    ws.ok("set_retention_policy", json!({"max_age_days": 30}))
        .await;

    let dry = ws.ok("cleanup_old_files", json!({"dry_run": true})).await;
    assert_eq!(dry["files"], json!(["camera0_old.mp4", "camera0_old.jpg"]));
    assert_eq!(
        (
            dry["recordings_deleted"].clone(),
            dry["snapshots_deleted"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(dry["bytes_freed"], 1100);
    assert!(
        rec.join("camera0_old.mp4").exists(),
        "a dry run deletes nothing"
    );

    let done = ws.ok("cleanup_old_files", Value::Null).await;
    assert_eq!(done["files"], dry["files"]);
    assert_eq!(done["files_deleted"], 2);
    assert!(!rec.join("camera0_old.mp4").exists() && !snap.join("camera0_old.jpg").exists());

    // Then by size: 2,100 bytes left, at most 1,500 kept: the oldest go first.
    ws.ok("set_retention_policy", json!({"max_size_gb": 0.0000015}))
        .await;
    let by_size = ws.ok("cleanup_old_files", Value::Null).await;
    assert_eq!(by_size["files"], json!(["camera0_mid.mp4"]));
    let left = ws.ok("get_storage_info", Value::Null).await;
    assert_eq!(
        (
            left["recordings_count"].clone(),
            left["snapshots_count"].clone()
        ),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn cleanup_never_deletes_a_recording_being_written() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    let r = ws.ok("start_recording", json!({"device": "camera0"})).await;
    ws.ok("set_retention_policy", json!({"max_size_gb": 0.000000001}))
        .await;
    let done = ws.ok("cleanup_old_files", Value::Null).await;
    assert_eq!(done["files_deleted"], 0, "{done}");
    assert!(recordings(&svc)
        .join(r["filename"].as_str().unwrap())
        .exists());
    ws.ok("stop_recording", json!({"device": "camera0"})).await;
}

#[tokio::test]
async fn automatic_retention_runs_when_enabled() {
    let dirs = tempfile::tempdir().unwrap();
    let rec = dirs.path().join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    plant(&rec, "camera0_old.mp4", 10, 3 * DAY);
    plant(&rec, "camera0_new.mp4", 10, HOUR);
    let svc = TestService::builder()
        .config(&format!(
            "storage: {{recordings_dir: {}}}\nretention: {{enabled: true, max_age_days: 2, interval_secs: 10}}",
            rec.display()
        ))
        .start();
    let gone = TestService::eventually(20.0, || async {
        (!rec.join("camera0_old.mp4").exists()).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the old recording was not removed");
    assert!(rec.join("camera0_new.mp4").exists());
    drop(svc);
}
