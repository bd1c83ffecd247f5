//! [`walk`]: every object under a prefix, in key order, listed as the reads come to it.
//!
//! A local directory is walked one directory at a time, so a run holds one directory's
//! names, not the archive's. A bucket used to be listed whole before its first read and
//! held until its last: some 43 bytes an object, 43 MB for a million calls, and the one part
//! of the `s3://` memory gap that grew with the archive. The walk lists a "directory"
//! (`calls/0042/`) when the objects before it have been handed on, with the next
//! [`LISTS_AT_ONCE`] directories' listings already on their way, so it is as fast as
//! listing them side by side and holds only the directories on its path and those ahead.
//!
//! Entries within a directory are taken in key order, a subdirectory sorting as its prefix
//! with the `/` (`calls/a.json` before `calls/a/`, `calls/a/` before `calls/a0.json`):
//! everything under a prefix is one run of the sorted keys, so this order is exactly a
//! sorted flat listing's.
//!
//! A flat listing is one request after another (each page names where the next starts),
//! 1,000 keys a page: 100 round trips for 100,000 calls, and some servers walk the whole
//! bucket for every page. A directory of more than [`MAX_DIRS_IN_ONE`] subdirectories
//! (`calls/<id>/transcript.json`) would cost a request an object, so it is listed flat
//! instead, as is anything below [`MAX_LEVELS`]; such a directory is held whole. So are
//! fewer subdirectories that each hold almost nothing (`calls/<day>/<id>/…`, a few hundred
//! a day): once the first [`LISTS_AT_ONCE`] brought fewer than [`THIN`] entries each, the
//! rest of their directory is listed flat, after the last object handed on.

use std::cmp::Ordering;
use std::sync::Arc;

use futures_util::{Stream, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path as Key;
use tokio_util::task::AbortOnDropHandle;

/// Directory listings on their way at once, ahead of the reads.
const LISTS_AT_ONCE: usize = 16;

/// A directory of more subdirectories than this is listed flat: a request a subdirectory
/// would cost more than the pages it saves.
const MAX_DIRS_IN_ONE: usize = 1_000;

/// How deep the walk goes by directory before it lists what is left flat.
const MAX_LEVELS: usize = 8;

/// A directory whose first [`LISTS_AT_ONCE`] subdirectories brought fewer entries than this
/// each, on average, has the rest listed flat: one call a directory
/// (`calls/2026-12-03/<id>/transcript.json`, a few hundred a day) would cost a request an
/// object, and hold the reads to [`LISTS_AT_ONCE`] directories at a time.
const THIN: usize = 8;

/// The objects under `prefix` (all of the bucket's for `None`), in key order: key and size.
/// A directory that cannot be listed ends the walk. Polled on the storage runtime: listings are tasks of their own,
/// so they go on while the reads are waited for, and are cancelled when the walk is dropped.
pub(super) fn walk(
    store: Arc<dyn ObjectStore>,
    prefix: Option<Key>,
) -> impl Stream<Item = Result<(Key, u64), Failed>> + Send + 'static {
    futures_util::stream::unfold(Walk::new(store, prefix), |mut walk| async move {
        let next = walk.next().await?;
        if next.is_err() {
            // Nothing after an error: what comes next would be out of order, or missing.
            walk.frames.clear();
        }
        Some((next, walk))
    })
}

/// A directory the store did not list (`None`: the bucket), and what it answered.
#[derive(Debug)]
pub(super) struct Failed {
    pub dir: Option<Key>,
    pub error: object_store::Error,
}

struct Walk {
    store: Arc<dyn ObjectStore>,
    /// The directories on the walk's path, the deepest last: its entries come first.
    frames: Vec<Frame>,
    /// Listings asked for and not yet taken.
    asked: usize,
    /// The last object handed on: what a listing of the rest starts after.
    last: Option<Key>,
    /// Listings asked for in all.
    listings: usize,
}

/// One directory's entries, in key order.
struct Frame {
    /// The directory (`None` for the walk's root, which holds the prefix alone).
    dir: Option<Key>,
    /// Its subdirectories' listings taken so far, and the entries they brought.
    listed: usize,
    found: usize,
    /// Its rest is listed flat: no subdirectory is listed on its own any more.
    flat: bool,
    entries: Vec<Entry>,
    /// The next entry to hand on.
    next: usize,
    /// The first entry not yet looked at for a listing to ask for.
    unasked: usize,
    /// How deep this directory's subdirectories are below the prefix.
    depth: usize,
}

enum Entry {
    Object(Key, u64),
    /// A directory, with its listing once asked for.
    Dir(Option<Key>, Option<Listing>),
    /// Handed on.
    Taken,
}

/// A directory's entries, being listed.
type Listing = AbortOnDropHandle<object_store::Result<Vec<Entry>>>;

impl Walk {
    fn new(store: Arc<dyn ObjectStore>, prefix: Option<Key>) -> Walk {
        let root = Frame {
            dir: None,
            listed: 0,
            found: 0,
            flat: false,
            entries: vec![Entry::Dir(prefix, None)],
            next: 0,
            unasked: 0,
            depth: 0,
        };
        Walk {
            store,
            frames: vec![root],
            asked: 0,
            last: None,
            listings: 0,
        }
    }

    async fn next(&mut self) -> Option<Result<(Key, u64), Failed>> {
        loop {
            self.ask_ahead();
            let frame = self.frames.last_mut()?;
            if frame.next == frame.entries.len() {
                self.frames.pop();
                continue;
            }
            if matches!(frame.entries[frame.next], Entry::Dir(..)) && frame.is_thin() {
                self.list_rest_flat();
                continue;
            }
            let entry = &mut frame.entries[frame.next];
            frame.next += 1;
            let depth = frame.depth;
            match std::mem::replace(entry, Entry::Taken) {
                Entry::Object(key, size) => {
                    self.last = Some(key.clone());
                    return Some(Ok((key, size)));
                }
                Entry::Dir(dir, listing) => {
                    let listing = match listing {
                        Some(listing) => {
                            self.asked -= 1;
                            listing
                        }
                        // Those ahead were asked for first when this directory came in
                        // after them (the entries of one just listed).
                        None => {
                            self.listings += 1;
                            ask(&self.store, dir.clone(), depth)
                        }
                    };
                    let entries = match listing.await.unwrap_or_else(|stopped| Err(stopped.into())) {
                        Ok(entries) => entries,
                        Err(error) => return Some(Err(Failed { dir, error })),
                    };
                    let parent = self.frames.last_mut().expect("the directory's own frame");
                    parent.listed += 1;
                    parent.found += entries.len();
                    self.frames.push(Frame {
                        dir,
                        listed: 0,
                        found: 0,
                        flat: false,
                        entries,
                        next: 0,
                        unasked: 0,
                        depth: depth + 1,
                    });
                }
                Entry::Taken => unreachable!("an entry is taken once, at `next`, which then moves on"),
            }
        }
    }

    /// Replaces the rest of the deepest directory's entries with one flat listing of what
    /// it holds after the last object handed on: everything handed on so far sorts before
    /// its next entry, and everything still to come after. Listings on their way for the
    /// entries dropped are cancelled.
    fn list_rest_flat(&mut self) {
        let frame = self.frames.last_mut().expect("a directory being walked");
        let rest = frame.entries.split_off(frame.next);
        self.asked -= rest.iter().filter(|e| matches!(e, Entry::Dir(_, Some(_)))).count();
        let store = self.store.clone();
        let (dir, after) = (frame.dir.clone(), self.last.clone());
        let listing = AbortOnDropHandle::new(tokio::spawn(
            async move { list_flat(&store, &dir, after.as_ref()).await },
        ));
        frame.entries.push(Entry::Dir(frame.dir.clone(), Some(listing)));
        frame.flat = true;
        frame.unasked = frame.entries.len();
        self.asked += 1;
        self.listings += 1;
    }

    /// Asks for the listings of the next directories in walk order, up to [`LISTS_AT_ONCE`].
    fn ask_ahead(&mut self) {
        for frame in self.frames.iter_mut().rev() {
            frame.unasked = frame.unasked.max(frame.next);
            while frame.unasked < frame.entries.len() {
                if self.asked == LISTS_AT_ONCE {
                    return;
                }
                if let Entry::Dir(dir, listing @ None) = &mut frame.entries[frame.unasked] {
                    *listing = Some(ask(&self.store, dir.clone(), frame.depth));
                    self.asked += 1;
                    self.listings += 1;
                }
                frame.unasked += 1;
            }
        }
    }
}

impl Frame {
    /// Whether its subdirectories so far were too thin to list one by one (see [`THIN`]).
    fn is_thin(&self) -> bool {
        !self.flat && self.listed >= LISTS_AT_ONCE && self.found < THIN * self.listed
    }
}

/// Lists `dir`, `depth` below the prefix, on a task of its own: by delimiter, or flat when
/// it is too deep or holds too many subdirectories.
fn ask(store: &Arc<dyn ObjectStore>, dir: Option<Key>, depth: usize) -> Listing {
    let store = store.clone();
    AbortOnDropHandle::new(tokio::spawn(async move {
        if depth >= MAX_LEVELS {
            return list_flat(&store, &dir, None).await;
        }
        let listed = store.list_with_delimiter(dir.as_ref()).await?;
        if listed.common_prefixes.len() > MAX_DIRS_IN_ONE {
            // Listed again, flat: that listing brings what is directly in it too.
            return list_flat(&store, &dir, None).await;
        }
        let mut entries: Vec<Entry> = listed
            .objects
            .into_iter()
            .filter_map(|o| found(&dir, o))
            .map(|(key, size)| Entry::Object(key, size))
            .chain(
                listed
                    .common_prefixes
                    .into_iter()
                    .filter(|p| below(&dir, p))
                    .map(|p| Entry::Dir(Some(p), None)),
            )
            .collect();
        entries.sort_unstable_by(in_walk_order);
        Ok(entries)
    }))
}

/// Everything under `dir` (after the key `after`, if given), in key order.
async fn list_flat(
    store: &Arc<dyn ObjectStore>,
    dir: &Option<Key>,
    after: Option<&Key>,
) -> object_store::Result<Vec<Entry>> {
    let listed = match after {
        Some(after) => store.list_with_offset(dir.as_ref(), after),
        None => store.list(dir.as_ref()),
    };
    // Kept to what sorts after `after` here too: a store that ignored the offset would
    // have the calls already read again, as duplicates.
    let after = after.map(|key| key.as_ref());
    let mut found: Vec<(Key, u64)> = listed
        .try_filter_map(|o| std::future::ready(Ok(found(dir, o))))
        .try_filter(|(key, _)| std::future::ready(after.is_none_or(|after| key.as_ref() > after)))
        .try_collect()
        .await?;
    found.sort_unstable_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    Ok(found.into_iter().map(|(key, size)| Entry::Object(key, size)).collect())
}

/// Key order, a directory sorting as its prefix and a `/`.
fn in_walk_order(a: &Entry, b: &Entry) -> Ordering {
    fn sorted_as(entry: &Entry) -> impl Iterator<Item = u8> + '_ {
        let (key, slash) = match entry {
            Entry::Object(key, _) => (key.as_ref(), None),
            Entry::Dir(dir, _) => (dir.as_ref().map_or("", |d| d.as_ref()), Some(b'/')),
            Entry::Taken => ("", None),
        };
        key.bytes().chain(slash)
    }
    sorted_as(a).cmp(sorted_as(b))
}

/// Whether `key` is strictly below `dir`: what a listing of `dir` may bring. A store
/// that answers otherwise (a prefix naming itself, a key from elsewhere in the bucket)
/// would have the walk read outside the prefix the user gave, or the same calls again
/// at every level.
fn below(dir: &Option<Key>, key: &Key) -> bool {
    let key = key.as_ref();
    match dir {
        None => !key.is_empty(),
        Some(dir) => key
            .strip_prefix(dir.as_ref())
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty()),
    }
}

/// What postcall keeps of a listed object, if it is below `dir`: its key and size. The rest
/// (ETag, dates, version) is dropped as each page comes.
fn found(dir: &Option<Key>, object: object_store::ObjectMeta) -> Option<(Key, u64)> {
    below(dir, &object.location).then_some((object.location, object.size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn store_with(runtime: &tokio::runtime::Runtime, keys: &[String]) -> Arc<dyn ObjectStore> {
        let store = Arc::new(InMemory::new());
        runtime.block_on(async {
            for key in keys {
                store
                    .put(&Key::from(key.as_str()), PutPayload::from(key.clone().into_bytes()))
                    .await
                    .unwrap();
            }
        });
        store
    }

    /// What a flat listing of `prefix` finds, sorted, and what the walk finds, as it comes.
    fn both_listings(keys: &[String], prefix: &str) -> (Vec<String>, Vec<String>) {
        let runtime = runtime();
        let store = store_with(&runtime, keys);
        let prefix = Key::from(prefix);
        let mut flat: Vec<String> = runtime
            .block_on(
                store
                    .list(Some(&prefix))
                    .map_ok(|m| m.location.to_string())
                    .try_collect::<Vec<_>>(),
            )
            .unwrap();
        flat.sort_unstable();
        let walked = runtime
            .block_on(
                walk(store, Some(prefix))
                    .map_ok(|(key, _)| key.to_string())
                    .try_collect::<Vec<_>>(),
            )
            .unwrap();
        (flat, walked)
    }

    #[test]
    fn the_walk_finds_exactly_what_a_flat_listing_finds_in_key_order() {
        let deep = (0..MAX_LEVELS + 2)
            .map(|level| format!("d{level}"))
            .collect::<Vec<_>>()
            .join("/");
        let mut keys: Vec<String> = [
            "calls/a.json",
            "calls/a-b/x.json",
            "calls/a/b/c.json",
            "calls/a/d.json",
            "calls/a/b/e/f.json",
            "calls/a0.json",
            "calls/a",
            "callsX/not-under-the-prefix.json",
            "other/n.json",
        ]
        .iter()
        .map(|k| k.to_string())
        .chain([format!("calls/{deep}/bottom.json"), format!("calls/{deep}.json")])
        .collect();
        // More directories than are listed at once, so some come in after those ahead.
        keys.extend((0..3 * LISTS_AT_ONCE).map(|i| format!("calls/m/{i:03}/{}.json", i % 7)));
        keys.extend((0..LISTS_AT_ONCE).map(|i| format!("calls/m/{i:03}/z/{i}.json")));
        let (flat, walked) = both_listings(&keys, "calls");
        assert_eq!(walked, flat, "the walk's order is a sorted listing's");
        assert_eq!(walked.len(), 9 + 4 * LISTS_AT_ONCE, "{walked:?}");
        assert!(
            walked.iter().any(|k| k.ends_with("bottom.json")),
            "below the levels listed by directory: {walked:?}"
        );
    }

    #[test]
    fn only_keys_strictly_below_the_listed_directory_are_taken() {
        let calls = Some(Key::from("calls"));
        assert!(below(&calls, &Key::from("calls/a.json")));
        assert!(below(&calls, &Key::from("calls/0042/a.json")));
        assert!(!below(&calls, &Key::from("calls")), "a prefix naming itself");
        assert!(!below(&calls, &Key::from("callsX/a.json")));
        assert!(!below(&calls, &Key::from("secret/a.json")));
        assert!(below(&None, &Key::from("a.json")));
    }

    #[test]
    fn a_directory_of_too_many_subdirectories_is_listed_flat_once() {
        let mut keys: Vec<String> = (0..=MAX_DIRS_IN_ONE)
            .map(|i| format!("many/{i:05}/transcript.json"))
            .collect();
        keys.push("many/direct.json".into());
        keys.push("many/00007/extra/deeper.json".into());
        let (flat, walked) = both_listings(&keys, "many");
        // Nothing twice: what the delimiter listing found directly is not added to the flat one's.
        assert_eq!(walked, flat);
        assert_eq!(walked.len(), MAX_DIRS_IN_ONE + 3);
    }

    #[test]
    fn directories_of_one_call_each_are_listed_flat_after_the_first_few() {
        // `calls/<day>/<id>/transcript.json`: three days of 200 calls, a directory a call,
        // and a direct object between the days. One listing a call would be 600 requests.
        let mut keys: Vec<String> = (0..600)
            .map(|i| format!("calls/day{}/{i:04}/transcript.json", i / 200))
            .collect();
        keys.push("calls/day1.json".into());
        let runtime = runtime();
        let store = store_with(&runtime, &keys);
        let mut walk = Walk::new(store, Some(Key::from("calls")));
        let walked: Vec<String> = runtime.block_on(async {
            let mut walked = Vec::new();
            while let Some(next) = walk.next().await {
                let Ok((key, _)) = next else {
                    panic!("the listing failed")
                };
                walked.push(key.to_string());
            }
            walked
        });
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(walked, sorted, "the same objects in the same order");
        assert!(
            walk.listings < 3 * (2 * LISTS_AT_ONCE + 2),
            "{} listings for 600 calls",
            walk.listings
        );
    }

    #[test]
    fn the_walk_holds_the_directories_on_its_path_and_those_ahead_not_the_archive() {
        // 200 directories of 5 objects: after 20 objects, the walk holds the top
        // directory's 200 entries and the current one's 5, and has asked for the next
        // LISTS_AT_ONCE listings, not for the 1,000 objects.
        let keys: Vec<String> = (0..1_000).map(|i| format!("calls/{:04}/{i}.json", i / 5)).collect();
        let runtime = runtime();
        let store = store_with(&runtime, &keys);
        let mut walk = Walk::new(store, Some(Key::from("calls")));
        let first: Vec<String> = runtime.block_on(async {
            let mut first = Vec::new();
            for _ in 0..20 {
                let Some(Ok((key, _))) = walk.next().await else {
                    panic!("20 objects")
                };
                first.push(key.to_string());
            }
            first
        });
        assert_eq!(first[19], "calls/0003/19.json");
        let held: usize = walk.frames.iter().map(|f| f.entries.len()).sum();
        assert_eq!(
            held,
            1 + 200 + 5,
            "the prefix, its directories, the fourth directory's objects"
        );
        assert_eq!(walk.asked, LISTS_AT_ONCE);
    }
}
