#!/usr/bin/env bash
# Idle RSS: starts a release camera-service with the default configuration (its two
# simulated cameras; only paths and the port set), waits IDLE_SECS after it answers
# /health/live, reads VmRSS from /proc/<pid>/status, stops it; RUNS times per binary.
#   scripts/bench-idle.sh           # builds this tree (release) and measures it
#   scripts/bench-idle.sh BIN...    # measures the given binaries (e.g. builds of two branches)
#   RUNS (3)  IDLE_SECS (5)  PORT (18120)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
RUNS="${RUNS:-3}"
IDLE_SECS="${IDLE_SECS:-5}"
PORT="${PORT:-18120}"
if [ $# -eq 0 ]; then
    ensure_packages
    cargo build --release -p cs-app --bin camera-service
    set -- "${CARGO_TARGET_DIR:-$PWD/target}/release/camera-service"
fi
state="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$state"' EXIT
cat > "$state/config.yaml" <<YAML
server: {host: 127.0.0.1, port: $PORT}
auth: {jwt_secret_file: $state/jwt-secret, keys_file: $state/keys.json}
storage: {recordings_dir: $state/rec, snapshots_dir: $state/snap, state_dir: $state}
logging: {level: warning, format: json}
YAML
for bin in "$@"; do
    figures=()
    for _ in $(seq "$RUNS"); do
        "$bin" --config "$state/config.yaml" serve > "$state/log" 2>&1 &
        pid=$!
        until curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; do
            kill -0 "$pid" 2>/dev/null || { cat "$state/log"; exit 1; }
            sleep 0.01
        done
        sleep "$IDLE_SECS"
        figures+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")")
        kill "$pid"; wait "$pid" 2>/dev/null || true
        pid=""
    done
    printf '%s: idle VmRSS after %ss, KiB:' "$bin" "$IDLE_SECS"
    printf ' %s' "${figures[@]}"
    sorted=($(printf '%s\n' "${figures[@]}" | sort -n))
    printf '  (median %s KiB = %s MiB)\n' "${sorted[$(( ${#sorted[@]} / 2 ))]}" \
        "$(awk -v k="${sorted[$(( ${#sorted[@]} / 2 ))]}" 'BEGIN {printf "%.1f", k / 1024}')"
done
