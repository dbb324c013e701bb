#!/usr/bin/env bash
# Runs scripts/demo.sh as a new user would and follows what it prints, verbatim, in a fresh
# shell: the `export` line, every printed command, then the README's example session. Fails
# (exit 1, saying which command) when one does not work; stops the demo and checks that
# nothing it started is left running. Part of scripts/test.sh.
#
# CAMERA_SERVICE_BIN: the binary to run (default: the debug build under CARGO_TARGET_DIR or
# target/, which scripts/test.sh has just built).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
bin="${CAMERA_SERVICE_BIN:-$target_dir/debug/camera-service}"
[ -x "$bin" ] || { echo "demo check: no binary at $bin (build it first)" >&2; exit 1; }
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
out="$(mktemp)"
fail() {
    echo "demo check FAILED: $*" >&2
    echo "--- the demo printed:" >&2
    cat "$out" >&2
    exit 1
}

CAMERA_SERVICE_BIN="$bin" CAMERA_SERVICE_DEMO_PORT="$port" setsid scripts/demo.sh >"$out" 2>&1 &
demo=$!
cleanup() {
    kill -INT -- "-$demo" 2>/dev/null || true
    wait "$demo" 2>/dev/null || true
    rm -f "$out"
}
trap cleanup EXIT

for _ in $(seq 300); do
    grep -q '^Ctrl-C stops' "$out" && break
    kill -0 "$demo" 2>/dev/null || fail "the demo ended before it was ready"
    sleep 0.1
done
grep -q '^Ctrl-C stops' "$out" || fail "the demo was not ready within 30 s"

export_line="$(grep -E '^  export CAMERA_SERVICE_TOKEN=' "$out" | sed 's/^  //')"
[ -n "$export_line" ] || fail "no export line"
state="$(sed -n 's/^state (config, secret, files, logs): //p' "$out")"
[ -d "$state" ] || fail "the printed state directory '$state' does not exist"

# A fresh shell: only PATH and HOME from here, then what the demo told the user to paste.
fresh() {
    env -i PATH="$PATH" HOME="${HOME:-/root}" bash -c "$export_line
$1"
}

# Every printed command, verbatim (subscribe_events follows until Ctrl-C: give it 3 s).
ran=0
while IFS= read -r cmd; do
    case "$cmd" in
        *subscribe_events*)
            got="$(fresh "timeout -s INT 3 $cmd" || true)"
            ;;
        *)
            got="$(fresh "$cmd")" || fail "exit status $? from: $cmd"
            ;;
    esac
    case "$cmd" in
        *get_camera_list*) grep -q '"camera1"' <<<"$got" || fail "$cmd printed: $got" ;;
        *take_snapshot*) grep -q '"filename"' <<<"$got" || fail "$cmd printed: $got" ;;
        *subscribe_events*) : ;;
        *health*) grep -q '"status"' <<<"$got" || fail "$cmd printed: $got" ;;
    esac
    ran=$((ran + 1))
done < <(grep -E '^  (/|curl )' "$out" | grep -v ffplay | sed 's/^  //')
[ "$ran" -ge 4 ] || fail "expected at least 4 printed commands, ran $ran"

# The printed console address serves the page (the browser tests cover what it does).
console="$(sed -n 's/^Web console: \(http[^ ]*\).*/\1/p' "$out")"
[ -n "$console" ] || fail "no console line"
curl -fsS "$console" | grep -qi '<!doctype html' || fail "the console at $console did not answer with its page"
ran=$((ran + 1))

# The printed hot-plug line, then the follow shows the new camera's event.
plug="$(sed -n 's/^Plug a third simulated camera: *//p' "$out")"
[ -n "$plug" ] || fail "no hot-plug line"
events="$(mktemp)"
fresh "timeout -s INT 6 $bin call subscribe_events '{\"topics\": [\"camera.*\"]}'" >"$events" 2>/dev/null &
follow=$!
sleep 2
bash -c "$plug"
wait "$follow" || true
grep -q '"camera2"' "$events" || { cat "$events" >&2; rm -f "$events"; fail "no camera2 event after: $plug"; }
rm -f "$events"

# The README's example session (the lines after `cs=`), with the printed binary.
session="$(sed -n '/^## An example session/,/^```$/p;' README.md | sed -n '/^\$cs call/p' | grep -v subscribe_events)"
[ -n "$session" ] || fail "the README has no example session"
while IFS= read -r line; do
    got="$(fresh "cs=$bin; $line")" || fail "README: exit status $? from: $line"
    grep -q '{' <<<"$got" || fail "README: $line printed: $got"
    ran=$((ran + 1))
done <<<"$session"

# Ctrl-C stops the service and the MediaMTX the demo started; nothing is left running.
kill -INT -- "-$demo"
wait "$demo" 2>/dev/null || true
sleep 0.5
if pgrep -f -- "$state/" >/dev/null; then
    pgrep -af -- "$state/" >&2
    fail "processes of the demo are still running after Ctrl-C"
fi
rm -rf "$state"
echo "demo check: $ran commands printed by the demo and the README worked in a fresh shell" >&2
