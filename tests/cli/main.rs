//! One integration-test binary, a module per command or concern.

mod common;
mod compare;
mod report;
mod resilience;
mod run;
mod spec;
mod transcripts;
