//! Text for people, on a terminal or in a CI log. Everything postcall prints for a person
//! goes through here, because much of it is not postcall's own: call ids and file names
//! from an archive, a model's answers, a provider's error message. Any of them may hold
//! control characters that clear the screen, set the window title, move the cursor over
//! earlier lines, or reorder text with bidirectional overrides. [`escape`] shows them as
//! visible escapes instead (`\u{1b}`), keeping newlines and tabs.
//!
//! - stderr: the [`eprintln!`] and [`eprint!`] macros here, in place of `std`'s (clippy's
//!   `disallowed-macros` keeps `std`'s out of the crate). A failed write to stderr is
//!   ignored: there is nowhere left to say anything.
//! - stdout: [`print_text`] for a rendered text, [`Escaped`] for a writer that streams.
//!   Both return write errors, so a closed pipe (`| head`) reaches `main`, which treats it
//!   as success. Machine formats (JSON, JSONL, CSV) are not escaped: their own encoders
//!   decide what a control character becomes, and escaping would corrupt them.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// `text` with every character that a terminal would act on shown as an escape: C0
/// controls but newline and tab, DEL, C1 controls, and the bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acted_on) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if acted_on(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn acted_on(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes `text` to stdout, escaped, and flushes.
pub fn print_text(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(escape(text).as_bytes())?;
    out.flush()
}

/// A writer that escapes what passes through it (see [`escape`]). Writes are expected to
/// be whole UTF-8 strings, as `write!` and `write_all(text.as_bytes())` give; bytes that
/// are not UTF-8 are shown as replacement characters.
pub struct Escaped<W: Write>(pub W);

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(escape(&String::from_utf8_lossy(buf)).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Writes the formatted text to stderr, escaped; used by [`eprintln!`] and [`eprint!`].
#[doc(hidden)]
pub fn write_stderr(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut text = args.to_string();
    if newline {
        text.push('\n');
    }
    let _ = io::stderr().lock().write_all(escape(&text).as_bytes());
}

/// `std::eprintln!`, with the text escaped (see the module doc).
macro_rules! eprintln {
    () => {
        $crate::terminal::write_stderr(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::terminal::write_stderr(format_args!($($arg)*), true)
    };
}

/// `std::eprint!`, with the text escaped (see the module doc).
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::terminal::write_stderr(format_args!($($arg)*), false)
    };
}

pub(crate) use {eprint, eprintln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_that_would_act_on_a_terminal_become_visible() {
        assert_eq!(
            escape("call\u{1b}[2J\u{1b}]0;pwned\u{7}-1"),
            "call\\u{1b}[2J\\u{1b}]0;pwned\\u{7}-1"
        );
        assert_eq!(escape("a\rb\u{9b}c\u{7f}"), "a\\rb\\u{9b}c\\u{7f}");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }

    #[test]
    fn ordinary_text_newlines_and_tabs_are_left_alone() {
        let text = "SOURCE\tFORMAT\nc-1  Zoë — 日本語 ✓\n";
        assert!(matches!(escape(text), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_escapes_what_passes_through() {
        let mut out = Escaped(Vec::new());
        let id = "x\u{1b}[31m";
        writeln!(out, "id {id}").unwrap();
        assert_eq!(String::from_utf8(out.0).unwrap(), "id x\\u{1b}[31m\n");
    }
}
