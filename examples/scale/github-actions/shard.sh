#!/bin/sh
# One cell of the matrix (postcall-shards.yml): SHARD is the matrix value, SHARDS the
# matrix size. --sample is applied to the whole archive before the split, so the four
# cells score their parts of one sample and the merge is that sample's report.
set -eu
mkdir -p "$POSTCALL_PARTS"
exec postcall run -m "$POSTCALL_METRICS" "$POSTCALL_CALLS" \
  --sample "$SAMPLE" --shard "$SHARD/$SHARDS" --quiet \
  -o "$POSTCALL_PARTS/part-$SHARD.jsonl"
