//! Call ids made unique as the scan finds them: the first call keeps its id, a later one
//! with the same id takes the first `#N` no call before it has, with a warning. Decided in
//! input order, from what came before, since a run asks each call as the scan makes it.

use std::collections::HashMap;

/// Ids given so far, each with the source of its first call, for the duplicates' warnings.
///
/// Kept for every call of the archive (a shard's scan reads them all, to number duplicates
/// as every other shard does), so kept small: an id by a 128-bit hash of it, and its
/// source in a shared arena. A `Box<str>` of each cost ~170 bytes a call (10,000 to 40,000
/// calls: +5.5 MB of peak memory); this ~90, mostly the source's own bytes. Two ids with
/// the same 128-bit BLAKE3 hash are not to be found in any archive.
#[derive(Default)]
pub(super) struct UniqueIds {
    first_seen: HashMap<[u8; 16], Source>,
    sources: Arena,
    /// Where each id's search for a free suffix goes on from: starting again at 2 made n
    /// copies of one call cost n² lookups (10,000 copies: 24 s of scan).
    next_suffix: HashMap<Box<str>, u64>,
}

fn key(id: &str) -> [u8; 16] {
    let hash = blake3::hash(id.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&hash.as_bytes()[..16]);
    key
}

impl UniqueIds {
    /// Takes `id` for the call from `source`; when an earlier call has it, the first free
    /// `id#N` instead, with the warning that says so.
    pub(super) fn claim(&mut self, id: &str, source: &str) -> Option<(String, String)> {
        let hashed = key(id);
        let Some(&first) = self.first_seen.get(&hashed) else {
            let source = self.sources.push(source);
            self.first_seen.insert(hashed, source);
            return None;
        };
        let next = self.next_suffix.entry(id.into()).or_insert(2);
        let (n, unique) = (*next..)
            .map(|n| (n, format!("{id}#{n}")))
            .find(|(_, unique)| !self.first_seen.contains_key(&key(unique)))
            .expect("an unused suffix exists");
        *next = n + 1;
        let warning = format!(
            "duplicate call id `{id}`: {source} has the same id as {}; it is `{unique}` in this run",
            self.sources.get(first)
        );
        let source = self.sources.push(source);
        self.first_seen.insert(key(&unique), source);
        Some((unique, warning))
    }
}

/// Where a source is in the [`Arena`].
#[derive(Clone, Copy)]
struct Source {
    chunk: u32,
    start: u32,
    len: u32,
}

/// Strings end to end in chunks of [`CHUNK`] bytes: one allocation per chunk, not per
/// string, and no chunk ever copied to grow (as one `String` doubling would be).
#[derive(Default)]
struct Arena {
    chunks: Vec<String>,
}

const CHUNK: usize = 1 << 20;

impl Arena {
    fn push(&mut self, text: &str) -> Source {
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= text.len());
        if !fits {
            self.chunks.push(String::with_capacity(CHUNK.max(text.len())));
        }
        let chunk = self.chunks.len() - 1;
        let last = &mut self.chunks[chunk];
        let start = last.len();
        last.push_str(text);
        Source {
            chunk: chunk as u32,
            start: start as u32,
            len: text.len() as u32,
        }
    }

    fn get(&self, source: Source) -> &str {
        let start = source.start as usize;
        &self.chunks[source.chunk as usize][start..start + source.len as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids `UniqueIds` gives calls from `sources` (id, source) in order, and its warnings.
    fn claimed(calls: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
        let mut ids = UniqueIds::default();
        let mut warnings = Vec::new();
        let given = calls
            .iter()
            .map(|(id, source)| match ids.claim(id, source) {
                Some((unique, warning)) => {
                    warnings.push(warning);
                    unique
                }
                None => id.to_string(),
            })
            .collect();
        (given, warnings)
    }

    #[test]
    fn a_later_duplicate_id_gets_a_suffix_no_earlier_call_has() {
        let (ids, warnings) = claimed(&[("a", "x.json"), ("a", "y.json"), ("a#2", "z.json"), ("a", "w.json")]);
        // z.json's own id was given to y.json before z.json was read: it is the duplicate.
        assert_eq!(ids, ["a", "a#2", "a#2#2", "a#3"]);
        assert_eq!(warnings.len(), 3);
        assert!(
            warnings[0].contains("y.json has the same id as x.json"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].contains("z.json has the same id as y.json"),
            "{}",
            warnings[1]
        );
    }

    #[test]
    fn sources_longer_than_a_chunk_and_across_chunks_are_given_back_whole() {
        let mut arena = Arena::default();
        let long = "x".repeat(CHUNK + 5);
        let names: Vec<String> = (0..30_000).map(|i| format!("calls/{i:05}/call-{i}.json")).collect();
        let mut at: Vec<Source> = names.iter().map(|n| arena.push(n)).collect();
        at.push(arena.push(&long));
        assert!(arena.chunks.len() > 1, "the names alone fill more than a chunk");
        for (name, &source) in names.iter().zip(&at) {
            assert_eq!(arena.get(source), name);
        }
        assert_eq!(arena.get(at[30_000]), long);
    }

    #[test]
    fn many_copies_of_one_id_are_numbered_in_order_around_taken_suffixes() {
        let mut calls: Vec<(String, String)> = vec![("call#3".into(), "taken.json".into())];
        calls.extend((0..5_000).map(|i| ("call".to_string(), format!("{i}.json"))));
        let calls: Vec<(&str, &str)> = calls.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let (ids, warnings) = claimed(&calls);
        assert_eq!(warnings.len(), 4_999);
        assert_eq!(ids[2], "call#2");
        assert_eq!(ids[3], "call#4", "call#3 is another call's own id");
        assert_eq!(ids[5_000], "call#5001");
        let unique: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(unique.len(), ids.len());
    }
}
