//! Command-line definitions, dispatch and exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::report::outputs::is_broken_pipe;
use crate::terminal::eprintln;

/// Exit codes, as documented in README: 0 done, 1 error, 2 usage, 3 a check failed, 4 the
/// budget was reached.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CHECK_FAILED: u8 = 3;
    /// `--max-cost` / `--max-tokens-total` stopped the run before every call was done.
    pub const BUDGET_REACHED: u8 = 4;
    /// Every call was scored, but some webhook deliveries failed after their last try.
    pub const DELIVERY_FAILED: u8 = 5;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "postcall",
    version,
    about = "Post-call metrics for call transcripts, from any OpenAI-compatible LLM endpoint"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process; boxing `run`'s many flags would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask the model every metric of every call and write reports.
    Run(cmd::run::Args),
    /// Check a metric file and print its metrics as a table.
    Validate(cmd::validate::Args),
    /// Write a starter metric file from a built-in template.
    Init(cmd::init::Args),
    /// List the calls found in files or directories, with sizes and errors.
    Inspect(cmd::inspect::Args),
    /// Print the JSON Schema of the answer the model must give.
    Schema(cmd::schema::Args),
    /// Print the exact chat messages one call would send.
    Prompt(cmd::prompt::Args),
    /// Show or prune the answer cache.
    Cache(cmd::cache::Args),
    /// Compare two reports metric by metric; exit 3 over --max-changed.
    Diff(cmd::diff::Args),
    /// Score a report against hand labels; exit 3 below the minimum accuracy.
    Eval(cmd::eval::Args),
    /// Show the distribution of every metric's answers in a report.
    Stats(cmd::stats::Args),
    /// Print the calls of a report whose answers match conditions.
    Filter(cmd::filter::Args),
    /// Re-export a report as JSON, JSONL or CSV without asking the model again.
    Convert(cmd::convert::Args),
    /// Join the reports of a sharded run (`run --shard I/N`) into one.
    Merge(cmd::merge::Args),
    /// Send a finished report's calls to webhooks (what they have not acknowledged yet).
    Deliver(cmd::deliver::Args),
    /// Score through a provider's batch API at half price: submit, status, collect.
    Batch(cmd::batch::Args),
    /// Write a report as one self-contained HTML page to review (charts, calls, transcripts).
    View(cmd::view::Args),
}

/// Entry point: parses flags, runs the command, prints an error once with its context.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Init(args) => cmd::init::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::Prompt(args) => cmd::prompt::run(args),
        Command::Cache(args) => cmd::cache::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Filter(args) => cmd::filter::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Deliver(args) => cmd::deliver::run(args),
        Command::Batch(args) => cmd::batch::run(args),
        Command::View(args) => cmd::view::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // The last guard of "no credentials in what postcall prints": an error that
            // quotes a presigned URL or one with a password, wherever it was made.
            eprintln!("error: {}", crate::net::redact::redact_urls_in(&format!("{err:#}")));
            if err.downcast_ref::<UsageError>().is_some() {
                return ExitCode::from(exit::USAGE);
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

/// A combination of flags and settings that cannot work (exit 2, as clap's own usage
/// errors): said before anything is done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    /// Every value of a flag enum is spelled the same on the command line (clap), in files
    /// and reports (serde) and in messages (strum's `Display`).
    fn names_agree<T>()
    where
        T: ValueEnum + serde::Serialize + std::fmt::Display + Into<&'static str> + Copy,
    {
        for value in T::value_variants() {
            let clap = value.to_possible_value().expect("no skipped variants");
            let serde = serde_json::to_value(value).expect("serializes");
            let shown = value.to_string();
            assert_eq!(clap.get_name(), shown);
            assert_eq!(serde.as_str(), Some(shown.as_str()));
            assert_eq!(Into::<&'static str>::into(*value), shown);
        }
    }

    #[test]
    fn a_closed_pipe_is_recognised_inside_every_writer_error() {
        use std::io::{Error, ErrorKind};
        let pipe = || Error::from(ErrorKind::BrokenPipe);
        let through_json = serde_json::to_writer(FailingWriter, &[1, 2, 3]).unwrap_err();
        let mut csv_writer = csv::Writer::from_writer(FailingWriter);
        let through_csv = csv_writer
            .write_record(["a"])
            .and_then(|_| csv_writer.flush().map_err(csv::Error::from))
            .unwrap_err();
        for err in [
            anyhow::Error::new(pipe()).context("cannot write to standard output"),
            anyhow::Error::new(through_json).context("writing the schema"),
            anyhow::Error::new(through_csv).context("writing the report"),
        ] {
            assert!(super::is_broken_pipe(&err), "{err:#}");
        }
        assert!(!super::is_broken_pipe(&anyhow::Error::new(Error::from(
            ErrorKind::NotFound
        ))));
    }

    struct FailingWriter;

    impl std::io::Write for FailingWriter {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn enum_names_are_spelled_once() {
        names_agree::<crate::spec::Strategy>();
        names_agree::<crate::spec::StructuredOutput>();
        names_agree::<crate::transcript::Format>();
        let long_calls: Vec<String> = crate::prompt::LongCalls::value_variants()
            .iter()
            .map(|v| v.to_string())
            .collect();
        let typed: Vec<String> = crate::prompt::LongCalls::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        assert_eq!(long_calls, typed);
    }
}
