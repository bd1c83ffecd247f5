//! Every `-o` of one run, written side by side. One output that fails mid-run (a full disk,
//! a device that refuses a write) is dropped with one clear message and the others carry
//! on: the answers already paid for still reach them, and the run ends non-zero naming the
//! output that failed.

use std::path::PathBuf;

use super::{CallResult, ReportHead, RunHeader, Sink};
use crate::terminal::eprintln;

/// The run's open outputs and the ones that failed.
pub struct Outputs {
    sinks: Vec<Box<dyn Sink>>,
    failed: Vec<String>,
    /// Whether the run's answers go to a cache, which a re-run reads.
    cached: bool,
}

/// What a re-run of a stopped run asks again: with a cache, only what was not answered.
pub fn what_a_rerun_asks(cached: bool) -> &'static str {
    if cached {
        "cached answers are not asked again"
    } else {
        "with --no-cache, every call is asked again"
    }
}

/// How the outputs ended: where the reports of a run that stopped early went, and what
/// failed (each message names its output).
pub struct Ended {
    pub partials: Vec<PathBuf>,
    /// Outputs that take only a finished report (objects), left as they were.
    pub withheld: Vec<String>,
    pub failed: Vec<String>,
    /// How many outputs were written to the end (finished, or stopped into a `.partial`).
    pub written: usize,
}

impl Outputs {
    pub fn new(sinks: Vec<Box<dyn Sink>>, cached: bool) -> Outputs {
        Outputs {
            sinks,
            failed: Vec::new(),
            cached,
        }
    }

    /// Starts every output; one that fails is dropped like a failing [`call`](Outputs::call).
    pub fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.each(|sink| sink.begin(head))
    }

    /// Writes `call` to every output still open. One that fails is dropped (its unfinished
    /// file removed, the report it would have replaced untouched) and said once; an error
    /// only when none is left, since further answers would go nowhere.
    pub fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        self.each(|sink| sink.call(call))
    }

    /// Tells every output what the scan found (see [`Sink::inputs_read`]).
    pub fn inputs_read(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.each(|sink| sink.inputs_read(head))
    }

    fn each(&mut self, mut write: impl FnMut(&mut Box<dyn Sink>) -> anyhow::Result<()>) -> anyhow::Result<()> {
        if self.sinks.is_empty() {
            // A run with no -o at all (not possible from the command line) is not a failure.
            anyhow::ensure!(self.failed.is_empty(), "no output left to write to");
            return Ok(());
        }
        let mut dropped = Vec::new();
        let mut closed = None;
        self.sinks.retain_mut(|sink| match write(sink) {
            Ok(()) => true,
            // A reader that went away (`run -o - | head`) has what it wanted: the run ends,
            // as every command does then, with success.
            Err(err) if closed.is_none() && is_broken_pipe(&err) => {
                closed = Some(err);
                false
            }
            Err(err) => {
                dropped.push(format!("{err:#}"));
                false
            }
        });
        if let Some(err) = closed {
            return Err(err);
        }
        for message in dropped {
            eprintln!("warning: {message}; this output is dropped, the others carry on");
            self.failed.push(message);
        }
        anyhow::ensure!(
            !self.sinks.is_empty(),
            "every output failed ({}); stopped so that no more answers are paid for: fix the outputs \
             and re-run the same command ({})",
            self.failed.join("; "),
            what_a_rerun_asks(self.cached)
        );
        Ok(())
    }

    /// Ends every output still open, even when one fails: `finish` when the run is
    /// complete, else `stop` (what finished goes to `<dest>.partial`).
    pub fn end(self, header: &RunHeader, complete: bool) -> Ended {
        let mut ended = Ended {
            partials: Vec::new(),
            withheld: Vec::new(),
            failed: self.failed,
            written: 0,
        };
        for sink in self.sinks {
            if !complete && let Some(name) = sink.withheld() {
                // Dropped unfinished: nothing is uploaded, what was staged is removed.
                ended.withheld.push(name);
                continue;
            }
            let result = if complete {
                sink.finish(header).map(|()| None)
            } else {
                sink.stop(header)
            };
            match result {
                Ok(partial) => {
                    ended.written += 1;
                    ended.partials.extend(partial);
                }
                Err(err) => ended.failed.push(format!("{err:#}")),
            }
        }
        ended
    }
}

/// Whether `err` is a write to a closed pipe (`postcall schema | head`): the reader has
/// what it wanted, so that is success, said nothing about. The I/O error may sit inside a
/// serde_json or csv error, neither of which hands it on as its `source`.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|cause| {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io.kind() == BrokenPipe
        } else if let Some(json) = cause.downcast_ref::<serde_json::Error>() {
            json.io_error_kind() == Some(BrokenPipe)
        } else if let Some(csv) = cause.downcast_ref::<csv::Error>() {
            matches!(csv.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe)
        } else {
            false
        }
    })
}
