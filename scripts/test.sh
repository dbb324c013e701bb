#!/usr/bin/env bash
# The whole test suite: unit, property and black-box tests (real binary, real ffmpeg,
# FUSE fake cameras, fake and real MediaMTX), then the clients' tests (scripts/test-clients.sh).
# Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

# CI here has FUSE: its fake-camera tests must run there, not skip.
if [ "${CI:-}" = "true" ]; then export CS_REQUIRE_FUSE=1; fi
# The console's browser tests (tests/tests/console.rs) must run in CI, not skip; their
# screenshots are kept in target/console-screenshots/.
if [ "${CI:-}" = "true" ]; then export CS_REQUIRE_BROWSER=1; fi

# The real MediaMTX (scripts/lib.sh's find_mediamtx): its tests run whenever one is found; in
# CI a missing one fails the run, as a missing FUSE does. Each real-MediaMTX test writes
# "ran NAME" or "skipped NAME" to CS_MEDIAMTX_REPORT, counted after the run.
MEDIAMTX_BIN="$(find_mediamtx)"
if [ -n "$MEDIAMTX_BIN" ]; then
    export MEDIAMTX_BIN
    echo "real MediaMTX: $MEDIAMTX_BIN ($("$MEDIAMTX_BIN" --version 2>/dev/null || echo "version unknown"))" >&2
    export CS_REQUIRE_MEDIAMTX=1
else
    unset MEDIAMTX_BIN
    if [ "${CI:-}" = "true" ]; then
        echo "CI: a real MediaMTX is required (MEDIAMTX_BIN, ../shared/mediamtx/bin/mediamtx or mediamtx on PATH)" >&2
        exit 1
    fi
    echo "no MediaMTX binary found: the real-MediaMTX tests will be reported as skipped" >&2
fi
CS_MEDIAMTX_REPORT="$(mktemp)"
export CS_MEDIAMTX_REPORT
trap 'rm -f "$CS_MEDIAMTX_REPORT"' EXIT

report_mediamtx() {
    local ran skipped
    # awk, not grep: no match is not an error (set -e with pipefail).
    ran=$(awk '/^ran /' "$CS_MEDIAMTX_REPORT" | sort -u | wc -l)
    skipped=$(awk '/^skipped /' "$CS_MEDIAMTX_REPORT" | sort -u | wc -l)
    echo "real-MediaMTX tests: $ran ran, $skipped skipped" >&2
    awk '/^skipped /' "$CS_MEDIAMTX_REPORT" | sed 's/^/  /' >&2
}

# Build once, test many.
cargo build --workspace --all-targets
# The .deb from that debug build, for tests/tests/package.rs (CI must run them, not skip).
CS_PACKAGE_DEB="$(scripts/package.sh --test)"
export CS_PACKAGE_DEB
if [ "${CI:-}" = "true" ]; then export CS_REQUIRE_PACKAGE=1; fi
status=0
if command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast || status=$?
else
    cargo test --workspace --no-fail-fast || status=$?
fi
report_mediamtx
# The TypeScript and Python clients (clients/): generated files current, builds, their tests
# against the binary built above.
bash scripts/test-clients.sh || status=1
# The first run as documented: the demo's printed commands and the README's example session.
bash scripts/demo-check.sh || status=1
exit "$status"
