//! `# noqa` exactly as flake8 reads it, so that `nmf check` and the flake8 plugin agree.
//!
//! flake8 searches a finding's line for `# noqa` with one regular expression, case-insensitive,
//! anywhere in the line (even inside a string). The "line" is every physical line that one
//! token run spans: a backslash continuation or a multi-line string joins its lines, so a
//! comment on any of them covers findings on all of them. Listed codes match as prefixes,
//! case-sensitively. A line that starts with `# flake8: noqa` exempts the whole file.
//!
//! [`NoqaEditor`] writes directives that this reader (and flake8) reads: it serves the
//! editor's "Disable … for this line" action and `nmf check --add-noqa`.

use std::cell::OnceCell;
use std::sync::LazyLock;

use regex::Regex;
use ruff_diagnostics::Edit;
use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_text_size::{Ranged, TextLen, TextRange, TextSize};

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
        NOQA_INLINE.captures(text).map(|found| Self::of(&found))
    }

    fn of(found: &regex::Captures<'_>) -> Self {
        match found.name("codes") {
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
        }
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

    /// The first and last line (1-based, inclusive) that flake8 joins with `line`.
    pub fn run(&self, line: usize) -> (usize, usize) {
        self.ranges
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or((line, line))
    }

    /// The text flake8 searches for `# noqa` when a finding is on `line`.
    pub fn text<'s>(&self, line: usize, locator: &SourceLocator<'s>) -> &'s str {
        let (first, last) = self.run(line);
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

/// Why a `# noqa` directive cannot be placed for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoqaRefusal {
    /// The line is not in the text.
    NoSuchLine,
    /// The first `# noqa` flake8 reads for the line is inside a string: extending it would
    /// change the string, and a directive after it would not be read.
    DirectiveInString,
    /// The line ends inside a string (an f-string's field spread over lines, or a string left
    /// open in a file that does not parse): a comment there would be text, not a comment.
    LineEndsInString,
    /// The line ends with a line-continuation backslash: a comment after it would not parse.
    LineContinues,
}

impl std::fmt::Display for NoqaRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoSuchLine => "the line is not in the file",
            Self::DirectiveInString => {
                "the line's first `# noqa` is inside a string, where it cannot be extended"
            }
            Self::LineEndsInString => "the line ends inside a string",
            Self::LineContinues => "the line ends with a line-continuation backslash",
        })
    }
}

/// Directives to add, for several findings of one file (`--add-noqa`).
#[derive(Debug, Default)]
pub struct NoqaEdits {
    /// One insertion per line run that needed one, in the order of the text.
    pub edits: Vec<Edit>,
    /// The findings (line, code) that no directive can cover, and why.
    pub refused: Vec<(usize, String, NoqaRefusal)>,
}

/// Places `# noqa` directives in one source text where flake8 and [`NoqaLines`] read them:
/// an existing directive of the line, whatever its case, gets the codes appended to its list;
/// otherwise a new one goes at the end of the last line flake8 joins with the finding's line
/// (after a multi-line string closes, after the last line of a backslash continuation), after
/// any comment already there (`# type: ignore  # noqa: NMF001`). Never inside a string and
/// never after a line-continuation backslash: those lines are refused.
pub struct NoqaEditor<'s> {
    locator: SourceLocator<'s>,
    lines: NoqaLines,
    /// Comments and IPython escape commands (`%timeit x  # noqa`), whose text is not the
    /// program's: where a directive may be extended. Sorted.
    comments: Vec<TextRange>,
    /// Strings, and whole f- and t-strings with their fields: where nothing may be written.
    /// Sorted, not nested.
    strings: Vec<TextRange>,
    /// Tokens the lexer could not read (a string left open): nothing may be written in them
    /// or at their end.
    unknown: Vec<TextRange>,
}

impl<'s> NoqaEditor<'s> {
    /// `tokens` are `source`'s; `physical`: the reader takes each line on its own, as it does
    /// for a file that does not parse (see [`NoqaLines::physical`]).
    pub fn new(source: &'s str, tokens: &Tokens, physical: bool) -> Self {
        let locator = SourceLocator::new(source);
        let lines = if physical {
            NoqaLines::physical(&locator)
        } else {
            NoqaLines::from_tokens(tokens, &locator)
        };
        let mut comments = Vec::new();
        let mut strings = Vec::new();
        let mut unknown = Vec::new();
        // The start of the outermost f- or t-string being read, and how deep they nest.
        let mut interpolated: Option<(TextSize, usize)> = None;
        for token in tokens.iter() {
            match token.kind() {
                TokenKind::FStringStart | TokenKind::TStringStart => {
                    let (_, depth) = interpolated.get_or_insert((token.start(), 0));
                    *depth += 1;
                }
                TokenKind::FStringEnd | TokenKind::TStringEnd => {
                    if let Some((start, depth)) = interpolated.as_mut() {
                        *depth -= 1;
                        if *depth == 0 {
                            strings.push(TextRange::new(*start, token.end()));
                            interpolated = None;
                        }
                    }
                }
                _ if interpolated.is_some() => {}
                TokenKind::String => strings.push(token.range()),
                TokenKind::Unknown => unknown.push(token.range()),
                TokenKind::Comment | TokenKind::IpyEscapeCommand => comments.push(token.range()),
                _ => {}
            }
        }
        if let Some((start, _)) = interpolated {
            // An f-string left open runs to the end of the text.
            unknown.push(TextRange::new(start, locator.source().text_len()));
        }
        Self {
            locator,
            lines,
            comments,
            strings,
            unknown,
        }
    }

    /// The insertion that makes the directive read for a finding on `line` (1-based) suppress
    /// every one of `codes`; `None` when it already does.
    pub fn edit(&self, line: usize, codes: &[&str]) -> Result<Option<Edit>, NoqaRefusal> {
        if line == 0 || line > self.locator.line_count() {
            return Err(NoqaRefusal::NoSuchLine);
        }
        let (first, last) = self.lines.run(line);
        let run = self.locator.line_text(first, last);
        let run_start = self.locator.line_range(first).start();
        let mut wanted: Vec<&str> = codes.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        if let Some(found) = NOQA_INLINE.captures(run) {
            let directive = NoqaDirective::of(&found);
            wanted.retain(|code| !directive.suppresses(code));
            if wanted.is_empty() {
                return Ok(None);
            }
            let at = run_start + text_size(found.get(0).map_or(0, |whole| whole.start()));
            if !self.in_comment(at) {
                return Err(NoqaRefusal::DirectiveInString);
            }
            // Not bare (that suppresses everything): it lists codes. The new ones go after the
            // last, before the separators and whatever follows (`# noqa: E501  # type: ignore`).
            let end = found.name("codes").map_or(0, |listed| {
                let codes = listed
                    .as_str()
                    .trim_end_matches(|c: char| c == ',' || c.is_whitespace());
                listed.start() + codes.len()
            });
            let insertion = Edit::insertion(
                format!(", {}", wanted.join(", ")),
                run_start + text_size(end),
            );
            return self.checked(insertion, line, codes);
        }
        let last_line = self.locator.line_range(last);
        let end = last_line.end();
        if within(&self.strings, end, false) || within(&self.unknown, end, true) {
            return Err(NoqaRefusal::LineEndsInString);
        }
        let content = &self.locator.source()[last_line];
        let trimmed = content.trim_end();
        if trimmed.ends_with('\\')
            && !self.in_comment(last_line.start() + text_size(trimmed.len() - 1))
        {
            return Err(NoqaRefusal::LineContinues);
        }
        let insertion = Edit::insertion(format!("  # noqa: {}", wanted.join(", ")), end);
        self.checked(insertion, line, codes)
    }

    fn in_comment(&self, offset: TextSize) -> bool {
        let after = self
            .comments
            .partition_point(|range| range.start() <= offset);
        after
            .checked_sub(1)
            .is_some_and(|index| offset < self.comments[index].end())
    }

    /// One directive per line run for every finding `(line, code)`: findings on lines that
    /// flake8 joins share one.
    pub fn edits<'c>(&self, findings: impl IntoIterator<Item = (usize, &'c str)>) -> NoqaEdits {
        let mut by_run: Vec<(usize, usize, &'c str)> = findings
            .into_iter()
            .map(|(line, code)| (self.lines.run(line).0, line, code))
            .collect();
        by_run.sort_unstable();
        let mut result = NoqaEdits::default();
        for group in by_run.chunk_by(|a, b| a.0 == b.0) {
            let mut codes: Vec<&str> = group.iter().map(|(_, _, code)| *code).collect();
            codes.sort_unstable();
            codes.dedup();
            match self.edit(group[0].1, &codes) {
                Ok(edit) => result.edits.extend(edit),
                Err(refusal) => result.refused.extend(
                    group
                        .iter()
                        .map(|(_, line, code)| (*line, (*code).to_string(), refusal)),
                ),
            }
        }
        result
    }

    /// `insertion`, once the reader is seen to read the directive it makes for `line`.
    fn checked(
        &self,
        insertion: Edit,
        line: usize,
        codes: &[&str],
    ) -> Result<Option<Edit>, NoqaRefusal> {
        let (first, last) = self.lines.run(line);
        let start = self.locator.line_range(first).start();
        let end = self.locator.line_range(last).end();
        let at = insertion.start();
        let source = self.locator.source();
        let edited = format!(
            "{}{}{}",
            &source[TextRange::new(start, at)],
            insertion.content().unwrap_or_default(),
            &source[TextRange::new(at, end)]
        );
        let read = NoqaDirective::find(&edited)
            .is_some_and(|directive| codes.iter().all(|code| directive.suppresses(code)));
        // The directives written above are always read; should that ever fail, a refusal
        // rather than an edit that does nothing.
        if read {
            Ok(Some(insertion))
        } else {
            Err(NoqaRefusal::DirectiveInString)
        }
    }
}

fn text_size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or(TextSize::new(u32::MAX))
}

/// Whether `offset` is inside one of `ranges` (sorted, disjoint), past its start: before its
/// end, or also at its end when `end_inclusive`.
fn within(ranges: &[TextRange], offset: TextSize, end_inclusive: bool) -> bool {
    let after = ranges.partition_point(|range| range.start() < offset);
    after.checked_sub(1).is_some_and(|index| {
        let end = ranges[index].end();
        offset < end || (end_inclusive && offset == end)
    })
}

#[cfg(test)]
mod tests {
    use ruff_python_ast::PySourceType;

    use super::*;

    /// `source` after the edit for a finding of each of `codes` on `line`.
    fn add_noqa(source: &str, line: usize, codes: &[&str]) -> Result<String, NoqaRefusal> {
        add_noqa_as(source, PySourceType::Python, line, codes)
    }

    fn add_noqa_as(
        source: &str,
        source_type: PySourceType,
        line: usize,
        codes: &[&str],
    ) -> Result<String, NoqaRefusal> {
        let parsed = ruff_python_parser::parse_unchecked_source(source, source_type);
        let editor = NoqaEditor::new(source, parsed.tokens(), !parsed.errors().is_empty());
        Ok(match editor.edit(line, codes)? {
            Some(edit) => apply(source, &edit),
            None => source.to_string(),
        })
    }

    fn apply(source: &str, edit: &Edit) -> String {
        assert!(edit.is_insertion(), "{edit:?}");
        let at = edit.start().to_usize();
        format!(
            "{}{}{}",
            &source[..at],
            edit.content().unwrap_or_default(),
            &source[at..]
        )
    }

    /// Each `(source, line, codes, expected)`: the source once the line's codes are disabled.
    fn assert_added(cases: &[(&str, usize, &[&str], &str)]) {
        for (source, line, codes, expected) in cases {
            assert_eq!(
                add_noqa(source, *line, codes),
                Ok((*expected).to_string()),
                "{source:?}, line {line}"
            );
        }
    }

    const NMF001: &[&str] = &["NMF001"];

    #[test]
    fn a_new_directive_goes_at_the_end_of_the_line_before_its_line_break() {
        assert_added(&[
            (
                "m.forward(x)\n",
                1,
                NMF001,
                "m.forward(x)  # noqa: NMF001\n",
            ),
            (
                "a = 1\r\nm.forward(x)\r\n",
                2,
                NMF001,
                "a = 1\r\nm.forward(x)  # noqa: NMF001\r\n",
            ),
            (
                "a = 1\rm.forward(x)\rb = 2\r",
                2,
                NMF001,
                "a = 1\rm.forward(x)  # noqa: NMF001\rb = 2\r",
            ),
            ("m.forward(x)", 1, NMF001, "m.forward(x)  # noqa: NMF001"),
            // Several codes at once, as `--add-noqa` writes them.
            (
                "m.forward(x)\n",
                1,
                &["NMF002", "NMF001", "NMF002"],
                "m.forward(x)  # noqa: NMF001, NMF002\n",
            ),
        ]);
    }

    #[test]
    fn an_existing_directive_is_extended_in_place_whatever_its_case() {
        assert_added(&[
            (
                "m.forward(x)  # NOQA:E501\n",
                1,
                NMF001,
                "m.forward(x)  # NOQA:E501, NMF001\n",
            ),
            (
                "m.forward(x)  # noqa:e501\n",
                1,
                NMF001,
                "m.forward(x)  # noqa:e501, NMF001\n",
            ),
            (
                "m.forward(x)  # NoQa: E501,W291,\n",
                1,
                NMF001,
                "m.forward(x)  # NoQa: E501,W291, NMF001,\n",
            ),
            // Other comments after it stay as they are.
            (
                "m.forward(x)  # noqa: E501  # type: ignore\n",
                1,
                NMF001,
                "m.forward(x)  # noqa: E501, NMF001  # type: ignore\n",
            ),
            // Only the codes it lacks.
            (
                "m.forward(x)  # noqa: E501\n",
                1,
                &["NMF001", "E501"],
                "m.forward(x)  # noqa: E501, NMF001\n",
            ),
            // `#noqa` is not a directive (flake8 wants `# noqa`): a new one follows it.
            (
                "m.forward(x)  #noqa:E501\n",
                1,
                NMF001,
                "m.forward(x)  #noqa:E501  # noqa: NMF001\n",
            ),
        ]);
    }

    #[test]
    fn other_comments_are_kept_and_the_directive_follows_them() {
        assert_added(&[
            (
                "m.forward(x)  # type: ignore\n",
                1,
                NMF001,
                "m.forward(x)  # type: ignore  # noqa: NMF001\n",
            ),
            // A backslash in a comment continues nothing.
            (
                "m.forward(x)  # C:\\\n",
                1,
                NMF001,
                "m.forward(x)  # C:\\  # noqa: NMF001\n",
            ),
        ]);
    }

    #[test]
    fn a_line_already_covered_needs_no_edit() {
        for source in [
            "m.forward(x)  # noqa\n",
            "m.forward(x)  # NOQA: NMF\n",
            "m.forward(x)  # noqa: E501,NMF001\n",
            // flake8 reads `# noqa` inside a string too.
            "s = '# noqa'; m.forward(x)\n",
        ] {
            assert_eq!(add_noqa(source, 1, NMF001), Ok(source.to_string()));
        }
    }

    #[test]
    fn lines_flake8_joins_get_the_directive_on_their_last_line() {
        assert_added(&[
            // A backslash continuation: after its last line, never after the backslash.
            (
                "x = m.forward(1) + \\\n    2\ny = 3\n",
                1,
                NMF001,
                "x = m.forward(1) + \\\n    2  # noqa: NMF001\ny = 3\n",
            ),
            // A multi-line string: after it closes.
            (
                "y = f('''\n''', m.forward(2))\n",
                2,
                NMF001,
                "y = f('''\n''', m.forward(2))  # noqa: NMF001\n",
            ),
            (
                "s = '''\n{}\n'''.format(m.forward(1))  # NOQA:E501\n",
                1,
                NMF001,
                "s = '''\n{}\n'''.format(m.forward(1))  # NOQA:E501, NMF001\n",
            ),
            // Brackets do not join lines: the finding's own line.
            (
                "x = (\n    m.forward(1)\n)\n",
                2,
                NMF001,
                "x = (\n    m.forward(1)  # noqa: NMF001\n)\n",
            ),
        ]);
    }

    #[test]
    fn never_inside_a_string_nor_after_a_continuation() {
        // flake8 reads the `# noqa` in the string first: a second directive would be ignored,
        // and extending the first would change the string.
        assert_eq!(
            add_noqa("s = '# noqa: E501'; m.forward(x)\n", 1, &["NMF001"]),
            Err(NoqaRefusal::DirectiveInString)
        );
        // A file that does not parse: each line on its own, as the reader takes it.
        assert_eq!(
            add_noqa("x = (\ns = '''\nm.forward(1)\n", 3, &["NMF001"]),
            Err(NoqaRefusal::LineEndsInString)
        );
        assert_eq!(
            add_noqa("def (:\nx = m.forward(1) + \\\n  2\n", 2, &["NMF001"]),
            Err(NoqaRefusal::LineContinues)
        );
        assert_eq!(
            add_noqa("m.forward(1)\n", 3, &["NMF001"]),
            Err(NoqaRefusal::NoSuchLine)
        );
        assert_eq!(
            add_noqa("m.forward(1)\n", 0, &["NMF001"]),
            Err(NoqaRefusal::NoSuchLine)
        );
    }

    #[test]
    fn a_finding_in_a_field_of_a_multi_line_f_string_is_refused() {
        // The reader (as flake8 on Python 3.12) takes the field's lines one by one: the
        // directive would have to be a comment inside the f-string, which only Python 3.12
        // parses.
        let source = "x = f\"\"\"{\nm.forward(1)\n}\"\"\"\nprint(x)\n";
        assert_eq!(
            add_noqa(source, 2, &["NMF001"]),
            Err(NoqaRefusal::LineEndsInString)
        );
        // On the f-string's first or last line, the directive follows it.
        assert_eq!(
            add_noqa(source, 3, &["NMF001"]),
            Ok("x = f\"\"\"{\nm.forward(1)\n}\"\"\"  # noqa: NMF001\nprint(x)\n".to_string())
        );
    }

    #[test]
    fn ipython_magics_take_the_directive_as_a_comment() {
        assert_eq!(
            add_noqa_as(
                "%timeit m.forward(1)  # noqa: E501\n",
                PySourceType::Ipynb,
                1,
                &["NMF001"]
            ),
            Ok("%timeit m.forward(1)  # noqa: E501, NMF001\n".to_string())
        );
    }

    #[test]
    fn findings_on_lines_flake8_joins_share_one_directive() {
        let source = "x = m.forward(1) + \\\n    m.forward(2)\ns = '# noqa: E501'; m.forward(3)\n";
        let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
        let editor = NoqaEditor::new(source, parsed.tokens(), false);
        let added = editor.edits([(2, "NMF001"), (1, "NMF002"), (1, "NMF001"), (3, "NMF001")]);
        assert_eq!(added.edits.len(), 1);
        assert_eq!(
            apply(source, &added.edits[0]),
            "x = m.forward(1) + \\\n    m.forward(2)  # noqa: NMF001, NMF002\ns = '# noqa: E501'; m.forward(3)\n"
        );
        assert_eq!(
            added.refused,
            [(3, "NMF001".to_string(), NoqaRefusal::DirectiveInString)]
        );
    }

    /// The fixtures and sources made to be awkward, every line of them.
    fn sources_to_edit() -> Vec<(String, String)> {
        let mut sources: Vec<(String, String)> = Vec::new();
        let mut folders = vec![
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../resources/test/fixtures"),
        ];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder)
                .expect("the fixtures folder")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|ext| ext == "py")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    sources.push((path.display().to_string(), text));
                }
            }
        }
        assert!(sources.len() > 10, "the fixtures are found");
        let awkward = [
            "a = m.forward(1) + \\\n  m.forward(2) \\\n  + 3  # NOQA:E501\n",
            "s = f'''\n{m.forward(1)}\n'''\nt = f\"{m.forward(2)!r:>{w}}\"  # type: ignore\n",
            "x = f\"\"\"{\nm.forward(1)\n}\"\"\"\n",
            "def f():\n    return (m.forward(1),\n            m.forward(2))  # noqa:E501 words\n",
            "d = {'# noqa': m.forward(1)}\nr = rb'\\\\'\nm.forward(2)  # x \\\n",
            "if True:\r    m.forward(1)\r    s = '''\r'''\r",
            "x = (\ns = '''\nm.forward(1)\n",
            "class A:\n    def forward(self):\n        return super().forward()  # noqa : E501\n",
        ];
        sources.extend(
            awkward
                .iter()
                .enumerate()
                .map(|(index, text)| (format!("awkward {index}"), (*text).to_string())),
        );
        sources
    }

    /// An edit only inserts, changes no token but comments, keeps the file parsing, and the
    /// reader then suppresses the codes on that line; a line left alone was suppressed already.
    #[test]
    fn edits_keep_the_program_and_are_read_by_the_reader() {
        let significant = |tokens: &Tokens, text: &str| -> Vec<String> {
            tokens
                .iter()
                .filter(|token| token.kind() != TokenKind::Comment)
                .map(|token| format!("{:?} {}", token.kind(), &text[token.range()]))
                .collect()
        };
        let reader = |tokens: &Tokens, locator: &SourceLocator<'_>, physical: bool| {
            if physical {
                NoqaLines::physical(locator)
            } else {
                NoqaLines::from_tokens(tokens, locator)
            }
        };
        let mut edited = 0;
        for (name, source) in sources_to_edit() {
            let parsed = ruff_python_parser::parse_unchecked_source(&source, PySourceType::Python);
            let physical = !parsed.errors().is_empty();
            let editor = NoqaEditor::new(&source, parsed.tokens(), physical);
            let locator = SourceLocator::new(&source);
            for line in 1..=locator.line_count() {
                for codes in [&["NMF001"][..], &["NMF001", "E501"]] {
                    let context = format!("{name}, line {line}, {codes:?}");
                    match editor.edit(line, codes) {
                        Ok(Some(edit)) => {
                            edited += 1;
                            let new = apply(&source, &edit);
                            let reparsed = ruff_python_parser::parse_unchecked_source(
                                &new,
                                PySourceType::Python,
                            );
                            if !physical {
                                assert!(reparsed.errors().is_empty(), "{context}: {new}");
                                assert_eq!(
                                    significant(parsed.tokens(), &source),
                                    significant(reparsed.tokens(), &new),
                                    "{context}"
                                );
                            }
                            let new_locator = SourceLocator::new(&new);
                            let lines = reader(reparsed.tokens(), &new_locator, physical);
                            for code in codes {
                                assert!(
                                    lines.suppresses(code, line, &new_locator),
                                    "{context}: {new}"
                                );
                            }
                        }
                        Ok(None) => {
                            let lines = reader(parsed.tokens(), &locator, physical);
                            for code in codes {
                                assert!(lines.suppresses(code, line, &locator), "{context}");
                            }
                        }
                        Err(_) => {}
                    }
                }
            }
        }
        assert!(edited > 500, "{edited} edits");
    }

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
