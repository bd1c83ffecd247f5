//! A fake OpenAI-compatible endpoint on 127.0.0.1, for tests and the benchmark.
//!
//! Its answers are a pure function of the transcript it receives and the schema it is
//! asked to fill ([`fake_answer`]), so a test can check that every call's values are the
//! ones the endpoint gave for that call's transcript. Faults (429 with Retry-After in
//! seconds or as an HTTP date, 5xx, dropped connections, malformed answers, stalls, a
//! token-bucket rate limit, refusals) are injected at configurable rates, and hostile
//! behaviours (redirects, oversize bodies, odd-but-valid completions; see [`crate::hostile`])
//! can be switched on. It never binds anything but loopback.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use postcall::prompt::{SCHEMA_CLOSE, SCHEMA_OPEN, TRANSCRIPT_CLOSE, TRANSCRIPT_OPEN};

use crate::fake_batch::{self, BatchFault, BatchReply, BatchState, FakeBatch, FakeFile, Finish};
use crate::hostile::{self, Hostile, Oversize};
use crate::listen::read_request;
use crate::quotes::{self, Quotes};

/// A refusal the endpoint gives to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refuse {
    /// 401 invalid key.
    Auth,
    /// 429 insufficient_quota.
    Quota,
    /// 404 model not found.
    ModelNotFound,
    /// 400 response_format unsupported.
    SchemaUnsupported,
}

#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    pub latency: Duration,
    pub jitter: Duration,
    /// Share of requests answered 429 with `Retry-After: 1`.
    pub rate_429_seconds: f64,
    /// Share of requests answered 429 with `Retry-After` as an HTTP date.
    pub rate_429_date: f64,
    /// Share answered 500 or 503.
    pub rate_5xx: f64,
    /// Share answered as flex processing without capacity: 429 "Resource Unavailable",
    /// with `retry-after-ms: 20` so tests stay fast.
    pub rate_unavailable: f64,
    /// Share of every prompt reported as served from the provider's prompt cache
    /// (`usage.prompt_tokens_details.cached_tokens`).
    pub cached_prompt_share: f64,
    /// Share whose connection is closed without an answer.
    pub rate_drop: f64,
    /// Share of first asks answered with a wrong-typed value or non-JSON text.
    pub rate_malformed: f64,
    /// Share of asks cut off at the token limit (`finish_reason: length`) inside the
    /// second metric's reasoning, after the first metric's object closed: as a looping
    /// model is, when the request allows fewer than `cut_off_below` output tokens (or does
    /// not say; 0 cuts whatever it allows).
    pub rate_cut_off: f64,
    pub cut_off_below: u64,
    /// Share of first asks whose answer leaves out the summary it was asked for.
    pub rate_no_summary: f64,
    /// Share of requests that stall for `stall` before answering.
    pub rate_stall: f64,
    pub stall: Duration,
    /// Token-bucket limit in requests per second (429 with retry-after-ms beyond it).
    pub rate_limit: Option<f64>,
    pub refuse: Option<Refuse>,
    /// Keep every request body (for assertions on what was sent).
    pub record: bool,
    pub seed: u64,
    /// Redirects, oversize bodies, odd completions: all off by default.
    pub hostile: Hostile,
    /// How the `evidence` of first asks quotes the transcript (exact by default).
    pub quotes: Quotes,
    /// How re-asks quote it; `None`: as first asks do.
    pub quotes_on_reask: Option<Quotes>,
    /// Answers vary with the request's `seed`, as a sampling model's do: `seed mod N` picks
    /// one of N answers, [`fake_answer_variant`] of that number (0, or no seed, is
    /// [`fake_answer`]'s). 0: the seed changes nothing.
    pub seed_variants: u64,
    /// Requests carrying one of these seeds are answered 500, every time: a sample that
    /// never comes back.
    pub failing_seeds: Vec<i64>,
    /// Answer requests that ask for `logprobs: true` with token log-probabilities (see
    /// [`crate::logprobs`]); off: such requests get none, as from a server without them.
    pub logprobs: bool,
}

#[derive(Debug, Default)]
pub struct FakeStats {
    /// Chat completion requests received (faulted ones included).
    pub requests: AtomicU64,
    /// Requests answered with a 200.
    pub answered: AtomicU64,
    pub rate_limited: AtomicU64,
    pub bytes_received: AtomicU64,
    /// When the first chat completion request arrived, in nanoseconds since the server
    /// started, plus one (0: none yet). With `last_reply_ns`, the window in which the
    /// endpoint was busy, so the benchmark can measure sustained throughput apart from the
    /// client's startup and shutdown.
    pub first_request_ns: AtomicU64,
    /// When the latest chat completion reply (of any status) was ready, in nanoseconds
    /// since the server started.
    pub last_reply_ns: AtomicU64,
}

impl FakeStats {
    /// The time from the first request to the latest reply, if any request arrived.
    pub fn busy_window(&self) -> Option<Duration> {
        let first = self.first_request_ns.load(Ordering::Relaxed);
        let last = self.last_reply_ns.load(Ordering::Relaxed);
        (first > 0 && last + 1 >= first).then(|| Duration::from_nanos(last + 1 - first))
    }
}

struct State {
    config: FakeConfig,
    stats: Arc<FakeStats>,
    recorded: Mutex<Vec<RecordedRequest>>,
    bucket: Mutex<(f64, Instant)>,
    counter: AtomicU64,
    stop: AtomicBool,
    started: Instant,
    /// The batch API's files and batches (see [`crate::fake_batch`]).
    batch: Mutex<BatchState>,
    /// Numbers the batch API's answers apart from the live ones.
    batch_counter: AtomicU64,
}

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// When it arrived, since the server started: to measure the rate requests came at.
    pub arrived: Duration,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
}

impl FakeServer {
    /// Starts the endpoint on a free loopback port.
    pub fn start(config: FakeConfig) -> std::io::Result<FakeServer> {
        Self::start_on(config, 0)
    }

    pub fn start_on(config: FakeConfig, port: u16) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let burst = config.rate_limit.unwrap_or(0.0).max(1.0);
        let state = Arc::new(State {
            config,
            stats: Arc::new(FakeStats::default()),
            recorded: Mutex::new(Vec::new()),
            bucket: Mutex::new((burst, Instant::now())),
            counter: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            started: Instant::now(),
            batch: Mutex::new(BatchState::default()),
            batch_counter: AtomicU64::new(0),
        });
        crate::listen::accept_each(listener, "fake-llm", Arc::clone(&state), |s| &s.stop, serve)?;
        Ok(FakeServer { addr, state })
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn stats(&self) -> &FakeStats {
        &self.state.stats
    }

    pub fn requests(&self) -> u64 {
        self.state.stats.requests.load(Ordering::Relaxed)
    }

    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.state.recorded.lock().expect("recorded lock").clone()
    }

    /// Every file uploaded to (or written by) the batch API.
    pub fn batch_files(&self) -> Vec<FakeFile> {
        self.state.batch.lock().expect("batch lock").files.clone()
    }

    /// Every batch created, oldest first.
    pub fn batches(&self) -> Vec<FakeBatch> {
        self.state.batch.lock().expect("batch lock").batches.clone()
    }

    /// Arms a one-shot fault for the batch API's next matching request.
    pub fn inject_batch_fault(&self, fault: BatchFault) {
        self.state.batch.lock().expect("batch lock").faults.push(fault);
    }

    /// Moves batch `id` to `status` (`in_progress`, `finalizing`…) without output.
    pub fn set_batch_status(&self, id: &str, status: &str) {
        let mut batch = self.state.batch.lock().expect("batch lock");
        let found = batch
            .batches
            .iter_mut()
            .find(|b| b.id == id)
            .expect("a batch of that id");
        found.status = status.to_string();
    }

    /// Ends batch `id` as `finish` says, each request answered as the live endpoint
    /// answers it (without counting it as a live request).
    pub fn finish_batch(&self, id: &str, finish: Finish) {
        let state = &self.state;
        let mut answer = |body: &Value| {
            let n = state.batch_counter.fetch_add(1, Ordering::Relaxed);
            let (answer, finish) = answer_for(body, &state.config, n);
            match completion_reply(body, &state.config, n, answer, finish) {
                Reply::Http { status, body, .. } => (status, serde_json::from_str(&body).unwrap_or(Value::Null)),
                _ => (500, json!({"error": {"message": "no answer"}})),
            }
        };
        fake_batch::finish(&mut state.batch.lock().expect("batch lock"), id, finish, &mut answer);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, state: &State) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let Some((method, path, headers, body)) = read_request(&mut reader) else {
            return;
        };
        if state.stop.load(Ordering::Relaxed) {
            return;
        }
        let reply = if is_batch_api(&path) {
            respond_batch(state, &method, &path, &headers, &body)
        } else {
            respond(state, &path, &headers, &body)
        };
        if path.contains("/chat/completions") {
            let now = state.started.elapsed().as_nanos() as u64;
            state.stats.last_reply_ns.fetch_max(now, Ordering::Relaxed);
        }
        match reply {
            Reply::Drop => return,
            Reply::Cut(bytes) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/jsonl\r\ncontent-length: {}\r\n\r\n",
                    bytes.len()
                );
                let _ = writer
                    .write_all(head.as_bytes())
                    .and_then(|_| writer.write_all(&bytes[..bytes.len() / 2]))
                    .and_then(|_| writer.flush());
                return;
            }
            Reply::Oversize(oversize) => {
                hostile::write_oversize(&mut writer, oversize);
                return;
            }
            Reply::Http { status, headers, body } => {
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                if writer
                    .write_all(out.as_bytes())
                    .and_then(|_| writer.write_all(body.as_bytes()))
                    .and_then(|_| writer.flush())
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

enum Reply {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Drop,
    /// A 200 announcing these bytes whose connection closes halfway through them.
    Cut(Vec<u8>),
    Oversize(Oversize),
}

fn json_reply(status: u16, body: Value) -> Reply {
    Reply::Http {
        status,
        headers: vec![],
        body: body.to_string(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn is_batch_api(path: &str) -> bool {
    let route = path.split('?').next().unwrap_or(path);
    route.contains("/files") || route.contains("/batches")
}

/// The batch API: refused as every request is under `refuse: Auth` (echoing the key, so
/// tests can check it is redacted), else served by [`fake_batch`].
fn respond_batch(state: &State, method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Reply {
    if state.config.refuse == Some(Refuse::Auth) {
        return refusal(Refuse::Auth, headers, &Value::Null);
    }
    let reply = fake_batch::respond(
        &mut state.batch.lock().expect("batch lock"),
        method,
        path,
        headers,
        body,
    );
    match reply {
        BatchReply::Json(status, body) => json_reply(status, body),
        BatchReply::Bytes(bytes) => Reply::Http {
            status: 200,
            headers: vec![],
            body: String::from_utf8_lossy(&bytes).into_owned(),
        },
        BatchReply::Drop => Reply::Drop,
        BatchReply::Cut(bytes) => Reply::Cut(bytes),
    }
}

fn respond(state: &State, path: &str, headers: &[(String, String)], body: &[u8]) -> Reply {
    if path.ends_with("/health") {
        return json_reply(200, json!({"status": "ok"}));
    }
    if !path.contains("/chat/completions") {
        return json_reply(404, json!({"error": {"message": format!("no route {path}")}}));
    }
    let stats = &state.stats;
    let arrived = state.started.elapsed().as_nanos() as u64 + 1;
    let _ = stats
        .first_request_ns
        .compare_exchange(0, arrived, Ordering::Relaxed, Ordering::Relaxed);
    stats.requests.fetch_add(1, Ordering::Relaxed);
    stats.bytes_received.fetch_add(body.len() as u64, Ordering::Relaxed);
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return json_reply(400, json!({"error": {"message": "body is not JSON"}}));
    };
    if state.config.record {
        state.recorded.lock().expect("recorded lock").push(RecordedRequest {
            arrived: Duration::from_nanos(arrived - 1),
            path: path.to_string(),
            headers: headers.to_vec(),
            body: request.clone(),
        });
    }
    let cfg = &state.config;
    if let Some(redirect) = &cfg.hostile.redirect {
        return Reply::Http {
            status: redirect.status,
            headers: vec![("location".into(), redirect.location.clone())],
            body: String::new(),
        };
    }
    if let Some(oversize) = cfg.hostile.oversize {
        return Reply::Oversize(oversize);
    }
    if let Some(refuse) = cfg.refuse {
        return refusal(refuse, headers, &request);
    }
    if let Some(limited) = take_from_bucket(state) {
        return limited;
    }
    if request["seed"]
        .as_i64()
        .is_some_and(|seed| cfg.failing_seeds.contains(&seed))
    {
        return json_reply(
            500,
            json!({"error": {"message": "The server had an error while processing your request."}}),
        );
    }
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let stalled = match injected_fault(cfg, stats, n) {
        Fault::Reply(reply) => return reply,
        Fault::Stall => true,
        Fault::None => false,
    };
    // Uniform in latency ± jitter.
    let delay = if cfg.jitter.is_zero() {
        cfg.latency
    } else {
        cfg.latency.saturating_sub(cfg.jitter) + cfg.jitter.mul_f64(unit_hash(cfg.seed, n, 2) * 2.0)
    };
    if stalled {
        std::thread::sleep(cfg.stall);
    } else if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let (answer, finish) = answer_for(&request, cfg, n);
    stats.answered.fetch_add(1, Ordering::Relaxed);
    completion_reply(&request, cfg, n, answer, finish)
}

/// The refusal a `--refuse` mode answers every request with, as the real providers word it.
fn refusal(refuse: Refuse, headers: &[(String, String)], request: &Value) -> Reply {
    match refuse {
        // Echoes the key it was sent, as some providers and proxies do, so tests can
        // check that postcall redacts it.
        Refuse::Auth => {
            let key = headers
                .iter()
                .find(|(k, _)| k == "authorization" || k == "api-key")
                .map_or("", |(_, v)| v.trim_start_matches("Bearer "));
            json_reply(
                401,
                json!({"error": {"message": format!("Incorrect API key provided: {key}."), "type": "invalid_request_error", "code": "invalid_api_key"}}),
            )
        }
        Refuse::Quota => json_reply(
            429,
            json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details.", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        ),
        Refuse::ModelNotFound => json_reply(
            404,
            json!({"error": {"message": format!("The model `{}` does not exist or you do not have access to it.", request["model"].as_str().unwrap_or("?")), "code": "model_not_found"}}),
        ),
        Refuse::SchemaUnsupported => json_reply(
            400,
            json!({"error": {"message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", "param": "response_format"}}),
        ),
    }
}

/// The token bucket of `--rate-limit`: a 429 with `retry-after-ms` when it is empty.
fn take_from_bucket(state: &State) -> Option<Reply> {
    let rate = state.config.rate_limit?;
    let mut bucket = state.bucket.lock().expect("bucket lock");
    let now = Instant::now();
    let burst = rate.max(1.0);
    bucket.0 = (bucket.0 + now.duration_since(bucket.1).as_secs_f64() * rate).min(burst);
    bucket.1 = now;
    if bucket.0 < 1.0 {
        let wait_ms = ((1.0 - bucket.0) / rate * 1000.0).ceil() as u64;
        state.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        return Some(Reply::Http { status: 429, headers: vec![("retry-after-ms".into(), wait_ms.to_string())], body: json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}).to_string() });
    }
    bucket.0 -= 1.0;
    None
}

/// What the fault rates drew for request `n`.
enum Fault {
    None,
    Stall,
    Reply(Reply),
}

/// Draws request `n`'s fault: one roll, the rates laid end to end, so they add up.
fn injected_fault(cfg: &FakeConfig, stats: &FakeStats, n: u64) -> Fault {
    let roll = unit_hash(cfg.seed, n, 1);
    let mut edge = 0.0;
    let mut hit = |rate: f64| {
        let inside = roll >= edge && roll < edge + rate;
        edge += rate;
        inside
    };
    if hit(cfg.rate_429_seconds) {
        stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        return Fault::Reply(Reply::Http {
            status: 429,
            headers: vec![("retry-after".into(), "1".into())],
            body: json!({"error": {"message": "Rate limit reached"}}).to_string(),
        });
    }
    if hit(cfg.rate_429_date) {
        stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&when)
            .unwrap_or_default();
        return Fault::Reply(Reply::Http {
            status: 429,
            headers: vec![("retry-after".into(), date)],
            body: json!({"error": {"message": "Rate limit reached"}}).to_string(),
        });
    }
    if hit(cfg.rate_unavailable) {
        return Fault::Reply(Reply::Http {
            status: 429,
            headers: vec![("retry-after-ms".into(), "20".into())],
            body: json!({"error": {"message": "Resource Unavailable", "type": "resource_unavailable", "code": "resource_unavailable"}}).to_string(),
        });
    }
    if hit(cfg.rate_5xx) {
        let status = if n.is_multiple_of(2) { 500 } else { 503 };
        return Fault::Reply(json_reply(
            status,
            json!({"error": {"message": "The server had an error while processing your request."}}),
        ));
    }
    if hit(cfg.rate_drop) {
        return Fault::Reply(Reply::Drop);
    }
    if hit(cfg.rate_stall) { Fault::Stall } else { Fault::None }
}

/// The chat completion carrying `answer` (as a tool call when the request offered tools),
/// with usage counted at four characters a token, and the hostile oddities if asked for.
fn completion_reply(request: &Value, cfg: &FakeConfig, n: u64, answer: String, finish: Option<&str>) -> Reply {
    let prompt_chars: usize = request["messages"].as_array().map_or(0, |m| {
        m.iter().filter_map(|m| m["content"].as_str()).map(str::len).sum()
    });
    let prompt_tokens = prompt_chars.div_ceil(4);
    let cached_tokens = (prompt_tokens as f64 * cfg.cached_prompt_share).floor() as usize;
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": answer.len().div_ceil(4), "total_tokens": prompt_tokens + answer.len().div_ceil(4), "prompt_tokens_details": {"cached_tokens": cached_tokens}});
    let uses_tools = request.get("tools").is_some();
    let logprobs = (cfg.logprobs && request["logprobs"] == true && !uses_tools)
        .then(|| crate::logprobs::tokenize(&answer, transcript_in(&prompt_text(request))));
    let (answer, logprobs) = match logprobs {
        Some((spelled, logprobs)) => (spelled, logprobs),
        None => (answer, Value::Null),
    };
    let message = if uses_tools {
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("call_{n}"), "type": "function", "function": {"name": "post_call_metrics", "arguments": answer}}]})
    } else {
        json!({"role": "assistant", "content": answer})
    };
    let mut completion = json!({
        "id": format!("chatcmpl-fake-{n}"),
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{"index": 0, "message": message, "logprobs": logprobs, "finish_reason": finish.unwrap_or(if uses_tools { "tool_calls" } else { "stop" })}],
        "usage": usage,
    });
    if cfg.hostile.odd == Default::default() {
        return json_reply(200, completion);
    }
    hostile::add_odd_fields(cfg.hostile.odd, &mut completion);
    Reply::Http {
        status: 200,
        headers: vec![],
        body: hostile::write_huge_numbers(&completion.to_string()),
    }
}

/// The answer text for a request, and a finish reason when it is not the usual one:
/// malformed, cut off or without its summary on some first asks, otherwise the pure
/// [`fake_answer`] of its transcript and schema.
fn answer_for(request: &Value, cfg: &FakeConfig, n: u64) -> (String, Option<&'static str>) {
    let text = prompt_text(request);
    let transcript = transcript_in(&text);
    let schema = request
        .pointer("/response_format/json_schema/schema")
        .or_else(|| request.pointer("/tools/0/function/parameters"))
        .cloned()
        .or_else(|| between(&text, SCHEMA_OPEN, SCHEMA_CLOSE).and_then(|s| serde_json::from_str(s.trim()).ok()))
        .unwrap_or(json!({}));
    let variant = match (cfg.seed_variants, request["seed"].as_i64()) {
        (0, _) | (_, None) => 0,
        (n, Some(seed)) => seed.rem_euclid(n as i64) as u64,
    };
    let mut answer = fake_answer_variant(&schema, transcript, variant);
    if cfg.hostile.odd.number_beyond_f64_in_answer {
        hostile::mark_number_beyond_f64(&mut answer, &schema);
    }
    let first_ask = !request["messages"]
        .as_array()
        .is_some_and(|messages| messages.iter().any(|m| m["role"] == "assistant"));
    let quoting = if first_ask {
        cfg.quotes
    } else {
        cfg.quotes_on_reask.unwrap_or(cfg.quotes)
    };
    quotes::spoil(&mut answer, transcript, quoting);
    if first_ask && unit_hash(cfg.seed, n, 3) < cfg.rate_malformed {
        return (malformed(&answer, n), None);
    }
    if first_ask && unit_hash(cfg.seed, n, 4) < cfg.rate_no_summary {
        if let Some(obj) = answer.as_object_mut() {
            obj.remove("summary");
        }
        return (answer.to_string(), None);
    }
    // Only an answer with a second metric can be cut inside it.
    let metrics = answer
        .as_object()
        .map_or(0, |o| o.values().filter(|v| v.is_object()).count());
    let room = request["max_tokens"]
        .as_u64()
        .or(request["max_completion_tokens"].as_u64());
    let short = cfg.cut_off_below == 0 || room.is_none_or(|r| r < cfg.cut_off_below);
    if short && metrics >= 2 && unit_hash(cfg.seed, n, 5) < cfg.rate_cut_off {
        return (cut_off(&answer), Some("length"));
    }
    (answer.to_string(), None)
}

/// `answer` as a model that ran out of tokens sends it: the first metric whole, then the
/// second one's reasoning looping until the cut.
pub fn cut_off(answer: &Value) -> String {
    let Some(obj) = answer.as_object() else {
        return answer.to_string();
    };
    let mut metrics = obj.iter().filter(|(_, v)| v.is_object());
    let (first_id, first) = metrics.next().expect("two metrics");
    let (second_id, _) = metrics.next().expect("two metrics");
    format!(
        "{{\"{first_id}\": {first}, \"{second_id}\": {{\"reasoning\": \"I'm unable to assist you, I'm unable to assist you, I'm unable"
    )
}

/// A wrong answer of one of the kinds models give: not JSON, a fenced answer with a bad
/// enum value, a wrong type, an out-of-range number.
fn malformed(answer: &Value, n: u64) -> String {
    match n % 4 {
        0 => "I'm sorry, I can't determine that from the call.".to_string(),
        kind => {
            let mut bad = answer.clone();
            if let Some(obj) = bad.as_object_mut() {
                for (_, field) in obj.iter_mut() {
                    if let Some(value) = field.get_mut("value") {
                        *value = match (kind, &*value) {
                            (1, Value::String(_)) => json!("definitely-not-a-choice"),
                            (2, Value::Number(_)) => json!(9999),
                            (_, Value::Bool(_)) => json!("maybe"),
                            (_, Value::Number(_)) => json!("lots"),
                            (_, Value::Array(_)) => json!(42),
                            (_, other) => json!({"unexpected": other}),
                        };
                        break;
                    }
                }
            }
            if kind == 1 {
                format!("```json\n{bad}\n```")
            } else {
                bad.to_string()
            }
        }
    }
}

/// A chat request's messages as one text, one message a line: what [`transcript_in`] reads.
pub fn prompt_text(request: &Value) -> String {
    request["messages"].as_array().map_or_else(String::new, |messages| {
        messages
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The transcript text the endpoint answers from, out of a rendered prompt.
pub fn transcript_in(prompt_text: &str) -> &str {
    between(prompt_text, TRANSCRIPT_OPEN, TRANSCRIPT_CLOSE).unwrap_or("")
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// The answer a well-behaved model would give: a pure function of the schema and the
/// transcript text, so tests can recompute what every call should hold.
pub fn fake_answer(schema: &Value, transcript: &str) -> Value {
    fake_answer_variant(schema, transcript, 0)
}

/// The answer a sampling model gives with a seed of `variant` (see
/// [`FakeConfig::seed_variants`]): variant 0 is [`fake_answer`], another variant the same
/// answer drawn from another hash of the transcript.
pub fn fake_answer_variant(schema: &Value, transcript: &str, variant: u64) -> Value {
    let mut out = serde_json::Map::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    let turns = std::cell::OnceCell::new();
    for (id, prop) in props {
        let h = match variant {
            0 => hash64(transcript, id),
            v => hash64(transcript, &format!("{id}\0{v}")),
        };
        if id == "summary" && prop.get("properties").is_none() {
            out.insert(id.clone(), json!(format!("Summary {:08x}", h as u32)));
            continue;
        }
        let Some(fields) = prop.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let mut answer = serde_json::Map::new();
        let applicable = !h.is_multiple_of(5);
        if fields.contains_key("applicable") {
            answer.insert("applicable".into(), json!(applicable));
        }
        let value = if fields.contains_key("applicable") && !applicable {
            Value::Null
        } else {
            value_for(&fields["value"], h)
        };
        if fields.contains_key("evidence") {
            let cited = if value.is_null() {
                Vec::new()
            } else {
                quotes::exact_in(turns.get_or_init(|| quotes::turns_in(transcript)), h)
            };
            answer.insert("evidence".into(), Value::Array(cited));
        }
        answer.insert("reasoning".into(), json!(format!("Because {:06x}.", h & 0xff_ffff)));
        answer.insert("value".into(), value);
        answer.insert("confidence".into(), json!(((h >> 8) % 101) as f64 / 100.0));
        out.insert(id.clone(), Value::Object(answer));
    }
    Value::Object(out)
}

fn value_for(schema: &Value, h: u64) -> Value {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let non_null = types.iter().copied().find(|t| *t != "null").unwrap_or("string");
    if let Some(choices) = schema["enum"].as_array() {
        let real: Vec<&Value> = choices.iter().filter(|c| !c.is_null()).collect();
        if !real.is_empty() {
            return real[(h % real.len() as u64) as usize].clone();
        }
    }
    match non_null {
        "integer" => {
            let lo = schema["minimum"].as_i64().unwrap_or(0);
            let hi = schema["maximum"].as_i64().unwrap_or(lo + 100);
            json!(lo + (h % (hi - lo + 1) as u64) as i64)
        }
        "number" => {
            let lo = schema["minimum"].as_f64().unwrap_or(0.0);
            let hi = schema["maximum"].as_f64().unwrap_or(lo + 100.0);
            json!(((lo + (h % 1001) as f64 / 1000.0 * (hi - lo)) * 100.0).round() / 100.0)
        }
        "boolean" => json!(h & 1 == 1),
        "array" => {
            if let Some(choices) = schema.pointer("/items/enum").and_then(Value::as_array) {
                let picked: Vec<&Value> = choices
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (h >> i) & 1 == 1)
                    .map(|(_, c)| c)
                    .collect();
                json!(picked)
            } else {
                json!(
                    (0..(h % 3))
                        .map(|i| format!("item {:04x}", (h >> (i * 16)) & 0xffff))
                        .collect::<Vec<_>>()
                )
            }
        }
        _ if schema["format"] == "date-time" || schema["format"] == "date" => {
            json!(format!("2024-06-{:02}", 1 + h % 28))
        }
        _ => json!(format!("text {:08x}", (h >> 16) as u32)),
    }
}

fn hash64(a: &str, b: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(a.as_bytes());
    hasher.update(b"\0");
    hasher.update(b.as_bytes());
    u64::from_le_bytes(hasher.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}

fn unit_hash(seed: u64, n: u64, salt: u64) -> f64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(&n.to_le_bytes());
    hasher.update(&salt.to_le_bytes());
    let x = u64::from_le_bytes(hasher.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    (x >> 11) as f64 / (1u64 << 53) as f64
}
