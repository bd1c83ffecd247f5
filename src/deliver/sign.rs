//! The webhook signature: `Postcall-Signature: t=UNIX,v1=HEX`, where HEX is the
//! HMAC-SHA256, under the shared secret, of the timestamp, a `.`, and the exact body bytes
//! (the Stripe/Svix scheme). Signing the timestamp lets a receiver refuse a replayed
//! request older than it allows; signing the bytes, not a re-serialisation, lets it verify
//! before it parses.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Postcall-Signature";
/// The header that carries the idempotency key (one per call and metric-file revision).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The header value for `body` sent at `timestamp` (seconds since the epoch).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// The idempotency key of a call's result under one metric-file revision: the same call
/// scored with the same definitions has the same key, whichever run or `deliver` sends it.
pub fn idempotency_key(metrics_sha256: &str, call_id: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(metrics_sha256.as_bytes());
    hasher.update(b"\0");
    hasher.update(call_id.as_bytes());
    hasher.finalize().to_hex()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // The value Python gives: hmac.new(b"whsec_test", b"1700000000.{\"a\":1}", sha256).
        let got = signature(b"whsec_test", 1700000000, b"{\"a\":1}");
        assert_eq!(
            got,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn a_changed_body_or_time_changes_the_signature() {
        let a = signature(b"s", 1, b"x");
        assert_ne!(a, signature(b"s", 2, b"x"));
        assert_ne!(a, signature(b"s", 1, b"y"));
        assert_ne!(a, signature(b"t", 1, b"x"));
    }

    #[test]
    fn keys_differ_by_call_and_by_revision_only() {
        let k = idempotency_key("ab", "c1");
        assert_eq!(k, idempotency_key("ab", "c1"));
        assert_ne!(k, idempotency_key("ab", "c2"));
        assert_ne!(k, idempotency_key("cd", "c1"));
        assert_eq!(k.len(), 32);
    }
}
