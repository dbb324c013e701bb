//! Holding a stream open by reading it: an ffmpeg RTSP client that copies the video to
//! nowhere. MediaMTX counts it as a reader, so an on-demand publisher keeps running.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;

use async_trait::async_trait;
use ports::media_server::{StreamHandle, StreamReader};
use tokio::process::{Child, Command};

/// Reads RTSP streams with ffmpeg.
#[derive(Debug, Clone)]
pub struct RtspReader {
    ffmpeg: PathBuf,
}

impl RtspReader {
    pub fn new(ffmpeg: impl Into<PathBuf>) -> RtspReader {
        RtspReader {
            ffmpeg: ffmpeg.into(),
        }
    }
}

/// One ffmpeg reading a stream; killed when dropped.
pub struct RtspHandle {
    child: Mutex<Child>,
}

impl StreamHandle for RtspHandle {
    fn is_reading(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        matches!(child.try_wait(), Ok(None))
    }
}

#[async_trait]
impl StreamReader for RtspReader {
    async fn attach(&self, url: &str) -> Result<Box<dyn StreamHandle>, String> {
        let child = Command::new(&self.ffmpeg)
            .args(["-nostdin", "-hide_banner", "-loglevel", "error"])
            .args(["-rtsp_transport", "tcp", "-i", url])
            .args(["-map", "0:v:0", "-c", "copy", "-f", "null", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.ffmpeg.display()))?;
        Ok(Box::new(RtspHandle {
            child: Mutex::new(child),
        }))
    }
}
