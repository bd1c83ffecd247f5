//! An AWS profile's `credential_process`: the command a profile names to get its keys
//! (a company's sign-in tool, a password manager, or the AWS CLI itself for an SSO or
//! role-assuming profile), run as every AWS SDK runs it.
//!
//! The command line is split into the program and its arguments without a shell, double
//! or single quotes keeping spaces in one argument; the command gets no stdin and a
//! [`TIMEOUT`], and what it prints on stdout is read as the SDKs' JSON (`Version` 1,
//! `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`). Its stdout holds
//! secrets, so no message ever quotes it, nor the command's arguments (which may too):
//! only the program, the profile, its file and, when the command fails, the last lines
//! of its stderr.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use object_store::aws::AwsCredential;

/// How long the command may run before postcall stops it.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How many of the last lines of a failed command's stderr its error shows.
const STDERR_LINES: usize = 3;

/// A profile's `credential_process`, split into the program and its arguments.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialProcess {
    profile: String,
    /// The file the profile's `credential_process` line is in.
    file: PathBuf,
    /// The program, then its arguments; never empty.
    argv: Vec<String>,
    timeout: Duration,
}

impl std::fmt::Debug for CredentialProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the arguments: a command may be given a secret on its command line.
        f.debug_struct("CredentialProcess")
            .field("profile", &self.profile)
            .field("file", &self.file)
            .field("program", &self.argv[0])
            .finish_non_exhaustive()
    }
}

/// The credentials the command printed, and when.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub credential: Arc<AwsCredential>,
    /// `None`: they do not expire (long-term keys).
    pub expires: Option<Timestamp>,
    pub fetched_at: Timestamp,
}

impl CredentialProcess {
    /// The `credential_process = LINE` of `profile` in `file`.
    pub fn new(profile: &str, file: PathBuf, line: &str) -> Result<CredentialProcess, String> {
        let whose = whose(profile, &file);
        let argv = split(line).map_err(|e| format!("{whose}: {e}"))?;
        if argv.is_empty() {
            return Err(format!(
                "{whose} is empty: give it the command that prints the profile's keys, or remove the line"
            ));
        }
        Ok(CredentialProcess {
            profile: profile.to_string(),
            file,
            argv,
            timeout: TIMEOUT,
        })
    }

    #[cfg(test)]
    pub fn with_timeout(self, timeout: Duration) -> CredentialProcess {
        CredentialProcess { timeout, ..self }
    }

    /// Runs the command and reads the credentials it prints; `now` is when, to tell
    /// credentials already expired. Blocks for as long as the command runs.
    pub fn fetch(&self, now: Timestamp) -> Result<Fetched, String> {
        let stdout = self.run()?;
        let (credential, expires) = read_answer(&stdout).map_err(|problem| {
            format!(
                "{}: `{}` {problem}; it must print {{\"Version\": 1, \"AccessKeyId\": …, \"SecretAccessKey\": …}} \
                 on stdout, with \"SessionToken\" and an RFC 3339 \"Expiration\" for temporary credentials",
                self.whose(),
                self.program()
            )
        })?;
        if let Some(expired) = expires.filter(|at| *at <= now) {
            return Err(format!(
                "{}: `{}` printed credentials that expired at {expired}; renew them where it gets them \
                 (sign in again?), then run postcall again",
                self.whose(),
                self.program()
            ));
        }
        Ok(Fetched {
            credential: Arc::new(credential),
            expires,
            fetched_at: now,
        })
    }

    fn program(&self) -> &str {
        &self.argv[0]
    }

    fn whose(&self) -> String {
        whose(&self.profile, &self.file)
    }

    /// The command's stdout, once it has exited successfully within the timeout.
    fn run(&self) -> Result<Vec<u8>, String> {
        let mut command = Command::new(self.program());
        command
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            // A group of its own, so that a timeout stops what it started too.
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().map_err(|e| self.cannot_start(&e))?;
        let stdout = read_all(child.stdout.take());
        let stderr = read_all(child.stderr.take());
        let deadline = Instant::now() + self.timeout;
        let Some(status) = wait(&mut child, deadline) else {
            stop(&mut child);
            return Err(self.timed_out());
        };
        let left = || deadline.saturating_duration_since(Instant::now());
        // Its pipes close when it exits, but for what it left running with them.
        let (Ok(stdout), Ok(stderr)) = (stdout.recv_timeout(left()), stderr.recv_timeout(left())) else {
            stop(&mut child);
            return Err(self.timed_out());
        };
        if !status.success() {
            return Err(format!(
                "{}: `{}` failed ({status}): {}; run it yourself to see why",
                self.whose(),
                self.program(),
                last_lines(&stderr)
            ));
        }
        Ok(stdout)
    }

    fn cannot_start(&self, error: &std::io::Error) -> String {
        let why = if error.kind() == std::io::ErrorKind::NotFound {
            "not found".to_string()
        } else {
            error.to_string()
        };
        format!(
            "{}: cannot start `{}`: {why}; check the command in credential_process (it runs without a shell: a program on PATH or \
             its full path, in \"double quotes\" if it has spaces)",
            self.whose(),
            self.program()
        )
    }

    fn timed_out(&self) -> String {
        format!(
            "{}: `{}` did not finish within {} s, so postcall stopped it; run it yourself to see whether it \
             waits for a prompt or a sign-in",
            self.whose(),
            self.program(),
            self.timeout.as_secs()
        )
    }
}

fn whose(profile: &str, file: &Path) -> String {
    format!(
        "the credential_process of the AWS profile `{profile}` (in {})",
        file.display()
    )
}

/// The words of a `credential_process` line, as the SDKs split it: whitespace between
/// arguments, `"…"` and `'…'` keeping what is inside as one (in double quotes, `\"` is a
/// quote and `\\` a backslash); any other backslash is itself, so a Windows path needs no
/// doubling.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '"' => {
                let word = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        None => return Err("a \" is not closed; close it, or quote the argument with '…'".into()),
                        Some('"') => break,
                        Some('\\') if matches!(chars.peek(), Some('"' | '\\')) => word.extend(chars.next()),
                        Some(c) => word.push(c),
                    }
                }
            }
            '\'' => {
                let word = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        None => return Err("a ' is not closed; close it, or quote the argument with \"…\"".into()),
                        Some('\'') => break,
                        Some(c) => word.push(c),
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The credentials in what the command printed and when they expire, or what is wrong
/// with it, in words that never quote a value but `Version` and `Expiration`.
fn read_answer(stdout: &[u8]) -> Result<(AwsCredential, Option<Timestamp>), String> {
    // serde_json's syntax errors say where, never what (a typed parse's would quote a value).
    let answer: serde_json::Value = serde_json::from_slice(stdout).map_err(|e| format!("did not print JSON ({e})"))?;
    let serde_json::Value::Object(answer) = answer else {
        return Err("printed JSON that is not an object".into());
    };
    match answer.get("Version") {
        Some(version) if version.as_u64() == Some(1) => {}
        Some(version @ serde_json::Value::Number(_)) => {
            return Err(format!("printed Version {version}, where postcall knows Version 1"));
        }
        Some(_) => return Err("printed a Version that is not the number 1".into()),
        None => return Err("printed no Version".into()),
    }
    let text = |key: &str| match answer.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(value)) if !value.trim().is_empty() => Ok(Some(value.trim().to_string())),
        Some(serde_json::Value::String(_)) => Ok(None),
        Some(_) => Err(format!("printed a {key} that is not a string")),
    };
    let required = |key: &str| text(key)?.ok_or_else(|| format!("printed no {key}"));
    let credential = AwsCredential {
        key_id: required("AccessKeyId")?,
        secret_key: required("SecretAccessKey")?,
        token: text("SessionToken")?,
    };
    let expires = text("Expiration")?
        .map(|shown| {
            shown
                .parse::<Timestamp>()
                .map_err(|_| format!("printed an Expiration that is not an RFC 3339 time (`{shown}`)"))
        })
        .transpose()?;
    Ok((credential, expires))
}

/// All a pipe gives until it closes, read on a thread of its own so neither pipe fills up
/// while the other is read.
fn read_all(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = sender.send(bytes);
    });
    receiver
}

/// The child's exit status, or `None` once `deadline` passes first.
fn wait(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops the child and what it started.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(group) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on the process group the child leads; no memory is involved.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last lines of a failed command's stderr, trimmed, on one line.
fn last_lines(stderr: &[u8]) -> String {
    const MAX_CHARS: usize = 500;
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return "it said nothing on stderr".to_string();
    }
    let shown = lines[lines.len().saturating_sub(STDERR_LINES)..].join(" / ");
    let count = shown.chars().count();
    if count <= MAX_CHARS {
        return shown;
    }
    format!("…{}", shown.chars().skip(count - MAX_CHARS).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_splits_as_the_sdks_split_it() {
        let words = |line: &str| split(line).unwrap();
        assert_eq!(
            words("/opt/bin/awscreds-custom --username helen"),
            ["/opt/bin/awscreds-custom", "--username", "helen"]
        );
        assert_eq!(
            words(r#""/Users/Dave/path to/credentials.sh" parameterWithoutSpaces "parameter with spaces""#),
            [
                "/Users/Dave/path to/credentials.sh",
                "parameterWithoutSpaces",
                "parameter with spaces"
            ]
        );
        assert_eq!(
            words(r#""C:\Path\To\credentials.cmd" C:\x"#),
            [r"C:\Path\To\credentials.cmd", r"C:\x"]
        );
        assert_eq!(
            words(r#"  tool --name='a b' "say \"hi\"" ''  "#),
            ["tool", "--name=a b", r#"say "hi""#, ""]
        );
        assert!(split(r#"tool "open"#).unwrap_err().contains("not closed"));
        assert!(split("tool 'open").unwrap_err().contains("not closed"));
        let empty = CredentialProcess::new("build", "/home/u/.aws/config".into(), "  ").unwrap_err();
        assert!(
            empty.contains("profile `build` (in /home/u/.aws/config) is empty"),
            "{empty}"
        );
    }

    const ANSWER: &str = r#"{"Version": 1, "AccessKeyId": "ASIAKEY", "SecretAccessKey": "s3cret-key",
        "SessionToken": "s3ssion-token", "Expiration": "2030-01-01T00:00:00Z"}"#;

    #[test]
    fn the_answer_gives_the_keys_and_when_they_expire() {
        let (credential, expires) = read_answer(ANSWER.as_bytes()).unwrap();
        assert_eq!(credential.key_id, "ASIAKEY");
        assert_eq!(credential.secret_key, "s3cret-key");
        assert_eq!(credential.token.as_deref(), Some("s3ssion-token"));
        let at: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(expires, Some(at));
        // Another offset than Z, as RFC 3339 allows.
        let offset = ANSWER.replace("2030-01-01T00:00:00Z", "2030-01-01T02:00:00+02:00");
        assert_eq!(read_answer(offset.as_bytes()).unwrap().1, Some(at));
        let long_term = r#"{"Version": 1, "AccessKeyId": "AKIA", "SecretAccessKey": "s"}"#;
        let (credential, expires) = read_answer(long_term.as_bytes()).unwrap();
        assert_eq!((credential.token, expires), (None, None));
    }

    #[test]
    fn an_answer_not_in_the_sdks_shape_says_what_is_wrong_and_never_quotes_a_secret() {
        let cases = [
            ("not json at all s3cret-key".to_string(), "did not print JSON"),
            ("[1]".to_string(), "not an object"),
            (
                ANSWER.replace(r#""Version": 1"#, r#""Version": 2"#),
                "printed Version 2, where postcall knows Version 1",
            ),
            (
                ANSWER.replace(r#""Version": 1"#, r#""Version": "s3cret-key""#),
                "a Version that is not the number 1",
            ),
            (ANSWER.replace(r#""Version": 1,"#, ""), "printed no Version"),
            (
                ANSWER.replace(r#""AccessKeyId""#, r#""AccessKey""#),
                "printed no AccessKeyId",
            ),
            (
                ANSWER.replace(r#""SecretAccessKey""#, r#""Secret""#),
                "printed no SecretAccessKey",
            ),
            (
                ANSWER.replace(r#""s3ssion-token""#, r#"["s3ssion-token"]"#),
                "a SessionToken that is not a string",
            ),
            (
                ANSWER.replace("2030-01-01T00:00:00Z", "tomorrow"),
                "an Expiration that is not an RFC 3339 time (`tomorrow`)",
            ),
            (
                ANSWER.replace("2030-01-01T00:00:00Z", "2030-01-01 00:00:00"),
                "not an RFC 3339 time",
            ),
        ];
        for (answer, says) in cases {
            let error = read_answer(answer.as_bytes()).unwrap_err();
            assert!(error.contains(says), "{answer}: {error}");
            assert!(!error.contains("s3cret") && !error.contains("s3ssion"), "{error}");
        }
    }

    #[test]
    fn the_last_lines_of_stderr_are_shown_trimmed() {
        assert_eq!(last_lines(b"one\n  two  \n\nthree\nfour\n"), "two / three / four");
        assert_eq!(last_lines(b"\n"), "it said nothing on stderr");
        let shown = last_lines("x".repeat(2000).as_bytes());
        assert_eq!(shown.chars().count(), 501, "{shown}");
    }

    #[cfg(unix)]
    mod run {
        use super::super::*;

        /// The profile `build`'s `credential_process = sh "SCRIPT" --name "a b"` (through
        /// `sh` rather than made executable: executing a file just written can fail with
        /// "text file busy" while other tests fork).
        fn script(dir: &Path, body: &str) -> CredentialProcess {
            let script = dir.join("the creds.sh");
            std::fs::write(&script, body).unwrap();
            let line = format!("sh \"{}\" --name \"a b\"", script.display());
            CredentialProcess::new("build", dir.join("config"), &line).unwrap()
        }

        fn now() -> Timestamp {
            "2029-06-01T00:00:00Z".parse().unwrap()
        }

        #[test]
        fn the_command_runs_with_its_arguments_and_gives_its_keys() {
            let dir = tempfile::tempdir().unwrap();
            let process = script(
                dir.path(),
                r#"[ "$1 $2" = '--name a b' ] || exit 9
printf '%s' '{"Version": 1, "AccessKeyId": "AKIAPROCESS", "SecretAccessKey": "s3cret"}'
"#,
            );
            let fetched = process.fetch(now()).unwrap();
            assert_eq!(fetched.credential.key_id, "AKIAPROCESS");
            assert_eq!(fetched.credential.secret_key, "s3cret");
            assert_eq!((fetched.expires, fetched.fetched_at), (None, now()));
            let shown = format!("{process:?} {fetched:?}");
            assert!(!shown.contains("s3cret") && !shown.contains("a b"), "{shown}");
        }

        #[test]
        fn a_command_that_cannot_start_says_so_with_the_profile_and_file() {
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("config");
            let process = CredentialProcess::new("build", config.clone(), "/no/such/creds --secret-arg x").unwrap();
            let error = process.fetch(now()).unwrap_err();
            let starts = format!(
                "the credential_process of the AWS profile `build` (in {}): cannot start `/no/such/creds`: not found",
                config.display()
            );
            assert!(error.starts_with(&starts), "{error}");
            assert!(
                error.contains("full path") && !error.contains("--secret-arg"),
                "{error}"
            );
        }

        #[test]
        fn a_command_that_fails_shows_its_last_stderr_lines_but_never_its_stdout() {
            let dir = tempfile::tempdir().unwrap();
            let process = script(
                dir.path(),
                r#"echo '{"Version": 1, "AccessKeyId": "AKIA", "SecretAccessKey": "s3cret-out"}'
echo 'line 1' >&2; echo 'line 2' >&2; echo '  the SSO session has expired  ' >&2
echo 'run aws sso login' >&2
exit 3
"#,
            );
            let error = process.fetch(now()).unwrap_err();
            assert!(error.contains("`sh` failed (exit status: 3)"), "{error}");
            assert!(
                error.contains("line 2 / the SSO session has expired / run aws sso login; run it yourself"),
                "{error}"
            );
            assert!(!error.contains("line 1") && !error.contains("s3cret"), "{error}");
        }

        #[test]
        fn what_is_not_the_json_is_an_error_naming_the_profile() {
            let dir = tempfile::tempdir().unwrap();
            let error = script(dir.path(), "echo 'AccessKeyId=AKIA s3cret'\n")
                .fetch(now())
                .unwrap_err();
            assert!(
                error.contains("profile `build`") && error.contains("did not print JSON"),
                "{error}"
            );
            assert!(
                error.contains(r#""Version": 1"#) && !error.contains("s3cret"),
                "{error}"
            );
        }

        #[test]
        fn credentials_already_expired_are_refused() {
            let dir = tempfile::tempdir().unwrap();
            let expired = r#"echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "2029-05-31T23:00:00Z"}'"#;
            let error = script(dir.path(), expired).fetch(now()).unwrap_err();
            assert!(
                error.contains("printed credentials that expired at 2029-05-31T23:00:00Z"),
                "{error}"
            );
        }

        #[test]
        fn a_command_that_hangs_is_stopped_at_the_timeout() {
            let dir = tempfile::tempdir().unwrap();
            // What it starts keeps the pipes open, as a stuck sign-in helper's child would.
            let process = script(dir.path(), "sleep 30 &\nsleep 30\n").with_timeout(Duration::from_millis(300));
            let started = Instant::now();
            let error = process.fetch(now()).unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
            assert!(
                error.contains("did not finish within 0 s, so postcall stopped it"),
                "{error}"
            );
        }
    }
}
