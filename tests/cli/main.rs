//! One integration-test binary, a module per command or concern.

mod agreement;
mod bench;
mod common;
mod compare;
mod network;
mod prompt;
mod realworld;
mod resilience;
mod run;
mod run_plan;
mod spec;
mod transcript_formats;
mod transcripts;
mod xlsx;
