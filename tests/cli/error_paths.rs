//! Every way `run` can fail that a test can provoke, in one table: each keeps the earlier
//! reports, the inputs and the answers already cached exactly as they were, and says what
//! went wrong in one `error:` line (or, for an interruption, one `interrupted:` line).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use postcall_testkit::fake_llm::{FakeConfig, FakeServer, Refuse};

use crate::common::{MODEL, TestDir, refusing_fake};
use crate::run::{SPEC, dir_with_calls};

/// Every file under `root` with its bytes, skipping what a run may add beside its
/// outputs (`*.partial`) and the cache's own working directories.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                if !matches!(name.as_str(), "tmp" | "claims") {
                    stack.push(path);
                }
            } else if !name.ends_with(".partial") {
                files.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// How a case provokes its failure.
enum Provoke {
    /// Extra arguments to `run`, and a file to write first.
    Args(&'static [&'static str], Option<(&'static str, &'static str)>),
    /// The input directory is not there.
    NoInputs,
    /// The endpoint refuses every request.
    Refusal,
    /// Writes fail once the run has written this many bytes to a file (a full disk, as far
    /// as the run can tell: EFBIG instead of ENOSPC, same path through the code).
    FullDisk(u64),
    /// A signal once the endpoint has had some requests.
    Signal(i32),
}

struct Case {
    name: &'static str,
    provoke: Provoke,
    exit: i32,
    /// Words the one message must contain.
    says: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "bad metric file",
        provoke: Provoke::Args(
            &[],
            Some(("metrics.yaml", "version: 1\nmetrics:\n  - id: x\n    type: nope\n")),
        ),
        exit: 1,
        says: "metrics.yaml:3:5: metric `x` has no `prompt`",
    },
    Case {
        name: "input directory missing",
        provoke: Provoke::NoInputs,
        exit: 1,
        says: "no calls to evaluate in calls",
    },
    Case {
        name: "bad -o after good ones",
        provoke: Provoke::Args(&["-o", "no/such/dir/x.csv"], None),
        exit: 1,
        says: "the directory no/such/dir does not exist",
    },
    Case {
        name: "-o naming an input",
        provoke: Provoke::Args(&["-o", "calls/00/call-0000.json"], None),
        exit: 1,
        says: "inside the input directory calls",
    },
    Case {
        name: "an output that is a directory",
        provoke: Provoke::Args(&["-o", "calls"], None),
        exit: 1,
        says: "it is a directory",
    },
    Case {
        name: "endpoint refuses",
        provoke: Provoke::Refusal,
        exit: 1,
        says: "refused the request",
    },
    Case {
        name: "disk full while writing",
        // Every output fails (a full disk fails them all): the JSONL at its header, the
        // others when their buffers reach the file.
        provoke: Provoke::FullDisk(1000),
        exit: 1,
        says: "cannot write",
    },
    Case {
        name: "Ctrl-C",
        provoke: Provoke::Signal(libc::SIGINT),
        exit: 130,
        says: "re-run the same command to finish",
    },
    Case {
        name: "SIGKILL",
        provoke: Provoke::Signal(libc::SIGKILL),
        exit: -9,
        says: "",
    },
];

/// A directory with calls, earlier reports of all three formats, and a cache holding the
/// answers of a finished run.
fn earlier_work(fake: &FakeServer) -> TestDir {
    let dir = dir_with_calls(SPEC, 12);
    dir.run_against(fake)
        .args([
            "-o",
            "prev.json",
            "-o",
            "prev.jsonl",
            "-o",
            "prev.csv",
            "--quiet",
            "--limit",
            "6",
        ])
        .assert()
        .success();
    dir
}

fn run_case(dir: &TestDir, case: &Case, fake: &FakeServer) -> Output {
    let mut cmd = dir.run_process_at(&fake.base_url(), MODEL);
    cmd.args(["-o", "prev.json", "-o", "prev.jsonl", "-o", "prev.csv", "--quiet"]);
    match &case.provoke {
        Provoke::Args(args, _) => {
            cmd.args(*args);
        }
        Provoke::Refusal | Provoke::NoInputs => {}
        Provoke::FullDisk(bytes) => {
            let bytes = *bytes;
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let limit = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                    Ok(())
                });
            }
        }
        Provoke::Signal(signal) => {
            // One request at a time, so the signal comes with three of the six left to ask
            // (600 ms of them at the fake's latency for these cases), never while a run
            // that has finished is putting its complete reports in place.
            cmd.args(["-j", "1"]);
            return signalled(cmd, fake, *signal);
        }
    }
    cmd.output().unwrap()
}

fn signalled(mut cmd: Command, fake: &FakeServer, signal: i32) -> Output {
    let before = fake.requests();
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.requests() < before + 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    child.wait_with_output().unwrap()
}

#[test]
fn every_error_path_of_run_keeps_earlier_reports_inputs_and_cached_answers_and_says_one_thing() {
    for case in CASES {
        let signalled = matches!(case.provoke, Provoke::Signal(_));
        let fake = FakeServer::start(FakeConfig {
            latency: Duration::from_millis(if signalled { 200 } else { 40 }),
            ..Default::default()
        })
        .unwrap();
        let dir = earlier_work(&fake);
        if let Provoke::Args(_, Some((file, text))) = &case.provoke {
            dir.write(file, text);
        }
        if let Provoke::NoInputs = case.provoke {
            std::fs::rename(dir.join("calls"), dir.join("moved")).unwrap();
        }
        let before = snapshot(dir.path());
        let against = match case.provoke {
            Provoke::Refusal => refusing_fake(Refuse::Auth),
            _ => fake,
        };
        let output = run_case(&dir, case, &against);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            -output.status.signal().unwrap_or(0)
        });
        assert_eq!(code, case.exit, "{}: {stderr}", case.name);
        let after = snapshot(dir.path());
        for (path, bytes) in &before {
            assert!(
                after.get(path) == Some(bytes),
                "{}: {} was changed or removed",
                case.name,
                path.display()
            );
        }
        let new: Vec<&PathBuf> = after
            .keys()
            .filter(|p| !before.contains_key(*p))
            .filter(|p| !p.starts_with(".postcall"))
            // SIGKILL leaves what nothing can clean up at once: lock and buffer files,
            // hidden, removed by the next run (tested on their own).
            .filter(|p| !(case.exit == -9 && p.file_name().unwrap().to_string_lossy().starts_with('.')))
            .collect();
        assert!(new.is_empty(), "{}: left {new:?}", case.name);
        if case.exit != -9 {
            let said: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("error:") || l.starts_with("interrupted:"))
                .collect();
            assert_eq!(said.len(), 1, "{}: one message, got {said:?} in {stderr}", case.name);
            assert!(said[0].contains(case.says), "{}: {}", case.name, said[0]);
        }
    }
}
