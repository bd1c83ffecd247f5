//! Webhook delivery: each finished call's result POSTed, signed, to every `--webhook`, on
//! threads of its own so a slow or failing receiver never slows or stops the scoring.
//!
//! The last stage of the flow: it only reads finished calls (from the run as they finish,
//! or from a report with `postcall deliver`). Every request carries `Postcall-Signature`
//! and an `Idempotency-Key` ([`sign`]); what a receiver acknowledged (2xx) is recorded in
//! the [`ledger`] before anything else, so a re-run sends only the rest. Timeouts,
//! connection errors, 429 and 5xx are retried with jittered backoff (a `Retry-After` is
//! honoured); any other answer, a redirect included (never followed), is final. What is
//! still not delivered after the last try goes to the dead-letter file ([`dead_letter`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::net::SecretUrl;
use crate::report::CallResult;
use crate::report::platform::{PayloadContext, Shape, payload};
use crate::spec::Metric;

pub mod dead_letter;
pub mod ledger;
mod send;
pub mod sign;

pub use ledger::Ledger;

/// The default name of the variable holding the signing secret.
pub const DEFAULT_SECRET_ENV: &str = "POSTCALL_WEBHOOK_SECRET";

/// The webhook flags of `run` and `deliver`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// POST each call's result to URL as soon as the call is finished (repeatable); https
    /// unless the host is loopback. Signed with the secret in POSTCALL_WEBHOOK_SECRET.
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// The payload's shape: postcall's call result line, Atoms' postCallAnalytics, or
    /// Dialgen's webhook body.
    #[arg(long, value_enum, default_value_t = Shape::Postcall, value_name = "SHAPE")]
    pub webhook_format: Shape,
    /// The environment variable holding the signing secret.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SECRET_ENV)]
    pub webhook_secret_env: String,
    /// Deliveries in flight at once, apart from the model's requests.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub webhook_concurrency: u16,
    /// How many times a failed delivery is retried before it goes to the dead-letter file.
    #[arg(long, default_value_t = 5)]
    pub webhook_retries: u32,
    /// Where deliveries that failed after the last try are written (JSONL)
    /// [default: .postcall/webhooks/dead-letter.jsonl].
    #[arg(long, value_name = "PATH")]
    pub dead_letter: Option<PathBuf>,
}

/// A checked set of webhooks, before anything is sent.
pub struct Plan {
    urls: Vec<SecretUrl>,
    shape: Shape,
    secret: Vec<u8>,
    concurrency: usize,
    retries: u32,
    dir: PathBuf,
    dead_letter: PathBuf,
}

impl WebhookArgs {
    /// Checks the URLs and the secret; `None` without `--webhook`. `dir` is where the
    /// ledger lives (`.postcall/webhooks`).
    pub fn plan(&self, dir: PathBuf) -> anyhow::Result<Option<Plan>> {
        if self.webhooks.is_empty() {
            return Ok(None);
        }
        let urls = self
            .webhooks
            .iter()
            .map(|raw| check_url(raw))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let secret = std::env::var(&self.webhook_secret_env).unwrap_or_default();
        if secret.is_empty() {
            bail!(
                "--webhook needs a signing secret: set {} to the secret the receiver verifies \
                 `Postcall-Signature` with (or name another variable with --webhook-secret-env)",
                self.webhook_secret_env
            );
        }
        Ok(Some(Plan {
            urls,
            shape: self.webhook_format,
            secret: secret.into_bytes(),
            concurrency: self.webhook_concurrency as usize,
            retries: self.webhook_retries,
            dead_letter: self
                .dead_letter
                .clone()
                .unwrap_or_else(|| dir.join("dead-letter.jsonl")),
            dir,
        }))
    }
}

/// A webhook URL postcall may send to: http(s), and https unless the host is loopback
/// (a result may hold personal data; only a receiver on this machine may take it in the
/// clear). Errors show the URL redacted.
pub fn check_url(raw: &str) -> anyhow::Result<SecretUrl> {
    let url = SecretUrl::parse(raw).map_err(|e| anyhow::anyhow!("--webhook {}: {e}", redacted(raw)))?;
    let loopback = matches!(url.host(), "127.0.0.1" | "localhost" | "[::1]" | "::1");
    let scheme = url.expose().split(':').next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => bail!(
            "--webhook {}: use https (plain http is allowed only to 127.0.0.1 or localhost)",
            url.redacted()
        ),
        _ => bail!("--webhook {}: not an http(s) URL", url.redacted()),
    }
}

fn redacted(raw: &str) -> String {
    crate::net::url::redact_url_text(raw)
}

/// What the deliveries came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Acknowledged by the receiver in this run.
    pub delivered: u64,
    /// Not sent: the ledger says the receiver acknowledged them before.
    pub already: u64,
    /// Still not delivered after the last try (in the dead-letter file).
    pub failed: u64,
    pub dead_letter: Option<PathBuf>,
}

impl Outcome {
    /// The summary's line, e.g. "webhooks: 40 delivered, 2 already acknowledged, 0 failed".
    pub fn line(&self) -> String {
        let mut line = format!(
            "webhooks: {} delivered, {} already acknowledged, {} failed",
            self.delivered, self.already, self.failed
        );
        if let (true, Some(path)) = (self.failed > 0, &self.dead_letter) {
            line.push_str(&format!(" (in {}; `postcall deliver` re-sends them)", path.display()));
        }
        line
    }
}

/// One POST to make: a call's payload for one receiver.
struct Job {
    url: usize,
    url_id: String,
    key: String,
    call_id: String,
    body: Arc<Vec<u8>>,
}

/// What the workers share.
struct Shared {
    urls: Vec<SecretUrl>,
    secret: Vec<u8>,
    retries: u32,
    client: reqwest::blocking::Client,
    ledger: Ledger,
    failures: Mutex<Vec<dead_letter::Failure>>,
    delivered: AtomicU64,
}

/// Running deliveries: [`Deliverer::send`] queues and returns at once.
pub struct Deliverer {
    shared: Arc<Shared>,
    shape: Shape,
    metrics: Vec<Metric>,
    metrics_sha256: String,
    queue: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    already: u64,
    dead_letter: PathBuf,
}

/// How long one delivery may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(30);

impl Deliverer {
    /// Opens the ledger and starts the workers.
    pub fn start(plan: Plan, metrics: &[Metric], metrics_sha256: &str) -> anyhow::Result<Deliverer> {
        let ledger = Ledger::open(&plan.dir)?;
        let client = crate::net::client(crate::net::ClientOptions {
            timeout: TIMEOUT,
            idle_per_host: plan.concurrency,
        })?;
        let shared = Arc::new(Shared {
            urls: plan.urls,
            secret: plan.secret,
            retries: plan.retries,
            client,
            ledger,
            failures: Mutex::new(Vec::new()),
            delivered: AtomicU64::new(0),
        });
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..plan.concurrency)
            .map(|i| {
                let (shared, jobs) = (Arc::clone(&shared), Arc::clone(&jobs));
                std::thread::Builder::new()
                    .name(format!("webhook-{i}"))
                    .spawn(move || work(&shared, &jobs))
                    .context("cannot start a webhook thread")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Deliverer {
            shared,
            shape: plan.shape,
            metrics: metrics.to_vec(),
            metrics_sha256: metrics_sha256.to_string(),
            queue: Some(queue),
            workers,
            already: 0,
            dead_letter: plan.dead_letter,
        })
    }

    /// Queues `call` for every receiver that has not acknowledged it; never blocks.
    pub fn send(&mut self, call: &CallResult) {
        let key = sign::idempotency_key(&self.metrics_sha256, &call.call_id);
        let cx = PayloadContext {
            metrics: &self.metrics,
            metrics_sha256: Some(&self.metrics_sha256),
        };
        let mut body = None;
        for (index, url) in self.shared.urls.iter().enumerate() {
            let url_id = ledger::url_id(url.expose());
            if self.shared.ledger.is_acknowledged(&url_id, &key) {
                self.already += 1;
                continue;
            }
            let body = body
                .get_or_insert_with(|| {
                    let document = payload(self.shape, call, cx);
                    Arc::new(serde_json::to_vec(&document).expect("a payload serialises"))
                })
                .clone();
            let job = Job {
                url: index,
                url_id,
                key: key.clone(),
                call_id: call.call_id.clone(),
                body,
            };
            if let Some(queue) = &self.queue {
                // The workers outlive the queue; a send fails only if every one panicked.
                let _ = queue.send(job);
            }
        }
    }

    /// Waits for every queued delivery, then writes the dead-letter file.
    pub fn finish(mut self) -> anyhow::Result<Outcome> {
        drop(self.queue.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        let failures = std::mem::take(&mut *self.shared.failures.lock().expect("failures lock"));
        let failed = failures.len() as u64;
        dead_letter::write(&self.dead_letter, &failures, &self.shared.ledger, &self.shared.urls)?;
        Ok(Outcome {
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            already: self.already,
            failed,
            dead_letter: Some(self.dead_letter.clone()),
        })
    }
}

fn work(shared: &Shared, jobs: &Mutex<Receiver<Job>>) {
    loop {
        let next = jobs.lock().expect("queue lock").recv();
        let Ok(job) = next else { return };
        let url = &shared.urls[job.url];
        match send::deliver(&shared.client, url, &shared.secret, &job.key, &job.body, shared.retries) {
            Ok(()) => {
                shared.delivered.fetch_add(1, Ordering::Relaxed);
                if let Err(err) = shared.ledger.record(&job.url_id, &job.key, &job.call_id) {
                    crate::terminal::eprintln!("warning: {err:#}; a re-run sends call {} again", job.call_id);
                }
            }
            Err(failure) => shared
                .failures
                .lock()
                .expect("failures lock")
                .push(dead_letter::Failure {
                    url: job.url,
                    url_id: job.url_id,
                    key: job.key,
                    call_id: job.call_id,
                    error: failure.message,
                    attempts: failure.attempts,
                    body: job.body,
                }),
        }
    }
}
