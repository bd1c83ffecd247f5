//! Calls in object storage, fetched ahead of the workers that need them.
//!
//! The scan read every object to check it and kept its bytes while `--keep-objects`
//! allowed, and only its entry past that; a worker reads such a call again at its turn.
//! From a local disk that read is a page-cache copy, from a bucket a round trip per call
//! that the worker would spend waiting instead of sending. So the objects of the run's
//! calls that were not kept are fetched in report order (the order workers take calls
//! in), a few at once through [`storage::read_in_order`] as the scan reads them, into a
//! bounded queue: a worker finds its call there or waits for the fetch already on its way,
//! and memory holds a queue's worth of transcripts, not the archive.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::storage::{self, StorageError};
use crate::transcript::Catalog;

type Fetched = Result<Bytes, StorageError>;

/// The objects of a run's calls, in the order of their positions.
pub struct Prefetch {
    state: Mutex<State>,
}

struct State {
    /// What the fetches bring, in position order.
    incoming: Box<dyn Iterator<Item = (usize, Fetched)> + Send>,
    /// Fetched ahead of the worker that takes it: a worker that asks for position `p`
    /// takes every earlier arrival off the queue on the way.
    arrived: HashMap<usize, Fetched>,
    /// Positions fetched here and not taken yet.
    fetched: Vec<bool>,
}

impl Prefetch {
    /// Starts fetching the objects of `calls` (catalog indices by position) that are whole
    /// objects the scan did not keep; `None` when there are none (a local run, or one whose
    /// every object was kept, starts nothing).
    pub fn start(catalog: &Catalog, calls: &[usize], limit: u64) -> Option<Prefetch> {
        let mut fetched = vec![false; calls.len()];
        let mut positions = Vec::new();
        let mut urls = Vec::new();
        for (pos, &index) in calls.iter().enumerate() {
            if let Some(url) = catalog.whole_object(index).filter(|_| !catalog.is_kept(index)) {
                fetched[pos] = true;
                positions.push(pos);
                urls.push(url.clone());
            }
        }
        if urls.is_empty() {
            return None;
        }
        let incoming = positions
            .into_iter()
            .zip(storage::read_in_order(urls, limit))
            .map(|(pos, (_, read))| (pos, read));
        Some(Prefetch {
            state: Mutex::new(State {
                incoming: Box::new(incoming),
                arrived: HashMap::new(),
                fetched,
            }),
        })
    }

    /// What was fetched for position `pos`, waiting for it if it is on its way; `None` when
    /// `pos` is not fetched here (the caller reads it itself).
    pub fn take(&self, pos: usize) -> Option<Fetched> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Taken once: a second unit of the call that loads it meanwhile reads it itself.
        if !std::mem::take(state.fetched.get_mut(pos)?) {
            return None;
        }
        if let Some(fetched) = state.arrived.remove(&pos) {
            return Some(fetched);
        }
        // Arrivals come in position order: the wait is for this one, or for one before it
        // that another worker is about to take.
        while let Some((arrived, fetched)) = state.incoming.next() {
            if arrived == pos {
                return Some(fetched);
            }
            state.arrived.insert(arrived, fetched);
        }
        // The fetching stopped (it never does before the last object): read it directly.
        None
    }
}
