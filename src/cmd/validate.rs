//! `postcall validate`: check a metric file and show what postcall understood from it.
//!
//! Errors go to stderr as `file:line:col: message`, one per line, so editors and CI can
//! jump to them; the normalised metrics go to stdout (a table, or JSON with `--json`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit;
use crate::spec::{Dialect, LoadedSpec, MetricKind, Spec, load_specs};
use crate::terminal::Escaped;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["metrics", "file"])))]
pub struct Args {
    /// The metric file: postcall YAML, or Smallest AI Atoms / Dialgen / PolyAI definitions
    /// (YAML or JSON). Repeat to compose files (`-m defaults.yaml -m custom.yaml`).
    #[arg(short = 'm', long = "metrics", value_name = "FILE")]
    pub metrics: Vec<PathBuf>,
    /// The metric file as a bare argument: the old spelling, kept for a release.
    #[arg(value_name = "FILE", hide = true)]
    pub file: Option<PathBuf>,
    /// Print the normalised spec as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The metric file's own text is quoted in messages and tables: escaped for the terminal.
    let mut err = Escaped(std::io::stderr().lock());
    let mut paths = args.metrics;
    paths.extend(args.file);
    let loaded = match load_specs(&paths) {
        Ok(loaded) => loaded,
        // Not an `error:` for `main` to print: the lines must start with `file:line:col`
        // for editors and CI annotations.
        Err(errors) => {
            writeln!(err, "{errors}")?;
            return Ok(ExitCode::from(exit::ERROR));
        }
    };
    for line in loaded.warning_lines() {
        writeln!(err, "{line}")?;
    }
    let spec = &loaded.spec;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, spec)?;
        writeln!(out)?;
    } else {
        let mut out = Escaped(&mut out);
        out.write_all(render_table(spec).as_bytes())?;
        let derived: Vec<String> = loaded.derived_id_lines().collect();
        if !derived.is_empty() {
            writeln!(out)?;
            for line in derived {
                writeln!(out, "{line}")?;
            }
        }
        let n = loaded.warnings.len();
        writeln!(
            out,
            "\n{}: ok, {} metric{} ({}, strategy {}), {n} warning{}",
            loaded.shown,
            spec.metrics.len(),
            plural(spec.metrics.len()),
            formats(&loaded),
            spec.strategy,
            plural(n)
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `Dialgen format`, or for composed files `composed from 3 files in postcall, Dialgen format`.
fn formats(loaded: &LoadedSpec) -> String {
    if let [one] = loaded.files.as_slice() {
        return format!("{} format", dialect_name(one.dialect));
    }
    let mut names: Vec<&str> = Vec::new();
    for file in &loaded.files {
        let name = dialect_name(file.dialect);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    format!(
        "composed from {} files in {} format",
        loaded.files.len(),
        names.join(", ")
    )
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postcall => "postcall",
        Dialect::Atoms => "Smallest AI Atoms",
        Dialect::Dialgen => "Dialgen",
        Dialect::Polyai => "PolyAI",
    }
}

const PROMPT_WIDTH: usize = 60;
const OPTIONS_WIDTH: usize = 40;

/// The metrics as an aligned text table: one row per metric, long prompts and choice lists
/// cut with `…` so a row fits a terminal.
pub fn render_table(spec: &Spec) -> String {
    let header = [
        "ID",
        "TYPE",
        "CHOICES/RANGE",
        "REQUIRED",
        "APPLIES_WHEN",
        "MODEL",
        "PROMPT",
    ]
    .map(String::from);
    let mut rows = vec![header.to_vec()];
    for m in &spec.metrics {
        let options = match &m.kind {
            MetricKind::Enum { choices } | MetricKind::List { choices: Some(choices) } => choices.join(", "),
            MetricKind::Integer { range: Some([lo, hi]) } => format!("{lo}..{hi}"),
            MetricKind::Number { range: Some([lo, hi]) } => format!("{lo}..{hi}"),
            _ => "-".into(),
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        rows.push(vec![
            m.id.clone(),
            m.kind.name().to_owned(),
            truncate(&options, OPTIONS_WIDTH),
            yes_no(m.required),
            yes_no(m.applies_when.is_some()),
            m.model.clone().unwrap_or_else(|| "-".into()),
            truncate(&m.prompt.split_whitespace().collect::<Vec<_>>().join(" "), PROMPT_WIDTH),
        ]);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < columns {
                line.extend(std::iter::repeat_n(' ', widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_spec;

    #[test]
    fn table_has_one_aligned_row_per_metric() {
        let text = "version: 1
metrics:
  - {id: outcome, type: enum, choices: [resolved, escalated], prompt: What was the outcome of the call?, required: true}
  - {id: score, type: integer, range: [1, 5], prompt: Rate the customer's apparent satisfaction from one to five and be careful about it., applies_when: Customer spoke., model: big}
";
        let (spec, _) = parse_spec(text, "m.yaml").unwrap();
        let table = render_table(&spec);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("ID       TYPE     CHOICES/RANGE        REQUIRED  APPLIES_WHEN  MODEL  PROMPT"),
            "{table}"
        );
        assert!(
            lines[1].starts_with("outcome  enum     resolved, escalated  yes       no            -      What was"),
            "{table}"
        );
        assert!(
            lines[2].starts_with("score    integer  1..5                 no        yes           big    Rate"),
            "{table}"
        );
        assert!(lines[2].ends_with('…'), "{table}");
        assert_eq!(lines[2].split("Rate").nth(1).unwrap().chars().count() + 4, PROMPT_WIDTH);
    }
}
