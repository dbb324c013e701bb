//! Recording state on in-memory fakes: the capture tool is `FakeCapture`, whose recordings the
//! test ends; nothing sleeps — the tests wait for the events the recording publishes.

use std::sync::atomic::Ordering;

use domain::api::RecordingParams;
use domain::contract::results::RecordingPhase;
use domain::events::Topic;
use domain::files::{FileKind, RecordingFormat};
use domain::{CameraId, ErrorKind};
use ports::capture::{CaptureError, RecordingEnd, RecordingSource};

use crate::fakes;

fn camera0() -> CameraId {
    CameraId::new(0).unwrap()
}

fn params() -> RecordingParams {
    RecordingParams {
        device: camera0(),
        duration: None,
        format: RecordingFormat::Mp4,
    }
}

#[tokio::test]
async fn a_recording_is_under_way_until_stopped_then_the_camera_is_idle() {
    let fx = fakes::media();
    assert!(fx.media.recording_status(camera0()).is_none());

    let started = fx.media.start_recording(params()).await.unwrap();
    let requests = fx.capture.requests();
    assert_eq!(requests.len(), 1, "one recording asked of the tool");
    assert!(
        matches!(requests[0].source, RecordingSource::Camera { .. }),
        "media mode direct records from the camera"
    );
    assert!(requests[0].path.ends_with(started.filename.as_str()));
    assert_eq!(
        fx.store.names(FileKind::Recording),
        vec![started.filename.as_str().to_owned()]
    );
    let status = fx.media.recording_status(camera0()).expect("recording");
    assert_eq!(status.status, RecordingPhase::Recording);
    assert_eq!(status.filename, started.filename);
    assert!(fx.media.is_being_written(&started.filename));
    assert_eq!(fx.media.active_recordings(), 1);
    assert_eq!(fx.events.of(Topic::RecordingStart).len(), 1);

    fx.clock.advance(std::time::Duration::from_secs(3));
    let stopped = fx.media.stop_recording(camera0()).await.unwrap();
    assert_eq!(stopped.filename, started.filename);
    // No ffprobe here: the duration is the (fake) wall clock's.
    assert!(
        (stopped.duration - 3.0).abs() < 1e-6,
        "{}",
        stopped.duration
    );
    assert_eq!(fx.capture.last().unwrap().stops.load(Ordering::SeqCst), 1);
    assert!(fx.media.recording_status(camera0()).is_none());
    assert_eq!(fx.media.active_recordings(), 0);
    assert!(!fx.media.is_being_written(&started.filename));
    let stop = fx.events.wait_for(Topic::RecordingStop).await;
    assert_eq!(stop.fields["filename"], started.filename.as_str());
    assert_eq!(stop.fields["stop_reason"], "requested");

    // Stopped: a second stop is refused, a new start works.
    let again = fx.media.stop_recording(camera0()).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::InvalidState);
    fx.clock.advance(std::time::Duration::from_secs(1));
    fx.media.start_recording(params()).await.unwrap();
    assert_eq!(fx.capture.requests().len(), 2);
}

#[tokio::test]
async fn a_second_start_on_a_recording_camera_is_refused_as_recording_in_progress() {
    let fx = fakes::media();
    let first = fx.media.start_recording(params()).await.unwrap();
    fx.clock.advance(std::time::Duration::from_secs(1));

    let e = fx.media.start_recording(params()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RecordingInProgress);
    assert_eq!(e.reason, "recording_in_progress");
    assert_eq!(
        e.context.get("filename").and_then(|v| v.as_str()),
        Some(first.filename.as_str())
    );
    assert_eq!(
        fx.capture.requests().len(),
        1,
        "the tool was not asked again"
    );
    assert_eq!(
        fx.store.names(FileKind::Recording).len(),
        1,
        "no second file"
    );
}

#[tokio::test]
async fn a_recording_the_tool_finishes_by_itself_publishes_recording_stop() {
    let fx = fakes::media();
    let started = fx.media.start_recording(params()).await.unwrap();

    fx.capture.last().unwrap().end(RecordingEnd::Finished);
    let stop = fx.events.wait_for(Topic::RecordingStop).await;
    assert_eq!(stop.fields["filename"], started.filename.as_str());
    assert!(fx.media.recording_status(camera0()).is_none());
    assert!(fx.events.of(Topic::RecordingError).is_empty());
}

#[tokio::test]
async fn a_recording_that_fails_publishes_recording_error_with_the_reason() {
    let fx = fakes::media();
    let started = fx.media.start_recording(params()).await.unwrap();

    fx.capture.last().unwrap().end(RecordingEnd::Failed {
        reason: "ffmpeg exited with status 1: device vanished".into(),
    });
    let error = fx.events.wait_for(Topic::RecordingError).await;
    assert_eq!(error.fields["filename"], started.filename.as_str());
    assert_eq!(
        error.fields["reason"],
        "ffmpeg exited with status 1: device vanished"
    );
    assert!(fx.media.recording_status(camera0()).is_none());
    assert!(fx.events.of(Topic::RecordingStop).is_empty());
    // It is over: stopping it now is refused, a new one can start.
    assert!(fx.media.stop_recording(camera0()).await.is_err());
    fx.clock.advance(std::time::Duration::from_secs(1));
    fx.media.start_recording(params()).await.unwrap();
}

#[tokio::test]
async fn a_start_the_tool_refuses_gives_back_its_file_and_leaves_the_camera_idle() {
    let fx = fakes::media();
    fx.capture
        .fail_next(CaptureError::Busy("held by another process".into()));

    let e = fx.media.start_recording(params()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DeviceBusy);
    assert!(
        fx.store.names(FileKind::Recording).is_empty(),
        "the reserved file is deleted"
    );
    assert!(fx.media.recording_status(camera0()).is_none());
    assert_eq!(fx.media.active_recordings(), 0);
    let error = fx.events.wait_for(Topic::RecordingError).await;
    assert_eq!(
        error.fields["reason"],
        "device busy: held by another process"
    );

    let started = fx.media.start_recording(params()).await.unwrap();
    assert_eq!(
        fx.store.names(FileKind::Recording),
        vec![started.filename.as_str().to_owned()]
    );
}

#[tokio::test]
async fn a_recording_whose_camera_goes_away_ends_with_recording_error() {
    let fx = fakes::media();
    fx.media.start_recording(params()).await.unwrap();

    ports::camera::DiscoverySink::vanished(fx.cameras.as_ref(), camera0());
    let error = fx.events.wait_for(Topic::RecordingError).await;
    let reason = error.fields["reason"].as_str().unwrap();
    assert!(reason.contains("camera0 went away"), "{reason}");
    assert_eq!(fx.capture.last().unwrap().stops.load(Ordering::SeqCst), 1);
    assert!(fx.media.recording_status(camera0()).is_none());
}
