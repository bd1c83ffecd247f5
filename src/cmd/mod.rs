//! One file per subcommand, each an `Args` struct and a `run(args)`.

pub mod cache;
pub mod convert;
pub mod diff;
pub mod eval;
pub mod filter;
pub mod init;
pub mod inspect;
pub mod prompt;
pub mod run;
mod run_dry;
pub mod schema;
pub mod stats;
pub mod validate;
