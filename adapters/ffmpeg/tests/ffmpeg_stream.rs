//! Recordings from a stream (`RecordingSource::Stream`) against the real ffmpeg: the source
//! is an H.264 MPEG-TS stream that another ffmpeg writes in real time into a FIFO, which
//! stands in for MediaMTX's RTSP path (the RTSP side runs in tests/tests/mediamtx_recording.rs
//! against the fake MediaMTX's relay).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cs_ffmpeg::{FfmpegCapture, Settings};
use domain::api::{Quality, RecordingDuration};
use domain::files::{RecordingFormat, SnapshotFormat};
use ports::capture::{Capture, Recorder, RecordingEnd, RecordingRequest, RecordingSource};

mod common;
use common::ffprobe;

/// Another ffmpeg making a live H.264 stream (constrained baseline, 768x432, 30 fps, 1 s
/// GOP, as MediaMTX's publisher does) into a FIFO; killed on drop.
struct LiveSource {
    child: Child,
    fifo: PathBuf,
}

impl LiveSource {
    fn start(dir: &Path) -> LiveSource {
        let fifo = dir.join("stream.ts");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("fifo made");
        let child = Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-nostdin",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=768x432:rate=30",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-profile:v",
                "baseline",
                "-pix_fmt",
                "yuv420p",
                "-g",
                "30",
                "-bf",
                "0",
                "-f",
                "mpegts",
                "-y",
            ])
            .arg(&fifo)
            .stdin(Stdio::null())
            .spawn()
            .expect("the source ffmpeg runs");
        LiveSource { child, fifo }
    }

    fn url(&self) -> String {
        self.fifo.to_string_lossy().into_owned()
    }

    /// The stream goes away, as when the publisher is killed.
    fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.end();
    }
}

/// The file is H.264 as the source made it (not re-encoded: still constrained baseline,
/// which a default re-encode would not be), at the source's size, and lasts.
fn assert_copied_from_source(path: &Path) {
    let j = ffprobe(path);
    let v = &j["streams"][0];
    assert_eq!(v["codec_name"], "h264", "{j}");
    assert_eq!(v["profile"], "Constrained Baseline", "{j}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(768), Some(432))
    );
    let duration: f64 = j["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    assert!(duration > 0.0, "{j}");
}

fn request(dir: &Path, url: String, name: &str, format: RecordingFormat) -> RecordingRequest {
    let path = dir.join(name);
    std::fs::write(&path, b"").unwrap();
    RecordingRequest {
        source: RecordingSource::Stream { url },
        format,
        planned: None,
        path,
        segment_secs: None,
    }
}

/// Waits until the recording has written more than its header.
async fn some_video(rec: &dyn Recorder) {
    let file = rec.files()[0].clone();
    let start = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    while std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) < start + 20_000 {
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), rec.ended())
                .await
                .is_err(),
            "the recording ended before writing video"
        );
    }
}

#[tokio::test]
async fn a_stream_is_copied_into_a_crash_safe_file_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let source = LiveSource::start(dir.path());
    let rec = FfmpegCapture::new(Settings::default())
        .record(request(
            dir.path(),
            source.url(),
            "camera0_s.mp4",
            RecordingFormat::Mp4,
        ))
        .await
        .unwrap();
    some_video(rec.as_ref()).await;
    assert_eq!(rec.stop().await, RecordingEnd::Finished);
    assert_eq!(rec.files(), vec![dir.path().join("camera0_s.mp4")]);
    assert_copied_from_source(&dir.path().join("camera0_s.mp4"));
}

#[tokio::test]
async fn a_stream_that_goes_away_fails_the_recording_and_leaves_a_playable_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = LiveSource::start(dir.path());
    let rec = FfmpegCapture::new(Settings::default())
        .record(request(
            dir.path(),
            source.url(),
            "camera0_g.mkv",
            RecordingFormat::Mkv,
        ))
        .await
        .unwrap();
    some_video(rec.as_ref()).await;
    source.end();
    match rec.ended().await {
        RecordingEnd::Failed { reason } => {
            assert!(reason.contains("stream ended"), "{reason}")
        }
        other => panic!("a vanished stream must fail the recording, got {other:?}"),
    }
    assert_eq!(
        rec.stop().await,
        rec.ended().await,
        "stop after the end says the same"
    );
    assert_copied_from_source(&dir.path().join("camera0_g.mkv"));
}

#[tokio::test]
async fn a_planned_stream_recording_finishes_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let source = LiveSource::start(dir.path());
    let mut req = request(
        dir.path(),
        source.url(),
        "camera0_p.mp4",
        RecordingFormat::Mp4,
    );
    req.planned = RecordingDuration::new(1.0);
    let rec = FfmpegCapture::new(Settings::default())
        .record(req)
        .await
        .unwrap();
    assert_eq!(
        rec.ended().await,
        RecordingEnd::Finished,
        "the planned end is not a failure although the stream goes on"
    );
    assert_copied_from_source(&dir.path().join("camera0_p.mp4"));
    drop(source);
}

#[tokio::test]
async fn a_stream_recording_has_no_frames_of_its_own_for_stills() {
    let dir = tempfile::tempdir().unwrap();
    let source = LiveSource::start(dir.path());
    let rec = FfmpegCapture::new(Settings::default())
        .record(request(
            dir.path(),
            source.url(),
            "camera0_n.mp4",
            RecordingFormat::Mp4,
        ))
        .await
        .unwrap();
    let still = rec
        .still(
            SnapshotFormat::Jpg,
            Quality::DEFAULT,
            &dir.path().join("n.jpg"),
        )
        .await;
    assert!(still.is_err(), "{still:?}");
    assert_eq!(rec.stop().await, RecordingEnd::Finished);
}

#[tokio::test]
async fn segments_of_a_stream_recording_are_playable() {
    let dir = tempfile::tempdir().unwrap();
    let source = LiveSource::start(dir.path());
    let mut req = request(
        dir.path(),
        source.url(),
        "camera0_seg.mp4",
        RecordingFormat::Mp4,
    );
    req.segment_secs = Some(1);
    req.planned = RecordingDuration::new(2.5);
    let rec = FfmpegCapture::new(Settings::default())
        .record(req)
        .await
        .unwrap();
    assert_eq!(rec.ended().await, RecordingEnd::Finished);
    let files = rec.files();
    assert!(files.len() >= 2, "{files:?}");
    assert!(!dir.path().join("camera0_seg.mp4").exists());
    for f in &files {
        assert_copied_from_source(f);
    }
    drop(source);
}

/// The source freezes (SIGSTOP, as a hung media server): nothing comes, the stream stays
/// open. The recording is declared stalled, ffmpeg finishes the file, which plays.
#[tokio::test]
async fn a_stream_that_freezes_stalls_the_recording_and_the_file_plays() {
    let dir = tempfile::tempdir().unwrap();
    let source = LiveSource::start(dir.path());
    let stall = std::time::Duration::from_secs(2);
    let rec = FfmpegCapture::new(Settings {
        stall_after: Some(stall),
        ..Settings::default()
    })
    .record(request(
        dir.path(),
        source.url(),
        "camera0_f.mp4",
        RecordingFormat::Mp4,
    ))
    .await
    .unwrap();
    some_video(rec.as_ref()).await;
    let pid = nix::unistd::Pid::from_raw(source.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let end = tokio::time::timeout(std::time::Duration::from_secs(30), rec.ended()).await;
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
    match end.expect("a frozen stream ends the recording") {
        RecordingEnd::Failed { reason } => {
            assert!(reason.contains("stalled"), "{reason}")
        }
        other => panic!("a frozen stream must fail the recording, got {other:?}"),
    }
    assert_copied_from_source(&dir.path().join("camera0_f.mp4"));
    drop(source);
}

/// A planned recording from a stream holds the planned time, from its first keyframe on, in
/// both containers: the stream is joined mid-GOP and ffmpeg reads ahead before writing, so a
/// clock started at the first bytes made files up to a GOP and more too long.
#[tokio::test]
async fn a_planned_stream_recording_holds_the_planned_time() {
    for (name, format) in [
        ("camera0_d.mp4", RecordingFormat::Mp4),
        ("camera0_d.mkv", RecordingFormat::Mkv),
    ] {
        // A FIFO serves one reader: one source each.
        let dir = tempfile::tempdir().unwrap();
        let source = LiveSource::start(dir.path());
        let mut req = request(dir.path(), source.url(), name, format);
        req.planned = RecordingDuration::new(2.0);
        let rec = FfmpegCapture::new(Settings::default())
            .record(req)
            .await
            .unwrap();
        assert_eq!(rec.ended().await, RecordingEnd::Finished);
        let j = ffprobe(&dir.path().join(name));
        let d: f64 = j["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0.0);
        assert!((d - 2.0).abs() <= 0.1, "{name} plays {d} s: {j}");
        drop(source);
    }
}
