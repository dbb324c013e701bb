//! What a fake node is: the answers it gives, described as data.

use std::time::Duration;

use domain::capabilities::{
    CurrentMode, DeviceDescription, DiscreteSize, FourCc, Fraction, FrameIntervals, FrameSize,
    PixelFormat, SizeRange, SizeRangeKind,
};
use nix::errno::Errno;

use crate::wire::*;

/// The ioctls a fake node answers (and can be told to refuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ioctl {
    QueryCap,
    EnumFmt,
    EnumFrameSizes,
    EnumFrameIntervals,
    GFmt,
    GParm,
}

impl Ioctl {
    pub fn from_cmd(cmd: u32) -> Option<Ioctl> {
        Some(match cmd {
            VIDIOC_QUERYCAP => Ioctl::QueryCap,
            VIDIOC_ENUM_FMT => Ioctl::EnumFmt,
            VIDIOC_ENUM_FRAMESIZES => Ioctl::EnumFrameSizes,
            VIDIOC_ENUM_FRAMEINTERVALS => Ioctl::EnumFrameIntervals,
            VIDIOC_G_FMT => Ioctl::GFmt,
            VIDIOC_G_PARM => Ioctl::GParm,
            _ => return None,
        })
    }
}

/// An interval `numerator/denominator` seconds (`struct v4l2_fract`).
pub type Interval = (u32, u32);

/// The frame intervals offered for one format and size.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeIntervals {
    Discrete(Vec<Interval>),
    Stepwise {
        min: Interval,
        max: Interval,
        step: Interval,
    },
    Continuous {
        min: Interval,
        max: Interval,
    },
}

/// One discrete size with its intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSize {
    pub width: u32,
    pub height: u32,
    pub intervals: FakeIntervals,
}

/// A stepwise or continuous size range; `intervals` are offered at every size in it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRange {
    pub continuous: bool,
    pub min_width: u32,
    pub max_width: u32,
    pub step_width: u32,
    pub min_height: u32,
    pub max_height: u32,
    pub step_height: u32,
    pub intervals: FakeIntervals,
}

impl FakeRange {
    fn offers(&self, width: u32, height: u32) -> bool {
        let fits = |v: u32, min: u32, max: u32, step: u32| {
            (min..=max).contains(&v) && (step <= 1 || (v - min) % step == 0)
        };
        fits(width, self.min_width, self.max_width, self.step_width)
            && fits(height, self.min_height, self.max_height, self.step_height)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FakeSizes {
    Discrete(Vec<FakeSize>),
    Range(FakeRange),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeFormat {
    /// The buffer type it is enumerated under (`BUF_TYPE_*`).
    pub buf_type: u32,
    pub fourcc: [u8; 4],
    pub description: String,
    pub sizes: FakeSizes,
}

/// What `G_FMT` / `G_PARM` answer for `buf_type`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeCurrent {
    pub buf_type: u32,
    pub fourcc: [u8; 4],
    pub width: u32,
    pub height: u32,
    pub interval: Interval,
}

/// A fake V4L2 node.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeDevice {
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    pub version: u32,
    /// The whole physical device's capabilities (`CAP_DEVICE_CAPS` set when `device_caps` counts).
    pub capabilities: u32,
    /// This node's capabilities.
    pub device_caps: u32,
    pub formats: Vec<FakeFormat>,
    pub current: Option<FakeCurrent>,
    /// Ioctls answered with this error instead.
    pub failing: Vec<(Ioctl, Errno)>,
    /// Time each ioctl takes to answer (a slow device).
    pub ioctl_delay: Duration,
}

impl FakeDevice {
    pub fn fails(&self, ioctl: Ioctl) -> Option<Errno> {
        self.failing
            .iter()
            .find(|(i, _)| *i == ioctl)
            .map(|(_, e)| *e)
    }

    /// The capabilities that count for this node.
    pub fn node_caps(&self) -> u32 {
        if self.capabilities & CAP_DEVICE_CAPS != 0 {
            self.device_caps
        } else {
            self.capabilities
        }
    }

    pub fn find_format(&self, code: u32) -> Option<&FakeFormat> {
        self.formats.iter().find(|f| fourcc(f.fourcc) == code)
    }

    /// The intervals offered at `width`x`height` in format `code`.
    pub fn intervals_at(&self, code: u32, width: u32, height: u32) -> Option<&FakeIntervals> {
        match &self.find_format(code)?.sizes {
            FakeSizes::Discrete(sizes) => sizes
                .iter()
                .find(|s| s.width == width && s.height == height)
                .map(|s| &s.intervals),
            FakeSizes::Range(r) => r.offers(width, height).then_some(&r.intervals),
        }
    }

    /// What a correct probe reports for this node: `None` for nodes that are not cameras
    /// (no video capture, or memory-to-memory/output) and for nodes whose `QUERYCAP` or
    /// `ENUM_FMT` fails. Rates go through the domain's own helpers.
    pub fn expected_description(&self) -> Option<DeviceDescription> {
        if self.fails(Ioctl::QueryCap).is_some() || self.fails(Ioctl::EnumFmt).is_some() {
            return None;
        }
        let caps = self.node_caps();
        let not_camera =
            CAP_VIDEO_OUTPUT | CAP_VIDEO_OUTPUT_MPLANE | CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE;
        if caps & not_camera != 0 {
            return None;
        }
        let mut types = Vec::new();
        if caps & CAP_VIDEO_CAPTURE != 0 {
            types.push(BUF_TYPE_VIDEO_CAPTURE);
        }
        if caps & CAP_VIDEO_CAPTURE_MPLANE != 0 {
            types.push(BUF_TYPE_VIDEO_CAPTURE_MPLANE);
        }
        let primary = *types.first()?;
        let mut formats: Vec<PixelFormat> = Vec::new();
        for t in &types {
            for f in self.formats.iter().filter(|f| f.buf_type == *t) {
                if formats.iter().any(|p| p.pixel_format == FourCc(f.fourcc)) {
                    continue;
                }
                formats.push(PixelFormat {
                    pixel_format: FourCc(f.fourcc),
                    description: f.description.clone(),
                    sizes: self.expected_sizes(f),
                });
            }
        }
        let current = self
            .current
            .as_ref()
            .filter(|c| c.buf_type == primary && self.fails(Ioctl::GFmt).is_none())
            .map(|c| CurrentMode {
                pixel_format: FourCc(c.fourcc),
                width: c.width,
                height: c.height,
                fps: match self.fails(Ioctl::GParm) {
                    Some(_) => None,
                    None => Fraction::new(c.interval.0, c.interval.1).fps(),
                },
            });
        Some(DeviceDescription {
            driver: self.driver.clone(),
            card: self.card.clone(),
            bus_info: self.bus_info.clone(),
            formats,
            current,
        })
    }

    fn expected_sizes(&self, f: &FakeFormat) -> Vec<FrameSize> {
        if self.fails(Ioctl::EnumFrameSizes).is_some() {
            return Vec::new();
        }
        let rates = |i: &FakeIntervals| match self.fails(Ioctl::EnumFrameIntervals) {
            Some(_) => Vec::new(),
            None => i.to_domain().frame_rates(),
        };
        match &f.sizes {
            FakeSizes::Discrete(sizes) => sizes
                .iter()
                .map(|s| {
                    FrameSize::Discrete(DiscreteSize {
                        width: s.width,
                        height: s.height,
                        frame_rates: rates(&s.intervals),
                    })
                })
                .collect(),
            FakeSizes::Range(r) => vec![FrameSize::Range(SizeRange {
                kind: if r.continuous {
                    SizeRangeKind::Continuous
                } else {
                    SizeRangeKind::Stepwise
                },
                min_width: r.min_width,
                max_width: r.max_width,
                step_width: r.step_width,
                min_height: r.min_height,
                max_height: r.max_height,
                step_height: r.step_height,
                frame_rates: rates(&r.intervals),
            })],
        }
    }
}

impl FakeIntervals {
    pub fn to_domain(&self) -> FrameIntervals {
        let f = |(n, d): Interval| Fraction::new(n, d);
        match self {
            FakeIntervals::Discrete(list) if list.is_empty() => FrameIntervals::Unknown,
            FakeIntervals::Discrete(list) => {
                FrameIntervals::Discrete(list.iter().copied().map(f).collect())
            }
            FakeIntervals::Stepwise { min, max, step } => FrameIntervals::Stepwise {
                min: f(*min),
                max: f(*max),
                step: f(*step),
            },
            FakeIntervals::Continuous { min, max } => FrameIntervals::Continuous {
                min: f(*min),
                max: f(*max),
            },
        }
    }
}
