//! Positions: the driver locates findings by line and UTF-8 byte column, LSP by line and code
//! units of the negotiated encoding (UTF-8 bytes, UTF-16 units or characters).
//!
//! One index per text converts both ways: the driver's own [`SourceLocator`] (ruff's line
//! index: lines end at `\n`, `\r\n` and `\r`), and the places of the characters that take
//! more bytes in UTF-8 than code units in the encoding. Each conversion is then a binary search, however long its line:
//! thousands of findings on one line cost no more than on as many lines.

use lsp_types::{Position, PositionEncodingKind, Range};
use nmf_linter::render::{Location, SourceLocator};
use ruff_text_size::{TextLen, TextRange, TextSize};

/// How LSP positions count the characters of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// UTF-8 when the client offers it (nothing to convert), else UTF-16, which every client
    /// supports; UTF-32 only for a client that offers nothing else.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Self {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            Self::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32)
            && !offered.contains(&PositionEncodingKind::UTF16)
        {
            Self::Utf32
        } else {
            Self::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Self::Utf8 => PositionEncodingKind::UTF8,
            Self::Utf16 => PositionEncodingKind::UTF16,
            Self::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn units(self, character: char) -> usize {
        match self {
            Self::Utf8 => character.len_utf8(),
            Self::Utf16 => character.len_utf16(),
            Self::Utf32 => 1,
        }
    }
}

/// A text's positions, indexed once for every conversion.
pub struct PositionIndex<'a> {
    text: &'a str,
    lines: SourceLocator<'a>,
    /// Each character with more bytes than code units, in order: where it ends, and how many
    /// more bytes than units it and every one before take. Empty for ASCII and for UTF-8.
    wide: Vec<(TextSize, u32)>,
    /// The bytes at the start that the driver does not see: the byte-order mark it strips
    /// when it decodes a file.
    hidden: TextSize,
}

impl<'a> PositionIndex<'a> {
    pub fn new(text: &'a str, encoding: Encoding) -> Self {
        let mut wide = Vec::new();
        if encoding != Encoding::Utf8 && !text.is_ascii() {
            let mut extra: u32 = 0;
            for (at, character) in text.char_indices() {
                let bytes = character.len_utf8();
                let units = encoding.units(character);
                if bytes > units {
                    extra += to_u32(bytes - units);
                    wide.push((text_size(at + bytes), extra));
                }
            }
        }
        Self {
            text,
            lines: SourceLocator::new(text),
            wide,
            hidden: TextSize::default(),
        }
    }

    /// The index of a file's text, whose byte-order mark (if any) the driver does not see: its
    /// locations on the first line start after it.
    pub fn of_file(text: &'a str, encoding: Encoding) -> Self {
        let mut index = Self::new(text, encoding);
        if text.starts_with('\u{feff}') {
            index.hidden = '\u{feff}'.text_len();
        }
        index
    }

    /// The extra bytes of the wide characters that end at or before `offset`.
    fn extra(&self, offset: TextSize) -> u32 {
        let after = self.wide.partition_point(|(end, _)| *end <= offset);
        after.checked_sub(1).map_or(0, |index| self.wide[index].1)
    }

    /// The code units from `start` to `end`, both character boundaries.
    fn units(&self, start: TextSize, end: TextSize) -> u32 {
        (end - start).to_u32() - (self.extra(end) - self.extra(start))
    }

    /// Where line `line` (0-based) starts, to where its content ends, before its line break.
    fn line_range(&self, line: usize) -> TextRange {
        self.lines.line_range(line + 1)
    }

    /// The position of a byte offset (a character boundary; past the end, the end).
    pub fn position(&self, offset: TextSize) -> Position {
        let mut offset = offset.min(self.text.text_len());
        while !self.text.is_char_boundary(offset.to_usize()) {
            offset -= TextSize::new(1);
        }
        let location = self.lines.location(offset);
        let start = offset - text_size(location.column.saturating_sub(1));
        Position::new(
            to_u32(location.line.saturating_sub(1)),
            self.units(start, offset),
        )
    }

    /// The byte offset of a driver location: a column past its line's end is the line's end,
    /// one inside a character that character's start.
    fn location_offset(&self, location: Location) -> TextSize {
        if location.line > self.lines.line_count() {
            return self.text.text_len();
        }
        let range = self.lines.line_range(location.line);
        let hidden = if location.line <= 1 {
            self.hidden
        } else {
            0.into()
        };
        let mut offset = self
            .lines
            .offset(location)
            .checked_add(hidden)
            .map_or(range.end(), |offset| {
                offset.clamp(range.start(), range.end())
            });
        while !self.text.is_char_boundary(offset.to_usize()) {
            offset -= TextSize::new(1);
        }
        offset
    }

    pub fn range(&self, start: Location, end: Location) -> Range {
        Range::new(
            self.position(self.location_offset(start)),
            self.position(self.location_offset(end)),
        )
    }

    /// The byte offset of an LSP position: past the end of its line, the line's end; past the
    /// last line, the end of the text; inside a character (half a surrogate pair), its end.
    pub fn offset(&self, position: Position) -> TextSize {
        let line = position.line as usize;
        if line >= self.lines.line_count() {
            return self.text.text_len();
        }
        let range = self.line_range(line);
        let wanted = position.character;
        let start = range.start();
        // The line's wide characters: between them, one byte is one unit.
        let first = self.wide.partition_point(|(end, _)| *end <= start);
        let last = self.wide.partition_point(|(end, _)| *end <= range.end());
        let on_line = &self.wide[first..last];
        let reached = on_line.partition_point(|(end, _)| self.units(start, *end) < wanted);
        let mut offset = match on_line.get(reached) {
            Some(&(end, _)) => {
                let width = self.text[TextRange::up_to(end)]
                    .chars()
                    .next_back()
                    .unwrap_or_default();
                let char_start = end - width.text_len();
                let before = self.units(start, char_start);
                if wanted <= before {
                    char_start - TextSize::new(before - wanted)
                } else {
                    end
                }
            }
            None => {
                let from = on_line.last().map_or(start, |(end, _)| *end);
                let more = wanted.saturating_sub(self.units(start, from));
                from.checked_add(TextSize::new(more))
                    .map_or(range.end(), |offset| offset.min(range.end()))
            }
        };
        // In UTF-8, a column may fall inside a character: its end.
        while !self.text.is_char_boundary(offset.to_usize()) {
            offset += TextSize::new(1);
        }
        offset
    }

    /// Where the text ends.
    pub fn end(&self) -> Position {
        self.position(self.text.text_len())
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn text_size(value: usize) -> TextSize {
    TextSize::new(to_u32(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(line: usize, column: usize) -> Location {
        Location { line, column }
    }

    #[test]
    fn positions_count_code_units_of_the_negotiated_encoding() {
        let text = "a\n\u{1F600}\u{e9}x\r\nlast";
        let at =
            |encoding| PositionIndex::new(text, encoding).range(location(2, 7), location(2, 7));
        assert_eq!(at(Encoding::Utf8).start, Position::new(1, 6));
        assert_eq!(at(Encoding::Utf16).start, Position::new(1, 3));
        assert_eq!(at(Encoding::Utf32).start, Position::new(1, 2));
        let utf16 = PositionIndex::new(text, Encoding::Utf16);
        assert_eq!(utf16.offset(Position::new(1, 3)), TextSize::new(8));
        // Half an emoji is the emoji's end.
        assert_eq!(utf16.offset(Position::new(1, 1)), TextSize::new(6));
        assert_eq!(utf16.offset(Position::new(1, 99)), TextSize::new(9));
        assert_eq!(utf16.offset(Position::new(9, 0)), text.text_len());
        assert_eq!(utf16.end(), Position::new(2, 4));
        let utf8 = PositionIndex::new(text, Encoding::Utf8);
        // Inside the emoji's bytes: its end.
        assert_eq!(utf8.offset(Position::new(1, 2)), TextSize::new(6));
        assert_eq!(utf8.offset(Position::new(1, 5)), TextSize::new(8));
        assert_eq!(utf8.offset(Position::new(1, 8)), TextSize::new(9));
    }

    #[test]
    fn utf8_when_offered_else_utf16_and_utf32_only_alone() {
        let negotiate = |offered: &[PositionEncodingKind]| Encoding::negotiate(Some(offered));
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        assert_eq!(negotiate(&[]), Encoding::Utf16);
        let (utf8, utf16, utf32) = (
            PositionEncodingKind::UTF8,
            PositionEncodingKind::UTF16,
            PositionEncodingKind::UTF32,
        );
        assert_eq!(negotiate(&[utf16.clone(), utf8.clone()]), Encoding::Utf8);
        assert_eq!(negotiate(&[utf32.clone(), utf16]), Encoding::Utf16);
        assert_eq!(negotiate(&[utf32]), Encoding::Utf32);
    }

    #[test]
    fn every_line_break_ends_a_line_as_in_the_driver() {
        for text in ["a = 1\rm.forward(x)\rb\r", "a = 1\r\nm.forward(x)\r\nb\r\n"] {
            let index = PositionIndex::new(text, Encoding::Utf16);
            assert_eq!(
                index.range(location(2, 1), location(2, 13)),
                Range::new(Position::new(1, 0), Position::new(1, 12)),
                "{text:?}"
            );
            let start = index.offset(Position::new(1, 2));
            assert_eq!(&text[start.to_usize()..start.to_usize() + 7], "forward");
            assert_eq!(index.end(), Position::new(3, 0));
        }
    }

    #[test]
    fn a_byte_order_mark_the_driver_strips_is_counted_on_the_first_line() {
        let text = "\u{feff}m.forward(x)\nn.forward(y)\n";
        let index = PositionIndex::of_file(text, Encoding::Utf16);
        assert_eq!(
            index.range(location(1, 1), location(1, 2)).start,
            Position::new(0, 1)
        );
        assert_eq!(
            index.range(location(2, 1), location(2, 2)).start,
            Position::new(1, 0)
        );
    }

    /// Every character position of a line of 90,000 characters, two in three non-ASCII, both
    /// ways: conversions that scanned the line would take minutes in a debug build; these take
    /// about a second.
    #[test]
    fn many_positions_on_one_long_line_take_linear_time() {
        let line = "é\u{1F600}x".repeat(30_000);
        let started = std::time::Instant::now();
        let index = PositionIndex::new(&line, Encoding::Utf16);
        let mut column = 1;
        let mut units = 0;
        for character in line.chars() {
            let position = index.range(location(1, column), location(1, column)).start;
            assert_eq!(position, Position::new(0, units));
            assert_eq!(index.offset(position), TextSize::new(to_u32(column - 1)));
            column += character.len_utf8();
            units += to_u32(character.len_utf16());
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed < std::time::Duration::from_secs(20),
            "180,000 conversions took {elapsed:?}"
        );
    }
}
