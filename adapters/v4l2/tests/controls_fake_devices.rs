//! The controls adapter against fake nodes served through the kernel's FUSE ioctl path,
//! with control tables modelled on a C920, a C270, the Raspberry Pi camera's bcm2835-v4l2
//! driver and vivid. Each test skips (with a notice) where FUSE is unusable.

use std::path::PathBuf;
use std::time::Duration;

use cs_fakecam::{control_sets, devices, FakeCam};
use cs_v4l2::V4l2Controls;
use domain::controls::{cids, Control, ControlChange, ControlFlag, ControlType, MenuItem};
use nix::errno::Errno;
use ports::camera::CaptureSource;
use ports::controls::{CameraControls, ControlsError};

const CLOSE_LIMIT: Duration = Duration::from_secs(5);

fn bench(
    test: &str,
    controls: cs_fakecam::controls::FakeControls,
) -> Option<(FakeCam, CaptureSource)> {
    let bench = FakeCam::mount_or_skip(test, [("cam", devices::uvc_capture())])?;
    bench.set_controls("cam", controls);
    let source = CaptureSource::Device {
        path: bench.node("cam"),
    };
    Some((bench, source))
}

fn by_id<'a>(list: &'a [Control], id: &str) -> &'a Control {
    list.iter().find(|c| c.id == id).unwrap_or_else(|| {
        panic!(
            "no control {id}; got {:?}",
            list.iter().map(|c| &c.id).collect::<Vec<_>>()
        )
    })
}

fn change(c: &Control, value: i64) -> ControlChange {
    ControlChange {
        cid: c.cid,
        id: c.id.clone(),
        value,
        kind: c.kind,
    }
}

#[test]
fn c920_controls_come_with_ids_classes_menus_with_gaps_and_inactive_flags() {
    let Some((bench, source)) = bench("c920_controls", control_sets::c920()) else {
        return;
    };
    let list = V4l2Controls::new().list(&source).unwrap();
    assert!(
        bench.wait_all_closed(CLOSE_LIMIT),
        "the adapter left the node open"
    );
    // Class headers are not controls.
    assert!(
        list.iter().all(|c| !c.name.ends_with(" Controls")),
        "{list:?}"
    );
    assert_eq!(list.len(), 19);
    let ae = by_id(&list, "auto_exposure");
    assert_eq!(
        (ae.cid, ae.kind, ae.value, ae.class.as_str()),
        (cids::EXPOSURE_AUTO, ControlType::Menu, Some(3), "camera")
    );
    let indexes: Vec<i64> = ae.menu.iter().map(|m| m.index).collect();
    assert_eq!(indexes, [1, 3], "uvc's exposure menu has gaps");
    assert_eq!(ae.menu[0].name.as_deref(), Some("Manual Mode"));
    let exposure = by_id(&list, "exposure_time_absolute");
    assert!(exposure.has(ControlFlag::Inactive));
    assert_eq!(exposure.auto_control.as_deref(), Some("auto_exposure"));
    assert_eq!(
        (
            exposure.minimum,
            exposure.maximum,
            exposure.step,
            exposure.default
        ),
        (3, 2047, 1, 250)
    );
    let focus = by_id(&list, "focus_absolute");
    assert!(focus.has(ControlFlag::Inactive));
    assert_eq!(focus.step, 5);
    assert_eq!(by_id(&list, "pan_absolute").minimum, -36000);
    assert_eq!(by_id(&list, "brightness").class, "user");
    // Logitech's extension-unit control, named as the driver names it.
    assert_eq!(by_id(&list, "led1_mode").menu.len(), 4);
}

#[test]
fn c270_under_an_older_kernels_names_has_the_same_ids() {
    let Some((_bench, source)) = bench("c270_controls", control_sets::c270()) else {
        return;
    };
    let list = V4l2Controls::new().list(&source).unwrap();
    let ae = by_id(&list, "auto_exposure");
    assert_eq!(ae.name, "Exposure, Auto");
    assert_eq!(
        by_id(&list, "exposure_time_absolute").name,
        "Exposure (Absolute)"
    );
    assert_eq!(
        by_id(&list, "white_balance_automatic").name,
        "White Balance Temperature, Auto"
    );
    assert_eq!(by_id(&list, "white_balance_temperature").step, 10);
}

#[test]
fn bcm2835_integer_menus_give_their_values() {
    let Some((_bench, source)) = bench("bcm2835_controls", control_sets::bcm2835()) else {
        return;
    };
    let list = V4l2Controls::new().list(&source).unwrap();
    let iso = by_id(&list, "iso_sensitivity");
    assert_eq!(iso.kind, ControlType::IntegerMenu);
    let values: Vec<Option<i64>> = iso.menu.iter().map(|m| m.value).collect();
    assert_eq!(
        values,
        [Some(0), Some(100), Some(200), Some(400), Some(800)]
    );
    assert_eq!(iso.auto_control.as_deref(), Some("iso_sensitivity_auto"));
    assert_eq!(by_id(&list, "video_bitrate").class, "codec");
    assert_eq!(by_id(&list, "rotate").step, 90);
    let scene = by_id(&list, "scene_mode");
    assert_eq!(
        scene.menu.iter().map(|m| m.index).collect::<Vec<_>>(),
        [0, 8, 11]
    );
}

#[test]
fn vivid_types_disabled_read_only_volatile_button_bitmask_and_64_bit() {
    let Some((bench, source)) = bench("vivid_controls", control_sets::vivid()) else {
        return;
    };
    let adapter = V4l2Controls::new();
    let list = adapter.list(&source).unwrap();
    assert!(
        list.iter().all(|c| c.id != "contrast"),
        "a DISABLED control was listed"
    );
    assert!(
        list.iter().all(|c| c.id != "string"),
        "a string control was offered"
    );
    let button = by_id(&list, "button");
    assert_eq!((button.kind, button.value), (ControlType::Button, None));
    assert!(button.has(ControlFlag::WriteOnly));
    assert!(by_id(&list, "read_only_integer_32_bits").has(ControlFlag::ReadOnly));
    assert!(by_id(&list, "volatile_integer").has(ControlFlag::Volatile));
    let bitmask = by_id(&list, "bitmask");
    assert_eq!(
        (bitmask.kind, bitmask.value),
        (ControlType::Bitmask, Some(0x8000_0000))
    );
    let menu = by_id(&list, "integer_menu");
    assert_eq!(
        menu.menu,
        [
            (2, 0xffff_ffff_ffff_ffffu64 as i64),
            (3, 0x100),
            (4, 0x0fff_ffff)
        ]
        .iter()
        .map(|(i, v)| MenuItem {
            index: *i,
            name: None,
            value: Some(*v)
        })
        .collect::<Vec<_>>()
    );
    // 64-bit values go through the extended calls, both ways.
    let wide = by_id(&list, "integer_64_bits");
    assert_eq!((wide.kind, wide.value), (ControlType::Integer64, Some(0)));
    let big = (1i64 << 40) + 7;
    adapter
        .apply(&source, &[change(wide, big), change(button, 1)])
        .unwrap();
    assert_eq!(bench.control_value("cam", wide.cid), Some(big));
    let list = adapter.list(&source).unwrap();
    assert_eq!(by_id(&list, "integer_64_bits").value, Some(big));
    assert_eq!(bench.with_controls("cam", |c| c.writes), 2);
}

#[test]
fn values_written_are_what_the_device_then_has() {
    let Some((bench, source)) = bench("controls_write", control_sets::c920()) else {
        return;
    };
    let adapter = V4l2Controls::new();
    let list = adapter.list(&source).unwrap();
    let changes = [
        change(by_id(&list, "auto_exposure"), 1),
        change(by_id(&list, "exposure_time_absolute"), 600),
        change(by_id(&list, "power_line_frequency"), 1),
    ];
    adapter.apply(&source, &changes).unwrap();
    assert_eq!(
        bench.control_value("cam", cids::EXPOSURE_ABSOLUTE),
        Some(600)
    );
    let list = adapter.list(&source).unwrap();
    let exposure = by_id(&list, "exposure_time_absolute");
    assert_eq!(exposure.value, Some(600));
    assert!(
        !exposure.has(ControlFlag::Inactive),
        "manual exposure is active"
    );
    assert!(bench.wait_all_closed(CLOSE_LIMIT));
}

#[test]
fn a_driver_without_the_extended_query_is_enumerated_with_queryctrl() {
    let mut old = control_sets::c920();
    old.no_ext_query = true;
    let Some((_bench, source)) = bench("controls_fallback", old) else {
        return;
    };
    let list = V4l2Controls::new().list(&source).unwrap();
    let Some((_b2, source2)) = bench("controls_fallback_ref", control_sets::c920()) else {
        return;
    };
    let reference = V4l2Controls::new().list(&source2).unwrap();
    assert_eq!(list, reference);
}

#[test]
fn driver_errors_are_told_apart_and_stop_the_writes() {
    let Some((bench, source)) = bench("controls_errors", control_sets::c920()) else {
        return;
    };
    let adapter = V4l2Controls::new();
    let list = adapter.list(&source).unwrap();
    let brightness = by_id(&list, "brightness");
    let gain = by_id(&list, "gain");

    bench.with_controls("cam", |c| {
        c.failing_writes = vec![(Some(cids::GAIN), Errno::EBUSY)]
    });
    let err = adapter
        .apply(&source, &[change(brightness, 10), change(gain, 5)])
        .unwrap_err();
    assert_eq!((err.applied, err.control.as_str()), (1, "gain"));
    assert!(matches!(err.error, ControlsError::Busy(_)), "{err}");
    assert_eq!(bench.control_value("cam", cids::BRIGHTNESS), Some(10));

    bench.with_controls("cam", |c| c.failing_writes = vec![(None, Errno::ERANGE)]);
    let err = adapter
        .apply(&source, &[change(brightness, 11)])
        .unwrap_err();
    assert!(matches!(err.error, ControlsError::OutOfRange(_)), "{err}");

    // uvc refuses a manual exposure while auto exposure is on.
    bench.with_controls("cam", |c| c.failing_writes.clear());
    let err = adapter
        .apply(
            &source,
            &[change(by_id(&list, "exposure_time_absolute"), 100)],
        )
        .unwrap_err();
    assert!(matches!(err.error, ControlsError::Refused(_)), "{err}");
    assert_eq!(
        bench.control_value("cam", cids::EXPOSURE_ABSOLUTE),
        Some(250)
    );
}

#[test]
fn a_node_without_controls_has_none_and_a_missing_node_is_gone() {
    let Some(bench) = FakeCam::mount_or_skip("controls_none", [("cam", devices::uvc_capture())])
    else {
        return;
    };
    let source = CaptureSource::Device {
        path: bench.node("cam"),
    };
    assert_eq!(
        V4l2Controls::new().list(&source).unwrap(),
        Vec::<Control>::new()
    );
    let gone = CaptureSource::Device {
        path: PathBuf::from("/nonexistent/video9"),
    };
    assert!(matches!(
        V4l2Controls::new().list(&gone),
        Err(ControlsError::Gone(_))
    ));
    assert_eq!(V4l2Controls::new().serial(&source), None);
}
