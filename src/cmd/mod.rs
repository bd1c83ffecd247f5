//! One file per subcommand, each an `Args` struct and a `run(args)`.

mod bootstrap_args;
pub mod cache;
pub mod convert;
pub mod diff;
pub mod eval;
pub mod filter;
pub mod init;
pub mod inspect;
mod metric_file;
pub mod prompt;
pub mod run;
pub mod schema;
pub mod stats;
pub mod validate;

/// Prints a rendered check result to stdout and turns its verdict into the exit code
/// (`diff` and `eval`: 3 when a threshold was missed).
pub(crate) fn print_verdict(text: &str, failed: bool) -> anyhow::Result<std::process::ExitCode> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("cannot write to standard output")?;
    out.flush()?;
    Ok(std::process::ExitCode::from(if failed {
        crate::cli::exit::CHECK_FAILED
    } else {
        crate::cli::exit::OK
    }))
}
