//! Streams: lifecycle policies, the MediaMTX path each camera gets, the reconcile diff
//! between what MediaMTX has and what should exist, and the URLs clients are given.
//!
//! How the policies are kept. MediaMTX starts a path's `runOnDemand` publisher when a reader
//! arrives and stops it `runOnDemandCloseAfter` after the last reader left. Editing a live
//! path's config makes MediaMTX recreate the path (publisher and readers are dropped), so the
//! path config is the same for every use: a short [`PATH_CLOSE_AFTER`]. Each use's policy is
//! then kept by the service holding a reader of its own on the stream for as long as
//! [`StreamHolds`] says (minus that grace), so MediaMTX closes the publisher when the policy
//! says, and at most [`PATH_CLOSE_AFTER`] after the service itself went away.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use crate::camera::{CameraId, Resolution};
use crate::capabilities::FourCc;
use crate::media::{CaptureMode, VideoEncoding};
use crate::time::Timestamp;

/// Why a stream is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamUse {
    /// Clients watch it (`start_streaming`, RTSP / WebRTC / HLS readers).
    Viewing,
    /// A recording reads it.
    Recording,
    /// A snapshot was taken from it.
    Snapshot,
}

/// When a stream opened for one use may close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePolicy {
    /// This long after the last reader left.
    AfterLastReader(Duration),
    /// Never while the use lasts.
    Never,
    /// This long after the capture.
    AfterCapture(Duration),
}

/// Viewing: close 300 s after the last reader.
pub const VIEWING_CLOSE_AFTER: Duration = Duration::from_secs(300);
/// Snapshot: close 60 s after the capture (keeps a burst of snapshots on the fast tier).
pub const SNAPSHOT_CLOSE_AFTER: Duration = Duration::from_secs(60);
/// MediaMTX's own grace after the last reader of a path (the service's hold included).
pub const PATH_CLOSE_AFTER: Duration = Duration::from_secs(10);
/// How long MediaMTX holds readers while the publisher starts (ffmpeg start-up, device open,
/// first keyframe).
pub const PUBLISHER_START_TIMEOUT: Duration = Duration::from_secs(10);

impl StreamUse {
    pub const ALL: [StreamUse; 3] = [
        StreamUse::Viewing,
        StreamUse::Recording,
        StreamUse::Snapshot,
    ];

    pub fn policy(self) -> ClosePolicy {
        match self {
            StreamUse::Viewing => ClosePolicy::AfterLastReader(VIEWING_CLOSE_AFTER),
            StreamUse::Recording => ClosePolicy::Never,
            StreamUse::Snapshot => ClosePolicy::AfterCapture(SNAPSHOT_CLOSE_AFTER),
        }
    }
}

impl ClosePolicy {
    /// How long the service holds the stream after the policy's moment (last reader,
    /// capture) so that MediaMTX, adding [`PATH_CLOSE_AFTER`], closes it on time.
    /// `None` for [`ClosePolicy::Never`].
    pub fn hold_after(self) -> Option<Duration> {
        match self {
            ClosePolicy::AfterLastReader(d) | ClosePolicy::AfterCapture(d) => {
                Some(d.saturating_sub(PATH_CLOSE_AFTER))
            }
            ClosePolicy::Never => None,
        }
    }
}

/// How long the service keeps its own reader on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Not held: MediaMTX closes the publisher [`PATH_CLOSE_AFTER`] after its other readers.
    Released,
    /// Held until this instant (exclusive).
    Until(Timestamp),
    /// Held while a recording lasts.
    Indefinite,
}

/// One camera's uses of its stream, and from them how long the service holds the stream.
/// Pure bookkeeping: the caller says what happened and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHolds {
    recordings: u32,
    viewing_until: Option<Timestamp>,
    snapshot_until: Option<Timestamp>,
}

fn later(a: Option<Timestamp>, b: Timestamp) -> Option<Timestamp> {
    Some(a.map_or(b, |a| a.max(b)))
}

fn hold_from(now: Timestamp, policy: ClosePolicy) -> Option<Timestamp> {
    let d = policy.hold_after()?;
    Some(now.plus_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

impl StreamHolds {
    /// A viewer is there at `now`: `start_streaming`, or readers other than the service's
    /// seen on the path. Viewing is held until the policy's time after the last such moment.
    pub fn viewer_seen(&mut self, now: Timestamp) {
        if let Some(until) = hold_from(now, StreamUse::Viewing.policy()) {
            self.viewing_until = later(self.viewing_until, until);
        }
    }

    /// `stop_streaming`: the viewing hold ends now. Recordings and snapshot holds stay.
    pub fn stop_viewing(&mut self) {
        self.viewing_until = None;
    }

    pub fn recording_started(&mut self) {
        self.recordings = self.recordings.saturating_add(1);
    }

    /// A recording ended (stopped, failed, camera gone). Unmatched calls are ignored.
    pub fn recording_ended(&mut self) {
        self.recordings = self.recordings.saturating_sub(1);
    }

    pub fn snapshot_taken(&mut self, now: Timestamp) {
        if let Some(until) = hold_from(now, StreamUse::Snapshot.policy()) {
            self.snapshot_until = later(self.snapshot_until, until);
        }
    }

    pub fn is_recording(&self) -> bool {
        self.recordings > 0
    }

    /// Recordings reading the stream now (each is a reader of the path).
    pub fn recordings(&self) -> u32 {
        self.recordings
    }

    /// The uses that hold the stream at `now`.
    pub fn active_uses(&self, now: Timestamp) -> Vec<StreamUse> {
        let live = |t: Option<Timestamp>| t.is_some_and(|t| now < t);
        let mut uses = Vec::with_capacity(3);
        if live(self.viewing_until) {
            uses.push(StreamUse::Viewing);
        }
        if self.is_recording() {
            uses.push(StreamUse::Recording);
        }
        if live(self.snapshot_until) {
            uses.push(StreamUse::Snapshot);
        }
        uses
    }

    /// How long the stream is held, seen at `now`.
    pub fn hold(&self, now: Timestamp) -> Hold {
        if self.is_recording() {
            return Hold::Indefinite;
        }
        match [self.viewing_until, self.snapshot_until]
            .into_iter()
            .flatten()
            .max()
        {
            Some(until) if now < until => Hold::Until(until),
            _ => Hold::Released,
        }
    }

    pub fn is_held(&self, now: Timestamp) -> bool {
        self.hold(now) != Hold::Released
    }
}

/// The settings of a MediaMTX path the service manages; `None` is "not said" (on the way
/// out: leave as is; on the way in: MediaMTX did not report it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathConfig {
    pub source: Option<String>,
    pub run_on_demand: Option<String>,
    pub run_on_demand_restart: Option<bool>,
    pub run_on_demand_start_timeout: Option<Duration>,
    pub run_on_demand_close_after: Option<Duration>,
}

impl PathConfig {
    /// A path whose publisher is `publisher`, started on the first reader, restarted if it
    /// exits while readers remain, and stopped [`PATH_CLOSE_AFTER`] after the last reader.
    pub fn on_demand(publisher: &PublisherCommand) -> PathConfig {
        PathConfig {
            source: Some("publisher".into()),
            run_on_demand: Some(publisher.as_str().to_owned()),
            run_on_demand_restart: Some(true),
            run_on_demand_start_timeout: Some(PUBLISHER_START_TIMEOUT),
            run_on_demand_close_after: Some(PATH_CLOSE_AFTER),
        }
    }

    /// Every setting `wanted` says is the same here.
    pub fn satisfies(&self, wanted: &PathConfig) -> bool {
        fn ok<T: PartialEq>(have: &Option<T>, want: &Option<T>) -> bool {
            want.is_none() || have == want
        }
        ok(&self.source, &wanted.source)
            && ok(&self.run_on_demand, &wanted.run_on_demand)
            && ok(&self.run_on_demand_restart, &wanted.run_on_demand_restart)
            && ok(
                &self.run_on_demand_start_timeout,
                &wanted.run_on_demand_start_timeout,
            )
            && ok(
                &self.run_on_demand_close_after,
                &wanted.run_on_demand_close_after,
            )
    }

    /// `self` with every setting `patch` says applied (what MediaMTX's path patch does).
    pub fn patched(&self, patch: &PathConfig) -> PathConfig {
        PathConfig {
            source: patch.source.clone().or_else(|| self.source.clone()),
            run_on_demand: patch
                .run_on_demand
                .clone()
                .or_else(|| self.run_on_demand.clone()),
            run_on_demand_restart: patch.run_on_demand_restart.or(self.run_on_demand_restart),
            run_on_demand_start_timeout: patch
                .run_on_demand_start_timeout
                .or(self.run_on_demand_start_timeout),
            run_on_demand_close_after: patch
                .run_on_demand_close_after
                .or(self.run_on_demand_close_after),
        }
    }
}

/// The MediaMTX path of a camera: `camera<N>`.
pub fn path_name(camera: CameraId) -> String {
    camera.to_string()
}

/// The camera whose path this is, if the service manages it: exactly the text
/// [`path_name`] makes. Other paths (`all_others`, an operator's own, `camera007`) are
/// never touched.
pub fn managed_camera(path: &str) -> Option<CameraId> {
    CameraId::parse(path)
        .ok()
        .filter(|id| id.to_string() == path)
}

/// What reconciling does to MediaMTX: every list sorted by camera.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcilePlan {
    /// Paths MediaMTX lacks.
    pub add: Vec<(CameraId, PathConfig)>,
    /// Paths whose settings drifted (edited by hand, older service version); carries every
    /// managed setting.
    pub patch: Vec<(CameraId, PathConfig)>,
    /// Managed paths of cameras that are gone.
    pub delete: Vec<CameraId>,
}

impl ReconcilePlan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.patch.is_empty() && self.delete.is_empty()
    }
}

/// The diff between what MediaMTX has (`actual`, every configured path by name) and what
/// should exist (`desired`, one path per present camera).
pub fn reconcile(
    desired: &BTreeMap<CameraId, PathConfig>,
    actual: &BTreeMap<String, PathConfig>,
) -> ReconcilePlan {
    let mut plan = ReconcilePlan::default();
    for (&camera, want) in desired {
        match actual.get(&path_name(camera)) {
            None => plan.add.push((camera, want.clone())),
            Some(have) if !have.satisfies(want) => plan.patch.push((camera, want.clone())),
            Some(_) => {}
        }
    }
    let mut gone: Vec<CameraId> = actual
        .keys()
        .filter_map(|name| managed_camera(name))
        .filter(|camera| !desired.contains_key(camera))
        .collect();
    gone.sort_unstable();
    plan.delete = gone;
    plan
}

/// Where a camera's publisher reads from.
#[derive(Debug, Clone, PartialEq)]
pub enum PublisherInput {
    /// A V4L2 capture node in a capture mode (e.g. [`VideoEncoding::plan`]'s choice).
    Device { path: String, capture: CaptureMode },
    /// An ffmpeg `lavfi` test pattern (`testsrc2`, `smptebars`, ...).
    TestPattern {
        pattern: String,
        size: Resolution,
        fps: f64,
    },
}

/// Why a publisher command could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublisherError {
    /// MediaMTX expands `$NAME` in hook commands before splitting them (even inside quotes),
    /// so text with `$` cannot be passed through; nor can control characters.
    #[error(
        "{what} {text:?} cannot be put in a MediaMTX hook command ('$' or a control character)"
    )]
    UnsafeText { what: &'static str, text: String },
    #[error("test pattern must be an ffmpeg lavfi source name (letters, digits, _), got {0:?}")]
    BadPattern(String),
    #[error("no frame size of a {0} source fits the video encoding")]
    NoFit(Resolution),
}

/// A `runOnDemand` command line: ffmpeg reading the camera, encoding H.264 in the STANAG 4406
/// profile ([`VideoEncoding`]: the largest size and rate inside it, yuv420p, its bit rate, its
/// GOP, no B-frames) and publishing over RTSP to the path it serves (`$RTSP_PORT`,
/// `$MTX_PATH`, set by MediaMTX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherCommand(String);

impl PublisherCommand {
    /// `ffmpeg` is the program to run (a name on `PATH` or a path).
    pub fn new(
        ffmpeg: &str,
        input: &PublisherInput,
        encoding: &VideoEncoding,
    ) -> Result<PublisherCommand, PublisherError> {
        let mut args: Vec<String> = vec![
            checked("ffmpeg program", ffmpeg)?,
            "-hide_banner".into(),
            "-nostdin".into(),
            "-loglevel".into(),
            "error".into(),
        ];
        let (source, source_fps) = match input {
            PublisherInput::Device { path, capture } => {
                args.extend(["-f".into(), "v4l2".into()]);
                if let Some(name) = capture.pixel_format.and_then(v4l2_input_format) {
                    args.extend(["-input_format".into(), name.into()]);
                }
                args.extend(["-video_size".into(), capture.size.to_string()]);
                if let Some(fps) = capture.fps.filter(|f| f.is_finite() && *f > 0.0) {
                    args.extend(["-framerate".into(), format_fps(fps)]);
                }
                args.extend(["-i".into(), checked("device path", path)?]);
                (capture.size, capture.fps)
            }
            PublisherInput::TestPattern { pattern, size, fps } => {
                // A source name, or one with a simulated camera's picture adjustments.
                if !crate::controls::simulated::valid_pattern(pattern) {
                    return Err(PublisherError::BadPattern(pattern.clone()));
                }
                let fps = Some(*fps).filter(|f| f.is_finite() && *f > 0.0);
                let rate = format_fps(fps.unwrap_or(VideoEncoding::PREFERRED_MAX_FPS));
                // -re: lavfi sources run as fast as they can otherwise.
                args.extend(["-re".into(), "-f".into(), "lavfi".into(), "-i".into(), {
                    let (name, adjust) = crate::controls::simulated::split_pattern(pattern);
                    let adjust = adjust.map(|f| format!(",{f}")).unwrap_or_default();
                    format!("{name}=size={size}:rate={rate}{adjust}")
                }]);
                (*size, fps)
            }
        };
        let (size, fps) = encoding
            .fit(source, source_fps)
            .ok_or(PublisherError::NoFit(source))?;
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
            format_fps(fps),
            "-c:v".into(),
            "libx264".into(),
            "-preset".into(),
            "ultrafast".into(),
            "-tune".into(),
            "zerolatency".into(),
            // x264's baseline is constrained baseline (no FMO/ASO/redundant slices), which
            // both profiles of the envelope accept.
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
        Ok(PublisherCommand(line))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublisherCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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

fn v4l2_input_format(code: FourCc) -> Option<&'static str> {
    match &code.0 {
        b"MJPG" => Some("mjpeg"),
        b"YUYV" => Some("yuyv422"),
        b"H264" => Some("h264"),
        b"NV12" => Some("nv12"),
        b"YU12" => Some("yuv420p"),
        _ => None,
    }
}

fn format_fps(fps: f64) -> String {
    let rounded = (fps * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 {
        format!("{}", rounded as u64)
    } else {
        format!("{rounded}")
    }
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

/// Where clients reach MediaMTX: the configured public host and MediaMTX's ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEndpoints {
    pub public_host: String,
    pub rtsp_port: u16,
    pub webrtc_port: u16,
    pub hls_port: u16,
}

/// A camera's stream URLs as clients get them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StreamUrls {
    pub rtsp: String,
    /// The WebRTC player page (MediaMTX serves it at `/<path>/`; without the slash it
    /// answers a redirect).
    pub webrtc: String,
    /// The HLS playlist.
    pub hls: String,
    /// The WHEP endpoint (RFC 9725): a WebRTC client POSTs its SDP offer here.
    pub whep: String,
}

impl StreamEndpoints {
    pub fn urls(&self, camera: CameraId) -> StreamUrls {
        let host = if self.public_host.contains(':') && !self.public_host.starts_with('[') {
            format!("[{}]", self.public_host)
        } else {
            self.public_host.clone()
        };
        let name = path_name(camera);
        StreamUrls {
            rtsp: format!("rtsp://{host}:{}/{name}", self.rtsp_port),
            webrtc: format!("http://{host}:{}/{name}/", self.webrtc_port),
            hls: format!("http://{host}:{}/{name}/index.m3u8", self.hls_port),
            whep: format!("http://{host}:{}/{name}/whep", self.webrtc_port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cam(n: u16) -> CameraId {
        CameraId::new(n).unwrap()
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000)
    }

    fn pattern_command() -> PublisherCommand {
        PublisherCommand::new(
            "ffmpeg",
            &PublisherInput::TestPattern {
                pattern: "testsrc2".into(),
                size: Resolution::new(1280, 720).unwrap(),
                fps: 30.0,
            },
            &VideoEncoding::standard(),
        )
        .unwrap()
    }

    #[test]
    fn policies_are_the_documented_ones() {
        assert_eq!(
            StreamUse::Viewing.policy(),
            ClosePolicy::AfterLastReader(Duration::from_secs(300))
        );
        assert_eq!(StreamUse::Recording.policy(), ClosePolicy::Never);
        assert_eq!(
            StreamUse::Snapshot.policy(),
            ClosePolicy::AfterCapture(Duration::from_secs(60))
        );
    }

    #[test]
    fn viewing_closes_300_s_after_the_last_reader_including_mediamtx_grace() {
        let mut holds = StreamHolds::default();
        holds.viewer_seen(at(0));
        holds.viewer_seen(at(100));
        let Hold::Until(until) = holds.hold(at(100)) else {
            panic!("viewing must hold")
        };
        let closes = until.plus_millis(PATH_CLOSE_AFTER.as_millis() as i64);
        assert_eq!(closes, at(400));
        assert_eq!(holds.hold(at(390)), Hold::Released);
    }

    #[test]
    fn snapshot_closes_60_s_after_the_capture() {
        let mut holds = StreamHolds::default();
        holds.snapshot_taken(at(0));
        assert_eq!(holds.hold(at(0)), Hold::Until(at(50)));
        assert_eq!(holds.active_uses(at(49)), vec![StreamUse::Snapshot]);
        assert!(!holds.is_held(at(50)));
    }

    #[test]
    fn recording_is_never_released_while_it_lasts() {
        let mut holds = StreamHolds::default();
        holds.recording_started();
        holds.viewer_seen(at(0));
        holds.stop_viewing();
        assert_eq!(holds.hold(at(1_000_000)), Hold::Indefinite);
        holds.recording_ended();
        assert_eq!(holds.hold(at(1_000_000)), Hold::Released);
    }

    #[test]
    fn each_recording_is_a_reader_of_its_own_and_unmatched_ends_are_ignored() {
        let mut holds = StreamHolds::default();
        holds.recording_ended();
        assert_eq!(holds.recordings(), 0);
        holds.recording_started();
        holds.recording_started();
        assert_eq!(holds.recordings(), 2);
        holds.recording_ended();
        assert_eq!(holds.recordings(), 1);
        assert!(holds.is_recording());
        assert_eq!(holds.active_uses(at(0)), vec![StreamUse::Recording]);
    }

    #[test]
    fn stop_viewing_keeps_a_snapshot_hold() {
        let mut holds = StreamHolds::default();
        holds.viewer_seen(at(0));
        holds.snapshot_taken(at(10));
        holds.stop_viewing();
        assert_eq!(holds.hold(at(11)), Hold::Until(at(60)));
    }

    #[test]
    fn path_config_is_on_demand_with_the_short_grace() {
        let cmd = pattern_command();
        let cfg = PathConfig::on_demand(&cmd);
        assert_eq!(cfg.source.as_deref(), Some("publisher"));
        assert_eq!(cfg.run_on_demand.as_deref(), Some(cmd.as_str()));
        assert_eq!(cfg.run_on_demand_restart, Some(true));
        assert_eq!(
            cfg.run_on_demand_start_timeout,
            Some(PUBLISHER_START_TIMEOUT)
        );
        assert_eq!(cfg.run_on_demand_close_after, Some(PATH_CLOSE_AFTER));
    }

    #[test]
    fn test_pattern_publisher_encodes_in_the_profile_and_publishes_to_its_path() {
        let cmd = pattern_command();
        let line = cmd.as_str();
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
        let cmd = PublisherCommand::new(
            "/usr/bin/ffmpeg",
            &PublisherInput::Device {
                path: "/dev/video0".into(),
                capture: CaptureMode {
                    pixel_format: FourCc::parse("MJPG"),
                    size: Resolution::new(640, 480).unwrap(),
                    fps: Some(30.0),
                },
            },
            &VideoEncoding::standard(),
        )
        .unwrap();
        let line = cmd.as_str();
        assert!(
            line.contains(
                " -f v4l2 -input_format mjpeg -video_size 640x480 -framerate 30 -i /dev/video0 "
            ),
            "{line}"
        );
        assert!(line.contains(" -vf scale=640:480:"), "{line}");
    }

    #[test]
    fn odd_paths_are_quoted_and_dollar_is_refused() {
        let dev = |path: &str| {
            PublisherCommand::new(
                "ffmpeg",
                &PublisherInput::Device {
                    path: path.into(),
                    capture: CaptureMode {
                        pixel_format: None,
                        size: Resolution::new(640, 480).unwrap(),
                        fps: None,
                    },
                },
                &VideoEncoding::standard(),
            )
        };
        let quoted = dev("/tmp/my cams/it's").unwrap();
        assert!(
            quoted.as_str().contains(r" -i '/tmp/my cams/it'\''s' "),
            "{quoted}"
        );
        assert!(matches!(
            dev("/dev/$HOME"),
            Err(PublisherError::UnsafeText { .. })
        ));
        let bad = PublisherCommand::new(
            "ffmpeg",
            &PublisherInput::TestPattern {
                pattern: "testsrc2,drawtext".into(),
                size: Resolution::new(640, 480).unwrap(),
                fps: 30.0,
            },
            &VideoEncoding::standard(),
        );
        assert!(matches!(bad, Err(PublisherError::BadPattern(_))));
    }

    #[test]
    fn urls_use_the_public_host_and_mediamtx_ports() {
        let ends = StreamEndpoints {
            public_host: "cam.example".into(),
            rtsp_port: 8554,
            webrtc_port: 8889,
            hls_port: 8888,
        };
        let urls = ends.urls(cam(0));
        assert_eq!(urls.rtsp, "rtsp://cam.example:8554/camera0");
        assert_eq!(urls.webrtc, "http://cam.example:8889/camera0/");
        assert_eq!(urls.hls, "http://cam.example:8888/camera0/index.m3u8");
        assert_eq!(urls.whep, "http://cam.example:8889/camera0/whep");
        let v6 = StreamEndpoints {
            public_host: "fd00::1".into(),
            ..ends
        };
        assert_eq!(v6.urls(cam(2)).rtsp, "rtsp://[fd00::1]:8554/camera2");
    }

    #[test]
    fn only_canonical_camera_paths_are_managed() {
        assert_eq!(managed_camera("camera3"), Some(cam(3)));
        for other in [
            "camera007",
            "all_others",
            "camera",
            "camera3/sub",
            "~^camera.*$",
        ] {
            assert_eq!(managed_camera(other), None, "{other}");
        }
    }

    #[test]
    fn reconcile_adds_patches_and_deletes() {
        let want = PathConfig::on_demand(&pattern_command());
        let desired = BTreeMap::from([(cam(0), want.clone()), (cam(1), want.clone())]);
        let edited = PathConfig {
            run_on_demand_close_after: Some(Duration::from_secs(1)),
            ..want.clone()
        };
        let actual = BTreeMap::from([
            ("camera1".to_string(), edited),
            ("camera5".to_string(), want.clone()),
            ("all_others".to_string(), PathConfig::default()),
        ]);
        let plan = reconcile(&desired, &actual);
        assert_eq!(plan.add, vec![(cam(0), want.clone())]);
        assert_eq!(plan.patch, vec![(cam(1), want)]);
        assert_eq!(plan.delete, vec![cam(5)]);
    }

    // ----- properties -----

    fn any_duration() -> impl Strategy<Value = Option<Duration>> {
        prop_oneof![
            Just(None),
            (0u64..400).prop_map(|s| Some(Duration::from_secs(s)))
        ]
    }

    fn any_config() -> impl Strategy<Value = PathConfig> {
        (
            prop_oneof![
                Just(None),
                Just(Some("publisher".to_string())),
                Just(Some("rtsp://x".to_string()))
            ],
            prop_oneof![
                Just(None),
                Just(Some("ffmpeg a".to_string())),
                Just(Some("ffmpeg b".to_string()))
            ],
            proptest::option::of(any::<bool>()),
            any_duration(),
            any_duration(),
        )
            .prop_map(
                |(source, run_on_demand, run_on_demand_restart, start, close)| PathConfig {
                    source,
                    run_on_demand,
                    run_on_demand_restart,
                    run_on_demand_start_timeout: start,
                    run_on_demand_close_after: close,
                },
            )
    }

    fn any_name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (0u16..8).prop_map(|n| format!("camera{n}")),
            1 => (0u16..8).prop_map(|n| format!("camera00{n}")),
            1 => prop_oneof![Just("all_others".to_string()), Just("live/cam".to_string()), Just("camera".to_string())],
        ]
    }

    fn any_desired() -> impl Strategy<Value = BTreeMap<CameraId, PathConfig>> {
        proptest::collection::btree_map((0u16..8).prop_map(cam), any_config(), 0..6)
    }

    fn any_actual() -> impl Strategy<Value = BTreeMap<String, PathConfig>> {
        proptest::collection::btree_map(any_name(), any_config(), 0..8)
    }

    /// What MediaMTX ends up with after the plan: add creates, patch merges, delete removes.
    fn apply(
        plan: &ReconcilePlan,
        actual: &BTreeMap<String, PathConfig>,
    ) -> BTreeMap<String, PathConfig> {
        let mut after = actual.clone();
        for (camera, cfg) in &plan.add {
            assert!(
                after.insert(path_name(*camera), cfg.clone()).is_none(),
                "add of an existing path"
            );
        }
        for (camera, cfg) in &plan.patch {
            let have = after
                .get_mut(&path_name(*camera))
                .expect("patch of a missing path");
            *have = have.patched(cfg);
        }
        for camera in &plan.delete {
            assert!(
                after.remove(&path_name(*camera)).is_some(),
                "delete of a missing path"
            );
        }
        after
    }

    proptest! {
        #[test]
        fn applying_the_plan_gives_every_camera_its_settings(desired in any_desired(), actual in any_actual()) {
            let after = apply(&reconcile(&desired, &actual), &actual);
            for (camera, want) in &desired {
                let have = after.get(&path_name(*camera));
                prop_assert!(have.is_some_and(|h| h.satisfies(want)), "{camera}: {have:?} vs {want:?}");
            }
        }

        #[test]
        fn applying_the_plan_leaves_no_stale_managed_path(desired in any_desired(), actual in any_actual()) {
            let after = apply(&reconcile(&desired, &actual), &actual);
            for name in after.keys() {
                if let Some(camera) = managed_camera(name) {
                    prop_assert!(desired.contains_key(&camera), "{name} left behind");
                }
            }
        }

        #[test]
        fn paths_the_service_does_not_manage_are_never_touched(desired in any_desired(), actual in any_actual()) {
            let plan = reconcile(&desired, &actual);
            let after = apply(&plan, &actual);
            for (name, cfg) in actual.iter().filter(|(n, _)| managed_camera(n).is_none()) {
                prop_assert_eq!(after.get(name), Some(cfg));
            }
        }

        #[test]
        fn one_reconcile_converges(desired in any_desired(), actual in any_actual()) {
            let after = apply(&reconcile(&desired, &actual), &actual);
            prop_assert!(reconcile(&desired, &after).is_empty());
        }

        #[test]
        fn a_camera_is_in_at_most_one_list(desired in any_desired(), actual in any_actual()) {
            let plan = reconcile(&desired, &actual);
            let mut seen = std::collections::HashSet::new();
            for c in plan.add.iter().map(|(c, _)| c).chain(plan.patch.iter().map(|(c, _)| c)).chain(&plan.delete) {
                prop_assert!(seen.insert(*c), "{c} twice");
            }
        }

        #[test]
        fn nothing_to_do_when_mediamtx_has_what_should_exist(desired in any_desired()) {
            let actual = desired.iter().map(|(c, cfg)| (path_name(*c), cfg.clone())).collect();
            prop_assert!(reconcile(&desired, &actual).is_empty());
        }

        #[test]
        fn the_publisher_encodes_what_the_profile_admits(w in 16u32..=4096, h in 16u32..=4096, fps in 1.0f64..120.0) {
            let enc = VideoEncoding::standard();
            let size = Resolution::new(w, h).unwrap();
            let input = PublisherInput::TestPattern { pattern: "testsrc2".into(), size, fps };
            match (PublisherCommand::new("ffmpeg", &input, &enc), enc.fit(size, Some(fps))) {
                (Ok(cmd), Some((out, out_fps))) => {
                    prop_assert!(enc.admits(out, out_fps).is_ok());
                    let scale = format!(" -vf scale={}:{}:", out.width, out.height);
                    prop_assert!(cmd.as_str().contains(&scale), "{} lacks {}", cmd, scale);
                }
                (Err(PublisherError::NoFit(_)), None) => {}
                (cmd, fit) => prop_assert!(false, "{cmd:?} vs {fit:?}"),
            }
        }

        #[test]
        fn a_recording_hold_outlasts_every_other_event(
            events in proptest::collection::vec((0u8..4, 0i64..10_000), 0..30),
            probe in 0i64..20_000,
        ) {
            let mut holds = StreamHolds::default();
            holds.recording_started();
            for (kind, t) in events {
                match kind {
                    0 => holds.viewer_seen(at(t)),
                    1 => holds.stop_viewing(),
                    2 => holds.snapshot_taken(at(t)),
                    _ => {}
                }
            }
            prop_assert_eq!(holds.hold(at(probe)), Hold::Indefinite);
        }

        #[test]
        fn without_new_events_a_released_stream_stays_released(
            events in proptest::collection::vec((0u8..3, 0i64..1_000), 0..20),
            t1 in 0i64..2_000,
            dt in 0i64..2_000,
        ) {
            let mut holds = StreamHolds::default();
            for (kind, t) in events {
                match kind {
                    0 => holds.viewer_seen(at(t)),
                    1 => holds.stop_viewing(),
                    _ => holds.snapshot_taken(at(t)),
                }
            }
            if !holds.is_held(at(t1)) {
                prop_assert!(!holds.is_held(at(t1 + dt)));
            }
        }

        #[test]
        fn a_snapshot_is_held_for_its_policy(t in 0i64..100_000) {
            let mut holds = StreamHolds::default();
            holds.snapshot_taken(at(t));
            let keep = (SNAPSHOT_CLOSE_AFTER - PATH_CLOSE_AFTER).as_secs() as i64;
            prop_assert!(holds.is_held(at(t + keep - 1)));
            prop_assert!(!holds.is_held(at(t + keep)));
        }
    }
}
