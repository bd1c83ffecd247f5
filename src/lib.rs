//! postcall: post-call metrics for call transcripts, from any OpenAI-compatible endpoint.
//!
//! Data flows one way: `spec` + `transcript` → `plan` (resolve: every check before any
//! request) → `evaluate` (with `prompt`, `llm`, `validate`) → `report`. Finished reports
//! are read back by `answer` (what a report says per metric and call), `compare` (`diff`,
//! `eval`), `stats` and `filter`. `cli` and `cmd` are the edges that parse flags, read
//! files and print. The fake endpoint and the benchmark live in `crates/postcall-testkit`,
//! outside what `cargo install` ships.

pub(crate) mod answer;
pub(crate) mod batch;
pub(crate) mod cache;
pub mod cli;
pub(crate) mod cmd;
pub(crate) mod compare;
pub(crate) mod deliver;
pub(crate) mod document;
pub(crate) mod evaluate;
pub(crate) mod filter;
pub mod llm;
pub(crate) mod lock;
pub(crate) mod merge;
pub(crate) mod net;
pub(crate) mod plan;
pub mod prompt;
pub mod report;
pub mod select;
pub mod shard;
pub mod spec;
pub(crate) mod stats;
pub(crate) mod storage;
pub(crate) mod terminal;
pub mod transcript;
pub(crate) mod validate;
