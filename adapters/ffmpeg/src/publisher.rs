//! The MediaMTX `runOnDemand` publisher: ffmpeg reading the camera, encoding H.264 in the
//! STANAG 4406 profile (the publication's encoding: the largest size and rate inside it,
//! yuv420p, its bit rate, its GOP, no B-frames) and publishing over RTSP to the path it
//! serves. The input options are [`command`](crate::command)'s, shared with captures.

use domain::media::VideoEncoding;
use domain::stream::{Publication, PublisherInput};
use ports::media_server::{PublisherCommands, PublisherError};

use crate::command::{rate_text, v4l2_input_format, valid_pattern};

/// [`PublisherCommands`] for the configured ffmpeg.
#[derive(Debug, Clone)]
pub struct FfmpegPublisher {
    /// The program MediaMTX runs (a name on its `PATH` or a path).
    ffmpeg: String,
}

impl FfmpegPublisher {
    pub fn new(ffmpeg: impl Into<String>) -> FfmpegPublisher {
        FfmpegPublisher {
            ffmpeg: ffmpeg.into(),
        }
    }
}

impl PublisherCommands for FfmpegPublisher {
    fn publisher_command(&self, publication: &Publication) -> Result<String, PublisherError> {
        publisher_line(&self.ffmpeg, publication)
    }
}

fn checked(what: &'static str, text: &str) -> Result<String, PublisherError> {
    if text.is_empty() || text.contains('$') || text.chars().any(char::is_control) {
        return Err(PublisherError::UnsafeText {
            what,
            text: text.to_owned(),
        });
    }
    Ok(text.to_owned())
}

/// One word for a POSIX-style splitter (MediaMTX uses go-shellquote): bare when it is only
/// safe characters, single-quoted otherwise.
fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The command line; `ffmpeg` is the program to run.
pub fn publisher_line(ffmpeg: &str, publication: &Publication) -> Result<String, PublisherError> {
    let encoding = &publication.encoding;
    let mut args: Vec<String> = vec![
        checked("ffmpeg program", ffmpeg)?,
        "-hide_banner".into(),
        "-nostdin".into(),
        "-loglevel".into(),
        "error".into(),
    ];
    match &publication.input {
        PublisherInput::Device { path, capture } => {
            args.extend(["-f".into(), "v4l2".into()]);
            if let Some(name) = capture.pixel_format.and_then(v4l2_input_format) {
                args.extend(["-input_format".into(), name.into()]);
            }
            args.extend(["-video_size".into(), capture.size.to_string()]);
            if let Some(fps) = capture.fps.filter(|f| f.is_finite() && *f > 0.0) {
                args.extend(["-framerate".into(), rate_text(fps)]);
            }
            args.extend(["-i".into(), checked("device path", path)?]);
        }
        PublisherInput::TestPattern { pattern, size, fps } => {
            // A source name, or one with a simulated camera's picture adjustments.
            if !valid_pattern(pattern) {
                return Err(PublisherError::BadPattern(pattern.clone()));
            }
            let fps = Some(*fps).filter(|f| f.is_finite() && *f > 0.0);
            let rate = rate_text(fps.unwrap_or(VideoEncoding::PREFERRED_MAX_FPS));
            let (name, adjust) = domain::controls::simulated::split_pattern(pattern);
            let adjust = adjust.map(|f| format!(",{f}")).unwrap_or_default();
            // -re: lavfi sources run as fast as they can otherwise.
            args.extend([
                "-re".into(),
                "-f".into(),
                "lavfi".into(),
                "-i".into(),
                format!("{name}=size={size}:rate={rate}{adjust}"),
            ]);
        }
    }
    let (size, fps) = publication
        .output_mode()
        .ok_or(PublisherError::NoFit(publication.source_mode().0))?;
    let gop = encoding.gop_frames(fps).to_string();
    let kbps = format!("{}k", encoding.bitrate_kbps());
    args.extend([
        "-an".into(),
        "-vf".into(),
        format!(
            "scale={}:{}:flags=bilinear,format={}",
            size.width,
            size.height,
            VideoEncoding::PIXEL_FORMAT
        ),
        "-r".into(),
        rate_text(fps),
        "-c:v".into(),
        "libx264".into(),
        "-preset".into(),
        "ultrafast".into(),
        "-tune".into(),
        "zerolatency".into(),
        // x264's baseline is constrained baseline (no FMO/ASO/redundant slices), which both
        // profiles of the envelope accept.
        "-profile:v".into(),
        "baseline".into(),
        "-level:v".into(),
        encoding.level().as_str().into(),
        "-pix_fmt".into(),
        VideoEncoding::PIXEL_FORMAT.into(),
        "-g".into(),
        gop.clone(),
        "-keyint_min".into(),
        gop,
        "-sc_threshold".into(),
        "0".into(),
        "-bf".into(),
        "0".into(),
        "-b:v".into(),
        kbps.clone(),
        "-maxrate".into(),
        kbps.clone(),
        "-bufsize".into(),
        kbps,
        "-f".into(),
        "rtsp".into(),
        "-rtsp_transport".into(),
        "tcp".into(),
    ]);
    let mut line: String = args
        .iter()
        .map(|a| shell_word(a))
        .collect::<Vec<_>>()
        .join(" ");
    // Left bare on purpose: MediaMTX substitutes these before running the command.
    line.push_str(" rtsp://localhost:$RTSP_PORT/$MTX_PATH");
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::capabilities::FourCc;
    use domain::media::CaptureMode;
    use domain::Resolution;
    use proptest::prelude::*;

    fn pattern(pattern: &str, size: Resolution, fps: f64) -> Publication {
        Publication {
            input: PublisherInput::TestPattern {
                pattern: pattern.into(),
                size,
                fps,
            },
            encoding: VideoEncoding::standard(),
        }
    }

    fn device(path: &str, capture: CaptureMode) -> Publication {
        Publication {
            input: PublisherInput::Device {
                path: path.into(),
                capture,
            },
            encoding: VideoEncoding::standard(),
        }
    }

    #[test]
    fn test_pattern_publisher_encodes_in_the_profile_and_publishes_to_its_path() {
        let line = publisher_line(
            "ffmpeg",
            &pattern("testsrc2", Resolution::new(1280, 720).unwrap(), 30.0),
        )
        .unwrap();
        assert!(line.starts_with("ffmpeg -hide_banner"), "{line}");
        assert!(
            line.contains(" -re -f lavfi -i testsrc2=size=1280x720:rate=30 "),
            "{line}"
        );
        for needle in [
            " -c:v libx264 ",
            " -profile:v baseline ",
            " -level:v 3.0 ",
            " -pix_fmt yuv420p ",
            " -g 30 -keyint_min 30 ",
            " -bf 0 ",
            // 1280x720 at 30 fps is beyond level 3.0: scaled to 768x432.
            " -vf scale=768:432:flags=bilinear,format=yuv420p ",
        ] {
            assert!(line.contains(needle), "{needle:?} missing from {line}");
        }
        assert!(
            line.ends_with(" -f rtsp -rtsp_transport tcp rtsp://localhost:$RTSP_PORT/$MTX_PATH"),
            "{line}"
        );
    }

    #[test]
    fn device_publisher_reads_the_node_in_its_mode() {
        let line = FfmpegPublisher::new("/usr/bin/ffmpeg")
            .publisher_command(&device(
                "/dev/video0",
                CaptureMode {
                    pixel_format: FourCc::parse("MJPG"),
                    size: Resolution::new(640, 480).unwrap(),
                    fps: Some(30.0),
                },
            ))
            .unwrap();
        assert!(
            line.contains(
                " -f v4l2 -input_format mjpeg -video_size 640x480 -framerate 30 -i /dev/video0 "
            ),
            "{line}"
        );
        assert!(line.contains(" -vf scale=640:480:"), "{line}");
    }

    #[test]
    fn every_pixel_format_captures_know_is_asked_for_by_the_publisher_too() {
        let line = publisher_line(
            "ffmpeg",
            &device(
                "/dev/video0",
                CaptureMode {
                    pixel_format: FourCc::parse("UYVY"),
                    size: Resolution::new(640, 480).unwrap(),
                    fps: None,
                },
            ),
        )
        .unwrap();
        assert!(line.contains(" -input_format uyvy422 "), "{line}");
    }

    #[test]
    fn odd_paths_are_quoted_and_dollar_is_refused() {
        let dev = |path: &str| {
            publisher_line(
                "ffmpeg",
                &device(
                    path,
                    CaptureMode {
                        pixel_format: None,
                        size: Resolution::new(640, 480).unwrap(),
                        fps: None,
                    },
                ),
            )
        };
        let quoted = dev("/tmp/my cams/it's").unwrap();
        assert!(quoted.contains(r" -i '/tmp/my cams/it'\''s' "), "{quoted}");
        assert!(matches!(
            dev("/dev/$HOME"),
            Err(PublisherError::UnsafeText { .. })
        ));
        let bad = publisher_line(
            "ffmpeg",
            &pattern(
                "testsrc2,drawtext",
                Resolution::new(640, 480).unwrap(),
                30.0,
            ),
        );
        assert!(matches!(bad, Err(PublisherError::BadPattern(_))));
    }

    proptest! {
        #[test]
        fn the_publisher_encodes_what_the_profile_admits(w in 16u32..=4096, h in 16u32..=4096, fps in 1.0f64..120.0) {
            let size = Resolution::new(w, h).unwrap();
            let p = pattern("testsrc2", size, fps);
            match (publisher_line("ffmpeg", &p), p.output_mode()) {
                (Ok(cmd), Some((out, out_fps))) => {
                    prop_assert!(p.encoding.admits(out, out_fps).is_ok());
                    let scale = format!(" -vf scale={}:{}:", out.width, out.height);
                    prop_assert!(cmd.contains(&scale), "{} lacks {}", cmd, scale);
                }
                (Err(PublisherError::NoFit(_)), None) => {}
                (cmd, fit) => prop_assert!(false, "{cmd:?} vs {fit:?}"),
            }
        }
    }
}
