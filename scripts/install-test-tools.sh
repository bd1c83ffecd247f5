#!/usr/bin/env bash
# Installs the system tools postcall's tests use besides cargo, one idempotent section per
# tool: a tool already there is left as it is, so a second run only checks. Debian/Ubuntu
# (apt-get); run as root, or with sudo available. README's test command and .ci/run call it.
set -euo pipefail

say() { printf 'install-test-tools: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

apt_install() {
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || die "installing $* needs root (or sudo)"
        sudo="sudo"
    fi
    command -v apt-get >/dev/null || die "no apt-get: install $* with your system's package manager"
    # The package lists may be missing or stale on a fresh machine.
    $sudo apt-get update -qq || say "apt-get update failed; trying the lists already there"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# --- chromium: the review page tests (tests/cli/view.rs) open pages headless ---------------
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    say "chromium: $(command -v chromium || command -v chromium-browser)"
else
    say "installing chromium (Debian's package) for the review page tests"
    apt_install chromium
    command -v chromium >/dev/null || die "chromium did not install"
fi
