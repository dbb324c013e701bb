#!/usr/bin/env bash
# The whole test suite: unit, property and black-box tests (real binary, real ffmpeg,
# FUSE fake cameras, fake MediaMTX). Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

# CI here has FUSE: its fake-camera tests must run there, not skip.
if [ "${CI:-}" = "true" ]; then export CS_REQUIRE_FUSE=1; fi

# Build once, test many.
cargo build --workspace --all-targets
# The .deb from that debug build, for tests/tests/package.rs (CI must run them, not skip).
CS_PACKAGE_DEB="$(scripts/package.sh --test)"
export CS_PACKAGE_DEB
if [ "${CI:-}" = "true" ]; then export CS_REQUIRE_PACKAGE=1; fi
if command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
