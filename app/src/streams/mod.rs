//! Streams through MediaMTX (media modes `mediamtx` and `auto`).
//!
//! Every connected camera gets a MediaMTX path `camera<N>` whose `runOnDemand` publisher
//! (ffmpeg, H.264 in the STANAG 4406 profile) starts when someone reads it. One loop keeps
//! MediaMTX in step: on every camera change and every `mediamtx.reconcile_secs` it probes
//! the API, compares MediaMTX's paths with what should exist (`domain::stream::reconcile`)
//! and adds, patches or deletes, so a MediaMTX that restarted empty, a path edited or
//! deleted by hand, or a camera that came or went is fixed within one period. The same
//! pass decides which media plane serves: MediaMTX while its API answers; direct capture
//! (health DEGRADED, with the reason) while it does not, switching back by itself.
//!
//! Lifecycle: the path config is the same for every use (MediaMTX would recreate a path
//! whose config changes, dropping its readers); each use's policy is kept by holding a
//! reader of the service's own (`StreamReader`) for as long as `StreamHolds` says.
//!
//! This module is the stream API (start/stop/status/urls, recording holds, snapshots from
//! the stream); `reconcile` is the loop that keeps MediaMTX in step and decides the plane.

mod reconcile;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use domain::contract::results::{
    CameraStreamState, CameraStreams, MediaMode, Stopped, StreamHold, StreamInfo, StreamList,
    StreamStatus, StreamStopped,
};
use domain::media::{SnapshotTier, VideoEncoding};
use domain::stream::{
    managed_camera, path_name, PathConfig, Publication, PublisherInput, StreamEndpoints,
    StreamHolds, PUBLISHER_START_TIMEOUT,
};
use domain::{ApiError, CameraId, ErrorKind, Resolution};
use ports::camera::CaptureSource;
use ports::clock::Clock;
use ports::media_server::{
    MediaServer, MediaServerError, PathStatus, PublisherCommands, StreamHandle, StreamReader,
};
use slog::{info, warn, Logger};
use tokio::sync::Notify;

use crate::cameras::{CameraEntry, CameraObserver, CameraRegistry};
use crate::health::{self, ComponentStatus, Health};

/// How often `start_streaming` looks whether the publisher is up.
const READY_POLL: Duration = Duration::from_millis(100);
/// `start_streaming` waits this much beyond MediaMTX's own start timeout.
const READY_MARGIN: Duration = Duration::from_secs(5);
/// A kept keyframe at most this old is a tier-1 snapshot (the publisher's GOP is 1 s).
const FRESH_FRAME: Duration = Duration::from_secs(2);
/// How often a tier-2 snapshot looks for the reader's first keyframe.
const FRAME_POLL: Duration = Duration::from_millis(20);

/// Width and height of a baseline or progressive JPEG (its SOF segment).
pub fn jpeg_size(jpeg: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        if jpeg[i] != 0xFF {
            return None;
        }
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let h = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]);
            let w = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += 2 + len;
    }
    None
}

/// What the streams use case is built from.
pub struct StreamsParts {
    pub server: Arc<dyn MediaServer>,
    pub reader: Arc<dyn StreamReader>,
    /// `media.mode: mediamtx` (no fallback is announced as such); else `auto`.
    pub forced: bool,
    /// For health details.
    pub api_url: String,
    /// Public host and ports, for the URLs clients get.
    pub endpoints: StreamEndpoints,
    /// Where the service itself reads streams (`rtsp://127.0.0.1:<rtsp_port>/`).
    pub local_rtsp: String,
    pub encoding: VideoEncoding,
    /// The publisher command MediaMTX runs for a camera's path.
    pub publisher: Arc<dyn PublisherCommands>,
    pub reconcile_every: Duration,
    pub cameras: Arc<CameraRegistry>,
    pub health: Arc<Health>,
    pub clock: Arc<dyn Clock>,
    pub log: Logger,
}

#[derive(Default)]
struct CameraStream {
    holds: StreamHolds,
    reader: Option<Box<dyn StreamHandle>>,
}

impl CameraStream {
    /// The service's readers of the path: its own reader and its recorders (one per
    /// recording), which are not viewers.
    fn own_readers(&self) -> u32 {
        u32::from(self.reader.as_ref().is_some_and(|r| r.is_reading()))
            .saturating_add(self.holds.recordings())
    }
}

/// Where a recording of a camera reads while MediaMTX serves: its path, as the service
/// reads it, and what the publisher makes (the recording copies it as it is).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingStream {
    pub url: String,
    pub size: Resolution,
    pub fps: f64,
}

#[derive(Default)]
struct State {
    /// `None` until MediaMTX answered or failed once.
    available: Option<bool>,
    cameras: HashMap<CameraId, CameraStream>,
}

pub struct Streams {
    parts: StreamsParts,
    state: Mutex<State>,
    wake: Notify,
}

/// -32050 naming MediaMTX.
fn unavailable(details: impl Into<String>) -> ApiError {
    ApiError::new(
        ErrorKind::DependencyUnavailable,
        "media_server_unavailable",
        details,
    )
    .with("dependency", "mediamtx")
}

fn server_error(e: MediaServerError) -> ApiError {
    unavailable(e.to_string())
}

impl Streams {
    pub fn new(parts: StreamsParts) -> Arc<Streams> {
        let detail = format!(
            "waiting for the first answer of MediaMTX at {}",
            parts.api_url
        );
        parts
            .health
            .set(health::MEDIA_SERVER, ComponentStatus::Degraded, detail);
        Arc::new(Streams {
            parts,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// MediaMTX answers now: streams exist and the camera list carries their URLs.
    pub fn is_serving(&self) -> bool {
        self.lock().available == Some(true)
    }

    /// Media mode `auto`: a recording whose stream ends goes on from the device (in
    /// `mediamtx` mode it fails, as the operator asked for MediaMTX only).
    pub fn falls_back_to_device(&self) -> bool {
        !self.parts.forced
    }

    /// `get_server_info.media_mode`: the plane serving now.
    pub fn media_mode(&self) -> MediaMode {
        if self.is_serving() {
            MediaMode::Mediamtx
        } else {
            MediaMode::Direct
        }
    }

    /// A camera's `streams` object: its URLs while MediaMTX serves, `{}` otherwise.
    pub fn urls(&self, device: CameraId) -> CameraStreams {
        CameraStreams {
            urls: self.is_serving().then(|| self.parts.endpoints.urls(device)),
        }
    }

    /// What a camera's publisher publishes.
    fn publication(&self, camera: &CameraEntry) -> Option<Publication> {
        let input = match &camera.source {
            CaptureSource::Device { path } => PublisherInput::Device {
                path: path.to_str()?.to_owned(),
                capture: self.parts.encoding.plan(&camera.capabilities)?.capture,
            },
            CaptureSource::TestPattern { pattern } => {
                let (size, fps) = camera.capabilities.default_mode()?;
                PublisherInput::TestPattern {
                    pattern: pattern.clone(),
                    size,
                    fps: fps.unwrap_or(VideoEncoding::PREFERRED_MAX_FPS),
                }
            }
        };
        Some(Publication {
            input,
            encoding: self.parts.encoding,
        })
    }

    /// The size and rate a camera's publisher encodes at.
    fn published_mode(&self, camera: &CameraEntry) -> Option<(Resolution, f64)> {
        self.publication(camera)?.output_mode()
    }

    /// The path a connected camera should have; `None` when no publisher can be made for it.
    fn desired_for(&self, camera: &CameraEntry) -> Option<PathConfig> {
        let publication = self.publication(camera)?;
        match self.parts.publisher.publisher_command(&publication) {
            Ok(cmd) => Some(PathConfig::on_demand(&cmd)),
            Err(e) => {
                warn!(self.parts.log, "no stream for this camera"; "camera" => %camera.id, "reason" => e.to_string());
                None
            }
        }
    }

    async fn attach(&self, device: CameraId) {
        let url = format!("{}{}", self.parts.local_rtsp, path_name(device));
        match self.parts.reader.attach(&url).await {
            Ok(handle) => {
                if let Some(cam) = self.lock().cameras.get_mut(&device) {
                    cam.reader = Some(handle);
                }
            }
            Err(e) => {
                warn!(self.parts.log, "cannot hold the stream"; "camera" => %device, "error" => e)
            }
        }
    }

    fn require_serving(&self) -> Result<(), ApiError> {
        match self.lock().available {
            Some(true) => Ok(()),
            Some(false) => Err(unavailable(format!(
                "MediaMTX at {} does not answer",
                self.parts.api_url
            ))),
            None => Err(unavailable(format!(
                "MediaMTX at {} has not answered yet",
                self.parts.api_url
            ))),
        }
    }

    fn own_readers(&self, device: CameraId) -> u32 {
        self.lock()
            .cameras
            .get(&device)
            .map_or(0, CameraStream::own_readers)
    }

    fn info(&self, device: CameraId, status: Option<&PathStatus>) -> StreamInfo {
        let readers = status.map_or(0, |s| s.readers.saturating_sub(self.own_readers(device)));
        StreamInfo {
            device,
            stream_name: path_name(device),
            ready: status.is_some_and(|s| s.ready),
            readers,
            urls: self.parts.endpoints.urls(device),
        }
    }

    async fn status_of(&self, device: CameraId) -> Result<Option<PathStatus>, ApiError> {
        self.parts
            .server
            .path_status(&path_name(device))
            .await
            .map_err(server_error)
    }

    /// `start_streaming`: activates the on-demand publisher; StreamInfo once it is ready.
    pub async fn start_streaming(&self, device: CameraId) -> Result<StreamInfo, ApiError> {
        self.require_serving()?;
        let camera = self.parts.cameras.get_connected(device)?;
        self.ensure_path_of(&camera).await?;
        let needs_reader = {
            let now = self.parts.clock.now();
            let mut st = self.lock();
            let cam = st.cameras.entry(device).or_default();
            cam.holds.viewer_seen(now);
            !cam.reader.as_ref().is_some_and(|r| r.is_reading())
        };
        if needs_reader {
            self.attach(device).await;
        }
        let deadline = tokio::time::Instant::now() + PUBLISHER_START_TIMEOUT + READY_MARGIN;
        loop {
            if let Some(s) = self.status_of(device).await?.filter(|s| s.ready) {
                info!(self.parts.log, "stream ready"; "camera" => %device);
                return Ok(self.info(device, Some(&s)));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(
                    ErrorKind::DependencyUnavailable,
                    "stream_not_ready",
                    format!(
                        "{device}'s publisher did not become ready within {} s",
                        (PUBLISHER_START_TIMEOUT + READY_MARGIN).as_secs()
                    ),
                )
                .with("dependency", "mediamtx")
                .with("device", device.to_string()));
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// Makes sure the camera's path exists (the reconcile loop may not have added it yet).
    async fn ensure_path_of(&self, camera: &CameraEntry) -> Result<(), ApiError> {
        if self.status_of(camera.id).await?.is_some() {
            return Ok(());
        }
        let cfg = self.desired_for(camera).ok_or_else(|| {
            ApiError::unsupported(
                "no_stream",
                format!("{} offers no mode a publisher can encode", camera.id),
            )
        })?;
        self.parts
            .server
            .ensure_path(&path_name(camera.id), &cfg)
            .await
            .map_err(server_error)
    }

    /// A recording is about to start: while MediaMTX serves, it records the camera's stream
    /// and the stream is held for it (never closed while it records) until
    /// [`Streams::recording_ended`]; `None` when MediaMTX does not serve (the recording is
    /// direct then).
    pub async fn recording_begins(
        &self,
        camera: &CameraEntry,
    ) -> Result<Option<RecordingStream>, ApiError> {
        if !self.is_serving() {
            return Ok(None);
        }
        let (size, fps) = self.published_mode(camera).ok_or_else(|| {
            ApiError::unsupported(
                "no_stream",
                format!("{} offers no mode a publisher can encode", camera.id),
            )
        })?;
        self.ensure_path_of(camera).await?;
        self.lock()
            .cameras
            .entry(camera.id)
            .or_default()
            .holds
            .recording_started();
        info!(self.parts.log, "stream held for a recording"; "camera" => %camera.id);
        Ok(Some(RecordingStream {
            url: format!("{}{}", self.parts.local_rtsp, path_name(camera.id)),
            size,
            fps,
        }))
    }

    /// A recording from the stream ended (or never started): its hold goes; viewing and
    /// snapshot holds keep their own time.
    pub fn recording_ended(&self, device: CameraId) {
        let now = self.parts.clock.now();
        let mut st = self.lock();
        if let Some(cam) = st.cameras.get_mut(&device) {
            cam.holds.recording_ended();
            if !cam.holds.is_held(now) {
                cam.reader = None;
            }
        }
    }

    /// `stop_streaming`: ends the viewing hold. A recording's or a recent snapshot's hold
    /// stays, so a recording never stops here.
    pub fn stop_streaming(&self, device: CameraId) -> Result<StreamStopped, ApiError> {
        self.parts.cameras.get(device)?;
        let now = self.parts.clock.now();
        let mut st = self.lock();
        let held_by = match st.cameras.get_mut(&device) {
            Some(cam) => {
                cam.holds.stop_viewing();
                if !cam.holds.is_held(now) {
                    cam.reader = None;
                }
                cam.holds.active_uses(now)
            }
            None => Vec::new(),
        };
        let still: Vec<StreamHold> = held_by
            .iter()
            .map(|u| match u {
                domain::stream::StreamUse::Viewing => StreamHold::Viewing,
                domain::stream::StreamUse::Recording => StreamHold::Recording,
                domain::stream::StreamUse::Snapshot => StreamHold::Snapshot,
            })
            .collect();
        Ok(StreamStopped {
            device,
            status: Stopped::Value,
            held_by: still,
        })
    }

    /// `get_stream_url`
    pub async fn stream_url(&self, device: CameraId) -> Result<StreamInfo, ApiError> {
        self.require_serving()?;
        self.parts.cameras.get(device)?;
        let status = self.status_of(device).await?;
        Ok(self.info(device, status.as_ref()))
    }

    /// `get_stream_status`
    pub async fn stream_status(&self, device: CameraId) -> Result<StreamStatus, ApiError> {
        self.require_serving()?;
        self.parts.cameras.get(device)?;
        let status = self.status_of(device).await?;
        Ok(StreamStatus {
            info: self.info(device, status.as_ref()),
            bytes_received: status.as_ref().map_or(0, |s| s.bytes_received),
            bytes_sent: status.as_ref().map_or(0, |s| s.bytes_sent),
            ready_since: status.as_ref().and_then(|s| s.ready_since),
        })
    }

    /// `get_streams`: one StreamInfo per connected camera.
    pub async fn streams(&self) -> Result<StreamList, ApiError> {
        self.require_serving()?;
        let statuses = self
            .parts
            .server
            .path_statuses()
            .await
            .map_err(server_error)?;
        let by_camera: HashMap<CameraId, PathStatus> = statuses
            .into_iter()
            .filter_map(|s| Some((managed_camera(&s.name)?, s)))
            .collect();
        let list: Vec<StreamInfo> = self
            .parts
            .cameras
            .list()
            .iter()
            .filter(|c| c.status.is_usable())
            .map(|c| self.info(c.id, by_camera.get(&c.id)))
            .collect();
        let active = list.iter().filter(|s| s.ready).count();
        Ok(StreamList {
            total: list.len(),
            active,
            streams: list,
        })
    }

    /// A snapshot from the stream, written to `path` as JPEG: tier 1 when the service holds
    /// the running stream and has a fresh keyframe in memory; tier 2 after activating it
    /// (publisher start, first keyframe). `None` when MediaMTX cannot serve it (tier 3
    /// then). Either way the stream is held for the snapshot policy (60 s), so a burst of
    /// snapshots is served from memory.
    pub async fn snapshot(
        &self,
        device: CameraId,
        path: &std::path::Path,
    ) -> Option<(SnapshotTier, u32, u32)> {
        if !self.is_serving() {
            return None;
        }
        let camera = self.parts.cameras.get_connected(device).ok()?;
        let hot = {
            let now = self.parts.clock.now();
            let mut st = self.lock();
            let cam = st.cameras.entry(device).or_default();
            cam.holds.snapshot_taken(now);
            cam.reader
                .as_ref()
                .and_then(|r| r.latest_frame())
                .filter(|f| f.age <= FRESH_FRAME)
        };
        let (frame, tier) = match hot {
            Some(f) => (f, SnapshotTier::StreamReady),
            None => (self.first_frame(&camera).await?, SnapshotTier::OnDemand),
        };
        let (width, height) = jpeg_size(&frame.jpeg)?;
        if let Err(e) = self.parts.reader.save_frame(&frame.jpeg, path).await {
            warn!(self.parts.log, "cannot write a stream snapshot"; "camera" => %device, "error" => e);
            return None;
        }
        Some((tier, width, height))
    }

    /// Activates the stream and waits for the reader's first keyframe; `None` when the
    /// reader ends or nothing comes within MediaMTX's start timeout.
    async fn first_frame(&self, camera: &CameraEntry) -> Option<ports::media_server::StreamFrame> {
        let device = camera.id;
        match self.status_of(device).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let cfg = self.desired_for(camera)?;
                self.parts
                    .server
                    .ensure_path(&path_name(device), &cfg)
                    .await
                    .ok()?;
            }
            Err(_) => return None,
        }
        let reading = self
            .lock()
            .cameras
            .get(&device)
            .is_some_and(|c| c.reader.as_ref().is_some_and(|r| r.is_reading()));
        if !reading {
            self.attach(device).await;
        }
        let deadline = tokio::time::Instant::now() + PUBLISHER_START_TIMEOUT;
        loop {
            let (frame, reading) = {
                let st = self.lock();
                let reader = st.cameras.get(&device).and_then(|c| c.reader.as_ref());
                (
                    reader.and_then(|r| r.latest_frame()),
                    reader.is_some_and(|r| r.is_reading()),
                )
            };
            if frame.is_some() {
                return frame;
            }
            if !reading || tokio::time::Instant::now() >= deadline {
                warn!(self.parts.log, "no picture from the stream; direct capture instead"; "camera" => %device);
                return None;
            }
            tokio::time::sleep(FRAME_POLL).await;
        }
    }

    /// `get_camera_status.stream`: `ready`, `readers`, `bytes_sent`, or null.
    pub async fn camera_stream(&self, device: CameraId) -> Option<CameraStreamState> {
        if !self.is_serving() {
            return None;
        }
        match self.parts.server.path_status(&path_name(device)).await {
            Ok(Some(s)) => Some(CameraStreamState {
                ready: s.ready,
                readers: s.readers.saturating_sub(self.own_readers(device)),
                bytes_sent: s.bytes_sent,
            }),
            _ => None,
        }
    }
}

impl CameraObserver for Streams {
    fn changed(&self, _camera: &CameraEntry) {
        // The loop's next pass adds or removes the camera's path right away.
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests;
