//! `.json` (whole report) and `.jsonl` (one call per line) writers.
