#!/usr/bin/env bash
# Builds the Debian package with cargo-deb: target/debian/camera-service_<version>_<arch>.deb
# (release profile); prints its absolute path. `--test`: packs the debug build the test command already made
# (cargo build --workspace --all-targets) into target/debian-test/ instead, so the package
# tests need no second, fat-LTO release build; prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

# Pinned: the package tests check its output, and later versions refuse the dev profile.
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
    echo "installing cargo-deb $CARGO_DEB_VERSION" >&2
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION" >&2
fi

target="${CARGO_TARGET_DIR:-target}"
if [ "${1:-}" = "--test" ]; then
    out="$target/debian-test"
    rm -rf "$out"
    cargo deb -p cs-app --no-build --profile dev --fast --quiet -o "$out/" >&2
else
    out="$target/debian"
    cargo deb -p cs-app -o "$out/" >&2
fi
readlink -f "$out"/camera-service_*.deb
