//! V4L2 cameras end to end, black-box: fake nodes served by cs-fakecam (FUSE, in this test
//! process) are plugged as symlinks into the service's `camera.device_dir`; the service finds
//! them with inotify and asks them real ioctls through the kernel. Each test skips (with a
//! notice) where FUSE is unusable.
//!
//! `hotplug_latency_bench` is the benchmark behind `scripts/bench-hotplug.sh` (ignored here).

use std::path::Path;
use std::time::{Duration, Instant};

use cs_fakecam::{devices, plug, unplug, FakeCam, FakeDevice, Ioctl, TempDir};
use cs_tests::{TestService, WsClient};
use domain::{CameraId, Capabilities, Role};
use nix::errno::Errno;
use serde_json::{json, Value};

/// A service watching `dir` for V4L2 nodes (fake ones are regular files), next to its two
/// simulated cameras (camera0, camera1).
fn service_watching(dir: &Path, extra: &str) -> TestService {
    TestService::builder()
        .config(&format!(
            "camera: {{device_dir: '{}', accept_file_nodes: true}}",
            dir.display()
        ))
        .config(extra)
        .start()
}

/// The camera object `device` in the list once `check` holds for it (up to 20 s).
async fn camera_when(
    svc: &TestService,
    ws: &mut WsClient,
    device: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = ws.ok("get_camera_list", Value::Null).await;
        let found = list["cameras"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["device"] == device).cloned());
        if let Some(camera) = found.filter(|c| check(c)) {
            return camera;
        }
        assert!(
            Instant::now() < deadline,
            "{device} never reached the expected state; list: {list}\nservice logs:\n{}",
            svc.logs().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn connected(svc: &TestService, ws: &mut WsClient, device: &str) -> Value {
    camera_when(svc, ws, device, |c| c["status"] == "CONNECTED").await
}

/// What `get_camera_capabilities` must answer for `device` plugged in as camera `index`.
fn expected_capabilities(index: u16, device: &FakeDevice) -> Value {
    let id = CameraId::new(index).unwrap();
    serde_json::to_value(Capabilities::new(
        id,
        device.expected_description().expect("a camera"),
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_of_a_plugged_camera_equal_its_fake_description() {
    let test = "capabilities_of_a_plugged_camera_equal_its_fake_description";
    let Some(bench) = FakeCam::mount_or_skip(test, [("uvc", devices::uvc_capture())]) else {
        return;
    };
    let dir = TempDir::new("v4l2-dev").unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;

    plug(dir.path(), 10, &bench.node("uvc")).unwrap();
    let camera = connected(&svc, &mut ws, "camera10").await;
    let caps = ws
        .ok("get_camera_capabilities", json!({"device": "camera10"}))
        .await;

    let rates = |r: &[f64]| json!(r);
    assert_eq!(
        caps,
        json!({
            "device": "camera10",
            "driver": "uvcvideo",
            "card": "HD Pro Webcam C920",
            "bus_info": "usb-0000:00:14.0-1",
            "formats": [
                {"pixel_format": "YUYV", "description": "YUYV 4:2:2", "sizes": [
                    {"width": 640, "height": 480, "frame_rates": rates(&[30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0])},
                    {"width": 1280, "height": 720, "frame_rates": rates(&[10.0, 7.5, 5.0])},
                    {"width": 1920, "height": 1080, "frame_rates": rates(&[7.5, 5.0])},
                ]},
                {"pixel_format": "MJPG", "description": "Motion-JPEG", "sizes": [
                    {"width": 640, "height": 480, "frame_rates": rates(&[30.0, 15.0])},
                    {"width": 1280, "height": 720, "frame_rates": rates(&[30.0, 15.0])},
                    {"width": 1920, "height": 1080, "frame_rates": rates(&[30.0, 24.0, 15.0])},
                ]},
            ],
            "resolutions": ["1920x1080", "1280x720", "640x480"],
            "frame_rates": rates(&[30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0]),
            "current": {"pixel_format": "MJPG", "width": 1920, "height": 1080, "fps": 30.0},
        })
    );
    assert_eq!(camera["name"], "HD Pro Webcam C920");
    assert_eq!(camera["resolution"], "1920x1080");
    assert_eq!(camera["fps"], 30.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiplanar_stepwise_and_partial_devices_are_reported_exactly() {
    let test = "multiplanar_stepwise_and_partial_devices_are_reported_exactly";
    let kinds = [
        ("mplane", 11, devices::multiplanar()),
        ("stepwise", 12, devices::stepwise()),
        ("flaky", 13, devices::flaky()),
    ];
    let Some(bench) = FakeCam::mount_or_skip(test, kinds.iter().map(|(n, _, d)| (*n, d.clone())))
    else {
        return;
    };
    let dir = TempDir::new("v4l2-dev").unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;

    for (name, index, _) in &kinds {
        plug(dir.path(), *index, &bench.node(name)).unwrap();
    }
    for (name, index, device) in &kinds {
        let id = format!("camera{index}");
        connected(&svc, &mut ws, &id).await;
        let caps = ws
            .ok("get_camera_capabilities", json!({"device": id}))
            .await;
        assert_eq!(caps, expected_capabilities(*index, device), "{name}");
    }
    // The device that refuses G_PARM and ENUM_FRAMEINTERVALS: no rates, fps unknown.
    let flaky = ws
        .ok("get_camera_capabilities", json!({"device": "camera13"}))
        .await;
    assert_eq!(
        flaky["current"],
        json!({"pixel_format": "JPEG", "width": 640, "height": 480, "fps": null})
    );
    assert_eq!(flaky["frame_rates"], json!([]));
    let stepwise = ws
        .ok("get_camera_capabilities", json!({"device": "camera12"}))
        .await;
    assert_eq!(stepwise["formats"][0]["sizes"][0]["type"], "stepwise");
    assert_eq!(stepwise["formats"][1]["sizes"][0]["type"], "continuous");
    assert_eq!(stepwise["resolutions"], json!(["4096x2160", "1920x1080"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_node_is_not_a_camera() {
    let (capture, metadata) = devices::uvc_pair();
    let Some(bench) = FakeCam::mount_or_skip(
        "metadata_node_is_not_a_camera",
        [("capture", capture), ("meta", metadata)],
    ) else {
        return;
    };
    let dir = TempDir::new("v4l2-dev").unwrap();
    // The metadata node is plugged before start too: the start-up scan must skip it as well.
    plug(dir.path(), 11, &bench.node("meta")).unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;

    plug(dir.path(), 10, &bench.node("capture")).unwrap();
    connected(&svc, &mut ws, "camera10").await;

    let list = ws.ok("get_camera_list", Value::Null).await;
    let devices: Vec<&str> = list["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["device"].as_str())
        .collect();
    assert!(!devices.contains(&"camera11"), "{list}");
    let e = ws
        .err("get_camera_capabilities", json!({"device": "camera11"}))
        .await;
    assert_eq!(e["code"], -32000, "{e}");
    assert!(
        bench.stats("meta").opens >= 1,
        "the metadata node was probed, and refused as a camera"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugged_camera_is_reported_disconnected() {
    let Some(bench) = FakeCam::mount_or_skip(
        "unplugged_camera_is_reported_disconnected",
        [("uvc", devices::uvc_capture())],
    ) else {
        return;
    };
    let dir = TempDir::new("v4l2-dev").unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;
    plug(dir.path(), 10, &bench.node("uvc")).unwrap();
    connected(&svc, &mut ws, "camera10").await;
    let mut events = svc.ws_as(Role::Viewer).await;
    events
        .ok(
            "subscribe_events",
            json!({"topics": ["camera.disconnected"], "filters": {"device": "camera10"}}),
        )
        .await;

    unplug(dir.path(), 10).unwrap();

    let n = events
        .notification(20.0)
        .await
        .expect("a camera_status_update");
    assert_eq!(n["method"], "camera_status_update", "{n}");
    assert_eq!(n["params"]["result"]["device"], "camera10", "{n}");
    assert_eq!(n["params"]["result"]["status"], "DISCONNECTED", "{n}");
    camera_when(&svc, &mut ws, "camera10", |c| c["status"] == "DISCONNECTED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_fails_its_probe_is_listed_in_error_and_connects_once_it_answers() {
    let test = "a_node_that_fails_its_probe_is_listed_in_error_and_connects_once_it_answers";
    let Some(bench) = FakeCam::mount_or_skip(test, [("uvc", devices::uvc_capture())]) else {
        return;
    };
    // QUERYCAP answers EIO every time (a camera whose firmware is wedged).
    bench.fail_ioctl("uvc", Ioctl::QueryCap, Errno::EIO, None);
    let dir = TempDir::new("v4l2-dev").unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;
    let mut events = svc.ws_as(Role::Viewer).await;
    events
        .ok(
            "subscribe_events",
            json!({"topics": ["camera.*"], "filters": {"device": "camera10"}}),
        )
        .await;
    plug(dir.path(), 10, &bench.node("uvc")).unwrap();

    let camera = camera_when(&svc, &mut ws, "camera10", |c| c["status"] == "ERROR").await;
    let reason = camera["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("VIDIOC_QUERYCAP") && reason.contains("EIO"),
        "the reason says what failed: {camera}"
    );
    // Still failing: probed again with backoff (1 s, 2 s, ...), not only at the 30 s rescan.
    let asked = bench.stats("uvc").ioctls;
    assert!(
        bench.wait_for("uvc", Duration::from_secs(10), |s| s.ioctls > asked),
        "a failing node is probed again within seconds"
    );
    camera_when(&svc, &mut ws, "camera10", |c| c["status"] == "ERROR").await;

    // The camera recovers: the next retry finds it, well before the periodic rescan.
    bench.clear_failures("uvc");
    let recovered = Instant::now();
    connected(&svc, &mut ws, "camera10").await;
    assert!(
        recovered.elapsed() < Duration::from_secs(20),
        "found again by the retry, not the 30 s rescan"
    );
    let mut statuses = Vec::new();
    while let Some(n) = events.notification(5.0).await {
        statuses.push(n["params"]["result"]["status"].clone());
        if n["params"]["result"]["status"] == "CONNECTED" {
            break;
        }
    }
    assert_eq!(
        statuses.first(),
        Some(&json!("ERROR")),
        "subscribers hear of the failure: {statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&json!("CONNECTED")),
        "and of the recovery: {statuses:?}"
    );
    let caps = ws
        .ok("get_camera_capabilities", json!({"device": "camera10"}))
        .await;
    assert_eq!(caps, expected_capabilities(10, &devices::uvc_capture()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_enumeration_failure_is_probed_again_until_the_capabilities_are_whole() {
    let test = "a_transient_enumeration_failure_is_probed_again_until_the_capabilities_are_whole";
    let Some(bench) = FakeCam::mount_or_skip(
        test,
        [
            ("intervals", devices::uvc_capture()),
            ("sizes", devices::uvc_capture()),
        ],
    ) else {
        return;
    };
    // More consecutive EIO than one probe retries (3): the first probe leaves a part out.
    bench.fail_ioctl("intervals", Ioctl::EnumFrameIntervals, Errno::EIO, Some(4));
    bench.fail_ioctl("sizes", Ioctl::EnumFrameSizes, Errno::EIO, Some(4));
    let dir = TempDir::new("v4l2-dev").unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;
    plug(dir.path(), 10, &bench.node("intervals")).unwrap();
    plug(dir.path(), 11, &bench.node("sizes")).unwrap();

    for (device, index) in [("camera10", 10), ("camera11", 11)] {
        connected(&svc, &mut ws, device).await;
        let want = expected_capabilities(index, &devices::uvc_capture());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let caps = ws
                .ok("get_camera_capabilities", json!({"device": device}))
                .await;
            if caps == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{device} kept partial capabilities: {caps}\nlogs:\n{}",
                svc.logs().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(bench.pending_failures("intervals"), 0);
    assert_eq!(bench.pending_failures("sizes"), 0);
    assert!(
        svc.logs()
            .iter()
            .any(|l| l.contains("left parts of its description unanswered")),
        "the first probe was partial and said so"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_and_simulated_cameras_are_listed_side_by_side() {
    let Some(bench) = FakeCam::mount_or_skip(
        "real_and_simulated_cameras_are_listed_side_by_side",
        [("uvc", devices::uvc_capture())],
    ) else {
        return;
    };
    let dir = TempDir::new("v4l2-dev").unwrap();
    let svc = service_watching(dir.path(), "{}");
    let mut ws = svc.ws_as(Role::Viewer).await;

    plug(dir.path(), 10, &bench.node("uvc")).unwrap();
    connected(&svc, &mut ws, "camera10").await;

    let list = ws.ok("get_camera_list", Value::Null).await;
    let connected: Vec<&str> = list["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "CONNECTED")
        .filter_map(|c| c["device"].as_str())
        .collect();
    assert_eq!(connected, ["camera0", "camera1", "camera10"], "{list}");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut samples: Vec<Duration>, budget: Duration) {
    samples.sort();
    let (p50, p99, max) = (
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        samples[samples.len() - 1],
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<40} n={:<4} p50={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms  budget p99<{} ms: {}",
        samples.len(),
        ms(p50),
        ms(p99),
        ms(max),
        ms(budget),
        if p99 < budget { "met" } else { "MISSED" }
    );
}

/// Plugs and unplugs a fake camera `HOTPLUG_BENCH_PLUGS` times (default 100) and prints
/// p50/p99 from symlink creation (removal) to the camera being listed CONNECTED
/// (DISCONNECTED), and to the `camera_status_update` reaching a subscriber.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench-hotplug.sh"]
async fn hotplug_latency_bench() {
    let plugs: usize = std::env::var("HOTPLUG_BENCH_PLUGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let Some(bench) =
        FakeCam::mount_or_skip("hotplug_latency_bench", [("uvc", devices::uvc_capture())])
    else {
        return;
    };
    let dir = TempDir::new("v4l2-dev").unwrap();
    // Polling the list as fast as it answers must not be rate limited.
    let svc = service_watching(
        dir.path(),
        "{camera: {simulated: []}, auth: {rate_per_second: 1000000, rate_burst: 1000000}, logging: {level: info}}",
    );
    let mut lister = svc.ws_as(Role::Viewer).await;
    let mut subscriber = svc.ws_as(Role::Viewer).await;
    subscriber
        .ok(
            "subscribe_events",
            json!({"topics": ["camera.connected", "camera.disconnected"]}),
        )
        .await;
    // The subscriber stamps each notification as it arrives.
    let (stamped_tx, mut stamped) = tokio::sync::mpsc::unbounded_channel::<(Instant, Value)>();
    let listen = tokio::spawn(async move {
        while let Some(n) = subscriber.notification(3600.0).await {
            if stamped_tx.send((Instant::now(), n)).is_err() {
                break;
            }
        }
    });
    let mut next_event = async |status: &str| -> Instant {
        loop {
            let (at, n) = tokio::time::timeout(Duration::from_secs(20), stamped.recv())
                .await
                .expect("a camera_status_update within 20 s")
                .expect("the subscriber is running");
            if n["params"]["result"]["device"] == "camera10"
                && n["params"]["result"]["status"] == status
            {
                return at;
            }
        }
    };
    async fn listed_as(ws: &mut WsClient, status: &str) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let list = ws.ok("get_camera_list", Value::Null).await;
            let seen = list["cameras"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["device"] == "camera10" && c["status"] == status)
            });
            if seen {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "camera10 never listed {status}: {list}"
            );
        }
    }

    let (mut plug_listed, mut plug_event, mut unplug_listed, mut unplug_event) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plugs {
        let t0 = Instant::now();
        plug(dir.path(), 10, &bench.node("uvc")).unwrap();
        plug_listed.push(listed_as(&mut lister, "CONNECTED").await - t0);
        plug_event.push(next_event("CONNECTED").await - t0);

        let t0 = Instant::now();
        unplug(dir.path(), 10).unwrap();
        unplug_listed.push(listed_as(&mut lister, "DISCONNECTED").await - t0);
        unplug_event.push(next_event("DISCONNECTED").await - t0);
    }
    listen.abort();

    let budget = Duration::from_millis(50);
    println!("hot-plug latency over {plugs} plugs of a fake UVC node (FUSE), symlinked into camera.device_dir:");
    report("plug -> listed CONNECTED", plug_listed, budget);
    report("plug -> camera_status_update received", plug_event, budget);
    report("unplug -> listed DISCONNECTED", unplug_listed, budget);
    report(
        "unplug -> camera_status_update received",
        unplug_event,
        budget,
    );
}
