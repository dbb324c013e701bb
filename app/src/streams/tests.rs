//! Streams on an in-memory MediaMTX (`FakeMediaServer`): the reconcile pass, outages and
//! recovery, start/stop streaming and the recording hold. Each pass is run by the test
//! (`reconcile_once`), so nothing waits for the loop's period.

use domain::api::RecordingParams;
use domain::contract::results::{MediaMode, StreamHold};
use domain::files::{FileKind, RecordingFormat};
use domain::{CameraId, ErrorKind};
use ports::capture::{CaptureError, RecordingSource};

use super::*;
use crate::fakes;

fn camera0() -> CameraId {
    CameraId::new(0).unwrap()
}

#[test]
fn jpeg_size_reads_the_frame_header() {
    // SOI, an APP0 segment, then SOF0 for 640x480.
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
    j.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03]);
    j.extend([0u8; 16]);
    assert_eq!(jpeg_size(&j), Some((640, 480)));
    assert_eq!(jpeg_size(&[0xFF, 0xD8, 0x00]), None);
}

#[tokio::test]
async fn a_reconcile_pass_creates_the_path_of_a_connected_camera() {
    let fx = fakes::media_streamed().await;
    let mtx = fx.mtx.as_ref().unwrap();

    let paths = mtx.server.paths();
    assert_eq!(paths.keys().collect::<Vec<_>>(), vec!["camera0"]);
    let cfg = &paths["camera0"];
    assert_eq!(cfg.source.as_deref(), Some("publisher"));
    let publisher = cfg.run_on_demand.as_deref().unwrap();
    assert!(
        publisher.starts_with("publish pattern testsrc2 "),
        "{publisher}"
    );
    assert!(mtx.streams.is_serving());
    assert_eq!(mtx.streams.media_mode(), MediaMode::Mediamtx);
    assert!(mtx.streams.urls(camera0()).urls.is_some());
    assert_eq!(
        mtx.health.status_of(health::MEDIA_SERVER),
        Some(ComponentStatus::Healthy)
    );

    // A pass with nothing to change changes nothing.
    assert!(mtx.streams.reconcile_once().await);
    assert_eq!(
        mtx.server.ensures.load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    // The camera goes: its path goes with the next pass.
    ports::camera::DiscoverySink::vanished(fx.cameras.as_ref(), camera0());
    assert!(mtx.streams.reconcile_once().await);
    assert!(mtx.server.paths().is_empty());
}

#[tokio::test]
async fn a_mediamtx_outage_degrades_then_recovery_re_creates_the_path() {
    let fx = fakes::media_streamed().await;
    let mtx = fx.mtx.as_ref().unwrap();

    mtx.server.set_down(true);
    assert!(!mtx.streams.reconcile_once().await);
    assert!(!mtx.streams.is_serving());
    assert_eq!(mtx.streams.media_mode(), MediaMode::Direct);
    assert!(mtx.streams.urls(camera0()).urls.is_none());
    assert_eq!(
        mtx.health.status_of(health::MEDIA_SERVER),
        Some(ComponentStatus::Degraded)
    );
    let e = mtx.streams.start_streaming(camera0()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DependencyUnavailable);
    assert_eq!(e.reason, "media_server_unavailable");

    // It comes back empty (restarted): the next pass puts the path back.
    mtx.server.restart_empty();
    mtx.server.set_down(false);
    assert!(mtx.streams.reconcile_once().await);
    assert!(mtx.server.paths().contains_key("camera0"));
    assert!(mtx.streams.is_serving());
    assert_eq!(
        mtx.health.status_of(health::MEDIA_SERVER),
        Some(ComponentStatus::Healthy)
    );
}

#[tokio::test]
async fn start_streaming_holds_the_stream_and_stop_streaming_lets_it_go() {
    let fx = fakes::media_streamed().await;
    let mtx = fx.mtx.as_ref().unwrap();

    let info = mtx.streams.start_streaming(camera0()).await.unwrap();
    assert!(info.ready);
    assert_eq!(info.stream_name, "camera0");
    assert_eq!(
        mtx.reader.attached(),
        vec!["rtsp://127.0.0.1:8554/camera0".to_owned()]
    );
    assert_eq!(
        mtx.reader.live(),
        1,
        "the service reads the stream it holds"
    );

    let stopped = mtx.streams.stop_streaming(camera0()).unwrap();
    assert!(stopped.held_by.is_empty(), "{:?}", stopped.held_by);
    assert_eq!(mtx.reader.live(), 0, "nothing holds it any more");

    // Starting again attaches again.
    mtx.streams.start_streaming(camera0()).await.unwrap();
    assert_eq!(mtx.reader.attached().len(), 2);
    assert_eq!(mtx.reader.live(), 1);
}

fn params() -> RecordingParams {
    RecordingParams {
        device: camera0(),
        duration: None,
        format: RecordingFormat::Mp4,
    }
}

#[tokio::test]
async fn a_recording_copies_the_stream_and_holds_it_until_it_stops() {
    let fx = fakes::media_streamed().await;
    let mtx = fx.mtx.as_ref().unwrap();

    fx.media.start_recording(params()).await.unwrap();
    let request = &fx.capture.requests()[0];
    assert_eq!(
        request.source,
        RecordingSource::Stream {
            url: "rtsp://127.0.0.1:8554/camera0".into()
        }
    );
    let held = mtx.streams.stop_streaming(camera0()).unwrap().held_by;
    assert_eq!(
        held,
        vec![StreamHold::Recording],
        "stop_streaming never stops a recording"
    );

    fx.media.stop_recording(camera0()).await.unwrap();
    let held = mtx.streams.stop_streaming(camera0()).unwrap().held_by;
    assert!(held.is_empty(), "{held:?}");
}

#[tokio::test]
async fn a_failed_start_from_the_stream_gives_back_the_file_and_the_stream_hold() {
    let fx = fakes::media_streamed().await;
    let mtx = fx.mtx.as_ref().unwrap();
    fx.capture.fail_next(CaptureError::Failed {
        dependency: "ffmpeg",
        details: "could not open the stream".into(),
    });

    let e = fx.media.start_recording(params()).await.unwrap_err();
    assert_eq!(e.reason, "dependency_failed");
    assert!(fx.store.names(FileKind::Recording).is_empty());
    let held = mtx.streams.stop_streaming(camera0()).unwrap().held_by;
    assert!(
        held.is_empty(),
        "the recording hold was given back: {held:?}"
    );
}
