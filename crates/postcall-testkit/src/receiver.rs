//! A webhook receiver on 127.0.0.1 for the delivery tests: it verifies every request's
//! `Postcall-Signature` as a real receiver would (HMAC-SHA256 of `t.body` under the shared
//! secret), answers 500 or drops the connection on a seeded share of requests, and records
//! what it acknowledged, by idempotency key, so a test can say "each call exactly once".

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::listen::read_request;

/// How the receiver behaves.
#[derive(Debug, Clone, Default)]
pub struct ReceiverConfig {
    pub secret: String,
    /// Share of requests answered 500 (before they are acknowledged).
    pub rate_500: f64,
    /// Share of requests whose connection is closed without an answer.
    pub rate_drop: f64,
    pub seed: u64,
}

/// One request the receiver acknowledged (answered 2xx).
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub key: String,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct State {
    config: ReceiverConfig,
    acknowledged: Mutex<Vec<Acknowledged>>,
    /// Requests whose signature did not verify (answered 401, never acknowledged).
    bad_signatures: AtomicU64,
    requests: AtomicU64,
    stop: AtomicBool,
}

pub struct WebhookReceiver {
    addr: SocketAddr,
    state: Arc<State>,
}

impl WebhookReceiver {
    pub fn start(config: ReceiverConfig) -> std::io::Result<WebhookReceiver> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            config,
            ..State::default()
        });
        crate::listen::accept_each(listener, "receiver", Arc::clone(&state), |s| &s.stop, serve)?;
        Ok(WebhookReceiver { addr, state })
    }

    /// `http://127.0.0.1:PORT/hook`
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every acknowledgement, in the order given (a key twice: a duplicate delivery).
    pub fn acknowledged(&self) -> Vec<Acknowledged> {
        self.state.acknowledged.lock().unwrap().clone()
    }

    /// How many times each idempotency key was acknowledged.
    pub fn acknowledgements_by_key(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for ack in self.acknowledged() {
            *counts.entry(ack.key).or_insert(0) += 1;
        }
        counts
    }

    pub fn bad_signatures(&self) -> u64 {
        self.state.bad_signatures.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Whether `header` (`t=…,v1=…`) is the signature of `body` under `secret`.
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", v)) => given = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(given)) = (timestamp, given) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == given
}

fn serve(stream: TcpStream, state: &State) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let Some((_, _, headers, body)) = read_request(&mut reader) else {
            return;
        };
        let n = state.requests.fetch_add(1, Ordering::Relaxed);
        let roll = unit(state.config.seed, n);
        if roll < state.config.rate_drop {
            return;
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let status = if roll < state.config.rate_drop + state.config.rate_500 {
            500
        } else if !verify(
            state.config.secret.as_bytes(),
            header("postcall-signature").unwrap_or(""),
            &body,
        ) {
            state.bad_signatures.fetch_add(1, Ordering::Relaxed);
            401
        } else {
            let ack = Acknowledged {
                key: header("idempotency-key").unwrap_or("").to_string(),
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            };
            state.acknowledged.lock().unwrap().push(ack);
            200
        };
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{{}}");
        if writer
            .write_all(reply.as_bytes())
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
    }
}

/// A seeded uniform number in [0, 1) for request `n`.
fn unit(seed: u64, n: u64) -> f64 {
    let hash = blake3::hash(&[seed.to_le_bytes(), n.to_le_bytes()].concat());
    let bytes: [u8; 8] = hash.as_bytes()[..8].try_into().unwrap();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_python_reference_signature_and_nothing_else() {
        let header = "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789";
        assert!(verify(b"whsec_test", header, b"{\"a\":1}"));
        assert!(!verify(b"whsec_test", header, b"{\"a\":2}"));
        assert!(!verify(b"other", header, b"{\"a\":1}"));
        assert!(!verify(b"whsec_test", "v1=abc", b"{\"a\":1}"));
    }
}
