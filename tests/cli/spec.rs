//! Tests for spec.
