//! `.xlsx` reports: a workbook that Excel, LibreOffice and Google Sheets open as it is meant.
//!
//! A CSV leaves its encoding and every cell's type to the spreadsheet's guess (LibreOffice's
//! default import garbles UTF-8, BOM or not; Excel opens a UTF-8 CSV without a BOM in the
//! local code page). A workbook says both: text is text, numbers are numbers, dates are
//! dates. Sheets, in order:
//!
//! - **Calls** ([`calls`]): one row per call, the CSV's columns with real cell types.
//!   Past Excel's 1,048,576 rows a sheet, the calls continue on **Calls 2**, **Calls 3**, …,
//!   each with its own header row; that is said on stderr and in the Summary sheet.
//! - **Metrics** and **Summary** ([`sheets`]): the definitions; the run header, the
//!   per-metric answer counts, tokens and cost.
//! - **Choices**, hidden, only when a drop-down list is too long to write inline.
//!
//! The Calls sheets are written in the writer's constant-memory mode: each row goes to an
//! unnamed temporary file (in the destination's directory, which has room for the report
//! anyway) as soon as the next row starts, so a 100k-call report holds one row in memory,
//! as the CSV writer does. At `finish` the workbook is zipped into a temporary file beside
//! the destination and renamed over it, so an earlier report survives a killed run; a run
//! that stopped early puts it at `<dest>.partial` instead (see `pending`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use rust_xlsxwriter::{RowNum, Workbook};

use self::calls::{CallsLayout, LAST_ROW};
use self::cells::Formats;
use self::sheets::SummaryFacts;
use super::json::Ending;
use super::pending::{Target, TempFile, parent_dir};
use super::summary::SummaryCounts;
use super::{CallResult, ReportHead, RunHeader, Sink};
use crate::spec::Metric;
use crate::terminal::eprintln;
use crate::transcript::MetadataLevel;

mod calls;
mod cells;
mod sheets;
#[cfg(test)]
mod tests;

pub struct XlsxSink {
    target: Target,
    /// For a file destination: the temporary file the workbook is zipped into, renamed at
    /// the end; `File` is kept to sync it first.
    temp: Option<(TempFile, File)>,
    workbook: Workbook,
    formats: Formats,
    /// Set by `begin`.
    begun: Option<Begun>,
    /// Calls per sheet before the next one starts; lowered by the rollover tests.
    calls_per_sheet: RowNum,
}

/// What a begun workbook keeps: O(metrics + sheets), whatever the number of calls.
struct Begun {
    layout: CallsLayout,
    metrics: Vec<Metric>,
    counts: SummaryCounts,
    sheets: Vec<CallsSheet>,
    cut_cells: usize,
}

struct CallsSheet {
    name: String,
    /// Its index among the workbook's worksheets.
    index: usize,
    /// The last row written (0: the header only).
    last_row: RowNum,
}

impl XlsxSink {
    fn begin_with(&mut self, metrics: &[Metric], level: MetadataLevel) -> anyhow::Result<()> {
        anyhow::ensure!(self.begun.is_none(), "the xlsx report was begun twice");
        self.begun = Some(Begun {
            layout: CallsLayout::new(metrics, level),
            metrics: metrics.to_vec(),
            counts: SummaryCounts::new(metrics),
            sheets: Vec::new(),
            cut_cells: 0,
        });
        self.add_calls_sheet()
    }

    /// Creates the temporary file beside a file destination now, so a bad path fails before
    /// any work. Standard output and devices get the workbook at `finish` (for a pipe: it is
    /// a zip file, not text).
    pub(crate) fn create(target: Target) -> anyhow::Result<XlsxSink> {
        let label = target.label();
        let context = || format!("cannot write the report to {label}");
        let mut workbook = Workbook::new();
        let temp = match &target {
            Target::File { dest, .. } => {
                workbook.set_tempdir(parent_dir(dest)).with_context(context)?;
                Some(TempFile::beside(dest).with_context(context)?)
            }
            Target::Stdout | Target::Device(_) => None,
        };
        Ok(XlsxSink {
            target,
            temp,
            workbook,
            formats: Formats::new(),
            begun: None,
            calls_per_sheet: LAST_ROW,
        })
    }

    fn label(&self) -> String {
        self.target.label()
    }

    /// Adds a Calls sheet in constant-memory mode, with its header row.
    fn add_calls_sheet(&mut self) -> anyhow::Result<()> {
        let label = self.label();
        let begun = self.begun.as_mut().context("the xlsx report was not begun")?;
        let number = begun.sheets.len() + 1;
        let name = match number {
            1 => "Calls".to_string(),
            n => format!("Calls {n}"),
        };
        let index = begun.sheets.len();
        let sheet = self
            .workbook
            .add_worksheet_with_constant_memory()
            .with_context(|| format!("cannot write the report to {label}"))?;
        sheet
            .set_name(&name)
            .and_then(|sheet| begun.layout.set_up(sheet, &self.formats))
            .with_context(|| format!("cannot write the report to {label}"))?;
        begun.sheets.push(CallsSheet {
            name,
            index,
            last_row: 0,
        });
        Ok(())
    }

    /// Metrics, Summary and (when needed) Choices sheets, autofilters, then the file, where
    /// `ending` says; returns the file it went to.
    fn finish_with(mut self, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        let label = self.label();
        let context = || format!("cannot write the report to {label}");
        let begun = self.begun.take().context("the xlsx report was finished before begin")?;
        let last_column = begun.layout.last_column();
        for sheet in &begun.sheets {
            self.workbook
                .worksheet_from_index(sheet.index)
                .and_then(|s| s.autofilter(0, 0, sheet.last_row, last_column))
                .with_context(context)?;
        }
        let formats = &self.formats;
        sheets::write_metrics(self.workbook.add_worksheet(), &begun.metrics, formats).with_context(context)?;
        let names: Vec<String> = begun.sheets.iter().map(|s| s.name.clone()).collect();
        let facts = SummaryFacts {
            header,
            metrics: &begun.metrics,
            counts: &begun.counts,
            calls_sheets: &names,
            calls_per_sheet: self.calls_per_sheet,
            cut_cells: begun.cut_cells,
        };
        sheets::write_summary(self.workbook.add_worksheet(), &facts, formats).with_context(context)?;
        let long_lists: Vec<_> = begun
            .layout
            .dropdowns
            .iter()
            .flatten()
            .filter(|d| d.choices_column.is_some())
            .collect();
        if !long_lists.is_empty() {
            sheets::write_choices(self.workbook.add_worksheet(), &long_lists, formats).with_context(context)?;
        }
        if begun.cut_cells > 0 {
            eprintln!(
                "note: {label}: {} text cells were longer than Excel's 32,767 characters and were cut (the Summary \
                 sheet says so); the .json and .jsonl reports hold them whole",
                begun.cut_cells
            );
        }
        let mut workbook = self.workbook;
        let mut save = |out: &mut (dyn Write + Send)| -> anyhow::Result<()> {
            let mut out = BufWriter::new(out);
            workbook.save_to_writer(&mut out).with_context(context)?;
            out.flush().with_context(context)
        };
        match &self.target {
            Target::File { dest, .. } => {
                let (temp, mut file) = self.temp.take().context("the xlsx report has no temporary file")?;
                let to = ending.place(dest);
                save(&mut file)?;
                file.sync_all().with_context(context)?;
                temp.persist(&to)
                    .with_context(|| format!("cannot write the report to {}", to.display()))?;
                Ok(Some(to))
            }
            Target::Device(path) => {
                save(&mut Target::open_device(path).with_context(context)?)?;
                Ok(None)
            }
            Target::Stdout => {
                save(&mut io::stdout())?;
                Ok(None)
            }
        }
    }
}

impl Sink for XlsxSink {
    fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.begin_with(head.metrics, head.header.metadata.unwrap_or(MetadataLevel::None))
    }

    /// The run header only matters at `finish` (the Summary sheet is written last) and for
    /// its `call.*` columns, so a report without one begins the same way, without them.
    fn begin_headerless(&mut self, metrics: &[Metric], _has_summary: bool) -> anyhow::Result<()> {
        self.begin_with(metrics, MetadataLevel::None)
    }

    fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        let label = self.label();
        let full = self
            .begun
            .as_ref()
            .and_then(|b| b.sheets.last())
            .context("a call was written to the xlsx report before begin")?
            .last_row
            >= self.calls_per_sheet;
        if full {
            self.add_calls_sheet()?;
            if let Some(begun) = &self.begun
                && begun.sheets.len() == 2
            {
                eprintln!(
                    "note: {label}: more than {} calls, the most a sheet holds; the calls continue on sheet \
                     `Calls 2` (and the next ones after it)",
                    super::summary::grouped(u64::from(self.calls_per_sheet))
                );
            }
        }
        let begun = self.begun.as_mut().context("the xlsx report was not begun")?;
        let target = begun.sheets.last_mut().context("the xlsx report has no Calls sheet")?;
        let row = target.last_row + 1;
        let sheet = self
            .workbook
            .worksheet_from_index(target.index)
            .with_context(|| format!("cannot write call {} to {label}", call.call_id))?;
        begun.cut_cells += begun
            .layout
            .write_row(sheet, row, call, &self.formats)
            .with_context(|| format!("cannot write call {} to {label}", call.call_id))?;
        target.last_row = row;
        begun.counts.add(call);
        Ok(())
    }

    fn close(self: Box<Self>, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        self.finish_with(header, ending)
    }
}
