#!/usr/bin/env bash
# Regenerates the review page screenshots in docs/ (shown in README): the overview, the
# calls table filtered, and one call, of the page `postcall view` draws for the dialogues
# fixture report (real dialogues, values constructed from their labels).
# POSTCALL=path/to/postcall picks the binary; by default a debug build is made.
set -euo pipefail
cd "$(dirname "$0")/.."
postcall="${POSTCALL:-}"
if [[ -z "$postcall" ]]; then
    cargo build --locked --quiet
    postcall="${CARGO_TARGET_DIR:-target}/debug/postcall"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p docs
"$postcall" view tests/fixtures/compare/dialogues.report.json -o "$tmp/review.html"
shot() {
    scripts/headless-chromium.sh --hide-scrollbars --force-color-profile=srgb --window-size=1280,860 \
        --virtual-time-budget=3000 --screenshot="$PWD/docs/$1.png" "file://$tmp/review.html#$2" >/dev/null
    echo "docs/$1.png"
}
shot review-overview "tab=overview"
shot review-calls "tab=calls&where=outcome%3Dfailure&sort=issue_category"
shot review-call "tab=call&call=abcd-3592"
