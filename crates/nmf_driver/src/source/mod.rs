//! Reading a Python file as CPython would: BOM, PEP 263 coding declarations, and the errors a
//! file can have before it is parsed (unreadable, undecodable, a NUL byte).
//!
//! nmf decodes UTF-8 (the default), Latin-1, ASCII and the other codecs real source files
//! declare (the Windows code pages, ISO-8859, KOI8, Shift-JIS, EUC, GBK/GB18030, Big5, ...)
//! exactly as CPython's codecs do; a file that declares an encoding CPython does not know, or
//! one CPython cannot read source in (UTF-16, UTF-32), is reported, not guessed at. The
//! decoded text keeps its line endings, so offsets, lines and columns are those of the file,
//! and a fix can be written back in the file's own encoding, BOM included, changing no byte
//! the fix does not change.

pub mod codecs;
pub mod fingerprint;
pub mod kind;
pub mod leftovers;
pub(crate) mod magics;
pub mod nesting;
pub mod notebook;
pub mod parse;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::bytes::Regex;

use self::codecs::Codec;
use crate::source::fingerprint::{Fingerprint, now_nanos};

/// The encodings nmf reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEncoding {
    Utf8,
    Latin1,
    Ascii,
    /// One of CPython's other codecs, decoded from tables of CPython's own.
    Codec(&'static Codec),
}

impl SourceEncoding {
    fn python_name(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "utf-8",
            SourceEncoding::Latin1 => "latin-1",
            SourceEncoding::Ascii => "ascii",
            SourceEncoding::Codec(codec) => codec.name,
        }
    }
}

/// A decoded source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// The text without the BOM, line endings as in the file; shared with the project index,
    /// which searches the project's files by word.
    pub text: Arc<String>,
    pub encoding: SourceEncoding,
    pub has_bom: bool,
    /// What the file was when it was read; `None` for standard input.
    pub stamp: Option<FileStamp>,
    /// The same, with a hash of its bytes, for the cache.
    pub fingerprint: Option<Fingerprint>,
    /// The file's bytes, for an encoding where writing a fix back must copy the bytes of the
    /// text it keeps (two byte sequences of some codecs decode to the same character).
    pub raw: Option<Vec<u8>>,
}

/// Files larger than this are not read (E902): no Python source is this big, and reading a
/// generated blob or a device without a limit would exhaust memory.
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// What a file was when nmf read it: which file (device and inode), its size and modification
/// time, so that `--fix` can tell whether it is still the same file, unchanged, before it is
/// replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub device: u64,
    pub inode: u64,
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        Self {
            device,
            inode,
            len: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

/// Why a file could not be turned into source text: flake8's E902.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The Python exception a user would see for the same file, e.g. `UnicodeDecodeError`.
    pub kind: &'static str,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl SourceError {
    pub fn from_io(error: &io::Error) -> Self {
        let kind = match error.kind() {
            io::ErrorKind::NotFound => "FileNotFoundError",
            io::ErrorKind::PermissionDenied => "PermissionError",
            io::ErrorKind::IsADirectory => "IsADirectoryError",
            _ => "OSError",
        };
        Self {
            kind,
            message: error.to_string(),
        }
    }
}

/// Reads and decodes a file.
pub fn read_source(path: &Path) -> Result<SourceText, SourceError> {
    let file = read_regular_file(path)?;
    let mut source = decode_source(file.bytes)?;
    source.stamp = Some(file.stamp);
    source.fingerprint = Some(file.fingerprint);
    Ok(source)
}

/// The bytes of a regular file (a link is followed), at most [`MAX_FILE_SIZE`] of them. Anything
/// else named `*.py` — a folder, a FIFO, a socket, a device — is refused before it is read, so
/// that nothing blocks on a pipe or reads `/dev/zero` forever.
pub fn read_regular_file(path: &Path) -> Result<RegularFile, SourceError> {
    use std::io::Read;
    let read_at = now_nanos();
    let io_error = |error: io::Error| SourceError::from_io(&error);
    require_regular(&std::fs::metadata(path).map_err(io_error)?)?;
    let file = open_without_blocking(path).map_err(io_error)?;
    // The file that was opened, whatever the path names by now.
    let metadata = file.metadata().map_err(io_error)?;
    require_regular(&metadata)?;
    let too_large = || SourceError {
        kind: "OSError",
        message: format!(
            "the file is larger than {} MiB, which nmf does not read",
            MAX_FILE_SIZE >> 20
        ),
    };
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_large());
    }
    let capacity = usize::try_from(metadata.len()).unwrap_or_default();
    let mut bytes = Vec::with_capacity(capacity.saturating_add(1));
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large());
    }
    Ok(RegularFile {
        fingerprint: Fingerprint::new(&metadata, &bytes, read_at),
        stamp: FileStamp::of(&metadata),
        bytes,
    })
}

/// A regular file's bytes, and what it was when read.
pub struct RegularFile {
    pub bytes: Vec<u8>,
    pub stamp: FileStamp,
    pub fingerprint: Fingerprint,
}

/// Refuses what is not a regular file, naming what it is.
fn require_regular(metadata: &std::fs::Metadata) -> Result<(), SourceError> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    if file_type.is_dir() {
        return Err(SourceError {
            kind: "IsADirectoryError",
            message: "is a directory".to_string(),
        });
    }
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            "a FIFO (named pipe)"
        } else if file_type.is_socket() {
            "a socket"
        } else if file_type.is_char_device() {
            "a character device"
        } else if file_type.is_block_device() {
            "a block device"
        } else {
            "not a file"
        }
    };
    #[cfg(not(unix))]
    let what = "not a file";
    Err(SourceError {
        kind: "OSError",
        message: format!("not a regular file: {what}; only regular files are read"),
    })
}

/// Opens for reading without waiting for a writer, should the path have become a FIFO since
/// it was looked at.
fn open_without_blocking(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    options.open(path)
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// `tokenize.cookie_re`: a comment line holding `coding[:=]` and an encoding name.
static CODING_COOKIE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)^[ \t\x0c]*#.*?coding[:=][ \t]*([-\w.]+)").expect("the pattern is valid")
});

/// `tokenize.blank_re`: a line that is blank or only a comment, after which line 2 may still
/// declare the encoding.
static BLANK_OR_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)^[ \t\x0c]*(?:[#\r\n]|$)").expect("the pattern is valid"));

/// Decodes file content the way `tokenize.detect_encoding` and CPython do.
pub fn decode_source(mut bytes: Vec<u8>) -> Result<SourceText, SourceError> {
    if let Some(bom) = wide_bom(&bytes) {
        return Err(SourceError {
            kind: "SyntaxError",
            message: format!(
                "the file starts with a {bom} byte-order mark: CPython does not read source \
                 files in {bom}; re-encode it as UTF-8"
            ),
        });
    }
    let has_bom = bytes.starts_with(UTF8_BOM);
    if has_bom {
        bytes.drain(..UTF8_BOM.len());
    }
    let declared = declared_encoding(&bytes)?;
    let encoding = match declared {
        None => SourceEncoding::Utf8,
        Some((name, line)) => {
            let encoding = lookup_encoding(&name).ok_or_else(|| {
                if is_wide_unicode(&name) {
                    // CPython reads the declaration as ASCII, which UTF-16 and UTF-32 are not.
                    SourceError {
                        kind: "SyntaxError",
                        message: format!("encoding problem: {name}"),
                    }
                } else {
                    SourceError {
                        kind: "LookupError",
                        message: format!(
                            "line {line} declares the encoding '{name}', which neither CPython \
                             nor nmf knows"
                        ),
                    }
                }
            })?;
            if has_bom && encoding != SourceEncoding::Utf8 {
                return Err(SourceError {
                    kind: "SyntaxError",
                    message: format!("encoding problem: '{name}' with a UTF-8 BOM"),
                });
            }
            encoding
        }
    };
    if let Some(position) = memchr::memchr(0, &bytes) {
        return Err(SourceError {
            kind: "SyntaxError",
            message: format!(
                "source code cannot contain null bytes (line {})",
                line_of(&bytes, position)
            ),
        });
    }
    let mut raw = None;
    let text = match encoding {
        SourceEncoding::Codec(codec) => {
            let text = codec.decode(&bytes, None).map_err(|error| {
                let message = format!(
                    "'{}' codec can't decode byte {:#04x} in position {}: {} (line {})",
                    error.codec,
                    error.byte,
                    error.position + if has_bom { UTF8_BOM.len() } else { 0 },
                    error.reason,
                    line_of(&bytes, error.position)
                );
                SourceError {
                    kind: "UnicodeDecodeError",
                    message,
                }
            })?;
            raw = Some(bytes);
            text
        }
        SourceEncoding::Utf8 => String::from_utf8(bytes).map_err(|error| {
            let utf8 = error.utf8_error();
            let bytes = error.as_bytes();
            let position = utf8.valid_up_to();
            let byte = bytes.get(position).copied().unwrap_or_default();
            let reason = match utf8.error_len() {
                None => "unexpected end of data",
                Some(_)
                    if (0x80..=0xbf).contains(&byte)
                        || byte >= 0xf5
                        || byte == 0xc0
                        || byte == 0xc1 =>
                {
                    "invalid start byte"
                }
                Some(_) => "invalid continuation byte",
            };
            undecodable(encoding, byte, position, reason, bytes, has_bom)
        })?,
        SourceEncoding::Latin1 => bytes.iter().map(|&byte| char::from(byte)).collect(),
        SourceEncoding::Ascii => match bytes.iter().position(|byte| !byte.is_ascii()) {
            Some(position) => {
                return Err(undecodable(
                    encoding,
                    bytes[position],
                    position,
                    "ordinal not in range(128)",
                    &bytes,
                    has_bom,
                ));
            }
            None => String::from_utf8(bytes).map_err(|_| SourceError {
                kind: "UnicodeDecodeError",
                message: "ASCII text failed to decode".to_string(),
            })?,
        },
    };
    Ok(SourceText {
        text: Arc::new(text),
        encoding,
        has_bom,
        stamp: None,
        fingerprint: None,
        raw,
    })
}

/// Encodes text back into the file's encoding, BOM included, for writing a fix.
pub fn encode_source(source: &SourceText, text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if source.has_bom {
        bytes.extend_from_slice(UTF8_BOM);
    }
    match source.encoding {
        SourceEncoding::Utf8 => bytes.extend_from_slice(text.as_bytes()),
        SourceEncoding::Latin1 => {
            for c in text.chars() {
                bytes.push(u8::try_from(u32::from(c)).ok()?);
            }
        }
        SourceEncoding::Ascii => {
            if !text.is_ascii() {
                return None;
            }
            bytes.extend_from_slice(text.as_bytes());
        }
        SourceEncoding::Codec(codec) => bytes.extend(encode_keeping_bytes(source, codec, text)?),
    }
    Some(bytes)
}

/// Encodes `text`, a fixed version of `source.text`: the characters it keeps are copied from
/// the file's own bytes, only what changed is encoded anew. (Some codecs decode two byte
/// sequences to one character: re-encoding everything could change bytes no fix touched.)
fn encode_keeping_bytes(source: &SourceText, codec: &'static Codec, text: &str) -> Option<Vec<u8>> {
    let raw = source.raw.as_deref()?;
    let mut starts = Vec::new();
    codec.decode(raw, Some(&mut starts)).ok()?;
    starts.push(raw.len());
    let old: Vec<char> = source.text.chars().collect();
    let new: Vec<char> = text.chars().collect();
    let mut bytes = Vec::with_capacity(raw.len());
    for operation in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
        match operation {
            similar::DiffOp::Equal { old_index, len, .. } => {
                bytes.extend_from_slice(raw.get(starts[old_index]..starts[old_index + len])?);
            }
            similar::DiffOp::Delete { .. } => {}
            similar::DiffOp::Insert {
                new_index, new_len, ..
            }
            | similar::DiffOp::Replace {
                new_index, new_len, ..
            } => {
                let inserted: String = new[new_index..new_index + new_len].iter().collect();
                bytes.extend(codec.encode(&inserted)?);
            }
        }
    }
    Some(bytes)
}

/// A UTF-16 or UTF-32 byte-order mark at the start of `bytes`.
fn wide_bom(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x00\x00\xfe\xff") || bytes.starts_with(b"\xff\xfe\x00\x00") {
        Some("UTF-32")
    } else if bytes.starts_with(b"\xfe\xff") || bytes.starts_with(b"\xff\xfe") {
        Some("UTF-16")
    } else {
        None
    }
}

/// `utf-16`, `UTF_32LE` and their kin, which CPython refuses as source encodings.
fn is_wide_unicode(name: &str) -> bool {
    let normalized: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    normalized.starts_with("utf16")
        || normalized.starts_with("utf32")
        || normalized.starts_with("ucs2")
        || normalized.starts_with("ucs4")
}

fn undecodable(
    encoding: SourceEncoding,
    byte: u8,
    position: usize,
    reason: &str,
    bytes: &[u8],
    has_bom: bool,
) -> SourceError {
    // Python counts positions in the file, BOM included.
    let file_position = position + if has_bom { UTF8_BOM.len() } else { 0 };
    SourceError {
        kind: "UnicodeDecodeError",
        message: format!(
            "'{}' codec can't decode byte {byte:#04x} in position {file_position}: {reason} (line {})",
            encoding.python_name(),
            line_of(bytes, position)
        ),
    }
}

fn line_of(bytes: &[u8], position: usize) -> usize {
    let before = &bytes[..position.min(bytes.len())];
    // Python counts `\r\n`, `\r` and `\n` as line ends.
    let mut line = 1;
    let mut index = 0;
    while index < before.len() {
        match before[index] {
            b'\n' => line += 1,
            b'\r' => {
                line += 1;
                if before.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
            }
            _ => {}
        }
        index += 1;
    }
    line
}

/// The encoding a coding comment on line 1 or 2 declares, with its line number.
fn declared_encoding(bytes: &[u8]) -> Result<Option<(String, usize)>, SourceError> {
    let mut lines = bytes.split_inclusive(|&byte| byte == b'\n');
    for line_number in 1..=2 {
        let Some(line) = lines.next() else {
            return Ok(None);
        };
        if let Some(captures) = CODING_COOKIE.captures(line) {
            let name = captures.get(1).map_or(&b""[..], |name| name.as_bytes());
            return Ok(Some((
                String::from_utf8_lossy(name).into_owned(),
                line_number,
            )));
        }
        if !BLANK_OR_COMMENT.is_match(line) {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Python's codec lookup for the encodings nmf reads: names are case-insensitive and `-`,
/// `_` and blanks are interchangeable; `utf-8-*` and `latin-1-*` variants count as their base
/// (`tokenize._get_normal_name`); the other codecs by CPython's names and aliases.
fn lookup_encoding(name: &str) -> Option<SourceEncoding> {
    lookup_builtin_encoding(name).or_else(|| codecs::lookup(name).map(SourceEncoding::Codec))
}

fn lookup_builtin_encoding(name: &str) -> Option<SourceEncoding> {
    let normalized: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect();
    let base = |prefix: &str| normalized == prefix || normalized.starts_with(&format!("{prefix}_"));
    if base("utf_8") {
        return Some(SourceEncoding::Utf8);
    }
    if base("latin_1") || base("iso_8859_1") || base("iso_latin_1") {
        return Some(SourceEncoding::Latin1);
    }
    match normalized.as_str() {
        "utf8" | "u8" | "utf" | "utf8_ucs2" | "utf8_ucs4" | "cp65001" => Some(SourceEncoding::Utf8),
        "latin1" | "latin" | "l1" | "iso8859_1" | "8859" | "cp819" | "iso_ir_100"
        | "csisolatin1" | "ibm819" => Some(SourceEncoding::Latin1),
        "ascii" | "us_ascii" | "646" | "us" | "ansi_x3.4_1968" | "ansi_x3_4_1968"
        | "ansi_x3.4_1986" | "cp367" | "csascii" | "ibm367" | "iso646_us" | "iso_646.irv_1991"
        | "iso_ir_6" => Some(SourceEncoding::Ascii),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<SourceText, SourceError> {
        decode_source(bytes.to_vec())
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let plain = decode(b"x = 1\n").expect("utf-8");
        assert_eq!(*plain.text, "x = 1\n");
        assert!(!plain.has_bom);
        let bom = decode(b"\xef\xbb\xbfx = '\xc3\xa9'\n").expect("utf-8 with BOM");
        assert_eq!(*bom.text, "x = '\u{e9}'\n");
        assert!(bom.has_bom);
        assert_eq!(
            encode_source(&bom, &bom.text).as_deref(),
            Some(&b"\xef\xbb\xbfx = '\xc3\xa9'\n"[..])
        );
    }

    #[test]
    fn latin1_declared_on_line_one_or_two() {
        let first = decode(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n").expect("latin-1");
        assert_eq!(first.encoding, SourceEncoding::Latin1);
        assert!(first.text.ends_with("x = '\u{e9}'\n"));
        assert_eq!(
            encode_source(&first, &first.text).as_deref(),
            Some(&b"# -*- coding: latin-1 -*-\nx = '\xe9'\n"[..])
        );
        let second =
            decode(b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-1 :\nx = '\xe9'\n")
                .expect("latin-1 on line 2");
        assert_eq!(second.encoding, SourceEncoding::Latin1);
        // Line 2 counts only after a blank or comment line 1.
        let ignored =
            decode(b"import os\n# coding: latin-1\nx = '\xe9'\n").expect_err("utf-8 applies");
        assert_eq!(ignored.kind, "UnicodeDecodeError");
    }

    #[test]
    fn errors_name_the_problem_and_the_line() {
        let invalid = decode(b"x = 1\ny = '\xff'\n").expect_err("invalid utf-8");
        assert_eq!(
            invalid.to_string(),
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 11: invalid start byte (line 2)"
        );
        let truncated = decode(b"x = '\xc3").expect_err("truncated utf-8");
        assert!(truncated.message.contains("unexpected end of data"));
        let nul = decode(b"x = 1\r\ny = 2\0\n").expect_err("NUL");
        assert_eq!(
            nul.to_string(),
            "SyntaxError: source code cannot contain null bytes (line 2)"
        );
        let unknown = decode(b"# coding: klingon\nx = 1\n").expect_err("unknown");
        assert_eq!(unknown.kind, "LookupError");
        assert_eq!(
            unknown.message,
            "line 1 declares the encoding 'klingon', which neither CPython nor nmf knows"
        );
        let ascii = decode(b"# coding: ascii\nx = '\xc3\xa9'\n").expect_err("not ascii");
        assert!(
            ascii
                .message
                .contains("'ascii' codec can't decode byte 0xc3")
        );
        let bom_conflict = decode(b"\xef\xbb\xbf# coding: latin-1\n").expect_err("BOM conflict");
        assert_eq!(bom_conflict.kind, "SyntaxError");
    }

    #[test]
    fn code_pages_and_multi_byte_codecs_decode_and_fixes_keep_their_bytes() {
        let source = decode(b"# -*- coding: cp1252 -*-\ns = '\x80\xe9'; model.forward(x)\n")
            .expect("cp1252");
        assert_eq!(
            *source.text,
            "# -*- coding: cp1252 -*-\ns = '\u{20ac}\u{e9}'; model.forward(x)\n"
        );
        let fixed = source.text.replace(".forward(", "(");
        assert_eq!(
            encode_source(&source, &fixed).as_deref(),
            Some(&b"# -*- coding: cp1252 -*-\ns = '\x80\xe9'; model(x)\n"[..])
        );
        let undefined = decode(b"# coding: cp1252\ns = '\x81'\n").expect_err("undefined byte");
        assert_eq!(
            undefined.to_string(),
            "UnicodeDecodeError: 'charmap' codec can't decode byte 0x81 in position 22: character maps to <undefined> (line 2)"
        );
        // cp932 decodes both 0x8790 and 0x81E0 to `≒`: the bytes of kept text are copied.
        let japanese =
            decode(b"# coding: cp932\n# \x87\x90 \x81\xe0\nm.forward(x)\n").expect("cp932");
        let fixed = japanese.text.replace(".forward(", "(");
        assert_eq!(
            encode_source(&japanese, &fixed).as_deref(),
            Some(&b"# coding: cp932\n# \x87\x90 \x81\xe0\nm(x)\n"[..])
        );
        let wide = decode(b"\xff\xfex\x00").expect_err("UTF-16");
        assert!(wide.message.contains("UTF-16 byte-order mark"), "{wide}");
        let declared = decode(b"# coding: utf-16\n").expect_err("UTF-16 declared");
        assert_eq!(
            declared.to_string(),
            "SyntaxError: encoding problem: utf-16"
        );
    }

    #[test]
    fn encoding_names_are_normalised_like_python() {
        for name in ["utf-8", "UTF8", "utf_8", "utf-8-unix", "u8"] {
            assert_eq!(lookup_encoding(name), Some(SourceEncoding::Utf8), "{name}");
        }
        for name in [
            "latin-1",
            "Latin1",
            "iso-8859-1",
            "ISO8859-1",
            "iso-latin-1-unix",
            "l1",
            "cp819",
        ] {
            assert_eq!(
                lookup_encoding(name),
                Some(SourceEncoding::Latin1),
                "{name}"
            );
        }
        for name in ["ascii", "us-ascii", "646"] {
            assert_eq!(lookup_encoding(name), Some(SourceEncoding::Ascii), "{name}");
        }
        assert_eq!(
            lookup_encoding("windows-1252").map(SourceEncoding::python_name),
            Some("cp1252")
        );
        assert_eq!(lookup_encoding("utf-16"), None);
    }
}
