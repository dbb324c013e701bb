#!/usr/bin/env bash
# Starts camera-service with two simulated cameras on 127.0.0.1 (port $CAMERA_SERVICE_DEMO_PORT,
# default 8002), prints an admin token and ready-to-paste commands, runs until Ctrl-C.
# With a MediaMTX binary (scripts/lib.sh find_mediamtx) it starts its own MediaMTX on free
# loopback ports and runs the service in `mediamtx` mode (stream URLs for VLC/ffplay);
# otherwise `direct`. It never touches a MediaMTX it did not start.
# State: a fresh directory per run, unless $CAMERA_SERVICE_DEMO_DIR names one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
# CAMERA_SERVICE_BIN runs that binary (no build); CAMERA_SERVICE_DEMO_PROFILE=debug skips the
# (slow, fat-LTO) release build.
if [ -n "${CAMERA_SERVICE_BIN:-}" ]; then
    bin="$(cd "$(dirname "$CAMERA_SERVICE_BIN")" && pwd)/$(basename "$CAMERA_SERVICE_BIN")"
elif [ "${CAMERA_SERVICE_DEMO_PROFILE:-release}" = debug ]; then
    cargo build -p cs-app
    bin="$(cd "$target_dir/debug" && pwd)/camera-service"
else
    cargo build --release -p cs-app
    bin="$(cd "$target_dir/release" && pwd)/camera-service"
fi
port="${CAMERA_SERVICE_DEMO_PORT:-8002}"
if [ -n "${CAMERA_SERVICE_DEMO_DIR:-}" ]; then
    state="$CAMERA_SERVICE_DEMO_DIR"
    mkdir -p "$state"
else
    state="$(mktemp -d /tmp/camera-service-demo.XXXXXX)"
fi
state="$(cd "$state" && pwd)"
mkdir -p "$state/sim"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mtx="$(find_mediamtx)"
media="media: {mode: direct}"
if [ -n "$mtx" ]; then
    api=$(free_port) rtsp=$(free_port) hls=$(free_port) webrtc=$(free_port) udp=$(free_port)
    cat > "$state/mediamtx.yml" <<YAML
logLevel: warn
api: yes
apiAddress: 127.0.0.1:$api
rtspAddress: 127.0.0.1:$rtsp
rtspTransports: [tcp]
rtmp: no
srt: no
hls: yes
hlsAddress: 127.0.0.1:$hls
webrtc: yes
webrtcAddress: 127.0.0.1:$webrtc
webrtcLocalUDPAddress: 127.0.0.1:$udp
paths:
  all_others:
YAML
    "$mtx" "$state/mediamtx.yml" >"$state/mediamtx.log" 2>&1 &
    pids+=($!)
    media="media: {mode: mediamtx}
mediamtx: {api_url: 'http://127.0.0.1:$api', rtsp_port: $rtsp, hls_port: $hls, webrtc_port: $webrtc}"
fi

cat > "$state/config.yaml" <<YAML
server: {host: 127.0.0.1, port: $port, public_host: 127.0.0.1}
auth:
  jwt_secret_file: $state/jwt-secret
  keys_file: $state/api-keys.json
camera:
  simulated:
    - {index: 0, name: "Demo Camera 0", pattern: testsrc2}
    - {index: 1, name: "Demo Camera 1", pattern: smptebars}
  simulated_dir: $state/sim
storage:
  recordings_dir: $state/recordings
  snapshots_dir: $state/snapshots
  state_dir: $state
  min_free_bytes: 104857600
$media
logging: {level: info, audit_file: $state/audit.log}
YAML
token="$("$bin" --config "$state/config.yaml" token --role admin --lifetime 24h 2>/dev/null)"
"$bin" --config "$state/config.yaml" serve >"$state/service.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    grep -q '"listening"\|listening' "$state/service.log" 2>/dev/null && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$state/service.log" >&2; exit 1; }
    sleep 0.1
done

cat <<TXT

camera-service demo: two simulated cameras on ws://127.0.0.1:$port/ws
state (config, secret, files, logs): $state
TXT
if [ -n "$mtx" ]; then
    cat <<TXT
media: its own MediaMTX ($mtx), API 127.0.0.1:$api; streams (VLC/ffplay):
  ffplay -rtsp_transport tcp rtsp://127.0.0.1:$rtsp/camera0
  ffplay -rtsp_transport tcp rtsp://127.0.0.1:$rtsp/camera1
TXT
else
    echo "media: direct (no MediaMTX found; set MEDIAMTX_BIN for streams)"
fi
cat <<TXT

In another terminal:
  export CAMERA_SERVICE_TOKEN=$token CAMERA_SERVICE_CONFIG=$state/config.yaml
  $bin call get_camera_list
  $bin call take_snapshot '{"device": "camera0"}'
  $bin call subscribe_events '{"topics": ["camera.*"]}'
  curl -s http://127.0.0.1:$port/health

Web console: http://127.0.0.1:$port/ (log in with the token above)
Plug a third simulated camera:   echo 'index: 2' > $state/sim/camera2.yaml
Ctrl-C stops the service$([ -n "$mtx" ] && echo " and its MediaMTX").

TXT
wait "${pids[-1]}"
