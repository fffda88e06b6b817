//! Findings located in their file, ready for any output format.

use nmf_linter::diagnostic::{Diagnostic, Explanation, error_codes};
use nmf_linter::registry::RuleInfo;
use nmf_linter::render::{FrameOptions, Location, SourceLocator, render_code_frame};
use ruff_diagnostics::Applicability;
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
    /// The code frame, rendered when the output format shows one.
    pub frame: Option<String>,
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

/// How a finding is located and drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageOptions {
    /// Render the code frame (the `full` format).
    pub frames: bool,
    pub color: bool,
    /// Unsafe fixes count as applicable.
    pub unsafe_fixes: bool,
}

/// Locates a finding in its file's text.
pub(crate) fn to_message(
    diagnostic: &Diagnostic,
    display: &str,
    locator: &SourceLocator<'_>,
    options: MessageOptions,
) -> Message {
    to_located_message(diagnostic, display, display, locator, options)
}

/// Locates a finding in `locator`'s text; `frame_label` names the place in the code frame
/// (`nb.ipynb:cell 3` for a notebook cell).
pub(crate) fn to_located_message(
    diagnostic: &Diagnostic,
    display: &str,
    frame_label: &str,
    locator: &SourceLocator<'_>,
    options: MessageOptions,
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
        frame: options.frames.then(|| {
            let frame_options = FrameOptions {
                color: options.color,
                unsafe_fixes: options.unsafe_fixes,
            };
            render_code_frame(diagnostic, frame_label, locator, frame_options)
        }),
        cell: None,
        file_line: None,
        file_end_line: None,
    }
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
        frame: None,
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
