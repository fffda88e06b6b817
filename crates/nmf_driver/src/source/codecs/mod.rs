//! CPython's codecs for source files other than UTF-8, Latin-1 and ASCII, decoding exactly as
//! CPython decodes: the tables are generated from CPython's own codecs by
//! `scripts/gen_codecs.py`, and the Python test suite compares both byte for byte. (Decoders
//! written for the web differ: WHATWG's windows-1252 decodes 0x81, which CPython's cp1252
//! refuses; its Shift_JIS is Microsoft's cp932.)

#[rustfmt::skip]
mod generated;

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// The tables, little-endian u16 entries (layout in `scripts/gen_codecs.py`).
static TABLES: &[u8] = include_bytes!("tables.bin");

const INVALID: u16 = 0xFFFF;
const LEAD: u16 = 0xFFFE;
/// The second (and third) bytes of multi-byte sequences that the tables cover.
const FIRST_TRAIL: u8 = 0x40;
const TRAIL_COUNT: usize = 0x100 - FIRST_TRAIL as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodecKind {
    SingleByte,
    MultiByte,
}

/// A codec: its CPython name and where its table is.
#[derive(Debug, PartialEq, Eq)]
pub struct Codec {
    pub name: &'static str,
    pub(crate) kind: CodecKind,
    /// The first entry of its table in [`TABLES`], in u16 entries.
    pub(crate) start: usize,
    pub(crate) len: usize,
}

/// Why bytes did not decode, as CPython's `UnicodeDecodeError` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The name CPython's message gives the codec (`charmap` for single-byte codecs).
    pub codec: &'static str,
    pub position: usize,
    pub byte: u8,
    pub reason: &'static str,
}

/// The codec CPython finds for an encoding name, among those nmf decodes with tables.
/// `name` is normalised as `encodings.normalize_encoding` does.
pub fn lookup(name: &str) -> Option<&'static Codec> {
    let normalized = normalize(name);
    let dotless = normalized.replace('.', "_");
    [normalized.as_str(), dotless.as_str()]
        .into_iter()
        .find_map(|candidate| {
            let canonical = generated::ALIASES
                .iter()
                .find(|(alias, _)| *alias == candidate)
                .map_or(candidate, |(_, codec)| codec);
            generated::CODECS
                .iter()
                .find(|codec| codec.name == canonical)
        })
}

/// `encodings.normalize_encoding` followed by lower-casing, as `encodings.search_function`
/// looks names up: runs of characters other than letters, digits and `.` become one `_`.
fn normalize(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut pending_underscore = false;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if pending_underscore && !normalized.is_empty() {
                normalized.push('_');
            }
            pending_underscore = false;
            normalized.push(c.to_ascii_lowercase());
        } else {
            pending_underscore = true;
        }
    }
    normalized
}

impl Codec {
    fn entry(&self, index: usize) -> u16 {
        let at = (self.start + index) * 2;
        match TABLES.get(at..at + 2) {
            Some(pair) => u16::from_le_bytes([pair[0], pair[1]]),
            None => INVALID,
        }
    }

    /// Decodes `bytes` as CPython's codec of this name does with `errors="strict"`; with
    /// `offsets`, also records where each character starts in `bytes`.
    pub fn decode(
        &'static self,
        bytes: &[u8],
        mut offsets: Option<&mut Vec<usize>>,
    ) -> Result<String, DecodeError> {
        let mut text = String::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            let (c, length) = match self.kind {
                CodecKind::SingleByte => (self.single(bytes, index)?, 1),
                CodecKind::MultiByte => self.multi(bytes, index)?,
            };
            if let Some(offsets) = offsets.as_deref_mut() {
                offsets.push(index);
            }
            text.push(c);
            index += length;
        }
        Ok(text)
    }

    fn single(&'static self, bytes: &[u8], index: usize) -> Result<char, DecodeError> {
        let byte = bytes[index];
        match self.entry(usize::from(byte)) {
            INVALID => Err(DecodeError {
                codec: "charmap",
                position: index,
                byte,
                reason: "character maps to <undefined>",
            }),
            value => Ok(char::from_u32(u32::from(value)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    fn multi(&'static self, bytes: &[u8], index: usize) -> Result<(char, usize), DecodeError> {
        let error = |reason| DecodeError {
            codec: self.name,
            position: index,
            byte: bytes[index],
            reason,
        };
        let illegal = || error("illegal multibyte sequence");
        let incomplete = || error("incomplete multibyte sequence");
        let character = |value: u32| char::from_u32(value).ok_or_else(illegal);
        let lead = bytes[index];
        let value = self.entry(usize::from(lead));
        if value == INVALID {
            return Err(illegal());
        }
        if value != LEAD {
            return Ok((character(u32::from(value))?, 1));
        }
        let Some(&second) = bytes.get(index + 1) else {
            return Err(incomplete());
        };
        if self.name == "gb18030" && second.is_ascii_digit() {
            let (Some(&third), Some(&fourth)) = (bytes.get(index + 2), bytes.get(index + 3)) else {
                return Err(incomplete());
            };
            return gb18030_four_bytes([lead, second, third, fourth])
                .map(|c| (c, 4))
                .ok_or_else(illegal);
        }
        let nodes = self.nodes();
        let Some(row) = nodes.second[usize::from(lead)] else {
            return Err(illegal());
        };
        let value = trail_entry(self, row, second).ok_or_else(illegal)?;
        if value != LEAD {
            return Ok((character(u32::from(value))?, 2));
        }
        let Some(&third) = bytes.get(index + 2) else {
            return Err(incomplete());
        };
        let row = nodes
            .third
            .get(&(lead, second))
            .copied()
            .ok_or_else(illegal)?;
        let value = trail_entry(self, row, third).ok_or_else(illegal)?;
        if value == LEAD {
            return Err(illegal());
        }
        Ok((character(u32::from(value))?, 3))
    }

    /// Where the rows of a multi-byte codec's table start, computed once.
    fn nodes(&'static self) -> &'static Nodes {
        static NODES: OnceLock<FxHashMap<&'static str, Nodes>> = OnceLock::new();
        let all = NODES.get_or_init(|| {
            generated::CODECS
                .iter()
                .filter(|codec| codec.kind == CodecKind::MultiByte)
                .map(|codec| (codec.name, Nodes::of(codec)))
                .collect()
        });
        all.get(self.name).unwrap_or_else(|| {
            static EMPTY: OnceLock<Nodes> = OnceLock::new();
            EMPTY.get_or_init(Nodes::default)
        })
    }

    /// Encodes text as this codec; `None` when a character has no encoding. Used for text a
    /// fix inserts; text a fix keeps is copied from the file's own bytes (see
    /// [`crate::source::encode_source`]), since some multi-byte codecs decode two sequences
    /// to the same character.
    pub fn encode(&'static self, text: &str) -> Option<Vec<u8>> {
        static ENCODERS: OnceLock<FxHashMap<&'static str, FxHashMap<char, Vec<u8>>>> =
            OnceLock::new();
        let all = ENCODERS.get_or_init(|| {
            generated::CODECS
                .iter()
                .map(|codec| (codec.name, codec.reverse()))
                .collect()
        });
        let reverse = all.get(self.name)?;
        let mut bytes = Vec::with_capacity(text.len());
        for c in text.chars() {
            bytes.extend_from_slice(reverse.get(&c)?);
        }
        Some(bytes)
    }

    /// Each character's shortest byte sequence (the first one, for characters two sequences
    /// decode to).
    fn reverse(&'static self) -> FxHashMap<char, Vec<u8>> {
        let mut reverse: FxHashMap<char, Vec<u8>> = FxHashMap::default();
        let mut add = |c: Option<char>, bytes: Vec<u8>| {
            if let Some(c) = c {
                reverse.entry(c).or_insert(bytes);
            }
        };
        let as_char = |value: u16| char::from_u32(u32::from(value));
        for byte in 0..=255u8 {
            let value = self.entry(usize::from(byte));
            if value != INVALID && value != LEAD {
                add(as_char(value), vec![byte]);
            }
        }
        if self.kind == CodecKind::MultiByte {
            let nodes = self.nodes();
            for lead in 0..=255u8 {
                let Some(row) = nodes.second[usize::from(lead)] else {
                    continue;
                };
                for second in FIRST_TRAIL..=255 {
                    match trail_entry(self, row, second) {
                        Some(LEAD) => {
                            let Some(&row) = nodes.third.get(&(lead, second)) else {
                                continue;
                            };
                            for third in FIRST_TRAIL..=255 {
                                if let Some(value) = trail_entry(self, row, third) {
                                    add(as_char(value), vec![lead, second, third]);
                                }
                            }
                        }
                        Some(value) => add(as_char(value), vec![lead, second]),
                        None => {}
                    }
                }
            }
        }
        reverse
    }
}

/// The entry for `trail` in the row that starts at `row`; `None` when invalid.
fn trail_entry(codec: &Codec, row: usize, trail: u8) -> Option<u16> {
    let offset = usize::from(trail.checked_sub(FIRST_TRAIL)?);
    Some(codec.entry(row + offset)).filter(|value| *value != INVALID)
}

/// Where each row of a multi-byte table starts (in entries from the codec's start).
#[derive(Default)]
struct Nodes {
    second: Vec<Option<usize>>,
    third: FxHashMap<(u8, u8), usize>,
}

impl Nodes {
    fn of(codec: &Codec) -> Self {
        let mut next = 256;
        let mut second = vec![None; 256];
        let mut leads = Vec::new();
        for lead in 0..=255u8 {
            if codec.entry(usize::from(lead)) == LEAD {
                second[usize::from(lead)] = Some(next);
                leads.push((lead, next));
                next += TRAIL_COUNT;
            }
        }
        let mut third = FxHashMap::default();
        for (lead, row) in leads {
            for trail in FIRST_TRAIL..=255 {
                if trail_entry(codec, row, trail) == Some(LEAD) {
                    third.insert((lead, trail), next);
                    next += TRAIL_COUNT;
                }
            }
        }
        debug_assert_eq!(next, codec.len, "{}", codec.name);
        Self { second, third }
    }
}

/// A four-byte GB18030 sequence: the Basic Multilingual Plane through CPython's ranges, the
/// other planes by arithmetic from U+10000.
fn gb18030_four_bytes([b1, b2, b3, b4]: [u8; 4]) -> Option<char> {
    let in_range = |byte: u8, low: u8, high: u8| (low..=high).contains(&byte);
    if !(in_range(b1, 0x81, 0xFE)
        && b2.is_ascii_digit()
        && in_range(b3, 0x81, 0xFE)
        && b4.is_ascii_digit())
    {
        return None;
    }
    let index = ((u32::from(b1 - 0x81) * 10 + u32::from(b2 - 0x30)) * 126 + u32::from(b3 - 0x81))
        * 10
        + u32::from(b4 - 0x30);
    const SUPPLEMENTARY: u32 = 189_000;
    if index >= SUPPLEMENTARY {
        return char::from_u32(0x10000 + index - SUPPLEMENTARY)
            .filter(|c| u32::from(*c) <= 0x10FFFF);
    }
    let position = generated::GB18030_RANGES.partition_point(|(start, _, _)| *start <= index);
    let (start, point, length) = *generated::GB18030_RANGES.get(position.checked_sub(1)?)?;
    (index < start + length)
        .then(|| char::from_u32(point + index - start))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(name: &str, bytes: &[u8]) -> Result<String, DecodeError> {
        lookup(name).expect("a known codec").decode(bytes, None)
    }

    #[test]
    fn names_are_found_as_cpython_finds_them() {
        for (name, codec) in [
            ("cp1252", "cp1252"),
            ("windows-1252", "cp1252"),
            ("Windows_1252", "cp1252"),
            ("sjis", "shift_jis"),
            ("Shift-JIS", "shift_jis"),
            ("euc-jp", "euc_jp"),
            ("GB2312", "gb2312"),
            ("cp936", "gbk"),
            ("koi8-r", "koi8_r"),
            ("iso-8859-15", "iso8859_15"),
            ("latin9", "iso8859_15"),
            ("big5-tw", "big5"),
            ("ms932", "cp932"),
        ] {
            assert_eq!(lookup(name).map(|c| c.name), Some(codec), "{name}");
        }
        assert!(lookup("klingon").is_none());
        assert!(lookup("utf-16").is_none());
    }

    #[test]
    fn bytes_where_web_decoders_differ_from_cpython_follow_cpython() {
        // WHATWG windows-1252 decodes these five bytes to C1 controls; CPython refuses them.
        for byte in [0x81, 0x8D, 0x8F, 0x90, 0x9D] {
            let error = decode("cp1252", &[b'a', byte]).expect_err("undefined in cp1252");
            assert_eq!(
                (error.codec, error.position, error.byte),
                ("charmap", 1, byte)
            );
            assert_eq!(error.reason, "character maps to <undefined>");
        }
        assert_eq!(
            decode("cp1252", b"\x80\x9f").as_deref(),
            Ok("\u{20ac}\u{178}")
        );
        // WHATWG's iso-8859-9 is windows-1254; CPython's maps 0x80..0x9f to C1 controls.
        assert_eq!(decode("iso8859_9", b"\x80").as_deref(), Ok("\u{80}"));
        assert_eq!(decode("cp1254", b"\x80").as_deref(), Ok("\u{20ac}"));
        // CPython's shift_jis is JIS X 0208: 0x8160 is the wave dash, where cp932 (which is
        // WHATWG's Shift_JIS) gives the fullwidth tilde, and NEC's row 13 does not exist.
        assert_eq!(decode("shift_jis", b"\x81\x60").as_deref(), Ok("\u{301c}"));
        assert_eq!(decode("cp932", b"\x81\x60").as_deref(), Ok("\u{ff5e}"));
        assert!(decode("shift_jis", b"\x87\x40").is_err());
        assert_eq!(decode("cp932", b"\x87\x40").as_deref(), Ok("\u{2460}"));
        // WHATWG's gbk decodes 0x80 to the euro sign; CPython's gbk refuses it.
        assert!(decode("gbk", b"\x80").is_err());
    }

    #[test]
    fn multi_byte_sequences_decode_and_errors_say_where() {
        assert_eq!(
            decode("shift_jis", b"x = '\x93\xfa\x96\x7b'").as_deref(),
            Ok("x = '日本'")
        );
        assert_eq!(decode("euc_jp", b"\xc6\xfc").as_deref(), Ok("日"));
        // JIS X 0212, three bytes.
        assert_eq!(decode("euc_jp", b"\x8f\xb0\xa1").as_deref(), Ok("丂"));
        assert_eq!(decode("gbk", b"\xd6\xd0").as_deref(), Ok("中"));
        assert_eq!(decode("big5", b"\xa4\xa4").as_deref(), Ok("中"));
        assert_eq!(decode("euc_kr", b"\xc7\xd1").as_deref(), Ok("한"));
        let truncated = decode("shift_jis", b"a\x81").expect_err("incomplete");
        assert_eq!(
            (truncated.position, truncated.reason),
            (1, "incomplete multibyte sequence")
        );
        let illegal = decode("shift_jis", b"a\x81\x20").expect_err("illegal");
        assert_eq!(illegal.reason, "illegal multibyte sequence");
    }

    #[test]
    fn gb18030_four_byte_sequences_cover_every_plane() {
        assert_eq!(
            decode("gb18030", b"\x81\x30\x81\x30").as_deref(),
            Ok("\u{80}")
        );
        assert_eq!(
            decode("gb18030", b"\x84\x31\xa4\x39").as_deref(),
            Ok("\u{ffff}")
        );
        assert_eq!(
            decode("gb18030", b"\x90\x30\x81\x30").as_deref(),
            Ok("\u{10000}")
        );
        assert_eq!(
            decode("gb18030", b"\xe3\x32\x9a\x35").as_deref(),
            Ok("\u{10ffff}")
        );
        assert!(decode("gb18030", b"\xe3\x32\x9a\x36").is_err());
        assert!(decode("gb18030", b"\x81\x30\x81").is_err());
    }

    #[test]
    fn encoding_inverts_decoding() {
        for (name, text) in [
            ("cp1252", "é €"),
            ("shift_jis", "日本 ｱ"),
            ("euc_jp", "丂日"),
            ("gb18030", "中"),
        ] {
            let codec = lookup(name).expect("known");
            let bytes = codec.encode(text).expect("encodable");
            assert_eq!(codec.decode(&bytes, None).as_deref(), Ok(text), "{name}");
        }
        assert!(lookup("cp1252").expect("known").encode("日").is_none());
    }
}
