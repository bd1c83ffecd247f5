#!/usr/bin/env bash
# Installs the system tools postcall's tests use besides cargo, one idempotent section per
# tool: a tool already there is left as it is, so a second run only checks. System packages
# come from Debian/Ubuntu (apt-get; root or sudo); Python tools go to venvs in a cache outside
# the repository. README's test command and .ci/run call it. With --bench it also builds the
# benchmark's S3 server (s3s-fs, with cargo install, a few minutes the first time), which the
# tests do not need.
set -euo pipefail

bench=false
for arg in "$@"; do
    case "$arg" in
        --bench) bench=true ;;
        *) printf 'install-test-tools: unknown argument %s (the only one is --bench)\n' "$arg" >&2; exit 2 ;;
    esac
done

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

# --- moto: the S3-compatible server of the object-storage tests (tests/cli/objstore.rs) ----
# Into a venv of its own outside the repository (no root needed), where
# crates/postcall-testkit/src/s3.rs runs `$dir/moto/bin/python -m moto.server`:
#   ${POSTCALL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/postcall/tools}/moto
MOTO_VERSION=5.2.5
tools="${POSTCALL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/postcall/tools}"
moto="$tools/moto"
python="${PYTHON:-python3}"
if [[ -x "$moto/bin/python" ]] \
    && "$moto/bin/python" -c "import moto, moto.server, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    say "moto $MOTO_VERSION: $moto"
else
    command -v "$python" >/dev/null || die "python3 is needed for moto (the S3-compatible test server)"
    say "installing moto[server]==$MOTO_VERSION into $moto"
    rm -rf "$moto" && mkdir -p "$tools"
    "$python" -m venv "$moto" || die "python3 -m venv failed: install python3-venv"
    "$moto/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    "$moto/bin/python" -c "import moto.server" || die "moto installed but moto.server does not import"
fi

# --- s3s-fs (--bench only): the benchmark's S3-compatible server (postcall-bench -s s3) -----
# moto serves ~260 objects/s on 2 cores, too slow to measure postcall against; s3s-fs (Rust,
# a directory served as S3) is built from crates.io into the same cache, where
# crates/postcall-testkit/src/s3_fs.rs runs `$tools/s3s-fs/bin/s3s-fs`. 0.14 is the last
# release that builds with Rust 1.95.
S3S_FS_VERSION=0.14.1
s3s_fs="$tools/s3s-fs"
if [[ "$bench" == true ]]; then
    if [[ -x "$s3s_fs/bin/s3s-fs" ]] && [[ "$("$s3s_fs/bin/s3s-fs" --version 2>/dev/null)" == "s3s-fs $S3S_FS_VERSION" ]]; then
        say "s3s-fs $S3S_FS_VERSION: $s3s_fs/bin/s3s-fs"
    else
        command -v cargo >/dev/null || die "cargo is needed to build s3s-fs (the benchmark's S3 server)"
        say "building s3s-fs $S3S_FS_VERSION into $s3s_fs (cargo install; a few minutes)"
        build="$(mktemp -d)"
        CARGO_TARGET_DIR="$build" cargo install --quiet --locked "s3s-fs@$S3S_FS_VERSION" --features binary \
            --root "$s3s_fs" || { rm -rf "$build"; die "cargo install s3s-fs failed"; }
        rm -rf "$build"
        "$s3s_fs/bin/s3s-fs" --version >/dev/null || die "s3s-fs installed but does not run"
    fi
fi
