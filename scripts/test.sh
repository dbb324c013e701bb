#!/usr/bin/env bash
# The whole test suite: unit, property and black-box tests (real binary, real ffmpeg,
# FUSE fake cameras, fake MediaMTX). Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

# Build once, test many.
cargo build --workspace --all-targets
if command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
