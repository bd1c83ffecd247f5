//! Keeping secrets out of text that is shown or stored: error bodies, transport errors,
//! echoed requests.
//!
//! A secret is replaced only where it stands as a whole token, so a short or unlucky key
//! (`true`, `says`) cannot rewrite the words around it; and only in text *about* a request
//! (errors), never in a model's answer, which is data and is kept byte for byte.

use std::borrow::Cow;

use super::url::{REDACTED, redact_url_text};

/// `text` with every whole-token occurrence of `secret` replaced by `[REDACTED]`. A token
/// boundary is anything but a letter, a digit, `-`, `_` or `.` followed by one of those
/// (keys are made of them), so `sk-abc` is found in `Bearer sk-abc.` but not inside
/// `xsk-abcd`.
pub fn redact_secret<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    if secret.is_empty() || !text.contains(secret) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(secret) {
        let (head, tail) = rest.split_at(at);
        let prev = head.chars().next_back().or(before);
        let next = tail[secret.len()..].chars().next();
        let after_next = tail[secret.len()..].chars().nth(1);
        out.push_str(head);
        if boundary_before(prev) && boundary_after(next, after_next) {
            out.push_str(REDACTED);
            before = secret.chars().next_back();
            rest = &tail[secret.len()..];
        } else {
            // Not a whole token: keep one character and look again from the next.
            let first = tail.chars().next().expect("the match is not empty");
            out.push(first);
            before = Some(first);
            rest = &tail[first.len_utf8()..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn boundary_before(prev: Option<char>) -> bool {
    prev.is_none_or(|c| !is_token_char(c))
}

/// A full stop ends a sentence (`…provided: sk-abc.`) unless a token character follows.
fn boundary_after(next: Option<char>, after_next: Option<char>) -> bool {
    match next {
        None => true,
        Some('.') => after_next.is_none_or(|c| !is_token_char(c)),
        Some(c) => !is_token_char(c),
    }
}

/// `text` with the credentials of every `http://` or `https://` URL in it redacted (see
/// [`redact_url_text`]): for messages that quote URLs, such as transport errors.
pub fn redact_urls_in(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        out.push_str(&rest[..start]);
        let url_and_more = &rest[start..];
        let end = url_and_more
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | '`'))
            .unwrap_or(url_and_more.len());
        // A sentence's punctuation after the URL (`… in https://h/x?sig=abc: 3 errors`) is
        // the message's, not the query value's: left standing outside it.
        let end = url_and_more[..end].trim_end_matches([':', ',', ';', '.']).len();
        out.push_str(&redact_url_text(&url_and_more[..end]));
        rest = &url_and_more[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn find_url_start(text: &str) -> Option<usize> {
    let http = text.find("http://");
    let https = text.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_redacted_where_it_stands_alone() {
        let text = "Incorrect API key provided: sk-abc123. Authorization: Bearer sk-abc123";
        assert_eq!(
            redact_secret(text, "sk-abc123"),
            "Incorrect API key provided: [REDACTED]. Authorization: Bearer [REDACTED]"
        );
        assert_eq!(
            redact_secret(r#"{"key":"sk-abc123"}"#, "sk-abc123"),
            r#"{"key":"[REDACTED]"}"#
        );
    }

    #[test]
    fn a_short_key_leaves_the_words_that_contain_it_alone() {
        assert_eq!(
            redact_secret("the customer says it is true; trueness untrue", "true"),
            "the customer says it is [REDACTED]; trueness untrue"
        );
        assert_eq!(redact_secret("he says hi", "say"), "he says hi");
        assert_eq!(
            redact_secret("xsk-abc123 sk-abc1234", "sk-abc123"),
            "xsk-abc123 sk-abc1234"
        );
        assert_eq!(redact_secret("sk-abc123.x", "sk-abc123"), "sk-abc123.x");
    }

    #[test]
    fn every_occurrence_is_found_even_after_a_near_miss() {
        assert_eq!(redact_secret("kk k", "k"), "kk [REDACTED]");
        assert_eq!(redact_secret("ab ab", "ab"), "[REDACTED] [REDACTED]");
    }

    #[test]
    fn urls_in_messages_lose_their_credentials() {
        let text = "error sending request for url (https://u:pw@h/v1/chat/completions?key=k1): refused";
        assert_eq!(
            redact_urls_in(text),
            "error sending request for url (https://[REDACTED]@h/v1/chat/completions?key=[REDACTED]): refused"
        );
        assert_eq!(redact_urls_in("no url here"), "no url here");
    }

    #[test]
    fn the_sentence_around_a_url_keeps_its_punctuation() {
        assert_eq!(
            redact_urls_in("no calls in http://h/c.json?X-Amz-Signature=abc: 1 skipped, http://h/d?sig=d."),
            "no calls in http://h/c.json?X-Amz-Signature=[REDACTED]: 1 skipped, http://h/d?sig=[REDACTED]."
        );
    }
}
