//! Camera controls (brightness, exposure, focus, white balance, ...): the model, the checks
//! a change passes before any of it reaches a driver, and the auto/manual pairs.
//!
//! A control is keyed by its V4L2 control id (CID); [`cids`] gives each known CID a stable
//! id that survives kernel renames. [`plan`] turns a client's `{id_or_name: value}` into
//! the ordered driver writes, or the first reason it cannot be done — all before anything
//! is applied. [`memory`] keeps what was set per camera identity so it can be re-applied.
//!
//! One file of ~670 lines: the control model, the plan that checks a change and the auto/manual
//! pairs are one set of rules; the tests are in `tests.rs`, known ids in `cids.rs`.

pub mod cids;
pub mod memory;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The control types handled (`enum v4l2_ctrl_type`). String and compound controls are
/// not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlType {
    Integer,
    Boolean,
    Menu,
    IntegerMenu,
    Button,
    Integer64,
    Bitmask,
}

impl ControlType {
    /// From `V4L2_CTRL_TYPE_*`; `None` for the types not handled (class headers, strings,
    /// compound types).
    pub fn from_v4l2(t: u32) -> Option<ControlType> {
        Some(match t {
            1 => ControlType::Integer,
            2 => ControlType::Boolean,
            3 => ControlType::Menu,
            4 => ControlType::Button,
            5 => ControlType::Integer64,
            8 => ControlType::Bitmask,
            9 => ControlType::IntegerMenu,
            _ => return None,
        })
    }

    /// Whether the value needs the extended (64-bit) calls.
    pub fn is_64bit(self) -> bool {
        self == ControlType::Integer64
    }

    pub fn has_menu(self) -> bool {
        matches!(self, ControlType::Menu | ControlType::IntegerMenu)
    }
}

/// A control's state flags (`V4L2_CTRL_FLAG_*`) that matter to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlFlag {
    ReadOnly,
    /// Has no effect now (its auto control is on, ...); drivers may refuse writes.
    Inactive,
    /// Changes by itself (a value the device measures).
    Volatile,
    WriteOnly,
    /// Held by a running stream; writes fail with EBUSY.
    Grabbed,
}

impl ControlFlag {
    /// The flags of a `V4L2_CTRL_FLAG_*` mask (DISABLED controls are never listed).
    pub fn from_v4l2(mask: u32) -> Vec<ControlFlag> {
        let bits = [
            (0x0004, ControlFlag::ReadOnly),
            (0x0010, ControlFlag::Inactive),
            (0x0080, ControlFlag::Volatile),
            (0x0040, ControlFlag::WriteOnly),
            (0x0002, ControlFlag::Grabbed),
        ];
        bits.iter()
            .filter(|(b, _)| mask & b != 0)
            .map(|(_, f)| *f)
            .collect()
    }
}

/// One entry of a menu control. Menus can have gaps (uvc), so the index is explicit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MenuItem {
    pub index: i64,
    /// A menu's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An integer menu's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
}

/// A control as a camera reports it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Control {
    /// Stable id (`auto_exposure`); see [`cids::stable_id`].
    pub id: String,
    /// The V4L2 control id.
    pub cid: u32,
    /// The driver's own name ("Auto Exposure", or "Exposure, Auto" on older kernels).
    pub name: String,
    /// Its control class (`user`, `camera`, ...).
    pub class: String,
    #[serde(rename = "type")]
    pub kind: ControlType,
    pub minimum: i64,
    pub maximum: i64,
    pub step: u64,
    pub default: i64,
    /// `None` for write-only controls (buttons) and values the driver would not give.
    pub value: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub menu: Vec<MenuItem>,
    #[serde(default)]
    pub flags: Vec<ControlFlag>,
    /// The auto control that decides whether this one takes effect, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_control: Option<String>,
}

impl Control {
    pub fn has(&self, flag: ControlFlag) -> bool {
        self.flags.contains(&flag)
    }

    pub fn writable(&self) -> bool {
        !self.has(ControlFlag::ReadOnly)
    }

    /// Checks `value` against type, range, step and menu.
    pub fn check(&self, value: i64) -> Result<(), String> {
        match self.kind {
            ControlType::Button => Ok(()),
            ControlType::Boolean if !(0..=1).contains(&value) => {
                Err(format!("must be true/false (0 or 1), got {value}"))
            }
            ControlType::Menu | ControlType::IntegerMenu => {
                if self.menu.iter().any(|m| m.index == value) {
                    Ok(())
                } else {
                    let valid: Vec<String> =
                        self.menu.iter().map(|m| m.index.to_string()).collect();
                    Err(format!(
                        "menu index {value} is not offered; valid: {}",
                        valid.join(", ")
                    ))
                }
            }
            ControlType::Bitmask => {
                if value < 0 || (value as u64 & !(self.maximum as u64)) != 0 {
                    Err(format!(
                        "bits {value:#x} outside the mask {:#x}",
                        self.maximum
                    ))
                } else {
                    Ok(())
                }
            }
            _ => {
                if value < self.minimum || value > self.maximum {
                    return Err(format!(
                        "{value} is out of range {}..={}",
                        self.minimum, self.maximum
                    ));
                }
                let step = self.step.max(1) as i128;
                if (value as i128 - self.minimum as i128) % step != 0 {
                    return Err(format!(
                        "{value} is not on the step: {} + n*{}",
                        self.minimum, self.step
                    ));
                }
                Ok(())
            }
        }
    }

    /// Turns a client's value into the driver's number (booleans, menu texts).
    pub fn value_of(&self, input: &ControlInput) -> Result<i64, String> {
        let v = match (self.kind, input) {
            (ControlType::Button, _) => 1,
            (ControlType::Boolean, ControlInput::Bool(b)) => i64::from(*b),
            (_, ControlInput::Bool(_)) => {
                return Err(format!("a {:?} control takes a number", self.kind).to_lowercase())
            }
            (_, ControlInput::Int(i)) => *i,
            (ControlType::Menu, ControlInput::Text(t)) => {
                let wanted = cids::snake_case(t);
                self.menu
                    .iter()
                    .find(|m| {
                        m.name.as_deref().is_some_and(|n| {
                            n.eq_ignore_ascii_case(t) || cids::snake_case(n) == wanted
                        })
                    })
                    .map(|m| m.index)
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            self.menu.iter().filter_map(|m| m.name.as_deref()).collect();
                        format!("no menu entry {t:?}; entries: {}", names.join(", "))
                    })?
            }
            (_, ControlInput::Text(t)) => {
                return Err(format!("takes a number, got the text {t:?}"));
            }
        };
        self.check(v)?;
        Ok(v)
    }
}

/// A value as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ControlInput {
    Bool(bool),
    Int(i64),
    /// A menu entry by its text.
    Text(String),
}

/// One driver write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlChange {
    pub cid: u32,
    pub id: String,
    pub value: i64,
    #[serde(rename = "type")]
    pub kind: ControlType,
}

/// Why a change was refused before anything was applied. Each names the control.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ControlError {
    #[error("no control {key:?} on this camera; controls: {}", known.join(", "))]
    Unknown { key: String, known: Vec<String> },
    #[error("{id} is named twice ({first:?} and {second:?})")]
    Duplicate {
        id: String,
        first: String,
        second: String,
    },
    #[error("{id} is read-only")]
    ReadOnly { id: String },
    #[error("{id}: {details}")]
    BadValue { id: String, details: String },
    #[error("{id} has no effect while {auto} is {auto_value}; set {auto} to {manual_value} too, or pass switch_to_manual: true")]
    AutoIsOn {
        id: String,
        auto: String,
        auto_value: i64,
        manual_value: i64,
    },
    #[error("{id} is set manually while the same call turns {auto} to automatic ({auto_value})")]
    Conflict {
        id: String,
        auto: String,
        auto_value: i64,
    },
}

impl ControlError {
    /// The control the error is about.
    pub fn control(&self) -> &str {
        match self {
            ControlError::Unknown { key, .. } => key,
            ControlError::Duplicate { id, .. }
            | ControlError::ReadOnly { id }
            | ControlError::BadValue { id, .. }
            | ControlError::AutoIsOn { id, .. }
            | ControlError::Conflict { id, .. } => id,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ControlError::Unknown { .. } => "unknown_control",
            ControlError::Duplicate { .. } => "duplicate_control",
            ControlError::ReadOnly { .. } => "control_read_only",
            ControlError::BadValue { .. } => "invalid_control_value",
            ControlError::AutoIsOn { .. } => "auto_control_on",
            ControlError::Conflict { .. } => "auto_control_conflict",
        }
    }
}

/// An auto control and the manual controls it overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoPair {
    pub auto: u32,
    pub manual: &'static [u32],
    /// The auto control's value that hands control to the manual ones.
    pub manual_value: i64,
}

impl AutoPair {
    /// Whether the manual controls take effect while the auto control has `value`.
    pub fn is_manual(&self, value: i64) -> bool {
        match self.auto {
            // Shutter priority leaves the exposure time to the user too.
            cids::EXPOSURE_AUTO => matches!(
                value,
                cids::EXPOSURE_MODE_MANUAL | cids::EXPOSURE_MODE_SHUTTER_PRIORITY
            ),
            _ => value == self.manual_value,
        }
    }
}

/// The auto/manual pairs: auto exposure ↔ exposure time, auto white balance ↔ temperature,
/// autofocus ↔ focus, auto gain ↔ gain, auto hue ↔ hue, auto ISO ↔ ISO.
pub const AUTO_PAIRS: &[AutoPair] = &[
    AutoPair {
        auto: cids::EXPOSURE_AUTO,
        manual: &[cids::EXPOSURE_ABSOLUTE, cids::IRIS_ABSOLUTE],
        manual_value: cids::EXPOSURE_MODE_MANUAL,
    },
    AutoPair {
        auto: cids::AUTO_WHITE_BALANCE,
        manual: &[
            cids::WHITE_BALANCE_TEMPERATURE,
            cids::RED_BALANCE,
            cids::BLUE_BALANCE,
        ],
        manual_value: 0,
    },
    AutoPair {
        auto: cids::FOCUS_AUTO,
        manual: &[cids::FOCUS_ABSOLUTE, cids::FOCUS_RELATIVE],
        manual_value: 0,
    },
    AutoPair {
        auto: cids::AUTOGAIN,
        manual: &[cids::GAIN, cids::EXPOSURE],
        manual_value: 0,
    },
    AutoPair {
        auto: cids::HUE_AUTO,
        manual: &[cids::HUE],
        manual_value: 0,
    },
    AutoPair {
        auto: cids::ISO_SENSITIVITY_AUTO,
        manual: &[cids::ISO_SENSITIVITY],
        manual_value: 0,
    },
];

/// The pair whose manual side `cid` is on.
pub fn auto_pair_of(cid: u32) -> Option<&'static AutoPair> {
    AUTO_PAIRS.iter().find(|p| p.manual.contains(&cid))
}

/// Whether `cid` is an auto control of a pair.
pub fn is_auto(cid: u32) -> bool {
    AUTO_PAIRS.iter().any(|p| p.auto == cid)
}

/// Fills in each control's `auto_control` from the pairs (among the controls present).
pub fn link_auto_controls(controls: &mut [Control]) {
    let ids: Vec<(u32, String)> = controls.iter().map(|c| (c.cid, c.id.clone())).collect();
    for c in controls.iter_mut() {
        c.auto_control = auto_pair_of(c.cid).and_then(|p| {
            ids.iter()
                .find(|(cid, _)| *cid == p.auto)
                .map(|(_, id)| id.clone())
        });
    }
}

/// Finds the control a client means: stable id, an older kernel name, the driver's name
/// (as written or in snake case), or the CID (`0x009a0901` or decimal).
pub fn find<'a>(controls: &'a [Control], key: &str) -> Option<&'a Control> {
    let by_cid = |cid: u32| controls.iter().find(|c| c.cid == cid);
    if let Some(c) = controls.iter().find(|c| c.id == key) {
        return Some(c);
    }
    if let Some(c) = cids::known_cid(key).and_then(by_cid) {
        return Some(c);
    }
    let snake = cids::snake_case(key);
    if let Some(c) = controls.iter().find(|c| {
        c.name.eq_ignore_ascii_case(key)
            || (!snake.is_empty() && cids::snake_case(&c.name) == snake)
    }) {
        return Some(c);
    }
    let cid = match key.strip_prefix("0x").or_else(|| key.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => key.parse::<u32>().ok(),
    };
    cid.and_then(by_cid)
}

/// Plans a client's changes against the controls as they are now: every key resolved,
/// every value checked, the auto/manual rules applied; nothing is applied when any fails.
/// With `switch_to_manual`, a manual value whose auto control is on also turns that auto
/// control to manual. Auto controls come first, so the manual values land after them.
pub fn plan(
    controls: &[Control],
    requested: &[(String, ControlInput)],
    switch_to_manual: bool,
) -> Result<Vec<ControlChange>, ControlError> {
    let mut changes: Vec<(String, ControlChange)> = Vec::with_capacity(requested.len() + 1);
    for (key, input) in requested {
        let c = find(controls, key).ok_or_else(|| ControlError::Unknown {
            key: key.clone(),
            known: controls.iter().map(|c| c.id.clone()).collect(),
        })?;
        if let Some((first, _)) = changes.iter().find(|(_, ch)| ch.cid == c.cid) {
            return Err(ControlError::Duplicate {
                id: c.id.clone(),
                first: first.clone(),
                second: key.clone(),
            });
        }
        if !c.writable() {
            return Err(ControlError::ReadOnly { id: c.id.clone() });
        }
        let value = c
            .value_of(input)
            .map_err(|details| ControlError::BadValue {
                id: c.id.clone(),
                details,
            })?;
        changes.push((key.clone(), change(c, value)));
    }
    let mut extra: Vec<ControlChange> = Vec::new();
    for (_, ch) in &changes {
        let Some(pair) = auto_pair_of(ch.cid) else {
            continue;
        };
        let Some(auto) = controls.iter().find(|c| c.cid == pair.auto) else {
            continue;
        };
        let asked = changes
            .iter()
            .map(|(_, c)| c)
            .chain(extra.iter())
            .find(|c| c.cid == pair.auto)
            .map(|c| c.value);
        let effective = asked.or(auto.value);
        let Some(effective) = effective else {
            continue;
        };
        if pair.is_manual(effective) {
            continue;
        }
        if asked.is_some() {
            return Err(ControlError::Conflict {
                id: ch.id.clone(),
                auto: auto.id.clone(),
                auto_value: effective,
            });
        }
        if !switch_to_manual || !auto.writable() {
            return Err(ControlError::AutoIsOn {
                id: ch.id.clone(),
                auto: auto.id.clone(),
                auto_value: effective,
                manual_value: pair.manual_value,
            });
        }
        extra.push(change(auto, pair.manual_value));
    }
    let mut ordered: Vec<ControlChange> = extra;
    ordered.extend(changes.into_iter().map(|(_, c)| c));
    ordered.sort_by_key(|c| !is_auto(c.cid));
    Ok(ordered)
}

fn change(c: &Control, value: i64) -> ControlChange {
    ControlChange {
        cid: c.cid,
        id: c.id.clone(),
        value,
        kind: c.kind,
    }
}

/// What a reset writes: every writable control that is not at its default, manual controls
/// before their auto controls (turning auto back on first would make them inactive).
/// Buttons, read-only controls and inactive controls are left; the last are returned
/// (their value does not matter while their auto control is on).
pub fn reset_plan(controls: &[Control]) -> (Vec<ControlChange>, Vec<String>) {
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for c in controls {
        if !c.writable() || c.kind == ControlType::Button || c.value == Some(c.default) {
            continue;
        }
        if c.has(ControlFlag::Inactive) {
            skipped.push(c.id.clone());
            continue;
        }
        if c.check(c.default).is_ok() {
            changes.push(change(c, c.default));
        }
    }
    changes.sort_by_key(|c| is_auto(c.cid));
    (changes, skipped)
}

/// The picture adjustments a simulated camera offers, applied to its test pattern.
pub mod simulated {
    use super::*;

    fn integer(cid: u32, name: &str, min: i64, max: i64, default: i64, value: i64) -> Control {
        Control {
            id: cids::stable_id(cid, name),
            cid,
            name: name.to_owned(),
            class: cids::class_name(cids::class_of(cid)).to_owned(),
            kind: ControlType::Integer,
            minimum: min,
            maximum: max,
            step: 1,
            default,
            value: Some(value),
            menu: Vec::new(),
            flags: Vec::new(),
            auto_control: None,
        }
    }

    /// Values as the controls were last set (`None`: the default).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Picture {
        pub brightness: Option<i64>,
        pub contrast: Option<i64>,
        pub saturation: Option<i64>,
        pub hue: Option<i64>,
    }

    impl Picture {
        fn slot(&mut self, cid: u32) -> Option<&mut Option<i64>> {
            Some(match cid {
                cids::BRIGHTNESS => &mut self.brightness,
                cids::CONTRAST => &mut self.contrast,
                cids::SATURATION => &mut self.saturation,
                cids::HUE => &mut self.hue,
                _ => return None,
            })
        }

        /// Applies planned changes (checked by [`plan`] against [`Picture::controls`]).
        pub fn apply(&mut self, changes: &[ControlChange]) {
            for c in changes {
                if let Some(slot) = self.slot(c.cid) {
                    *slot = Some(c.value);
                }
            }
        }

        /// Brightness −100..100 (0), contrast 0..200 % (100), saturation 0..300 % (100),
        /// hue −180..180 degrees (0).
        pub fn controls(&self) -> Vec<Control> {
            vec![
                integer(
                    cids::BRIGHTNESS,
                    "Brightness",
                    -100,
                    100,
                    0,
                    self.brightness.unwrap_or(0),
                ),
                integer(
                    cids::CONTRAST,
                    "Contrast",
                    0,
                    200,
                    100,
                    self.contrast.unwrap_or(100),
                ),
                integer(
                    cids::SATURATION,
                    "Saturation",
                    0,
                    300,
                    100,
                    self.saturation.unwrap_or(100),
                ),
                integer(cids::HUE, "Hue", -180, 180, 0, self.hue.unwrap_or(0)),
            ]
        }

        /// The ffmpeg filters that make the pattern look so (`eq`, `hue`); `None` when
        /// every value is the default. Only numbers go in: nothing a client sends is text here.
        pub fn filter(&self) -> Option<String> {
            let b = self.brightness.unwrap_or(0);
            let c = self.contrast.unwrap_or(100);
            let s = self.saturation.unwrap_or(100);
            let h = self.hue.unwrap_or(0);
            if (b, c, s, h) == (0, 100, 100, 0) {
                return None;
            }
            Some(format!(
                "eq=brightness={:.2}:contrast={:.2}:saturation={:.2},hue=h={h}",
                b as f64 / 100.0,
                c as f64 / 100.0,
                s as f64 / 100.0
            ))
        }

        /// The values a filter made by [`Picture::filter`] stands for.
        fn parse_filter(f: &str) -> Option<Picture> {
            let (eq, hue) = f.strip_prefix("eq=")?.split_once(",hue=h=")?;
            let mut parts = eq.split(':');
            let mut field = |name: &str| -> Option<i64> {
                let v: f64 = parts
                    .next()?
                    .strip_prefix(name)?
                    .strip_prefix('=')?
                    .parse()
                    .ok()?;
                Some((v * 100.0).round() as i64)
            };
            Some(Picture {
                brightness: Some(field("brightness")?),
                contrast: Some(field("contrast")?),
                saturation: Some(field("saturation")?),
                hue: Some(hue.parse().ok()?),
            })
        }
    }

    /// A simulated camera's pattern with its adjustments: `testsrc2`, or
    /// `testsrc2,eq=...,hue=h=...` when the picture is not the default.
    pub fn adjusted_pattern(base: &str, picture: &Picture) -> String {
        let (name, _) = split_pattern(base);
        match picture.filter() {
            Some(f) => format!("{name},{f}"),
            None => name.to_owned(),
        }
    }

    /// (source name, adjustment filters) of a pattern.
    pub fn split_pattern(pattern: &str) -> (&str, Option<&str>) {
        match pattern.split_once(',') {
            Some((name, filter)) => (name, Some(filter)),
            None => (pattern, None),
        }
    }

    /// Whether `pattern` is a lavfi source name (letters, digits, `_`) followed by nothing
    /// or by exactly the filters [`Picture::filter`] makes: no other filter graph can be
    /// smuggled through a pattern.
    pub fn valid_pattern(pattern: &str) -> bool {
        let (name, filter) = split_pattern(pattern);
        let name_ok = !name.is_empty()
            && name.len() <= 32
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        name_ok
            && filter.is_none_or(|f| {
                Picture::parse_filter(f).and_then(|p| p.filter()).as_deref() == Some(f)
            })
    }
}

#[cfg(test)]
mod tests;
