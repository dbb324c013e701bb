//! Reading media files with ffprobe.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use domain::capabilities::round_fps;
use ports::capture::{CaptureError, MediaInfo, MediaInspector, VideoInfo};
use serde_json::Value;

use crate::{command, process, Settings};

const DEPENDENCY: &str = "ffprobe";

/// Duration, codec, size and rate of recordings and snapshots, by ffprobe.
#[derive(Debug, Clone)]
pub struct FfprobeInspector {
    ffprobe: PathBuf,
    timeout: Duration,
}

impl FfprobeInspector {
    pub fn new(settings: &Settings) -> FfprobeInspector {
        FfprobeInspector {
            ffprobe: settings.ffprobe.clone(),
            timeout: settings.probe_timeout,
        }
    }

    async fn packets_duration(&self, path: &Path) -> Result<Option<f64>, CaptureError> {
        let out = process::run(
            DEPENDENCY,
            &self.ffprobe,
            command::probe_packets(path),
            None,
            64 * 1024 * 1024,
            self.timeout,
            false,
        )
        .await?;
        Ok(span_of_packets(&String::from_utf8_lossy(&out.stdout)))
    }
}

#[async_trait]
impl MediaInspector for FfprobeInspector {
    async fn inspect(&self, path: &Path) -> Result<MediaInfo, CaptureError> {
        let out = process::run(
            DEPENDENCY,
            &self.ffprobe,
            command::probe(path),
            None,
            1024 * 1024,
            self.timeout,
            false,
        )
        .await?;
        let json: Value =
            serde_json::from_slice(&out.stdout).map_err(|e| CaptureError::Failed {
                dependency: DEPENDENCY,
                details: format!("unreadable output: {e}"),
            })?;
        let mut info = media_info(&json);
        if info.duration.is_none() && !is_still(&json) && info.video.is_some() {
            // A cut Matroska file has no duration in its header: measure the packets.
            info.duration = self.packets_duration(path).await?;
        }
        Ok(info)
    }
}

fn is_still(json: &Value) -> bool {
    let name = json["format"]["format_name"].as_str().unwrap_or_default();
    name == "image2" || name.ends_with("_pipe")
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite() && *f >= 0.0)
}

/// `"30000/1001"` → 29.97; `"0/0"` → None.
fn rate(v: &Value) -> Option<f64> {
    let (n, d) = v.as_str()?.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0.0 && d > 0.0).then(|| round_fps(n / d))
}

/// What ffprobe's `-show_format -show_streams` JSON says.
pub(crate) fn media_info(json: &Value) -> MediaInfo {
    let still = is_still(json);
    let stream = json["streams"].as_array().and_then(|s| s.first());
    let video = stream.and_then(|s| {
        Some(VideoInfo {
            codec: s["codec_name"].as_str()?.to_owned(),
            width: u32::try_from(s["width"].as_u64()?).ok()?,
            height: u32::try_from(s["height"].as_u64()?).ok()?,
            fps: if still {
                None
            } else {
                rate(&s["avg_frame_rate"]).or_else(|| rate(&s["r_frame_rate"]))
            },
        })
    });
    let duration = if still {
        None
    } else {
        number(&json["format"]["duration"]).or_else(|| stream.and_then(|s| number(&s["duration"])))
    };
    MediaInfo { duration, video }
}

/// From `pts_time,duration_time` lines: last end minus first start.
pub(crate) fn span_of_packets(csv: &str) -> Option<f64> {
    let mut first: Option<f64> = None;
    let mut end: Option<f64> = None;
    for line in csv.lines() {
        let mut cols = line.split(',');
        let Some(pts) = cols.next().and_then(|p| p.trim().parse::<f64>().ok()) else {
            continue;
        };
        let dur = cols
            .next()
            .and_then(|d| d.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        first = Some(first.map_or(pts, |f| f.min(pts)));
        end = Some(end.map_or(pts + dur, |e| e.max(pts + dur)));
    }
    Some(end? - first?).filter(|d| *d >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recording_reports_duration_codec_size_and_rate() {
        let j = json!({
            "streams": [{"codec_name": "h264", "width": 768, "height": 432,
                         "avg_frame_rate": "30/1", "r_frame_rate": "30/1"}],
            "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "2.833333"}
        });
        let info = media_info(&j);
        assert_eq!(info.duration, Some(2.833333));
        let v = info.video.unwrap();
        assert_eq!(
            (v.codec.as_str(), v.width, v.height, v.fps),
            ("h264", 768, 432, Some(30.0))
        );
    }

    #[test]
    fn a_still_has_no_duration_or_rate() {
        let j = json!({
            "streams": [{"codec_name": "mjpeg", "width": 1280, "height": 720,
                         "avg_frame_rate": "0/0", "r_frame_rate": "25/1"}],
            "format": {"format_name": "image2", "duration": "0.040000"}
        });
        let info = media_info(&j);
        assert_eq!(info.duration, None);
        assert_eq!(info.video.unwrap().fps, None);
    }

    #[test]
    fn ntsc_rates_are_rounded() {
        assert_eq!(rate(&json!("30000/1001")), Some(29.97));
        assert_eq!(rate(&json!("0/0")), None);
    }

    #[test]
    fn packet_times_give_the_span() {
        assert_eq!(
            span_of_packets("0.000000,0.033333\n1.000000,0.033333\n0.5,N/A\n"),
            Some(1.033333)
        );
        assert_eq!(span_of_packets(""), None);
    }
}
