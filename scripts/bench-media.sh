#!/usr/bin/env bash
# Media benchmark (direct mode, real ffmpeg, simulated cameras): snapshot latency p50/p95
# over 20 (cold: one ffmpeg per snapshot; and while the camera records), and the time from
# start_recording to the first byte of the file on disk. Figures are printed, not judged.
# Budget (DESIGN.md): snapshot < 1.5 s from cold, < 150 ms when the stream is up.
# With MEDIAMTX_BIN set (a MediaMTX binary): stream activation and tier 1/2 snapshots too.
#
# Usage: scripts/bench-media.sh [--snapshots N] [--recordings K]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

cargo build --release --quiet -p cs-app --bin camera-service
cargo build --release --quiet -p cs-tests --bin bench-media
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

CAMERA_SERVICE_BIN="$target_dir/release/camera-service" "$target_dir/release/bench-media" "$@"
