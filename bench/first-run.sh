#!/usr/bin/env bash
# The first run, measured (issue 10): README's first command, run as a new user runs it, in
# a fresh clone of this repository in an empty temporary directory. Prints the wall time of
# the whole command and of the run itself, the share of values that ended ok / null /
# not_applicable, how many answers were cut off at the token limit, the completion tokens
# per call (max and mean) against the target of 60 × metrics + 100, and the load average
# (the machine is often shared: quote it with the times).
#
#   bench/first-run.sh                 # a fresh clone, a fresh build (the honest number)
#   CARGO_TARGET_DIR=target bench/first-run.sh   # reuse a build, to time the run alone
#
# The local model is installed by the command itself (scripts/install-local-model.sh is
# idempotent: when it has run before it only verifies, in seconds).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/postcall-first-run.XXXXXX")"
# Not `exec`: the trap must outlive every step, so the clone is removed however this ends.
trap 'rm -rf "$work"' EXIT

say() { printf 'first-run: %s\n' "$*" >&2; }

git clone --quiet --no-hardlinks "$repo" "$work/postcall"
# Uncommitted changes are part of what is measured when measuring a work tree.
if ! git -C "$repo" diff --quiet HEAD; then
  git -C "$repo" diff HEAD | git -C "$work/postcall" apply
fi
cd "$work/postcall"

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "running README's first command in $work/postcall (load average $load_before)"
started=$(date +%s.%N)
# README's `A && B`, with the instant between them taken so the total splits into the
# install, postcall's build and the run itself.
scripts/install-local-model.sh
installed=$(date +%s.%N)
cargo run -- run -m metrics.example.yaml examples/transcripts -o report.csv -o report.json
ended=$(date +%s.%N)
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$started" "$installed" "$ended" "$load_before" "$load_after" metrics.example.yaml report.json <<'PY'
import json, sys
from datetime import datetime

started, installed, ended, load_before, load_after, metrics_file, report_file = sys.argv[1:]
report = json.load(open(report_file))
header = report["postcall"]

def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

run_secs = (instant(header["finished_at"]) - instant(header["started_at"])).total_seconds()
metrics = len(report["metrics"])
statuses = {}
for call in report["calls"]:
    for result in call["metrics"].values():
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
values = sum(statuses.values())
settled = sum(statuses.get(s, 0) for s in ("ok", "null", "not_applicable"))
tokens = [call["usage"]["completion_tokens"] for call in report["calls"]]
bound = 60 * metrics + 100
usage = header["usage"]

total = float(ended) - float(started)
install = float(installed) - float(started)
print(f"README's first command: {total:.0f} s in all: installing the local model {install:.0f} s, "
      f"building postcall {total - install - run_secs:.0f} s, the run itself {run_secs:.0f} s")
print(f"calls {len(report['calls'])}, metrics {metrics}, requests {usage['requests']}, cached {usage['cached']}")
print(f"values ok/null/not_applicable: {settled} of {values} = {100 * settled / max(values, 1):.1f} %  "
      + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
print(f"answers cut off at the token limit: {usage.get('cut_off', 0)}")
print(f"completion tokens per call: max {max(tokens)}, mean {sum(tokens) / len(tokens):.0f} "
      f"(target <= 60 x {metrics} + 100 = {bound}: {'pass' if max(tokens) <= bound else 'FAIL'})")
print(f"load average before {load_before}, after {load_after} ({__import__('os').cpu_count()} cores)")
PY
