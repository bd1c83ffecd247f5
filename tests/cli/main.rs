//! One integration-test binary, a module per command or concern.

// Tests print diagnostics freely; the printing rules in clippy.toml are the product's.
#![allow(clippy::disallowed_macros)]

mod agreement;
mod batch;
mod bench;
mod cache;
mod common;
mod compare;
mod confidence;
mod cost;
mod error_paths;
mod evidence;
mod first_run;
mod integrity;
mod long_calls;
mod network;
mod objstore;
mod objstore_gcs_azure;
mod platform_outputs;
mod presigned;
mod prompt;
mod realworld;
mod resilience;
mod round_trip;
mod run;
mod run_plan;
mod samples;
mod scale;
mod spec;
mod specs;
mod terminal;
mod transcript_formats;
mod transcripts;
mod view;
mod webhooks;
mod xlsx;
