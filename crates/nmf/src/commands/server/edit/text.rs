//! Text documents' edits, as `didChange` sends them.

use lsp_types::TextDocumentContentChangeEvent;

use super::position::{Encoding, PositionIndex};

/// The text after a `didChange` event: the whole text, or a range of it replaced.
pub fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent, encoding: Encoding) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let index = PositionIndex::new(text, encoding);
            let start = index.offset(range.start).to_usize();
            let end = index.offset(range.end).to_usize().max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use lsp_types::{Position, Range};

    use super::*;

    #[test]
    fn a_ranged_change_replaces_its_range_whatever_ends_the_lines() {
        for (text, (start, end), new, expected) in [
            (
                "x = \u{1F600}1\ny = 2\n",
                (0, 6),
                "7\nz",
                "x = \u{1F600}7\nz = 2\n",
            ),
            ("a = 1\rb = 2\r", (1, 0), "c", "a = 1\rc = 2\r"),
        ] {
            let mut text = text.to_string();
            let range = Range::new(Position::new(start, end), Position::new(1, 1));
            let change = TextDocumentContentChangeEvent {
                range: Some(range),
                range_length: None,
                text: new.to_string(),
            };
            apply_change(&mut text, change, Encoding::Utf16);
            assert_eq!(text, expected);
        }
    }
}
