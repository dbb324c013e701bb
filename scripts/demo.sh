#!/usr/bin/env bash
# Starts camera-service with two simulated cameras on 127.0.0.1:8002 (no camera, no
# MediaMTX needed), prints an admin token and a ready-to-paste call, runs until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

cargo build --release -p cs-app
bin="$PWD/target/release/camera-service"
state="${CAMERA_SERVICE_DEMO_DIR:-/tmp/camera-service-demo}"
port="${CAMERA_SERVICE_DEMO_PORT:-8002}"
mkdir -p "$state/sim"
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
logging: {level: info, audit_file: $state/audit.log}
YAML
token="$("$bin" --config "$state/config.yaml" token --role admin --lifetime 24h)"
cat <<TXT

camera-service demo: two simulated cameras on ws://127.0.0.1:$port/ws (state in $state)

Admin token (24 h):
  export CAMERA_SERVICE_TOKEN=$token

Then, in another terminal:
  $bin call get_camera_list --url ws://127.0.0.1:$port/ws --token \$CAMERA_SERVICE_TOKEN
  $bin call take_snapshot '{"device": "camera0"}' --url ws://127.0.0.1:$port/ws --token \$CAMERA_SERVICE_TOKEN
  curl -s http://127.0.0.1:$port/health

Plug a third simulated camera:   echo 'index: 2' > $state/sim/camera2.yaml
Ctrl-C stops the service.

TXT
exec "$bin" --config "$state/config.yaml" serve
