//! postcall's test and benchmark gear, kept out of the crate `cargo install` ships.
//!
//! - [`fake_llm`]: a fake OpenAI-compatible endpoint on 127.0.0.1 whose answers are a pure
//!   function of the transcript and schema it receives, with injectable faults. postcall's
//!   integration tests start one per test; `postcall-fake-llm` serves one until killed.
//! - [`fake_batch`]: the same endpoint's batch API (files, batches, status transitions the
//!   test drives, output and error files, one-shot faults).
//! - [`logprobs`]: the fake's token log-probabilities, with a known probability per value.
//! - [`quotes`]: the fake's `evidence`, exact or spoiled (near, wrong turn, invented).
//! - [`hostile`]: what the fake can do to a client besides answer: redirect, send a body
//!   that never ends, send valid completions in odd shapes.
//! - [`receiver`]: a webhook receiver on 127.0.0.1 that verifies signatures, fails a share
//!   of requests and records what it acknowledged.
//! - [`s3`]: an S3-compatible server (moto's server mode, from
//!   `scripts/install-test-tools.sh`) on 127.0.0.1 for the object-storage tests;
//!   [`azurite`] (Azure Blob Storage) and [`gcs`] (fake-gcs-server) for `az://` and `gs://`;
//!   [`presigned`], a store that answers only URLs carrying its signature.
//! - [`bench`]: the benchmark behind `postcall-bench` (synthetic calls, scenarios, the
//!   measured child runner, the results table).
//!
//! It depends on postcall only for what must agree with it byte for byte (the prompt's
//! fence markers) and, in its tests, to check that generated calls load.

pub mod azurite;
pub mod bench;
pub mod fake_batch;
pub mod fake_llm;
pub mod gcs;
pub mod hostile;
mod http;
mod listen;
pub mod logprobs;
pub mod presigned;
pub mod quotes;
pub mod receiver;
pub mod s3;
pub mod s3_fs;
pub mod s3_mem;
