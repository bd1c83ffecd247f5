//! `postcall cache stats|prune`: look after the answer cache.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cache::{Cache, DEFAULT_DIR, parse_age};
use crate::cli::exit;
use crate::terminal::print_text;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    /// The cache directory [default: .postcall/cache]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Entries and size on disk.
    Stats,
    /// Delete entries older than an age (e.g. 30d, 12h).
    Prune {
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: std::time::Duration,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.cache_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let cache = Cache::open(&dir)?;
    match args.action {
        Action::Stats => {
            let stats = cache.stats()?;
            print_text(&format!(
                "{}: {} entries, {}\n",
                dir.display(),
                stats.entries,
                human_bytes(stats.bytes)
            ))?;
        }
        Action::Prune { older_than } => {
            let removed = cache.prune(older_than)?;
            print_text(&format!(
                "{}: removed {} entries ({})\n",
                dir.display(),
                removed.entries,
                human_bytes(removed.bytes)
            ))?;
        }
    }
    Ok(ExitCode::from(exit::OK))
}

fn human_bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}
