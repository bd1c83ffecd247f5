//! A content-addressed store of model answers, so a re-run never pays twice.
//!
//! The key is a blake3 hash of everything that determines the answer — endpoint identity,
//! the exact request body (model, messages, schema, every parameter) and the cache format
//! version — and never a file path, so moving an archive keeps its answers. One file per
//! entry, written to a temp file and renamed: concurrent runs sharing a directory see
//! either no entry or a whole one, and a torn or unreadable entry counts as missing.
//!
//! Runs that share a cache must not pay twice for one request: before asking, a run claims
//! the key ([`Cache::get_or_claim`], a lock file in `claims/`), and a run that finds it
//! claimed waits for the answer instead of asking too. The claim is an `flock`, so a run
//! killed while asking releases it and a waiter takes over; a claim never blocks forever.
//! Temporary files live in `tmp/`, named after the pid that writes them, so the next run
//! can remove those a killed run left.
//!
//! `--cache-dir s3://bucket/prefix` keeps the same entries as objects (the same key layout),
//! so workers on many machines share answers. An object `PUT` is whole or absent, as the
//! rename is; what a bucket cannot do is claims, so two runs asking one request at the same
//! moment may both pay for it (a local cache never lets them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::llm::{Completion, TokenUsage};
use crate::lock::{self, Attempt, Held};
use crate::storage::{self, ObjectUrl};

/// How often a run waiting on another's claim looks again.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// Bump when the entry format or the meaning of a key changes.
pub const CACHE_FORMAT_VERSION: u32 = 1;
pub const DEFAULT_DIR: &str = ".postcall/cache";

#[derive(Debug, Clone)]
pub struct Cache {
    place: Place,
}

/// Where the entries live.
#[derive(Debug, Clone)]
enum Place {
    Dir(PathBuf),
    /// The prefix the entries go under (`s3://bucket/cache`).
    Bucket(ObjectUrl),
}

/// The most of an entry read back: far above any answer (a bigger object is not ours).
const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    content: String,
    finish_reason: Option<String>,
    prompt_tokens: u64,
    /// Absent from entries written before cached input was counted.
    #[serde(default)]
    cached_prompt_tokens: u64,
    completion_tokens: u64,
    /// The probability of each metric's value, for answers asked with `logprobs: true`
    /// (whose requests, and so keys, are their own); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_probabilities: Option<std::collections::BTreeMap<String, f64>>,
}

/// What `postcall cache stats` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub entries: u64,
    pub bytes: u64,
}

/// What [`Cache::get_or_claim`] found.
#[derive(Debug)]
pub enum Lookup {
    Hit(Completion),
    /// Nobody has the answer: this caller asks, and stores it through the claim.
    Claimed(Claim),
    /// The run is stopping; it gave up waiting on another's claim.
    Cancelled,
}

/// The right to ask one request, held until dropped (after the answer is stored, or given
/// up on, at which point a waiter asks instead).
#[derive(Debug)]
pub struct Claim {
    cache: Cache,
    key: String,
    /// `None` when claims cannot be taken in this cache (the caller asks regardless).
    _held: Option<Held>,
}

impl Claim {
    /// Stores the answer under the claimed key, then lets the claim go (by drop).
    pub fn fulfil(self, completion: &Completion) -> std::io::Result<()> {
        self.cache.put(&self.key, completion)
    }
}

impl Cache {
    /// Opens (creating) the cache directory, and removes the temporary files and claims a
    /// killed run left in it.
    pub fn open(dir: &Path) -> anyhow::Result<Cache> {
        if let Some(url) = bucket(dir)? {
            storage::check_bucket(&url)
                .map_err(|e| anyhow::anyhow!("cannot use the cache in {e} (use another --cache-dir or --no-cache)"))?;
            return Ok(Cache {
                place: Place::Bucket(url),
            });
        }
        for sub in [dir.to_path_buf(), dir.join("tmp"), dir.join("claims")] {
            std::fs::create_dir_all(&sub).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create the cache directory {}: {e} (use --cache-dir DIR or --no-cache)",
                    sub.display()
                )
            })?;
        }
        let cache = Cache {
            place: Place::Dir(dir.to_path_buf()),
        };
        cache.remove_leftovers(dir);
        Ok(cache)
    }

    /// The cache in `dir` if there is one, to read only: nothing is created or removed (a
    /// bucket is taken as it is; a read that fails is a miss).
    pub fn existing(dir: &Path) -> Option<Cache> {
        if let Ok(Some(url)) = bucket(dir) {
            return Some(Cache {
                place: Place::Bucket(url),
            });
        }
        dir.is_dir().then(|| Cache {
            place: Place::Dir(dir.to_path_buf()),
        })
    }

    fn remove_leftovers(&self, dir: &Path) {
        let now = SystemTime::now();
        for entry in std::fs::read_dir(dir.join("tmp")).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix('.'))
                .and_then(|n| n.split_once('.'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(now);
            if pid.is_some_and(|pid| lock::left_by_a_dead_process(pid, modified, now)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        // A claim file nobody holds is a killed run's: taking it and letting go removes it.
        for entry in std::fs::read_dir(dir.join("claims")).into_iter().flatten().flatten() {
            let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|m| m < now);
            if old && let Ok(Attempt::Held(held)) = lock::try_lock_path(&entry.path()) {
                drop(held);
            }
        }
    }

    /// The cached answer for `key`, or a claim on asking for it. When another run (or
    /// another worker of this one) holds the claim, waits until it lets go — then its
    /// answer is usually here — checking `cancel` as it waits.
    pub fn get_or_claim(&self, key: &str, cancel: &AtomicBool) -> Lookup {
        let dir = match &self.place {
            Place::Dir(dir) => dir,
            Place::Bucket(_) => {
                return match self.get(key) {
                    Some(hit) => Lookup::Hit(hit),
                    None => Lookup::Claimed(self.overwrite(key.to_string())),
                };
            }
        };
        let claim_path = dir.join("claims").join(key);
        loop {
            if let Some(hit) = self.get(key) {
                return Lookup::Hit(hit);
            }
            let held = match lock::try_lock_path(&claim_path) {
                Ok(Attempt::Held(held)) => Some(held),
                Ok(Attempt::Busy { .. }) => {
                    if cancel.load(Ordering::Relaxed) {
                        return Lookup::Cancelled;
                    }
                    std::thread::sleep(CLAIM_POLL);
                    continue;
                }
                // Claims cannot be taken here (a read-only cache): ask without one.
                Err(_) => None,
            };
            // The holder may have stored the answer between the look and the lock.
            if let Some(hit) = self.get(key) {
                return Lookup::Hit(hit);
            }
            return Lookup::Claimed(Claim {
                cache: self.clone(),
                key: key.to_string(),
                _held: held,
            });
        }
    }

    /// Where the cache is, as shown to people (a bucket's URL redacted).
    pub fn shown(&self) -> String {
        match &self.place {
            Place::Dir(dir) => dir.display().to_string(),
            Place::Bucket(url) => url.redacted(),
        }
    }

    /// The key for a request to `endpoint` (base URL and provider) with this exact body.
    pub fn key(endpoint: &str, body: &serde_json::Value) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(format!("postcall-cache-v{CACHE_FORMAT_VERSION}\0{endpoint}\0").as_bytes());
        hasher.update(serde_json::to_string(body).expect("body serializes").as_bytes());
        hasher.finalize().to_hex().to_string()
    }

    /// A claim that stores a fresh answer under `key` whatever is cached (`--refresh`); it
    /// neither waits on nor blocks anyone.
    pub fn overwrite(&self, key: String) -> Claim {
        Claim {
            cache: self.clone(),
            key,
            _held: None,
        }
    }

    /// An entry's name under the cache: `ab/abcdef….json`.
    fn entry_name(key: &str) -> String {
        format!("{}/{key}.json", &key[..2])
    }

    fn path(dir: &Path, key: &str) -> PathBuf {
        dir.join(Cache::entry_name(key))
    }

    fn object(prefix: &ObjectUrl, key: &str) -> ObjectUrl {
        let under = prefix.key();
        let name = Cache::entry_name(key);
        prefix.with_key(&if under.is_empty() {
            name
        } else {
            format!("{under}/{name}")
        })
    }

    pub fn get(&self, key: &str) -> Option<Completion> {
        let bytes = match &self.place {
            Place::Dir(dir) => std::fs::read(Cache::path(dir, key)).ok()?,
            // A bucket that cannot be read is a miss, as an unreadable file is: the answer
            // is asked again, and storing it says what is wrong.
            Place::Bucket(prefix) => storage::read_if_there(&Cache::object(prefix, key), MAX_ENTRY_BYTES)
                .ok()
                .flatten()?
                .to_vec(),
        };
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.version == CACHE_FORMAT_VERSION).then_some(Completion {
            content: entry.content,
            finish_reason: entry.finish_reason,
            usage: TokenUsage {
                prompt_tokens: entry.prompt_tokens,
                cached_prompt_tokens: entry.cached_prompt_tokens,
                completion_tokens: entry.completion_tokens,
            },
            value_probabilities: entry.value_probabilities,
        })
    }

    /// Stores an answer. A failure to write is reported but never fails the run: the
    /// answer is still in the report, only a re-run would have to ask again.
    pub fn put(&self, key: &str, completion: &Completion) -> std::io::Result<()> {
        let entry = Entry {
            version: CACHE_FORMAT_VERSION,
            content: completion.content.clone(),
            finish_reason: completion.finish_reason.clone(),
            prompt_tokens: completion.usage.prompt_tokens,
            cached_prompt_tokens: completion.usage.cached_prompt_tokens,
            completion_tokens: completion.usage.completion_tokens,
            value_probabilities: completion.value_probabilities.clone(),
        };
        let bytes = serde_json::to_vec(&entry).expect("entry serializes");
        let dir = match &self.place {
            Place::Dir(dir) => dir,
            Place::Bucket(prefix) => {
                return storage::put(&Cache::object(prefix, key), bytes).map_err(std::io::Error::other);
            }
        };
        let path = Cache::path(dir, key);
        let parent = path.parent().expect("entry has a parent");
        std::fs::create_dir_all(parent)?;
        std::fs::create_dir_all(dir.join("tmp"))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", std::process::id()))
            .tempfile_in(dir.join("tmp"))?;
        tmp.write_all(&bytes)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn stats(&self) -> std::io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        let dir = match &self.place {
            Place::Dir(dir) => dir,
            Place::Bucket(prefix) => {
                storage::for_each_listed(prefix, &mut |key, size| {
                    stats.entries += u64::from(key.ends_with(".json"));
                    stats.bytes += size;
                })
                .map_err(std::io::Error::other)?;
                return Ok(stats);
            }
        };
        for_each_entry(dir, &mut |_, meta| {
            stats.entries += 1;
            stats.bytes += meta.len();
        })?;
        Ok(stats)
    }

    /// Deletes entries last written more than `age` ago; returns what was removed.
    pub fn prune(&self, age: Duration) -> std::io::Result<CacheStats> {
        let cutoff = SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = CacheStats::default();
        let Place::Dir(dir) = &self.place else {
            return Err(std::io::Error::other(format!(
                "{}: a bucket cache is pruned by the bucket's own lifecycle rules (e.g. expire objects under the prefix after {} days)",
                self.shown(),
                age.as_secs().div_ceil(86_400)
            )));
        };
        for_each_entry(dir, &mut |path, meta| {
            if meta.modified().is_ok_and(|m| m < cutoff) && std::fs::remove_file(path).is_ok() {
                removed.entries += 1;
                removed.bytes += meta.len();
            }
        })?;
        Ok(removed)
    }
}

fn for_each_entry(dir: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata)) -> std::io::Result<()> {
    let shards = match std::fs::read_dir(dir) {
        Ok(shards) => shards,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for shard in shards {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(shard.path())? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                f(&path, &entry.metadata()?);
            }
        }
    }
    Ok(())
}

/// The bucket `dir` names, if it is a URL.
fn bucket(dir: &Path) -> anyhow::Result<Option<ObjectUrl>> {
    let url = ObjectUrl::from_path(dir).map_err(|e| anyhow::anyhow!("--cache-dir {e}"))?;
    if let Some(url) = url.as_ref().filter(|url| url.scheme() == storage::Scheme::Https) {
        // A presigned link signs one object; the cache's entries are other objects, which
        // the store would refuse one by one all run long.
        return Err(crate::cli::UsageError(format!(
            "--cache-dir {}: a presigned https:// URL names one object, and a cache is many; \
             give a local directory or an s3://, gs:// or az:// prefix",
            url.redacted()
        ))
        .into());
    }
    Ok(url)
}

/// Parses `30d`, `12h`, `45m`, `90s`. A bare number is refused: `--older-than 30` meant
/// 30 days to one user and deleted the whole cache as 30 seconds.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age; write e.g. 30d, 12h, 45m"))?;
    let unit_secs: u64 = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        "" => {
            return Err(format!(
                "`{text}` has no unit; say which you mean: {n}d (days), {n}h (hours), {n}m (minutes) or {n}s (seconds)"
            ));
        }
        _ => return Err(format!("`{text}` has an unknown unit; use d, h, m or s (e.g. 30d)")),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is longer than any cache has existed; write e.g. 365d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion() -> Completion {
        Completion {
            content: "{\"a\":1}".into(),
            finish_reason: Some("stop".into()),
            usage: TokenUsage {
                prompt_tokens: 10,
                cached_prompt_tokens: 0,
                completion_tokens: 3,
            },
            value_probabilities: Some([("a".to_string(), 0.25)].into()),
        }
    }

    #[test]
    fn round_trip_and_keys_depend_on_everything_but_paths() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        let key = Cache::key("http://a/v1", &body);
        assert!(cache.get(&key).is_none());
        cache.put(&key, &completion()).unwrap();
        assert_eq!(cache.get(&key), Some(completion()));
        assert_ne!(key, Cache::key("http://b/v1", &body));
        assert_ne!(
            key,
            Cache::key("http://a/v1", &serde_json::json!({"model": "m2", "messages": []}))
        );
        assert_eq!(cache.stats().unwrap().entries, 1);
    }

    #[test]
    fn a_torn_entry_is_missing_and_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let key = Cache::key("e", &serde_json::json!({}));
        let path = Cache::path(dir.path(), &key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{\"version\":1,\"cont").unwrap();
        assert!(cache.get(&key).is_none());
        cache.put(&key, &completion()).unwrap();
        assert_eq!(cache.get(&key), Some(completion()));
    }

    #[test]
    fn a_claimed_key_makes_others_wait_for_its_answer() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let key = Cache::key("e", &serde_json::json!({"n": 1}));
        let never = AtomicBool::new(false);
        let Lookup::Claimed(claim) = cache.get_or_claim(&key, &never) else {
            panic!("nothing cached, nobody asking: ours to ask")
        };
        let waiter = {
            let cache = cache.clone();
            let key = key.clone();
            std::thread::spawn(move || match cache.get_or_claim(&key, &AtomicBool::new(false)) {
                Lookup::Hit(hit) => hit,
                other => panic!("the waiter should get the answer, got {other:?}"),
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        assert!(!waiter.is_finished(), "the waiter waits while the claim is held");
        claim.fulfil(&completion()).unwrap();
        assert_eq!(waiter.join().unwrap(), completion());
    }

    #[test]
    fn a_claim_given_up_without_an_answer_passes_to_the_waiter_and_cancel_stops_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let key = Cache::key("e", &serde_json::json!({"n": 2}));
        let Lookup::Claimed(claim) = cache.get_or_claim(&key, &AtomicBool::new(false)) else {
            panic!("ours to ask")
        };
        let stop = AtomicBool::new(true);
        assert!(matches!(cache.get_or_claim(&key, &stop), Lookup::Cancelled));
        drop(claim);
        assert!(matches!(
            cache.get_or_claim(&key, &AtomicBool::new(false)),
            Lookup::Claimed(_)
        ));
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed_when_the_cache_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        Cache::open(dir.path()).unwrap();
        let dead = u32::try_from(libc::pid_t::MAX).unwrap();
        let temp = dir.path().join("tmp").join(format!(".{dead}.abc123"));
        let claim = dir.path().join("claims").join("ab".repeat(32));
        std::fs::write(&temp, "half an entry").unwrap();
        std::fs::write(&claim, dead.to_string()).unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        for path in [&temp, &claim] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        Cache::open(dir.path()).unwrap();
        assert!(!temp.exists() && !claim.exists());
    }

    #[test]
    fn prune_removes_old_entries_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        cache
            .put(&Cache::key("e", &serde_json::json!(1)), &completion())
            .unwrap();
        assert_eq!(cache.prune(Duration::from_secs(3600)).unwrap().entries, 0);
        assert_eq!(cache.prune(Duration::ZERO).unwrap().entries, 1);
        assert_eq!(cache.stats().unwrap().entries, 0);
    }

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_age("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert!(parse_age("soon").is_err());
        assert!(parse_age("3w").is_err());
        assert!(parse_age("99999999999999999d").is_err());
    }
}
