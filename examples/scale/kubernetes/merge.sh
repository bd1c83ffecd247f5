#!/bin/sh
# The merge Job (merge-job.yaml), once every pod of the Indexed Job has succeeded: one
# report, as a single process would have written it. It fails, naming what is missing,
# when a shard's report is absent or incomplete.
set -eu
exec postcall merge "$POSTCALL_PARTS"/part-*.jsonl -o "$POSTCALL_PARTS/all.json" -o "$POSTCALL_PARTS/all.csv"
