//! How pictures are made: the H.264 profile video is encoded in, the capture mode chosen
//! for a camera, and which snapshot tier served a picture.
//!
//! The profile is the STANAG 4406 one (docs/api.md): H.264 constrained baseline or
//! baseline, level ≤ 3.0, at most 1280x720, yuv420p, 64 kbit/s to 2 Mbit/s, a short GOP.
//! Levels are taken at their word (ITU-T H.264 Table A-1): level 3.0 allows 1620
//! macroblocks per frame and 40500 per second, so 1280x720 (3600 macroblocks) is out of
//! reach below level 3.1 and a 16:9 camera is encoded at 768x432 at 30 fps. A stream that
//! claims level 3.0 is a level 3.0 stream.
//!
//! Past 600 lines only by its tests (the rules are ~550).

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::camera::Resolution;
use crate::capabilities::{Capabilities, FourCc};

/// H.264 profiles inside the STANAG 4406 envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum H264Profile {
    ConstrainedBaseline,
    Baseline,
}

impl H264Profile {
    pub fn parse(text: &str) -> Option<H264Profile> {
        match text {
            "constrained_baseline" => Some(H264Profile::ConstrainedBaseline),
            "baseline" => Some(H264Profile::Baseline),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            H264Profile::ConstrainedBaseline => "constrained_baseline",
            H264Profile::Baseline => "baseline",
        }
    }
}

/// H.264 levels up to 3.0, with their limits (Table A-1; bit rates for baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum H264Level {
    L1_0,
    L1_1,
    L1_2,
    L1_3,
    L2_0,
    L2_1,
    L2_2,
    L3_0,
}

impl H264Level {
    pub const ALL: [H264Level; 8] = [
        H264Level::L1_0,
        H264Level::L1_1,
        H264Level::L1_2,
        H264Level::L1_3,
        H264Level::L2_0,
        H264Level::L2_1,
        H264Level::L2_2,
        H264Level::L3_0,
    ];

    /// `"3.0"` or `"3"`; anything above 3.0 is outside the profile.
    pub fn parse(text: &str) -> Option<H264Level> {
        let text = if text.len() == 1 {
            format!("{text}.0")
        } else {
            text.to_owned()
        };
        H264Level::ALL.into_iter().find(|l| l.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            H264Level::L1_0 => "1.0",
            H264Level::L1_1 => "1.1",
            H264Level::L1_2 => "1.2",
            H264Level::L1_3 => "1.3",
            H264Level::L2_0 => "2.0",
            H264Level::L2_1 => "2.1",
            H264Level::L2_2 => "2.2",
            H264Level::L3_0 => "3.0",
        }
    }

    /// MaxFS: macroblocks (16x16) per frame.
    pub fn max_frame_macroblocks(self) -> u32 {
        match self {
            H264Level::L1_0 => 99,
            H264Level::L1_1 | H264Level::L1_2 | H264Level::L1_3 | H264Level::L2_0 => 396,
            H264Level::L2_1 => 792,
            H264Level::L2_2 | H264Level::L3_0 => 1620,
        }
    }

    /// MaxMBPS: macroblocks per second.
    pub fn max_macroblocks_per_sec(self) -> u32 {
        match self {
            H264Level::L1_0 => 1485,
            H264Level::L1_1 => 3000,
            H264Level::L1_2 => 6000,
            H264Level::L1_3 | H264Level::L2_0 => 11880,
            H264Level::L2_1 => 19800,
            H264Level::L2_2 => 20250,
            H264Level::L3_0 => 40500,
        }
    }

    /// MaxBR in kbit/s (baseline profile).
    pub fn max_bitrate_kbps(self) -> u32 {
        match self {
            H264Level::L1_0 => 64,
            H264Level::L1_1 => 192,
            H264Level::L1_2 => 384,
            H264Level::L1_3 => 768,
            H264Level::L2_0 => 2000,
            H264Level::L2_1 | H264Level::L2_2 => 4000,
            H264Level::L3_0 => 10000,
        }
    }
}

impl fmt::Display for H264Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Macroblocks a frame of this size takes (partial macroblocks count whole).
pub fn macroblocks(size: Resolution) -> u32 {
    size.width.div_ceil(16) * size.height.div_ceil(16)
}

/// Why an encoding or a mode is outside the profile.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProfileViolation {
    #[error("H.264 profile {0:?} is outside STANAG 4406: use constrained_baseline or baseline")]
    Profile(String),
    #[error(
        "H.264 level {0:?} is outside STANAG 4406: use 1.0, 1.1, 1.2, 1.3, 2.0, 2.1, 2.2 or 3.0"
    )]
    Level(String),
    #[error("pixel format {0:?} is outside STANAG 4406: use yuv420p")]
    PixelFormat(String),
    #[error("bit rate {0} kbit/s is outside STANAG 4406: use 64..=2000 kbit/s")]
    Bitrate(u32),
    #[error("bit rate {bitrate} kbit/s is above level {level}'s maximum of {max} kbit/s")]
    BitrateAboveLevel {
        bitrate: u32,
        level: H264Level,
        max: u32,
    },
    #[error(
        "GOP of {0} s is not short: use 0.1..=2 seconds so new readers get a keyframe quickly"
    )]
    Gop(f64),
    #[error("frame size {0} is above STANAG 4406's 1280x720")]
    Size(Resolution),
    #[error("frame size {size} takes {macroblocks} macroblocks, above level {level}'s {max}")]
    SizeAboveLevel {
        size: Resolution,
        macroblocks: u32,
        level: H264Level,
        max: u32,
    },
    #[error("{size} at {fps} fps takes {rate} macroblocks/s, above level {level}'s {max}")]
    RateAboveLevel {
        size: Resolution,
        fps: f64,
        rate: f64,
        level: H264Level,
        max: u32,
    },
    #[error("frame rate {0} is not a usable rate")]
    FrameRate(f64),
}

/// A validated H.264 encoding inside the STANAG 4406 profile. Pixel format is yuv420p.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoEncoding {
    profile: H264Profile,
    level: H264Level,
    bitrate_kbps: u32,
    gop_secs: f64,
    max_size: Resolution,
}

impl VideoEncoding {
    pub const PIXEL_FORMAT: &'static str = "yuv420p";
    pub const MIN_BITRATE_KBPS: u32 = 64;
    pub const MAX_BITRATE_KBPS: u32 = 2000;
    pub const MAX_GOP_SECS: f64 = 2.0;
    pub const MIN_GOP_SECS: f64 = 0.1;
    /// The largest frame the profile allows.
    pub const MAX_SIZE: Resolution = Resolution {
        width: 1280,
        height: 720,
    };
    /// Video is not encoded faster than this even when the camera is.
    pub const PREFERRED_MAX_FPS: f64 = 30.0;
    /// Below this rate motion looks choppy; a smaller picture at a smooth rate is preferred.
    pub const SMOOTH_FPS: f64 = 15.0;

    /// Constrained baseline, level 3.0, 1 Mbit/s, 1 s GOP, up to 1280x720.
    pub fn standard() -> VideoEncoding {
        VideoEncoding {
            profile: H264Profile::ConstrainedBaseline,
            level: H264Level::L3_0,
            bitrate_kbps: 1000,
            gop_secs: 1.0,
            max_size: Self::MAX_SIZE,
        }
    }

    pub fn new(
        profile: H264Profile,
        level: H264Level,
        bitrate_kbps: u32,
        gop_secs: f64,
        max_size: Resolution,
    ) -> Result<VideoEncoding, ProfileViolation> {
        if !(Self::MIN_BITRATE_KBPS..=Self::MAX_BITRATE_KBPS).contains(&bitrate_kbps) {
            return Err(ProfileViolation::Bitrate(bitrate_kbps));
        }
        if bitrate_kbps > level.max_bitrate_kbps() {
            return Err(ProfileViolation::BitrateAboveLevel {
                bitrate: bitrate_kbps,
                level,
                max: level.max_bitrate_kbps(),
            });
        }
        if !(gop_secs.is_finite() && (Self::MIN_GOP_SECS..=Self::MAX_GOP_SECS).contains(&gop_secs))
        {
            return Err(ProfileViolation::Gop(gop_secs));
        }
        if max_size.width > Self::MAX_SIZE.width || max_size.height > Self::MAX_SIZE.height {
            return Err(ProfileViolation::Size(max_size));
        }
        Ok(VideoEncoding {
            profile,
            level,
            bitrate_kbps,
            gop_secs,
            max_size,
        })
    }

    /// The same from configuration text (`"constrained_baseline"`, `"3.0"`, `"yuv420p"`).
    pub fn parse(
        profile: &str,
        level: &str,
        pixel_format: &str,
        bitrate_kbps: u32,
        gop_secs: f64,
        max_size: Resolution,
    ) -> Result<VideoEncoding, ProfileViolation> {
        let p = H264Profile::parse(profile)
            .ok_or_else(|| ProfileViolation::Profile(profile.to_owned()))?;
        let l = H264Level::parse(level).ok_or_else(|| ProfileViolation::Level(level.to_owned()))?;
        if pixel_format != Self::PIXEL_FORMAT {
            return Err(ProfileViolation::PixelFormat(pixel_format.to_owned()));
        }
        VideoEncoding::new(p, l, bitrate_kbps, gop_secs, max_size)
    }

    pub fn profile(&self) -> H264Profile {
        self.profile
    }

    pub fn level(&self) -> H264Level {
        self.level
    }

    pub fn bitrate_kbps(&self) -> u32 {
        self.bitrate_kbps
    }

    pub fn gop_secs(&self) -> f64 {
        self.gop_secs
    }

    pub fn max_size(&self) -> Resolution {
        self.max_size
    }

    /// Keyframe interval in frames at `fps` (at least 1).
    pub fn gop_frames(&self, fps: f64) -> u32 {
        ((self.gop_secs * fps).round() as u32).max(1)
    }

    /// Whether frames of `size` at `fps` may be encoded in this profile and level.
    pub fn admits(&self, size: Resolution, fps: f64) -> Result<(), ProfileViolation> {
        if !(fps.is_finite() && fps > 0.0) {
            return Err(ProfileViolation::FrameRate(fps));
        }
        if size.width > self.max_size.width || size.height > self.max_size.height {
            return Err(ProfileViolation::Size(size));
        }
        let mbs = macroblocks(size);
        let max = self.level.max_frame_macroblocks();
        if mbs > max {
            return Err(ProfileViolation::SizeAboveLevel {
                size,
                macroblocks: mbs,
                level: self.level,
                max,
            });
        }
        let rate = f64::from(mbs) * fps;
        let max = self.level.max_macroblocks_per_sec();
        if rate > f64::from(max) {
            return Err(ProfileViolation::RateAboveLevel {
                size,
                fps,
                rate,
                level: self.level,
                max,
            });
        }
        Ok(())
    }

    /// The largest frame with the aspect ratio of `source` (never larger than it, even sides)
    /// and the rate (at most `fps` and [`Self::PREFERRED_MAX_FPS`]) that this encoding admits.
    /// `None` only when not even a 16x16 frame at 1 fps fits, which no level allows.
    pub fn fit(&self, source: Resolution, fps: Option<f64>) -> Option<(Resolution, f64)> {
        let wanted = fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .unwrap_or(Self::PREFERRED_MAX_FPS)
            .min(Self::PREFERRED_MAX_FPS);
        // Lower the rate only when even a small frame cannot be had at the wanted one.
        let mut fps = wanted;
        loop {
            if let Some(size) = self.largest_size(source, fps) {
                return Some((size, fps));
            }
            if fps <= 1.0 {
                return None;
            }
            fps = (fps / 2.0).max(1.0);
        }
    }

    fn largest_size(&self, source: Resolution, fps: f64) -> Option<Resolution> {
        const MIN_SIDE: u32 = 16;
        let per_sec = (f64::from(self.level.max_macroblocks_per_sec()) / fps).floor() as u32;
        let budget = self.level.max_frame_macroblocks().min(per_sec);
        let max_w = source.width.min(self.max_size.width);
        let mut w = max_w - max_w % 2;
        while w >= MIN_SIDE {
            let h = even_round(
                u64::from(w) * u64::from(source.height),
                u64::from(source.width),
            );
            if let Some(size) = Resolution::new(w, h) {
                if h >= MIN_SIDE
                    && h <= source.height.min(self.max_size.height)
                    && macroblocks(size) <= budget
                {
                    return Some(size);
                }
            }
            w -= 2;
        }
        None
    }

    /// The mode to record `camera` in. Among the device's modes: a smooth rate (at least
    /// [`Self::SMOOTH_FPS`]) when any mode has one, then the largest encodable picture
    /// (within 5 %), then the highest rate, then the least work (smallest input), then the
    /// device's current format and the order the driver lists formats in.
    pub fn plan(&self, camera: &Capabilities) -> Option<RecordingMode> {
        let planned: Vec<(usize, CaptureMode, Resolution, f64)> = capture_candidates(camera)
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (size, fps) = self.fit(c.size, c.fps)?;
                Some((i, c, size, fps))
            })
            .collect();
        let any_smooth = planned.iter().any(|p| p.3 >= Self::SMOOTH_FPS);
        let pool: Vec<_> = planned
            .into_iter()
            .filter(|p| !any_smooth || p.3 >= Self::SMOOTH_FPS)
            .collect();
        let best_pixels = pool.iter().map(|p| p.2.pixels()).max()?;
        let large_enough =
            |p: &&(usize, CaptureMode, Resolution, f64)| p.2.pixels() * 100 >= best_pixels * 95;
        let best_fps = pool
            .iter()
            .filter(large_enough)
            .map(|p| p.3)
            .fold(0.0, f64::max);
        let (_, capture, size, fps) = *pool
            .iter()
            .filter(large_enough)
            .filter(|p| p.3 >= best_fps)
            .min_by_key(|p| (p.1.size.pixels(), p.0))?;
        Some(RecordingMode {
            capture,
            size,
            fps,
            gop_frames: self.gop_frames(fps),
            encoding: *self,
        })
    }
}

/// Rounds `num / den` to the nearest even integer.
fn even_round(num: u64, den: u64) -> u32 {
    let halves = (num + den) / (2 * den);
    u32::try_from(halves * 2).unwrap_or(u32::MAX)
}

/// Every (format, size, rate) a camera offers, current format first. For a rate list the
/// highest rate not above [`VideoEncoding::PREFERRED_MAX_FPS`] is taken (else the lowest).
fn capture_candidates(camera: &Capabilities) -> Vec<CaptureMode> {
    let current_format = camera.current.as_ref().map(|c| c.pixel_format);
    let mut formats: Vec<_> = camera.formats.iter().collect();
    formats.sort_by_key(|f| Some(f.pixel_format) != current_format);
    let mut out = Vec::new();
    for f in formats {
        for size in &f.sizes {
            let (w, h) = size.largest();
            let Some(res) = Resolution::new(w, h) else {
                continue;
            };
            out.push(CaptureMode {
                pixel_format: Some(f.pixel_format),
                size: res,
                fps: pick_rate(size.frame_rates()),
            });
        }
    }
    if out.is_empty() {
        if let Some((size, fps)) = camera.default_mode() {
            out.push(CaptureMode {
                pixel_format: current_format,
                size,
                fps,
            });
        }
    }
    out
}

fn pick_rate(rates: &[f64]) -> Option<f64> {
    let usable = rates.iter().copied().filter(|r| r.is_finite() && *r > 0.0);
    usable
        .clone()
        .filter(|r| *r <= VideoEncoding::PREFERRED_MAX_FPS)
        .reduce(f64::max)
        .or_else(|| usable.reduce(f64::min))
}

/// What to ask a device for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureMode {
    /// `None`: whatever the device gives.
    pub pixel_format: Option<FourCc>,
    pub size: Resolution,
    /// `None`: the device's rate.
    pub fps: Option<f64>,
}

impl CaptureMode {
    /// The mode stills are taken in: the camera's current (or default) mode at full size,
    /// in the current format or else the first format that offers that size.
    pub fn for_snapshot(camera: &Capabilities) -> Option<CaptureMode> {
        let (size, fps) = camera.default_mode()?;
        let pixel_format = camera
            .current
            .as_ref()
            .filter(|c| c.width == size.width && c.height == size.height)
            .map(|c| c.pixel_format)
            .or_else(|| {
                camera
                    .formats
                    .iter()
                    .find(|f| f.sizes.iter().any(|s| s.offers(size.width, size.height)))
                    .map(|f| f.pixel_format)
            });
        Some(CaptureMode {
            pixel_format,
            size,
            fps,
        })
    }
}

/// A recording's capture and encoding, all inside the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordingMode {
    pub capture: CaptureMode,
    /// Encoded frame size (the capture is scaled down to it when larger).
    pub size: Resolution,
    /// Encoded frame rate.
    pub fps: f64,
    /// Keyframe interval in frames.
    pub gop_frames: u32,
    pub encoding: VideoEncoding,
}

/// Which path served a snapshot (API.md `tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SnapshotTier {
    /// 1: the stream was already up; the picture was read from it.
    StreamReady = 1,
    /// 2: the stream was started on demand, then read.
    OnDemand = 2,
    /// 3: straight from the device, no media server.
    Direct = 3,
}

impl SnapshotTier {
    pub const ALL: [SnapshotTier; 3] = [
        SnapshotTier::StreamReady,
        SnapshotTier::OnDemand,
        SnapshotTier::Direct,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    /// Tier 1 when a media server has the stream up, 2 when it can bring it up, 3 otherwise.
    pub fn choose(media_server_available: bool, stream_ready: bool) -> SnapshotTier {
        match (media_server_available, stream_ready) {
            (true, true) => SnapshotTier::StreamReady,
            (true, false) => SnapshotTier::OnDemand,
            (false, _) => SnapshotTier::Direct,
        }
    }
}

impl Serialize for SnapshotTier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::CameraId;
    use crate::capabilities::{
        CurrentMode, DeviceDescription, DiscreteSize, FrameSize, PixelFormat,
    };
    use proptest::prelude::*;

    /// Width, height and frame rates of one discrete size.
    type SizeRates<'a> = (u32, u32, &'a [f64]);

    fn res(w: u32, h: u32) -> Resolution {
        Resolution::new(w, h).unwrap()
    }

    fn camera(formats: &[(&str, &[SizeRates])], current: Option<(&str, u32, u32)>) -> Capabilities {
        Capabilities::new(
            CameraId::new(0).unwrap(),
            DeviceDescription {
                driver: "uvcvideo".into(),
                card: "Cam".into(),
                bus_info: "usb-1".into(),
                formats: formats
                    .iter()
                    .map(|(fourcc, sizes)| PixelFormat {
                        pixel_format: FourCc::parse(fourcc).unwrap(),
                        description: String::new(),
                        sizes: sizes
                            .iter()
                            .map(|(w, h, r)| {
                                FrameSize::Discrete(DiscreteSize {
                                    width: *w,
                                    height: *h,
                                    frame_rates: r.to_vec(),
                                })
                            })
                            .collect(),
                    })
                    .collect(),
                current: current.map(|(f, w, h)| CurrentMode {
                    pixel_format: FourCc::parse(f).unwrap(),
                    width: w,
                    height: h,
                    fps: Some(30.0),
                }),
            },
        )
    }

    #[test]
    fn the_standard_encoding_is_inside_the_profile() {
        let e = VideoEncoding::standard();
        let again = VideoEncoding::parse(
            "constrained_baseline",
            "3.0",
            "yuv420p",
            1000,
            1.0,
            res(1280, 720),
        );
        assert_eq!(again, Ok(e));
        assert_eq!(e.gop_frames(30.0), 30);
    }

    #[test]
    fn encodings_outside_the_profile_are_rejected_with_a_reason() {
        let max = res(1280, 720);
        let cases = [
            VideoEncoding::parse("high", "3.0", "yuv420p", 1000, 1.0, max),
            VideoEncoding::parse("main", "3.0", "yuv420p", 1000, 1.0, max),
            VideoEncoding::parse("baseline", "3.1", "yuv420p", 1000, 1.0, max),
            VideoEncoding::parse("baseline", "4.0", "yuv420p", 1000, 1.0, max),
            VideoEncoding::parse("baseline", "3.0", "yuv422p", 1000, 1.0, max),
            VideoEncoding::parse("baseline", "3.0", "yuv420p", 63, 1.0, max),
            VideoEncoding::parse("baseline", "3.0", "yuv420p", 2001, 1.0, max),
            VideoEncoding::parse("baseline", "1.2", "yuv420p", 1000, 1.0, max),
            VideoEncoding::parse("baseline", "3.0", "yuv420p", 1000, 5.0, max),
            VideoEncoding::parse("baseline", "3.0", "yuv420p", 1000, f64::NAN, max),
            VideoEncoding::parse("baseline", "3.0", "yuv420p", 1000, 1.0, res(1920, 1080)),
            VideoEncoding::parse("baseline", "3.0", "yuv420p", 1000, 1.0, res(1281, 720)),
        ];
        for c in cases {
            let err = c.expect_err("accepted an encoding outside the profile");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn level_three_cannot_carry_720p() {
        let e = VideoEncoding::standard();
        assert!(matches!(
            e.admits(res(1280, 720), 30.0),
            Err(ProfileViolation::SizeAboveLevel {
                macroblocks: 3600,
                ..
            })
        ));
        assert_eq!(e.admits(res(768, 432), 30.0), Ok(()));
        assert_eq!(e.admits(res(720, 576), 25.0), Ok(()));
        assert!(matches!(
            e.admits(res(720, 576), 30.0),
            Err(ProfileViolation::RateAboveLevel { .. })
        ));
    }

    #[test]
    fn a_720p_camera_is_scaled_down_keeping_its_aspect() {
        let e = VideoEncoding::standard();
        assert_eq!(
            e.fit(res(1280, 720), Some(30.0)),
            Some((res(768, 432), 30.0))
        );
        assert_eq!(
            e.fit(res(1920, 1080), Some(60.0)),
            Some((res(768, 432), 30.0))
        );
        assert_eq!(
            e.fit(res(640, 480), Some(30.0)),
            Some((res(640, 480), 30.0))
        );
        assert_eq!(e.fit(res(320, 240), None), Some((res(320, 240), 30.0)));
    }

    #[test]
    fn a_low_level_gets_a_small_picture() {
        let e = VideoEncoding::new(
            H264Profile::Baseline,
            H264Level::L1_0,
            64,
            1.0,
            res(1280, 720),
        )
        .unwrap();
        let (size, fps) = e.fit(res(1280, 720), Some(30.0)).unwrap();
        assert_eq!(e.admits(size, fps), Ok(()));
        assert!(size.width <= 176, "{size}");
    }

    #[test]
    fn recording_prefers_the_least_work_for_the_same_picture() {
        let e = VideoEncoding::standard();
        let cam = camera(
            &[
                ("MJPG", &[(1920, 1080, &[30.0]), (1280, 720, &[60.0, 30.0])]),
                ("YUYV", &[(640, 480, &[30.0]), (1280, 720, &[10.0])]),
            ],
            Some(("MJPG", 1920, 1080)),
        );
        let plan = e.plan(&cam).unwrap();
        assert_eq!(plan.size, res(768, 432));
        assert_eq!(plan.fps, 30.0);
        assert_eq!(plan.capture.size, res(1280, 720));
        assert_eq!(plan.capture.pixel_format, FourCc::parse("MJPG"));
        assert_eq!(plan.capture.fps, Some(30.0));
        assert_eq!(plan.gop_frames, 30);
    }

    #[test]
    fn a_smooth_rate_wins_over_a_larger_choppy_picture() {
        let e = VideoEncoding::standard();
        let cam = camera(
            &[("YUYV", &[(1280, 720, &[10.0]), (640, 360, &[30.0])])],
            None,
        );
        let plan = e.plan(&cam).unwrap();
        assert_eq!(
            (plan.capture.size, plan.size, plan.fps),
            (res(640, 360), res(640, 360), 30.0)
        );
    }

    #[test]
    fn a_choppy_camera_still_records_at_the_largest_admitted_size() {
        let e = VideoEncoding::standard();
        let cam = camera(
            &[("YUYV", &[(1280, 720, &[10.0]), (640, 360, &[5.0])])],
            None,
        );
        let plan = e.plan(&cam).unwrap();
        assert_eq!(plan.capture.size, res(1280, 720));
        assert_eq!(plan.fps, 10.0);
        assert_eq!(e.admits(plan.size, plan.fps), Ok(()));
        // At 10 fps only the frame limit (1620 macroblocks) binds.
        assert_eq!(plan.size, res(854, 480));
    }

    #[test]
    fn snapshot_mode_is_the_current_mode_at_full_size() {
        let cam = camera(
            &[
                ("MJPG", &[(1920, 1080, &[30.0])]),
                ("YUYV", &[(640, 480, &[30.0])]),
            ],
            None,
        );
        let m = CaptureMode::for_snapshot(&cam).unwrap();
        assert_eq!(
            (m.size, m.fps, m.pixel_format),
            (res(1920, 1080), Some(30.0), FourCc::parse("MJPG"))
        );
        let cam = camera(
            &[
                ("MJPG", &[(1920, 1080, &[30.0])]),
                ("YUYV", &[(640, 480, &[30.0])]),
            ],
            Some(("YUYV", 640, 480)),
        );
        let m = CaptureMode::for_snapshot(&cam).unwrap();
        assert_eq!(
            (m.size, m.pixel_format),
            (res(640, 480), FourCc::parse("YUYV"))
        );
    }

    #[test]
    fn snapshot_tiers_are_chosen_by_what_is_up() {
        assert_eq!(SnapshotTier::choose(true, true), SnapshotTier::StreamReady);
        assert_eq!(SnapshotTier::choose(true, false), SnapshotTier::OnDemand);
        assert_eq!(SnapshotTier::choose(false, true), SnapshotTier::Direct);
        assert_eq!(
            serde_json::to_value(SnapshotTier::Direct).unwrap(),
            serde_json::json!(3)
        );
    }

    fn any_level() -> impl Strategy<Value = H264Level> {
        (0usize..8).prop_map(|i| H264Level::ALL[i])
    }

    proptest! {
        #[test]
        fn fitted_modes_are_always_admitted(
            level in any_level(),
            w in 16u32..=4096, h in 16u32..=4096,
            fps in proptest::option::of(1.0f64..=120.0),
        ) {
            let bitrate = level.max_bitrate_kbps().min(VideoEncoding::MAX_BITRATE_KBPS);
            let e = VideoEncoding::new(H264Profile::Baseline, level, bitrate, 1.0, res(1280, 720)).unwrap();
            if let Some((size, out_fps)) = e.fit(res(w, h), fps) {
                prop_assert_eq!(e.admits(size, out_fps), Ok(()));
                prop_assert!(size.width <= w && size.height <= h);
                prop_assert!(size.width & 1 == 0 && size.height & 1 == 0);
                prop_assert!(out_fps <= fps.unwrap_or(30.0).min(30.0));
            }
        }

        #[test]
        fn fitting_keeps_the_aspect_ratio(w in 160u32..=3840, h in 120u32..=2160) {
            let e = VideoEncoding::standard();
            let (size, _) = e.fit(res(w, h), Some(30.0)).unwrap();
            let want = f64::from(w) / f64::from(h);
            let got = f64::from(size.width) / f64::from(size.height);
            // Even rounding of the height moves the ratio by at most 2 pixels' worth.
            prop_assert!((got - want).abs() <= want * 2.0 / f64::from(size.height) + 1e-9, "{} vs {}x{}", size, w, h);
        }

        #[test]
        fn level_text_round_trips(level in any_level()) {
            prop_assert_eq!(H264Level::parse(level.as_str()), Some(level));
        }
    }
}
