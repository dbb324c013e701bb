#!/usr/bin/env bash
# Authentication storm benchmark (issue #11, finding 2): starts a release camera-service with
# no cameras, adds two API keys (one then revoked), and has CONNECTIONS connections send
# `authenticate` for BENCH_SECONDS each:
#   1. the live key itself (clients reconnecting with the right key);
#   2. the known id of the live key with a fresh wrong secret on every call (the storm);
#   3. the revoked key itself;
#   4. the live key again, right after the storm, from the same (throttled) address.
# For each it prints the server's RSS before, during (peak and last) and after (at once and
# SETTLE seconds later), the answers by outcome and their latency. Budget: RSS <= 50 MB
# during and after.
#   CONNECTIONS (6)  BENCH_SECONDS (10)  INFLIGHT (16)  SETTLE (5)
# A quicker build for a try: CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

CONNECTIONS="${CONNECTIONS:-6}"
SECONDS_EACH="${BENCH_SECONDS:-10}"
INFLIGHT="${INFLIGHT:-16}"
SETTLE="${SETTLE:-5}"
PORT="${PORT:-18112}"

cargo build --release -p cs-app -p cs-tests --bins
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
bin="$target_dir/release/camera-service"
bench="$target_dir/release/bench-auth"
state="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$state"' EXIT

# The defaults a production box runs with (rate limits, verification slots, backoff), on
# loopback, no cameras, the audit log in a file of its own.
cat > "$state/config.yaml" <<YAML
server: {host: 127.0.0.1, port: $PORT}
auth: {jwt_secret_file: $state/jwt-secret, keys_file: $state/keys.json}
storage: {recordings_dir: $state/rec, snapshots_dir: $state/snap, state_dir: $state}
camera: {simulated: []}
media: {mode: direct}
logging: {level: warning, format: json, audit_file: $state/audit.log}
YAML
cs() { "$bin" --config "$state/config.yaml" "$@"; }
live="$(cs keys add --role admin --label bench-live | tail -1)"
revoked="$(cs keys add --role admin --label bench-revoked | tail -1)"
revoked_id="$(echo "$revoked" | cut -d_ -f2)"
cs keys revoke "$revoked_id" > /dev/null

"$bin" --config "$state/config.yaml" serve > "$state/log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; do
    kill -0 "$pid" || { cat "$state/log"; exit 1; }
    sleep 0.01
done
sleep 1
url="ws://127.0.0.1:$PORT/ws"
storm() {
    "$bench" --url "$url" --pid "$pid" --connections "$CONNECTIONS" --seconds "$SECONDS_EACH" \
        --inflight "$INFLIGHT" --settle "$SETTLE" "$@"
}
echo "== 1. $CONNECTIONS connections x $SECONDS_EACH s of the right key =="
storm --key "$live" --mode as-is
echo "== 2. $CONNECTIONS connections x $SECONDS_EACH s of wrong secrets for a known key id =="
storm --key "$live" --mode wrong
echo "== 3. $CONNECTIONS connections x $SECONDS_EACH s of a revoked key =="
storm --key "$revoked" --mode as-is
echo "== 4. the right key again, from the address that stormed =="
storm --key "$live" --mode as-is --seconds 2
echo "audit log: $(wc -l < "$state/audit.log") lines, $(wc -c < "$state/audit.log") bytes"
echo "final RSS: $(( $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
