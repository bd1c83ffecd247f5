//! `postcall run`: every metric of every call, asked, validated and reported.
//!
//! The story of a run, in two configuration stages as in ripgrep: the flags
//! ([`crate::plan::RunFlags`]), then a plan that has checked everything it can before the
//! first request ([`crate::plan::resolve`]): a bad path, key or cache directory fails in
//! milliseconds, not after an hour. Then the plan is described (`--dry-run`, [`dry`]) or
//! executed ([`execute`]).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::cli::exit;
use crate::evaluate::{self, Halt};
use crate::llm::local;
use crate::plan::{self, Plan};
use crate::terminal::eprintln;

mod dry;
mod execute;

pub type Args = plan::RunFlags;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Installed first, so a Ctrl-C while the local server starts is an orderly stop too.
    let halt = Arc::new(Halt::default());
    install_ctrlc(&halt, args.dry_run);
    match plan::resolve(&args)? {
        Plan::DryRun(plan) => dry::dry_run(&plan, halt),
        Plan::Run(plan) => execute::execute(*plan, halt),
    }
}

fn install_ctrlc(halt: &Arc<Halt>, dry_run: bool) {
    let halt = Arc::clone(halt);
    let result = ctrlc::set_handler(move || {
        if halt.interrupted.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: exiting now (finished answers are in the cache)");
            local::stop_running_server();
            std::process::exit(exit::INTERRUPTED as i32);
        }
        halt.halted.store(true, Ordering::SeqCst);
        if dry_run {
            // Nothing is in flight and nothing is written: there is nothing to wait for.
            eprintln!("\nstopping the dry run");
            return;
        }
        eprintln!(
            "\nstopping: finishing requests in flight (up to {} s), then writing the reports; press Ctrl-C again to quit at once",
            evaluate::HALT_GRACE.as_secs()
        );
    });
    if let Err(e) = result {
        eprintln!("warning: cannot install the Ctrl-C handler: {e}");
    }
}
