#!/usr/bin/env bash
# WebSocket benchmark: starts a release camera-service (two simulated cameras), opens N
# authenticated connections, drives ping and get_camera_list, prints connections held,
# throughput, latency percentiles, server RSS and CPU, then connection churn.
#   CONNECTIONS (10000)  ACTIVE (1000)  SECONDS (10)  CYCLES (10)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

CONNECTIONS="${CONNECTIONS:-10000}"
ACTIVE="${ACTIVE:-1000}"
SECONDS_EACH="${SECONDS:-10}"
CYCLES="${CYCLES:-10}"
PORT="${PORT:-18102}"

cargo build --release -p cs-app -p cs-tests --bins
bin="$PWD/target/release/camera-service"
bench="$PWD/target/release/bench-ws"
state="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$state"' EXIT

ulimit -n "$(ulimit -Hn)"
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
sleep 1
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
if [ "$CYCLES" -gt 0 ]; then
    echo "== churn: $CYCLES cycles of $CONNECTIONS connect/disconnect =="
    "$bench" --url "$url" --token "$token" --pid "$pid" --connections "$CONNECTIONS" --active 1 \
        --rate 10 --seconds 1 --method ping --cycles "$CYCLES"
fi
