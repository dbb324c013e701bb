//! The V4L2 control ids (CIDs) the service knows by name, from `<linux/v4l2-controls.h>`.
//!
//! Controls are keyed by CID, never by the name a driver reports: kernels renamed several
//! (`exposure_auto` → `auto_exposure`, `focus_auto` → `focus_automatic_continuous`). Each
//! known CID has a stable id (the current kernel's name in v4l2-ctl's snake case) and the
//! older names it went by, which are accepted as aliases.

/// `V4L2_CID_BASE` (the user class).
pub const USER_BASE: u32 = 0x0098_0900;
/// `V4L2_CID_CAMERA_CLASS_BASE`.
pub const CAMERA_BASE: u32 = 0x009a_0900;

pub const BRIGHTNESS: u32 = USER_BASE;
pub const CONTRAST: u32 = USER_BASE + 1;
pub const SATURATION: u32 = USER_BASE + 2;
pub const HUE: u32 = USER_BASE + 3;
pub const AUTO_WHITE_BALANCE: u32 = USER_BASE + 12;
pub const DO_WHITE_BALANCE: u32 = USER_BASE + 13;
pub const RED_BALANCE: u32 = USER_BASE + 14;
pub const BLUE_BALANCE: u32 = USER_BASE + 15;
pub const GAMMA: u32 = USER_BASE + 16;
pub const EXPOSURE: u32 = USER_BASE + 17;
pub const AUTOGAIN: u32 = USER_BASE + 18;
pub const GAIN: u32 = USER_BASE + 19;
pub const HFLIP: u32 = USER_BASE + 20;
pub const VFLIP: u32 = USER_BASE + 21;
pub const POWER_LINE_FREQUENCY: u32 = USER_BASE + 24;
pub const HUE_AUTO: u32 = USER_BASE + 25;
pub const WHITE_BALANCE_TEMPERATURE: u32 = USER_BASE + 26;
pub const SHARPNESS: u32 = USER_BASE + 27;
pub const BACKLIGHT_COMPENSATION: u32 = USER_BASE + 28;
pub const COLORFX: u32 = USER_BASE + 31;
pub const ROTATE: u32 = USER_BASE + 34;

pub const EXPOSURE_AUTO: u32 = CAMERA_BASE + 1;
pub const EXPOSURE_ABSOLUTE: u32 = CAMERA_BASE + 2;
pub const EXPOSURE_AUTO_PRIORITY: u32 = CAMERA_BASE + 3;
pub const PAN_RELATIVE: u32 = CAMERA_BASE + 4;
pub const TILT_RELATIVE: u32 = CAMERA_BASE + 5;
pub const PAN_RESET: u32 = CAMERA_BASE + 6;
pub const TILT_RESET: u32 = CAMERA_BASE + 7;
pub const PAN_ABSOLUTE: u32 = CAMERA_BASE + 8;
pub const TILT_ABSOLUTE: u32 = CAMERA_BASE + 9;
pub const FOCUS_ABSOLUTE: u32 = CAMERA_BASE + 10;
pub const FOCUS_RELATIVE: u32 = CAMERA_BASE + 11;
pub const FOCUS_AUTO: u32 = CAMERA_BASE + 12;
pub const ZOOM_ABSOLUTE: u32 = CAMERA_BASE + 13;
pub const ZOOM_RELATIVE: u32 = CAMERA_BASE + 14;
pub const ZOOM_CONTINUOUS: u32 = CAMERA_BASE + 15;
pub const PRIVACY: u32 = CAMERA_BASE + 16;
pub const IRIS_ABSOLUTE: u32 = CAMERA_BASE + 17;
pub const AUTO_EXPOSURE_BIAS: u32 = CAMERA_BASE + 19;
pub const AUTO_N_PRESET_WHITE_BALANCE: u32 = CAMERA_BASE + 20;
pub const ISO_SENSITIVITY: u32 = CAMERA_BASE + 23;
pub const ISO_SENSITIVITY_AUTO: u32 = CAMERA_BASE + 24;
pub const EXPOSURE_METERING: u32 = CAMERA_BASE + 25;
pub const SCENE_MODE: u32 = CAMERA_BASE + 26;

/// `V4L2_EXPOSURE_AUTO` .. `V4L2_EXPOSURE_APERTURE_PRIORITY` (menu of `EXPOSURE_AUTO`).
pub const EXPOSURE_MODE_AUTO: i64 = 0;
pub const EXPOSURE_MODE_MANUAL: i64 = 1;
pub const EXPOSURE_MODE_SHUTTER_PRIORITY: i64 = 2;
pub const EXPOSURE_MODE_APERTURE_PRIORITY: i64 = 3;

/// A CID's class (`V4L2_CTRL_ID2WHICH`): the control class it belongs to.
pub fn class_of(cid: u32) -> u32 {
    cid & 0x0fff_0000
}

/// The control classes' names (`v4l2-ctl` prints them as section headers).
pub fn class_name(class: u32) -> &'static str {
    match class {
        0x0098_0000 => "user",
        0x0099_0000 => "codec",
        0x009a_0000 => "camera",
        0x009b_0000 => "fm_tx",
        0x009c_0000 => "flash",
        0x009d_0000 => "jpeg",
        0x009e_0000 => "image_source",
        0x009f_0000 => "image_processing",
        0x00a0_0000 => "digital_video",
        0x00a1_0000 => "fm_rx",
        0x00a2_0000 => "rf_tuner",
        0x00a3_0000 => "detect",
        0x00a4_0000 => "codec_stateless",
        0x00a5_0000 => "colorimetry",
        _ => "other",
    }
}

/// (CID, stable id, older names).
const KNOWN: &[(u32, &str, &[&str])] = &[
    (BRIGHTNESS, "brightness", &[]),
    (CONTRAST, "contrast", &[]),
    (SATURATION, "saturation", &[]),
    (HUE, "hue", &[]),
    (
        AUTO_WHITE_BALANCE,
        "white_balance_automatic",
        &["white_balance_temperature_auto", "auto_white_balance"],
    ),
    (DO_WHITE_BALANCE, "do_white_balance", &[]),
    (RED_BALANCE, "red_balance", &[]),
    (BLUE_BALANCE, "blue_balance", &[]),
    (GAMMA, "gamma", &[]),
    (EXPOSURE, "exposure", &[]),
    (AUTOGAIN, "gain_automatic", &["autogain"]),
    (GAIN, "gain", &[]),
    (HFLIP, "horizontal_flip", &["hflip"]),
    (VFLIP, "vertical_flip", &["vflip"]),
    (POWER_LINE_FREQUENCY, "power_line_frequency", &[]),
    (HUE_AUTO, "hue_automatic", &["hue_auto"]),
    (WHITE_BALANCE_TEMPERATURE, "white_balance_temperature", &[]),
    (SHARPNESS, "sharpness", &[]),
    (BACKLIGHT_COMPENSATION, "backlight_compensation", &[]),
    (COLORFX, "color_effects", &[]),
    (ROTATE, "rotate", &[]),
    (EXPOSURE_AUTO, "auto_exposure", &["exposure_auto"]),
    (
        EXPOSURE_ABSOLUTE,
        "exposure_time_absolute",
        &["exposure_absolute"],
    ),
    (
        EXPOSURE_AUTO_PRIORITY,
        "exposure_dynamic_framerate",
        &["exposure_auto_priority"],
    ),
    (PAN_RELATIVE, "pan_relative", &[]),
    (TILT_RELATIVE, "tilt_relative", &[]),
    (PAN_RESET, "pan_reset", &[]),
    (TILT_RESET, "tilt_reset", &[]),
    (PAN_ABSOLUTE, "pan_absolute", &[]),
    (TILT_ABSOLUTE, "tilt_absolute", &[]),
    (FOCUS_ABSOLUTE, "focus_absolute", &[]),
    (FOCUS_RELATIVE, "focus_relative", &[]),
    (
        FOCUS_AUTO,
        "focus_automatic_continuous",
        &["focus_auto", "focus_automatic"],
    ),
    (ZOOM_ABSOLUTE, "zoom_absolute", &[]),
    (ZOOM_RELATIVE, "zoom_relative", &[]),
    (ZOOM_CONTINUOUS, "zoom_continuous", &[]),
    (PRIVACY, "privacy", &[]),
    (IRIS_ABSOLUTE, "iris_absolute", &[]),
    (AUTO_EXPOSURE_BIAS, "auto_exposure_bias", &[]),
    (
        AUTO_N_PRESET_WHITE_BALANCE,
        "white_balance_auto_preset",
        &["auto_n_preset_white_balance"],
    ),
    (ISO_SENSITIVITY, "iso_sensitivity", &[]),
    (ISO_SENSITIVITY_AUTO, "iso_sensitivity_auto", &[]),
    (
        EXPOSURE_METERING,
        "exposure_metering_mode",
        &["exposure_metering"],
    ),
    (SCENE_MODE, "scene_mode", &[]),
];

/// The stable id of a CID: the known name, else the driver's name in snake case, else
/// `cid_<hex>`.
pub fn stable_id(cid: u32, driver_name: &str) -> String {
    if let Some((_, id, _)) = KNOWN.iter().find(|(c, _, _)| *c == cid) {
        return (*id).to_owned();
    }
    let snake = snake_case(driver_name);
    if snake.is_empty() {
        format!("cid_{cid:08x}")
    } else {
        snake
    }
}

/// The CID a known stable id or older name stands for.
pub fn known_cid(name: &str) -> Option<u32> {
    KNOWN
        .iter()
        .find(|(_, id, old)| *id == name || old.contains(&name))
        .map(|(c, _, _)| *c)
}

/// A driver's control name as `v4l2-ctl` spells it: lower case, runs of anything but
/// letters and digits become one `_`, none at either end ("Exposure, Auto" → `exposure_auto`).
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_controls_keep_their_id_under_either_name() {
        assert_eq!(known_cid("exposure_auto"), Some(EXPOSURE_AUTO));
        assert_eq!(known_cid("auto_exposure"), Some(EXPOSURE_AUTO));
        assert_eq!(known_cid("focus_auto"), Some(FOCUS_AUTO));
        assert_eq!(known_cid("focus_automatic_continuous"), Some(FOCUS_AUTO));
        assert_eq!(
            known_cid("white_balance_temperature_auto"),
            Some(AUTO_WHITE_BALANCE)
        );
        // The id does not depend on what the driver calls the control.
        assert_eq!(stable_id(EXPOSURE_AUTO, "Exposure, Auto"), "auto_exposure");
        assert_eq!(stable_id(EXPOSURE_AUTO, "Auto Exposure"), "auto_exposure");
    }

    #[test]
    fn unknown_controls_are_named_like_v4l2_ctl_does() {
        assert_eq!(snake_case("LED1 Mode"), "led1_mode");
        assert_eq!(snake_case("  Exposure (Absolute) "), "exposure_absolute");
        assert_eq!(stable_id(0x0a04_6d01, "LED1 Frequency"), "led1_frequency");
        assert_eq!(stable_id(0x0a04_6d01, " ,"), "cid_0a046d01");
    }

    #[test]
    fn known_ids_are_unique() {
        let mut cids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for (cid, id, old) in KNOWN {
            assert!(cids.insert(*cid), "{cid:#x} twice");
            assert!(names.insert(*id), "{id} twice");
            for o in *old {
                assert!(names.insert(*o), "{o} twice");
            }
            assert_eq!(known_cid(id), Some(*cid));
            for o in *old {
                assert_eq!(known_cid(o), Some(*cid), "{o}");
            }
        }
    }
}
