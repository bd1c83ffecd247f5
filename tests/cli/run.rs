//! Tests for run.
