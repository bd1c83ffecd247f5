//! `--bootstrap` and `--bootstrap-seed`: how `eval` and `diff` draw the 95 % intervals of
//! their agreement statistics. One struct so both commands spell and default them alike.

use crate::compare::agreement::bootstrap::{Bootstrap, DEFAULT_RESAMPLES, DEFAULT_SEED};

#[derive(Debug, Clone, clap::Args)]
pub struct BootstrapArgs {
    /// Bootstrap resamples for the 95% intervals of κ, AC1 and α (0: no intervals).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RESAMPLES)]
    pub bootstrap: usize,
    /// Seed of the bootstrap: the same seed gives the same intervals.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub bootstrap_seed: u64,
}

impl BootstrapArgs {
    pub fn resolve(&self) -> Bootstrap {
        Bootstrap {
            resamples: self.bootstrap,
            seed: self.bootstrap_seed,
        }
    }
}
