//! Every ffmpeg and ffprobe command line the service runs, built here and nowhere else.
//! Arguments are separate strings handed to `exec`: no shell ever sees them.
//!
//! Past 600 lines only by its tests (the builders are ~430): one file so every option ffmpeg is
//! given can be read in one place.

use std::ffi::OsString;
use std::path::Path;

use domain::api::{Quality, RecordingDuration};
use domain::capabilities::FourCc;
use domain::files::{RecordingFormat, SnapshotFormat};
use domain::media::{CaptureMode, H264Profile, RecordingMode};
use domain::Resolution;
use ports::camera::CaptureSource;

/// Frames per second of the preview JPEGs a recording sends on stdout (for snapshots
/// while the recording holds the device).
pub const PREVIEW_FPS: u32 = 2;

/// Fragmented MP4: every keyframe starts a self-contained fragment, so a file cut anywhere
/// (ffmpeg or the service killed, power lost) plays up to its last complete fragment.
const MP4_FLAGS: &str = "+frag_keyframe+empty_moov+default_base_moof";

/// Matroska clusters of at most a second bound what a cut file loses.
const MKV_CLUSTER_MS: &str = "1000";

/// How much of a stream ffmpeg reads before starting a recording of it (microseconds).
const STREAM_PROBE_MICROS: &str = "1000000";

/// The bitstream filter that makes a copied stream's first packet time 0.
const STREAM_TIMESTAMPS_FROM_ZERO: &str = "setts=pts=PTS-STARTPTS:dts=DTS-STARTDTS";

/// A lavfi source name (letters, digits and `_`), optionally followed by the picture
/// adjustments a simulated camera's controls make — nothing else, so no filter graph can be
/// smuggled in (`domain::controls::simulated::valid_pattern`).
pub fn valid_pattern(pattern: &str) -> bool {
    domain::controls::simulated::valid_pattern(pattern)
}

/// ffmpeg's `-input_format` name for a V4L2 pixel format, where it has one.
pub fn v4l2_input_format(fourcc: FourCc) -> Option<&'static str> {
    Some(match &fourcc.0 {
        b"MJPG" | b"JPEG" => "mjpeg",
        b"H264" => "h264",
        b"YUYV" => "yuyv422",
        b"UYVY" => "uyvy422",
        b"NV12" => "nv12",
        b"NV21" => "nv21",
        b"YU12" => "yuv420p",
        b"YV12" => "yuv420p",
        b"GREY" => "gray",
        b"RGB3" => "rgb24",
        b"BGR3" => "bgr24",
        b"RGBP" => "rgb565le",
        _ => return None,
    })
}

/// A rate as ffmpeg reads it: `30`, `29.97`.
pub(crate) fn rate_text(fps: f64) -> String {
    let r = (fps * 1000.0).round() / 1000.0;
    if r.fract() == 0.0 {
        format!("{}", r as u64)
    } else {
        format!("{r}")
    }
}

struct Args(Vec<OsString>);

impl Args {
    fn new() -> Args {
        Args(Vec::with_capacity(64))
    }

    fn push(&mut self, items: &[&str]) -> &mut Args {
        self.0.extend(items.iter().map(OsString::from));
        self
    }

    fn arg(&mut self, item: impl Into<OsString>) -> &mut Args {
        self.0.push(item.into());
        self
    }

    fn kv(&mut self, key: &str, value: impl Into<OsString>) -> &mut Args {
        self.0.push(key.into());
        self.0.push(value.into());
        self
    }
}

fn common(args: &mut Args) {
    args.push(&["-hide_banner", "-nostats", "-loglevel", "error", "-y"]);
}

/// The input: a V4L2 device in the asked mode, or a simulated camera's test pattern
/// generated at `size` and `fps`.
fn input(
    args: &mut Args,
    source: &CaptureSource,
    size: Resolution,
    fps: Option<f64>,
    realtime: bool,
    limit: Option<RecordingDuration>,
    pixel_format: Option<FourCc>,
) {
    if let Some(d) = limit {
        args.kv("-t", format!("{}", d.secs()));
    }
    match source {
        CaptureSource::Device { path } => {
            args.kv("-f", "v4l2");
            if let Some(f) = pixel_format.and_then(v4l2_input_format) {
                args.kv("-input_format", f);
            }
            args.kv("-video_size", size.to_string());
            if let Some(fps) = fps {
                args.kv("-framerate", rate_text(fps));
            }
            args.kv("-i", path.as_os_str());
        }
        CaptureSource::TestPattern { pattern } => {
            if realtime {
                // lavfi makes frames as fast as it can; a camera makes them in real time.
                args.push(&["-re"]);
            }
            let rate = rate_text(fps.unwrap_or(30.0));
            args.kv("-f", "lavfi");
            let (name, adjust) = domain::controls::simulated::split_pattern(pattern);
            let adjust = adjust.map(|f| format!(",{f}")).unwrap_or_default();
            args.kv(
                "-i",
                format!(
                    "{name}=size={size}:rate={rate}{adjust},{}",
                    live_clock(size)
                ),
            );
        }
    }
}

/// A simulated camera is a live source: lavfi starts every run at frame 0, so the picture
/// carries the time of day (UTC, ms) from the moment the command starts, running with the
/// frames — successive snapshots and recordings differ as a real camera's would.
fn live_clock(size: Resolution) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let of_day = (now.as_millis() % 86_400_000) as f64 / 1000.0;
    let font = (size.height / 18).max(8);
    format!(
        "drawtext=text='%{{pts\\:hms\\:{of_day:.3}}}':x={font}/2:y={font}/2:fontsize={font}:\
         fontcolor=white:box=1:boxcolor=black@0.6"
    )
}

/// ffmpeg's mjpeg `-q:v` (1 best .. 31 worst) for a quality 1..=100.
pub fn jpeg_qscale(quality: Quality) -> u32 {
    1 + (u32::from(100 - quality.get()) * 30 + 49) / 99
}

fn still_output(args: &mut Args, format: SnapshotFormat, quality: Quality, path: &Path) {
    args.kv("-frames:v", "1");
    match format {
        SnapshotFormat::Jpg => {
            args.kv("-c:v", "mjpeg")
                .kv("-qmin", "1")
                .kv("-q:v", jpeg_qscale(quality).to_string());
        }
        SnapshotFormat::Png => {
            args.kv("-c:v", "png");
        }
    }
    // `-update 1`: one image at exactly this path (no `%d` pattern interpretation).
    args.kv("-f", "image2")
        .kv("-update", "1")
        .arg(path.as_os_str());
}

/// One still from a source, at `mode.size` exactly.
pub fn still(
    source: &CaptureSource,
    mode: &CaptureMode,
    format: SnapshotFormat,
    quality: Quality,
    path: &Path,
) -> Vec<OsString> {
    let mut args = Args::new();
    common(&mut args);
    args.push(&["-nostdin"]);
    input(
        &mut args,
        source,
        mode.size,
        mode.fps,
        false,
        None,
        mode.pixel_format,
    );
    if matches!(source, CaptureSource::Device { .. }) {
        // The driver may round the asked size; the picture is the size the client was told.
        args.kv(
            "-vf",
            format!("scale={}:{}", mode.size.width, mode.size.height),
        );
    }
    still_output(&mut args, format, quality, path);
    args.0
}

/// A still re-encoded from a JPEG frame on stdin (a recording's preview).
pub fn still_from_jpeg(format: SnapshotFormat, quality: Quality, path: &Path) -> Vec<OsString> {
    let mut args = Args::new();
    common(&mut args);
    args.kv("-f", "jpeg_pipe").kv("-i", "pipe:0");
    still_output(&mut args, format, quality, path);
    args.0
}

/// The H.264 encoder settings for a recording mode: profile, level, rate control, GOP.
pub fn h264_encoder(mode: &RecordingMode) -> Vec<OsString> {
    let e = &mode.encoding;
    let kbps = e.bitrate_kbps();
    let mut args = Args::new();
    let profile = match e.profile() {
        // x264's baseline is constrained baseline (no FMO/ASO/redundant slices).
        H264Profile::ConstrainedBaseline | H264Profile::Baseline => "baseline",
    };
    args.kv("-c:v", "libx264")
        .kv("-preset", "veryfast")
        .kv("-tune", "zerolatency")
        .kv("-profile:v", profile)
        .kv("-level:v", e.level().as_str())
        .kv("-pix_fmt", "yuv420p")
        .kv("-b:v", format!("{kbps}k"))
        .kv("-maxrate", format!("{kbps}k"))
        .kv("-bufsize", format!("{}k", kbps * 2))
        .kv("-g", mode.gop_frames.to_string())
        .kv("-keyint_min", mode.gop_frames.to_string())
        .kv("-sc_threshold", "0");
    args.0
}

/// The video filter of a recording: scale to the encoded size, constant encoded rate.
fn encode_filter(mode: &RecordingMode) -> String {
    let mut chain = Vec::new();
    if mode.capture.size != mode.size {
        chain.push(format!(
            "scale={}:{}:flags=bicubic",
            mode.size.width, mode.size.height
        ));
    }
    chain.push(format!("fps={}", rate_text(mode.fps)));
    chain.push("format=yuv420p".into());
    chain.join(",")
}

/// Where a recording goes.
pub enum RecordingTarget<'a> {
    File(&'a Path),
    /// `pattern` holds one `%03d`.
    Segments {
        pattern: &'a Path,
        seconds: u64,
    },
}

/// A recording: the source in real time, H.264 in the profile into a crash-safe container,
/// plus [`PREVIEW_FPS`] JPEG frames per second at the capture size as `mpjpeg` on stdout.
pub fn recording(
    source: &CaptureSource,
    mode: &RecordingMode,
    format: RecordingFormat,
    planned: Option<RecordingDuration>,
    target: RecordingTarget<'_>,
) -> Vec<OsString> {
    let mut args = Args::new();
    common(&mut args);
    let fps = match source {
        // Generate the pattern at the encoded rate: no frames made only to be dropped.
        CaptureSource::TestPattern { .. } => Some(mode.fps),
        CaptureSource::Device { .. } => mode.capture.fps,
    };
    input(
        &mut args,
        source,
        mode.capture.size,
        fps,
        true,
        planned,
        mode.capture.pixel_format,
    );

    args.kv("-map", "0:v").push(&["-an"]);
    args.kv("-vf", encode_filter(mode));
    args.0.extend(h264_encoder(mode));
    container(&mut args, format, target);

    let preview = match source {
        CaptureSource::Device { .. } => {
            format!(
                "fps={PREVIEW_FPS},scale={}:{}",
                mode.capture.size.width, mode.capture.size.height
            )
        }
        CaptureSource::TestPattern { .. } => format!("fps={PREVIEW_FPS}"),
    };
    args.kv("-map", "0:v")
        .kv("-vf", preview)
        .kv("-c:v", "mjpeg")
        .kv("-q:v", "2")
        .kv("-f", "mpjpeg")
        .arg("pipe:1");
    args.0
}

/// The crash-safe container a recording writes: fragmented MP4 or Matroska with short
/// clusters, in one file or through the segment muxer.
fn container(args: &mut Args, format: RecordingFormat, target: RecordingTarget<'_>) {
    args.kv("-flush_packets", "1");
    let muxer = match format {
        RecordingFormat::Mp4 => "mp4",
        RecordingFormat::Mkv => "matroska",
    };
    match target {
        RecordingTarget::File(path) => {
            args.kv("-f", muxer);
            match format {
                RecordingFormat::Mp4 => args.kv("-movflags", MP4_FLAGS),
                RecordingFormat::Mkv => args.kv("-cluster_time_limit", MKV_CLUSTER_MS),
            };
            args.arg(path.as_os_str());
        }
        RecordingTarget::Segments { pattern, seconds } => {
            let options = match format {
                RecordingFormat::Mp4 => format!("movflags={MP4_FLAGS}"),
                RecordingFormat::Mkv => format!("cluster_time_limit={MKV_CLUSTER_MS}"),
            };
            args.kv("-f", "segment")
                .kv("-segment_time", seconds.to_string())
                .kv("-reset_timestamps", "1")
                .kv("-segment_format", muxer)
                .kv("-segment_format_options", options)
                .arg(pattern.as_os_str());
        }
    }
}

/// Whether `url` is read with ffmpeg's RTSP demuxer (which takes `-rtsp_transport`).
fn is_rtsp(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("rtsp://") || lower.starts_with("rtsps://")
}

/// A recording of a stream that is already H.264 in the profile (the camera's MediaMTX
/// path): read over RTSP-over-TCP (no UDP ports, no lost packets on a busy box), the video
/// copied as it comes (no decode, no encode), into the same crash-safe containers as a
/// recording from the camera. No `-t`: on a copy it counts from the first packet read, which
/// is mid-GOP and dropped (the file starts at the next keyframe), and an end ffmpeg chose
/// could not be told from the stream going away. The recorder ends a planned recording
/// itself when the packet list says the file holds the planned time. No preview (snapshots
/// come from the stream's own readers); instead one CRC line per packet on stdout: the
/// recording's progress, and the service's death breaks the pipe so ffmpeg finishes the
/// file, as with a preview.
pub fn stream_recording(
    url: &str,
    format: RecordingFormat,
    target: RecordingTarget<'_>,
) -> Vec<OsString> {
    let mut args = Args::new();
    common(&mut args);
    if is_rtsp(url) {
        args.kv("-rtsp_transport", "tcp");
    }
    // ffmpeg looks at 5 s of a live input before writing anything by default; the size and
    // parameter sets come with the first keyframe (and in MediaMTX's SDP), so one second
    // (the publisher's GOP) is enough and the recording starts 4 s sooner.
    args.kv("-analyzeduration", STREAM_PROBE_MICROS);
    args.kv("-i", url);
    args.kv("-map", "0:v:0").push(&["-an", "-c:v", "copy"]);
    // The copy starts at the first keyframe, which comes up to a GOP after the first packet
    // read (mid-GOP, dropped), and keeps the stream's clock: the file would start at that
    // offset, and Matroska counts it in its duration. Start the file at 0.
    args.kv("-bsf:v", STREAM_TIMESTAMPS_FROM_ZERO);
    container(&mut args, format, target);
    // The packet list is also the recording's progress (see `progress`): flushed per
    // packet, so the recorder sees each packet as the file gets it.
    args.kv("-map", "0:v:0")
        .kv("-c:v", "copy")
        .kv("-flush_packets", "1")
        .kv("-f", "framecrc")
        .arg("pipe:1");
    args.0
}

/// ffprobe's JSON description of a file's format and first video stream.
pub fn probe(path: &Path) -> Vec<OsString> {
    let mut args = Args::new();
    args.push(&[
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-select_streams",
        "v:0",
    ]);
    args.arg(path.as_os_str());
    args.0
}

/// ffprobe's packet times of the first video stream, for files whose container does not
/// say how long they are (a cut Matroska file).
pub fn probe_packets(path: &Path) -> Vec<OsString> {
    let mut args = Args::new();
    args.push(&[
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,duration_time",
        "-of",
        "csv=p=0",
    ]);
    args.arg(path.as_os_str());
    args.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::media::VideoEncoding;
    use std::path::PathBuf;

    fn text(args: &[OsString]) -> String {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn res(w: u32, h: u32) -> Resolution {
        Resolution::new(w, h).unwrap()
    }

    fn mode() -> RecordingMode {
        let e = VideoEncoding::standard();
        RecordingMode {
            capture: CaptureMode {
                pixel_format: FourCc::parse("MJPG"),
                size: res(1280, 720),
                fps: Some(30.0),
            },
            size: res(768, 432),
            fps: 30.0,
            gop_frames: 30,
            encoding: e,
        }
    }

    #[test]
    fn quality_maps_onto_the_mjpeg_scale() {
        assert_eq!(jpeg_qscale(Quality::new(100).unwrap()), 1);
        assert_eq!(jpeg_qscale(Quality::new(1).unwrap()), 31);
        assert_eq!(jpeg_qscale(Quality::DEFAULT), 6);
    }

    #[test]
    fn a_device_still_asks_for_the_mode_and_scales_to_it() {
        let src = CaptureSource::Device {
            path: "/dev/video0".into(),
        };
        let m = CaptureMode {
            pixel_format: FourCc::parse("YUYV"),
            size: res(640, 480),
            fps: Some(29.97),
        };
        let t = text(&still(
            &src,
            &m,
            SnapshotFormat::Jpg,
            Quality::DEFAULT,
            Path::new("/s/a.jpg"),
        ));
        assert!(
            t.contains(
                "-f v4l2 -input_format yuyv422 -video_size 640x480 -framerate 29.97 -i /dev/video0"
            ),
            "{t}"
        );
        assert!(t.contains("-vf scale=640:480"), "{t}");
        assert!(
            t.ends_with("-frames:v 1 -c:v mjpeg -qmin 1 -q:v 6 -f image2 -update 1 /s/a.jpg"),
            "{t}"
        );
        assert!(t.contains("-nostdin"));
    }

    #[test]
    fn a_test_pattern_is_a_lavfi_source_at_the_mode() {
        let src = CaptureSource::TestPattern {
            pattern: "testsrc2".into(),
        };
        let m = CaptureMode {
            pixel_format: None,
            size: res(320, 240),
            fps: None,
        };
        let t = text(&still(
            &src,
            &m,
            SnapshotFormat::Png,
            Quality::DEFAULT,
            Path::new("/s/a.png"),
        ));
        assert!(
            t.contains("-f lavfi -i testsrc2=size=320x240:rate=30"),
            "{t}"
        );
        assert!(t.contains("-c:v png"), "{t}");
        assert!(!t.contains("-re"), "{t}");
        assert!(
            t.contains(",drawtext=text='%{pts\\:hms\\:"),
            "a simulated camera shows its running clock: {t}"
        );
    }

    #[test]
    fn a_recording_is_in_the_profile_and_crash_safe() {
        let src = CaptureSource::Device {
            path: "/dev/video2".into(),
        };
        let planned = RecordingDuration::new(3.0);
        let path = PathBuf::from("/r/camera2_x.mp4");
        let t = text(&recording(
            &src,
            &mode(),
            RecordingFormat::Mp4,
            planned,
            RecordingTarget::File(&path),
        ));
        assert!(t.contains("-t 3 -f v4l2 -input_format mjpeg -video_size 1280x720 -framerate 30 -i /dev/video2"), "{t}");
        assert!(
            t.contains("-vf scale=768:432:flags=bicubic,fps=30,format=yuv420p"),
            "{t}"
        );
        assert!(t.contains("-c:v libx264"), "{t}");
        assert!(t.contains("-profile:v baseline -level:v 3.0 -pix_fmt yuv420p -b:v 1000k -maxrate 1000k -bufsize 2000k -g 30"), "{t}");
        assert!(
            t.contains(
                "-f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof /r/camera2_x.mp4"
            ),
            "{t}"
        );
        assert!(
            t.ends_with("-map 0:v -vf fps=2,scale=1280:720 -c:v mjpeg -q:v 2 -f mpjpeg pipe:1"),
            "{t}"
        );
    }

    #[test]
    fn a_simulated_recording_runs_in_real_time() {
        let src = CaptureSource::TestPattern {
            pattern: "smptebars".into(),
        };
        let path = PathBuf::from("/r/x.mkv");
        let t = text(&recording(
            &src,
            &mode(),
            RecordingFormat::Mkv,
            None,
            RecordingTarget::File(&path),
        ));
        assert!(
            t.contains("-re -f lavfi -i smptebars=size=1280x720:rate=30"),
            "{t}"
        );
        assert!(
            t.contains("-f matroska -cluster_time_limit 1000 /r/x.mkv"),
            "{t}"
        );
        assert!(!t.contains("-t "), "{t}");
    }

    #[test]
    fn segments_use_the_segment_muxer_with_the_same_container_settings() {
        let src = CaptureSource::TestPattern {
            pattern: "testsrc2".into(),
        };
        let pattern = PathBuf::from("/r/x_%03d.mp4");
        let t = text(&recording(
            &src,
            &mode(),
            RecordingFormat::Mp4,
            None,
            RecordingTarget::Segments {
                pattern: &pattern,
                seconds: 60,
            },
        ));
        assert!(
            t.contains("-f segment -segment_time 60 -reset_timestamps 1 -segment_format mp4 -segment_format_options movflags=+frag_keyframe+empty_moov+default_base_moof /r/x_%03d.mp4"),
            "{t}"
        );
    }

    #[test]
    fn a_stream_recording_copies_the_rtsp_stream_over_tcp_into_the_same_containers() {
        let path = PathBuf::from("/r/camera0_x.mp4");
        let t = text(&stream_recording(
            "rtsp://127.0.0.1:8554/camera0",
            RecordingFormat::Mp4,
            RecordingTarget::File(&path),
        ));
        assert!(
            t.contains("-rtsp_transport tcp -analyzeduration 1000000 -i rtsp://127.0.0.1:8554/camera0 -map 0:v:0 -an -c:v copy -bsf:v setts=pts=PTS-STARTPTS:dts=DTS-STARTDTS -flush_packets 1 -f mp4"),
            "{t}"
        );
        assert!(
            t.contains(
                "-f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof /r/camera0_x.mp4 "
            ),
            "{t}"
        );
        assert!(
            t.ends_with("-map 0:v:0 -c:v copy -flush_packets 1 -f framecrc pipe:1"),
            "{t}"
        );
        for absent in ["libx264", "-vf", "-t ", "mjpeg", "-re"] {
            assert!(!t.contains(absent), "{absent:?} in {t}");
        }

        let pattern = PathBuf::from("/r/x_%03d.mkv");
        let t = text(&stream_recording(
            "rtsp://127.0.0.1:8554/camera3",
            RecordingFormat::Mkv,
            RecordingTarget::Segments {
                pattern: &pattern,
                seconds: 30,
            },
        ));
        assert!(
            t.contains("-f segment -segment_time 30 -reset_timestamps 1 -segment_format matroska -segment_format_options cluster_time_limit=1000 /r/x_%03d.mkv "),
            "{t}"
        );
    }

    #[test]
    fn only_rtsp_inputs_get_the_rtsp_transport_option() {
        let path = PathBuf::from("/r/x.mkv");
        let t = text(&stream_recording(
            "/tmp/in.ts",
            RecordingFormat::Mkv,
            RecordingTarget::File(&path),
        ));
        assert!(!t.contains("-rtsp_transport"), "{t}");
        assert!(
            t.contains("-analyzeduration 1000000 -i /tmp/in.ts -map 0:v:0"),
            "{t}"
        );
        assert!(is_rtsp("RTSP://h/p") && is_rtsp("rtsps://h/p"));
        assert!(!is_rtsp("rtsp") && !is_rtsp("http://h/p"));
    }

    #[test]
    fn only_plain_source_names_are_patterns() {
        assert!(valid_pattern("testsrc2"));
        assert!(valid_pattern("smptehdbars"));
        for bad in [
            "",
            "testsrc2,drawtext=text=x",
            "a=b",
            "a:b",
            "a b",
            "movie=/etc/passwd",
        ] {
            assert!(!valid_pattern(bad), "{bad}");
        }
    }
}
