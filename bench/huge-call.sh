#!/bin/sh
# Peak memory of one enormous call: a single transcript of N turns (default 1,000,000, a
# ~45 MB file), read by `inspect` and by a `run --long-calls truncate` against the fake
# endpoint, each under /usr/bin/time -v. Prints the file size and each peak RSS.
#   bench/huge-call.sh            # 1M turns
#   bench/huge-call.sh 200000     # a smaller call
set -eu
cd "$(dirname "$0")/.."
turns=${1:-1000000}
cargo build --release --locked --workspace --bins >&2
bin=${CARGO_TARGET_DIR:-$PWD/target}/release
work=$(mktemp -d)
trap 'kill "$fake" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/calls"
awk -v n="$turns" 'BEGIN {
  printf "{\"call_id\":\"huge\",\"transcript\":["
  for (i = 0; i < n; i++) {
    printf "%s{\"role\":\"%s\",\"content\":\"turn %d okay\"}", (i ? "," : ""), (i % 2 ? "user" : "agent"), i
  }
  print "]}"
}' > "$work/calls/huge.json"
printf 'version: 1\nmetrics:\n  - {id: resolved, type: boolean, prompt: Was the problem resolved on the call?}\n' > "$work/metrics.yaml"
"$bin/postcall-fake-llm" > "$work/url" & fake=$!
sleep 0.5
peak() { /usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'; }
echo "file: $(du -m "$work/calls/huge.json" | cut -f1) MB, $turns turns"
echo "inspect peak RSS: $(peak "$bin/postcall" inspect "$work/calls") KB"
echo "run peak RSS:     $(peak "$bin/postcall" run -m "$work/metrics.yaml" "$work/calls" --base-url "$(cat "$work/url")" \
  --model m --long-calls truncate --no-cache --quiet -o "$work/r.json") KB"
