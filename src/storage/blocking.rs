//! The blocking facade over object_store: every storage call postcall makes, each one a
//! plain function that waits for its answer.
//!
//! postcall's work runs on rayon threads with blocking HTTP; object_store is async. So the
//! async side is kept in here, on a small runtime of its own that is built the first time
//! a URL needs it (a run over local files never starts it, nor pays for it), and shared by
//! every thread that calls in: `block_on` from many worker threads at once is what a
//! multi-thread runtime allows. One client per bucket is built once and reused, so a run's
//! thousands of reads share connections. Nothing here is called from inside the runtime.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::stream::FuturesOrdered;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};

use super::error::{Doing, StorageError};
use super::process_credentials::ProcessCredentials;
use super::profile::Credentials;
use super::url::{ObjectUrl, Scheme};
use super::walk::{Failed, walk};
use super::window::Window;

/// Size of each part of a multipart upload (S3's minimum is 5 MiB, but for the last).
const PART_BYTES: usize = 8 * 1024 * 1024;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postcall-storage")
            .enable_all()
            .build()
            .expect("the storage runtime starts")
    })
}

/// The client of `url`'s bucket, built on first use.
fn store(url: &ObjectUrl) -> Result<Arc<dyn ObjectStore>, StorageError> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    let stores = STORES.get_or_init(Default::default);
    let mut stores = stores.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(store) = stores.get(url.root()) {
        return Ok(store.clone());
    }
    let store = build(url)?;
    stores.insert(url.root().to_string(), store.clone());
    Ok(store)
}

/// Retries for a store that answers 5xx or drops connections; the default (3 minutes)
/// makes a wrong endpoint look like a hang.
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(30),
        ..RetryConfig::default()
    }
}

/// The keys (or the `credential_process`) and region of the AWS profile the environment
/// names, which `from_env` does not read (see `profile`).
fn aws_profile(
    url: &ObjectUrl,
    builder: object_store::aws::AmazonS3Builder,
) -> Result<object_store::aws::AmazonS3Builder, StorageError> {
    let found = super::profile::find(&|name| std::env::var(name).ok()).map_err(|e| StorageError::new(url, e))?;
    let mut builder = builder;
    match found.credentials {
        Some(Credentials::Keys(keys)) => {
            builder = builder
                .with_access_key_id(keys.access_key_id)
                .with_secret_access_key(keys.secret_access_key);
            if let Some(token) = keys.session_token {
                builder = builder.with_token(token);
            }
        }
        Some(Credentials::Process(process)) => {
            // Run here, once, off the runtime: a command that fails stops the run before
            // any request; after that the provider runs it again before the keys expire.
            let provider = ProcessCredentials::start(process).map_err(|e| StorageError::new(url, e))?;
            builder = builder.with_credentials(Arc::new(provider));
        }
        None => {}
    }
    if let Some(region) = found.region {
        builder = builder.with_region(region);
    }
    Ok(builder)
}

/// Credentials and endpoint from each provider's environment chain (`from_env`), the
/// bucket from the URL.
fn build(url: &ObjectUrl) -> Result<Arc<dyn ObjectStore>, StorageError> {
    use object_store::aws::AmazonS3Builder;
    use object_store::azure::MicrosoftAzureBuilder;
    use object_store::gcp::GoogleCloudStorageBuilder;
    crate::net::tls::install_provider();
    let built: object_store::Result<Arc<dyn ObjectStore>> = match url.scheme() {
        Scheme::S3 => aws_profile(url, AmazonS3Builder::from_env())?
            .with_url(url.root())
            .with_retry(retry())
            .with_http_connector(super::client::NoRedirects)
            .build()
            .map(|s| Arc::new(s) as _),
        Scheme::Gcs => GoogleCloudStorageBuilder::from_env()
            .with_url(url.root())
            .with_retry(retry())
            .with_http_connector(super::client::NoRedirects)
            .build()
            .map(|s| Arc::new(s) as _),
        Scheme::Azure => MicrosoftAzureBuilder::from_env()
            .with_url(url.root())
            .with_retry(retry())
            .with_http_connector(super::client::NoRedirects)
            .build()
            .map(|s| Arc::new(s) as _),
        Scheme::Https => unreachable!("presigned URLs are read with the HTTP client"),
    };
    built.map_err(|e| {
        StorageError::new(
            url,
            format!(
                "cannot set up the client: {e}; {}",
                super::error::setup_hint(url.scheme())
            ),
        )
    })
}

fn key(url: &ObjectUrl) -> Key {
    Key::from(url.key())
}

/// Each object under `url`'s key taken as a directory (`s3://b/calls` lists `calls/…`), in
/// key order, given to `each` with its size.
pub fn for_each_listed(url: &ObjectUrl, each: &mut dyn FnMut(&str, u64)) -> Result<(), StorageError> {
    let objects = walk_under(url)?;
    runtime()
        .block_on(objects.try_for_each(|(key, size)| {
            each(key.as_ref(), size);
            std::future::ready(Ok(()))
        }))
        .map_err(|failed| not_listed(url, failed))
}

/// The walk of everything under `url`'s key taken as a directory (see `storage::walk`).
fn walk_under(
    url: &ObjectUrl,
) -> Result<impl futures_util::Stream<Item = Result<(Key, u64), Failed>> + Send + 'static, StorageError> {
    let store = store(url)?;
    let prefix = (!url.key().is_empty()).then(|| key(url));
    Ok(walk(store, prefix))
}

/// The whole object, refused (before its body is read) when it is over `limit` bytes.
pub fn read(url: &ObjectUrl, limit: u64) -> Result<Bytes, StorageError> {
    if url.scheme() == Scheme::Https {
        return super::presigned::read(url, limit);
    }
    let store = store(url)?;
    runtime().block_on(read_async(store, url, limit))
}

async fn read_async(store: Arc<dyn ObjectStore>, url: &ObjectUrl, limit: u64) -> Result<Bytes, StorageError> {
    let failed = |e: object_store::Error| StorageError::from_store(url, Doing::Reading, &e);
    let got = store.get(&key(url)).await.map_err(failed)?;
    if got.meta.size > limit {
        return Err(StorageError::new(url, super::too_big(got.meta.size, limit)));
    }
    got.bytes().await.map_err(failed)
}

/// `len` bytes from `offset` (fewer at the object's end).
pub fn read_range(url: &ObjectUrl, offset: u64, len: u64) -> Result<Bytes, StorageError> {
    if url.scheme() == Scheme::Https {
        return super::presigned::read_range(url, offset, len);
    }
    let store = store(url)?;
    let range = offset..offset.saturating_add(len);
    let got = runtime().block_on(async {
        let got = store
            .get_opts(
                &key(url),
                object_store::GetOptions {
                    range: Some(range.into()),
                    ..Default::default()
                },
            )
            .await?;
        got.bytes().await
    });
    match got {
        Ok(bytes) => Ok(bytes),
        // A range past the end: nothing there.
        Err(object_store::Error::Generic { source, .. }) if source.to_string().contains("416") => Ok(Bytes::new()),
        Err(e) => Err(StorageError::from_store(url, Doing::Reading, &e)),
    }
}

/// The object, or `None` when there is none (a cache miss).
pub fn read_if_there(url: &ObjectUrl, limit: u64) -> Result<Option<Bytes>, StorageError> {
    match read(url, limit) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.not_found && !e.message.contains("bucket") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Objects read and not yet taken by the caller: few, since the reads in flight hold those
/// that came back before the caller's next.
const HANDED_OVER: usize = 4;

/// How often a caller waiting for the next object looks whether it is still wanted.
const STILL_WANTED_EVERY: Duration = Duration::from_millis(50);

/// What [`read_listed`] hands on for each object under the prefix, in key order.
pub enum Next<T, U> {
    /// An object `choose` took, and what came of reading it.
    Read(ObjectUrl, T, Result<Bytes, StorageError>),
    /// An object `choose` passed over, with why.
    Passed(ObjectUrl, U),
    /// The listing failed here: nothing comes after.
    Failed(StorageError),
}

/// The objects of a prefix as they come: see [`read_listed`].
pub struct InOrder<T, U> {
    receiver: tokio::sync::mpsc::Receiver<Next<T, U>>,
}

impl<T, U> InOrder<T, U> {
    /// The next object, `None` after the last; `Err` as soon as `stop` says so while the
    /// next is waited for (a listing of a million objects is a thousand pages, and a run
    /// interrupted while they come has nothing to finish). Dropping the rest cancels the
    /// listings and reads on their way.
    pub fn next(&mut self, stop: &mut dyn FnMut() -> bool) -> Result<Option<Next<T, U>>, Stopped> {
        loop {
            match self.receiver.try_recv() {
                Ok(next) => return Ok(Some(next)),
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return Ok(None),
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {}
            }
            if stop() {
                return Err(Stopped);
            }
            // The timer is made inside: it belongs to the runtime, which `block_on` enters.
            let receiver = &mut self.receiver;
            let waited = runtime().block_on(async { tokio::time::timeout(STILL_WANTED_EVERY, receiver.recv()).await });
            if let Ok(next) = waited {
                return Ok(next);
            }
        }
    }
}

/// What the reading task waits for next.
enum Event<L, R> {
    Listed(Option<L>),
    Read(Option<R>),
}

/// [`InOrder::next`] was told to stop.
#[derive(Debug)]
pub struct Stopped;

/// The objects under `url`'s key taken as a directory (`s3://b/calls` lists `calls/…`), in
/// key order, each either read or passed over as `choose` says from its URL and size. The
/// listing goes a directory at a time ahead of the reads (see `storage::walk`), and the
/// reads a [`Window`] of them at once: the caller parses one while the next are on their
/// way, and neither the listing nor the objects are held whole.
pub fn read_listed<T: Send + 'static, U: Send + 'static>(
    url: &ObjectUrl,
    limit: u64,
    mut choose: impl FnMut(&ObjectUrl, u64) -> Result<T, U> + Send + 'static,
) -> Result<InOrder<T, U>, StorageError> {
    let objects = walk_under(url)?;
    let listed = url.clone();
    let (sender, receiver) = tokio::sync::mpsc::channel(HANDED_OVER);
    runtime().spawn(async move {
        let closed = sender.clone();
        let work = async move {
            let mut objects = std::pin::pin!(objects);
            let mut window = Window::new();
            let mut reads = FuturesOrdered::new();
            let mut listed_all = false;
            loop {
                // The listing and the reads go on together: a directory's listing awaited
                // alone would hold up the reads in flight, and those the caller awaits.
                let room = !listed_all && reads.len() < window.size();
                let event = if room && !reads.is_empty() {
                    match futures_util::future::select(objects.next(), reads.next()).await {
                        Either::Left((listed, _)) => Event::Listed(listed),
                        Either::Right((read, _)) => Event::Read(read),
                    }
                } else if room {
                    Event::Listed(objects.next().await)
                } else {
                    Event::Read(reads.next().await)
                };
                match event {
                    Event::Listed(None) => listed_all = true,
                    Event::Listed(Some(Err(failed))) => {
                        listed_all = true;
                        let failed = Next::Failed(not_listed(&listed, failed));
                        reads.push_back(Either::Right(std::future::ready(failed)));
                    }
                    Event::Listed(Some(Ok((key, size)))) => {
                        let url = listed.with_key(key.as_ref());
                        match choose(&url, size) {
                            Ok(with) => reads.push_back(Either::Left(async move {
                                let (url, read) = read_one(url, limit).await;
                                Next::Read(url, with, read)
                            })),
                            Err(why) => reads.push_back(Either::Right(std::future::ready(Next::Passed(url, why)))),
                        }
                    }
                    // Nothing in flight and no room: everything listed was handed on.
                    Event::Read(None) => break,
                    Event::Read(Some(next)) => {
                        let read = matches!(next, Next::Read(..));
                        if sender.send(next).await.is_err() {
                            break;
                        }
                        if read {
                            window.handed_on(Instant::now());
                        }
                    }
                }
            }
        };
        // A caller that stopped taking them stops the listing too, even mid-page.
        futures_util::future::select(std::pin::pin!(work), std::pin::pin!(closed.closed())).await;
    });
    Ok(InOrder { receiver })
}

/// The error for a directory under `listed` that the store did not list, naming it.
fn not_listed(listed: &ObjectUrl, failed: Failed) -> StorageError {
    let dir = failed.dir.as_ref().map_or("", |dir| dir.as_ref());
    StorageError::from_store(&listed.with_key(dir), Doing::Listing, &failed.error)
}

async fn read_one(url: ObjectUrl, limit: u64) -> (ObjectUrl, Result<Bytes, StorageError>) {
    let read = match url.scheme() {
        // A presigned URL is read by the blocking HTTP client, off the runtime.
        Scheme::Https => {
            let one = url.clone();
            tokio::task::spawn_blocking(move || super::presigned::read(&one, limit))
                .await
                .unwrap_or_else(|e| Err(StorageError::new(&url, format!("the read stopped: {e}"))))
        }
        _ => match store(&url) {
            Ok(store) => read_async(store, &url, limit).await,
            Err(e) => Err(e),
        },
    };
    (url, read)
}

/// Copies the object into the local file `to`, streamed (for reading a report back: its
/// readers want a file, and a report may be bigger than memory).
pub fn download(url: &ObjectUrl, to: &Path) -> Result<(), StorageError> {
    use std::io::Write;
    let local = |e: std::io::Error| StorageError::new(url, format!("cannot copy to {}: {e}", to.display()));
    if url.scheme() == Scheme::Https {
        let bytes = super::presigned::read(url, 1 << 40)?;
        return std::fs::write(to, bytes).map_err(local);
    }
    let store = store(url)?;
    let failed = |e: object_store::Error| StorageError::from_store(url, Doing::Reading, &e);
    runtime().block_on(async {
        let mut chunks = store.get(&key(url)).await.map_err(failed)?.into_stream();
        let mut file = std::io::BufWriter::new(std::fs::File::create(to).map_err(local)?);
        while let Some(chunk) = chunks.next().await {
            file.write_all(&chunk.map_err(failed)?).map_err(local)?;
        }
        file.flush().map_err(local)
    })
}

/// Writes `bytes` as the object, whole (one request: the object is either the old one or
/// the new one).
pub fn put(url: &ObjectUrl, bytes: Vec<u8>) -> Result<(), StorageError> {
    if url.scheme() == Scheme::Https {
        return super::presigned::put(url, bytes);
    }
    let store = store(url)?;
    runtime()
        .block_on(store.put(&key(url), PutPayload::from(bytes)))
        .map(drop)
        .map_err(|e| StorageError::from_store(url, Doing::Writing, &e))
}

/// Uploads the local file `from` as the object, in parts. The object appears (or replaces
/// the one there) only when the last part is in and the upload is completed; an upload
/// that fails is aborted, so neither a partial object nor stray parts are left.
pub fn upload(url: &ObjectUrl, from: &Path) -> Result<(), StorageError> {
    if url.scheme() == Scheme::Https {
        let bytes =
            std::fs::read(from).map_err(|e| StorageError::new(url, format!("cannot read {}: {e}", from.display())))?;
        return super::presigned::put(url, bytes);
    }
    let store = store(url)?;
    runtime().block_on(async {
        let failed = |e: object_store::Error| StorageError::from_store(url, Doing::Writing, &e);
        let upload = store.put_multipart(&key(url)).await.map_err(failed)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        match send_parts(&mut writer, from).await {
            Ok(()) => writer.finish().await.map(drop).map_err(failed),
            Err(e) => {
                let _ = writer.abort().await;
                Err(match e {
                    Sent::Store(e) => failed(e),
                    Sent::Local(e) => StorageError::new(url, format!("cannot read {}: {e}", from.display())),
                })
            }
        }
    })
}

enum Sent {
    Store(object_store::Error),
    Local(std::io::Error),
}

async fn send_parts(writer: &mut WriteMultipart, from: &Path) -> Result<(), Sent> {
    use std::io::Read;
    let mut file = std::fs::File::open(from).map_err(Sent::Local)?;
    let mut chunk = vec![0; PART_BYTES];
    loop {
        let read = file.read(&mut chunk).map_err(Sent::Local)?;
        if read == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(4).await.map_err(Sent::Store)?;
        writer.write(&chunk[..read]);
    }
}

/// Fails unless `url`'s bucket is there and these credentials may list it: checked before
/// a run pays for anything, so a typo in a bucket name is not found at the very end.
pub fn check_bucket(url: &ObjectUrl) -> Result<(), StorageError> {
    if url.scheme() == Scheme::Https {
        return Ok(());
    }
    let store = store(url)?;
    let parent = url.key().rsplit_once('/').map(|(dir, _)| Key::from(dir));
    runtime()
        .block_on(store.list_with_delimiter(parent.as_ref()))
        .map(drop)
        .map_err(|e| StorageError::from_store(url, Doing::Listing, &e))
}
