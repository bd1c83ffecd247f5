//! One file per subcommand, each an `Args` struct and a `run(args)`.

pub mod batch;
mod bootstrap_args;
pub mod cache;
pub mod convert;
pub mod deliver;
pub mod diff;
pub mod eval;
pub mod filter;
pub mod init;
pub mod inspect;
pub mod merge;
mod metric_file;
pub mod prompt;
pub mod run;
pub mod schema;
pub mod stats;
pub mod validate;
pub mod view;

/// Prints a rendered check result to stdout and turns its verdict into the exit code
/// (`diff` and `eval`: 3 when a threshold was missed).
pub(crate) fn print_verdict(
    text: &str,
    format: crate::document::Format,
    failed: bool,
) -> anyhow::Result<std::process::ExitCode> {
    print_rendered(text, format)?;
    Ok(std::process::ExitCode::from(if failed {
        crate::cli::exit::CHECK_FAILED
    } else {
        crate::cli::exit::OK
    }))
}

/// Prints a rendered document: text and markdown escaped for the terminal, JSON as it is
/// (its encoder already escaped what it must).
pub(crate) fn print_rendered(text: &str, format: crate::document::Format) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    match format {
        crate::document::Format::Json => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush())
        }
        crate::document::Format::Text | crate::document::Format::Markdown => crate::terminal::print_text(text),
    }
    .context("cannot write to standard output")
}
