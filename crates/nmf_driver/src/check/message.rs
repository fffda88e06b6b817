//! Findings located in their file, ready for any output format.

use std::sync::Arc;

use nmf_linter::diagnostic::{Diagnostic, Explanation, error_codes};
use nmf_linter::registry::RuleInfo;
use nmf_linter::render::{FrameOptions, Location, SourceLocator, render_code_frame};
use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_text_size::{Ranged, TextRange};

use crate::source::SourceError;

/// One finding, located, ready to print.
#[derive(Debug, Clone)]
pub struct Message {
    /// The path as printed: relative to the working folder when inside it.
    pub path: String,
    pub rule: Option<&'static RuleInfo>,
    pub code: &'static str,
    pub message: String,
    pub start: Location,
    pub end: Location,
    pub fix_title: Option<String>,
    pub note: Option<String>,
    /// The fix's edits with their positions, when the finding has one.
    pub fix: Option<MessageFix>,
    /// The text the finding is located in (its file's, or in a notebook its cell's), kept when
    /// the output draws code frames, which are drawn when printing (see [`code_frames`]): a
    /// finding from the cache is drawn as one just found.
    pub source: Option<Arc<str>>,
    /// In a notebook: the cell, numbered from 1 over every cell; `start` and `end` are then
    /// within the cell.
    pub cell: Option<usize>,
    /// In a notebook: the line of the JSON file where the finding's source line is written,
    /// for formats that point into the file itself (`github`, `sarif`); and where its last
    /// line is.
    pub file_line: Option<usize>,
    pub file_end_line: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct MessageFix {
    pub applicability: Applicability,
    pub edits: Vec<MessageEdit>,
}

impl Message {
    /// Whether `--fix` applies this finding's fix when fixes of `required` apply.
    pub fn is_fixable(&self, required: Applicability) -> bool {
        self.fix
            .as_ref()
            .is_some_and(|fix| fix.applicability >= required)
    }
}

#[derive(Debug, Clone)]
pub struct MessageEdit {
    pub start: Location,
    pub end: Location,
    pub content: String,
}

/// What a rule concluded at one place, located (`--show-receivers`).
#[derive(Debug, Clone)]
pub struct ExplanationReport {
    pub path: String,
    pub location: Location,
    /// In a notebook, the cell (`location` is within it).
    pub cell: Option<usize>,
    pub explanation: Explanation,
}

/// Locates a finding in `locator`'s text (a file's, or a notebook cell's); `source` is that
/// text, kept for drawing the finding's code frame when printing.
pub(crate) fn to_message(
    diagnostic: &Diagnostic,
    display: &str,
    locator: &SourceLocator<'_>,
    source: Option<&Arc<str>>,
) -> Message {
    let fix = diagnostic.fix.as_ref().map(|fix| MessageFix {
        applicability: fix.applicability(),
        edits: fix
            .edits()
            .iter()
            .map(|edit| MessageEdit {
                start: locator.location(edit.start()),
                end: locator.location(edit.end()),
                content: edit.content().unwrap_or_default().to_string(),
            })
            .collect(),
    });
    Message {
        path: display.to_string(),
        rule: diagnostic.rule,
        code: diagnostic.code,
        message: diagnostic.message.clone(),
        start: locator.location(diagnostic.start()),
        end: locator.location(diagnostic.end()),
        fix_title: diagnostic.fix_title.clone(),
        note: diagnostic.note.clone(),
        fix,
        source: source.cloned(),
        cell: None,
        file_line: None,
        file_end_line: None,
    }
}

impl Message {
    /// The finding as the rules reported it, placed again in its text.
    fn to_diagnostic(&self, locator: &SourceLocator<'_>) -> Diagnostic {
        let range = |start: Location, end: Location| {
            let start = locator.offset(start);
            TextRange::new(start, locator.offset(end).max(start))
        };
        let fix = self.fix.as_ref().and_then(|fix| {
            let mut edits = fix.edits.iter().map(|edit| {
                let range = range(edit.start, edit.end);
                if edit.content.is_empty() {
                    Edit::range_deletion(range)
                } else {
                    Edit::range_replacement(edit.content.clone(), range)
                }
            });
            let first = edits.next()?;
            Some(Fix::applicable_edits(first, edits, fix.applicability))
        });
        Diagnostic {
            rule: self.rule,
            code: self.code,
            message: self.message.clone(),
            range: range(self.start, self.end),
            fix,
            fix_title: self.fix_title.clone(),
            note: self.note.clone(),
        }
    }

    /// Where the code frame says the finding is: the file, or the notebook's cell.
    fn frame_label(&self) -> String {
        match self.cell {
            Some(cell) => format!("{}:cell {cell}", self.path),
            None => self.path.clone(),
        }
    }
}

/// The code frame of each finding (ruff's `full` format), drawn from the text kept with it;
/// `None` for a finding without one (an unreadable file). Consecutive findings in one text
/// share its line index, so that a file with many findings is indexed once.
pub fn code_frames(messages: &[Message], options: FrameOptions) -> Vec<Option<String>> {
    let same_text = |a: &Message, b: &Message| match (&a.source, &b.source) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    };
    let mut frames = Vec::with_capacity(messages.len());
    for group in messages.chunk_by(same_text) {
        let Some(source) = group.first().and_then(|first| first.source.as_ref()) else {
            frames.extend(group.iter().map(|_| None));
            continue;
        };
        let locator = SourceLocator::new(source);
        frames.extend(group.iter().map(|message| {
            let diagnostic = message.to_diagnostic(&locator);
            Some(render_code_frame(
                &diagnostic,
                &message.frame_label(),
                &locator,
                options,
            ))
        }));
    }
    frames
}

/// An unreadable file is reported at 1:1 as E902.
pub(crate) fn io_error_message(display: &str, error: &SourceError) -> Message {
    let start = Location { line: 1, column: 1 };
    let diagnostic = Diagnostic::error(
        error_codes::IO_ERROR,
        error.to_string(),
        TextRange::default(),
    );
    Message {
        path: display.to_string(),
        rule: None,
        code: diagnostic.code,
        message: diagnostic.message,
        start,
        end: start,
        fix_title: None,
        note: None,
        fix: None,
        source: None,
        cell: None,
        file_line: None,
        file_end_line: None,
    }
}

pub fn sort_messages(messages: &mut [Message]) {
    messages.sort_by(|a, b| {
        (a.path.as_str(), a.cell, a.start, a.code).cmp(&(b.path.as_str(), b.cell, b.start, b.code))
    });
}
