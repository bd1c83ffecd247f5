//! Batch mode: another way to fill the answer cache, through a provider's 24-hour batch
//! API at half the price (OpenAI's `/v1/files` + `/v1/batches`, and compatible servers).
//!
//! `submit` builds every request exactly as `run` would (the same plan, prompt, schema,
//! parameters and cache key: `evaluate::first_request` and `evaluate::cache_key`), leaves
//! out what the cache or a running batch already answers, and sends the rest as input
//! files within the provider's limits; `status` shows each batch's progress; `collect`
//! puts the valid answers in the cache. `run` with the same arguments then finds them
//! there and asks live only for the rest. The ledger ([`ledger`]) makes every step
//! resumable without a second batch for the same requests.

pub mod api;
pub mod collect;
pub mod input;
pub mod ledger;
pub mod submit;
