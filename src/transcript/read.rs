//! Reading an input file's bytes, bounded: only regular files, and none over
//! `--max-file-size`.
//!
//! An input directory can hold anything: a FIFO named `calls.json` (reading it waits for a
//! writer that never comes, and a blocked read ignores SIGTERM), a symlink to `/dev/zero`
//! (reading it never ends), a file far bigger than any call. So the file is opened without
//! blocking, checked on the open handle (no window between a check and the read for the
//! file to be swapped), and read no further than the limit.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use bytesize::ByteSize;

/// The default `--max-file-size`: well above any single call, and big enough for a bundle
/// of tens of thousands of calls in one JSONL file.
pub const DEFAULT_MAX_FILE_SIZE: ByteSize = ByteSize::mib(512);

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a regular file ({0}): postcall reads only regular files; for a pipe, pass `-` and feed it on stdin")]
    NotRegular(&'static str),
    #[error("{} is over --max-file-size {}: raise --max-file-size, or split the file", shown(*.size), shown(*.limit))]
    TooBig { size: u64, limit: u64 },
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
}

fn shown(bytes: u64) -> String {
    ByteSize(bytes).display().iec().to_string()
}

/// Opens `path` for reading if it is a regular file no bigger than `limit`.
pub(crate) fn open_input(path: &Path, limit: u64) -> Result<File, ReadError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opened for reading waits for a writer; without blocking it opens at once
        // and is refused below.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(&meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooBig {
            size: meta.len(),
            limit,
        });
    }
    Ok(file)
}

/// The whole of a regular file no bigger than `limit` (a file that grows past it while
/// being read is refused too).
pub(crate) fn read_input(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_input(path, limit)?;
    // `take` hides the file's size from `read_to_end`, which would then grow the buffer
    // from nothing, a read and a copy per doubling: size it as `fs::read` does. The length
    // was checked against `limit` on this handle.
    let expected = file.metadata().map_or(0, |m| m.len());
    read_bounded_sized(file, limit, expected)
}

/// Everything `reader` gives, refused once it is over `limit`.
pub(crate) fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bounded_sized(reader, limit, 0)
}

fn read_bounded_sized(reader: impl Read, limit: u64, expected: u64) -> Result<Vec<u8>, ReadError> {
    // One byte over the expected size, so a file read whole needs no second allocation to
    // find its end.
    let mut bytes = Vec::with_capacity(usize::try_from(expected.saturating_add(1)).unwrap_or(0));
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooBig {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// What kind of file this is, for a message ("a FIFO").
pub(crate) fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a directory" } else { "not a file" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("calls.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_input(&fifo, 1 << 20).unwrap_err().to_string();
        assert!(err.starts_with("not a regular file (a FIFO)"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_an_endless_device_is_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read_input(&link, 1 << 20).unwrap_err().to_string();
        assert!(err.starts_with("not a regular file (a device)"), "{err}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_with_both_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 3 * 1024 * 1024]).unwrap();
        let err = read_input(&big, 1024 * 1024).unwrap_err().to_string();
        assert_eq!(
            err,
            "3.0 MiB is over --max-file-size 1.0 MiB: raise --max-file-size, or split the file"
        );
        assert_eq!(read_input(&big, 4 * 1024 * 1024).unwrap().len(), 3 * 1024 * 1024);
        let err = read_bounded(&b"12345"[..], 4).unwrap_err().to_string();
        assert!(err.contains("over --max-file-size"), "{err}");
    }
}
