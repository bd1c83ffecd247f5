//! A store that answers presigned URLs, on 127.0.0.1: what a bucket's `https://…?X-Amz-…`
//! links do, for the tests of a single input or output given as one. A URL is honoured
//! when its query carries the store's signature, as a presigned link's does; one without it
//! is answered 403 `SignatureDoesNotMatch`, as S3 answers a link that was tampered with or
//! has expired. Objects are kept in memory; every request is recorded.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::listen::{accept_each, read_request};

/// The signature every URL of [`PresignedStore::url`] carries: a test checks that it never
/// shows in what postcall prints or writes.
pub const SIGNATURE: &str = "5ec2e7519a7a7e0f00dfeedc0ffee0123456789abcdef0123456789abcdef012";
/// The access key id in the URLs' `X-Amz-Credential`.
pub const CREDENTIAL: &str = "AKIAPRESIGNEDTEST001";

#[derive(Default)]
struct State {
    objects: Mutex<HashMap<String, Vec<u8>>>,
    requests: Mutex<Vec<(String, String)>>,
    stop: AtomicBool,
}

/// A running store; it stops when dropped.
pub struct PresignedStore {
    port: u16,
    state: Arc<State>,
}

impl PresignedStore {
    pub fn start() -> std::io::Result<PresignedStore> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State::default());
        accept_each(listener, "presigned", Arc::clone(&state), |s| &s.stop, serve)?;
        Ok(PresignedStore { port, state })
    }

    /// The presigned URL of the object at `path` (`/bucket/key`), over plain http.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL}%2F20261204%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261204T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}",
            self.port
        )
    }

    /// The same URL with another signature: one the store refuses.
    pub fn unsigned_url(&self, path: &str) -> String {
        self.url(path).replace(SIGNATURE, "0000")
    }

    pub fn put(&self, path: &str, body: &[u8]) {
        self.state
            .objects
            .lock()
            .unwrap()
            .insert(path.to_string(), body.to_vec());
    }

    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.state.objects.lock().unwrap().get(path).cloned()
    }

    /// Method and path (without the query) of every request, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for PresignedStore {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, state: &State) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Some((method, target, headers, body)) = read_request(&mut reader) {
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        state.requests.lock().unwrap().push((method.clone(), path.to_string()));
        let signed = query
            .split('&')
            .any(|pair| pair == format!("X-Amz-Signature={SIGNATURE}"));
        let (status, answer) = if !signed {
            (403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>".to_vec())
        } else if method == "PUT" {
            state.objects.lock().unwrap().insert(path.to_string(), body);
            (200, Vec::new())
        } else if method == "GET" {
            match state.objects.lock().unwrap().get(path) {
                None => (404, b"<Error><Code>NoSuchKey</Code></Error>".to_vec()),
                Some(object) => match range(&headers, object.len()) {
                    Some(range) if range.start >= object.len() => (416, Vec::new()),
                    Some(range) => (206, object[range.start..range.end.min(object.len())].to_vec()),
                    None => (200, object.clone()),
                },
            }
        } else {
            (405, Vec::new())
        };
        let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n", answer.len());
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(&answer))
            .is_err()
        {
            return;
        }
    }
}

/// The `Range: bytes=a-b` of a request, as a half-open range.
fn range(headers: &[(String, String)], len: usize) -> Option<std::ops::Range<usize>> {
    let value = headers.iter().find(|(k, _)| k == "range")?.1.strip_prefix("bytes=")?;
    let (start, end) = value.split_once('-')?;
    let start: usize = start.parse().ok()?;
    let end = end.parse::<usize>().map_or(len, |end| end + 1);
    Some(start..end)
}
