//! ffmpeg and ffprobe behind the `Capture` and `MediaInspector` ports.
//!
//! - [`command`] builds every capture command line, [`publisher`] MediaMTX's `runOnDemand`
//!   publisher ([`FfmpegPublisher`]) with the same input options: the only places that
//!   know ffmpeg's options;
//! - [`process`] runs them without a shell, with timeouts, kill-on-drop and the tail of
//!   their error output in every error;
//! - [`FfmpegCapture`] takes stills and starts recordings ([`FfmpegRecorder`]);
//! - [`FfprobeInspector`] reads duration, codec, size and rate of a file.

pub mod command;
mod probe;
pub mod process;
pub mod progress;
pub mod publisher;
mod recorder;
pub mod tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ports::camera::CaptureSource;
use ports::capture::{Capture, CaptureError, Recorder, RecordingRequest, Still, StillRequest};

pub use probe::FfprobeInspector;
pub use publisher::FfmpegPublisher;
pub use recorder::FfmpegRecorder;

/// Where the tools are and how long they may take.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// A still (including ffmpeg's start) is killed after this long.
    pub still_timeout: Duration,
    /// A recording that has written nothing after this long is killed.
    pub start_timeout: Duration,
    /// The same for a recording from a stream, which may first wait for the media server to
    /// start the stream's publisher.
    pub stream_start_timeout: Duration,
    /// After asking a recording to stop, how long to wait before killing it (a stopped
    /// recording answers within this bound, plus reading the file).
    pub stop_grace: Duration,
    /// A recording under way whose ffmpeg reports no progress and whose files have not grown
    /// for this long is stalled: it is finished and ends as a failure. `None`: never.
    pub stall_after: Option<Duration>,
    /// ffprobe is killed after this long.
    pub probe_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            still_timeout: Duration::from_secs(10),
            start_timeout: Duration::from_secs(10),
            // MediaMTX holds a reader up to 10 s for an on-demand publisher, then ffmpeg
            // reads the stream's first packets.
            stream_start_timeout: Duration::from_secs(20),
            // A healthy ffmpeg finishes a file well within a second of `q`.
            stop_grace: Duration::from_secs(5),
            // Five times the longest GOP the profile allows: fragments and clusters are
            // written at least every GOP.
            stall_after: Some(Duration::from_secs(10)),
            probe_timeout: Duration::from_secs(10),
        }
    }
}

/// Stills and recordings by ffmpeg.
#[derive(Clone)]
pub struct FfmpegCapture {
    settings: Arc<Settings>,
}

impl FfmpegCapture {
    pub fn new(settings: Settings) -> FfmpegCapture {
        FfmpegCapture {
            settings: Arc::new(settings),
        }
    }

    /// Starts a recording (the concrete type, for callers that want its process id).
    pub async fn start(
        &self,
        request: RecordingRequest,
    ) -> Result<Arc<FfmpegRecorder>, CaptureError> {
        FfmpegRecorder::start(self.settings.clone(), request).await
    }

    /// `ffmpeg -version`'s first line, or why ffmpeg cannot be run.
    pub async fn version(&self) -> Result<String, CaptureError> {
        tools::version("ffmpeg", &self.settings.ffmpeg, self.settings.probe_timeout).await
    }
}

/// A still must exist and not be empty, whatever ffmpeg's exit status said.
pub(crate) fn check_written(path: &Path) -> Result<(), CaptureError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > 0 => Ok(()),
        Ok(_) => Err(CaptureError::Failed {
            dependency: "ffmpeg",
            details: format!("wrote an empty file {}", path.display()),
        }),
        Err(e) => Err(CaptureError::Failed {
            dependency: "ffmpeg",
            details: format!("wrote no file {}: {e}", path.display()),
        }),
    }
}

#[async_trait]
impl Capture for FfmpegCapture {
    async fn still(&self, request: StillRequest<'_>) -> Result<Still, CaptureError> {
        if let CaptureSource::TestPattern { pattern } = request.source {
            if !command::valid_pattern(pattern) {
                return Err(CaptureError::Failed {
                    dependency: "ffmpeg",
                    details: format!("{pattern:?} is not a test pattern name"),
                });
            }
        }
        let args = command::still(
            request.source,
            &request.mode,
            request.format,
            request.quality,
            request.path,
        );
        let from_device = matches!(request.source, CaptureSource::Device { .. });
        process::run(
            "ffmpeg",
            &self.settings.ffmpeg,
            args,
            None,
            0,
            self.settings.still_timeout,
            from_device,
        )
        .await?;
        check_written(request.path)?;
        Ok(Still {
            width: request.mode.size.width,
            height: request.mode.size.height,
        })
    }

    async fn record(&self, request: RecordingRequest) -> Result<Arc<dyn Recorder>, CaptureError> {
        let recorder: Arc<dyn Recorder> = self.start(request).await?;
        Ok(recorder)
    }

    async fn check(&self) -> Result<String, CaptureError> {
        self.version().await
    }
}
