//! postcall: post-call metrics for call transcripts, from any OpenAI-compatible endpoint.
//!
//! Data flows one way: `spec` + `transcript` → `evaluate` (with `prompt`, `llm`,
//! `validate`) → `report`. `cli` and `cmd` are the edges that parse flags and print.

pub mod bench;
pub mod cache;
pub mod cli;
pub mod cmd;
pub mod compare;
pub mod evaluate;
pub mod fake_llm;
pub mod llm;
pub mod prompt;
pub mod report;
pub mod spec;
pub mod transcript;
pub mod validate;
