#!/usr/bin/env bash
# WebSocket benchmark: starts a release camera-service (two simulated cameras), opens N
# authenticated connections, drives ping and get_camera_list, prints connections held,
# throughput, latency percentiles, server RSS and CPU, then connection churn; last, RSS with
# ten simulated cameras and ACTIVE clients making calls.
#   CONNECTIONS (10000)  ACTIVE (1000)  BENCH_SECONDS (10)  CYCLES (10)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

CONNECTIONS="${CONNECTIONS:-10000}"
ACTIVE="${ACTIVE:-1000}"
# Not $SECONDS: bash counts seconds since the shell started in it.
SECONDS_EACH="${BENCH_SECONDS:-10}"
CYCLES="${CYCLES:-10}"
PORT="${PORT:-18102}"

cargo build --release -p cs-app -p cs-tests --bins
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
bin="$target_dir/release/camera-service"
bench="$target_dir/release/bench-ws"
state="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$state"' EXIT

# The service raises its own fd soft limit to the hard limit; the client needs it too.
ulimit -n "$(ulimit -Hn)"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Idle RSS with no cameras at all (the two default simulated cameras are off).
cat > "$state/bare.yaml" <<YAML
server: {host: 127.0.0.1, port: $PORT}
auth: {jwt_secret_file: $state/jwt-secret, keys_file: $state/keys.json}
storage: {recordings_dir: $state/rec, snapshots_dir: $state/snap, state_dir: $state}
camera: {simulated: []}
media: {mode: direct}
logging: {level: warning, format: json}
YAML
"$bin" --config "$state/bare.yaml" serve > "$state/log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; do kill -0 "$pid" || { cat "$state/log"; exit 1; }; sleep 0.005; done
sleep 2
echo "idle RSS, no cameras: $(( $(rss_kib "$pid") / 1024 )).$(( $(rss_kib "$pid") % 1024 * 10 / 1024 )) MiB"
kill "$pid"; wait "$pid" 2>/dev/null || true

cat > "$state/config.yaml" <<YAML
server: {host: 127.0.0.1, port: $PORT, max_connections: 60000}
auth:
  jwt_secret_file: $state/jwt-secret
  keys_file: $state/keys.json
  rate_per_second: 100000
  rate_burst: 100000
storage: {recordings_dir: $state/rec, snapshots_dir: $state/snap, state_dir: $state}
media: {mode: direct}
logging: {level: warning, format: json}
YAML
t0=$(date +%s%N)
"$bin" --config "$state/config.yaml" serve > "$state/log" 2>&1 &
pid=$!
until grep -q '"listening"' "$state/log" 2>/dev/null || curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; do
    kill -0 "$pid" || { cat "$state/log"; exit 1; }
    sleep 0.005
done
t1=$(date +%s%N)
echo "listening after $(( (t1 - t0) / 1000000 )) ms (process start to first answer)"
sleep 2
echo "idle RSS, two simulated cameras: $(( $(rss_kib "$pid") / 1024 )).$(( $(rss_kib "$pid") % 1024 * 10 / 1024 )) MiB"
token="$("$bin" --config "$state/config.yaml" token --role admin --lifetime 1h)"
url="ws://127.0.0.1:$PORT/ws"

echo "== ping, $ACTIVE active of $CONNECTIONS connections, 2000 req/s =="
"$bench" --url "$url" --token "$token" --pid "$pid" --connections "$CONNECTIONS" --active "$ACTIVE" \
    --rate 2000 --seconds "$SECONDS_EACH" --method ping
echo "== get_camera_list, $ACTIVE connections, 2000 req/s =="
"$bench" --url "$url" --token "$token" --pid "$pid" --connections "$ACTIVE" --active "$ACTIVE" \
    --rate 2000 --seconds "$SECONDS_EACH" --method get_camera_list
echo "== ping, $ACTIVE connections, 10000 req/s =="
"$bench" --url "$url" --token "$token" --pid "$pid" --connections "$ACTIVE" --active "$ACTIVE" \
    --rate 10000 --seconds "$SECONDS_EACH" --method ping
echo "== get_camera_list, $ACTIVE connections, 10000 req/s =="
"$bench" --url "$url" --token "$token" --pid "$pid" --connections "$ACTIVE" --active "$ACTIVE" \
    --rate 10000 --seconds "$SECONDS_EACH" --method get_camera_list
if [ "$CYCLES" -gt 0 ]; then
    echo "== churn: $CYCLES cycles of $CONNECTIONS connect/disconnect =="
    "$bench" --url "$url" --token "$token" --pid "$pid" --connections "$CONNECTIONS" --active 1 \
        --rate 10 --seconds 1 --method ping --cycles "$CYCLES"
fi
kill "$pid"; wait "$pid" 2>/dev/null || true

# Ten simulated cameras (from the config) and ACTIVE authenticated clients making calls.
{
    sed '/^media:/d' "$state/config.yaml"
    echo "media: {mode: direct}"
    echo "camera:"
    echo "  simulated:"
    for i in 0 1 2 3 4 5 6 7 8 9; do echo "    - {index: $i, name: Bench Camera $i}"; done
} > "$state/ten.yaml"
"$bin" --config "$state/ten.yaml" serve > "$state/log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; do kill -0 "$pid" || { cat "$state/log"; exit 1; }; sleep 0.005; done
until "$bin" --config "$state/ten.yaml" call get_camera_list 2>/dev/null | grep -q '"total": *10'; do
    kill -0 "$pid" || { cat "$state/log"; exit 1; }
    sleep 0.05
done
sleep 2
echo "idle RSS, ten simulated cameras: $(( $(rss_kib "$pid") / 1024 )).$(( $(rss_kib "$pid") % 1024 * 10 / 1024 )) MiB"
echo "== ten cameras, $ACTIVE clients: get_camera_list, then get_camera_capabilities, 2000 req/s =="
"$bench" --url "$url" --token "$token" --pid "$pid" --connections "$ACTIVE" --active "$ACTIVE" \
    --rate 2000 --seconds "$SECONDS_EACH" --method get_camera_list | tee "$state/ten.out"
"$bench" --url "$url" --token "$token" --pid "$pid" --connections "$ACTIVE" --active "$ACTIVE" \
    --rate 2000 --seconds "$SECONDS_EACH" --method get_camera_capabilities \
    --params '{"device": "camera7"}' | tee -a "$state/ten.out"
max_rss="$(grep -o 'RSS [0-9.]* MiB with [0-9]* connections' "$state/ten.out" | awk '{print $2}' | sort -n | tail -1)"
echo "RSS with ten cameras and $ACTIVE clients (budget 60 MB): $max_rss MiB"
