//! Control tables modelled on what real drivers list (`v4l2-ctl --list-ctrls-menus` as
//! published for these devices): a Logitech C920 and C270 (uvcvideo), the Raspberry Pi
//! camera's legacy driver (bcm2835-v4l2, MMAL) and vivid (the kernel's test driver, for
//! the control types webcams lack).

use crate::controls::*;

const USER: u32 = 0x0098_0900;
const CAMERA: u32 = 0x009a_0900;
const CODEC: u32 = 0x0099_0900;

fn class(cid: u32, name: &str) -> FakeControl {
    FakeControl {
        cid,
        type_: TYPE_CTRL_CLASS,
        name: name.into(),
        minimum: 0,
        maximum: 0,
        step: 0,
        default: 0,
        flags: FLAG_READ_ONLY | FLAG_WRITE_ONLY,
        menu: Vec::new(),
        value: 0,
    }
}

fn int(cid: u32, name: &str, min: i64, max: i64, step: u64, default: i64) -> FakeControl {
    FakeControl {
        cid,
        type_: TYPE_INTEGER,
        name: name.into(),
        minimum: min,
        maximum: max,
        step,
        default,
        flags: 0,
        menu: Vec::new(),
        value: default,
    }
}

fn boolean(cid: u32, name: &str, default: i64) -> FakeControl {
    FakeControl {
        type_: TYPE_BOOLEAN,
        ..int(cid, name, 0, 1, 1, default)
    }
}

fn menu(
    cid: u32,
    name: &str,
    min: i64,
    max: i64,
    default: i64,
    items: &[(u32, &str)],
) -> FakeControl {
    FakeControl {
        type_: TYPE_MENU,
        menu: items
            .iter()
            .map(|(i, n)| (*i, FakeMenuEntry::Name((*n).into())))
            .collect(),
        ..int(cid, name, min, max, 1, default)
    }
}

fn link(auto: u32, manual: u32, manual_values: &[i64]) -> FakeLink {
    FakeLink {
        auto,
        manual,
        manual_values: manual_values.to_vec(),
    }
}

/// uvc's exposure menu: only manual and aperture priority are offered (a gap at 0 and 2).
fn uvc_exposure_menu(name: &str) -> FakeControl {
    menu(
        CAMERA + 1,
        name,
        0,
        3,
        3,
        &[(1, "Manual Mode"), (3, "Aperture Priority Mode")],
    )
}

/// HD Pro Webcam C920 on a current kernel (uvcvideo), incl. Logitech's LED extension units.
pub fn c920() -> FakeControls {
    FakeControls {
        controls: vec![
            class(0x0098_0001, "User Controls"),
            int(USER, "Brightness", 0, 255, 1, 128),
            int(USER + 1, "Contrast", 0, 255, 1, 128),
            int(USER + 2, "Saturation", 0, 255, 1, 128),
            boolean(USER + 12, "White Balance, Automatic", 1),
            int(USER + 19, "Gain", 0, 255, 1, 0),
            menu(
                USER + 24,
                "Power Line Frequency",
                0,
                2,
                2,
                &[(0, "Disabled"), (1, "50 Hz"), (2, "60 Hz")],
            ),
            int(USER + 26, "White Balance Temperature", 2000, 6500, 1, 4000),
            int(USER + 27, "Sharpness", 0, 255, 1, 128),
            int(USER + 28, "Backlight Compensation", 0, 1, 1, 0),
            class(0x009a_0001, "Camera Controls"),
            uvc_exposure_menu("Auto Exposure"),
            int(CAMERA + 2, "Exposure Time, Absolute", 3, 2047, 1, 250),
            boolean(CAMERA + 3, "Exposure, Dynamic Framerate", 0),
            int(CAMERA + 8, "Pan, Absolute", -36000, 36000, 3600, 0),
            int(CAMERA + 9, "Tilt, Absolute", -36000, 36000, 3600, 0),
            int(CAMERA + 10, "Focus, Absolute", 0, 250, 5, 0),
            boolean(CAMERA + 12, "Focus, Automatic Continuous", 1),
            int(CAMERA + 13, "Zoom, Absolute", 100, 500, 1, 100),
            menu(
                0x0a04_6d05,
                "LED1 Mode",
                0,
                3,
                3,
                &[(0, "Off"), (1, "On"), (2, "Blink"), (3, "Auto")],
            ),
            int(0x0a04_6d06, "LED1 Frequency", 0, 255, 1, 0),
        ],
        links: vec![
            link(USER + 12, USER + 26, &[0]),
            link(CAMERA + 1, CAMERA + 2, &[1, 2]),
            link(CAMERA + 12, CAMERA + 10, &[0]),
        ],
        no_ext_query: false,
        refuse_inactive: true,
        failing_writes: Vec::new(),
        writes: 0,
    }
}

/// Webcam C270 as an older kernel names its controls ("Exposure, Auto", "White Balance
/// Temperature, Auto"): the same CIDs under the names kernels used before 5.x.
pub fn c270() -> FakeControls {
    FakeControls {
        controls: vec![
            class(0x0098_0001, "User Controls"),
            int(USER, "Brightness", 0, 255, 1, 128),
            int(USER + 1, "Contrast", 0, 255, 1, 32),
            int(USER + 2, "Saturation", 0, 255, 1, 32),
            boolean(USER + 12, "White Balance Temperature, Auto", 1),
            int(USER + 19, "Gain", 0, 255, 1, 64),
            menu(
                USER + 24,
                "Power Line Frequency",
                0,
                2,
                2,
                &[(0, "Disabled"), (1, "50 Hz"), (2, "60 Hz")],
            ),
            int(USER + 26, "White Balance Temperature", 0, 10000, 10, 4000),
            int(USER + 27, "Sharpness", 0, 255, 1, 24),
            int(USER + 28, "Backlight Compensation", 0, 1, 1, 1),
            class(0x009a_0001, "Camera Controls"),
            uvc_exposure_menu("Exposure, Auto"),
            int(CAMERA + 2, "Exposure (Absolute)", 1, 10000, 1, 166),
            boolean(CAMERA + 3, "Exposure, Auto Priority", 0),
        ],
        links: vec![
            link(USER + 12, USER + 26, &[0]),
            link(CAMERA + 1, CAMERA + 2, &[1, 2]),
        ],
        no_ext_query: false,
        refuse_inactive: true,
        failing_writes: Vec::new(),
        writes: 0,
    }
}

/// The Raspberry Pi camera's legacy driver (bcm2835-v4l2 on MMAL): an integer menu for
/// ISO, white balance presets, codec controls; the control framework takes writes to
/// inactive controls (they apply later).
pub fn bcm2835() -> FakeControls {
    let iso = FakeControl {
        type_: TYPE_INTEGER_MENU,
        menu: [0i64, 100, 200, 400, 800]
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u32, FakeMenuEntry::Value(*v)))
            .collect(),
        ..int(CAMERA + 23, "ISO Sensitivity", 0, 4, 1, 0)
    };
    FakeControls {
        controls: vec![
            class(0x0098_0001, "User Controls"),
            int(USER, "Brightness", 0, 100, 1, 50),
            int(USER + 1, "Contrast", -100, 100, 1, 0),
            int(USER + 2, "Saturation", -100, 100, 1, 0),
            int(USER + 14, "Red Balance", 1, 7999, 1, 1000),
            int(USER + 15, "Blue Balance", 1, 7999, 1, 1000),
            boolean(USER + 20, "Horizontal Flip", 0),
            boolean(USER + 21, "Vertical Flip", 0),
            menu(
                USER + 24,
                "Power Line Frequency",
                0,
                3,
                1,
                &[(0, "Disabled"), (1, "50 Hz"), (2, "60 Hz"), (3, "Auto")],
            ),
            int(USER + 27, "Sharpness", -100, 100, 1, 0),
            menu(
                USER + 31,
                "Color Effects",
                0,
                15,
                0,
                &[
                    (0, "None"),
                    (1, "Black & White"),
                    (2, "Sepia"),
                    (3, "Negative"),
                    (4, "Emboss"),
                    (5, "Sketch"),
                    (6, "Sky Blue"),
                    (7, "Grass Green"),
                    (8, "Skin Whiten"),
                    (9, "Vivid"),
                    (10, "Aqua"),
                    (11, "Art Freeze"),
                    (12, "Silhouette"),
                    (13, "Solarization"),
                    (14, "Antique"),
                    (15, "Set Cb/Cr"),
                ],
            ),
            int(USER + 34, "Rotate", 0, 360, 90, 0),
            class(0x0099_0001, "Codec Controls"),
            menu(
                CODEC + 206,
                "Video Bitrate Mode",
                0,
                1,
                0,
                &[(0, "Variable Bitrate"), (1, "Constant Bitrate")],
            ),
            int(
                CODEC + 207,
                "Video Bitrate",
                25000,
                25_000_000,
                25000,
                10_000_000,
            ),
            class(0x009a_0001, "Camera Controls"),
            menu(
                CAMERA + 1,
                "Auto Exposure",
                0,
                3,
                0,
                &[
                    (0, "Auto Mode"),
                    (1, "Manual Mode"),
                    (3, "Aperture Priority Mode"),
                ],
            ),
            int(CAMERA + 2, "Exposure Time, Absolute", 1, 10000, 1, 1000),
            boolean(CAMERA + 3, "Exposure, Dynamic Framerate", 0),
            FakeControl {
                type_: TYPE_INTEGER_MENU,
                menu: (-24i64..=24)
                    .enumerate()
                    .map(|(i, v)| (i as u32, FakeMenuEntry::Value(v * 1000 / 6)))
                    .collect(),
                ..int(CAMERA + 19, "Auto Exposure, Bias", 0, 48, 1, 24)
            },
            menu(
                CAMERA + 20,
                "White Balance, Auto & Preset",
                0,
                10,
                1,
                &[
                    (0, "Manual"),
                    (1, "Auto"),
                    (2, "Incandescent"),
                    (3, "Fluorescent"),
                    (4, "Fluorescent H"),
                    (5, "Horizon"),
                    (6, "Daylight"),
                    (7, "Flash"),
                    (8, "Cloudy"),
                    (9, "Shade"),
                    (10, "Greyworld"),
                ],
            ),
            boolean(CAMERA + 22, "Image Stabilization", 0),
            iso,
            menu(
                CAMERA + 24,
                "ISO Sensitivity, Auto",
                0,
                1,
                1,
                &[(0, "Manual"), (1, "Auto")],
            ),
            menu(
                CAMERA + 25,
                "Exposure, Metering Mode",
                0,
                3,
                0,
                &[
                    (0, "Average"),
                    (1, "Center Weighted"),
                    (2, "Spot"),
                    (3, "Matrix"),
                ],
            ),
            menu(
                CAMERA + 26,
                "Scene Mode",
                0,
                13,
                0,
                &[(0, "None"), (8, "Night"), (11, "Sports")],
            ),
        ],
        links: vec![
            link(CAMERA + 1, CAMERA + 2, &[1, 2]),
            link(CAMERA + 24, CAMERA + 23, &[0]),
        ],
        no_ext_query: false,
        refuse_inactive: false,
        failing_writes: Vec::new(),
        writes: 0,
    }
}

/// vivid's test controls: every type a client may meet, a disabled control (never listed),
/// a read-only one, a volatile one, a write-only button, a 64-bit integer, a bitmask and a
/// string (not offered).
pub fn vivid() -> FakeControls {
    let private = 0x0098_f900; // V4L2_CID_USER_BASE + 0xf000 (vivid's own)
    FakeControls {
        controls: vec![
            class(0x0098_0001, "User Controls"),
            int(USER, "Brightness", 0, 255, 1, 128),
            FakeControl {
                flags: FLAG_DISABLED,
                ..int(USER + 1, "Contrast", 0, 255, 1, 128)
            },
            FakeControl {
                type_: TYPE_BUTTON,
                flags: FLAG_WRITE_ONLY,
                ..int(private, "Button", 0, 0, 0, 0)
            },
            boolean(private + 1, "Boolean", 1),
            int(
                private + 2,
                "Integer 32 Bits",
                -2_147_483_648,
                2_147_483_647,
                1,
                0,
            ),
            FakeControl {
                type_: TYPE_INTEGER64,
                ..int(private + 3, "Integer 64 Bits", i64::MIN, i64::MAX, 1, 0)
            },
            FakeControl {
                type_: TYPE_STRING,
                ..int(private + 5, "String", 2, 4, 1, 0)
            },
            FakeControl {
                type_: TYPE_BITMASK,
                ..int(private + 6, "Bitmask", 0, 0x8000_250f, 0, 0x8000_0000)
            },
            FakeControl {
                type_: TYPE_INTEGER_MENU,
                menu: [1i64, 0, -1, 0x100, 0x0fff_ffff]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 1) // vivid skips entry 1
                    .map(|(i, v)| (i as u32, FakeMenuEntry::Value(*v)))
                    .collect(),
                ..int(private + 7, "Integer Menu", 1, 4, 1, 2)
            },
            FakeControl {
                flags: FLAG_READ_ONLY,
                ..int(private + 8, "Read-Only Integer 32 Bits", 0, 255, 1, 0)
            },
            FakeControl {
                flags: FLAG_VOLATILE,
                ..int(private + 9, "Volatile Integer", 0, 1000, 1, 500)
            },
        ],
        links: Vec::new(),
        no_ext_query: false,
        refuse_inactive: false,
        failing_writes: Vec::new(),
        writes: 0,
    }
}
