//! The fake endpoint's batch API: OpenAI's `/v1/files` (upload, list, content) and
//! `/v1/batches` (create, get, list), served by the same [`crate::fake_llm::FakeServer`]
//! on 127.0.0.1, so a batch's answers are the very ones its live endpoint gives.
//!
//! The test drives each batch's life ([`crate::fake_llm::FakeServer::set_batch_status`],
//! [`crate::fake_llm::FakeServer::finish_batch`]): completed, partly failed, expired with
//! part of its output, failed validation. One-shot faults ([`BatchFault`]) stand in for a
//! client killed at each step: the upload or creation is made and the answer never comes,
//! or a download stops halfway.

use std::collections::HashSet;

use serde_json::{Value, json};

/// A one-shot fault for the next matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFault {
    /// The next upload is stored, then the connection is closed without an answer.
    DropAfterUpload,
    /// The next batch is created, then the connection is closed without an answer.
    DropAfterCreate,
    /// The next file download sends half its bytes and closes.
    CutDownload,
}

/// How the test ends a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Every request answered.
    Completed,
    /// Every `every`-th request (1-based) answered with a 500, the rest answered.
    PartlyFailed { every: usize },
    /// The window ran out: the first `answered` requests answered, the rest expired.
    Expired { answered: usize },
    /// Validation failed: no output at all.
    Failed,
}

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct FakeFile {
    pub id: String,
    pub filename: String,
    pub purpose: String,
    pub bytes: Vec<u8>,
}

/// A batch as the fake holds it.
#[derive(Debug, Clone)]
pub struct FakeBatch {
    pub id: String,
    pub input_file_id: String,
    pub status: String,
    pub metadata: Value,
    pub output_file_id: Option<String>,
    pub error_file_id: Option<String>,
    pub total: usize,
    pub completed: usize,
    pub failed: usize,
    pub errors: Vec<String>,
}

impl FakeBatch {
    fn to_json(&self) -> Value {
        let errors = (!self.errors.is_empty()).then(|| {
            json!({"object": "list", "data": self.errors.iter().map(|m| json!({"code": "invalid_request", "message": m})).collect::<Vec<_>>()})
        });
        json!({
            "id": self.id, "object": "batch", "endpoint": "/v1/chat/completions",
            "input_file_id": self.input_file_id, "completion_window": "24h", "status": self.status,
            "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
            "created_at": 1_700_000_000, "metadata": self.metadata, "errors": errors,
            "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
        })
    }
}

/// Everything the batch API holds.
#[derive(Debug, Default)]
pub struct BatchState {
    pub files: Vec<FakeFile>,
    pub batches: Vec<FakeBatch>,
    pub faults: Vec<BatchFault>,
    next_id: u64,
}

impl BatchState {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:04}", self.next_id)
    }

    fn take_fault(&mut self, fault: BatchFault) -> bool {
        match self.faults.iter().position(|f| *f == fault) {
            Some(i) => {
                self.faults.remove(i);
                true
            }
            None => false,
        }
    }

    /// Stores a file the fake itself wrote (an output or error file).
    fn store(&mut self, filename: String, bytes: Vec<u8>) -> String {
        let id = self.id("file");
        self.files.push(FakeFile {
            id: id.clone(),
            filename,
            purpose: "batch_output".into(),
            bytes,
        });
        id
    }
}

/// What the batch API answers.
pub enum BatchReply {
    Json(u16, Value),
    Bytes(Vec<u8>),
    /// The side effect happened; the connection closes without an answer.
    Drop,
    /// Half of these bytes, under a header announcing all of them.
    Cut(Vec<u8>),
}

fn not_found(what: &str) -> BatchReply {
    BatchReply::Json(
        404,
        json!({"error": {"message": format!("No such {what}"), "type": "invalid_request_error"}}),
    )
}

/// Routes one request of the batch API.
pub fn respond(
    state: &mut BatchState,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> BatchReply {
    let (route, _query) = path.split_once('?').unwrap_or((path, ""));
    let parts: Vec<&str> = route.trim_start_matches("/v1/").split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["files"]) => upload(state, headers, body),
        ("GET", ["files"]) => {
            let data: Vec<Value> = state
                .files
                .iter()
                .map(|f| json!({"id": f.id, "object": "file", "filename": f.filename, "purpose": f.purpose, "bytes": f.bytes.len()}))
                .collect();
            BatchReply::Json(200, json!({"object": "list", "data": data, "has_more": false}))
        }
        ("GET", ["files", id, "content"]) => {
            let Some(bytes) = state.files.iter().find(|f| f.id == *id).map(|f| f.bytes.clone()) else {
                return not_found("file");
            };
            if state.take_fault(BatchFault::CutDownload) {
                BatchReply::Cut(bytes)
            } else {
                BatchReply::Bytes(bytes)
            }
        }
        ("POST", ["batches"]) => create(state, body),
        ("GET", ["batches"]) => {
            let data: Vec<Value> = state.batches.iter().rev().map(FakeBatch::to_json).collect();
            BatchReply::Json(200, json!({"object": "list", "data": data, "has_more": false}))
        }
        ("GET", ["batches", id]) => match state.batches.iter().find(|b| b.id == *id) {
            Some(batch) => BatchReply::Json(200, batch.to_json()),
            None => not_found("batch"),
        },
        _ => BatchReply::Json(404, json!({"error": {"message": format!("no route {method} {path}")}})),
    }
}

fn upload(state: &mut BatchState, headers: &[(String, String)], body: &[u8]) -> BatchReply {
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map_or("", |(_, v)| v.as_str());
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return BatchReply::Json(400, json!({"error": {"message": "expected multipart/form-data"}}));
    };
    let fields = multipart_fields(body, boundary.trim_matches('"'));
    let purpose = fields
        .iter()
        .find(|f| f.0 == "purpose")
        .map(|f| String::from_utf8_lossy(&f.2).into_owned());
    let Some((_, Some(filename), bytes)) = fields.into_iter().find(|f| f.0 == "file") else {
        return BatchReply::Json(400, json!({"error": {"message": "no file part"}}));
    };
    if purpose.as_deref() != Some("batch") {
        return BatchReply::Json(400, json!({"error": {"message": "purpose must be batch"}}));
    }
    let id = state.id("file");
    let answer = json!({"id": id, "object": "file", "filename": filename, "purpose": "batch", "bytes": bytes.len()});
    state.files.push(FakeFile {
        id,
        filename,
        purpose: "batch".into(),
        bytes,
    });
    if state.take_fault(BatchFault::DropAfterUpload) {
        return BatchReply::Drop;
    }
    BatchReply::Json(200, answer)
}

/// (name, filename, content) of each part of a multipart body.
fn multipart_fields(body: &[u8], boundary: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        let Some(head_end) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..head_end]);
        let mut content = &part[head_end + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            let start = head.find(&marker)? + marker.len();
            let end = head[start..].find('"')? + start;
            Some(head[start..end].to_string())
        };
        if let Some(name) = attr("name") {
            fields.push((name, attr("filename"), content.to_vec()));
        }
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(body, delimiter) {
        parts.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    parts
}

fn create(state: &mut BatchState, body: &[u8]) -> BatchReply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return BatchReply::Json(400, json!({"error": {"message": "body is not JSON"}}));
    };
    let input = request["input_file_id"].as_str().unwrap_or("").to_string();
    if request["endpoint"] != "/v1/chat/completions" || request["completion_window"] != "24h" {
        return BatchReply::Json(
            400,
            json!({"error": {"message": "endpoint must be /v1/chat/completions and completion_window 24h"}}),
        );
    }
    let Some(file) = state.files.iter().find(|f| f.id == input && f.purpose == "batch") else {
        return not_found("file");
    };
    let lines = input_lines(&file.bytes);
    let errors = validation_errors(&lines);
    let id = state.id("batch");
    let batch = FakeBatch {
        id,
        input_file_id: input,
        status: if errors.is_empty() { "validating" } else { "failed" }.into(),
        metadata: request["metadata"].clone(),
        output_file_id: None,
        error_file_id: None,
        total: lines.len(),
        completed: 0,
        failed: 0,
        errors,
    };
    let answer = batch.to_json();
    state.batches.push(batch);
    if state.take_fault(BatchFault::DropAfterCreate) {
        return BatchReply::Drop;
    }
    BatchReply::Json(200, answer)
}

fn input_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect()
}

/// What OpenAI's validation refuses: a line that is not a request, a repeated
/// `custom_id`, more than one model in a file.
fn validation_errors(lines: &[Value]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids = HashSet::new();
    let mut models = HashSet::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(id) = line["custom_id"].as_str() else {
            errors.push(format!("line {}: no custom_id", n + 1));
            continue;
        };
        if !ids.insert(id.to_string()) {
            errors.push(format!("line {}: duplicate custom_id {id}", n + 1));
        }
        if line["method"] != "POST" || line["url"] != "/v1/chat/completions" {
            errors.push(format!(
                "line {}: method must be POST and url /v1/chat/completions",
                n + 1
            ));
        }
        models.insert(line["body"]["model"].as_str().unwrap_or("").to_string());
    }
    if models.len() > 1 {
        errors.push("a batch input file may use one model only".into());
    }
    errors
}

/// Ends batch `id` as `finish` says, answering each request with `answer` (the live
/// endpoint's answer to that body: status and JSON).
pub fn finish(state: &mut BatchState, id: &str, finish: Finish, answer: &mut dyn FnMut(&Value) -> (u16, Value)) {
    let Some(index) = state.batches.iter().position(|b| b.id == id) else {
        panic!("no batch {id}");
    };
    let input = state.batches[index].input_file_id.clone();
    let bytes = state
        .files
        .iter()
        .find(|f| f.id == input)
        .expect("input file")
        .bytes
        .clone();
    let lines = input_lines(&bytes);
    let (mut output, mut errors) = (Vec::new(), Vec::new());
    let (mut completed, mut failed) = (0, 0);
    if finish != Finish::Failed {
        for (n, line) in lines.iter().enumerate() {
            let custom_id = line["custom_id"].clone();
            let request_id = format!("req_{id}_{n}");
            let expired = matches!(finish, Finish::Expired { answered } if n >= answered);
            let fails = matches!(finish, Finish::PartlyFailed { every } if (n + 1) % every == 0);
            let record = if expired {
                failed += 1;
                json!({"id": format!("batch_req_{n}"), "custom_id": custom_id, "response": null, "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}})
            } else if fails {
                failed += 1;
                json!({"id": format!("batch_req_{n}"), "custom_id": custom_id, "response": {"status_code": 500, "request_id": request_id, "body": {"error": {"message": "The server had an error processing your request."}}}, "error": null})
            } else {
                let (status, body) = answer(&line["body"]);
                if (200..300).contains(&status) {
                    completed += 1;
                } else {
                    failed += 1;
                }
                json!({"id": format!("batch_req_{n}"), "custom_id": custom_id, "response": {"status_code": status, "request_id": request_id, "body": body}, "error": null})
            };
            let ok = record["response"]["status_code"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s));
            let target = if ok { &mut output } else { &mut errors };
            target.extend_from_slice(record.to_string().as_bytes());
            target.push(b'\n');
        }
    }
    let output_file = (!output.is_empty()).then(|| state.store(format!("{id}_output.jsonl"), output));
    let error_file = (!errors.is_empty()).then(|| state.store(format!("{id}_error.jsonl"), errors));
    let batch = &mut state.batches[index];
    batch.status = match finish {
        Finish::Completed | Finish::PartlyFailed { .. } => "completed",
        Finish::Expired { .. } => "expired",
        Finish::Failed => "failed",
    }
    .into();
    if finish == Finish::Failed {
        batch.errors.push("the input file could not be validated".into());
    }
    batch.output_file_id = output_file;
    batch.error_file_id = error_file;
    batch.completed = completed;
    batch.failed = failed;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_custom_ids_and_mixed_models_fail_validation() {
        let line = |id: &str, model: &str| json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions", "body": {"model": model}});
        assert!(validation_errors(&[line("a", "m"), line("b", "m")]).is_empty());
        let errors = validation_errors(&[line("a", "m"), line("a", "n")]);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn a_multipart_body_gives_its_fields() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{\"x\":1}\n\r\n--XX--\r\n";
        let fields = multipart_fields(body, "XX");
        assert_eq!(fields[0], ("purpose".into(), None, b"batch".to_vec()));
        assert_eq!(
            fields[1],
            ("file".into(), Some("a.jsonl".into()), b"{\"x\":1}\n".to_vec())
        );
    }
}
