//! Batch input files: one JSON line per request (`custom_id`, `method`, `url`, `body`),
//! split into files within the provider's limits. Pure: the requests come from the run
//! plan (built by `evaluate::first_request`, keyed by `evaluate::cache_key`, as `run` does).

use serde_json::{Value, json};

/// OpenAI's limit on the requests of one batch input file (its other, 200 MB a file, is
/// `batch submit --max-file-bytes`'s default).
pub const DEFAULT_MAX_REQUESTS: usize = 50_000;

/// The endpoint every line is sent to, and the batch is created for.
pub const ENDPOINT: &str = "/v1/chat/completions";

/// One request to send, with the key `run` will look its answer up by.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub key: String,
    pub model: String,
    /// Index into the submission's questions.
    pub question: usize,
    /// The body as `run` sends it.
    pub body: Value,
}

/// Requests bound for one input file: one model (a batch serves one), within the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub model: String,
    /// (custom_id, request)
    pub lines: Vec<(String, Request)>,
    /// The file's content, one line per request.
    pub jsonl: Vec<u8>,
}

/// The `custom_id` of the request keyed `key`: unique in a submission since requests are
/// deduplicated by key, and short enough for every provider's limit.
pub fn custom_id(key: &str) -> String {
    format!("pc-{}", &key[..key.len().min(40)])
}

/// The line sending `body`. The service tier is left out: a batch is its own tier.
pub fn line(custom_id: &str, body: &Value) -> Vec<u8> {
    let mut body = body.clone();
    if let Value::Object(map) = &mut body {
        map.remove("service_tier");
    }
    let mut line = serde_json::to_vec(&json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": ENDPOINT,
        "body": body,
    }))
    .expect("a line serializes");
    line.push(b'\n');
    line
}

/// Fills input files as requests come, one model per file (a batch serves one), at most
/// `max_requests` lines and `max_bytes` bytes each; a full file is handed back at once, so
/// an archive of any size is held one file at a time.
pub struct Splitter {
    max_requests: usize,
    max_bytes: u64,
    open: indexmap::IndexMap<String, Part>,
}

impl Splitter {
    pub fn new(max_requests: usize, max_bytes: u64) -> Splitter {
        Splitter {
            max_requests: max_requests.max(1),
            max_bytes,
            open: indexmap::IndexMap::new(),
        }
    }

    /// Adds `request`; the file it filled, if it filled one. A single request over
    /// `max_bytes` is an error naming it: no file could carry it.
    pub fn push(&mut self, request: Request) -> Result<Option<Part>, String> {
        let id = custom_id(&request.key);
        let bytes = line(&id, &request.body);
        if bytes.len() as u64 > self.max_bytes {
            return Err(format!(
                "the request {id} alone is {} bytes, over --max-file-bytes {}: raise it (OpenAI allows 200 MB)",
                bytes.len(),
                self.max_bytes
            ));
        }
        let part = self.open.entry(request.model.clone()).or_insert_with(|| Part {
            model: request.model.clone(),
            lines: Vec::new(),
            jsonl: Vec::new(),
        });
        let full = part.lines.len() >= self.max_requests || (part.jsonl.len() + bytes.len()) as u64 > self.max_bytes;
        let filled = (full && !part.lines.is_empty()).then(|| {
            let next = Part {
                model: request.model.clone(),
                lines: Vec::new(),
                jsonl: Vec::new(),
            };
            std::mem::replace(part, next)
        });
        part.jsonl.extend_from_slice(&bytes);
        part.lines.push((id, request));
        Ok(filled)
    }

    /// The files not yet full.
    pub fn finish(self) -> Vec<Part> {
        self.open.into_values().filter(|p| !p.lines.is_empty()).collect()
    }
}

/// Every file `requests` fill (see [`Splitter`]).
#[cfg(test)]
pub fn split(requests: Vec<Request>, max_requests: usize, max_bytes: u64) -> Result<Vec<Part>, String> {
    let mut splitter = Splitter::new(max_requests, max_bytes);
    let mut parts = Vec::new();
    for request in requests {
        parts.extend(splitter.push(request)?);
    }
    parts.extend(splitter.finish());
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: usize, model: &str) -> Request {
        Request {
            key: format!("{n:064x}"),
            model: model.into(),
            question: 0,
            body: json!({"model": model, "messages": [{"role": "user", "content": "x".repeat(50)}], "service_tier": "flex"}),
        }
    }

    #[test]
    fn files_hold_one_model_and_stay_within_both_limits() {
        let requests: Vec<Request> = (0..7).map(|n| request(n, if n < 5 { "a" } else { "b" })).collect();
        let one_line = line(&custom_id(&requests[0].key), &requests[0].body).len() as u64;
        let parts = split(requests.clone(), 2, 10_000).unwrap();
        let shape: Vec<(&str, usize)> = parts.iter().map(|p| (p.model.as_str(), p.lines.len())).collect();
        assert_eq!(shape, [("a", 2), ("a", 2), ("a", 1), ("b", 2)]);
        let parts = split(requests, 100, one_line * 3).unwrap();
        assert!(parts.iter().all(|p| p.jsonl.len() as u64 <= one_line * 3));
        assert_eq!(parts.iter().map(|p| p.lines.len()).sum::<usize>(), 7);
    }

    #[test]
    fn lines_are_what_the_batch_api_reads_without_the_tier() {
        let r = request(1, "a");
        let bytes = line("pc-1", &r.body);
        assert!(bytes.ends_with(b"\n"));
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["custom_id"], "pc-1");
        assert_eq!(parsed["method"], "POST");
        assert_eq!(parsed["url"], ENDPOINT);
        assert_eq!(parsed["body"]["model"], "a");
        assert!(parsed["body"].get("service_tier").is_none());
    }

    #[test]
    fn a_request_no_file_can_hold_is_an_error_naming_it() {
        let err = split(vec![request(1, "a")], 10, 20).unwrap_err();
        assert!(err.contains("--max-file-bytes 20") && err.contains("pc-"), "{err}");
    }
}
