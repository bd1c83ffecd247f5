//! Which calls a run takes — `--limit`, `--sample`, `--shard` — decided as the scan finds
//! them, in the order it finds them, and the [`Archive`] they were chosen from.
//!
//! `--limit` and `--sample` choose from the whole archive and `--shard` then takes its part
//! of what they chose, so every shard of a sampled run takes its part of the same sample
//! and records the same archive. A limit is known as soon as it is reached (the scan can
//! stop there); a sample only when every call has been found, so a sampled run holds its
//! sample (never more than N calls) until the scan ends.

use std::collections::BinaryHeap;
use std::ops::ControlFlow;

use crate::shard::{Archive, Fingerprint, Shard};

/// What the flags ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// `--limit`: only the first N calls.
    pub limit: Option<usize>,
    /// `--sample`: a reproducible random N, kept in input order.
    pub sample: Option<usize>,
    pub seed: u64,
    pub shard: Option<Shard>,
}

/// Applies [`Rules`] to calls as they are found; `T` is what the caller carries per call.
pub struct Selector<T> {
    rules: Rules,
    /// Calls offered so far: the next one's position in the archive.
    offered: usize,
    /// Calls chosen by `--limit` (without `--sample`) so far.
    chosen: usize,
    fingerprint: Fingerprint,
    /// `--sample`: the offered calls with the lowest seeded hash of their position so far.
    sample: BinaryHeap<Held<T>>,
}

/// A call held for the sample, ordered by its hash (the heap's top is the one to drop).
struct Held<T> {
    hash: [u8; 32],
    position: usize,
    id: String,
    digest: u64,
    item: T,
}

impl<T> PartialEq for Held<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.hash, self.position) == (other.hash, other.position)
    }
}
impl<T> Eq for Held<T> {}
impl<T> PartialOrd for Held<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Held<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.hash, self.position).cmp(&(other.hash, other.position))
    }
}

impl<T> Selector<T> {
    pub fn new(rules: Rules) -> Selector<T> {
        Selector {
            rules,
            offered: 0,
            chosen: 0,
            fingerprint: Fingerprint::default(),
            sample: BinaryHeap::new(),
        }
    }

    /// Offers the next call found (its unique `id` and the digest of its turns). Returns
    /// `item` when the run takes the call now, and `Break` when no later call can be
    /// taken (the limit is reached).
    pub fn offer(&mut self, id: &str, digest: u64, item: T) -> (Option<T>, ControlFlow<()>) {
        let position = self.offered;
        self.offered += 1;
        if let Some(n) = self.rules.sample {
            let held = Held {
                hash: sample_hash(self.rules.seed, position),
                position,
                id: id.to_string(),
                digest,
                item,
            };
            self.sample.push(held);
            if self.sample.len() > n {
                self.sample.pop();
            }
            return (None, ControlFlow::Continue(()));
        }
        if self.rules.limit.is_some_and(|n| self.chosen >= n) {
            return (None, ControlFlow::Break(()));
        }
        self.chosen += 1;
        self.fingerprint.add(id, digest);
        let taken = self.in_shard(id).then_some(item);
        let flow = match self.rules.limit {
            Some(n) if self.chosen >= n => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        };
        (taken, flow)
    }

    fn in_shard(&self, id: &str) -> bool {
        self.rules.shard.is_none_or(|shard| shard.holds(id))
    }

    /// Every call has been offered (or the limit was reached): the calls still to take
    /// (a sample's, in input order) and the archive the run chose from.
    pub fn finish(mut self) -> (Vec<T>, Archive) {
        let mut sample = std::mem::take(&mut self.sample).into_vec();
        sample.sort_unstable_by_key(|held| held.position);
        sample.truncate(self.rules.limit.unwrap_or(usize::MAX));
        let mut taken = Vec::new();
        for held in sample {
            self.fingerprint.add(&held.id, held.digest);
            if self.in_shard(&held.id) {
                taken.push(held.item);
            }
        }
        (taken, self.fingerprint.archive())
    }
}

/// The order `--sample` draws calls in: a seeded hash of the position, stable across runs
/// and machines.
fn sample_hash(seed: u64, position: usize) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(&(position as u64).to_le_bytes());
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The positions `rules` takes of `total` calls named `call-P`, and the archive.
    fn take(total: usize, rules: Rules) -> (Vec<usize>, Archive, usize) {
        let mut selector = Selector::new(rules);
        let mut taken = Vec::new();
        let mut offered = 0;
        for position in 0..total {
            offered += 1;
            let (now, flow) = selector.offer(&format!("call-{position}"), position as u64, position);
            taken.extend(now);
            if flow.is_break() {
                break;
            }
        }
        let (rest, archive) = selector.finish();
        taken.extend(rest);
        (taken, archive, offered)
    }

    #[test]
    fn a_sample_is_reproducible_in_input_order_and_its_seed_matters() {
        let rules = |sample, seed| Rules {
            sample: Some(sample),
            seed,
            ..Rules::default()
        };
        let (a, archive, offered) = take(100, rules(10, 7));
        assert_eq!(offered, 100, "a sample needs every call");
        assert_eq!(a.len(), 10);
        assert_eq!(archive.calls, 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
        assert_eq!(a, take(100, rules(10, 7)).0);
        assert_ne!(a, take(100, rules(10, 8)).0);
        assert_eq!(take(5, rules(10, 0)).0, [0, 1, 2, 3, 4]);
        // The same draw whatever the heap saw first: the 10 lowest hashes of 100 positions.
        let mut by_hash: Vec<usize> = (0..100).collect();
        by_hash.sort_by_key(|&p| sample_hash(7, p));
        let mut lowest = by_hash[..10].to_vec();
        lowest.sort_unstable();
        assert_eq!(a, lowest);
    }

    #[test]
    fn a_limit_stops_at_n_and_applies_to_the_sample() {
        let limit = Rules {
            limit: Some(3),
            ..Rules::default()
        };
        let (taken, archive, offered) = take(5, limit);
        assert_eq!((taken, archive.calls, offered), (vec![0, 1, 2], 3, 3));
        let both = Rules {
            sample: Some(10),
            ..limit
        };
        let (sampled, _, _) = take(100, Rules { limit: None, ..both });
        let (limited, archive, _) = take(100, both);
        assert_eq!(limited, sampled[..3]);
        assert_eq!(archive.calls, 3);
    }

    #[test]
    fn shards_split_the_same_choice_and_record_the_same_archive() {
        let whole = Rules {
            sample: Some(40),
            seed: 3,
            ..Rules::default()
        };
        let (all, archive, _) = take(200, whole);
        let mut joined = Vec::new();
        for index in 0..4 {
            let shard = Some(Shard { index, count: 4 });
            let (part, part_archive, _) = take(200, Rules { shard, ..whole });
            assert_eq!(
                part_archive, archive,
                "every shard names the archive the sample was cut from"
            );
            joined.extend(part);
        }
        joined.sort_unstable();
        assert_eq!(joined, all);
    }
}
