#!/bin/sh
# One child of the array job (job-definition.json). AWS Batch sets AWS_BATCH_JOB_ARRAY_INDEX
# but not the array size, so the job definition sets POSTCALL_SHARD_COUNT to it.
set -eu
mkdir -p "$POSTCALL_PARTS"
exec postcall run -m "$POSTCALL_METRICS" "$POSTCALL_CALLS" --shard auto --quiet \
  -o "$POSTCALL_PARTS/part-$AWS_BATCH_JOB_ARRAY_INDEX.jsonl"
