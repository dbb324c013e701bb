#!/usr/bin/env bash
# After a change to the API's document (methods, params, results, events, errors): rebuild the
# binary, regenerate the clients' typed files from `camera-service openrpc` and rebuild the
# committed TypeScript dist/. Then commit clients/ and run scripts/test-clients.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CAMERA_SERVICE_BIN:-}" ]; then cargo build -q -p cs-app; fi
python3 clients/generate.py
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
git status --short clients
