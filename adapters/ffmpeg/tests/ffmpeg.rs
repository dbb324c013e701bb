//! The ffmpeg adapter against the real ffmpeg and ffprobe, with lavfi test patterns.
//!
//! One file of ~630 lines: every test runs the real ffmpeg through the same helpers.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cs_ffmpeg::{FfmpegCapture, FfprobeInspector, Settings};
use domain::api::{Quality, RecordingDuration};
use domain::files::{RecordingFormat, SnapshotFormat};
use domain::media::{CaptureMode, RecordingMode, VideoEncoding};
use domain::Resolution;
use ports::camera::CaptureSource;
use ports::capture::{
    Capture, CaptureError, MediaInspector, Recorder, RecordingEnd, RecordingRequest,
    RecordingSource, StillRequest,
};

mod common;
use common::ffprobe;

fn res(w: u32, h: u32) -> Resolution {
    Resolution::new(w, h).unwrap()
}

fn pattern() -> CaptureSource {
    CaptureSource::TestPattern {
        pattern: "testsrc2".into(),
    }
}

fn capture() -> FfmpegCapture {
    FfmpegCapture::new(Settings::default())
}

fn duration_of(path: &Path) -> f64 {
    let j = ffprobe(path);
    j["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0)
}

fn recording_mode(capture: Resolution) -> RecordingMode {
    let camera_fps = 30.0;
    let e = VideoEncoding::standard();
    let (size, fps) = e.fit(capture, Some(camera_fps)).unwrap();
    RecordingMode {
        capture: CaptureMode {
            pixel_format: None,
            size: capture,
            fps: Some(camera_fps),
        },
        size,
        fps,
        gop_frames: e.gop_frames(fps),
        encoding: e,
    }
}

fn request(
    dir: &Path,
    name: &str,
    format: RecordingFormat,
    planned: Option<f64>,
) -> RecordingRequest {
    let path = dir.join(name);
    std::fs::write(&path, b"").unwrap();
    RecordingRequest {
        source: RecordingSource::Camera {
            source: pattern(),
            mode: recording_mode(res(1280, 720)),
        },
        format,
        planned: planned.and_then(RecordingDuration::new),
        path,
        segment_secs: None,
    }
}

async fn still(
    format: SnapshotFormat,
    quality: u8,
    size: Resolution,
    path: &Path,
) -> Result<ports::capture::Still, CaptureError> {
    let source = pattern();
    capture()
        .still(StillRequest {
            source: &source,
            mode: CaptureMode {
                pixel_format: None,
                size,
                fps: Some(30.0),
            },
            format,
            quality: Quality::new(quality).unwrap(),
            path,
        })
        .await
}

#[tokio::test]
async fn a_jpeg_snapshot_is_a_decodable_jpeg_of_the_mode_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera0_a.jpg");
    let s = still(SnapshotFormat::Jpg, 85, res(1280, 720), &path)
        .await
        .unwrap();
    assert_eq!((s.width, s.height), (1280, 720));
    let j = ffprobe(&path);
    assert_eq!(j["streams"][0]["codec_name"], "mjpeg");
    assert_eq!(
        (
            j["streams"][0]["width"].as_u64(),
            j["streams"][0]["height"].as_u64()
        ),
        (Some(1280), Some(720))
    );
    assert_eq!(
        &std::fs::read(&path).unwrap()[..2],
        &[0xFF, 0xD8],
        "JPEG SOI marker"
    );
}

#[tokio::test]
async fn a_png_snapshot_is_a_decodable_png_of_the_mode_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera0_a.png");
    still(SnapshotFormat::Png, 85, res(640, 480), &path)
        .await
        .unwrap();
    let j = ffprobe(&path);
    assert_eq!(j["streams"][0]["codec_name"], "png");
    assert_eq!(
        (
            j["streams"][0]["width"].as_u64(),
            j["streams"][0]["height"].as_u64()
        ),
        (Some(640), Some(480))
    );
    assert_eq!(&std::fs::read(&path).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn lower_quality_makes_a_smaller_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    let (lo, hi) = (dir.path().join("lo.jpg"), dir.path().join("hi.jpg"));
    still(SnapshotFormat::Jpg, 5, res(640, 480), &lo)
        .await
        .unwrap();
    still(SnapshotFormat::Jpg, 100, res(640, 480), &hi)
        .await
        .unwrap();
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&lo) < size(&hi),
        "q5 {} bytes, q100 {} bytes",
        size(&lo),
        size(&hi)
    );
}

#[tokio::test]
async fn the_inspector_reads_a_still() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jpg");
    still(SnapshotFormat::Jpg, 85, res(320, 240), &path)
        .await
        .unwrap();
    let info = FfprobeInspector::new(&Settings::default())
        .inspect(&path)
        .await
        .unwrap();
    assert_eq!(info.duration, None);
    let v = info.video.unwrap();
    assert_eq!(
        (v.codec.as_str(), v.width, v.height, v.fps),
        ("mjpeg", 320, 240, None)
    );
}

#[tokio::test]
async fn a_three_second_recording_stops_by_itself_in_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path(), "camera0_r.mp4", RecordingFormat::Mp4, Some(3.0));
    let path = req.path.clone();
    let rec = capture().record(req).await.unwrap();
    assert_eq!(rec.ended().await, RecordingEnd::Finished);

    let d = duration_of(&path);
    assert!((d - 3.0).abs() <= 0.5, "ffprobe says {d} s");
    let j = ffprobe(&path);
    let v = &j["streams"][0];
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["profile"], "Constrained Baseline");
    assert_eq!(v["level"].as_u64(), Some(30));
    assert_eq!(v["pix_fmt"], "yuv420p");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(768), Some(432))
    );

    let info = FfprobeInspector::new(&Settings::default())
        .inspect(&path)
        .await
        .unwrap();
    assert!((info.duration.unwrap() - d).abs() < 1e-6);
    let video = info.video.unwrap();
    assert_eq!(
        (video.codec.as_str(), video.width, video.height, video.fps),
        ("h264", 768, 432, Some(30.0))
    );
}

#[tokio::test]
async fn a_stopped_recording_is_finalised_with_the_time_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path(), "camera0_s.mp4", RecordingFormat::Mp4, None);
    let path = req.path.clone();
    let rec = capture().record(req).await.unwrap();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ran = started.elapsed().as_secs_f64();
    assert_eq!(rec.stop().await, RecordingEnd::Finished);
    assert_eq!(
        rec.stop().await,
        RecordingEnd::Finished,
        "stopping again says the same"
    );
    let d = duration_of(&path);
    assert!((d - ran).abs() <= 0.5, "ran {ran} s, ffprobe says {d} s");
    assert_eq!(rec.files(), vec![path]);
}

#[tokio::test]
async fn an_mkv_recording_plays_after_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path(), "camera0_m.mkv", RecordingFormat::Mkv, None);
    let path = req.path.clone();
    let rec = capture().record(req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rec.stop().await, RecordingEnd::Finished);
    let j = ffprobe(&path);
    assert_eq!(j["format"]["format_name"], "matroska,webm");
    assert!(duration_of(&path) > 0.5);
}

async fn kill_ffmpeg_mid_recording(format: RecordingFormat, name: &str) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let req = request(&dir, name, format, None);
    let path = req.path.clone();
    let rec = capture().start(req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let pid = rec.pid().expect("ffmpeg is running");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    match rec.ended().await {
        RecordingEnd::Failed { reason } => assert!(reason.contains("signal 9"), "{reason}"),
        other => panic!("a killed ffmpeg is a failure, got {other:?}"),
    }
    path
}

#[tokio::test]
async fn killing_ffmpeg_leaves_a_playable_mp4() {
    let path = kill_ffmpeg_mid_recording(RecordingFormat::Mp4, "camera0_k.mp4").await;
    let d = duration_of(&path);
    assert!(d > 0.0, "ffprobe says {d} s");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn killing_ffmpeg_leaves_a_playable_mkv() {
    let path = kill_ffmpeg_mid_recording(RecordingFormat::Mkv, "camera0_k.mkv").await;
    // A cut Matroska file has no duration in its header; the inspector measures packets.
    let info = FfprobeInspector::new(&Settings::default())
        .inspect(&path)
        .await
        .unwrap();
    assert!(info.duration.unwrap_or(0.0) > 0.0, "{info:?}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn a_snapshot_while_recording_comes_from_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path(), "camera0_p.mp4", RecordingFormat::Mp4, None);
    let rec = capture().record(req).await.unwrap();
    for (format, name, codec) in [
        (SnapshotFormat::Jpg, "p.jpg", "mjpeg"),
        (SnapshotFormat::Png, "p.png", "png"),
    ] {
        let path = dir.path().join(name);
        let s = rec
            .still(format, Quality::new(70).unwrap(), &path)
            .await
            .unwrap();
        assert_eq!((s.width, s.height), (1280, 720));
        let j = ffprobe(&path);
        assert_eq!(j["streams"][0]["codec_name"], codec);
        assert_eq!(j["streams"][0]["width"].as_u64(), Some(1280));
    }
    assert_eq!(rec.stop().await, RecordingEnd::Finished);
}

#[tokio::test]
async fn segments_rotate_into_playable_files_named_after_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(
        dir.path(),
        "camera0_seg.mp4",
        RecordingFormat::Mp4,
        Some(3.5),
    );
    req.segment_secs = Some(1);
    let rec = capture().record(req).await.unwrap();
    assert_eq!(rec.ended().await, RecordingEnd::Finished);
    let files = rec.files();
    assert!(files.len() >= 3, "{files:?}");
    assert_eq!(files[0], dir.path().join("camera0_seg_000.mp4"));
    assert!(
        !dir.path().join("camera0_seg.mp4").exists(),
        "the reserved name is replaced by the segments"
    );
    for f in &files {
        assert!(duration_of(f) > 0.0, "{} is not playable", f.display());
    }
}

#[tokio::test]
async fn a_missing_ffmpeg_is_reported_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let cap = FfmpegCapture::new(Settings {
        ffmpeg: "/nonexistent/ffmpeg".into(),
        ..Settings::default()
    });
    let source = pattern();
    let err = cap
        .still(StillRequest {
            source: &source,
            mode: CaptureMode {
                pixel_format: None,
                size: res(320, 240),
                fps: None,
            },
            format: SnapshotFormat::Jpg,
            quality: Quality::DEFAULT,
            path: &dir.path().join("x.jpg"),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::Unavailable {
                dependency: "ffmpeg",
                ..
            }
        ),
        "{err:?}"
    );
    let err = cap
        .record(request(dir.path(), "x.mp4", RecordingFormat::Mp4, None))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, CaptureError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_device_is_reported_gone_with_ffmpegs_words() {
    let dir = tempfile::tempdir().unwrap();
    let source = CaptureSource::Device {
        path: "/nonexistent/video7".into(),
    };
    let err = capture()
        .still(StillRequest {
            source: &source,
            mode: CaptureMode {
                pixel_format: None,
                size: res(320, 240),
                fps: None,
            },
            format: SnapshotFormat::Jpg,
            quality: Quality::DEFAULT,
            path: &dir.path().join("x.jpg"),
        })
        .await
        .unwrap_err();
    match err {
        CaptureError::SourceGone(details) => {
            assert!(details.contains("/nonexistent/video7"), "{details}")
        }
        other => panic!("expected SourceGone, got {other:?}"),
    }
}

#[tokio::test]
async fn a_pattern_that_is_not_a_plain_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = CaptureSource::TestPattern {
        pattern: "testsrc2,drawtext=text=x".into(),
    };
    let err = capture()
        .still(StillRequest {
            source: &source,
            mode: CaptureMode {
                pixel_format: None,
                size: res(320, 240),
                fps: None,
            },
            format: SnapshotFormat::Jpg,
            quality: Quality::DEFAULT,
            path: &dir.path().join("x.jpg"),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CaptureError::Failed { .. }), "{err:?}");
}

/// A stand-in ffmpeg: a shell script (the adapter itself never uses a shell).
fn fake_ffmpeg(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-ffmpeg");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn a_hung_still_is_killed_with_its_output_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let ffmpeg = fake_ffmpeg(dir.path(), "echo 'waiting for a frame' >&2\nexec sleep 60");
    let cap = FfmpegCapture::new(Settings {
        ffmpeg,
        still_timeout: Duration::from_millis(500),
        ..Settings::default()
    });
    let source = pattern();
    let err = cap
        .still(StillRequest {
            source: &source,
            mode: CaptureMode {
                pixel_format: None,
                size: res(320, 240),
                fps: None,
            },
            format: SnapshotFormat::Jpg,
            quality: Quality::DEFAULT,
            path: &dir.path().join("x.jpg"),
        })
        .await
        .unwrap_err();
    match err {
        CaptureError::TimedOut { details, .. } => {
            assert!(details.contains("waiting for a frame"), "{details}")
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

#[tokio::test]
async fn a_recording_that_ignores_stop_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    // Writes to every .mp4 argument, then ignores `q` and SIGINT.
    let ffmpeg = fake_ffmpeg(
        dir.path(),
        "for a in \"$@\"; do case \"$a\" in *.mp4) printf data > \"$a\";; esac; done\ntrap '' INT TERM\nexec sleep 60",
    );
    let cap = FfmpegCapture::new(Settings {
        ffmpeg,
        stop_grace: Duration::from_millis(500),
        ..Settings::default()
    });
    let rec = cap
        .record(request(
            dir.path(),
            "camera0_h.mp4",
            RecordingFormat::Mp4,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(rec.stop().await, RecordingEnd::Killed);
}

#[tokio::test]
async fn a_recording_that_fails_to_start_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let ffmpeg = fake_ffmpeg(
        dir.path(),
        "echo '/dev/video0: Device or resource busy' >&2\nexit 1",
    );
    let cap = FfmpegCapture::new(Settings {
        ffmpeg,
        ..Settings::default()
    });
    let err = cap
        .record(request(
            dir.path(),
            "camera0_b.mp4",
            RecordingFormat::Mp4,
            None,
        ))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, CaptureError::Busy(ref d) if d.contains("busy")),
        "{err:?}"
    );
}

fn signal(pid: u32, s: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), s).unwrap();
}

/// Waits until the recording's file holds video beyond its header.
async fn some_video(rec: &dyn Recorder) {
    let file = rec.files()[0].clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) < 20_000 {
        assert!(Instant::now() < deadline, "no video in {}", file.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_recording_whose_ffmpeg_is_stopped_is_declared_stalled_and_finished() {
    let dir = tempfile::tempdir().unwrap();
    let stall = Duration::from_secs(2);
    let cap = FfmpegCapture::new(Settings {
        stall_after: Some(stall),
        ..Settings::default()
    });
    let req = request(dir.path(), "camera0_st.mkv", RecordingFormat::Mkv, None);
    let path = req.path.clone();
    let rec = cap.start(req).await.unwrap();
    some_video(rec.as_ref()).await;
    let pid = rec.pid().expect("ffmpeg is running");
    signal(pid, nix::sys::signal::Signal::SIGSTOP);
    let stopped_at = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(30), rec.ended())
        .await
        .expect("a stalled recording ends");
    let took = stopped_at.elapsed();
    match end {
        RecordingEnd::Failed { reason } => assert!(reason.contains("stalled"), "{reason}"),
        other => panic!("a stalled recording is a failure, got {other:?}"),
    }
    // The stall counts from the last progress, up to a preview frame (0.5 s) before the
    // freeze.
    assert!(
        took + Duration::from_millis(600) >= stall,
        "declared stalled after {took:?}, before the stall time {stall:?}"
    );
    // SIGCONT let it finish the file: it plays, with a duration in its header.
    assert!(duration_of(&path) > 0.5, "{}", ffprobe(&path));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true),
        "ffmpeg {pid} is gone"
    );
}

#[tokio::test]
async fn stopping_a_recording_whose_ffmpeg_is_stopped_answers_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let grace = Duration::from_secs(3);
    let cap = FfmpegCapture::new(Settings {
        stop_grace: grace,
        ..Settings::default()
    });
    let req = request(dir.path(), "camera0_sg.mp4", RecordingFormat::Mp4, None);
    let path = req.path.clone();
    let rec = cap.start(req).await.unwrap();
    some_video(rec.as_ref()).await;
    signal(
        rec.pid().expect("ffmpeg is running"),
        nix::sys::signal::Signal::SIGSTOP,
    );
    let asked = Instant::now();
    let end = rec.stop().await;
    let took = asked.elapsed();
    assert!(took <= grace + Duration::from_secs(1), "stop took {took:?}");
    assert!(
        matches!(end, RecordingEnd::Finished | RecordingEnd::Killed),
        "{end:?}"
    );
    assert!(duration_of(&path) > 0.0, "{}", ffprobe(&path));
}

#[tokio::test]
async fn a_recording_that_writes_nothing_after_its_start_is_stalled_even_if_stop_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    // Writes its header, then nothing, and ignores `q` and SIGINT: killed after the grace.
    let ffmpeg = fake_ffmpeg(
        dir.path(),
        "for a in \"$@\"; do case \"$a\" in *.mp4) printf data > \"$a\";; esac; done\ntrap '' INT TERM\nexec sleep 60",
    );
    let cap = FfmpegCapture::new(Settings {
        ffmpeg,
        stop_grace: Duration::from_millis(500),
        stall_after: Some(Duration::from_secs(1)),
        ..Settings::default()
    });
    let rec = cap
        .record(request(
            dir.path(),
            "camera0_w.mp4",
            RecordingFormat::Mp4,
            None,
        ))
        .await
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(20), rec.ended())
        .await
        .expect("the stall ends it");
    match end {
        RecordingEnd::Failed { reason } => assert!(reason.contains("stalled"), "{reason}"),
        other => panic!("expected a stall, got {other:?}"),
    }
}
