//! `postcall inspect PATH...`: lists the calls found in files or directories, with sizes,
//! then per format how many documents were calls, skipped (not calls, with the reason) and
//! errors, so an archive can be checked before any request is paid for.
//!
//! Thin edge over [`Catalog::scan`]: the table and the JSON document are rendered by pure
//! functions into any writer; `run` only hands them a locked, buffered stdout (a 100k-row
//! table must not pay a syscall per line) and returns write errors, so `main` can treat a
//! closed pipe (`| head`) as success.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit;
use crate::terminal::Escaped;
use crate::transcript::load::CallEntry;
use crate::transcript::{Catalog, Format, READ_EXTENSIONS, Skipped, TranscriptArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Transcript files or directories (walked recursively, in sorted order); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON document (calls, errors, warnings, totals) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub transcripts: TranscriptArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = args.transcripts.options();
    let catalog = Catalog::scan(&args.paths, &options);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    if args.json {
        write_json(&mut out, &catalog)?;
    } else {
        // Call ids, file names and error messages come from the archive.
        write_table(&mut Escaped(&mut out), &catalog)?;
    }
    out.flush()?;
    // Every problem was printed above; the exit code only says whether there was one.
    Ok(if catalog.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::ERROR)
    })
}

/// Sums over the calls, so the numbers shown agree with the per-call rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub calls: usize,
    pub turns: usize,
    pub chars: usize,
    pub estimated_tokens: u64,
    pub errors: usize,
    /// Documents that are not calls (a mid-call webhook, an audio-only event…).
    pub skipped: usize,
    pub companions: usize,
    pub skipped_non_json: usize,
}

pub fn totals(catalog: &Catalog) -> Totals {
    Totals {
        calls: catalog.entries.len(),
        turns: catalog.entries.iter().map(|e| e.turns).sum(),
        chars: catalog.entries.iter().map(|e| e.chars).sum(),
        estimated_tokens: catalog.entries.iter().map(|e| e.estimated_tokens).sum(),
        errors: catalog.errors.len(),
        skipped: catalog.skipped.len(),
        companions: catalog.companions.len(),
        skipped_non_json: catalog.skipped_non_json,
    }
}

/// Calls, skips (companions included) and errors for one format; `format` is `None` for
/// inputs no format was found for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FormatCount {
    pub format: Option<Format>,
    pub calls: usize,
    pub skipped: usize,
    pub errors: usize,
}

/// One row per format seen, in the order of [`Format`]'s declaration, unknown last.
pub fn by_format(catalog: &Catalog) -> Vec<FormatCount> {
    let mut rows: Vec<FormatCount> = Vec::new();
    let mut bump = |format: Option<Format>, field: fn(&mut FormatCount) -> &mut usize| {
        let at = match rows.iter().position(|r| r.format == format) {
            Some(at) => at,
            None => {
                rows.push(FormatCount {
                    format,
                    calls: 0,
                    skipped: 0,
                    errors: 0,
                });
                rows.len() - 1
            }
        };
        *field(&mut rows[at]) += 1;
    };
    for entry in &catalog.entries {
        bump(Some(entry.format), |r| &mut r.calls);
    }
    for skipped in catalog.skipped.iter().chain(&catalog.companions) {
        bump(skipped.format, |r| &mut r.skipped);
    }
    for error in &catalog.errors {
        bump(error.format, |r| &mut r.errors);
    }
    rows.sort_by_key(|r| r.format.map_or(usize::MAX, |f| f as usize));
    rows
}

fn format_name(format: Option<Format>) -> &'static str {
    format.map_or("(unknown)", Format::name)
}

/// The human report: a row per call, then errors, companions, skips, warnings and totals.
pub fn write_table(out: &mut impl Write, catalog: &Catalog) -> io::Result<()> {
    let headers = ["SOURCE", "FORMAT", "CALL ID", "TURNS", "CHARS", "TOKENS"];
    if !catalog.entries.is_empty() {
        let width = |header: &str, cell: &dyn Fn(&CallEntry) -> usize| {
            catalog.entries.iter().map(cell).max().unwrap_or(0).max(header.len())
        };
        let source_w = width(headers[0], &|e| e.source_display.chars().count());
        let format_w = width(headers[1], &|e| e.format.name().len());
        let id_w = width(headers[2], &|e| e.id.chars().count());
        writeln!(
            out,
            "{:source_w$}  {:format_w$}  {:id_w$}  {:>6}  {:>8}  {:>7}",
            headers[0], headers[1], headers[2], headers[3], headers[4], headers[5]
        )?;
        for e in &catalog.entries {
            writeln!(
                out,
                "{:source_w$}  {:format_w$}  {:id_w$}  {:>6}  {:>8}  {:>7}",
                e.source_display,
                e.format.name(),
                e.id,
                e.turns,
                e.chars,
                e.estimated_tokens
            )?;
        }
    }
    write_by_format(out, catalog)?;
    write_inferences(out, catalog)?;
    if !catalog.errors.is_empty() {
        writeln!(out, "\nerrors ({}):", catalog.errors.len())?;
        for error in &catalog.errors {
            writeln!(out, "  {error}")?;
        }
    }
    write_skipped(out, "skipped", "not calls, left out on purpose", &catalog.skipped)?;
    write_skipped(
        out,
        "companions",
        "metadata that belongs with a call, neither a call nor an error",
        &catalog.companions,
    )?;
    if catalog.skipped_non_json > 0 {
        writeln!(
            out,
            "\nskipped {} file(s) of other kinds (not {READ_EXTENSIONS})",
            catalog.skipped_non_json
        )?;
    }
    if !catalog.warnings.is_empty() {
        writeln!(out, "\nwarnings ({}):", catalog.warnings.len())?;
        for warning in &catalog.warnings {
            writeln!(out, "  {warning}")?;
        }
    }
    let t = totals(catalog);
    writeln!(
        out,
        "\ntotal: {} call(s), {} turns, {} characters, ~{} tokens; {} error(s), {} not a call, {} companion(s), {} other file(s)",
        t.calls, t.turns, t.chars, t.estimated_tokens, t.errors, t.skipped, t.companions, t.skipped_non_json
    )
}

/// Per format: calls, skipped, errors. Left out when everything is one format and all calls.
fn write_by_format(out: &mut impl Write, catalog: &Catalog) -> io::Result<()> {
    let rows = by_format(catalog);
    if rows.len() <= 1 && rows.iter().all(|r| r.skipped == 0 && r.errors == 0) {
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|r| format_name(r.format).len())
        .max()
        .unwrap_or(0)
        .max(6);
    writeln!(out, "\nby format:")?;
    writeln!(
        out,
        "  {:width$}  {:>6}  {:>7}  {:>6}",
        "FORMAT", "CALLS", "SKIPPED", "ERRORS"
    )?;
    for r in rows {
        writeln!(
            out,
            "  {:width$}  {:>6}  {:>7}  {:>6}",
            format_name(r.format),
            r.calls,
            r.skipped,
            r.errors
        )?;
    }
    Ok(())
}

/// Every role `--speaker-map auto` chose, so no guess goes unseen.
fn write_inferences(out: &mut impl Write, catalog: &Catalog) -> io::Result<()> {
    let chosen: Vec<&CallEntry> = catalog
        .entries
        .iter()
        .filter(|e| e.speaker_inference.is_some())
        .collect();
    if chosen.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nroles chosen by --speaker-map auto ({}):", chosen.len())?;
    for e in chosen {
        let inference = e.speaker_inference.as_deref().expect("filtered");
        writeln!(
            out,
            "  {}: agent is `{}`: {}",
            e.source_display, inference.agent, inference.reason
        )?;
    }
    Ok(())
}

fn write_skipped(out: &mut impl Write, title: &str, what: &str, skipped: &[Skipped]) -> io::Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title} ({}): {what}:", skipped.len())?;
    for s in skipped {
        writeln!(out, "  {}: {}", s.source_display, s.reason)?;
    }
    Ok(())
}

/// The machine report, one JSON document. Its types live in [`wire`] so the shape only
/// changes on purpose.
pub fn write_json(out: &mut impl Write, catalog: &Catalog) -> io::Result<()> {
    let report = wire::Report::new(catalog, totals(catalog), by_format(catalog));
    serde_json::to_writer(&mut *out, &report)?;
    writeln!(out)
}

/// `inspect --json` output types.
pub mod wire {
    use serde::Serialize;

    use super::{FormatCount, Totals};
    use crate::transcript::{Catalog, Format, SpeakerInference};

    #[derive(Debug, Serialize)]
    pub struct Report<'a> {
        pub calls: Vec<Call<'a>>,
        pub errors: Vec<Error<'a>>,
        /// Documents that are not calls, with the reason.
        pub skipped: Vec<Skipped<'a>>,
        pub companions: Vec<Skipped<'a>>,
        pub skipped_non_json: usize,
        pub warnings: &'a [String],
        pub by_format: Vec<FormatCount>,
        pub totals: Totals,
    }

    #[derive(Debug, Serialize)]
    pub struct Skipped<'a> {
        pub source: &'a str,
        pub format: Option<Format>,
        pub reason: &'a str,
    }

    #[derive(Debug, Serialize)]
    pub struct Call<'a> {
        pub source: &'a str,
        pub call_id: &'a str,
        pub format: Format,
        pub turns: usize,
        pub chars: usize,
        pub estimated_tokens: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub started_at: Option<jiff::Timestamp>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub speaker_inference: Option<&'a SpeakerInference>,
    }

    #[derive(Debug, Serialize)]
    pub struct Error<'a> {
        pub source: &'a str,
        pub line: Option<usize>,
        pub column: Option<usize>,
        pub message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub format: Option<Format>,
    }

    fn skipped(list: &[crate::transcript::Skipped]) -> Vec<Skipped<'_>> {
        list.iter()
            .map(|s| Skipped {
                source: &s.source_display,
                format: s.format,
                reason: &s.reason,
            })
            .collect()
    }

    impl<'a> Report<'a> {
        pub fn new(catalog: &'a Catalog, totals: Totals, by_format: Vec<FormatCount>) -> Report<'a> {
            Report {
                calls: catalog
                    .entries
                    .iter()
                    .map(|e| Call {
                        source: &e.source_display,
                        call_id: &e.id,
                        format: e.format,
                        turns: e.turns,
                        chars: e.chars,
                        estimated_tokens: e.estimated_tokens,
                        started_at: e.started_at,
                        speaker_inference: e.speaker_inference.as_deref(),
                    })
                    .collect(),
                errors: catalog
                    .errors
                    .iter()
                    .map(|e| Error {
                        source: &e.source_display,
                        line: e.line,
                        column: e.column,
                        message: &e.message,
                        format: e.format,
                    })
                    .collect(),
                skipped: skipped(&catalog.skipped),
                companions: skipped(&catalog.companions),
                skipped_non_json: catalog.skipped_non_json,
                warnings: &catalog.warnings,
                by_format,
                totals,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::LoadError;

    fn render(catalog: &Catalog) -> String {
        let mut out = Vec::new();
        write_table(&mut out, catalog).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_empty_catalog_prints_only_totals() {
        let text = render(&Catalog::default());
        assert_eq!(
            text.trim(),
            "total: 0 call(s), 0 turns, 0 characters, ~0 tokens; 0 error(s), 0 not a call, 0 companion(s), 0 other file(s)"
        );
    }

    #[test]
    fn errors_and_skips_are_listed_after_the_table() {
        let catalog = Catalog {
            errors: vec![LoadError::new("a.jsonl", "invalid JSON: x").at(Some(2), Some(5))],
            skipped_non_json: 3,
            ..Catalog::default()
        };
        let text = render(&catalog);
        assert!(text.contains("errors (1):\n  a.jsonl:2:5: invalid JSON: x\n"), "{text}");
        assert!(text.contains("skipped 3 file(s) of other kinds (not .json"), "{text}");
        assert_eq!(totals(&catalog).errors, 1);
    }
}
