//! Source positions as flake8 prints them, and findings as code frames (ruff's `full` format).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use ruff_source_file::{LineIndex, OneIndexed};
use ruff_text_size::{Ranged, TextLen, TextRange, TextSize};

use ruff_diagnostics::Applicability;

use crate::diagnostic::Diagnostic;
use crate::fix::apply_fixes;

/// A 1-based line and column. The column counts UTF-8 bytes from the start of the line, plus
/// one, which is what flake8 prints (CPython's `col_offset` is a byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Converts offsets of one source text into flake8 locations. Cloning shares the line index.
#[derive(Clone)]
pub struct SourceLocator<'a> {
    source: &'a str,
    index: LineIndex,
}

impl<'a> SourceLocator<'a> {
    pub fn new(source: &'a str) -> Self {
        Self {
            source,
            index: LineIndex::from_source_text(source),
        }
    }

    pub fn source(&self) -> &'a str {
        self.source
    }

    pub fn location(&self, offset: TextSize) -> Location {
        let line = self.index.line_index(offset);
        let start = self.index.line_start(line, self.source);
        Location {
            line: line.get(),
            column: (offset - start).to_usize() + 1,
        }
    }

    /// The offset of a location that [`SourceLocator::location`] gave: its inverse (a place
    /// past the text is its end).
    pub fn offset(&self, location: Location) -> TextSize {
        let line =
            OneIndexed::new(location.line.min(self.index.line_count())).unwrap_or(OneIndexed::MIN);
        let start = self.index.line_start(line, self.source).to_usize();
        let offset = start.saturating_add(location.column.saturating_sub(1));
        TextSize::try_from(offset.min(self.source.len())).unwrap_or_default()
    }

    /// The 1-based line range `first..=last` of a text range.
    pub fn lines(&self, range: TextRange) -> (usize, usize) {
        let first = self.index.line_index(range.start()).get();
        let last = self.index.line_index(range.end()).get();
        (first, last)
    }

    /// The text of lines `first..=last` (1-based), line endings included.
    pub fn line_text(&self, first: usize, last: usize) -> &'a str {
        let first = OneIndexed::new(first).unwrap_or(OneIndexed::MIN);
        let last = OneIndexed::new(last).unwrap_or(OneIndexed::MIN);
        let start = self.index.line_start(first, self.source);
        let end = self.index.line_end(last, self.source);
        &self.source[TextRange::new(start, end.max(start))]
    }

    pub fn line_count(&self) -> usize {
        self.index.line_count()
    }

    /// Where line `line` (1-based) starts, to where its content ends, before its line break.
    pub fn line_range(&self, line: usize) -> TextRange {
        let line = OneIndexed::new(line).unwrap_or(OneIndexed::MIN);
        let start = self.index.line_start(line, self.source);
        let end = self.index.line_end(line, self.source);
        let content =
            self.source[TextRange::new(start, end.max(start))].trim_end_matches(['\n', '\r']);
        TextRange::at(start, content.text_len())
    }
}

/// `text` with every character that would act on a terminal rather than show up escaped, as
/// Python's `repr` writes them: line breaks and other control characters (`\n`, `\x1b`),
/// line and paragraph separators and the bidirectional controls (`\u2028`, `\u202e`).
/// A file name with an ESC cannot colour the terminal, nor one with a newline split a finding
/// over two lines. Backslashes stay as they are.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if needs_escape(c) && u32::from(c) < 0x100 => {
                escaped.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if needs_escape(c) => escaped.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => escaped.push(c),
        }
    }
    std::borrow::Cow::Owned(escaped)
}

/// Control characters, and the invisible characters that move text around on a terminal.
fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_layout(c)
}

/// Line and paragraph separators, bidirectional controls and the byte-order mark.
fn is_invisible_layout(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

/// A source line as a code frame may show it: control characters as their Unicode pictures
/// (`␛` for ESC), as the frame renderer shows them, and the invisible layout characters as `�`.
fn displayable_line(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\t' => c,
            c if u32::from(c) < 0x20 => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            c if c.is_control() || is_invisible_layout(c) => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// How many lines of context a code frame shows around the finding.
const CONTEXT_LINES: usize = 2;

/// Renders a finding as ruff's full format renders one: the header with code, fix marker and
/// message, the code frame with the span underlined, then `help:` and `note:` lines.
pub fn render_code_frame(
    diagnostic: &Diagnostic,
    path: &str,
    locator: &SourceLocator<'_>,
    options: FrameOptions,
) -> String {
    let color = options.color;
    let location = locator.location(diagnostic.range.start());
    let (first, last) = locator.lines(diagnostic.range);
    let frame_first = first.saturating_sub(CONTEXT_LINES).max(1);
    let frame_last = (last + CONTEXT_LINES).min(locator.line_count().max(1));
    let view = LineView::new(locator, frame_first, frame_last, diagnostic.range.start());
    let frame = view.text.as_str();
    let span_start = view.map_start(diagnostic.range.start());
    let span_end = view.map_end(diagnostic.range.end()).max(span_start);
    // A zero-width span (an error at the end of the file) still gets a caret.
    let span_end = if span_end == span_start {
        (span_start + 1).min(frame.len())
    } else {
        span_end.min(frame.len())
    };
    let message = printable(&diagnostic.message);
    let path = printable(path);
    let title = Level::ERROR
        .no_name()
        .primary_title(message.as_ref())
        .id(diagnostic.code)
        .is_fixable(
            diagnostic
                .fix
                .as_ref()
                .is_some_and(|fix| fix.applies(options.required_applicability())),
        );
    let snippet = Snippet::source(frame)
        .line_start(frame_first)
        .fold(false)
        .annotation(AnnotationKind::Primary.span(span_start..span_end));
    let mut report = vec![title.element(snippet)];
    if let Some(help) = &diagnostic.fix_title {
        report.push(Group::with_title(
            Level::HELP.secondary_title(help.as_str()),
        ));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let rendered = renderer.render(&report);
    // The location line is written here rather than by the renderer, which would print a
    // character column: nmf prints flake8's byte column in every format.
    let gutter = frame_last.to_string().len();
    let arrow = if color { "\x1b[1;94m-->\x1b[0m" } else { "-->" };
    let location_line = format!(
        "{:gutter$}{arrow} {path}:{}:{}",
        "", location.line, location.column
    );
    let mut lines = rendered.lines();
    let mut output = String::with_capacity(rendered.len() + location_line.len() + 2);
    if let Some(title) = lines.next() {
        output.push_str(title);
        output.push('\n');
    }
    output.push_str(&location_line);
    output.push('\n');
    for line in lines {
        output.push_str(line);
        output.push('\n');
    }
    if let Some(fix) = &diagnostic.fix {
        output.push_str(&render_fix(
            diagnostic,
            locator,
            fix.applicability(),
            gutter,
        ));
        if fix.applicability() == Applicability::Unsafe {
            output.push_str("note: This is an unsafe fix and may change runtime behavior\n");
        }
    }
    if let Some(note) = &diagnostic.note {
        output.push_str("note: ");
        output.push_str(note);
        output.push('\n');
    }
    output
}

/// How code frames are drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameOptions {
    pub color: bool,
    /// Unsafe fixes count as applicable (`[*]`), as with `--unsafe-fixes`.
    pub unsafe_fixes: bool,
}

impl FrameOptions {
    fn required_applicability(self) -> Applicability {
        if self.unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        }
    }
}

/// The lines a finding's fix changes, numbered, with a line of context: `-` for the old text,
/// `+` for the new. Only the lines around the edits are compared, so that a file with many
/// findings renders in linear time.
fn render_fix(
    diagnostic: &Diagnostic,
    locator: &SourceLocator<'_>,
    applicability: Applicability,
    gutter: usize,
) -> String {
    let Some(fix) = diagnostic.fix.as_ref() else {
        return String::new();
    };
    let (Some(first), Some(last)) = (fix.edits().first(), fix.edits().last()) else {
        return String::new();
    };
    let (first_line, _) = locator.lines(TextRange::empty(first.start()));
    let (_, last_line) = locator.lines(TextRange::empty(last.end()));
    let region_first = first_line.saturating_sub(1).max(1);
    let region_last = (last_line + 1).min(locator.line_count().max(1));
    let view = LineView::new(locator, region_first, region_last, first.start());
    let region = view.text.as_str();
    // The fix, with its edits moved into the region; an edit outside the lines shown (they
    // were cut for being too long) cannot be drawn.
    let mut shifted = Vec::with_capacity(fix.edits().len());
    for edit in fix.edits() {
        let (Some(start), Some(end)) = (view.map(edit.start()), view.map(edit.end())) else {
            return format!("{:gutter$} = the fix's lines are too long to show\n", "");
        };
        let range = TextRange::new(start, end.max(start));
        shifted.push(match edit.content() {
            Some(content) if !content.is_empty() => {
                ruff_diagnostics::Edit::range_replacement(content.to_string(), range)
            }
            _ => ruff_diagnostics::Edit::range_deletion(range),
        });
    }
    let mut edits = shifted.into_iter();
    let Some(head) = edits.next() else {
        return String::new();
    };
    let local = Diagnostic {
        fix: Some(ruff_diagnostics::Fix::applicable_edits(
            head,
            edits,
            applicability,
        )),
        ..diagnostic.clone()
    };
    let fixed = apply_fixes(region, std::slice::from_ref(&local), applicability).text;
    let diff = similar::TextDiff::from_lines(region, &fixed);
    let width = region_last.to_string().len().max(gutter);
    let mut out = format!("{:width$} |\n", "");
    for change in diff.iter_all_changes() {
        let (index, sign) = match change.tag() {
            similar::ChangeTag::Delete => (change.old_index(), '-'),
            similar::ChangeTag::Insert => (change.new_index(), '+'),
            similar::ChangeTag::Equal => (change.new_index(), ' '),
        };
        let number = index.map_or(0, |index| index + region_first);
        let text = displayable_line(change.value().trim_end_matches(['\n', '\r']));
        out.push_str(&format!("{number:>width$} {sign} {text}\n"));
    }
    out.push_str(&format!("{:width$} |\n", ""));
    out
}

/// Lines longer than this are shown cut to a window of this many bytes around the finding.
const MAX_LINE_WIDTH: usize = 160;

/// Lines of a source as a code frame shows them: each line longer than [`MAX_LINE_WIDTH`] cut
/// to a window around the finding's column, with `…` where it was cut, so that a finding in
/// a line of a megabyte (minified or generated code) draws a frame of a few hundred bytes.
struct LineView {
    text: String,
    /// Which bytes of the source each part of `text` shows: `(source range, start in text)`.
    pieces: Vec<(TextRange, usize)>,
}

impl LineView {
    fn new(locator: &SourceLocator<'_>, first: usize, last: usize, focus: TextSize) -> Self {
        let source = locator.source();
        let focus_line_start = {
            let line =
                locator.line_text(locator.location(focus).line, locator.location(focus).line);
            offset_in(source, line)
        };
        let focus_column = focus.to_usize().saturating_sub(focus_line_start);
        let mut view = Self {
            text: String::new(),
            pieces: Vec::new(),
        };
        for number in first..=last {
            let line = locator.line_text(number, number);
            let start = offset_in(source, line);
            let content = line.trim_end_matches(['\n', '\r']);
            let ending = &line[content.len()..];
            if content.len() <= MAX_LINE_WIDTH {
                view.push(source, start, line.len());
                continue;
            }
            let low = content.floor_char_boundary(focus_column.saturating_sub(MAX_LINE_WIDTH / 4));
            let high = content.ceil_char_boundary((low + MAX_LINE_WIDTH).min(content.len()));
            if low > 0 {
                view.text.push('…');
            }
            view.push(source, start + low, high - low);
            if high < content.len() {
                view.text.push('…');
            }
            view.push(source, start + content.len(), ending.len());
        }
        view
    }

    fn push(&mut self, source: &str, start: usize, len: usize) {
        let range = TextRange::new(
            TextSize::try_from(start).unwrap_or_default(),
            TextSize::try_from(start + len).unwrap_or_default(),
        );
        self.pieces.push((range, self.text.len()));
        // The separators and bidirectional controls are three bytes, as `�` is: the frame
        // shows a visible mark in their place without moving any offset.
        for c in source[start..start + len].chars() {
            self.text
                .push(if is_invisible_layout(c) && c.len_utf8() == 3 {
                    '\u{fffd}'
                } else {
                    c
                });
        }
    }

    /// Where a source offset is in the view, if the view shows it.
    fn map(&self, offset: TextSize) -> Option<TextSize> {
        self.pieces
            .iter()
            .find(|(range, _)| range.start() <= offset && offset <= range.end())
            .and_then(|(range, at)| {
                TextSize::try_from(*at)
                    .ok()
                    .map(|at| at + (offset - range.start()))
            })
    }

    /// A span's start in the view: where it is shown, or the start of the view.
    fn map_start(&self, offset: TextSize) -> usize {
        self.map(offset).map_or(0, |mapped| mapped.to_usize())
    }

    /// A span's end in the view: where it is shown, or the end of the first shown part after
    /// the span's start (the span runs on beyond the window).
    fn map_end(&self, offset: TextSize) -> usize {
        match self.map(offset) {
            Some(mapped) => mapped.to_usize(),
            None => self
                .pieces
                .iter()
                .rev()
                .find(|(range, _)| range.end() < offset)
                .map_or(self.text.len(), |(range, at)| at + range.len().to_usize()),
        }
    }
}

/// The offset of `part`, a slice of `source`, in `source`.
fn offset_in(source: &str, part: &str) -> usize {
    part.as_ptr() as usize - source.as_ptr() as usize
}
