# Shared by the scripts: install what the project needs on a Debian machine (as root).

need_apt=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)
# The FUSE test bench mounts with the kernel's fuse module; fusermount3 helps where a
# direct mount is refused.
command -v fusermount3 >/dev/null 2>&1 || need_apt+=(fuse3)
# The package tests: dpkg-deb (and dpkg-shlibdeps for cargo-deb), systemd-analyze verify.
command -v dpkg-shlibdeps >/dev/null 2>&1 || need_apt+=(dpkg-dev)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# The MQTT bridge's tests and bench run a real broker (and its clients for manual checks).
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need_apt+=(mosquitto mosquitto-clients)
# The web console's browser tests drive headless Chromium through chromedriver.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)

# Installs the Debian packages named (none: nothing), as root.
apt_install() {
    [ $# -gt 0 ] || return 0
    echo "installing: $*" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "run as root (or install $* yourself)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_packages() {
    apt_install "${need_apt[@]}"
    if ! command -v cargo >/dev/null 2>&1; then
        echo "a Rust toolchain (cargo, rustc >= 1.88) is needed: see README.md" >&2
        exit 1
    fi
}

# The real MediaMTX, when one is found: $MEDIAMTX_BIN, else ../shared/mediamtx/bin/mediamtx
# (beside the project), else `mediamtx` on PATH. Prints its absolute path, or nothing.
find_mediamtx() {
    local root candidate
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    for candidate in "${MEDIAMTX_BIN:-}" "$root/../shared/mediamtx/bin/mediamtx" "$(command -v mediamtx 2>/dev/null || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            (cd "$(dirname "$candidate")" && echo "$PWD/$(basename "$candidate")")
            return 0
        fi
    done
    return 0
}
