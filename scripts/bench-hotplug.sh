#!/usr/bin/env bash
# Hot-plug latency of V4L2 cameras, end to end.
#
# A fake UVC node (cs-fakecam, served from FUSE by the bench process) is plugged into the
# service's camera.device_dir as a symlink and unplugged again, HOTPLUG_BENCH_PLUGS times
# (default 100). Printed, as p50/p99/max:
#   plug   -> camera listed CONNECTED by get_camera_list
#   plug   -> camera_status_update (camera.connected) received by a subscriber
#   unplug -> camera listed DISCONNECTED
#   unplug -> camera_status_update (camera.disconnected) received
# Budget: p99 < 50 ms. The figures are printed, not asserted.
#
# Needs root and a usable /dev/fuse; elsewhere the bench prints a notice and measures nothing.
# BENCH_PROFILE=dev skips the (slow) release build.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${BENCH_PROFILE:-release}"
export HOTPLUG_BENCH_PLUGS="${HOTPLUG_BENCH_PLUGS:-100}"

cargo build --quiet --profile "$profile" -p cs-app --bin camera-service
cargo test --quiet --profile "$profile" -p cs-tests --test v4l2_hotplug -- \
    --ignored --exact hotplug_latency_bench --nocapture --test-threads=1
