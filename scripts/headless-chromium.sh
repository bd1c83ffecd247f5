#!/usr/bin/env bash
# Runs Debian's chromium headless with the flags that work on the project's machines (no
# sandbox as root, no GPU, no network of its own, a throw-away profile), passing the rest of
# the arguments on: `scripts/headless-chromium.sh --dump-dom file:///…/review.html#tab=calls`.
# Used by scripts/view-screenshots.sh and scripts/measure-view.sh.
set -euo pipefail
browser="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$browser" ]] || { echo "headless-chromium: no chromium on PATH: run scripts/install-test-tools.sh" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" "$@" 2> >(grep -v -e dbus -e 'Fontconfig' >&2)
