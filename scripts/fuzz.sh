#!/usr/bin/env bash
# Fuzzes the WebSocket input path (raw bytes → frame decoder → JSON-RPC → params) with the
# stable harness in adapters/jsonrpc/tests/fuzz.rs. Usage: scripts/fuzz.sh [INPUTS] [SEED]
# (default 1,000,000 inputs). Prints the count; fails on the first panic, printing its input.
set -euo pipefail
cd "$(dirname "$0")/.."
export CS_FUZZ_INPUTS="${1:-1000000}"
export CS_FUZZ_SEED="${2:-$(date +%s)}"
cargo test -p cs-jsonrpc --test fuzz -- --nocapture
