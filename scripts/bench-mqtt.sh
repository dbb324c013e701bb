#!/usr/bin/env bash
# MQTT benchmark: a real Mosquitto on a loopback port (started and killed by the bench),
# a real camera-service with the MQTT bridge; prints event publish -> broker delivery
# latency (p50/p99) end to end, a burst's events/s, and the broker connection's own
# throughput. Budget (docs/performance.md, Budgets): event -> broker delivery p99 <= 20 ms on loopback.
#
# Usage: scripts/bench-mqtt.sh [ROUNDS] [BURST] [MESSAGES]
# PROFILE=release builds without fat LTO (faster to build; figures close to the shipped binary).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

profile="${PROFILE:-debug}"
target_dir="${CARGO_TARGET_DIR:-target}"
if [ "$profile" = release ]; then
    export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
    cargo build --release --quiet -p cs-app --bin camera-service
    cargo build --release --quiet -p cs-tests --bin bench-mqtt
else
    cargo build --quiet -p cs-app --bin camera-service
    cargo build --quiet -p cs-tests --bin bench-mqtt
fi
# bench-mqtt starts this binary (the test helper otherwise looks beside a test executable).
export CAMERA_SERVICE_BIN="$target_dir/$profile/camera-service"
echo "profile: $profile; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$target_dir/$profile/bench-mqtt" "$@"
