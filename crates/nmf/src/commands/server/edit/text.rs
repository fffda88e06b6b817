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
    fn a_ranged_change_replaces_its_range() {
        let mut text = "x = \u{1F600}1\ny = 2\n".to_string();
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(0, 6), Position::new(1, 1))),
            range_length: None,
            text: "7\nz".to_string(),
        };
        apply_change(&mut text, change, Encoding::Utf16);
        assert_eq!(text, "x = \u{1F600}7\nz = 2\n");
    }

    #[test]
    fn lines_end_at_a_lone_carriage_return_too() {
        let mut text = "a = 1\rb = 2\r".to_string();
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(1, 0), Position::new(1, 1))),
            range_length: None,
            text: "c".to_string(),
        };
        apply_change(&mut text, change, Encoding::Utf16);
        assert_eq!(text, "a = 1\rc = 2\r");
    }
}
