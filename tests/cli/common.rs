//! Shared test helpers: a scrubbed `postcall` command in a fresh temp directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A fresh temporary directory for one test, deleted when dropped.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `contents` to `rel` (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// `postcall` run inside this directory with an environment that cannot reach any
    /// real endpoint or pick up the developer's keys.
    pub fn postcall(&self) -> Command {
        Command::from_std(self.postcall_process())
    }

    /// The same scrubbed `postcall`, as a plain process for tests that spawn it and signal
    /// it while it runs.
    pub fn postcall_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postcall"));
        cmd.current_dir(self.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("POSTCALL_")
                || key.ends_with("_API_KEY")
                || key.contains("PROXY")
                || key.contains("proxy")
            {
                cmd.env_remove(key);
            }
        }
        cmd.env("XDG_CACHE_HOME", self.join(".xdg-cache"));
        cmd.env("NO_COLOR", "1");
        cmd
    }
}

/// The repository's root, for reading fixtures and examples.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}
