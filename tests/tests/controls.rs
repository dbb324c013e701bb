//! Camera controls, black-box: the real service binary with simulated cameras (whose
//! brightness/contrast/saturation/hue are applied to the test pattern by ffmpeg).
//! V4L2 controls are tested against the FUSE bench in adapters/v4l2/tests.

use cs_tests::{TestService, WsClient};
use domain::Role;
use serde_json::{json, Value};

/// A still pattern (smptebars does not move), so two snapshots differ only by the controls
/// (and the clock in the corner, left out by `lower_half`).
fn bars(state_dir: Option<&std::path::Path>) -> TestService {
    let mut b = TestService::builder()
        .config("camera: {simulated: [{index: 0, name: Bars, pattern: smptebars, resolutions: ['320x240'], frame_rates: [10]}]}");
    if let Some(d) = state_dir {
        b = b.config(&format!("storage: {{state_dir: {}}}", d.display()));
    }
    b.start()
}

async fn png(svc: &TestService, ws: &mut WsClient) -> Vec<u8> {
    let r = ws
        .ok(
            "take_snapshot",
            json!({"device": "camera0", "format": "png"}),
        )
        .await;
    let name = r["filename"].as_str().expect("a file name");
    lower_half(&svc.dir.path().join("snapshots").join(name))
}

/// The picture's lower half as raw RGB: a simulated camera draws its live clock in the
/// top-left corner, so only the lower half stays the same from one snapshot to the next.
fn lower_half(png: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(png)
        .args([
            "-vf",
            "crop=iw:ih/2:0:ih/2",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "ffmpeg could not decode {}: {}",
        png.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn value_of(list: &Value, id: &str) -> Value {
    list["controls"]
        .as_array()
        .expect("a list of controls")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))["value"]
        .clone()
}

#[tokio::test]
async fn a_simulated_cameras_brightness_changes_its_snapshot() {
    let svc = bars(None);
    let mut ws = svc.ws_as(Role::Operator).await;
    let list = ws
        .ok("get_camera_controls", json!({"device": "camera0"}))
        .await;
    assert_eq!(value_of(&list, "brightness"), 0);
    assert_eq!(value_of(&list, "contrast"), 100);
    let before = png(&svc, &mut ws).await;
    assert_eq!(
        png(&svc, &mut ws).await,
        before,
        "the pattern should be still"
    );
    let set = ws
        .ok(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"brightness": 60, "Saturation": 0}}),
        )
        .await;
    assert_eq!(set["controls"], json!({"brightness": 60, "saturation": 0}));
    assert_ne!(
        png(&svc, &mut ws).await,
        before,
        "brightness did not reach the picture"
    );
    let reset = ws
        .ok("reset_camera_controls", json!({"device": "camera0"}))
        .await;
    assert_eq!(
        reset["controls"],
        json!({"brightness": 0, "saturation": 100})
    );
    assert_eq!(
        png(&svc, &mut ws).await,
        before,
        "reset did not restore the picture"
    );
}

#[tokio::test]
async fn a_set_is_announced_and_bad_values_name_the_control() {
    let svc = bars(None);
    let mut viewer = svc.ws_as(Role::Viewer).await;
    let id = viewer
        .ok("subscribe_events", json!({"topics": ["camera.controls"]}))
        .await;
    assert!(!id.is_null());
    let mut op = svc.ws_as(Role::Operator).await;
    op.ok(
        "set_camera_controls",
        json!({"device": "camera0", "controls": {"hue": -90}}),
    )
    .await;
    let n = viewer
        .notification(20.0)
        .await
        .expect("a camera.controls event");
    assert_eq!(n["method"], "camera_controls_update");
    let e = &n["params"]["result"];
    assert_eq!(
        (e["device"].clone(), e["reason"].clone()),
        (json!("camera0"), json!("set"))
    );
    assert_eq!(e["controls"], json!({"hue": -90}));

    let err = op
        .err(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"brightness": 500}}),
        )
        .await;
    assert_eq!(
        (err["code"].clone(), err["data"]["reason"].clone()),
        (json!(-32602), json!("invalid_control_value"))
    );
    assert_eq!(err["data"]["control"], "brightness");
    let err = op
        .err(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"brightness": 10, "focus_absolute": 3}}),
        )
        .await;
    assert_eq!(err["data"]["reason"], "unknown_control");
    assert_eq!(err["data"]["control"], "focus_absolute");
    // Nothing of a refused call was applied.
    let list = op
        .ok("get_camera_controls", json!({"device": "camera0"}))
        .await;
    assert_eq!(value_of(&list, "brightness"), 0);
    let err = viewer
        .err(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"hue": 0}}),
        )
        .await;
    assert_eq!(err["code"], -32002);
    let err = op
        .err("get_camera_controls", json!({"device": "camera7"}))
        .await;
    assert_eq!(err["code"], -32000);
}

#[tokio::test]
async fn values_set_are_back_after_a_restart() {
    let state = tempfile::tempdir().expect("a temp dir");
    {
        let svc = bars(Some(state.path()));
        let mut ws = svc.ws_as(Role::Operator).await;
        ws.ok(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"contrast": 150}}),
        )
        .await;
    }
    let svc = bars(Some(state.path()));
    let mut ws = svc.ws_as(Role::Viewer).await;
    let mut last = Value::Null;
    for _ in 0..600 {
        let list = ws
            .ok("get_camera_controls", json!({"device": "camera0"}))
            .await;
        last = value_of(&list, "contrast");
        if last == 150 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("contrast was not restored after the restart: {last}");
}

/// Waits (up to 20 s) until `check` holds for the bench's control values.
async fn bench_until(
    bench: &cs_fakecam::FakeCam,
    what: &str,
    check: impl Fn(&cs_fakecam::FakeCam) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check(bench) {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn until_connected(ws: &mut WsClient, device: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = ws.ok("get_camera_list", Value::Null).await;
        let up = list["cameras"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["device"] == device && c["status"] == "CONNECTED")
        });
        if up {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{device} never connected: {list}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replugged_webcam_gets_its_settings_back_and_driver_errors_are_documented_codes() {
    use cs_fakecam::{control_sets, devices, plug, unplug, FakeCam, TempDir};
    use domain::controls::cids;
    let test = "a_replugged_webcam_gets_its_settings_back";
    let Some(bench) = FakeCam::mount_or_skip(test, [("c920", devices::uvc_capture())]) else {
        return;
    };
    bench.set_controls("c920", control_sets::c920());
    let dir = TempDir::new("controls-dev").unwrap();
    let svc = TestService::builder()
        .config(&format!(
            "camera: {{device_dir: '{}', accept_file_nodes: true}}",
            dir.path().display()
        ))
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    plug(dir.path(), 10, &bench.node("c920")).unwrap();
    until_connected(&mut ws, "camera10").await;

    // A manual exposure while auto exposure is on names the auto control ...
    let err = ws
        .err(
            "set_camera_controls",
            json!({"device": "camera10", "controls": {"exposure_time_absolute": 600}}),
        )
        .await;
    assert_eq!(
        (err["code"].clone(), err["data"]["auto_control"].clone()),
        (json!(-32602), json!("auto_exposure"))
    );
    // ... or switches it off when asked.
    let set = ws
        .ok(
            "set_camera_controls",
            json!({"device": "camera10", "controls": {"exposure_absolute": 600, "brightness": 200}, "switch_to_manual": true}),
        )
        .await;
    assert_eq!(
        set["controls"],
        json!({"auto_exposure": 1, "brightness": 200, "exposure_time_absolute": 600})
    );
    assert_eq!(
        bench.control_value("c920", cids::EXPOSURE_ABSOLUTE),
        Some(600)
    );

    // A driver error is a documented code and is not remembered.
    bench.with_controls("c920", |c| {
        c.failing_writes = vec![(Some(cids::GAIN), nix::errno::Errno::EBUSY)]
    });
    let err = ws
        .err(
            "set_camera_controls",
            json!({"device": "camera10", "controls": {"gain": 30}}),
        )
        .await;
    assert_eq!(
        (
            err["code"].clone(),
            err["data"]["reason"].clone(),
            err["data"]["control"].clone()
        ),
        (json!(-32003), json!("control_busy"), json!("gain"))
    );
    bench.with_controls("c920", |c| c.failing_writes.clear());
    let remembered =
        std::fs::read_to_string(svc.dir.path().join("state/camera-controls.json")).unwrap();
    assert!(
        remembered.contains("brightness") && !remembered.contains("\"gain\""),
        "{remembered}"
    );

    // Unplugged, powered off (back to its defaults), plugged into another node.
    unplug(dir.path(), 10).unwrap();
    bench.set_controls("c920", control_sets::c920());
    plug(dir.path(), 11, &bench.node("c920")).unwrap();
    until_connected(&mut ws, "camera11").await;
    bench_until(&bench, "the remembered values coming back", |b| {
        b.control_value("c920", cids::BRIGHTNESS) == Some(200)
            && b.control_value("c920", cids::EXPOSURE_AUTO) == Some(1)
            && b.control_value("c920", cids::EXPOSURE_ABSOLUTE) == Some(600)
    })
    .await;
    assert_eq!(bench.control_value("c920", cids::GAIN), Some(0));
}
