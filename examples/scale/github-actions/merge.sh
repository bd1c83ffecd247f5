#!/bin/sh
# The merge job: the cells' parts (downloaded as artifacts into POSTCALL_PARTS) joined into
# one report; it fails, naming what is missing, when a cell's part is absent.
set -eu
exec postcall merge "$POSTCALL_PARTS"/part-*.jsonl -o "$POSTCALL_PARTS/all.json"
