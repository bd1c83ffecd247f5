//! A content-addressed store of model answers, so a re-run never pays twice.
//!
//! The key is a blake3 hash of everything that determines the answer — endpoint identity,
//! the exact request body (model, messages, schema, every parameter) and the cache format
//! version — and never a file path, so moving an archive keeps its answers. One file per
//! entry, written to a temp file and renamed: concurrent runs sharing a directory see
//! either no entry or a whole one, and a torn or unreadable entry counts as missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::llm::{Completion, TokenUsage};

/// Bump when the entry format or the meaning of a key changes.
pub const CACHE_FORMAT_VERSION: u32 = 1;
pub const DEFAULT_DIR: &str = ".postcall/cache";

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    content: String,
    finish_reason: Option<String>,
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// What `postcall cache stats` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub entries: u64,
    pub bytes: u64,
}

impl Cache {
    /// Opens (creating) the cache directory.
    pub fn open(dir: &Path) -> anyhow::Result<Cache> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the cache directory {}: {e} (use --cache-dir DIR or --no-cache)",
                dir.display()
            )
        })?;
        Ok(Cache { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key for a request to `endpoint` (base URL and provider) with this exact body.
    pub fn key(endpoint: &str, body: &serde_json::Value) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(format!("postcall-cache-v{CACHE_FORMAT_VERSION}\0{endpoint}\0").as_bytes());
        hasher.update(serde_json::to_string(body).expect("body serializes").as_bytes());
        hasher.finalize().to_hex().to_string()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    pub fn get(&self, key: &str) -> Option<Completion> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.version == CACHE_FORMAT_VERSION).then_some(Completion {
            content: entry.content,
            finish_reason: entry.finish_reason,
            usage: TokenUsage {
                prompt_tokens: entry.prompt_tokens,
                completion_tokens: entry.completion_tokens,
            },
        })
    }

    /// Stores an answer. A failure to write is reported but never fails the run: the
    /// answer is still in the report, only a re-run would have to ask again.
    pub fn put(&self, key: &str, completion: &Completion) -> std::io::Result<()> {
        let path = self.path(key);
        let parent = path.parent().expect("entry has a parent");
        std::fs::create_dir_all(parent)?;
        let entry = Entry {
            version: CACHE_FORMAT_VERSION,
            content: completion.content.clone(),
            finish_reason: completion.finish_reason.clone(),
            prompt_tokens: completion.usage.prompt_tokens,
            completion_tokens: completion.usage.completion_tokens,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        tmp.write_all(&serde_json::to_vec(&entry).expect("entry serializes"))?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn stats(&self) -> std::io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        for_each_entry(&self.dir, &mut |_, meta| {
            stats.entries += 1;
            stats.bytes += meta.len();
        })?;
        Ok(stats)
    }

    /// Deletes entries last written more than `age` ago; returns what was removed.
    pub fn prune(&self, age: Duration) -> std::io::Result<CacheStats> {
        let cutoff = SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = CacheStats::default();
        for_each_entry(&self.dir, &mut |path, meta| {
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
                completion_tokens: 3,
            },
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
        let path = cache.path(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{\"version\":1,\"cont").unwrap();
        assert!(cache.get(&key).is_none());
        cache.put(&key, &completion()).unwrap();
        assert_eq!(cache.get(&key), Some(completion()));
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
