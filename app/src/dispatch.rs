//! Method → use case. Each arm is one use case; params arrive parsed and valid.

use domain::contract::results::{
    CameraDetails, CameraList, CameraStreams, MediaMode, Pong, ServerInfo, StatusReport,
    SupportedFormats,
};
use domain::files::{FileKind, RecordingFormat, SnapshotFormat};
use domain::{ApiError, Call, Method, SafeFileName};
use ports::api::Download;
use serde_json::Value;

use crate::core::Core;

pub const SERVICE_NAME: &str = "camera-service";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Camera indexes are 0..=999.
pub const MAX_CAMERAS: u32 = 1000;

/// The answer of a method whose capability this build does not provide.
fn not_available(method: Method) -> ApiError {
    ApiError::unsupported(
        "not_available",
        format!(
            "{} is not available in this build of the service",
            method.name()
        ),
    )
}

/// A typed result as the JSON the client gets.
fn to_json(result: impl serde::Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(result).map_err(|e| ApiError::internal(e.to_string()))
}

impl Core {
    pub async fn dispatch(&self, call: Call) -> Result<Value, ApiError> {
        match call {
            Call::Ping => to_json(Pong::Value),
            Call::GetCameraList => to_json(self.camera_list()),
            Call::GetCameraStatus { device } => {
                let cam = self.cameras.get(device)?;
                let stream = match &self.streams {
                    Some(s) => s.camera_stream(device).await,
                    None => None,
                };
                to_json(CameraDetails {
                    camera: cam.to_camera(self.stream_urls(device)),
                    capabilities: cam.capabilities,
                    stream,
                    recording: self.media.recording_status(device),
                })
            }
            Call::GetCameraCapabilities { device } => {
                to_json(self.cameras.get(device)?.capabilities)
            }
            Call::GetServerInfo => to_json(self.server_info()),
            Call::GetStatus => {
                // Storage figures are measured now, not at the last periodic check.
                self.files.check_storage().await;
                to_json(self.status_report())
            }
            Call::GetMetrics => {
                self.refresh_gauges();
                let mut metrics = self.metrics.report();
                metrics.mqtt = self.broker.get().map(|b| b.stats());
                to_json(metrics)
            }
            Call::TakeSnapshot(p) => to_json(self.media.take_snapshot(p).await?),
            Call::StartRecording(p) => to_json(self.media.start_recording(p).await?),
            Call::StopRecording { device } => to_json(self.media.stop_recording(device).await?),
            Call::ListRecordings(p) => to_json(self.files.list(FileKind::Recording, p).await?),
            Call::ListSnapshots(p) => to_json(self.files.list(FileKind::Snapshot, p).await?),
            Call::GetRecordingInfo { filename } => {
                to_json(self.files.recording_info(&filename).await?)
            }
            Call::GetSnapshotInfo { filename } => {
                to_json(self.files.snapshot_info(&filename).await?)
            }
            Call::DeleteRecording { filename } => {
                to_json(self.files.delete(FileKind::Recording, &filename).await?)
            }
            Call::DeleteSnapshot { filename } => {
                to_json(self.files.delete(FileKind::Snapshot, &filename).await?)
            }
            Call::GetStorageInfo => to_json(self.files.storage_info().await?),
            Call::SetRetentionPolicy(update) => to_json(self.files.set_retention(update).await?),
            Call::CleanupOldFiles { dry_run } => to_json(self.files.cleanup(dry_run).await?),
            Call::StartStreaming { device } => {
                to_json(self.streams()?.start_streaming(device).await?)
            }
            Call::StopStreaming { device } => to_json(self.streams()?.stop_streaming(device)?),
            Call::GetStreamUrl { device } => to_json(self.streams()?.stream_url(device).await?),
            Call::GetStreamStatus { device } => {
                to_json(self.streams()?.stream_status(device).await?)
            }
            Call::GetStreams => to_json(self.streams()?.streams().await?),
            Call::GetCameraControls { device } => to_json(self.controls.get(device).await?),
            Call::SetCameraControls(p) => to_json(self.controls.set(p).await?),
            Call::ResetCameraControls { device } => to_json(self.controls.reset(device).await?),
            Call::ListApiKeys => to_json(self.list_api_keys()?),
            Call::CreateApiKey(p) => to_json(self.create_api_key(p).await?),
            Call::RevokeApiKey { id } => to_json(self.revoke_api_key(&id)?),
            other => Err(not_available(other.method())),
        }
    }

    /// `rpc.discover`: the OpenRPC document, its server the `/ws` URL of `host` (the
    /// request's `Host` header) or of the configured address.
    pub fn openrpc(&self, host: Option<&str>) -> Value {
        let bind = format!("{}:{}", self.config.server.host, self.config.server.port);
        domain::contract::document(VERSION, &domain::contract::ws_url(host, &bind))
    }

    /// Stream URLs of a camera (`rtsp`, `webrtc`, `hls`, `whep`); `{}` without a media
    /// server.
    pub fn stream_urls(&self, device: domain::CameraId) -> CameraStreams {
        match &self.streams {
            Some(s) => s.urls(device),
            None => CameraStreams::default(),
        }
    }

    /// The streams use case, or -32030 in media mode `direct`.
    fn streams(&self) -> Result<&crate::streams::Streams, ApiError> {
        self.streams.as_deref().ok_or_else(|| {
            ApiError::unsupported(
                "streams_unavailable",
                "streams need MediaMTX; media.mode is direct",
            )
        })
    }

    pub fn camera_list(&self) -> CameraList {
        let cams = self.cameras.list();
        let connected = cams.iter().filter(|c| c.status.is_usable()).count();
        CameraList {
            total: cams.len(),
            connected,
            cameras: cams
                .iter()
                .map(|c| c.to_camera(self.stream_urls(c.id)))
                .collect(),
        }
    }

    /// The features this running service offers (`get_server_info.capabilities`).
    pub fn features(&self) -> Vec<&'static str> {
        let mut features = vec!["cameras"];
        // Cameras come and go by themselves only where a directory is watched.
        let camera = &self.config.camera;
        if !camera.device_dir.is_empty() || !camera.simulated_dir.is_empty() {
            features.push("hotplug");
        }
        features.extend([
            "events",
            "metrics",
            "snapshots",
            "recordings",
            "files",
            "retention",
            "controls",
        ]);
        // Only while MediaMTX serves: otherwise every stream method answers -32050.
        if self.streams.as_ref().is_some_and(|s| s.is_serving()) {
            features.push("streams");
        }
        features
    }

    /// The media plane in use now.
    pub fn media_mode(&self) -> MediaMode {
        match &self.streams {
            Some(s) => s.media_mode(),
            None => MediaMode::Direct,
        }
    }

    pub fn server_info(&self) -> ServerInfo {
        ServerInfo {
            name: SERVICE_NAME.into(),
            version: VERSION.into(),
            media_mode: self.media_mode(),
            configured_media_mode: self.config.media.mode.as_str().into(),
            capabilities: self.features().into_iter().map(str::to_owned).collect(),
            supported_formats: SupportedFormats {
                snapshot: vec![SnapshotFormat::Jpg, SnapshotFormat::Png],
                recording: vec![RecordingFormat::Mp4, RecordingFormat::Mkv],
            },
            max_cameras: MAX_CAMERAS,
            methods: Method::ALL.iter().map(|m| m.name().to_owned()).collect(),
        }
    }

    /// `get_status` / `GET /health`.
    pub fn status_report(&self) -> StatusReport {
        StatusReport {
            health: self.health.report(),
            uptime: self.uptime_secs(),
            version: VERSION.into(),
            timestamp: self.clock.now(),
        }
    }

    /// Gauges sampled on demand (cameras).
    pub fn refresh_gauges(&self) {
        let (total, connected) = self.cameras.counts();
        self.metrics.set_cameras(total as u64, connected as u64);
    }

    /// A file for `GET /files/...`.
    pub async fn download(
        &self,
        kind: FileKind,
        name: &SafeFileName,
    ) -> Result<Download, ApiError> {
        self.files.download(kind, name).await
    }
}
