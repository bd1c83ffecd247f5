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

type Clock = Box<dyn Fn() -> Timestamp + Send + Sync>;

pub struct ProcessCredentials {
    process: Arc<CredentialProcess>,
    cached: tokio::sync::Mutex<Fetched>,
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
            cached: tokio::sync::Mutex::new(fetched),
            now,
        })
    }

    /// The credentials, fetched again first when they are [`due`].
    async fn current(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        let now = (self.now)();
        if due(&cached, now) {
            let process = Arc::clone(&self.process);
            let fetched = tokio::task::spawn_blocking(move || process.fetch(now))
                .await
                .map_err(|e| refused(e.to_string()))?
                .map_err(refused)?;
            *cached = fetched;
        }
        Ok(Arc::clone(&cached.credential))
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
