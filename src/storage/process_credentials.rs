//! The credentials of a `credential_process`, kept for the S3 client and fetched again
//! before they expire: object_store asks its [`CredentialProvider`] before every request,
//! and a run of 100,000 calls outlasts the hour temporary credentials usually last.
//!
//! The command is run once when the client is built, off the runtime, so a broken one
//! stops the run before any request; after that, on the runtime's blocking threads, by one
//! request while the others wait for what it gets.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

use super::credential_process::{CredentialProcess, Fetched};

/// How long before they expire credentials are fetched again: the AWS SDKs' few minutes,
/// so that a request signed just before is not refused on its way.
const EARLY: SignedDuration = SignedDuration::from_mins(5);

/// After a refresh failed while the keys in hand still held, how long they are used before
/// the command is run again: not for every request (each run may take up to its timeout).
const RETRY_AFTER: SignedDuration = SignedDuration::from_mins(1);

/// The keys in hand, and when to run the command again after it failed.
struct Held {
    fetched: Fetched,
    retry_at: Option<Timestamp>,
}

type Clock = Box<dyn Fn() -> Timestamp + Send + Sync>;

pub struct ProcessCredentials {
    process: Arc<CredentialProcess>,
    cached: tokio::sync::Mutex<Held>,
    now: Clock,
}

impl std::fmt::Debug for ProcessCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessCredentials")
            .field("process", &self.process)
            .finish_non_exhaustive()
    }
}

impl ProcessCredentials {
    /// Runs the command for the first credentials. Blocking: not on the runtime.
    pub fn start(process: CredentialProcess) -> Result<ProcessCredentials, String> {
        ProcessCredentials::with_clock(process, Box::new(Timestamp::now))
    }

    fn with_clock(process: CredentialProcess, now: Clock) -> Result<ProcessCredentials, String> {
        let fetched = process.fetch(now())?;
        Ok(ProcessCredentials {
            process: Arc::new(process),
            cached: tokio::sync::Mutex::new(Held {
                fetched,
                retry_at: None,
            }),
            now,
        })
    }

    /// The credentials, fetched again first when they are [`due`]. A refresh that fails
    /// while the keys in hand have not expired yet keeps them (said once per failure), and
    /// is tried again [`RETRY_AFTER`]: a sign-in tool that is down for a minute does not
    /// fail every request of a run whose keys are still good.
    async fn current(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut held = self.cached.lock().await;
        let now = (self.now)();
        if due(&held.fetched, now) && held.retry_at.is_none_or(|at| now >= at) {
            let process = Arc::clone(&self.process);
            let fetched = tokio::task::spawn_blocking(move || process.fetch(now))
                .await
                .map_err(|e| refused(e.to_string()))?;
            match fetched {
                Ok(fetched) => {
                    *held = Held {
                        fetched,
                        retry_at: None,
                    }
                }
                Err(error) => match held.fetched.expires.filter(|&expires| now < expires) {
                    Some(expires) => {
                        crate::terminal::eprintln!(
                            "warning: {error}; the keys it gave before are used until they expire at {expires}, \
                             and it runs again in a minute"
                        );
                        held.retry_at = Some(now + RETRY_AFTER);
                    }
                    None => return Err(refused(error)),
                },
            }
        }
        Ok(Arc::clone(&held.fetched.credential))
    }
}

impl CredentialProvider for ProcessCredentials {
    type Credential = AwsCredential;

    // The signature `#[async_trait]` gives the trait's `async fn`.
    fn get_credential<'life0, 'async_trait>(
        &'life0 self,
    ) -> Pin<Box<dyn Future<Output = object_store::Result<Arc<AwsCredential>>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.current())
    }
}

fn refused(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

/// Whether credentials fetched as `fetched` are to be fetched again at `now`: [`EARLY`]
/// before they expire, or halfway there for credentials that last less than twice that,
/// so short-lived ones are not fetched again for every request.
fn due(fetched: &Fetched, now: Timestamp) -> bool {
    let Some(expires) = fetched.expires else {
        return false;
    };
    let lasts = expires.duration_since(fetched.fetched_at);
    let early = EARLY.min(lasts / 2);
    now >= expires - early
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    const T0: &str = "2030-01-01T00:00:00Z";

    fn at(minutes: i64) -> Timestamp {
        T0.parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
    }

    /// A `sh` script printing credentials that expire at `expires` (none: no Expiration),
    /// counting its runs in `runs` beside it.
    fn counting(dir: &std::path::Path, expires: Option<Timestamp>) -> CredentialProcess {
        let expiration = expires.map_or(String::new(), |t| format!(", \"Expiration\": \"{t}\""));
        let script = dir.join("creds.sh");
        std::fs::write(
            &script,
            format!(
                "echo run >> \"$(dirname \"$0\")/runs\"\n\
                 echo '{{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"s3cret\", \
                 \"SessionToken\": \"tok\"{expiration}}}'\n"
            ),
        )
        .unwrap();
        let line = format!("sh \"{}\"", script.display());
        CredentialProcess::new("build", dir.join("config"), &line).unwrap()
    }

    fn runs(dir: &std::path::Path) -> usize {
        std::fs::read_to_string(dir.join("runs")).map_or(0, |text| text.lines().count())
    }

    /// A clock at `T0 + minutes`, the minutes set through the handle.
    fn clock() -> (Arc<AtomicI64>, Clock) {
        let minutes = Arc::new(AtomicI64::new(0));
        let read = Arc::clone(&minutes);
        (minutes, Box::new(move || at(read.load(Ordering::SeqCst))))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    }

    #[test]
    fn credentials_are_fetched_again_a_few_minutes_before_they_expire_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let (minutes, clock) = clock();
        let provider = ProcessCredentials::with_clock(counting(dir.path(), Some(at(65))), clock).unwrap();
        assert_eq!(runs(dir.path()), 1, "run when the client is built");
        let runtime = runtime();
        let get = || runtime.block_on(provider.get_credential()).unwrap();

        minutes.store(1, Ordering::SeqCst); // they expire in an hour and 4 minutes
        assert_eq!(get().key_id, "ASIAPROCESS");
        assert_eq!(runs(dir.path()), 1, "not fetched again an hour before they expire");

        minutes.store(64, Ordering::SeqCst); // a minute left
        let credential = get();
        assert_eq!(credential.token.as_deref(), Some("tok"));
        assert_eq!(runs(dir.path()), 2, "fetched again a minute before they expire");
        get();
        assert_eq!(
            runs(dir.path()),
            2,
            "what was just fetched lasts a minute: not fetched again for every request"
        );
    }

    #[test]
    fn a_failed_refresh_keeps_the_keys_in_hand_until_they_expire_and_retries_a_minute_later() {
        let dir = tempfile::tempdir().unwrap();
        let (minutes, clock) = clock();
        let process = counting(dir.path(), Some(at(65)));
        let provider = ProcessCredentials::with_clock(process, clock).unwrap();
        // From now on the command fails, as a sign-in tool that is down does.
        let script = dir.path().join("creds.sh");
        std::fs::write(
            &script,
            "echo run >> \"$(dirname \"$0\")/runs\"\necho down >&2\nexit 3\n",
        )
        .unwrap();
        let runtime = runtime();
        let get = || runtime.block_on(provider.get_credential());

        minutes.store(61, Ordering::SeqCst); // due, 4 minutes left
        assert_eq!(get().unwrap().key_id, "ASIAPROCESS", "the keys in hand");
        assert_eq!(runs(dir.path()), 2);
        get().unwrap();
        assert_eq!(runs(dir.path()), 2, "not run again for every request");
        minutes.store(62, Ordering::SeqCst);
        get().unwrap();
        assert_eq!(runs(dir.path()), 3, "run again a minute later");
        minutes.store(65, Ordering::SeqCst); // expired: nothing to fall back on
        let error = get().unwrap_err().to_string();
        assert!(
            error.contains("AWS profile `build`") && error.contains("down"),
            "{error}"
        );
        assert_eq!(runs(dir.path()), 4);
    }

    #[test]
    fn credentials_without_an_expiration_are_fetched_once() {
        let dir = tempfile::tempdir().unwrap();
        let (minutes, clock) = clock();
        let provider = ProcessCredentials::with_clock(counting(dir.path(), None), clock).unwrap();
        minutes.store(60 * 24 * 30, Ordering::SeqCst);
        runtime().block_on(provider.get_credential()).unwrap();
        assert_eq!(runs(dir.path()), 1);
    }

    #[test]
    fn a_refresh_that_finds_them_expired_is_an_error_naming_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let (minutes, clock) = clock();
        let provider = ProcessCredentials::with_clock(counting(dir.path(), Some(at(10))), clock).unwrap();
        minutes.store(11, Ordering::SeqCst);
        let error = runtime().block_on(provider.get_credential()).unwrap_err().to_string();
        assert!(error.contains("AWS profile `build`"), "{error}");
        assert!(error.contains("expired at 2030-01-01T00:10:00Z"), "{error}");
        assert!(!error.contains("s3cret") && !error.contains("tok"), "{error}");
        assert!(!format!("{provider:?}").contains("s3cret"));
    }

    #[test]
    fn due_is_early_by_minutes_or_by_half_for_short_lived_credentials() {
        let fetched = |lasts: i64| Fetched {
            credential: Arc::new(AwsCredential {
                key_id: "A".into(),
                secret_key: "s".into(),
                token: None,
            }),
            expires: Some(at(lasts)),
            fetched_at: at(0),
        };
        assert!(!due(&fetched(60), at(54)));
        assert!(due(&fetched(60), at(55)));
        assert!(!due(&fetched(4), at(1)));
        assert!(due(&fetched(4), at(2)));
    }
}
