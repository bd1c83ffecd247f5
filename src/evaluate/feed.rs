//! A run's calls as the scan finds them.
//!
//! The scan runs on a thread of its own and hands each call it makes, parsed, to the
//! workers through a queue of [`FEED_AHEAD`] calls: a call is read once (from a bucket, one
//! GET), is asked while the scan reads on, and is dropped once its answers are written, so
//! a run holds a queue's worth of transcripts, never the archive. When the workers are
//! slower than the scan, the full queue holds the scan back.
//!
//! The selection (`--limit`, `--sample`, `--shard`) is applied on the scan's thread as
//! calls are found ([`Selector`]); the run learns how many calls it has, the archive they
//! were chosen from and the input errors when the scan ends ([`Scanned`]), which is
//! usually long before the last answer.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use super::Halt;
use crate::select::{Rules, Selector};
use crate::shard::Archive;
use crate::transcript::{Call, CallEntry, Catalog, Findings, LoadError, LoadOptions, scan_into};

/// How many parsed calls the scan may be ahead of the workers.
pub const FEED_AHEAD: usize = 64;

/// One call of the run, as the scan made it.
pub struct Fed {
    pub entry: CallEntry,
    pub call: Call,
}

/// What the scan found, when it ended.
pub struct Scanned {
    /// The calls the run took (handed to the workers), in all.
    pub calls: usize,
    /// The archive they were chosen from; `None` when the scan was stopped (a halt)
    /// before it had read every input.
    pub archive: Option<Archive>,
    pub errors: Vec<LoadError>,
    /// What else the scan found: documents skipped, companions, warnings (its `entries`
    /// and `errors` are empty: those went to the run).
    pub catalog: Catalog,
}

/// What the run knows once the scan has read every input.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The calls the run takes.
    pub calls: usize,
    /// The archive they were chosen from.
    pub archive: Archive,
    pub errors: Vec<LoadError>,
}

/// How the scan says what it skips and warns about, as it goes.
pub type Say = Box<dyn Fn(&str) + Send>;

/// The calls of a run, by position, as the scan makes them.
pub struct Feed {
    state: Mutex<State>,
    /// Calls handed on so far (the scan's thread counts them).
    sent: Arc<AtomicUsize>,
    /// The scan ended (its thread is done with the inputs).
    ended: Arc<AtomicBool>,
    /// Tells the scan to stop: no more calls are wanted.
    stop: Arc<AtomicBool>,
    /// Set once the scan has read every input.
    chosen: Arc<OnceLock<Chosen>>,
    scan: Mutex<Option<JoinHandle<Scanned>>>,
}

struct State {
    /// `None` once the feed is closed.
    incoming: Option<Receiver<Fed>>,
    /// Position of the next call to arrive.
    received: usize,
    /// Arrived ahead of the worker that takes it: a worker that asks for position `p`
    /// takes every earlier arrival off the queue on the way.
    arrived: HashMap<usize, Fed>,
}

impl Feed {
    /// Starts scanning `inputs`, taking the calls `rules` select, until they are read or
    /// the run halts; `say` prints what is skipped (`notes` too: the summary of documents
    /// that are not calls).
    pub fn start(
        inputs: Vec<PathBuf>,
        options: LoadOptions,
        rules: Rules,
        halt: Arc<Halt>,
        say: Say,
        notes: bool,
    ) -> Feed {
        let (sender, receiver) = sync_channel(FEED_AHEAD);
        let sent = Arc::new(AtomicUsize::new(0));
        let ended = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let sink = Sink {
            selector: Selector::new(rules),
            sender,
            sent: Arc::clone(&sent),
            stop: Arc::clone(&stop),
            halt,
            stopped: false,
            errors: Vec::new(),
            say,
        };
        let chosen = Arc::new(OnceLock::new());
        let (thread_ended, thread_chosen) = (Arc::clone(&ended), Arc::clone(&chosen));
        let scan = std::thread::Builder::new()
            .name("postcall-scan".into())
            .spawn(move || {
                let scanned = sink.scan(&inputs, &options, notes);
                if let Some(archive) = &scanned.archive {
                    let _ = thread_chosen.set(Chosen {
                        calls: scanned.calls,
                        archive: archive.clone(),
                        errors: scanned.errors.clone(),
                    });
                }
                thread_ended.store(true, Ordering::Release);
                scanned
            })
            .expect("a thread for the scan");
        Feed {
            state: Mutex::new(State {
                incoming: Some(receiver),
                received: 0,
                arrived: HashMap::new(),
            }),
            sent,
            ended,
            stop,
            chosen,
            scan: Mutex::new(Some(scan)),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The call at `pos`, waiting for the scan to make it; `None` when the scan ended with
    /// fewer calls (or the feed was closed). Each position is taken once.
    pub fn take(&self, pos: usize) -> Option<Fed> {
        let mut state = self.state();
        if let Some(fed) = state.arrived.remove(&pos) {
            return Some(fed);
        }
        while state.received <= pos {
            let fed = state.incoming.as_ref()?.recv().ok()?;
            let at = state.received;
            state.received += 1;
            if at == pos {
                return Some(fed);
            }
            state.arrived.insert(at, fed);
        }
        None
    }

    /// Every call, in order, each as the scan makes it (for one reader: a run's workers take
    /// positions with [`Feed::take`]).
    pub fn in_order(&self) -> impl Iterator<Item = Fed> + '_ {
        (0..).map_while(|pos| self.take(pos))
    }

    /// Whether the run has any call: waits for the first, or for the scan to end without one.
    pub fn has_calls(&self) -> bool {
        let mut state = self.state();
        if state.received > 0 {
            return true;
        }
        let Some(first) = state.incoming.as_ref().and_then(|rx| rx.recv().ok()) else {
            return false;
        };
        state.received = 1;
        state.arrived.insert(0, first);
        true
    }

    /// Calls found for the run so far, and whether that is all of them.
    pub fn found(&self) -> (usize, bool) {
        let ended = self.ended.load(Ordering::Acquire);
        (self.sent.load(Ordering::Relaxed), ended)
    }

    /// What the scan found, once it has read every input.
    pub fn chosen(&self) -> Option<&Chosen> {
        self.chosen.get()
    }

    /// Stops the scan (if it still runs) and says what it found. Calls it had handed on
    /// and no worker took are dropped.
    pub fn end(&self) -> Scanned {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the queue's end wakes a scan waiting for room in it.
        let incoming = self.state().incoming.take();
        drop(incoming);
        let scan = self.scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        let scanned = scan.map(|thread| thread.join().expect("the scan does not panic"));
        scanned.unwrap_or_else(|| Scanned {
            calls: self.sent.load(Ordering::Relaxed),
            archive: None,
            errors: Vec::new(),
            catalog: Catalog::default(),
        })
    }
}

/// The scan's side: selects, hands calls on, keeps the errors.
struct Sink {
    selector: Selector<Fed>,
    sender: SyncSender<Fed>,
    sent: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    halt: Arc<Halt>,
    /// The run wants no more (a halt, or the feed was closed).
    stopped: bool,
    errors: Vec<LoadError>,
    say: Say,
}

impl Sink {
    fn scan(mut self, inputs: &[PathBuf], options: &LoadOptions, notes: bool) -> Scanned {
        let catalog = scan_into(inputs, options, &mut self);
        let (sample, archive) = std::mem::replace(&mut self.selector, Selector::new(Rules::default())).finish();
        for fed in sample {
            if self.send(fed).is_break() {
                break;
            }
        }
        for warning in &catalog.warnings {
            (self.say)(&format!("warning: {warning}"));
        }
        if notes {
            for note in crate::plan::skipped_notes(&catalog) {
                (self.say)(&note);
            }
        }
        Scanned {
            calls: self.sent.load(Ordering::Relaxed),
            archive: (!self.stopped).then_some(archive),
            errors: self.errors,
            catalog,
        }
    }

    fn send(&mut self, fed: Fed) -> ControlFlow<()> {
        if !self.wants_more() || self.sender.send(fed).is_err() {
            self.stopped = true;
            return ControlFlow::Break(());
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        ControlFlow::Continue(())
    }
}

impl Findings for Sink {
    fn call(&mut self, entry: CallEntry, call: Call) -> ControlFlow<()> {
        if !self.wants_more() {
            return ControlFlow::Break(());
        }
        let (id, digest) = (entry.id.clone(), entry.digest);
        let (taken, flow) = self.selector.offer(&id, digest, Fed { entry, call });
        if let Some(fed) = taken {
            self.send(fed)?;
        }
        flow
    }

    fn error(&mut self, error: LoadError) {
        (self.say)(&format!("warning: skipping {error}"));
        self.errors.push(error);
    }

    /// Once the run wants no more, the scan stopped short, whatever it was waiting for.
    fn wants_more(&mut self) -> bool {
        if self.stop.load(Ordering::Relaxed) || self.halt.is_halted() {
            self.stopped = true;
        }
        !self.stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Shard;

    /// A directory of `n` generic calls `c0000.json`…, with ids `call-N`.
    fn calls(n: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..n {
            let call = serde_json::json!({
                "call_id": format!("call-{i}"),
                "transcript": [
                    {"role": "agent", "text": format!("Hello, this is call {i}.")},
                    {"role": "customer", "text": "Thanks."},
                ],
            });
            std::fs::write(dir.path().join(format!("c{i:04}.json")), call.to_string()).unwrap();
        }
        std::fs::write(dir.path().join("broken.json"), "{").unwrap();
        dir
    }

    fn start(dir: &tempfile::TempDir, rules: Rules) -> Feed {
        Feed::start(
            vec![dir.path().to_path_buf()],
            LoadOptions::default(),
            rules,
            Arc::default(),
            Box::new(|_| {}),
            false,
        )
    }

    fn ids(feed: &Feed) -> Vec<String> {
        feed.in_order().map(|fed| fed.call.id).collect()
    }

    #[test]
    fn a_run_gets_the_calls_a_whole_scan_selects_in_the_same_order() {
        // More calls than the queue holds: the scan waits for the workers, then goes on.
        let dir = calls(FEED_AHEAD * 3);
        for rules in [
            Rules::default(),
            Rules {
                sample: Some(50),
                seed: 9,
                ..Rules::default()
            },
            Rules {
                shard: Some(Shard { index: 1, count: 3 }),
                ..Rules::default()
            },
        ] {
            let feed = start(&dir, rules);
            let got = ids(&feed);
            let scanned = feed.end();

            let catalog = Catalog::scan(&[dir.path().to_path_buf()], &LoadOptions::default());
            let mut selector = Selector::new(rules);
            let mut want = Vec::new();
            for entry in &catalog.entries {
                want.extend(selector.offer(&entry.id, entry.digest, entry.id.clone()).0);
            }
            let (sampled, archive) = selector.finish();
            want.extend(sampled);
            assert_eq!(got, want, "{rules:?}");
            assert_eq!(scanned.calls, want.len());
            assert_eq!(scanned.archive, Some(archive));
            assert_eq!(scanned.errors.len(), 1, "broken.json");
            assert!(scanned.errors[0].source_display.ends_with("broken.json"));
        }
    }

    #[test]
    fn a_limit_stops_the_scan_and_ending_early_stops_it_too() {
        let dir = calls(FEED_AHEAD * 3);
        let limit = Rules {
            limit: Some(5),
            ..Rules::default()
        };
        let feed = start(&dir, limit);
        assert_eq!(ids(&feed).len(), 5);
        let scanned = feed.end();
        assert_eq!(scanned.archive.map(|a| a.calls), Some(5));
        // broken.json sorts first, and is the only error the five calls' scan saw.
        assert_eq!(scanned.errors.len(), 1);

        // Ended after two calls were taken, the scan stops though the queue was full: the
        // archive is unknown, and no more than the queue's worth was made.
        let feed = start(&dir, Rules::default());
        assert!(feed.has_calls());
        assert!(feed.take(0).is_some() && feed.take(1).is_some());
        let scanned = feed.end();
        assert_eq!(scanned.archive, None);
        assert!(scanned.calls <= FEED_AHEAD + 2, "{}", scanned.calls);
    }

    #[test]
    fn a_run_over_no_calls_says_so_without_waiting() {
        let dir = calls(0);
        let feed = start(&dir, Rules::default());
        assert!(!feed.has_calls());
        assert_eq!(feed.take(0).map(|fed| fed.call.id), None);
        let scanned = feed.end();
        assert_eq!((scanned.calls, scanned.errors.len()), (0, 1));
        assert_eq!(scanned.archive.map(|a| a.calls), Some(0));
    }
}
