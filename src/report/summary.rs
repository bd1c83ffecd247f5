//! The end-of-run table on stderr.
