//! The ioctl probe against fake nodes served through the kernel's FUSE ioctl path.
//! Each test skips (with a notice) where FUSE is unusable.

use std::time::Duration;

use cs_fakecam::{devices, FakeCam, FakeDevice, Ioctl};
use cs_v4l2::V4l2Probe;
use domain::capabilities::{
    CurrentMode, DeviceDescription, DiscreteSize, FourCc, FrameSize, PixelFormat, SizeRange,
    SizeRangeKind,
};
use nix::errno::Errno;
use ports::probe::{DeviceProbe, ProbeError, ProbeOutcome};

fn sized(width: u32, height: u32, frame_rates: &[f64]) -> FrameSize {
    FrameSize::Discrete(DiscreteSize {
        width,
        height,
        frame_rates: frame_rates.to_vec(),
    })
}

fn format(code: &str, description: &str, sizes: Vec<FrameSize>) -> PixelFormat {
    PixelFormat {
        pixel_format: FourCc::parse(code).unwrap(),
        description: description.into(),
        sizes,
    }
}

fn current(code: &str, width: u32, height: u32, fps: Option<f64>) -> Option<CurrentMode> {
    Some(CurrentMode {
        pixel_format: FourCc::parse(code).unwrap(),
        width,
        height,
        fps,
    })
}

/// How long the kernel may take to pass a close on to the bench (it is asynchronous).
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// Mounts `device` alone and probes it.
fn probe_one(test: &str, device: FakeDevice) -> Option<Result<ProbeOutcome, ProbeError>> {
    let bench = FakeCam::mount_or_skip(test, [("node", device)])?;
    let outcome = V4l2Probe::default().probe(&bench.node("node"));
    assert!(
        bench.wait_all_closed(CLOSE_LIMIT),
        "the probe left the node open"
    );
    Some(outcome)
}

fn described(outcome: Result<ProbeOutcome, ProbeError>) -> DeviceDescription {
    match outcome {
        Ok(ProbeOutcome::Capture(d)) => d,
        other => panic!("expected a capture device, got {other:?}"),
    }
}

#[test]
fn uvc_capture_node_is_described_exactly() {
    let Some(outcome) = probe_one(
        "uvc_capture_node_is_described_exactly",
        devices::uvc_capture(),
    ) else {
        return;
    };
    let expected = DeviceDescription {
        driver: "uvcvideo".into(),
        card: "HD Pro Webcam C920".into(),
        bus_info: "usb-0000:00:14.0-1".into(),
        formats: vec![
            format(
                "YUYV",
                "YUYV 4:2:2",
                vec![
                    sized(640, 480, &[30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0]),
                    sized(1280, 720, &[10.0, 7.5, 5.0]),
                    sized(1920, 1080, &[7.5, 5.0]),
                ],
            ),
            format(
                "MJPG",
                "Motion-JPEG",
                vec![
                    sized(640, 480, &[30.0, 15.0]),
                    sized(1280, 720, &[30.0, 15.0]),
                    sized(1920, 1080, &[30.0, 24.0, 15.0]),
                ],
            ),
        ],
        current: current("MJPG", 1920, 1080, Some(30.0)),
    };
    assert_eq!(described(outcome), expected);
}

#[test]
fn uvc_metadata_node_is_not_a_camera() {
    let Some(outcome) = probe_one("uvc_metadata_node_is_not_a_camera", devices::uvc_metadata())
    else {
        return;
    };
    assert_eq!(outcome, Ok(ProbeOutcome::NotCapture));
}

#[test]
fn memory_to_memory_codec_is_not_a_camera() {
    let Some(outcome) = probe_one(
        "memory_to_memory_codec_is_not_a_camera",
        devices::m2m_codec(),
    ) else {
        return;
    };
    assert_eq!(outcome, Ok(ProbeOutcome::NotCapture));
}

#[test]
fn multiplanar_capture_node_is_described_exactly() {
    let Some(outcome) = probe_one(
        "multiplanar_capture_node_is_described_exactly",
        devices::multiplanar(),
    ) else {
        return;
    };
    let sizes = || {
        vec![
            sized(1920, 1080, &[60.0, 30.0, 29.97]),
            sized(1280, 720, &[60.0, 30.0]),
        ]
    };
    let expected = DeviceDescription {
        driver: "rkisp1".into(),
        card: "rkisp1".into(),
        bus_info: "platform:rkisp1".into(),
        formats: vec![
            format("NV12", "Y/UV 4:2:0", sizes()),
            format("NV16", "Y/UV 4:2:2", sizes()),
        ],
        current: current("NV12", 1920, 1080, Some(60.0)),
    };
    assert_eq!(described(outcome), expected);
}

#[test]
fn size_ranges_report_rates_at_their_maximum_size() {
    let Some(outcome) = probe_one(
        "size_ranges_report_rates_at_their_maximum_size",
        devices::stepwise(),
    ) else {
        return;
    };
    let expected = DeviceDescription {
        driver: "vivid".into(),
        card: "Stepwise Cam".into(),
        bus_info: "platform:vivid-000".into(),
        formats: vec![
            format(
                "YUYV",
                "YUYV 4:2:2",
                vec![FrameSize::Range(SizeRange {
                    kind: SizeRangeKind::Stepwise,
                    min_width: 160,
                    max_width: 1920,
                    step_width: 16,
                    min_height: 120,
                    max_height: 1080,
                    step_height: 8,
                    frame_rates: vec![1.0, 60.0],
                })],
            ),
            format(
                "RGB3",
                "24-bit RGB 8-8-8",
                vec![FrameSize::Range(SizeRange {
                    kind: SizeRangeKind::Continuous,
                    min_width: 1,
                    max_width: 4096,
                    step_width: 1,
                    min_height: 1,
                    max_height: 2160,
                    step_height: 1,
                    frame_rates: vec![7.5, 30.0],
                })],
            ),
        ],
        current: current("YUYV", 1280, 720, Some(25.0)),
    };
    assert_eq!(described(outcome), expected);
}

#[test]
fn refused_optional_ioctls_leave_rates_unknown() {
    let Some(outcome) = probe_one(
        "refused_optional_ioctls_leave_rates_unknown",
        devices::flaky(),
    ) else {
        return;
    };
    let expected = DeviceDescription {
        driver: "gspca_zc3xx".into(),
        card: "USB Camera (046d:08d9)".into(),
        bus_info: "usb-0000:00:14.0-2".into(),
        formats: vec![format(
            "JPEG",
            "JFIF JPEG",
            vec![sized(640, 480, &[]), sized(320, 240, &[])],
        )],
        current: current("JPEG", 640, 480, None),
    };
    assert_eq!(described(outcome), expected);
}

#[test]
fn a_node_that_is_not_v4l2_fails_with_a_reason() {
    let Some(outcome) = probe_one(
        "a_node_that_is_not_v4l2_fails_with_a_reason",
        devices::not_v4l2(),
    ) else {
        return;
    };
    match outcome {
        Err(ProbeError::Failed(reason)) => assert!(reason.contains("VIDIOC_QUERYCAP"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn every_ready_made_device_matches_its_expected_description() {
    let all = [
        ("uvc", devices::uvc_capture()),
        ("meta", devices::uvc_metadata()),
        ("mplane", devices::multiplanar()),
        ("stepwise", devices::stepwise()),
        ("flaky", devices::flaky()),
        ("m2m", devices::m2m_codec()),
    ];
    let Some(bench) = FakeCam::mount_or_skip(
        "every_ready_made_device_matches_its_expected_description",
        all.clone(),
    ) else {
        return;
    };
    for (name, device) in all {
        let got = V4l2Probe::default().probe(&bench.node(name));
        let want = match device.expected_description() {
            Some(d) => Ok(ProbeOutcome::Capture(d)),
            None => Ok(ProbeOutcome::NotCapture),
        };
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_read_only_node_is_probed_through_a_read_only_open() {
    let Some(bench) = FakeCam::mount_or_skip(
        "a_read_only_node_is_probed_through_a_read_only_open",
        [("node", devices::uvc_capture())],
    ) else {
        return;
    };
    bench.set_read_only("node", true);
    let outcome = V4l2Probe::default().probe(&bench.node("node"));
    assert_eq!(
        outcome,
        Ok(ProbeOutcome::Capture(
            devices::uvc_capture().expected_description().unwrap()
        ))
    );
    assert_eq!(
        bench.stats("node").denied_opens,
        1,
        "the read-write open was tried first"
    );
}

#[test]
fn a_node_that_refuses_opens_is_denied_not_failed() {
    let Some(bench) = FakeCam::mount_or_skip(
        "a_node_that_refuses_opens_is_denied_not_failed",
        [("node", devices::uvc_capture())],
    ) else {
        return;
    };
    bench.set_denied("node", true);
    let outcome = V4l2Probe::default().probe(&bench.node("node"));
    assert!(matches!(outcome, Err(ProbeError::Denied(_))), "{outcome:?}");
}

#[test]
fn a_flaky_enumeration_is_retried_and_a_persistent_failure_is_named_as_missing() {
    let Some(bench) = FakeCam::mount_or_skip(
        "a_flaky_enumeration_is_retried_and_a_persistent_failure_is_named_as_missing",
        [("cam", devices::uvc_capture())],
    ) else {
        return;
    };
    let whole = devices::uvc_capture().expected_description().unwrap();
    // Two EIO in a row: within the probe's own retries, the answer is whole.
    bench.fail_ioctl("cam", Ioctl::EnumFrameIntervals, Errno::EIO, Some(2));
    let got = V4l2Probe::default().probe(&bench.node("cam"));
    assert_eq!(got, Ok(ProbeOutcome::Capture(whole.clone())));

    // EIO every time: the camera is described without those rates, and says what is missing.
    bench.fail_ioctl("cam", Ioctl::EnumFrameIntervals, Errno::EIO, None);
    match V4l2Probe::default().probe(&bench.node("cam")) {
        Ok(ProbeOutcome::Incomplete {
            description,
            missing,
        }) => {
            assert_eq!(description.card, whole.card);
            assert_eq!(missing.len(), 6, "one per size: {missing:?}");
            assert!(
                missing[0].contains("YUYV 640x480 frame rates")
                    && missing[0].contains("VIDIOC_ENUM_FRAMEINTERVALS"),
                "{missing:?}"
            );
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
    // The driver lacking the ioctl (ENOTTY) is an answer, not a failure.
    bench.fail_ioctl("cam", Ioctl::EnumFrameIntervals, Errno::ENOTTY, None);
    assert!(matches!(
        V4l2Probe::default().probe(&bench.node("cam")),
        Ok(ProbeOutcome::Capture(_))
    ));
}
