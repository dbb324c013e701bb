#!/usr/bin/env bash
# The clients' checks and tests (clients/): the generated files are current (generate.py --check
# against the binary's `openrpc`), the generator's own tests, the committed TypeScript dist/ is
# what tsc builds, the Node tests, mypy --strict and pytest for Python. The client tests run
# against the real binary (target/debug/camera-service, built here when missing).
# Installs what it needs on a fresh Debian machine as root: nodejs/npm and python3-venv when
# missing, a venv under target/clients-venv, `npm ci`. Exits non-zero on any failure; a step
# that cannot run is reported as skipped (in CI, where everything can run, that is a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
venv="$target_dir/clients-venv"

passed=0 failed=0 skipped=0
failures=() skips=()
pass() { passed=$((passed + ${2:-1})); echo "ok: $1" >&2; }
fail() { failed=$((failed + ${2:-1})); failures+=("$1"); echo "FAILED: $1" >&2; }
skip() { skipped=$((skipped + ${2:-1})); skips+=("$1"); echo "skipped: $1" >&2; }

source scripts/lib.sh
client_apt=()
command -v node >/dev/null 2>&1 || client_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || client_apt+=(npm)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || client_apt+=(python3-venv)
apt_install "${client_apt[@]}"

# The binary the generator asks for its document and the tests run.
bin="${CAMERA_SERVICE_BIN:-$target_dir/debug/camera-service}"
if [ -z "${CAMERA_SERVICE_BIN:-}" ]; then
    cargo build -q -p cs-app || { fail "cargo build -p cs-app"; }
fi
export CAMERA_SERVICE_BIN="$bin"

# Python: a venv with the pinned tools, and the client installed as a user would.
py_ok=1
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || py_ok=0
fi
if [ "$py_ok" = 1 ]; then
    "$venv/bin/pip" install -q -r clients/python/requirements-dev.txt \
        && "$venv/bin/pip" install -q --force-reinstall --no-deps ./clients/python \
        || py_ok=0
fi
[ "$py_ok" = 1 ] || fail "python venv and pip install ./clients/python"

# Counts from pytest's summary line ("3 passed, 1 skipped in 0.5s").
count_pytest() {
    local log="$1" what="$2" p f s e
    p=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | cut -d' ' -f1)
    f=$(grep -Eo '[0-9]+ failed' "$log" | tail -1 | cut -d' ' -f1)
    e=$(grep -Eo '[0-9]+ errors?' "$log" | tail -1 | cut -d' ' -f1)
    s=$(grep -Eo '[0-9]+ skipped' "$log" | tail -1 | cut -d' ' -f1)
    [ -n "$p" ] && passed=$((passed + p))
    [ -n "$s" ] && { skipped=$((skipped + s)); skips+=("$what: $s"); }
    if [ -n "$f$e" ]; then failed=$((failed + ${f:-0} + ${e:-0})); failures+=("$what"); fi
    echo "$what: ${p:-0} passed, ${f:-0} failed, ${e:-0} errors, ${s:-0} skipped" >&2
}

# 1. The generated files are current.
if python3 clients/generate.py --check; then pass "generated files current"; else fail "generated files current (clients/generate.py --check)"; fi

if [ "$py_ok" = 1 ]; then
    # 2. The generator's own tests.
    log="$(mktemp)"
    "$venv/bin/python" -m pytest -q -p no:cacheprovider clients/tests 2>&1 | tee "$log" >&2
    rc=${PIPESTATUS[0]}
    count_pytest "$log" "generator tests (pytest)"
    [ "$rc" = 0 ] || [ -n "$(grep -Eo '[0-9]+ failed' "$log")" ] || fail "generator tests exited $rc"
    # 3. mypy --strict on the package and its tests.
    if (cd clients/python && "$venv/bin/mypy" --strict --no-incremental camera_service_client tests) >&2; then
        pass "mypy --strict clients/python"
    else
        fail "mypy --strict clients/python"
    fi
    # 4. The Python client against the real binary.
    (cd clients/python && "$venv/bin/python" -m pytest -q -p no:cacheprovider -rs tests) 2>&1 | tee "$log" >&2
    rc=${PIPESTATUS[0]}
    count_pytest "$log" "python client tests (pytest)"
    [ "$rc" = 0 ] || [ -n "$(grep -Eo '[0-9]+ failed' "$log")" ] || fail "python client tests exited $rc"
    rm -f "$log"
else
    skip "generator tests, mypy, python client tests (no venv)" 3
fi

# 5. TypeScript: npm ci, the committed dist/ is what tsc builds, the Node tests.
ts=clients/typescript
if (cd "$ts" && npm ci --no-audit --no-fund --loglevel=error) >&2; then
    out="$(mktemp -d)"
    if (cd "$ts" && npx --no-install tsc -p tsconfig.json --outDir "$out") >&2; then
        if diff -r "$out" "$ts/dist" >&2; then
            pass "tsc build, dist/ current"
        else
            fail "dist/ is stale: scripts/regenerate-clients.sh, then commit clients/"
        fi
    else
        fail "tsc build"
    fi
    rm -rf "$out"
    # The typed API as a TypeScript user writes it (test/types: compiled, not run).
    if (cd "$ts" && npx --no-install tsc -p test/tsconfig.json) >&2; then
        pass "typescript usage type-checks (test/types)"
    else
        fail "typescript usage type-checks (test/types)"
    fi
    # Node >= 22 has a global WebSocket; Node 20.10+ has it behind --experimental-websocket.
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    flags=()
    if [ "$node_major" -lt 22 ]; then flags=(--experimental-websocket); fi
    if node "${flags[@]}" -e 'if (typeof WebSocket !== "function") process.exit(1)' 2>/dev/null; then
        log="$(mktemp)"
        (cd "$ts" && node "${flags[@]}" --test --test-concurrency=1 test/client.test.mjs) 2>&1 | tee "$log" >&2
        rc=${PIPESTATUS[0]}
        p=$(awk '/^# pass /{print $3}' "$log" | tail -1)
        f=$(awk '/^# fail /{print $3}' "$log" | tail -1)
        s=$(awk '/^# skipped /{print $3}' "$log" | tail -1)
        c=$(awk '/^# cancelled /{print $3}' "$log" | tail -1)
        passed=$((passed + ${p:-0}))
        [ "${s:-0}" -gt 0 ] && { skipped=$((skipped + s)); skips+=("typescript client tests: $s"); }
        if [ "${f:-0}" -gt 0 ] || [ "${c:-0}" -gt 0 ] || [ "$rc" != 0 ]; then
            failed=$((failed + ${f:-0} + ${c:-0})); failures+=("typescript client tests (exit $rc)")
        fi
        echo "typescript client tests (node $(node --version)${flags[*]:+ ${flags[*]}}): ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped" >&2
        rm -f "$log"
    else
        skip "typescript client tests: node $(node --version) has no WebSocket (Node >= 22, or >= 20.10 with --experimental-websocket)"
    fi
else
    fail "npm ci in clients/typescript"
    skip "tsc build check, type check and typescript client tests (no node_modules)" 3
fi

echo "client tests: passed $passed, failed $failed, skipped $skipped" >&2
for f in "${failures[@]}"; do echo "  failed: $f" >&2; done
for s in "${skips[@]}"; do echo "  skipped: $s" >&2; done
if [ "$failed" -gt 0 ]; then exit 1; fi
if [ "$skipped" -gt 0 ] && [ "${CI:-}" = "true" ]; then
    echo "CI: every client test must run" >&2
    exit 1
fi
exit 0
