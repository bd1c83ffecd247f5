//! Object storage as a source and a sink: transcripts read from, reports written to, and
//! answers cached in `s3://`, `gs://` and `az://` buckets and presigned `https://` URLs.
//!
//! Storage is an edge, like `net`: the rest of postcall keeps its data flow and asks this
//! module for bytes. The transcript scan reads a prefix's objects in key order as it
//! lists them ([`read_listed`]: a directory at a time, as many reads at once as read faster,
//! nothing copied to disk), a call is
//! read again by URL and range at its turn; a report is written locally beside nothing and uploaded once
//! complete ([`upload`]: a multipart upload completed only at the end, so an interrupted run
//! leaves no object and never half-replaces one); a bucket cache entry is one `PUT`.
//!
//! Credentials come from each provider's own environment chain as object_store's
//! `from_env` builders read it (AWS: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
//! `AWS_SESSION_TOKEN`, web identity, ECS task and EC2 instance roles; `AWS_ENDPOINT_URL`
//! or `AWS_ENDPOINT_URL_S3` and `AWS_ALLOW_HTTP=true` for an S3-compatible server) and,
//! for AWS, the named profile's keys or its `credential_process` ([`profile`],
//! [`credential_process`], fetched again before they expire by [`process_credentials`]);
//! no message ever shows one ([`error`]).

mod blocking;
mod client;
mod credential_process;
mod error;
mod pages;
mod presigned;
mod process_credentials;
mod profile;
mod url;
mod walk;
mod window;

pub use blocking::{
    Next, Stopped, check_bucket, download, for_each_listed, put, read, read_if_there, read_listed, read_range, upload,
};
pub use error::StorageError;
pub use url::{ObjectUrl, Scheme, is_url};

/// The message for an object over `--max-file-size`, as the local reader says it.
fn too_big(size: u64, limit: u64) -> String {
    let shown = |n: u64| bytesize::ByteSize(n).display().iec().to_string();
    format!(
        "{} is over --max-file-size {}: raise --max-file-size, or split the object",
        shown(size),
        shown(limit)
    )
}
