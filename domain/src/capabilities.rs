//! What a camera can do: pixel formats, frame sizes and frame rates, as V4L2 reports them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::camera::{CameraId, Resolution};

/// A V4L2 FourCC pixel format code, shown as text without trailing blanks (`"MJPG"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    pub fn from_u32(code: u32) -> FourCc {
        FourCc(code.to_le_bytes())
    }

    pub fn to_u32(self) -> u32 {
        u32::from_le_bytes(self.0)
    }

    /// `"YUYV"` → FourCc; shorter text is padded with blanks, as V4L2 does (`"Y8  "`).
    pub fn parse(text: &str) -> Option<FourCc> {
        let bytes = text.as_bytes();
        if bytes.is_empty() || bytes.len() > 4 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut code = [b' '; 4];
        code[..bytes.len()].copy_from_slice(bytes);
        Some(FourCc(code))
    }
}

impl fmt::Display for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = self
            .0
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '?'
                }
            })
            .collect();
        f.write_str(text.trim_end_matches([' ', '\0']))
    }
}

impl Serialize for FourCc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FourCc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FourCc::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("bad FourCC {text:?}")))
    }
}

/// A frame interval in seconds, `numerator / denominator` (V4L2's `struct v4l2_fract`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fraction {
    pub numerator: u32,
    pub denominator: u32,
}

impl Fraction {
    pub fn new(numerator: u32, denominator: u32) -> Fraction {
        Fraction {
            numerator,
            denominator,
        }
    }

    /// Frames per second for this interval, rounded to 3 decimals; `None` for 0/x or x/0.
    pub fn fps(self) -> Option<f64> {
        if self.numerator == 0 || self.denominator == 0 {
            return None;
        }
        Some(round_fps(
            f64::from(self.denominator) / f64::from(self.numerator),
        ))
    }
}

/// Frame rates are shown with at most 3 decimals (1001/30000 → 29.97).
pub fn round_fps(fps: f64) -> f64 {
    (fps * 1000.0).round() / 1000.0
}

/// The frame intervals a driver offers for one format and size.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameIntervals {
    Discrete(Vec<Fraction>),
    Stepwise {
        min: Fraction,
        max: Fraction,
        step: Fraction,
    },
    Continuous {
        min: Fraction,
        max: Fraction,
    },
    /// The driver cannot say.
    Unknown,
}

impl FrameIntervals {
    /// Frames per second, highest first. A range is `[min_fps, max_fps]`.
    pub fn frame_rates(&self) -> Vec<f64> {
        match self {
            FrameIntervals::Discrete(list) => {
                let mut rates: Vec<f64> = list.iter().filter_map(|f| f.fps()).collect();
                sort_rates(&mut rates);
                rates
            }
            FrameIntervals::Stepwise { min, max, .. } | FrameIntervals::Continuous { min, max } => {
                // The longest interval is the lowest rate.
                match (max.fps(), min.fps()) {
                    (Some(lo), Some(hi)) if lo < hi => vec![lo, hi],
                    (Some(lo), Some(_)) => vec![lo],
                    _ => Vec::new(),
                }
            }
            FrameIntervals::Unknown => Vec::new(),
        }
    }
}

/// Highest first, no duplicates.
fn sort_rates(rates: &mut Vec<f64>) {
    rates.sort_by(|a, b| b.total_cmp(a));
    rates.dedup();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SizeRangeKind {
    Stepwise,
    Continuous,
}

/// A frame size a format offers: one discrete size, or a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FrameSize {
    Range(SizeRange),
    Discrete(DiscreteSize),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscreteSize {
    pub width: u32,
    pub height: u32,
    pub frame_rates: Vec<f64>,
}

/// A stepwise or continuous size range; `frame_rates` are those at the maximum size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizeRange {
    #[serde(rename = "type")]
    pub kind: SizeRangeKind,
    pub min_width: u32,
    pub max_width: u32,
    pub step_width: u32,
    pub min_height: u32,
    pub max_height: u32,
    pub step_height: u32,
    pub frame_rates: Vec<f64>,
}

impl FrameSize {
    /// The size itself, or a range's maximum.
    pub fn largest(&self) -> (u32, u32) {
        match self {
            FrameSize::Discrete(d) => (d.width, d.height),
            FrameSize::Range(r) => (r.max_width, r.max_height),
        }
    }

    pub fn frame_rates(&self) -> &[f64] {
        match self {
            FrameSize::Discrete(d) => &d.frame_rates,
            FrameSize::Range(r) => &r.frame_rates,
        }
    }

    /// Whether `width`x`height` is one this entry offers.
    pub fn offers(&self, width: u32, height: u32) -> bool {
        match self {
            FrameSize::Discrete(d) => d.width == width && d.height == height,
            FrameSize::Range(r) => {
                let fits = |v: u32, min: u32, max: u32, step: u32| {
                    (min..=max).contains(&v) && (step <= 1 || (v - min).is_multiple_of(step))
                };
                fits(width, r.min_width, r.max_width, r.step_width)
                    && fits(height, r.min_height, r.max_height, r.step_height)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PixelFormat {
    pub pixel_format: FourCc,
    pub description: String,
    pub sizes: Vec<FrameSize>,
}

/// The mode the device reports now (`G_FMT` + `G_PARM`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CurrentMode {
    pub pixel_format: FourCc,
    pub width: u32,
    pub height: u32,
    /// `None` when the driver cannot say (no `G_PARM`).
    pub fps: Option<f64>,
}

/// What a device probe found, before it is attached to a camera id.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceDescription {
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    pub formats: Vec<PixelFormat>,
    pub current: Option<CurrentMode>,
}

/// The `get_camera_capabilities` result.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Capabilities {
    pub device: CameraId,
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    pub formats: Vec<PixelFormat>,
    /// Every discrete size plus each range's maximum, largest first.
    pub resolutions: Vec<Resolution>,
    /// The union of all rates, highest first.
    pub frame_rates: Vec<f64>,
    pub current: Option<CurrentMode>,
}

impl Capabilities {
    pub fn new(device: CameraId, description: DeviceDescription) -> Capabilities {
        let mut resolutions: Vec<Resolution> = Vec::new();
        let mut frame_rates: Vec<f64> = Vec::new();
        for size in description.formats.iter().flat_map(|f| &f.sizes) {
            let (w, h) = size.largest();
            if let Some(r) = Resolution::new(w, h) {
                if !resolutions.contains(&r) {
                    resolutions.push(r);
                }
            }
            frame_rates.extend_from_slice(size.frame_rates());
        }
        resolutions.sort_by(|a, b| b.pixels().cmp(&a.pixels()).then(b.width.cmp(&a.width)));
        sort_rates(&mut frame_rates);
        Capabilities {
            device,
            driver: description.driver,
            card: description.card,
            bus_info: description.bus_info,
            formats: description.formats,
            resolutions,
            frame_rates,
            current: description.current,
        }
    }

    /// The mode a camera is shown in and captured at when nobody asks for another:
    /// the device's current mode, else the largest size of the first format at its highest rate.
    pub fn default_mode(&self) -> Option<(Resolution, Option<f64>)> {
        if let Some(c) = &self.current {
            if let Some(r) = Resolution::new(c.width, c.height) {
                return Some((r, c.fps));
            }
        }
        let size = self.formats.first()?.sizes.iter().max_by_key(|s| {
            let (w, h) = s.largest();
            u64::from(w) * u64::from(h)
        })?;
        let (w, h) = size.largest();
        Some((Resolution::new(w, h)?, size.frame_rates().first().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn discrete(w: u32, h: u32, rates: &[f64]) -> FrameSize {
        FrameSize::Discrete(DiscreteSize {
            width: w,
            height: h,
            frame_rates: rates.to_vec(),
        })
    }

    #[test]
    fn fourcc_text_has_no_trailing_blanks() {
        assert_eq!(FourCc(*b"Y8  ").to_string(), "Y8");
        assert_eq!(FourCc::parse("Y8"), Some(FourCc(*b"Y8  ")));
        assert_eq!(FourCc::from_u32(0x4750_4a4d).to_string(), "MJPG");
    }

    #[test]
    fn interval_two_fifteenths_is_seven_and_a_half_fps() {
        assert_eq!(Fraction::new(2, 15).fps(), Some(7.5));
        assert_eq!(Fraction::new(1001, 30000).fps(), Some(29.97));
        assert_eq!(Fraction::new(0, 30).fps(), None);
    }

    #[test]
    fn discrete_rates_are_highest_first_and_unique() {
        let i = FrameIntervals::Discrete(vec![
            Fraction::new(1, 15),
            Fraction::new(1, 30),
            Fraction::new(2, 60),
        ]);
        assert_eq!(i.frame_rates(), vec![30.0, 15.0]);
    }

    #[test]
    fn interval_range_is_min_and_max_fps() {
        let i = FrameIntervals::Continuous {
            min: Fraction::new(1, 60),
            max: Fraction::new(1, 1),
        };
        assert_eq!(i.frame_rates(), vec![1.0, 60.0]);
    }

    #[test]
    fn derived_lists_cover_every_size_and_rate() {
        let caps = Capabilities::new(
            CameraId::new(0).unwrap(),
            DeviceDescription {
                driver: "uvcvideo".into(),
                card: "Cam".into(),
                bus_info: "usb-1".into(),
                formats: vec![
                    PixelFormat {
                        pixel_format: FourCc(*b"MJPG"),
                        description: "Motion-JPEG".into(),
                        sizes: vec![
                            discrete(640, 480, &[30.0, 15.0]),
                            discrete(1920, 1080, &[30.0]),
                        ],
                    },
                    PixelFormat {
                        pixel_format: FourCc(*b"YUYV"),
                        description: "YUYV 4:2:2".into(),
                        sizes: vec![FrameSize::Range(SizeRange {
                            kind: SizeRangeKind::Stepwise,
                            min_width: 16,
                            max_width: 1280,
                            step_width: 16,
                            min_height: 16,
                            max_height: 720,
                            step_height: 16,
                            frame_rates: vec![10.0],
                        })],
                    },
                ],
                current: None,
            },
        );
        let res: Vec<String> = caps.resolutions.iter().map(|r| r.to_string()).collect();
        assert_eq!(res, ["1920x1080", "1280x720", "640x480"]);
        assert_eq!(caps.frame_rates, vec![30.0, 15.0, 10.0]);
        assert_eq!(
            caps.default_mode(),
            Some((Resolution::new(1920, 1080).unwrap(), Some(30.0)))
        );
    }

    #[test]
    fn sizes_serialize_as_the_contract_says() {
        let json = serde_json::to_value(discrete(640, 480, &[30.0])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"width": 640, "height": 480, "frame_rates": [30.0]})
        );
        let range = FrameSize::Range(SizeRange {
            kind: SizeRangeKind::Continuous,
            min_width: 1,
            max_width: 2,
            step_width: 1,
            min_height: 1,
            max_height: 2,
            step_height: 1,
            frame_rates: vec![],
        });
        let json = serde_json::to_value(&range).unwrap();
        assert_eq!(json["type"], "continuous");
        assert_eq!(serde_json::from_value::<FrameSize>(json).unwrap(), range);
    }

    proptest! {
        #[test]
        fn fourcc_round_trips(code in "[A-Z0-9]{1,4}") {
            let f = FourCc::parse(&code).unwrap();
            prop_assert_eq!(f.to_string(), code);
            prop_assert_eq!(FourCc::from_u32(f.to_u32()), f);
        }

        #[test]
        fn stepwise_offers_exactly_the_steps(step in 1u32..64, k in 0u32..40, off in 1u32..8) {
            let r = FrameSize::Range(SizeRange {
                kind: SizeRangeKind::Stepwise,
                min_width: 16, max_width: 16 + 40 * step, step_width: step,
                min_height: 16, max_height: 16 + 40 * step, step_height: step,
                frame_rates: vec![],
            });
            let w = 16 + k * step;
            prop_assert!(r.offers(w, w));
            if step > 1 && off < step {
                prop_assert!(!r.offers(w + off, 16));
            }
        }
    }
}
