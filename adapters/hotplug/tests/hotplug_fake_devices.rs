//! Hot-plug against fake nodes served through the kernel's FUSE ioctl path, plugged and
//! unplugged as symlinks in a watched directory. Each test skips (with a notice) where FUSE
//! is unusable.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{camera, Harness, Seen};
use cs_fakecam::{devices, plug, unplug, FakeCam};
use cs_hotplug::DeviceIdentity;
use ports::camera::{CaptureSource, DiscoveredCamera};

fn discovered(harness: &Harness, index: u16, device: &cs_fakecam::FakeDevice) -> DiscoveredCamera {
    DiscoveredCamera {
        id: camera(index),
        description: device.expected_description().expect("a camera"),
        source: CaptureSource::Device {
            path: harness.dir.path().join(format!("video{index}")),
        },
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_present_at_start_are_reported() {
    let (capture, metadata) = devices::uvc_pair();
    let Some(bench) = FakeCam::mount_or_skip(
        "cameras_present_at_start_are_reported",
        [("capture", capture.clone()), ("meta", metadata)],
    ) else {
        return;
    };
    let harness = Harness::start(
        |_| {},
        |dir| {
            plug(dir.path(), 0, &bench.node("capture")).unwrap();
            plug(dir.path(), 1, &bench.node("meta")).unwrap();
        },
    )
    .await;

    assert_eq!(
        harness.sink.seen(),
        vec![Seen::Appeared(discovered(&harness, 0, &capture))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugged_camera_appears_and_unplugged_camera_vanishes() {
    let Some(bench) = FakeCam::mount_or_skip(
        "plugged_camera_appears_and_unplugged_camera_vanishes",
        [("mplane", devices::multiplanar())],
    ) else {
        return;
    };
    let harness = Harness::start(|_| {}, |_| {}).await;

    plug(harness.dir.path(), 4, &bench.node("mplane")).unwrap();
    harness.settled().await;
    assert_eq!(
        harness.sink.seen(),
        vec![Seen::Appeared(discovered(
            &harness,
            4,
            &devices::multiplanar()
        ))]
    );

    unplug(harness.dir.path(), 4).unwrap();
    harness.settled().await;
    assert_eq!(
        harness.sink.seen_for(camera(4)).last(),
        Some(&Seen::Vanished(camera(4)))
    );
    assert!(harness.sink.cameras().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_node_of_a_uvc_pair_is_not_a_camera() {
    let (capture, metadata) = devices::uvc_pair();
    let Some(bench) = FakeCam::mount_or_skip(
        "metadata_node_of_a_uvc_pair_is_not_a_camera",
        [("capture", capture), ("meta", metadata)],
    ) else {
        return;
    };
    let harness = Harness::start(|_| {}, |_| {}).await;

    plug(harness.dir.path(), 2, &bench.node("capture")).unwrap();
    plug(harness.dir.path(), 3, &bench.node("meta")).unwrap();
    harness.settled().await;

    assert_eq!(
        harness.sink.cameras().keys().copied().collect::<Vec<_>>(),
        vec![camera(2)]
    );
    assert!(harness.sink.seen_for(camera(3)).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_appears_once_its_permissions_are_fixed() {
    let Some(bench) = FakeCam::mount_or_skip(
        "camera_appears_once_its_permissions_are_fixed",
        [("capture", devices::uvc_capture())],
    ) else {
        return;
    };
    let harness = Harness::start(|_| {}, |_| {}).await;
    bench.set_denied("capture", true);

    plug(harness.dir.path(), 0, &bench.node("capture")).unwrap();
    // Each attempt tries read-write, then read-only: two attempts are four refusals.
    assert!(
        bench.wait_for("capture", WAIT, |s| s.denied_opens >= 4),
        "discovery never retried the open"
    );
    bench.set_denied("capture", false);
    harness.settled().await;

    assert_eq!(
        harness.sink.seen(),
        vec![Seen::Appeared(discovered(
            &harness,
            0,
            &devices::uvc_capture()
        ))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_that_is_not_v4l2_is_reported_failed_with_the_reason() {
    let Some(bench) = FakeCam::mount_or_skip(
        "node_that_is_not_v4l2_is_reported_failed_with_the_reason",
        [("odd", devices::not_v4l2())],
    ) else {
        return;
    };
    let harness = Harness::start(|c| c.settle = Duration::from_millis(50), |_| {}).await;

    plug(harness.dir.path(), 6, &bench.node("odd")).unwrap();
    harness.settled().await;

    match harness.sink.seen().as_slice() {
        [Seen::Failed(id, reason)] => {
            assert_eq!(*id, camera(6));
            assert!(reason.contains("VIDIOC_QUERYCAP"), "{reason}");
        }
        other => panic!("expected one failure, got {other:?}"),
    }
    unplug(harness.dir.path(), 6).unwrap();
    harness.settled().await;
    assert_eq!(harness.sink.seen().last(), Some(&Seen::Vanished(camera(6))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_that_vanishes_during_its_probe_leaves_no_ghost() {
    let Some(bench) = FakeCam::mount_or_skip(
        "node_that_vanishes_during_its_probe_leaves_no_ghost",
        [("slow", devices::uvc_capture())],
    ) else {
        return;
    };
    // Slow enough that the unplug lands while the probe is still asking questions.
    bench.set_ioctl_delay("slow", Duration::from_millis(10));
    let harness = Harness::start(|_| {}, |_| {}).await;

    plug(harness.dir.path(), 5, &bench.node("slow")).unwrap();
    assert!(
        bench.wait_for("slow", WAIT, |s| s.opens >= 1),
        "the node was never probed"
    );
    unplug(harness.dir.path(), 5).unwrap();
    harness.settled().await;

    assert_eq!(harness.sink.seen_for(camera(5)), Vec::new());
    assert!(bench.wait_all_closed(WAIT), "the probe left the node open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_node_moves_the_camera() {
    let Some(bench) = FakeCam::mount_or_skip(
        "renamed_node_moves_the_camera",
        [("capture", devices::uvc_capture())],
    ) else {
        return;
    };
    let harness = Harness::start(|_| {}, |_| {}).await;
    plug(harness.dir.path(), 0, &bench.node("capture")).unwrap();
    harness.settled().await;

    std::fs::rename(
        harness.dir.path().join("video0"),
        harness.dir.path().join("video7"),
    )
    .unwrap();
    harness.settled().await;

    assert_eq!(
        harness.sink.seen_for(camera(0)).last(),
        Some(&Seen::Vanished(camera(0)))
    );
    assert_eq!(
        harness.sink.cameras().keys().copied().collect::<Vec<_>>(),
        vec![camera(7)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_replugged_on_another_node_is_recognised() {
    let Some(bench) = FakeCam::mount_or_skip(
        "camera_replugged_on_another_node_is_recognised",
        [
            ("capture", devices::uvc_capture()),
            ("other", devices::flaky()),
        ],
    ) else {
        return;
    };
    let harness = Harness::start(|_| {}, |_| {}).await;
    plug(harness.dir.path(), 0, &bench.node("capture")).unwrap();
    plug(harness.dir.path(), 1, &bench.node("other")).unwrap();
    harness.settled().await;
    assert_eq!(harness.discovery.replugged_from(camera(0)), None);

    unplug(harness.dir.path(), 0).unwrap();
    harness.settled().await;
    plug(harness.dir.path(), 2, &bench.node("capture")).unwrap();
    harness.settled().await;

    assert_eq!(harness.discovery.replugged_from(camera(2)), Some(camera(0)));
    assert_eq!(harness.discovery.replugged_from(camera(1)), None);
    assert_eq!(
        harness.discovery.identity(camera(2)),
        Some(DeviceIdentity {
            card: "HD Pro Webcam C920".into(),
            bus_info: "usb-0000:00:14.0-1".into(),
        })
    );
    assert_eq!(harness.discovery.identity(camera(0)), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_entries_in_the_device_directory_are_ignored() {
    let Some(bench) = FakeCam::mount_or_skip(
        "other_entries_in_the_device_directory_are_ignored",
        [("capture", devices::uvc_capture())],
    ) else {
        return;
    };
    let harness = Harness::start(|_| {}, |_| {}).await;
    let dir: PathBuf = harness.dir.path().to_owned();

    std::os::unix::fs::symlink(bench.node("capture"), dir.join("video007")).unwrap();
    std::os::unix::fs::symlink(bench.node("capture"), dir.join("vbi0")).unwrap();
    std::fs::create_dir(dir.join("video9")).unwrap();
    harness.settled().await;

    assert_eq!(harness.sink.seen(), Vec::new());
    assert_eq!(bench.stats("capture").opens, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_directory_created_after_start_is_watched() {
    let Some(bench) = FakeCam::mount_or_skip(
        "device_directory_created_after_start_is_watched",
        [("capture", devices::uvc_capture())],
    ) else {
        return;
    };
    let parent = cs_fakecam::TempDir::new("parent").unwrap();
    let late = parent.path().join("dev");
    let harness = Harness::start(|c| c.device_dir = late.clone(), |_| {}).await;

    std::fs::create_dir(&late).unwrap();
    plug(&late, 0, &bench.node("capture")).unwrap();
    // The watch is retried every second; the camera shows up once it is up.
    let deadline = tokio::time::Instant::now() + WAIT;
    while harness.sink.cameras().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        harness.settled().await;
    }
    assert_eq!(
        harness.sink.cameras().keys().copied().collect::<Vec<_>>(),
        vec![camera(0)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_directory_that_comes_back_is_watched_again_within_the_retry() {
    let Some(bench) = FakeCam::mount_or_skip(
        "device_directory_that_comes_back_is_watched_again_within_the_retry",
        [("capture", devices::uvc_capture())],
    ) else {
        return;
    };
    let parent = cs_fakecam::TempDir::new("parent").unwrap();
    let dev = parent.path().join("dev");
    std::fs::create_dir(&dev).unwrap();
    // A rescan far beyond the wait: only the 1 s watch retry can find the camera in time.
    let harness = Harness::start(
        |c| {
            c.device_dir = dev.clone();
            c.rescan = Duration::from_secs(600);
        },
        |_| {},
    )
    .await;
    std::fs::remove_dir(&dev).unwrap();
    harness.settled().await;
    std::fs::create_dir(&dev).unwrap();
    plug(&dev, 0, &bench.node("capture")).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while harness.sink.cameras().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        harness.settled().await;
    }
    assert_eq!(
        harness.sink.cameras().keys().copied().collect::<Vec<_>>(),
        vec![camera(0)],
        "the watch was not re-established within {WAIT:?}"
    );
}
