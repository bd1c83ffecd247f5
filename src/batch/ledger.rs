//! The batch ledger: what was submitted, as one JSON file per input file ("chunk") in
//! `.postcall/batches/` (beside the cache), each written to a temp file and renamed.
//!
//! Every side effect on the provider is recorded as an intent first and looked up after:
//! a chunk is written (with its input file) before it is uploaded, and its file id before
//! the batch is created. A run killed between the two finds the chunk at its last step and
//! continues from there, looking the uploaded file up by its name and the created batch up
//! by its metadata, so no kill makes a second batch for the same requests. A lock on the
//! directory keeps two `postcall batch` commands from working on one ledger at once.
//!
//! No secret is written here: the base URL is kept redacted (`batch status` and `collect`
//! take `--base-url` again when it had credentials in it) and the key only by the name of
//! its variable.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::lock::{self, Attempt, Held};
use crate::spec::Metric;

/// Bump when a chunk's meaning changes.
pub const LEDGER_VERSION: u32 = 1;

/// What one request of a chunk asks: the metrics (as the metric file defined them when it
/// was submitted) and whether the summary. `collect` validates the answers against these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub metrics: Vec<Metric>,
    pub summary: bool,
}

/// One request of a chunk: its line's `custom_id`, the cache key `run` looks its answer
/// up by, and which of the chunk's questions it asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub custom_id: String,
    pub key: String,
    pub question: usize,
}

/// `request_counts` as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub completed: u64,
    #[serde(default)]
    pub failed: u64,
}

/// What `collect` made of a finished batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collected {
    /// Valid answers put in the cache.
    pub cached: u64,
    /// Answers the validator refused (asked live by `run`, or sent again by `submit`).
    pub invalid: u64,
    /// Requests the provider answered with an error.
    pub failed: u64,
    /// Requests with neither an answer nor an error (an expired or cancelled batch).
    pub missing: u64,
}

/// One input file and the batch made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub version: u32,
    /// A hash of the input file's bytes: its name here, at the provider and in the batch's
    /// metadata.
    pub id: String,
    pub created_at: jiff::Timestamp,
    /// Redacted.
    pub base_url: String,
    pub api_key_env: String,
    pub model: String,
    pub bytes: u64,
    pub questions: Vec<Question>,
    pub units: Vec<Unit>,
    #[serde(default)]
    pub file_id: Option<String>,
    #[serde(default)]
    pub batch_id: Option<String>,
    /// The batch's status when last looked at.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub request_counts: Option<RequestCounts>,
    #[serde(default)]
    pub output_file_id: Option<String>,
    #[serde(default)]
    pub error_file_id: Option<String>,
    #[serde(default)]
    pub collected: Option<Collected>,
}

/// The step a chunk has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Written here; maybe uploaded by a run killed before it could say so.
    Planned,
    /// Uploaded; maybe made a batch by a run killed before it could say so.
    Uploaded,
    /// A batch at the provider.
    Created,
    /// Its answers are in the cache (or known missing).
    Collected,
}

impl Chunk {
    /// A chunk just planned: its input file written here, nothing sent yet.
    pub fn planned(
        id: String,
        base_url: String,
        api_key_env: String,
        model: String,
        bytes: u64,
        questions: Vec<Question>,
        units: Vec<Unit>,
    ) -> Chunk {
        Chunk {
            version: LEDGER_VERSION,
            id,
            created_at: jiff::Timestamp::now(),
            base_url,
            api_key_env,
            model,
            bytes,
            questions,
            units,
            file_id: None,
            batch_id: None,
            status: None,
            request_counts: None,
            output_file_id: None,
            error_file_id: None,
            collected: None,
        }
    }

    pub fn step(&self) -> Step {
        match (&self.file_id, &self.batch_id, &self.collected) {
            (_, _, Some(_)) => Step::Collected,
            (_, Some(_), None) => Step::Created,
            (Some(_), None, None) => Step::Uploaded,
            (None, None, None) => Step::Planned,
        }
    }

    /// The name the input file is uploaded under, by which a resumed run finds it.
    pub fn file_name(&self) -> String {
        format!("postcall-{}.jsonl", self.id)
    }
}

/// The ledger directory, locked for as long as this value lives.
pub struct Ledger {
    dir: PathBuf,
    _lock: Held,
}

impl Ledger {
    /// Opens (creating) the ledger in `dir` and takes its lock.
    pub fn open(dir: &Path) -> anyhow::Result<Ledger> {
        std::fs::create_dir_all(dir.join("tmp"))
            .with_context(|| format!("cannot create the batch ledger's directory {}", dir.display()))?;
        let lock_path = dir.join(".lock");
        let held = match lock::try_lock_path(&lock_path)
            .with_context(|| format!("cannot lock the batch ledger {}", lock_path.display()))?
        {
            Attempt::Held(held) => held,
            Attempt::Busy { pid } => anyhow::bail!(
                "another `postcall batch` command{} is working on the ledger in {}: wait for it to finish, then run \
                 this again",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                dir.display()
            ),
        };
        Ok(Ledger {
            dir: dir.to_path_buf(),
            _lock: held,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn chunk_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The input file of chunk `id`.
    pub fn input_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.input.jsonl"))
    }

    /// Where the provider's output (`errors`: error) file of chunk `id` is kept once
    /// downloaded whole.
    pub fn download_path(&self, id: &str, errors: bool) -> PathBuf {
        let kind = if errors { "errors" } else { "output" };
        self.dir.join(format!("{id}.{kind}.jsonl"))
    }

    /// Every chunk, oldest first. A chunk file that cannot be read is an error naming it:
    /// skipping it could send its requests twice.
    pub fn chunks(&self) -> anyhow::Result<Vec<Chunk>> {
        let mut chunks = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read the batch ledger {}", self.dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".json") || name.starts_with('.') {
                continue;
            }
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let chunk: Chunk = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not a batch ledger entry postcall can read; move it away if it is not one",
                    path.display()
                )
            })?;
            anyhow::ensure!(
                chunk.version == LEDGER_VERSION,
                "{} was written by another version of postcall (ledger version {}, this one reads {LEDGER_VERSION})",
                path.display(),
                chunk.version
            );
            chunks.push(chunk);
        }
        chunks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(chunks)
    }

    /// Records `chunk` (replacing its earlier record whole, never in part).
    pub fn save(&self, chunk: &Chunk) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(chunk).expect("a chunk serializes");
        self.write_atomically(&self.chunk_path(&chunk.id), &bytes)
    }

    /// Writes `bytes` to `path` through a temp file renamed into place.
    pub fn write_atomically(&self, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let mut tmp = self.temp_file()?;
        tmp.write_all(bytes)
            .and_then(|_| tmp.as_file().sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        tmp.persist(path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// A temp file in the ledger's `tmp/`, removed unless persisted.
    pub fn temp_file(&self) -> anyhow::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(&format!(".{}.", std::process::id()))
            .tempfile_in(self.dir.join("tmp"))
            .with_context(|| format!("cannot create a temporary file in {}", self.dir.join("tmp").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &str) -> Chunk {
        Chunk::planned(
            id.into(),
            "http://127.0.0.1:9/v1".into(),
            "OPENAI_API_KEY".into(),
            "m".into(),
            10,
            vec![],
            vec![Unit {
                custom_id: "c".into(),
                key: "k".into(),
                question: 0,
            }],
        )
    }

    #[test]
    fn chunks_round_trip_and_steps_follow_what_was_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let mut c = chunk("a");
        ledger.save(&c).unwrap();
        assert_eq!(ledger.chunks().unwrap(), vec![c.clone()]);
        assert_eq!(c.step(), Step::Planned);
        c.file_id = Some("file-1".into());
        assert_eq!(c.step(), Step::Uploaded);
        c.batch_id = Some("batch-1".into());
        ledger.save(&c).unwrap();
        assert_eq!(ledger.chunks().unwrap()[0].step(), Step::Created);
        c.collected = Some(Collected::default());
        assert_eq!(c.step(), Step::Collected);
    }

    #[test]
    fn a_second_command_on_the_same_ledger_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Ledger::open(dir.path()).unwrap();
        let err = Ledger::open(dir.path()).err().expect("busy").to_string();
        assert!(err.contains("another `postcall batch` command"), "{err}");
    }

    #[test]
    fn an_unreadable_entry_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("zz.json"), "{not json").unwrap();
        let err = format!("{:#}", ledger.chunks().unwrap_err());
        assert!(err.contains("zz.json"), "{err}");
    }
}
