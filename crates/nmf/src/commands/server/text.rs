//! Positions: nmf locates findings by line and UTF-8 byte column; LSP by line and code units
//! of the negotiated encoding (UTF-8 bytes or UTF-16 units).

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};
use nmf_linter::render::Location;

/// A document's line starts, made once per document for every position it converts.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    utf8: bool,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str, utf8: bool) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Self { text, starts, utf8 }
    }

    /// The text of line `index` (0-based), without its line break.
    pub fn line(&self, index: usize) -> Option<&'a str> {
        let start = *self.starts.get(index)?;
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let line = &self.text[start..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// nmf's 1-based line and UTF-8 byte column as an LSP position.
    pub fn position(&self, location: Location) -> Position {
        let index = location.line.saturating_sub(1);
        let line = self.line(index).unwrap_or_default();
        let mut byte = location.column.saturating_sub(1).min(line.len());
        while !line.is_char_boundary(byte) {
            byte -= 1;
        }
        Position::new(to_u32(index), width(&line[..byte], self.utf8))
    }

    /// The byte offset of an LSP position; past the end of its line is the line's end, past
    /// the last line the end of the text.
    pub fn offset(&self, position: Position) -> usize {
        let index = position.line as usize;
        let (Some(&start), Some(line)) = (self.starts.get(index), self.line(index)) else {
            return self.text.len();
        };
        let wanted = position.character as usize;
        let mut units = 0;
        for (byte, character) in line.char_indices() {
            if units >= wanted {
                return start + byte;
            }
            units += if self.utf8 {
                character.len_utf8()
            } else {
                character.len_utf16()
            };
        }
        start + line.len()
    }

    /// Where the text ends.
    pub fn end(&self) -> Position {
        let last = self.starts.len() - 1;
        let tail = &self.text[self.starts[last]..];
        Position::new(to_u32(last), width(tail, self.utf8))
    }

    pub fn range(&self, start: Location, end: Location) -> Range {
        Range::new(self.position(start), self.position(end))
    }
}

/// The text after a `didChange` event: the whole text, or a range of it replaced.
pub fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent, utf8: bool) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let lines = Lines::new(text, utf8);
            let start = lines.offset(range.start);
            let end = lines.offset(range.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

/// The length of `text` in code units: bytes or UTF-16 units.
pub fn width(text: &str, utf8: bool) -> u32 {
    let units = if utf8 {
        text.len()
    } else {
        text.encode_utf16().count()
    };
    to_u32(units)
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_code_units_of_the_negotiated_encoding() {
        let text = "a\n\u{1F600}\u{e9}x\r\nlast";
        let location = Location { line: 2, column: 7 };
        assert_eq!(
            Lines::new(text, true).position(location),
            Position::new(1, 6)
        );
        assert_eq!(
            Lines::new(text, false).position(location),
            Position::new(1, 3)
        );
        assert_eq!(Lines::new(text, false).offset(Position::new(1, 3)), 8);
        assert_eq!(Lines::new(text, false).offset(Position::new(1, 99)), 9);
        assert_eq!(
            Lines::new(text, false).offset(Position::new(9, 0)),
            text.len()
        );
        assert_eq!(Lines::new(text, false).end(), Position::new(2, 4));
    }

    #[test]
    fn a_ranged_change_replaces_its_range() {
        let mut text = "x = \u{1F600}1\ny = 2\n".to_string();
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(0, 6), Position::new(1, 1))),
            range_length: None,
            text: "7\nz".to_string(),
        };
        apply_change(&mut text, change, false);
        assert_eq!(text, "x = \u{1F600}7\nz = 2\n");
    }
}
