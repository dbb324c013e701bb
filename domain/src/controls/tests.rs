use proptest::prelude::*;

use super::memory::*;
use super::*;

#[allow(clippy::too_many_arguments)] // one row of a control table
fn ctl(
    cid: u32,
    name: &str,
    kind: ControlType,
    min: i64,
    max: i64,
    step: u64,
    default: i64,
    value: i64,
) -> Control {
    Control {
        id: cids::stable_id(cid, name),
        cid,
        name: name.into(),
        class: cids::class_name(cids::class_of(cid)).into(),
        kind,
        minimum: min,
        maximum: max,
        step,
        default,
        value: Some(value),
        menu: Vec::new(),
        flags: Vec::new(),
        auto_control: None,
    }
}

fn menu(c: Control, items: &[(i64, &str)]) -> Control {
    Control {
        menu: items
            .iter()
            .map(|(i, n)| MenuItem {
                index: *i,
                name: Some((*n).into()),
                value: None,
            })
            .collect(),
        ..c
    }
}

/// A C920-like camera: aperture-priority auto exposure (menu with gaps), autofocus on.
fn webcam() -> Vec<Control> {
    use ControlType::*;
    let mut v = vec![
        ctl(cids::BRIGHTNESS, "Brightness", Integer, 0, 255, 1, 128, 128),
        ctl(cids::SHARPNESS, "Sharpness", Integer, 0, 255, 1, 128, 128),
        menu(
            ctl(
                cids::POWER_LINE_FREQUENCY,
                "Power Line Frequency",
                Menu,
                0,
                2,
                1,
                2,
                2,
            ),
            &[(0, "Disabled"), (1, "50 Hz"), (2, "60 Hz")],
        ),
        menu(
            ctl(cids::EXPOSURE_AUTO, "Auto Exposure", Menu, 0, 3, 1, 3, 3),
            &[(1, "Manual Mode"), (3, "Aperture Priority Mode")],
        ),
        ctl(
            cids::EXPOSURE_ABSOLUTE,
            "Exposure Time, Absolute",
            Integer,
            3,
            2047,
            1,
            250,
            250,
        ),
        ctl(
            cids::FOCUS_AUTO,
            "Focus, Automatic Continuous",
            Boolean,
            0,
            1,
            1,
            1,
            1,
        ),
        ctl(
            cids::FOCUS_ABSOLUTE,
            "Focus, Absolute",
            Integer,
            0,
            250,
            5,
            0,
            0,
        ),
        ctl(
            cids::ZOOM_ABSOLUTE,
            "Zoom, Absolute",
            Integer,
            100,
            500,
            1,
            100,
            100,
        ),
        ctl(0x0a04_6d05, "LED1 Mode", Integer, 0, 3, 1, 0, 0),
    ];
    v[4].flags.push(ControlFlag::Inactive);
    let mut ro = ctl(
        0x009a_0920,
        "Pixel Rate",
        Integer64,
        0,
        i64::MAX,
        1,
        0,
        1 << 40,
    );
    ro.flags.push(ControlFlag::ReadOnly);
    v.push(ro);
    link_auto_controls(&mut v);
    v
}

fn req(items: &[(&str, ControlInput)]) -> Vec<(String, ControlInput)> {
    items
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

use ControlInput::{Bool, Int, Text};

#[test]
fn a_control_is_found_by_id_old_name_driver_name_or_cid() {
    let c = webcam();
    for key in [
        "auto_exposure",
        "exposure_auto",
        "Auto Exposure",
        "0x009a0901",
        "10094849",
    ] {
        assert_eq!(
            find(&c, key).map(|c| c.cid),
            Some(cids::EXPOSURE_AUTO),
            "{key}"
        );
    }
    assert_eq!(find(&c, "led1_mode").map(|c| c.cid), Some(0x0a04_6d05));
    assert!(find(&c, "warp_drive").is_none());
}

#[test]
fn manual_value_while_auto_is_on_names_the_auto_control() {
    let err = plan(&webcam(), &req(&[("focus_absolute", Int(50))]), false).unwrap_err();
    assert_eq!(
        err,
        ControlError::AutoIsOn {
            id: "focus_absolute".into(),
            auto: "focus_automatic_continuous".into(),
            auto_value: 1,
            manual_value: 0
        }
    );
    assert!(err.to_string().contains("focus_automatic_continuous"));
}

#[test]
fn switch_to_manual_sets_the_auto_control_first() {
    let p = plan(
        &webcam(),
        &req(&[("exposure_time_absolute", Int(400))]),
        true,
    )
    .unwrap();
    let order: Vec<(&str, i64)> = p.iter().map(|c| (c.id.as_str(), c.value)).collect();
    assert_eq!(
        order,
        [("auto_exposure", 1), ("exposure_time_absolute", 400)]
    );
}

#[test]
fn both_in_one_call_is_fine_and_auto_goes_first() {
    let p = plan(
        &webcam(),
        &req(&[("focus_absolute", Int(50)), ("focus_auto", Bool(false))]),
        false,
    )
    .unwrap();
    assert_eq!(p[0].cid, cids::FOCUS_AUTO);
    assert_eq!(p[1].cid, cids::FOCUS_ABSOLUTE);
}

#[test]
fn turning_auto_on_while_setting_the_manual_value_is_a_conflict() {
    let mut c = webcam();
    c[5].value = Some(0);
    let err = plan(
        &c,
        &req(&[("focus_absolute", Int(50)), ("focus_auto", Bool(true))]),
        true,
    )
    .unwrap_err();
    assert_eq!(err.reason(), "auto_control_conflict");
}

#[test]
fn menus_with_gaps_take_only_offered_entries() {
    let c = webcam();
    let err = plan(&c, &req(&[("auto_exposure", Int(0))]), false).unwrap_err();
    assert!(
        matches!(err, ControlError::BadValue { ref id, .. } if id == "auto_exposure"),
        "{err}"
    );
    assert!(err.to_string().contains("1, 3"), "{err}");
    let p = plan(
        &c,
        &req(&[("power_line_frequency", Text("50 Hz".into()))]),
        false,
    )
    .unwrap();
    assert_eq!(p[0].value, 1);
}

#[test]
fn steps_ranges_types_and_read_only_are_checked() {
    let c = webcam();
    let bad = [
        ("brightness", Int(256)),
        ("brightness", Bool(true)),
        ("brightness", Text("bright".into())),
        ("zoom_absolute", Int(99)),
    ];
    for (k, v) in bad {
        let err = plan(&c, &req(&[(k, v.clone())]), false).unwrap_err();
        assert_eq!(err.reason(), "invalid_control_value", "{k} {v:?}");
        assert_eq!(err.control(), k);
    }
    let mut c2 = webcam();
    c2[5].value = Some(0);
    let err = plan(&c2, &req(&[("focus_absolute", Int(52))]), false).unwrap_err();
    assert!(err.to_string().contains("step"), "{err}");
    let err = plan(&c, &req(&[("pixel_rate", Int(1))]), false).unwrap_err();
    assert_eq!(
        err,
        ControlError::ReadOnly {
            id: "pixel_rate".into()
        }
    );
    let err = plan(
        &c,
        &req(&[("brightness", Int(1)), ("Brightness", Int(2))]),
        false,
    )
    .unwrap_err();
    assert_eq!(err.reason(), "duplicate_control");
    let err = plan(&c, &req(&[("brightness", Int(1)), ("warp", Int(2))]), false).unwrap_err();
    assert!(matches!(err, ControlError::Unknown { ref key, .. } if key == "warp"));
}

#[test]
fn reset_writes_manual_controls_before_auto_ones_and_skips_inactive() {
    let mut c = webcam();
    c[3].value = Some(1); // manual exposure
    c[4].value = Some(500);
    c[4].flags.clear();
    c[0].value = Some(10);
    c[5].value = Some(0);
    c[6].value = Some(20);
    c[6].flags.push(ControlFlag::Inactive);
    let (changes, skipped) = reset_plan(&c);
    let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "brightness",
            "exposure_time_absolute",
            "auto_exposure",
            "focus_automatic_continuous"
        ]
    );
    assert_eq!(skipped, ["focus_absolute"]);
}

fn identity(card: &str, bus: &str, serial: Option<&str>) -> CameraIdentity {
    CameraIdentity {
        card: card.into(),
        bus_info: bus.into(),
        serial: serial.map(Into::into),
    }
}

fn stored(cid: u32, id: &str, value: i64) -> StoredValue {
    StoredValue {
        cid,
        id: id.into(),
        value,
    }
}

#[test]
fn a_camera_moved_to_another_port_keeps_its_settings() {
    let mut m = ControlMemory::default();
    let at_1 = identity("HD Pro Webcam C920", "usb-0000:00:14.0-1", None);
    m.remember(
        &at_1,
        &[],
        &[stored(cids::BRIGHTNESS, "brightness", 40)],
        &[],
    );
    let at_3 = identity("HD Pro Webcam C920", "usb-0000:00:14.0-3", None);
    assert_eq!(m.values(&at_3, &[]).len(), 1);
    // Not when the camera on the old port is still there: that is another C920.
    assert!(m.values(&at_3, std::slice::from_ref(&at_1)).is_empty());
    // A serial decides when both have one.
    let mut m = ControlMemory::default();
    m.remember(
        &identity("C", "b1", Some("AAA")),
        &[],
        &[stored(1, "x", 1)],
        &[],
    );
    assert!(m.values(&identity("C", "b2", Some("BBB")), &[]).is_empty());
    assert_eq!(m.values(&identity("C", "b9", Some("AAA")), &[]).len(), 1);
}

#[test]
fn a_failed_write_forgets_the_value() {
    let mut m = ControlMemory::default();
    let who = identity("C270", "usb-1", None);
    m.remember(
        &who,
        &[],
        &[
            stored(cids::BRIGHTNESS, "brightness", 40),
            stored(cids::GAIN, "gain", 9),
        ],
        &[],
    );
    m.remember(&who, &[], &[], &[cids::GAIN]);
    assert_eq!(
        m.values(&who, &[]),
        [stored(cids::BRIGHTNESS, "brightness", 40)]
    );
    m.remember(&who, &[], &[], &[cids::BRIGHTNESS]);
    assert!(m.cameras.is_empty());
}

#[test]
fn restore_skips_manual_values_under_an_auto_control_that_is_on() {
    let c = webcam();
    let s = [
        stored(cids::FOCUS_ABSOLUTE, "focus_absolute", 30),
        stored(cids::BRIGHTNESS, "brightness", 99),
        stored(0x0dead, "gone", 1),
    ];
    let (changes, unusable) = restore_plan(&c, &s);
    assert_eq!(
        changes.iter().map(|c| c.cid).collect::<Vec<_>>(),
        [cids::BRIGHTNESS]
    );
    assert_eq!(unusable, [0x0dead]);
    let s = [
        stored(cids::FOCUS_ABSOLUTE, "focus_absolute", 30),
        stored(cids::FOCUS_AUTO, "focus_automatic_continuous", 0),
    ];
    let (changes, _) = restore_plan(&c, &s);
    assert_eq!(
        changes.iter().map(|c| c.cid).collect::<Vec<_>>(),
        [cids::FOCUS_AUTO, cids::FOCUS_ABSOLUTE]
    );
}

#[test]
fn simulated_picture_makes_a_filter_only_when_changed() {
    let mut p = simulated::Picture::default();
    assert_eq!(p.filter(), None);
    let changes = plan(
        &p.controls(),
        &req(&[("brightness", Int(30)), ("hue", Int(-90))]),
        false,
    )
    .unwrap();
    p.apply(&changes);
    assert_eq!(
        p.filter().unwrap(),
        "eq=brightness=0.30:contrast=1.00:saturation=1.00,hue=h=-90"
    );
}

#[test]
fn only_our_own_filters_may_follow_a_pattern() {
    use simulated::*;
    let mut p = Picture::default();
    assert_eq!(adjusted_pattern("testsrc2", &p), "testsrc2");
    p.brightness = Some(-40);
    let adjusted = adjusted_pattern("testsrc2", &p);
    assert!(valid_pattern(&adjusted), "{adjusted}");
    assert_eq!(split_pattern(&adjusted).0, "testsrc2");
    // Re-adjusting replaces the filters, never stacks them.
    assert_eq!(adjusted_pattern(&adjusted, &Picture::default()), "testsrc2");
    for bad in [
        "testsrc2,movie=/etc/passwd",
        "testsrc2,eq=brightness=0.10:contrast=1.00:saturation=1.00,hue=h=0,drawtext=text=x",
        "testsrc2,eq=brightness=0.1:contrast=1.00:saturation=1.00,hue=h=0",
        "test src",
        "",
    ] {
        assert!(!valid_pattern(bad), "{bad}");
    }
}

fn integer_control() -> impl Strategy<Value = Control> {
    (-1000i64..1000, 0i64..2000, 1u64..20).prop_map(|(min, span, step)| {
        let max = min + span;
        ctl(
            0x0a00_0001,
            "Knob",
            ControlType::Integer,
            min,
            max,
            step,
            min,
            min,
        )
    })
}

proptest! {
    #[test]
    fn an_accepted_integer_is_in_range_and_on_the_step(c in integer_control(), v in -5000i64..5000) {
        let planned = plan(std::slice::from_ref(&c), &req(&[("knob", Int(v))]), false);
        let fits = v >= c.minimum && v <= c.maximum && (v - c.minimum) % c.step as i64 == 0;
        prop_assert_eq!(planned.is_ok(), fits);
        if let Ok(p) = planned {
            prop_assert_eq!(p[0].value, v);
        }
    }

    #[test]
    fn an_accepted_menu_index_is_offered(indexes in proptest::collection::btree_set(0i64..16, 1..6), v in -2i64..18) {
        let items: Vec<(i64, String)> = indexes.iter().map(|i| (*i, format!("Item {i}"))).collect();
        let borrowed: Vec<(i64, &str)> = items.iter().map(|(i, n)| (*i, n.as_str())).collect();
        let c = menu(ctl(0x0a00_0002, "Mode", ControlType::Menu, 0, 15, 1, 0, 0), &borrowed);
        let ok = plan(std::slice::from_ref(&c), &req(&[("mode", Int(v))]), false).is_ok();
        prop_assert_eq!(ok, indexes.contains(&v));
    }

    #[test]
    fn a_plan_never_leaves_a_manual_value_under_auto(focus in 0i64..=50, auto_on in any::<bool>(), with_auto in proptest::option::of(any::<bool>()), switch in any::<bool>()) {
        let mut c = webcam();
        c[5].value = Some(i64::from(auto_on));
        let mut r = vec![("focus_absolute".to_string(), Int(focus * 5))];
        if let Some(a) = with_auto {
            r.push(("focus_automatic_continuous".into(), Bool(a)));
        }
        if let Ok(p) = plan(&c, &r, switch) {
            // Applied in order, the auto control ends manual before the manual value lands.
            let mut auto = c[5].value.unwrap();
            for ch in &p {
                if ch.cid == cids::FOCUS_AUTO { auto = ch.value; }
                if ch.cid == cids::FOCUS_ABSOLUTE { prop_assert_eq!(auto, 0); }
            }
        }
    }

    #[test]
    fn memory_round_trips_through_json(values in proptest::collection::vec((0u32..50, -100i64..100), 0..8)) {
        let mut m = ControlMemory::default();
        let took: Vec<StoredValue> = values.iter().map(|(c, v)| stored(*c, "x", *v)).collect();
        m.remember(&identity("Cam", "usb-1", None), &[], &took, &[]);
        let text = serde_json::to_string(&m).unwrap();
        let back: ControlMemory = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, m);
    }
}
