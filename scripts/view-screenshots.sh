#!/usr/bin/env bash
# Regenerates the review page screenshots in docs/ (shown in README): the overview, the
# calls table filtered, and one call, of the page `postcall view` draws for the dialogues
# fixture report (real dialogues, values constructed from their labels), dated for the trends.
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
# The fixture's dialogues carry no dates (the datasets publish none), so the overview would
# have no trends to show: this copy spreads its calls over four weeks of March 2026, one
# day after another in report order, for the screenshot only.
python3 - tests/fixtures/compare/dialogues.report.json "$tmp/dialogues.report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for i, call in enumerate(report["calls"]):
    call["call"] = dict(call.get("call") or {}, started_at=f"2026-03-{1 + i % 28:02}T{9 + i % 8:02}:00:00Z")
json.dump(report, open(sys.argv[2], "w"))
PY
postcall="$(cd "$(dirname "$postcall")" && pwd)/$(basename "$postcall")"
# From the report's directory, so the page's header names the report, not a temporary path.
(cd "$tmp" && "$postcall" view dialogues.report.json -o review.html)
shot() {
    scripts/headless-chromium.sh --hide-scrollbars --force-color-profile=srgb --window-size="1280,${3:-860}" \
        --virtual-time-budget=3000 --screenshot="$PWD/docs/$1.png" "file://$tmp/review.html#$2" >/dev/null
    echo "docs/$1.png"
}
shot review-overview "tab=overview" 2000   # tall enough for the trends under the metrics
shot review-calls "tab=calls&where=outcome%3Dfailure&sort=issue_category"
shot review-call "tab=call&call=abcd-3592"
