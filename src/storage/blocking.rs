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
use futures_util::stream::FuturesOrdered;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};

use super::error::{Doing, StorageError};
use super::listing::Listing;
use super::process_credentials::ProcessCredentials;
use super::profile::Credentials;
use super::url::{ObjectUrl, Scheme};
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

/// Listings in flight at once while a tree is listed.
const LISTS_AT_ONCE: usize = 16;

/// A level of more "directories" than this is listed flat from the level above: a
/// request a directory would cost more than the pages it saves.
const MAX_DIRS_A_LEVEL: usize = 1_000;

/// How deep the listing goes by directory before it lists what is left flat.
const MAX_LEVELS: usize = 8;

/// Every object under `url`'s key taken as a directory (`s3://b/calls` lists
/// `calls/…`), sorted by key.
pub fn list(url: &ObjectUrl) -> Result<Listing, StorageError> {
    Ok(list_unless(url, &mut || false)?.unwrap_or_else(|| Listing::new(url, Vec::new())))
}

/// How often a listing looks whether it is still wanted.
const STILL_WANTED_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// [`list`], given up (`None`) as soon as `stop` says so: a bucket of a million objects
/// takes a thousand pages, one after another, and a run interrupted while they come has
/// nothing yet to finish.
pub fn list_unless(url: &ObjectUrl, stop: &mut dyn FnMut() -> bool) -> Result<Option<Listing>, StorageError> {
    let store = store(url)?;
    let prefix = (!url.key().is_empty()).then(|| key(url));
    let stopped = async {
        while !stop() {
            tokio::time::sleep(STILL_WANTED_EVERY).await;
        }
    };
    let listing = std::pin::pin!(list_tree(store, prefix));
    let listed = match runtime().block_on(futures_util::future::select(listing, std::pin::pin!(stopped))) {
        futures_util::future::Either::Left((listed, _)) => listed,
        // Dropping the listing cancels its requests in flight.
        futures_util::future::Either::Right(((), _)) => return Ok(None),
    };
    let found = listed.map_err(|e| StorageError::from_store(url, Doing::Listing, &e))?;
    Ok(Some(Listing::new(url, found)))
}

/// The objects under `prefix`, listed a directory at a time, [`LISTS_AT_ONCE`] at once.
///
/// A flat listing is one request after another (each page names where the next starts),
/// 1,000 keys a page: 100 round trips for 100,000 calls, and some servers walk the whole
/// bucket for every page. Archives are nearly always kept in "directories"
/// (`calls/2026/12/03/…`, `0042/…`), which can be listed side by side. A level with
/// thousands of directories (`calls/<id>/transcript.json`) would cost a request an object,
/// so its parents are listed flat instead.
async fn list_tree(store: Arc<dyn ObjectStore>, prefix: Option<Key>) -> object_store::Result<Vec<(Key, u64)>> {
    let mut objects = Vec::new();
    let mut dirs = vec![prefix];
    for _ in 0..MAX_LEVELS {
        // Each directory's answer is taken down to what is kept as it comes, not held
        // until the whole level is in.
        let mut level = futures_util::stream::iter(&dirs)
            .map(|dir| {
                let store = &store;
                async move { (dir, store.list_with_delimiter(dir.as_ref()).await) }
            })
            .buffered(LISTS_AT_ONCE);
        let mut found_here = Vec::new();
        let mut next = Vec::new();
        while let Some((dir, listed)) = level.next().await {
            let listed = listed?;
            found_here.extend(listed.objects.into_iter().filter_map(|o| found(dir, o)));
            next.extend(listed.common_prefixes.into_iter().filter(|p| below(dir, p)).map(Some));
        }
        drop(level);
        if next.len() > MAX_DIRS_A_LEVEL {
            // These directories again, flat: their listings bring what is directly in them
            // too, so what the level found is dropped.
            objects.extend(list_flat(&store, dirs).await?);
            return Ok(objects);
        }
        objects.append(&mut found_here);
        dirs = next;
        if dirs.is_empty() {
            return Ok(objects);
        }
    }
    objects.extend(list_flat(&store, dirs).await?);
    Ok(objects)
}

/// Whether `key` is strictly below `dir`: what a listing of `dir` may bring. A store
/// that answers otherwise (a prefix naming itself, a key from elsewhere in the bucket)
/// would have the listing read outside the prefix the user gave, or the same calls again
/// at every level.
fn below(dir: &Option<Key>, key: &Key) -> bool {
    let key = key.as_ref();
    match dir {
        None => !key.is_empty(),
        Some(dir) => key
            .strip_prefix(dir.as_ref())
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty()),
    }
}

/// What postcall keeps of a listed object, if it is below `dir`: its key and size. The rest
/// (ETag, dates, version) is dropped as each page comes, not held for the whole bucket:
/// some 100 bytes an object, in the storage threads' memory.
fn found(dir: &Option<Key>, object: object_store::ObjectMeta) -> Option<(Key, u64)> {
    below(dir, &object.location).then_some((object.location, object.size))
}

/// Everything under each of `dirs`, [`LISTS_AT_ONCE`] listings at once.
async fn list_flat(store: &Arc<dyn ObjectStore>, dirs: Vec<Option<Key>>) -> object_store::Result<Vec<(Key, u64)>> {
    let listed: Vec<Vec<(Key, u64)>> = futures_util::stream::iter(dirs)
        .map(|dir| {
            let store = store.clone();
            async move {
                store
                    .list(dir.as_ref())
                    .try_filter_map(|o| std::future::ready(Ok(found(&dir, o))))
                    .try_collect::<Vec<_>>()
                    .await
            }
        })
        .buffer_unordered(LISTS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(listed.into_iter().flatten().collect())
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

/// The objects of `objects`, in that order, each with what the caller gave along with it
/// (so the caller keeps no second list of its own), a [`Window`] of them in flight: the
/// caller parses one while the next are on their way, and holds no more than those in
/// memory.
pub fn read_in_order<T: Send + 'static>(
    objects: impl IntoIterator<Item = (ObjectUrl, T), IntoIter: Send + 'static>,
    limit: u64,
) -> impl Iterator<Item = (ObjectUrl, T, Result<Bytes, StorageError>)> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(HANDED_OVER);
    let mut objects = objects.into_iter();
    runtime().spawn(async move {
        let mut window = Window::new();
        let mut reads = FuturesOrdered::new();
        loop {
            while reads.len() < window.size() {
                let Some((url, with)) = objects.next() else { break };
                reads.push_back(async move {
                    let (url, read) = read_one(url, limit).await;
                    (url, with, read)
                });
            }
            let Some(read) = reads.next().await else { break };
            if sender.send(read).await.is_err() {
                break;
            }
            window.handed_on(Instant::now());
        }
    });
    std::iter::from_fn(move || receiver.blocking_recv())
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

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn store_with(keys: &[String]) -> Arc<dyn ObjectStore> {
        let store = Arc::new(InMemory::new());
        runtime().block_on(async {
            for key in keys {
                store
                    .put(&Key::from(key.as_str()), PutPayload::from(key.clone().into_bytes()))
                    .await
                    .unwrap();
            }
        });
        store
    }

    /// What a flat listing of `prefix` finds, and what `list_tree` finds, both sorted.
    fn both_listings(store: &Arc<dyn ObjectStore>, prefix: &str) -> (Vec<String>, Vec<String>) {
        let prefix = Key::from(prefix);
        let sorted = |found: Vec<(Key, u64)>| {
            let mut keys: Vec<String> = found.into_iter().map(|(key, _)| key.to_string()).collect();
            keys.sort_unstable();
            keys
        };
        let flat = runtime()
            .block_on(
                store
                    .list(Some(&prefix))
                    .map_ok(|m| (m.location, m.size))
                    .try_collect::<Vec<_>>(),
            )
            .unwrap();
        let tree = runtime().block_on(list_tree(store.clone(), Some(prefix))).unwrap();
        (sorted(flat), sorted(tree))
    }

    #[test]
    fn a_tree_listed_by_directory_finds_exactly_what_a_flat_listing_finds() {
        let deep = (0..MAX_LEVELS + 2)
            .map(|level| format!("d{level}"))
            .collect::<Vec<_>>()
            .join("/");
        let keys: Vec<String> = [
            "calls/a.json",
            "calls/a-b/x.json",
            "calls/a/b/c.json",
            "calls/a/d.json",
            "calls/a/b/e/f.json",
            "callsX/not-under-the-prefix.json",
            "other/n.json",
        ]
        .iter()
        .map(|k| k.to_string())
        .chain([format!("calls/{deep}/bottom.json"), format!("calls/{deep}.json")])
        .collect();
        let store = store_with(&keys);
        let (flat, tree) = both_listings(&store, "calls");
        assert_eq!(tree, flat);
        assert_eq!(tree.len(), 7, "{tree:?}");
        assert!(
            tree.iter().any(|k| k.ends_with("bottom.json")),
            "below the levels listed by directory: {tree:?}"
        );
    }

    #[test]
    fn only_keys_strictly_below_the_listed_directory_are_taken() {
        let calls = Some(Key::from("calls"));
        assert!(below(&calls, &Key::from("calls/a.json")));
        assert!(below(&calls, &Key::from("calls/0042/a.json")));
        assert!(!below(&calls, &Key::from("calls")), "a prefix naming itself");
        assert!(!below(&calls, &Key::from("callsX/a.json")));
        assert!(!below(&calls, &Key::from("secret/a.json")));
        assert!(below(&None, &Key::from("a.json")));
    }

    #[test]
    fn a_level_of_too_many_directories_is_listed_flat_once() {
        let mut keys: Vec<String> = (0..=MAX_DIRS_A_LEVEL)
            .map(|i| format!("many/{i:05}/transcript.json"))
            .collect();
        keys.push("many/direct.json".into());
        keys.push("many/00007/extra/deeper.json".into());
        let store = store_with(&keys);
        let (flat, tree) = both_listings(&store, "many");
        // Nothing twice: what the level found directly is not added to the flat listing's.
        assert_eq!(tree, flat);
        assert_eq!(tree.len(), MAX_DIRS_A_LEVEL + 3);
    }
}
