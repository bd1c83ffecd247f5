#!/usr/bin/env bash
# Measures the review page of a large report in headless Chromium on this machine: the
# page's size without transcripts, the time it takes to open (navigation start to the
# first view drawn) and to filter the calls, as the page's own performance marks say
# (`#perf` data-open-ms / data-filter-ms, written into the DOM by page.js). The page draws,
# filters and sorts from its table columns before it reads the calls' text, so these are
# real times: `--dump-dom` without a virtual time budget dumps as soon as the page loaded.
#
#   scripts/measure-view.sh [CALLS]      (default 100000; README's figures)
#
# The report is synthetic: five metrics (enum, enum, integer, boolean, list), each answer
# with a confidence and a reasoning of REASONING_CHARS characters (default 60, what the
# fake endpoint's and small models' one-sentence reasons are), a summary, a start time.
# POSTCALL=path/to/postcall picks the binary; by default a release build is made.
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-100000}"
reasoning="${REASONING_CHARS:-60}"
runs="${RUNS:-3}"
postcall="${POSTCALL:-}"
if [[ -z "$postcall" ]]; then
    cargo build --release --locked --quiet
    postcall="${CARGO_TARGET_DIR:-target}/release/postcall"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 - "$calls" "$reasoning" > "$tmp/report.jsonl" <<'PY'
import json, random, sys
n, width = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(42)
words = "the customer agent said asked refund order account billing call back later confirmed date issue resolved".split()
def text(chars):
    out = []
    while sum(len(w) + 1 for w in out) < chars:
        out.append(rng.choice(words))
    return " ".join(out)[:chars].capitalize() + "."
outcomes = ["resolved", "escalated", "transferred", "abandoned", "callback_scheduled"]
categories = ["billing", "technical", "account", "delivery", "returns", "cancellation", "sales", "other"]
metrics = [
    {"id": "call_outcome", "type": "enum", "choices": outcomes, "prompt": "Outcome?", "required": True},
    {"id": "category", "type": "enum", "choices": categories, "prompt": "Category?"},
    {"id": "satisfaction", "type": "integer", "range": [1, 5], "prompt": "Satisfaction?"},
    {"id": "verified", "type": "boolean", "prompt": "Verified?"},
    {"id": "issues", "type": "list", "prompt": "Issues?"},
]
header = {"version": "0.1.0", "report_format": 1, "started_at": "2026-11-01T00:00:00Z",
          "finished_at": "2026-11-01T01:00:00Z", "complete": True, "calls_not_done": 0,
          "base_url": "http://127.0.0.1:1/v1", "model": "synthetic", "strategy": "per_call",
          "structured_output": "json_schema", "metrics_sha256": "0" * 64, "calls": n,
          "failed_calls": 0, "invalid_values": 0,
          "usage": {"requests": n, "cached": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}}
print(json.dumps({"postcall": header, "metric_definitions": metrics}))
def ok(value):
    return {"status": "ok", "value": value, "confidence": round(rng.uniform(0.4, 1.0), 2), "reasoning": text(width)}
for i in range(n):
    m = {
        "call_outcome": ok(rng.choice(outcomes)) if i % 50 else {"status": "invalid", "reason": "not one of the choices", "raw": "\"maybe\""},
        "category": ok(rng.choice(categories)),
        "satisfaction": ok(rng.randint(1, 5)),
        "verified": ok(rng.random() < 0.7) if i % 3 else {"status": "null", "reasoning": text(width)},
        "issues": ok(rng.sample(["late delivery", "refund", "login", "outage", "damaged item"], rng.randint(0, 2))),
    }
    day = 1 + i * 28 // n
    print(json.dumps({"call_id": f"call-{i:06d}", "source": f"calls/call-{i:06d}.json", "format": "generic",
                      "call": {"started_at": f"2026-10-{day:02d}T{i % 24:02d}:00:00Z"},
                      "summary": text(2 * width), "metrics": m,
                      "usage": {"requests": 1, "cached": 0, "retries": 0, "prompt_tokens": 900, "completion_tokens": 120}}))
print(json.dumps({"postcall": header}))
PY

start=$(date +%s.%N)
"$postcall" view "$tmp/report.jsonl" --transcripts none -o "$tmp/review.html"
written=$(date +%s.%N)
size=$(stat -c %s "$tmp/review.html")

mark() { # mark HASH NAME: one run's value of the page's data-NAME mark
    scripts/headless-chromium.sh --window-size=1280,900 --dump-dom "file://$tmp/review.html#$1" \
        | grep -o "<div id=\"perf\"[^>]*>" | grep -o "data-$2=\"[0-9.]*\"" | grep -o '[0-9.]*'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
open_ms=$(for _ in $(seq "$runs"); do mark "tab=overview" open-ms; done | median)
calls_ms=$(for _ in $(seq "$runs"); do mark "tab=calls" open-ms; done | median)
filter="tab=calls&where=call_outcome%3Descalated&where=satisfaction%3C%3D2"
filter_ms=$(for _ in $(seq "$runs"); do mark "$filter" filter-ms; done | median)

printf 'calls:                   %s (reasonings of %s characters)\n' "$calls" "$reasoning"
printf 'page size:               %s MB (without transcripts; target < 40 MB)\n' "$(awk -v s="$size" 'BEGIN {printf "%.1f", s / 1e6}')"
printf 'postcall view took:      %s s\n' "$(awk -v a="$start" -v b="$written" 'BEGIN {printf "%.1f", b - a}')"
printf 'open, overview drawn:    %s ms (median of %s; target < 2000 ms)\n' "$open_ms" "$runs"
printf 'open, calls table drawn: %s ms\n' "$calls_ms"
printf 'filter, 2 conditions:    %s ms (target < 200 ms)\n' "$filter_ms"
