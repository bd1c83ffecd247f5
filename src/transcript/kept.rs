//! The objects the scan keeps for the requests, held compressed.
//!
//! A transcript is JSON or text that repeats itself (the same keys and roles every turn,
//! the agent's stock phrases), which LZ4 holds in a half to a fifth of its size (the real
//! platform payloads of shared/data/realworld 4.9 times smaller, short labelled dialogues
//! 2.5 times) and gives back at gigabytes a second. `--keep-objects` still counts the
//! objects' own sizes, so which calls are fetched again does not depend on how well they
//! compress.

use bytes::Bytes;

/// One object's bytes, compressed.
pub(crate) struct Kept {
    packed: Box<[u8]>,
    size: usize,
}

/// Sizes only: a catalog's debug print must not be its archive.
impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kept({} bytes in {})", self.size, self.packed.len())
    }
}

impl Kept {
    pub(crate) fn pack(bytes: &[u8]) -> Kept {
        Kept {
            // Boxed: exactly its size, where the compressor's buffer is the worst case's.
            packed: lz4_flex::block::compress(bytes).into_boxed_slice(),
            size: bytes.len(),
        }
    }

    /// The object's own size.
    pub(crate) fn size(&self) -> u64 {
        self.size as u64
    }

    /// The object's bytes again.
    pub(crate) fn unpack(self) -> Bytes {
        let bytes =
            lz4_flex::block::decompress(&self.packed, self.size).expect("the bytes were compressed here, to this size");
        Bytes::from(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_comes_back_exactly_and_a_transcript_is_held_in_less_than_its_size() {
        let turn =
            r#"{"role":"agent","content":"Could I have your order number and the email on the account, please?"},"#;
        let transcript = format!(r#"{{"call_id":"c1","transcript":[{}]}}"#, turn.repeat(200));
        for bytes in [transcript.as_bytes(), b"", "caf\u{e9} \u{1F600}".as_bytes()] {
            let kept = Kept::pack(bytes);
            assert_eq!(kept.size(), bytes.len() as u64);
            assert_eq!(kept.unpack(), Bytes::copy_from_slice(bytes));
        }
        let kept = Kept::pack(transcript.as_bytes());
        assert!(
            kept.packed.len() * 2 < transcript.len(),
            "{} of {}",
            kept.packed.len(),
            transcript.len()
        );
    }
}
