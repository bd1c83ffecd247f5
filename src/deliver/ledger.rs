//! The delivery ledger: which receiver acknowledged which call's result, so a re-run or
//! `postcall deliver` sends only what was not acknowledged.
//!
//! One JSON line per acknowledgement, `{"url": HASH, "key": IDEMPOTENCY_KEY, "call_id",
//! "at"}`, appended and flushed the moment a receiver answered 2xx, in
//! `.postcall/webhooks/ledger.jsonl` (beside the cache). The URL is kept only as a hash:
//! a webhook URL often carries a token. A line cut short by a kill is skipped on reading,
//! so the worst a kill can do is lose the last acknowledgement, and that call is sent
//! again with the same idempotency key for the receiver to drop.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    url: String,
    key: String,
    #[serde(default)]
    call_id: String,
    #[serde(default)]
    at: Option<jiff::Timestamp>,
}

/// The acknowledgements read at start, and the file new ones are appended to.
pub struct Ledger {
    path: PathBuf,
    acknowledged: Mutex<HashSet<(String, String)>>,
    file: Mutex<File>,
}

/// How the ledger names a receiver: a hash of its whole URL (never the URL, which may hold
/// a token).
pub fn url_id(url: &str) -> String {
    blake3::hash(url.as_bytes()).to_hex()[..32].to_string()
}

impl Ledger {
    /// Opens (creating) the ledger in `dir`, reading what it already holds.
    pub fn open(dir: &Path) -> anyhow::Result<Ledger> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the webhook ledger's directory {}", dir.display()))?;
        let path = dir.join("ledger.jsonl");
        let mut acknowledged = HashSet::new();
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let line = line.with_context(|| format!("cannot read the webhook ledger {}", path.display()))?;
                // A line a kill cut short is not an acknowledgement.
                if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
                    acknowledged.insert((entry.url, entry.key));
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write the webhook ledger {}", path.display()))?;
        Ok(Ledger {
            path,
            acknowledged: Mutex::new(acknowledged),
            file: Mutex::new(file),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_acknowledged(&self, url_id: &str, key: &str) -> bool {
        let set = self.acknowledged.lock().expect("ledger lock");
        set.contains(&(url_id.to_string(), key.to_string()))
    }

    /// Records that `url_id` acknowledged `key`; the line is on disk (in the OS's hands)
    /// when this returns.
    pub fn record(&self, url_id: &str, key: &str, call_id: &str) -> anyhow::Result<()> {
        let entry = Entry {
            url: url_id.to_string(),
            key: key.to_string(),
            call_id: call_id.to_string(),
            at: Some(jiff::Timestamp::now()),
        };
        let mut line = serde_json::to_vec(&entry).expect("an entry serialises");
        line.push(b'\n');
        {
            let mut file = self.file.lock().expect("ledger lock");
            file.write_all(&line)
                .and_then(|()| file.flush())
                .with_context(|| format!("cannot write the webhook ledger {}", self.path.display()))?;
        }
        self.acknowledged
            .lock()
            .expect("ledger lock")
            .insert((url_id.to_string(), key.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_survive_a_reopen_and_a_torn_last_line() {
        let t = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(t.path()).unwrap();
        ledger.record("u", "k1", "c1").unwrap();
        assert!(ledger.is_acknowledged("u", "k1"));
        drop(ledger);
        let mut file = OpenOptions::new()
            .append(true)
            .open(t.path().join("ledger.jsonl"))
            .unwrap();
        file.write_all(b"{\"url\": \"u\", \"key\": \"k2\"").unwrap();
        let again = Ledger::open(t.path()).unwrap();
        assert!(again.is_acknowledged("u", "k1"));
        assert!(!again.is_acknowledged("u", "k2"), "a torn line is no acknowledgement");
        assert!(!again.is_acknowledged("other", "k1"), "per receiver");
    }

    #[test]
    fn the_url_is_never_in_the_ledger() {
        let t = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(t.path()).unwrap();
        let url = "https://hooks.example/in?token=s3cret";
        ledger.record(&url_id(url), "k", "c").unwrap();
        let text = std::fs::read_to_string(ledger.path()).unwrap();
        assert!(!text.contains("s3cret") && !text.contains("hooks.example"), "{text}");
    }
}
