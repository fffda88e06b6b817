//! Source positions as flake8 prints them, and findings as code frames (ruff's `full` format).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use ruff_source_file::{LineIndex, OneIndexed};
use ruff_text_size::{Ranged, TextRange, TextSize};

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

/// Converts offsets of one source text into flake8 locations.
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
    let frame = locator.line_text(frame_first, frame_last);
    let frame_offset = frame.as_ptr() as usize - locator.source().as_ptr() as usize;
    let span_start = diagnostic
        .range
        .start()
        .to_usize()
        .saturating_sub(frame_offset);
    let span_end = diagnostic
        .range
        .end()
        .to_usize()
        .saturating_sub(frame_offset)
        .max(span_start);
    // A zero-width span (an error at the end of the file) still gets a caret.
    let span_end = if span_end == span_start {
        (span_start + 1).min(frame.len())
    } else {
        span_end.min(frame.len())
    };
    let title = Level::ERROR
        .no_name()
        .primary_title(diagnostic.message.as_str())
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
    let region = locator.line_text(region_first, region_last);
    let source = locator.source();
    let region_start =
        TextSize::try_from(region.as_ptr() as usize - source.as_ptr() as usize).unwrap_or_default();
    // The fix, with its edits moved into the region.
    let shifted: Vec<ruff_diagnostics::Edit> = fix
        .edits()
        .iter()
        .map(|edit| match edit.content() {
            Some(content) if !content.is_empty() => ruff_diagnostics::Edit::range_replacement(
                content.to_string(),
                edit.range() - region_start,
            ),
            _ => ruff_diagnostics::Edit::range_deletion(edit.range() - region_start),
        })
        .collect();
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
        let text = change.value().trim_end_matches(['\n', '\r']);
        out.push_str(&format!("{number:>width$} {sign} {text}\n"));
    }
    out.push_str(&format!("{:width$} |\n", ""));
    out
}
