#!/bin/sh
# The merge job, submitted with --depends-on the array job: it starts once every child
# has succeeded, and fails, naming what is missing, if a part is absent or incomplete.
set -eu
exec postcall merge "$POSTCALL_PARTS"/part-*.jsonl -o "$POSTCALL_PARTS/all.json"
