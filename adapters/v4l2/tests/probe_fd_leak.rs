//! Probing leaks nothing: its own test binary, so no other test opens files meanwhile.

use std::time::Duration;

use cs_fakecam::{devices, open_fd_count, FakeCam};
use cs_v4l2::V4l2Probe;
use ports::probe::DeviceProbe;

const CLOSE_LIMIT: Duration = Duration::from_secs(5);

#[test]
fn repeated_probes_leak_no_file_descriptors() {
    let Some(bench) = FakeCam::mount_or_skip(
        "repeated_probes_leak_no_file_descriptors",
        [
            ("uvc", devices::uvc_capture()),
            ("meta", devices::uvc_metadata()),
            ("bad", devices::not_v4l2()),
        ],
    ) else {
        return;
    };
    let probe = V4l2Probe::default();
    let before = open_fd_count();
    for _ in 0..50 {
        for name in ["uvc", "meta", "bad"] {
            let _ = probe.probe(&bench.node(name));
        }
    }
    assert_eq!(open_fd_count(), before);
    assert!(
        bench.wait_all_closed(CLOSE_LIMIT),
        "the probe left nodes open"
    );
}
