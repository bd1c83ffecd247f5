#!/bin/sh
# One shard of the run, in one pod of the Indexed Job (job.yaml). Kubernetes sets
# JOB_COMPLETION_INDEX (0 … completions-1); SHARDS is the Job's `completions`.
# The endpoint comes from POSTCALL_BASE_URL / POSTCALL_MODEL and the key's variable.
set -eu
mkdir -p "$POSTCALL_PARTS"
exec postcall run -m "$POSTCALL_METRICS" "$POSTCALL_CALLS" \
  --shard auto --shard-count "$SHARDS" --quiet \
  -o "$POSTCALL_PARTS/part-$JOB_COMPLETION_INDEX.jsonl"
