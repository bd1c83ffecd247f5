//! Turning comparison results into text for a terminal or CI log, markdown for a
//! pull-request comment, or JSON for machines.

/// `--format` of `diff`, `eval` and `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal or a CI log.
    #[default]
    Text,
    /// A short table, then details in `<details>`: for a pull-request comment.
    Markdown,
    /// The full result as one JSON document.
    Json,
}
