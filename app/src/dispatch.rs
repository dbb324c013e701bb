//! Method → use case. Each arm is one use case; params arrive parsed and valid.

use domain::files::FileKind;
use domain::{ApiError, Call, Method, SafeFileName};
use ports::api::Download;
use serde_json::{json, Value};

use crate::core::{CallCtx, Core};

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
    pub async fn dispatch(&self, _ctx: &CallCtx, call: Call) -> Result<Value, ApiError> {
        match call {
            Call::Ping => Ok(json!("pong")),
            Call::GetCameraList => Ok(self.camera_list()),
            Call::GetCameraStatus { device } => {
                let cam = self.cameras.get(device)?;
                let mut v = cam.to_json(self.stream_urls(device));
                v["capabilities"] = serde_json::to_value(&cam.capabilities)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                v["stream"] = match &self.streams {
                    Some(s) => s.camera_stream(device).await,
                    None => Value::Null,
                };
                v["recording"] = self.media.recording_status(device);
                Ok(v)
            }
            Call::GetCameraCapabilities { device } => {
                let cam = self.cameras.get(device)?;
                serde_json::to_value(&cam.capabilities)
                    .map_err(|e| ApiError::internal(e.to_string()))
            }
            Call::GetServerInfo => Ok(self.server_info()),
            Call::GetStatus => {
                // Storage figures are measured now, not at the last periodic check.
                self.files.check_storage().await;
                Ok(self.status_report())
            }
            Call::GetMetrics => {
                self.refresh_gauges();
                let mut v = self.metrics.to_json();
                if let Some(b) = self.broker.get() {
                    v["mqtt"] = json!(crate::mqtt::MqttFigures::from(b.stats()));
                }
                Ok(v)
            }
            Call::TakeSnapshot(p) => self.media.take_snapshot(p).await,
            Call::StartRecording(p) => self.media.start_recording(p).await,
            Call::StopRecording { device } => self.media.stop_recording(device).await,
            Call::ListRecordings(p) => self.files.list(FileKind::Recording, p).await,
            Call::ListSnapshots(p) => self.files.list(FileKind::Snapshot, p).await,
            Call::GetRecordingInfo { filename } => self.files.recording_info(&filename).await,
            Call::GetSnapshotInfo { filename } => self.files.snapshot_info(&filename).await,
            Call::DeleteRecording { filename } => {
                self.files.delete(FileKind::Recording, &filename).await
            }
            Call::DeleteSnapshot { filename } => {
                self.files.delete(FileKind::Snapshot, &filename).await
            }
            Call::GetStorageInfo => self.files.storage_info().await,
            Call::SetRetentionPolicy(update) => self.files.set_retention(update).await,
            Call::CleanupOldFiles { dry_run } => self.files.cleanup(dry_run).await,
            Call::StartStreaming { device } => self.streams()?.start_streaming(device).await,
            Call::StopStreaming { device } => self.streams()?.stop_streaming(device),
            Call::GetStreamUrl { device } => self.streams()?.stream_url(device).await,
            Call::GetStreamStatus { device } => self.streams()?.stream_status(device).await,
            Call::GetStreams => self.streams()?.streams().await,
            Call::GetCameraControls { device } => to_json(self.controls.get(device).await?),
            Call::SetCameraControls(p) => to_json(self.controls.set(p).await?),
            Call::ResetCameraControls { device } => to_json(self.controls.reset(device).await?),
            other => Err(not_available(other.method())),
        }
    }

    /// `rpc.discover`: the OpenRPC document, its server the `/ws` URL of `host` (the
    /// request's `Host` header) or of the configured address.
    pub fn openrpc(&self, host: Option<&str>) -> Value {
        let bind = format!("{}:{}", self.config.server.host, self.config.server.port);
        domain::contract::document(VERSION, &domain::contract::ws_url(host, &bind))
    }

    /// Stream URLs of a camera (`rtsp`, `webrtc`, `hls`); `{}` without a media server.
    pub fn stream_urls(&self, device: domain::CameraId) -> Value {
        match &self.streams {
            Some(s) => s.urls(device),
            None => json!({}),
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

    pub fn camera_list(&self) -> Value {
        let cams = self.cameras.list();
        let connected = cams.iter().filter(|c| c.status.is_usable()).count();
        let list: Vec<Value> = cams
            .iter()
            .map(|c| c.to_json(self.stream_urls(c.id)))
            .collect();
        json!({"cameras": list, "total": cams.len(), "connected": connected})
    }

    /// The features this running service offers (`get_server_info.capabilities`).
    pub fn features(&self) -> Vec<&'static str> {
        let mut features = vec![
            "cameras",
            "hotplug",
            "events",
            "metrics",
            "snapshots",
            "recordings",
            "files",
            "retention",
            "controls",
        ];
        // Only while MediaMTX serves: otherwise every stream method answers -32050.
        if self.streams.as_ref().is_some_and(|s| s.is_serving()) {
            features.push("streams");
        }
        features
    }

    /// The media plane in use now.
    pub fn media_mode(&self) -> &'static str {
        match &self.streams {
            Some(s) => s.media_mode(),
            None => "direct",
        }
    }

    pub fn server_info(&self) -> Value {
        let methods: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        json!({
            "name": SERVICE_NAME,
            "version": VERSION,
            "media_mode": self.media_mode(),
            "configured_media_mode": self.config.media.mode.as_str(),
            "capabilities": self.features(),
            "supported_formats": {"snapshot": ["jpg", "png"], "recording": ["mp4", "mkv"]},
            "max_cameras": MAX_CAMERAS,
            "methods": methods,
        })
    }

    /// `get_status` / `GET /health`.
    pub fn status_report(&self) -> Value {
        let mut report = self.health.report();
        report["uptime"] = json!(self.uptime_secs());
        report["version"] = json!(VERSION);
        report["timestamp"] = json!(self.clock.now());
        report
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
