//! Reading input files (histories, and for raftsim scenario files, traces and fuzz inputs)
//! with a size cap, refusing what is not a regular file.
//!
//! A reader given `/dev/zero`, a FIFO or a directory must not grow without bound or wait
//! forever: anything but a regular file is refused before a byte is read, and a file larger
//! than the cap is refused with its size. The cap is process-wide, set once by the command
//! line (`--max-input-bytes`), because every reader of every command obeys the same one.

use std::fs::File;
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an input could not be read: `path: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file, as it was given.
    pub path: String,
    /// What went wrong, starting "cannot read ...".
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for InputError {}

impl From<InputError> for String {
    fn from(e: InputError) -> String {
        e.to_string()
    }
}

fn error(path: &Path, message: String) -> InputError {
    InputError {
        path: path.display().to_string(),
        message,
    }
}

/// The default cap on an input file, and on one line of a file read line by line: 256 MiB.
pub const INPUT_BYTES_MAX_DEFAULT: u64 = 256 << 20;

static INPUT_BYTES_MAX: AtomicU64 = AtomicU64::new(INPUT_BYTES_MAX_DEFAULT);

/// Sets the cap every later read obeys (`--max-input-bytes`).
pub fn set_input_bytes_max(bytes: u64) {
    assert!(bytes > 0, "an input cap of 0 bytes refuses every file");
    INPUT_BYTES_MAX.store(bytes, Ordering::Relaxed);
}

/// The cap reads obey now.
pub fn input_bytes_max() -> u64 {
    INPUT_BYTES_MAX.load(Ordering::Relaxed)
}

/// Opens `path` for reading if it is a regular file (symbolic links followed) within the
/// cap; `what` names the input in messages ("the history"). A message starts with the path.
pub fn open(path: &Path, what: &str) -> Result<(File, u64), InputError> {
    let file = open_stream(path, what)?;
    let len = file
        .metadata()
        .map_err(|e| error(path, format!("cannot read {what}: {e}")))?
        .len();
    let cap = input_bytes_max();
    if len > cap {
        return Err(too_large(path, what, &format!("{len} bytes,"), cap));
    }
    Ok((file, len))
}

/// Opens `path` for reading line by line, if it is a regular file, whatever its size: a
/// reader of a stream caps each line instead ([`read_line_capped`]).
pub fn open_stream(path: &Path, what: &str) -> Result<File, InputError> {
    let fail = |message: String| error(path, format!("cannot read {what}: {message}"));
    let kind = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .file_type();
    if kind.is_dir() {
        return Err(fail("it is a directory".into()));
    }
    if !kind.is_file() {
        return Err(fail(
            "not a regular file (a device, a FIFO or a socket)".into(),
        ));
    }
    File::open(path).map_err(|e| fail(e.to_string()))
}

/// The whole of `path`, as [`open`] allows it. A file that grows past the cap while it is
/// read is refused too.
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>, InputError> {
    let (file, len) = open(path, what)?;
    let cap = input_bytes_max();
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| error(path, format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(path, what, "it grew, while being read,", cap));
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text; bytes that are not UTF-8 are an error naming their offset.
pub fn read_to_string(path: &Path, what: &str) -> Result<String, InputError> {
    let bytes = read(path, what)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        error(
            path,
            format!("cannot read {what}: not UTF-8 text (byte {offset})"),
        )
    })
}

/// Reads one line (its `\n` included) into `line`, as `BufRead::read_line` does, but refuses
/// a line longer than the cap instead of growing without end. Returns the bytes read; 0 at
/// the end of the input.
pub fn read_line_capped(reader: &mut impl BufRead, line: &mut String) -> Result<usize, String> {
    read_line_within(reader, line, input_bytes_max())
}

/// [`read_line_capped`] with a cap of its own.
pub fn read_line_within(
    reader: &mut impl BufRead,
    line: &mut String,
    cap: u64,
) -> Result<usize, String> {
    let read = reader
        .take(cap.saturating_add(1))
        .read_line(line)
        .map_err(|e| e.to_string())?;
    if read as u64 > cap && !line.ends_with('\n') {
        return Err(format!(
            "a line longer than {cap} bytes (raise the limit with --max-input-bytes)"
        ));
    }
    Ok(read)
}

fn too_large(path: &Path, what: &str, size: &str, cap: u64) -> InputError {
    let message = format!(
        "cannot read {what}: {size} more than the limit of {cap} bytes (raise it with \
         --max-input-bytes)"
    );
    error(path, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("history-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn devices_and_directories_are_refused_before_any_read() {
        let e = read(Path::new("/dev/zero"), "the history")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read(&std::env::temp_dir(), "the history")
            .unwrap_err()
            .to_string();
        assert!(e.contains("it is a directory"), "{e}");
        let e = read(Path::new("/no/such/file"), "the history")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/no/such/file: cannot read the history"),
            "{e}"
        );
    }

    #[test]
    fn a_regular_file_reads_whole_and_invalid_utf8_is_named() {
        let path = temp("ok.txt", b"hello\n");
        assert_eq!(read(&path, "x").unwrap(), b"hello\n");
        assert_eq!(read_to_string(&path, "x").unwrap(), "hello\n");
        let bad = temp("bad.txt", b"ab\xffcd");
        let e = read_to_string(&bad, "the history").unwrap_err().to_string();
        assert!(e.ends_with("not UTF-8 text (byte 2)"), "{e}");
    }

    #[test]
    fn a_line_within_the_cap_reads_and_one_without_an_end_is_refused() {
        let mut reader = std::io::Cursor::new(b"one\ntwo".to_vec());
        let mut line = String::new();
        assert_eq!(read_line_capped(&mut reader, &mut line).unwrap(), 4);
        assert_eq!(line, "one\n");
        line.clear();
        assert_eq!(read_line_capped(&mut reader, &mut line).unwrap(), 3);
        line.clear();
        assert_eq!(read_line_capped(&mut reader, &mut line).unwrap(), 0);
        // /dev/zero as a stream: one endless line, cut at the cap.
        let mut endless = std::io::BufReader::new(std::io::repeat(b'a'));
        let e = read_line_within(&mut endless, &mut line, 1000).unwrap_err();
        assert!(e.starts_with("a line longer than 1000 bytes"), "{e}");
        assert_eq!(
            line.len(),
            1001,
            "no more than the cap and one byte is read"
        );
        let mut exact = std::io::Cursor::new(vec![b'a'; 1000]);
        line.clear();
        assert_eq!(read_line_within(&mut exact, &mut line, 1000).unwrap(), 1000);
    }
}
