#!/bin/sh
# Builds postcall and the benchmark in release mode, then runs the benchmark.
# Arguments go to postcall-bench, e.g.:
#   bench/run.sh                       # default scenarios, 3 runs each (under 5 minutes)
#   bench/run.sh -s all                # also the 100k-call scale scenario (about 4 more minutes)
#   bench/run.sh -s overhead -n 50000 -r 5 --json > overhead.json
set -eu
cd "$(dirname "$0")/.."
# --workspace: the benchmark is in crates/postcall-testkit, postcall at the root.
cargo build --release --locked --workspace --bins
exec target/release/postcall-bench "$@"
