//! Ready-made fake devices, modelled on what real drivers answer.

use std::time::Duration;

use nix::errno::Errno;

use crate::device::*;
use crate::wire::*;

fn discrete(width: u32, height: u32, intervals: &[Interval]) -> FakeSize {
    FakeSize {
        width,
        height,
        intervals: FakeIntervals::Discrete(intervals.to_vec()),
    }
}

fn format(buf_type: u32, fourcc: &[u8; 4], description: &str, sizes: FakeSizes) -> FakeFormat {
    FakeFormat {
        buf_type,
        fourcc: *fourcc,
        description: description.to_owned(),
        sizes,
    }
}

const UVC_CARD: &str = "HD Pro Webcam C920";
const UVC_BUS: &str = "usb-0000:00:14.0-1";
/// A UVC webcam's physical capabilities: video capture on one node, metadata on the other.
const UVC_CAPS: u32 =
    CAP_VIDEO_CAPTURE | CAP_META_CAPTURE | CAP_STREAMING | CAP_EXT_PIX_FORMAT | CAP_DEVICE_CAPS;

/// The video capture node of a UVC webcam (`/dev/video0` of the pair): YUYV and MJPG at
/// three discrete sizes each, currently MJPG 1920x1080 at 30 fps.
pub fn uvc_capture() -> FakeDevice {
    FakeDevice {
        driver: "uvcvideo".into(),
        card: UVC_CARD.into(),
        bus_info: UVC_BUS.into(),
        version: 0x0006_0c00,
        capabilities: UVC_CAPS,
        device_caps: CAP_VIDEO_CAPTURE | CAP_STREAMING | CAP_EXT_PIX_FORMAT,
        formats: vec![
            format(
                BUF_TYPE_VIDEO_CAPTURE,
                b"YUYV",
                "YUYV 4:2:2",
                FakeSizes::Discrete(vec![
                    discrete(
                        640,
                        480,
                        &[(1, 30), (1, 24), (1, 20), (1, 15), (1, 10), (2, 15), (1, 5)],
                    ),
                    discrete(1280, 720, &[(1, 10), (2, 15), (1, 5)]),
                    discrete(1920, 1080, &[(2, 15), (1, 5)]),
                ]),
            ),
            format(
                BUF_TYPE_VIDEO_CAPTURE,
                b"MJPG",
                "Motion-JPEG",
                FakeSizes::Discrete(vec![
                    discrete(640, 480, &[(1, 30), (1, 15)]),
                    discrete(1280, 720, &[(1, 30), (1, 15)]),
                    discrete(1920, 1080, &[(1, 30), (1, 24), (1, 15)]),
                ]),
            ),
        ],
        current: Some(FakeCurrent {
            buf_type: BUF_TYPE_VIDEO_CAPTURE,
            fourcc: *b"MJPG",
            width: 1920,
            height: 1080,
            interval: (1, 30),
        }),
        failing: Vec::new(),
        ioctl_delay: Duration::ZERO,
    }
}

/// The metadata node of the same webcam (`/dev/video1` of the pair): not a camera.
pub fn uvc_metadata() -> FakeDevice {
    FakeDevice {
        device_caps: CAP_META_CAPTURE | CAP_STREAMING | CAP_EXT_PIX_FORMAT,
        formats: vec![format(
            BUF_TYPE_META_CAPTURE,
            b"UVCH",
            "UVC Payload Header Metadata",
            FakeSizes::Discrete(Vec::new()),
        )],
        current: None,
        ..uvc_capture()
    }
}

/// The UVC pair a webcam shows up as: (capture node, metadata node).
pub fn uvc_pair() -> (FakeDevice, FakeDevice) {
    (uvc_capture(), uvc_metadata())
}

/// A multi-planar capture node (an SoC camera interface): NV12 and NV16, currently NV12
/// 1920x1080 at 60 fps, with an NTSC-style 1001/30000 interval on offer.
pub fn multiplanar() -> FakeDevice {
    let sizes = || {
        FakeSizes::Discrete(vec![
            discrete(1920, 1080, &[(1, 60), (1, 30), (1001, 30000)]),
            discrete(1280, 720, &[(1, 60), (1, 30)]),
        ])
    };
    FakeDevice {
        driver: "rkisp1".into(),
        card: "rkisp1".into(),
        bus_info: "platform:rkisp1".into(),
        version: 0x0006_0c00,
        capabilities: CAP_VIDEO_CAPTURE_MPLANE | CAP_STREAMING | CAP_IO_MC | CAP_DEVICE_CAPS,
        device_caps: CAP_VIDEO_CAPTURE_MPLANE | CAP_STREAMING | CAP_IO_MC,
        formats: vec![
            format(
                BUF_TYPE_VIDEO_CAPTURE_MPLANE,
                b"NV12",
                "Y/UV 4:2:0",
                sizes(),
            ),
            format(
                BUF_TYPE_VIDEO_CAPTURE_MPLANE,
                b"NV16",
                "Y/UV 4:2:2",
                sizes(),
            ),
        ],
        current: Some(FakeCurrent {
            buf_type: BUF_TYPE_VIDEO_CAPTURE_MPLANE,
            fourcc: *b"NV12",
            width: 1920,
            height: 1080,
            interval: (1, 60),
        }),
        failing: Vec::new(),
        ioctl_delay: Duration::ZERO,
    }
}

/// A node whose sizes are ranges: YUYV stepwise 160x120..1920x1080 (steps 16x8) at
/// continuous intervals 1/60..1/1, and RGB3 continuous sizes at stepwise intervals.
/// Old drivers without `device_caps`: only `capabilities` is set.
pub fn stepwise() -> FakeDevice {
    FakeDevice {
        driver: "vivid".into(),
        card: "Stepwise Cam".into(),
        bus_info: "platform:vivid-000".into(),
        version: 0x0006_0c00,
        capabilities: CAP_VIDEO_CAPTURE | CAP_STREAMING,
        device_caps: 0,
        formats: vec![
            format(
                BUF_TYPE_VIDEO_CAPTURE,
                b"YUYV",
                "YUYV 4:2:2",
                FakeSizes::Range(FakeRange {
                    continuous: false,
                    min_width: 160,
                    max_width: 1920,
                    step_width: 16,
                    min_height: 120,
                    max_height: 1080,
                    step_height: 8,
                    intervals: FakeIntervals::Continuous {
                        min: (1, 60),
                        max: (1, 1),
                    },
                }),
            ),
            format(
                BUF_TYPE_VIDEO_CAPTURE,
                b"RGB3",
                "24-bit RGB 8-8-8",
                FakeSizes::Range(FakeRange {
                    continuous: true,
                    min_width: 1,
                    max_width: 4096,
                    step_width: 1,
                    min_height: 1,
                    max_height: 2160,
                    step_height: 1,
                    intervals: FakeIntervals::Stepwise {
                        min: (1, 30),
                        max: (2, 15),
                        step: (1, 30),
                    },
                }),
            ),
        ],
        current: Some(FakeCurrent {
            buf_type: BUF_TYPE_VIDEO_CAPTURE,
            fourcc: *b"YUYV",
            width: 1280,
            height: 720,
            interval: (1, 25),
        }),
        failing: Vec::new(),
        ioctl_delay: Duration::ZERO,
    }
}

/// A capture node that cannot say everything: `G_PARM` is EINVAL (no current rate) and
/// `ENUM_FRAMEINTERVALS` is ENOTTY (no rates at all).
pub fn flaky() -> FakeDevice {
    FakeDevice {
        driver: "gspca_zc3xx".into(),
        card: "USB Camera (046d:08d9)".into(),
        bus_info: "usb-0000:00:14.0-2".into(),
        version: 0x0006_0c00,
        capabilities: CAP_VIDEO_CAPTURE | CAP_STREAMING | CAP_EXT_PIX_FORMAT | CAP_DEVICE_CAPS,
        device_caps: CAP_VIDEO_CAPTURE | CAP_STREAMING | CAP_EXT_PIX_FORMAT,
        formats: vec![format(
            BUF_TYPE_VIDEO_CAPTURE,
            b"JPEG",
            "JFIF JPEG",
            FakeSizes::Discrete(vec![
                discrete(640, 480, &[(1, 30)]),
                discrete(320, 240, &[(1, 30)]),
            ]),
        )],
        current: Some(FakeCurrent {
            buf_type: BUF_TYPE_VIDEO_CAPTURE,
            fourcc: *b"JPEG",
            width: 640,
            height: 480,
            interval: (1, 30),
        }),
        failing: vec![
            (Ioctl::GParm, Errno::EINVAL),
            (Ioctl::EnumFrameIntervals, Errno::ENOTTY),
        ],
        ioctl_delay: Duration::ZERO,
    }
}

/// A node that is not a V4L2 device at all: every ioctl is ENOTTY.
pub fn not_v4l2() -> FakeDevice {
    FakeDevice {
        failing: vec![
            (Ioctl::QueryCap, Errno::ENOTTY),
            (Ioctl::EnumFmt, Errno::ENOTTY),
            (Ioctl::EnumFrameSizes, Errno::ENOTTY),
            (Ioctl::EnumFrameIntervals, Errno::ENOTTY),
            (Ioctl::GFmt, Errno::ENOTTY),
            (Ioctl::GParm, Errno::ENOTTY),
        ],
        ..flaky()
    }
}

/// A memory-to-memory codec node (as on a Raspberry Pi): has capture formats but is no camera.
pub fn m2m_codec() -> FakeDevice {
    FakeDevice {
        driver: "bcm2835-codec".into(),
        card: "bcm2835-codec-decode".into(),
        bus_info: "platform:bcm2835-codec".into(),
        capabilities: CAP_VIDEO_M2M_MPLANE | CAP_STREAMING | CAP_DEVICE_CAPS,
        device_caps: CAP_VIDEO_M2M_MPLANE | CAP_STREAMING,
        ..multiplanar()
    }
}
