#!/usr/bin/env bash
# Media benchmark (real ffmpeg, simulated cameras). Figures are printed, not judged.
# - direct mode: snapshot latency p50/p95 over 20 (cold: one ffmpeg per snapshot; and while
#   the camera records), and start_recording to the first byte of the file on disk;
# - media mode mediamtx: tier-2 snapshot (cold stream) and stream activation (start_streaming
#   -> ready; a raw RTSP reader's DESCRIBE -> first packet / first keyframe) over --cold fresh
#   starts, tier-1 snapshot (running stream) over 20.
# The stream figures are taken against a real MediaMTX when find_mediamtx (scripts/lib.sh)
# finds one (MEDIAMTX_BIN, ../shared/mediamtx/bin/mediamtx, PATH); otherwise, or with
# CS_BENCH_FAKE_MEDIAMTX=1, against the fake MediaMTX's RTSP relay (tests/fakemtx).
# Budget (docs/performance.md, Budgets; the bar when written): snapshot < 1.5 s from cold, < 150 ms when the stream is up.
#
# Usage: scripts/bench-media.sh [--snapshots N] [--recordings K] [--cold C] [--streams-only]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

cargo build --release --quiet -p cs-app --bin camera-service
cargo build --release --quiet -p cs-tests --bin bench-media
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
MEDIAMTX_BIN="$(find_mediamtx)"
if [ -n "$MEDIAMTX_BIN" ] && [ "${CS_BENCH_FAKE_MEDIAMTX:-}" != "1" ]; then
    export MEDIAMTX_BIN
    echo "stream figures with the real MediaMTX: $MEDIAMTX_BIN" >&2
else
    unset MEDIAMTX_BIN
    echo "stream figures with the FAKE MediaMTX (tests/fakemtx)" >&2
fi

CAMERA_SERVICE_BIN="$target_dir/release/camera-service" "$target_dir/release/bench-media" "$@"
