//! Holding a stream open by reading it, and keeping its newest keyframe as a JPEG.
//!
//! ffmpeg reads the stream as an RTSP client (MediaMTX counts it as a reader, so an on-demand
//! publisher keeps running), decodes keyframes only (`-skip_frame nokey`: with the
//! publisher's one-second GOP that is one picture a second, little CPU) and writes each as a
//! JPEG to its stdout. The newest one is kept, so a snapshot of a running stream is a copy
//! of bytes already in memory: no process start, no wait for a keyframe.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use ports::media_server::{StreamFrame, StreamHandle, StreamReader};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// ffmpeg's JPEG quality scale for the kept keyframes (2 = best .. 31); 3 is about 90 %.
const JPEG_QSCALE: &str = "3";
/// A JPEG larger than this is not a frame of a stream in the profile (1280x720 at most).
const MAX_JPEG: usize = 8 * 1024 * 1024;

/// Reads streams with ffmpeg.
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

#[derive(Default)]
struct Latest {
    frame: Option<(Arc<[u8]>, Instant)>,
    count: u64,
}

/// One ffmpeg reading a stream; killed when dropped.
pub struct RtspHandle {
    child: Mutex<Child>,
    latest: Arc<Mutex<Latest>>,
    frames: JoinHandle<()>,
}

impl Drop for RtspHandle {
    fn drop(&mut self) {
        self.frames.abort();
    }
}

impl StreamHandle for RtspHandle {
    fn is_reading(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        matches!(child.try_wait(), Ok(None))
    }

    fn latest_frame(&self) -> Option<StreamFrame> {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        let (jpeg, at) = latest.frame.as_ref()?;
        Some(StreamFrame {
            jpeg: Arc::clone(jpeg),
            age: at.elapsed(),
            count: latest.count,
        })
    }
}

/// Splits a byte stream of concatenated JPEGs (ffmpeg's `image2pipe`): each starts with
/// SOI (FF D8) and ends with EOI (FF D9); entropy-coded data never holds FF D9 (FF is
/// stuffed as FF 00), so the first EOI after an SOI ends the picture.
#[derive(Default)]
pub struct JpegSplitter {
    buf: Vec<u8>,
}

impl JpegSplitter {
    /// Adds bytes; returns the pictures they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(start) = self.buf.windows(2).position(|w| w == [0xFF, 0xD8]) else {
                // Keep a trailing FF: it may begin the next SOI.
                let keep = usize::from(self.buf.last() == Some(&0xFF));
                self.buf.drain(..self.buf.len() - keep);
                return out;
            };
            if start > 0 {
                self.buf.drain(..start);
            }
            match self.buf[2..].windows(2).position(|w| w == [0xFF, 0xD9]) {
                Some(end) => {
                    let picture: Vec<u8> = self.buf.drain(..end + 4).collect();
                    out.push(picture);
                }
                None => {
                    if self.buf.len() > MAX_JPEG {
                        // Not a picture we can use: drop it and resynchronise.
                        self.buf.clear();
                    }
                    return out;
                }
            }
        }
    }
}

#[async_trait]
impl StreamReader for RtspReader {
    async fn attach(&self, url: &str) -> Result<Box<dyn StreamHandle>, String> {
        let mut cmd = Command::new(&self.ffmpeg);
        cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error"]);
        if url.starts_with("rtsp://") || url.starts_with("rtsps://") {
            cmd.args(["-rtsp_transport", "tcp"]);
            // The publisher's SDP carries the SPS/PPS (sprop-parameter-sets), so there is
            // nothing to probe for. ffmpeg's default probing waits for its full 5 s analyze
            // duration here (keyframes only are decoded), which made a cold (tier-2)
            // snapshot take over 5 s; with these limits the first picture comes with the
            // first keyframe.
            cmd.args(["-probesize", "32", "-analyzeduration", "200000"]);
        }
        // One decoding thread: a frame-threaded decoder holds each picture back until the
        // next frames are decoded, and with keyframes only that is a whole GOP (the kept
        // "newest" keyframe was a second older than it had to be).
        cmd.args(["-threads", "1", "-skip_frame", "nokey", "-i", url])
            .args(["-map", "0:v:0", "-an", "-fps_mode", "passthrough"])
            .args([
                "-c:v",
                "mjpeg",
                "-q:v",
                JPEG_QSCALE,
                "-f",
                "image2pipe",
                "-",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.ffmpeg.display()))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| "ffmpeg's output is not piped".to_string())?;
        let latest = Arc::new(Mutex::new(Latest::default()));
        let sink = Arc::clone(&latest);
        let frames = tokio::spawn(async move {
            let mut splitter = JpegSplitter::default();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match stdout.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let mut pictures = splitter.push(&chunk[..n]);
                        let decoded = pictures.len() as u64;
                        if let Some(newest) = pictures.pop() {
                            let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
                            l.frame = Some((Arc::from(newest), Instant::now()));
                            l.count += decoded;
                        }
                    }
                }
            }
        });
        Ok(Box::new(RtspHandle {
            child: Mutex::new(child),
            latest,
            frames,
        }))
    }

    async fn save_frame(&self, jpeg: &[u8], path: &std::path::Path) -> Result<(), String> {
        tokio::fs::write(path, jpeg)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn picture(body: &[u8]) -> Vec<u8> {
        let mut p = vec![0xFF, 0xD8];
        p.extend_from_slice(body);
        p.extend_from_slice(&[0xFF, 0xD9]);
        p
    }

    #[test]
    fn garbage_before_a_picture_is_skipped() {
        let mut s = JpegSplitter::default();
        let mut bytes = vec![1, 2, 3];
        bytes.extend(picture(&[9, 0xFF, 0x00, 8]));
        assert_eq!(s.push(&bytes), vec![picture(&[9, 0xFF, 0x00, 8])]);
    }

    proptest! {
        #[test]
        fn pictures_come_out_whole_however_the_bytes_are_cut(
            bodies in proptest::collection::vec(proptest::collection::vec(0u8..0xFF, 0..50), 1..5),
            cuts in proptest::collection::vec(1usize..40, 1..20),
        ) {
            // Bodies avoid 0xFF, as stuffed entropy data does for markers.
            let all: Vec<Vec<u8>> = bodies.iter().map(|b| picture(b)).collect();
            let stream: Vec<u8> = all.concat();
            let mut s = JpegSplitter::default();
            let mut got = Vec::new();
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= stream.len() { break; }
                let end = (at + c).min(stream.len());
                got.extend(s.push(&stream[at..end]));
                at = end;
            }
            prop_assert_eq!(got, all);
        }
    }
}
