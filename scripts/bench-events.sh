#!/usr/bin/env bash
# Event fan-out benchmark: 1,000 WebSocket subscribers to the camera topics of a real
# camera-service (simulated cameras, no hardware), publish -> receipt latency p50/p99 and
# events/s, printed; then the hub alone (in-process, no transport) for comparison.
# Budget (docs/performance.md, Budgets; the bar when written): publish -> receipt p99 < 20 ms at 1,000 subscribers.
#
# The client reads all subscribers from one epoll thread and prints, besides the latencies,
# the load average and both sides' CPU per notification: run it on a box as quiet as you can.
#
# Usage: scripts/bench-events.sh [--subscribers N] [--trials K] [--warmup W] [--gap-ms G] [--burst B]
set -euo pipefail
cd "$(dirname "$0")/.."

# 1,000 client sockets plus the service's own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release --quiet -p cs-app --bin camera-service --example hub_fanout
cargo build --release --quiet -p cs-tests --bin bench-events
target_dir="${CARGO_TARGET_DIR:-target}"
# bench-events starts this binary (the test helper otherwise looks beside a test executable).
export CAMERA_SERVICE_BIN="$target_dir/release/camera-service"

echo "== end to end: service + WebSocket transport =="
"$target_dir/release/bench-events" "$@"
echo
echo "== the event hub alone (in-process) =="
"$target_dir/release/examples/hub_fanout"
