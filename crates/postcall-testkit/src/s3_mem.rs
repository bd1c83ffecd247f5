//! An S3-compatible server that keeps its objects in memory, for the benchmark: the S3
//! protocol (routing, SigV4 checked against the tests' keys, XML) is the `s3s` crate's;
//! behind it, a sorted map of keys and bodies, served on a runtime in this process.
//!
//! A store is on other machines; a benchmark on 2 cores shares them with the server. s3s-fs
//! spends some 370 µs of CPU on each GET (a dozen file operations, each a hop to tokio's
//! blocking pool, and the body read 4 KB at a time), so against it a run from `s3://` on
//! this machine measures s3s-fs as much as postcall. Here a GET is a lookup and a copy of a
//! reference, so what the scenario measures is postcall's client: the listing, signing,
//! the HTTP exchange and the reads in flight. s3s-fs stays a choice (`--s3-server s3s-fs`).
//!
//! It serves what a scan reads (ListObjectsV2, with a delimiter and continuation tokens;
//! GetObject, with ranges; HeadObject; HeadBucket); the archive is put in through
//! [`S3Compatible::put_object`], straight into the map.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use s3s::dto::{
    CommonPrefix, ETag, GetObjectInput, GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput,
    HeadObjectOutput, ListObjectsV2Input, ListObjectsV2Output, Object as Listed, StreamingBlob, Timestamp,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use crate::s3::{ACCESS_KEY_ID, S3Compatible, SECRET_ACCESS_KEY};

/// A running in-memory server; it stops when dropped.
pub struct MemS3Server {
    port: u16,
    buckets: Buckets,
    /// Dropping it ends the runtime's thread, and with it every connection.
    _stop: tokio::sync::oneshot::Sender<()>,
}

type Buckets = Arc<RwLock<BTreeMap<String, BTreeMap<String, Object>>>>;

struct Object {
    body: Bytes,
    /// Opaque to clients: a hash of the body, as S3's is (S3's is MD5; any stable digest does).
    e_tag: String,
    modified: SystemTime,
}

impl MemS3Server {
    /// Starts the server on a free port of 127.0.0.1, every request held `latency` before
    /// it is answered (a store across a network; zero for loopback).
    pub fn start_with_latency(latency: Duration) -> anyhow::Result<MemS3Server> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let buckets = Buckets::default();
        let mut service = s3s::service::S3ServiceBuilder::new(Store {
            buckets: buckets.clone(),
        });
        service.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        let service = service.build();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(THREADS)
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("{THREADS}-accept"))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let accept = async {
                        while let Ok((socket, _)) = listener.accept().await {
                            // A response's head and body go out in separate writes; with Nagle's
                            // algorithm the body would wait for the client's delayed ACK.
                            let _ = socket.set_nodelay(true);
                            let service = service.clone();
                            tokio::spawn(async move {
                                let held = hyper::service::service_fn(move |request| {
                                    let service = service.clone();
                                    async move {
                                        if !latency.is_zero() {
                                            tokio::time::sleep(latency).await;
                                        }
                                        hyper::service::Service::call(&service, request).await
                                    }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(socket), held)
                                    .await;
                            });
                        }
                    };
                    tokio::select! {
                        () = accept => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(MemS3Server {
            port,
            buckets,
            _stop: stop,
        })
    }
}

/// The name of the server's threads (its runtime's workers and the accepting thread),
/// by which [`S3Compatible::cpu`] finds them.
const THREADS: &str = "s3-mem";

impl S3Compatible for MemS3Server {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server's threads spent, read from `/proc/self/task` (Linux): they live in
    /// the benchmark's process, whose own CPU the endpoint's figure is.
    fn cpu(&self) -> Option<Duration> {
        // SAFETY: sysconf reads a constant of the system; it takes no pointers.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks <= 0 {
            return None;
        }
        let mut spent = 0u64;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // `TID (NAME) STATE …`: after the name's closing parenthesis, the state, then 10
            // fields, then utime and stime.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            if !head.split_once('(').is_some_and(|(_, name)| name.starts_with(THREADS)) {
                continue;
            }
            let fields: Vec<&str> = rest.split_whitespace().collect();
            spent += fields
                .get(11..13)?
                .iter()
                .map(|f| f.parse::<u64>().unwrap_or(0))
                .sum::<u64>();
        }
        Some(Duration::from_secs_f64(spent as f64 / ticks as f64))
    }

    fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        self.buckets
            .write()
            .expect("no writer panicked")
            .entry(bucket.to_string())
            .or_default();
        Ok(())
    }

    fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
        let mut buckets = self.buckets.write().expect("no writer panicked");
        let Some(objects) = buckets.get_mut(bucket) else {
            anyhow::bail!("no bucket {bucket}: create it first");
        };
        let object = Object {
            body: Bytes::copy_from_slice(body),
            e_tag: blake3::hash(body).to_hex()[..32].to_string(),
            modified: SystemTime::now(),
        };
        objects.insert(key.to_string(), object);
        Ok(())
    }
}

struct Store {
    buckets: Buckets,
}

impl Store {
    /// `f` on the bucket's objects, or S3's NoSuchBucket.
    fn in_bucket<T>(&self, bucket: &str, f: impl FnOnce(&BTreeMap<String, Object>) -> S3Result<T>) -> S3Result<T> {
        let buckets = self.buckets.read().expect("no writer panicked");
        match buckets.get(bucket) {
            Some(objects) => f(objects),
            None => Err(s3_error!(NoSuchBucket)),
        }
    }
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.in_bucket(&req.input.bucket, |_| Ok(S3Response::new(HeadBucketOutput::default())))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        self.in_bucket(&input.bucket, |objects| {
            let object = objects.get(&input.key).ok_or_else(|| s3_error!(NoSuchKey))?;
            Ok(S3Response::new(HeadObjectOutput {
                content_length: Some(object.body.len() as i64),
                e_tag: Some(ETag::Strong(object.e_tag.clone())),
                last_modified: Some(Timestamp::from(object.modified)),
                ..Default::default()
            }))
        })
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        self.in_bucket(&input.bucket, |objects| {
            let object = objects.get(&input.key).ok_or_else(|| s3_error!(NoSuchKey))?;
            let whole = object.body.len() as u64;
            let (body, content_range) = match input.range {
                None => (object.body.clone(), None),
                Some(range) => {
                    let range = range.check(whole)?;
                    let body = object.body.slice(range.start as usize..range.end as usize);
                    (body, Some(format!("bytes {}-{}/{whole}", range.start, range.end - 1)))
                }
            };
            Ok(S3Response::new(GetObjectOutput {
                content_length: Some(body.len() as i64),
                content_range,
                body: Some(StreamingBlob::from(s3s::Body::from(body))),
                e_tag: Some(ETag::Strong(object.e_tag.clone())),
                last_modified: Some(Timestamp::from(object.modified)),
                ..Default::default()
            }))
        })
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        self.in_bucket(&input.bucket, |objects| {
            let prefix = input.prefix.clone().unwrap_or_default();
            let max_keys = input.max_keys.unwrap_or(1000).clamp(1, 1000) as usize;
            let page = page(
                objects,
                &prefix,
                input.delimiter.as_deref(),
                input.continuation_token.as_deref(),
                input.start_after.as_deref(),
                max_keys,
            );
            let key_count = (page.contents.len() + page.prefixes.len()) as i32;
            Ok(S3Response::new(ListObjectsV2Output {
                name: Some(input.bucket.clone()),
                prefix: input.prefix.clone(),
                delimiter: input.delimiter.clone(),
                max_keys: Some(max_keys as i32),
                key_count: Some(key_count),
                continuation_token: input.continuation_token.clone(),
                start_after: input.start_after.clone(),
                is_truncated: Some(page.next.is_some()),
                next_continuation_token: page.next,
                contents: (!page.contents.is_empty()).then(|| {
                    page.contents
                        .into_iter()
                        .map(|(key, object)| Listed {
                            key: Some(key.to_string()),
                            size: Some(object.body.len() as i64),
                            e_tag: Some(ETag::Strong(object.e_tag.clone())),
                            last_modified: Some(Timestamp::from(object.modified)),
                            ..Default::default()
                        })
                        .collect()
                }),
                common_prefixes: (!page.prefixes.is_empty()).then(|| {
                    page.prefixes
                        .into_iter()
                        .map(|prefix| CommonPrefix { prefix: Some(prefix) })
                        .collect()
                }),
                ..Default::default()
            }))
        })
    }
}

/// One page of a listing.
struct Page<'a> {
    contents: Vec<(&'a str, &'a Object)>,
    /// The "directories" of the page, each once: the keys' beginnings up to and including
    /// the first delimiter after the prefix.
    prefixes: Vec<String>,
    /// Where the next page starts (the first key it takes), when there is more.
    next: Option<String>,
}

/// The page of keys under `prefix` from `token` on (or after `start_after`), as S3 lists it:
/// in key order, a "directory" counted once however many keys it holds.
fn page<'a>(
    objects: &'a BTreeMap<String, Object>,
    prefix: &str,
    delimiter: Option<&str>,
    token: Option<&str>,
    start_after: Option<&str>,
    max_keys: usize,
) -> Page<'a> {
    let from = match (token, start_after) {
        (Some(token), _) => Bound::Included(token),
        (None, Some(after)) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    };
    let mut page = Page {
        contents: Vec::new(),
        prefixes: Vec::new(),
        next: None,
    };
    let under = objects
        .range::<str, _>((from, Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(prefix));
    for (key, object) in under {
        let directory = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            key[prefix.len()..]
                .find(d)
                .map(|at| &key[..prefix.len() + at + d.len()])
        });
        if directory.is_some() && directory == page.prefixes.last().map(String::as_str) {
            continue;
        }
        if page.contents.len() + page.prefixes.len() == max_keys {
            page.next = Some(key.clone());
            break;
        }
        match directory {
            Some(directory) => page.prefixes.push(directory.to_string()),
            None => page.contents.push((key, object)),
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(keys: &[&str]) -> BTreeMap<String, Object> {
        keys.iter()
            .map(|key| {
                let object = Object {
                    body: Bytes::from_static(b"{}"),
                    e_tag: String::new(),
                    modified: SystemTime::UNIX_EPOCH,
                };
                (key.to_string(), object)
            })
            .collect()
    }

    fn keys(page: &Page) -> Vec<String> {
        page.contents
            .iter()
            .map(|(k, _)| k.to_string())
            .chain(page.prefixes.clone())
            .collect()
    }

    #[test]
    fn pages_cover_every_key_once_and_a_directory_once() {
        let objects = objects(&["c/a/1", "c/a/2", "c/a/3", "c/b", "c/d/1", "c/e", "d/x"]);
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = page(&objects, "c/", Some("/"), token.as_deref(), None, 2);
            seen.extend(keys(&page));
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["c/a/", "c/b", "c/d/", "c/e"]);
    }

    #[test]
    fn without_a_delimiter_a_listing_is_flat_and_stays_under_its_prefix() {
        let objects = objects(&["c/a/1", "c/a/2", "c/b", "cx", "d/x"]);
        let page = page(&objects, "c/", None, None, None, 1000);
        assert_eq!(keys(&page), ["c/a/1", "c/a/2", "c/b"]);
        assert!(page.next.is_none());
    }
}
