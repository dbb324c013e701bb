//! A storm of plug/unplug cycles ends with the right cameras and leaks no file descriptors.
//! Its own test binary: no other test opens or closes files while it counts them.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{camera, Harness};
use cs_fakecam::{devices, open_fd_count, plug, unplug, FakeCam};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_plug_cycles_end_with_the_right_cameras_and_no_leaked_fds() {
    let (capture, metadata) = devices::uvc_pair();
    let Some(bench) = FakeCam::mount_or_skip(
        "hundred_plug_cycles_end_with_the_right_cameras_and_no_leaked_fds",
        [
            ("uvc", capture),
            ("meta", metadata),
            ("mplane", devices::multiplanar()),
            ("flaky", devices::flaky()),
        ],
    ) else {
        return;
    };
    let nodes = ["uvc", "meta", "mplane", "flaky"];
    let before = open_fd_count();
    let harness = Harness::start(|_| {}, |_| {}).await;
    let dir = harness.dir.path().to_owned();

    // 100 cycles over four node numbers, never waiting: each plugs one node and unplugs it
    // again, while the previous cycle's node is still plugged in.
    let mut plugged: BTreeSet<u16> = BTreeSet::new();
    for cycle in 0..100u16 {
        let n = cycle % 4;
        let target = bench.node(nodes[usize::from(n)]);
        if plugged.remove(&n) {
            unplug(&dir, n).unwrap();
        }
        plug(&dir, n, &target).unwrap();
        unplug(&dir, n).unwrap();
        plug(&dir, n, &target).unwrap();
        plugged.insert(n);
        let previous = (n + 3) % 4;
        if cycle % 3 == 0 && plugged.remove(&previous) {
            unplug(&dir, previous).unwrap();
        }
        // Let discovery run between cycles, so changes land while probes are in flight.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    harness.settled().await;

    // Every node still plugged in is a camera except the metadata node (index 1).
    let expected: Vec<_> = plugged
        .iter()
        .filter(|n| **n != 1)
        .map(|n| camera(*n))
        .collect();
    let cameras: Vec<_> = harness.sink.cameras().keys().copied().collect();
    assert_eq!(cameras, expected, "plugged at the end: {plugged:?}");
    assert!(
        expected.len() >= 2,
        "the storm should end with cameras plugged in: {plugged:?}"
    );
    eprintln!(
        "storm: {} reports to the sink, {} probes opened",
        harness.sink.seen().len(),
        nodes.iter().map(|n| bench.stats(n).opens).sum::<u64>()
    );

    let dir = harness.stop().await;
    assert!(
        bench.wait_all_closed(Duration::from_secs(10)),
        "a probe left a node open"
    );
    assert_eq!(open_fd_count(), before, "file descriptors leaked");
    drop(dir);
}
