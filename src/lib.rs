//! postcall: post-call metrics for call transcripts, from any OpenAI-compatible endpoint.
//!
//! Data flows one way: `spec` + `transcript` → `plan` (resolve: every check before any
//! request) → `evaluate` (with `prompt`, `llm`, `validate`) → `report`. Finished reports
//! are read back by `answer` (what a report says per metric and call), `compare` (`diff`,
//! `eval`), `stats` and `filter`. `cli` and `cmd` are the edges that parse flags, read
//! files and print. The fake endpoint and the benchmark live in `crates/postcall-testkit`,
//! outside what `cargo install` ships.

pub mod answer;
pub mod cache;
pub mod cli;
pub mod cmd;
pub mod compare;
pub mod document;
pub mod evaluate;
pub mod filter;
pub mod llm;
pub mod net;
pub mod plan;
pub mod prompt;
pub mod report;
pub mod spec;
pub mod stats;
pub mod terminal;
pub mod transcript;
pub mod validate;
