//! `# noqa` exactly as flake8 reads it, so that `nmf check` and the flake8 plugin agree.
//!
//! flake8 searches a finding's line for `# noqa` with one regular expression, case-insensitive,
//! anywhere in the line (even inside a string). The "line" is every physical line that one
//! token run spans: a backslash continuation or a multi-line string joins its lines, so a
//! comment on any of them covers findings on all of them. Listed codes match as prefixes,
//! case-sensitively. A line that starts with `# flake8: noqa` exempts the whole file.

use std::cell::OnceCell;
use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::render::SourceLocator;

/// flake8's `NOQA_INLINE_REGEXP`, in the `regex` crate's syntax.
static NOQA_INLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?")
        .expect("the noqa pattern is valid")
});

/// flake8's `NOQA_FILE`, matched at the start of a line.
static NOQA_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*# flake8[:=]\s*noqa").expect("the pattern is valid"));

/// Whether a line of the file starts with `# flake8: noqa`, which makes flake8 skip the file.
pub fn file_is_exempt(source: &str) -> bool {
    static MENTIONS_FLAKE8: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)flake8").expect("the pattern is valid"));
    // Lines end at `\n`, `\r\n` or `\r`, as in Python's universal newlines.
    MENTIONS_FLAKE8.is_match(source)
        && source
            .split(['\n', '\r'])
            .any(|line| NOQA_FILE.is_match(line))
}

/// What a `# noqa` comment covers, as flake8 decides it.
#[derive(Debug, PartialEq, Eq)]
pub enum NoqaDirective {
    /// `# noqa` without codes: every finding on the line.
    All,
    /// `# noqa: A1,B2`: findings whose code starts with one of these.
    Codes(Vec<String>),
}

impl NoqaDirective {
    /// The directive in `text` (a line, or lines joined as flake8 joins them), if any.
    pub fn find(text: &str) -> Option<Self> {
        let captures = NOQA_INLINE.captures(text)?;
        Some(match captures.name("codes") {
            None => NoqaDirective::All,
            Some(codes) => NoqaDirective::Codes(
                codes
                    .as_str()
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        })
    }

    pub fn suppresses(&self, code: &str) -> bool {
        match self {
            NoqaDirective::All => true,
            NoqaDirective::Codes(codes) => {
                codes.iter().any(|prefix| code.starts_with(prefix.as_str()))
            }
        }
    }
}

/// For each physical line, the first and last line of the token run that contains it.
pub struct NoqaLines {
    /// `ranges[line - 1]` is `(first, last)`, 1-based and inclusive.
    ranges: Vec<(usize, usize)>,
    /// The directive of each run, by its first line, searched for once: a run can be one line
    /// of a megabyte, or thousands of lines, with a finding on each.
    directives: Vec<OnceCell<Option<NoqaDirective>>>,
}

impl NoqaLines {
    /// The line runs of a tokenized file: flake8 joins the lines from a token run's first
    /// token to its `NEWLINE`/`NL`, skipping `DEDENT` and the end marker.
    pub fn from_tokens(tokens: &Tokens, locator: &SourceLocator<'_>) -> Self {
        let line_count = locator.line_count();
        let join = |ranges: &mut Vec<(usize, usize)>, first: usize, last: usize| {
            for line in first..=last.min(line_count) {
                ranges[line - 1] = (first, last);
            }
        };
        let mut ranges: Vec<(usize, usize)> = (1..=line_count).map(|line| (line, line)).collect();
        let mut run: Option<(usize, usize)> = None;
        for token in tokens.iter() {
            let kind = token.kind();
            if matches!(kind, TokenKind::Dedent | TokenKind::EndOfFile) {
                continue;
            }
            // A token's last line is that of its last character: a newline token ends its own
            // line, not the next one.
            let range = token.range();
            let last_char = if range.is_empty() {
                range
            } else {
                TextRange::new(range.start(), range.end() - TextSize::from(1))
            };
            let (first, last) = locator.lines(last_char);
            let (run_first, run_last) = run.get_or_insert((first, last));
            *run_first = (*run_first).min(first);
            *run_last = (*run_last).max(last);
            if matches!(kind, TokenKind::Newline | TokenKind::NonLogicalNewline)
                && let Some((first, last)) = run.take()
            {
                join(&mut ranges, first, last);
            }
        }
        if let Some((first, last)) = run {
            join(&mut ranges, first, last);
        }
        Self::new(ranges)
    }

    fn new(ranges: Vec<(usize, usize)>) -> Self {
        let directives = ranges.iter().map(|_| OnceCell::new()).collect();
        Self { ranges, directives }
    }

    /// Each line on its own, for a file whose tokens cannot be trusted (flake8 falls back to
    /// the physical line when tokenizing fails).
    pub fn physical(locator: &SourceLocator<'_>) -> Self {
        Self::new(
            (1..=locator.line_count())
                .map(|line| (line, line))
                .collect(),
        )
    }

    /// The text flake8 searches for `# noqa` when a finding is on `line`.
    pub fn text<'s>(&self, line: usize, locator: &SourceLocator<'s>) -> &'s str {
        let (first, last) = self
            .ranges
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or((line, line));
        locator.line_text(first, last)
    }

    /// Whether a finding with `code` on `line` is suppressed.
    pub fn suppresses(&self, code: &str, line: usize, locator: &SourceLocator<'_>) -> bool {
        let first = self
            .ranges
            .get(line.saturating_sub(1))
            .map_or(line, |(first, _)| *first);
        let directive = match self.directives.get(first.saturating_sub(1)) {
            Some(cell) => cell.get_or_init(|| NoqaDirective::find(self.text(line, locator))),
            None => &NoqaDirective::find(self.text(line, locator)),
        };
        directive
            .as_ref()
            .is_some_and(|directive| directive.suppresses(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(text: &str) -> Option<NoqaDirective> {
        NoqaDirective::find(text)
    }

    fn codes(list: &[&str]) -> Option<NoqaDirective> {
        Some(NoqaDirective::Codes(
            list.iter().map(|c| c.to_string()).collect(),
        ))
    }

    #[test]
    fn the_forms_flake8_documents() {
        assert_eq!(directive("x  # noqa"), Some(NoqaDirective::All));
        assert_eq!(directive("x  # NOQA"), Some(NoqaDirective::All));
        assert_eq!(directive("x  # NoQA: NMF001"), codes(&["NMF001"]));
        assert_eq!(
            directive("x  # noqa:NMF001,E501"),
            codes(&["NMF001", "E501"])
        );
        assert_eq!(
            directive("x  # noqa: NMF001, E501\n"),
            codes(&["NMF001", "E501"])
        );
        assert_eq!(directive("x  # noqa : NMF001"), Some(NoqaDirective::All));
        assert_eq!(directive("x  #noqa"), None);
        assert_eq!(directive("x = 1"), None);
    }

    #[test]
    fn quirks_kept_for_parity_with_flake8() {
        // Two blanks after the colon make the codes unreadable: flake8 treats it as bare.
        assert_eq!(directive("x  # noqa:  NMF001"), Some(NoqaDirective::All));
        // Inside a string it still counts.
        assert_eq!(directive("x = '# noqa'"), Some(NoqaDirective::All));
        // Codes are compared case-sensitively, as prefixes.
        let lower = directive("x  # noqa: nmf001").expect("a directive");
        assert!(!lower.suppresses("NMF001"));
        let prefix = directive("x  # noqa: NMF").expect("a directive");
        assert!(prefix.suppresses("NMF001"));
        assert!(prefix.suppresses("NMF002"));
        assert!(
            !directive("x  # noqa: E501")
                .expect("a directive")
                .suppresses("NMF001")
        );
    }

    #[test]
    fn file_level_exemption_must_start_the_line() {
        assert!(file_is_exempt("import x\n# flake8: noqa\n"));
        assert!(file_is_exempt("   # FLAKE8=NOQA\n"));
        assert!(!file_is_exempt("x = 1  # flake8: noqa\n"));
        assert!(!file_is_exempt("x = 1\n"));
    }

    #[test]
    fn continuation_lines_and_multiline_strings_join_with_their_neighbours() {
        let source = "a = model.forward(x) + \\\n    1  # noqa\nb = f('''\n''', model.forward(y))  # noqa\nc = (\n    model.forward(z)  # noqa\n)\nd = model.forward(w)\n";
        let parsed = ruff_python_parser::parse_module(source).expect("valid");
        let locator = SourceLocator::new(source);
        let lines = NoqaLines::from_tokens(parsed.tokens(), &locator);
        assert!(lines.suppresses("NMF001", 1, &locator));
        assert!(lines.suppresses("NMF001", 3, &locator));
        assert!(lines.suppresses("NMF001", 4, &locator));
        // Brackets do not join lines: each physical line stands alone.
        assert!(!lines.suppresses("NMF001", 5, &locator));
        assert!(lines.suppresses("NMF001", 6, &locator));
        assert!(!lines.suppresses("NMF001", 8, &locator));
    }
}
