//! Hostile behaviours the fake endpoint can put on, each off by default: the ways a real
//! server, proxy or attacker answers that postcall must survive without sending a
//! transcript elsewhere, running out of memory, or losing a valid answer.
//!
//! - [`Redirect`]: every chat completion is answered with a 3xx and a `Location`.
//! - [`Oversize`]: a 200 whose body never ends, or declares a size far beyond any answer.
//! - [`OddCompletion`]: valid chat completions in shapes some servers really send: `null`
//!   for absent lists and counts, numbers beyond what an f64 holds.

use std::io::Write;

/// Answer every chat completion with a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
    /// Sent as the `Location` header, as given.
    pub location: String,
}

/// A 200 whose body is too big to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Chunked, and it never ends (until the client hangs up).
    Endless,
    /// Declares this many bytes in `content-length`, sends a few and hangs up.
    Declared(u64),
}

/// Valid chat completions in unusual shapes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OddCompletion {
    /// `"tool_calls": null`, `"refusal": null`, `"logprobs": null` and every usage count
    /// `null`, as several OpenAI-compatible servers and mocks send.
    pub nulls: bool,
    /// `1e400` in fields postcall has no use for (`created`, `usage.prompt_tokens`).
    pub numbers_beyond_f64_in_envelope: bool,
    /// The first `number` metric's value in the answer is the literal `1e400`.
    pub number_beyond_f64_in_answer: bool,
}

/// Every hostile behaviour, all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hostile {
    pub redirect: Option<Redirect>,
    pub oversize: Option<Oversize>,
    pub odd: OddCompletion,
}

/// Stands in for a number no `serde_json::Value` can hold until the text is written.
const BEYOND_F64: &str = "__postcall_fake_beyond_f64__";

/// The literal that replaces [`BEYOND_F64`].
pub const HUGE_LITERAL: &str = "1e400";

/// Writes the oversize reply; returns when the client hangs up.
pub(crate) fn write_oversize(writer: &mut impl Write, oversize: Oversize) {
    match oversize {
        Oversize::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let piece = format!("{{\"pad\":\"{}\"}}", "x".repeat(64 * 1024));
            let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
            if writer.write_all(head.as_bytes()).is_err() {
                return;
            }
            while writer.write_all(chunk.as_bytes()).is_ok() {}
        }
        Oversize::Declared(length) => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n");
            let _ = writer
                .write_all(head.as_bytes())
                .and_then(|_| writer.write_all(b"{\"choices\":["))
                .and_then(|_| writer.flush());
        }
    }
}

/// The answer with the first `number` metric's value marked to become [`HUGE_LITERAL`].
pub(crate) fn mark_number_beyond_f64(answer: &mut serde_json::Value, schema: &serde_json::Value) {
    let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    let number_metric = props.iter().find(|(_, prop)| {
        let types = &prop.pointer("/properties/value/type");
        match types {
            Some(serde_json::Value::String(t)) => t == "number",
            Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "number"),
            _ => false,
        }
    });
    if let Some((id, _)) = number_metric
        && let Some(value) = answer.pointer_mut(&format!("/{id}/value"))
    {
        *value = serde_json::Value::String(BEYOND_F64.into());
    }
}

/// Adds the odd fields to a chat completion about to be sent.
pub(crate) fn add_odd_fields(odd: OddCompletion, completion: &mut serde_json::Value) {
    if odd.nulls {
        if let Some(message) = completion.pointer_mut("/choices/0/message")
            && let Some(message) = message.as_object_mut()
        {
            message.entry("tool_calls").or_insert(serde_json::Value::Null);
            message.insert("refusal".into(), serde_json::Value::Null);
            message.insert("function_call".into(), serde_json::Value::Null);
        }
        if let Some(choice) = completion.pointer_mut("/choices/0").and_then(|c| c.as_object_mut()) {
            choice.insert("logprobs".into(), serde_json::Value::Null);
        }
        completion["usage"] =
            serde_json::json!({"prompt_tokens": null, "completion_tokens": null, "total_tokens": null});
    }
    if odd.numbers_beyond_f64_in_envelope {
        completion["created"] = serde_json::Value::String(BEYOND_F64.into());
        completion["usage"]["prompt_tokens"] = serde_json::Value::String(BEYOND_F64.into());
    }
}

/// JSON text with every marked number written as [`HUGE_LITERAL`]: inside a string that
/// holds JSON (an answer) and in the completion itself.
pub(crate) fn write_huge_numbers(text: &str) -> String {
    text.replace(&format!("\\\"{BEYOND_F64}\\\""), HUGE_LITERAL)
        .replace(&format!("\"{BEYOND_F64}\""), HUGE_LITERAL)
}
