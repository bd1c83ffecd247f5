//! Tests for transcripts.
