//! One file's way through nmf, the same for every kind of source: with the rules its prefilter
//! admitted, it is placed in its project, checked, fixed (pass after pass until nothing is left
//! to apply), written back (or diffed, or sent to standard output), and its findings located
//! for the output. Only reading the code out of the source and putting fixed code back in
//! depend on the kind (see [`Code`]).

use std::sync::Arc;

use nmf_linter::checker::{FileContext, MAX_FINDINGS_PER_FILE};
use nmf_linter::diagnostic::Diagnostic;
use nmf_linter::fix::apply_fixes;
use nmf_linter::noqa::{NoqaEditor, NoqaEdits};
use nmf_linter::registry::RuleSet;
use nmf_linter::render::SourceLocator;
use nmf_linter::settings::LinterSettings;
use ruff_diagnostics::{Applicability, Fix};
use ruff_python_ast::PySourceType;
use ruff_text_size::Ranged;

use crate::check::fix::{FixOutcome, MAX_FIX_PASSES, fix_with, unified_diff};
use crate::check::message::{ExplanationReport, Message, io_error_message, to_message};
use crate::check::notebook::{CellTracker, NotebookCode};
use crate::check::write::write_fixed;
use crate::check::{CheckOptions, FileDiagnostics, check_text};
use crate::project::ProjectIndex;
use crate::project::dependencies::{Recorder, RecordingView};
use crate::settings::config::Settings;
use crate::source::kind::SourceKind;
use crate::source::magics::expose_magics;
use crate::source::notebook::Notebook;
use crate::source::parse::ParsedModule;
use crate::source::{SourceError, SourceText, encode_source};

/// Whether a run fixes what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FixMode {
    /// Report only.
    #[default]
    Off,
    /// `--fix`: write the fixes (to stdout for standard input).
    Apply,
    /// `--diff`: print what would change, write nothing.
    Diff,
}

/// How a run renders and checks, beyond per-folder settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub check: CheckOptions,
    /// Keep the text each finding is in, so that code frames can be drawn when printing (the
    /// `full` format).
    pub frames: bool,
    pub fix: FixMode,
    /// Unsafe fixes apply too (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
    /// Collect what the rules concluded where they looked (`--show-receivers`).
    pub explanations: bool,
    /// Use the cache (`--no-cache` turns it off).
    pub cache: bool,
    /// `--add-noqa`: with `fix` [`FixMode::Apply`], the fixes applied are the `# noqa`
    /// directives that silence each rule finding, written as fixes are (the rules' own fixes
    /// are not applied); the findings left are those no directive can silence, each with the
    /// reason as its `fix_title`.
    pub add_noqa: bool,
}

impl RunOptions {
    pub fn required_applicability(&self) -> Applicability {
        if self.unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        }
    }
}

/// Where a fixed file goes.
#[derive(Clone, Copy)]
pub(crate) enum Destination<'a> {
    File(&'a std::path::Path),
    Stdout,
}

/// The file being checked: where it is, how it is printed, where fixes go.
pub(crate) struct Target<'a> {
    pub(crate) path: &'a std::path::Path,
    pub(crate) display: &'a str,
    pub(crate) destination: Destination<'a>,
    /// Records what the check depends on, for the cache.
    pub(crate) recorder: Option<&'a Recorder>,
}

/// What checking (and fixing) one file gave.
#[derive(Default)]
pub(crate) struct FileOutcome {
    pub(crate) messages: Vec<Message>,
    pub(crate) parsed: bool,
    pub(crate) fixed: Vec<&'static str>,
    pub(crate) display: String,
    pub(crate) diff: Option<String>,
    pub(crate) stdin_output: Option<Vec<u8>>,
    pub(crate) errors: Vec<String>,
    pub(crate) explanations: Vec<ExplanationReport>,
    /// Why the file was not checked at all (a notebook of another language), for `-v`.
    pub(crate) skipped: Option<String>,
    /// `--add-noqa`: the directives added (or extended).
    pub(crate) noqa_added: usize,
}

impl FileOutcome {
    /// Keeps what writing the fixed file gave (the error naming the file); whether it was
    /// written.
    fn record_write(&mut self, written: Result<(), String>) -> bool {
        match written {
            Ok(()) => true,
            Err(error) => {
                self.errors.push(format!("{}: {error}", self.display));
                false
            }
        }
    }

    pub(crate) fn unreadable(display: &str, error: &SourceError) -> Self {
        Self {
            messages: vec![io_error_message(display, error)],
            display: display.to_string(),
            ..Self::default()
        }
    }
}

/// Checks one file, and fixes it as `options.fix` says. `rules` are those its prefilter
/// admitted (see [`crate::check::admitted_rules`]): none, and the file is not parsed.
pub(crate) fn check_file(
    source: &SourceKind,
    rules: RuleSet,
    target: &Target<'_>,
    settings: &Settings,
    index: &ProjectIndex,
    options: RunOptions,
) -> FileOutcome {
    let Target {
        path,
        display,
        destination,
        recorder,
    } = *target;
    let mut outcome = FileOutcome {
        display: display.to_string(),
        ..FileOutcome::default()
    };
    let stdout_fix = matches!(destination, Destination::Stdout) && options.fix == FixMode::Apply;
    if stdout_fix {
        // What goes back out unless a fix changes it.
        outcome.stdin_output = source.unchanged_bytes();
    }
    if let Some(language) = source.foreign_language() {
        outcome.skipped = Some(format!(
            "{display}: skipped, its kernel's language is {language}, not Python"
        ));
        return outcome;
    }
    if rules.is_empty() {
        return outcome;
    }
    let linter = LinterSettings {
        rules,
        ..settings.linter_for(path)
    };
    // Placing the file in its project costs file-system look-ups: files the prefilter ruled
    // out never get here.
    let view = index.view_with(path, &settings.import_paths);
    let recording;
    let file = match recorder {
        Some(recorder) => {
            recording = RecordingView {
                view: &view,
                recorder,
            };
            view.file_context_with(&recording)
        }
        None => view.file_context(),
    };
    let code = Code::new(source, options.check.respect_noqa);
    // `--add-noqa`: the directives of the first pass, the one on the file as it was.
    let noqa_directives: std::cell::Cell<Option<usize>> = std::cell::Cell::new(None);
    let check = |text: &str| {
        let checked = code.check(text, &linter, &file);
        if !options.add_noqa {
            return checked;
        }
        let (checked, directives) = with_noqa_directives(checked, text, code.source_type());
        if noqa_directives.get().is_none() {
            noqa_directives.set(Some(directives));
        }
        checked
    };

    // The fixed source, when the fixes took effect on it; and the text the fix loop ended on,
    // with its findings.
    let mut fixed_source: Option<Fixed> = None;
    let mut loop_end: Option<(String, FileDiagnostics)> = None;
    if options.fix != FixMode::Off {
        let required = options.required_applicability();
        let (fixed, notebook_fix) = code.fix(required, &check);
        if notebook_fix.as_ref().is_some_and(|fix| fix.crossing) {
            outcome.errors.push(format!(
                "{display}: a fix would reach across two cells; it was not applied"
            ));
        }
        if let Some(refusal) = &fixed.refusal {
            outcome.errors.push(format!("{display}: {refusal}"));
        }
        if fixed.hit_pass_limit {
            outcome.errors.push(format!(
                "{display}: fixes were still pending after {MAX_FIX_PASSES} passes; the {} was fixed as far as it got",
                code.noun()
            ));
        }
        if let Some(new_text) = &fixed.fixed_text {
            let change = code.change(new_text, notebook_fix.as_ref());
            let took_effect = match (options.fix, destination) {
                (FixMode::Diff, _) => {
                    outcome.diff = Some(change.diff(display));
                    true
                }
                (FixMode::Apply, Destination::Stdout) => {
                    if let Change::Notebook { written, .. } = &change {
                        outcome.stdin_output = Some(written.clone().into_bytes());
                    }
                    true
                }
                (FixMode::Apply, Destination::File(path)) => {
                    let written = change
                        .bytes()
                        .and_then(|bytes| write_fixed(path, source.stamp(), &bytes));
                    outcome.record_write(written)
                }
                (FixMode::Off, _) => false,
            };
            if took_effect {
                outcome.fixed.clone_from(&fixed.fixed);
                outcome.noqa_added = noqa_directives.get().unwrap_or_default();
                if options.fix == FixMode::Apply {
                    fixed_source = Some(change.into_fixed());
                }
            }
        }
        let end = match fixed.fixed_text {
            Some(text) => text,
            None => code.text().to_string(),
        };
        loop_end = Some((end, fixed.remaining));
    }

    // The code the file holds after this run, and its findings: the fix loop's, when it
    // ended on that code, else found again.
    let refreshed_notebook = match (&code, &fixed_source) {
        (Code::Notebook(code), Some(Fixed::Notebook(Some(notebook)))) => Some(code.after(notebook)),
        _ => None,
    };
    let final_code = match (&code, &fixed_source) {
        (Code::Python { source, .. }, Some(Fixed::Python(text))) => {
            FinalCode::Python { source, text }
        }
        (Code::Python { source, .. }, _) => FinalCode::Python {
            source,
            text: &source.text,
        },
        (Code::Notebook(code), _) => {
            FinalCode::Notebook(refreshed_notebook.as_ref().unwrap_or(code))
        }
    };
    let final_text = final_code.text();
    let checked = match loop_end {
        Some((end, remaining)) if end == final_text => remaining,
        _ => check(final_text),
    };
    if checked.truncated {
        outcome.errors.push(format!(
            "{display}: more than {MAX_FINDINGS_PER_FILE} findings; only the first \
             {MAX_FINDINGS_PER_FILE} are reported"
        ));
    }
    if stdout_fix && let FinalCode::Python { source, text } = &final_code {
        outcome.stdin_output = encode_source(source, text);
    }
    match final_code {
        FinalCode::Python { text, .. } => {
            outcome.parsed = checked.parsed;
            report_python(&mut outcome, text, checked, options);
        }
        FinalCode::Notebook(code) => {
            outcome.parsed = true;
            code.report(&mut outcome, checked, options);
        }
    }
    outcome
}

/// A source's Python code as the rules see it, and the way fixed code goes back into it.
enum Code<'s> {
    Python {
        source: &'s SourceText,
        respect_noqa: bool,
    },
    Notebook(NotebookCode<'s>),
}

/// Fixed code put back into its source.
enum Change<'a> {
    Python {
        source: &'a SourceText,
        text: &'a str,
    },
    Notebook {
        code: &'a NotebookCode<'a>,
        /// The new text of each edited cell.
        edited: Vec<(usize, String)>,
        /// The notebook's JSON with them.
        written: String,
    },
}

/// A source after its fixes were applied.
enum Fixed {
    Python(String),
    /// `None`: the fixed notebook could not be read back; its findings are the original's.
    Notebook(Option<Notebook>),
}

/// The code a file holds after the run, which its findings are reported in.
enum FinalCode<'a> {
    Python {
        source: &'a SourceText,
        text: &'a str,
    },
    Notebook(&'a NotebookCode<'a>),
}

impl<'s> Code<'s> {
    fn new(source: &'s SourceKind, respect_noqa: bool) -> Self {
        match source {
            SourceKind::Python(source) => Self::Python {
                source,
                respect_noqa,
            },
            SourceKind::Notebook(file) => {
                Self::Notebook(NotebookCode::new(&file.notebook, respect_noqa))
            }
        }
    }

    fn text(&self) -> &str {
        match self {
            Self::Python { source, .. } => &source.text,
            Self::Notebook(code) => code.text(),
        }
    }

    fn source_type(&self) -> PySourceType {
        match self {
            Self::Python { .. } => PySourceType::Python,
            Self::Notebook(_) => PySourceType::Ipynb,
        }
    }

    fn noun(&self) -> &'static str {
        match self {
            Self::Python { .. } => "file",
            Self::Notebook(_) => "notebook",
        }
    }

    fn check(
        &self,
        text: &str,
        linter: &LinterSettings,
        file: &FileContext<'_>,
    ) -> FileDiagnostics {
        match self {
            Self::Python { respect_noqa, .. } => {
                check_text(text, PySourceType::Python, linter, file, *respect_noqa)
            }
            Self::Notebook(code) => code.check(text, linter, file),
        }
    }

    /// Applies the fixes that meet `required` until none is left (in a notebook, keeping
    /// track of its cells).
    fn fix(
        &self,
        required: Applicability,
        check: &impl Fn(&str) -> FileDiagnostics,
    ) -> (FixOutcome, Option<CellTracker>) {
        match self {
            Self::Python { source, .. } => {
                let fixed = fix_with(
                    &source.text,
                    required,
                    PySourceType::Python,
                    check,
                    |text, diagnostics| apply_fixes(text, diagnostics, required),
                );
                (fixed, None)
            }
            Self::Notebook(code) => {
                let (fixed, fix) = code.fix(required, check);
                (fixed, Some(fix))
            }
        }
    }

    /// The fixed code `new_text` put back into the source.
    fn change<'a>(&'a self, new_text: &'a str, notebook_fix: Option<&CellTracker>) -> Change<'a> {
        match (self, notebook_fix) {
            (Self::Notebook(code), Some(fix)) => {
                let (edited, written) = code.change(new_text, fix);
                Change::Notebook {
                    code,
                    edited,
                    written,
                }
            }
            (Self::Notebook(code), None) => Change::Notebook {
                code,
                edited: Vec::new(),
                written: code.notebook().raw().to_string(),
            },
            (Self::Python { source, .. }, _) => Change::Python {
                source,
                text: new_text,
            },
        }
    }
}

impl Change<'_> {
    /// The bytes to write; why there are none.
    fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Self::Python { source, text } => encode_source(source, text).ok_or_else(|| {
                "fixes not written, the file is unchanged: the fixed text cannot be encoded in \
                 the file's encoding"
                    .to_string()
            }),
            Self::Notebook { written, .. } => Ok(written.clone().into_bytes()),
        }
    }

    /// `--diff`: what would change.
    fn diff(&self, display: &str) -> String {
        match self {
            Self::Python { source, text } => unified_diff(display, &source.text, text),
            Self::Notebook { code, edited, .. } => code.cell_diffs(edited, display),
        }
    }

    fn into_fixed(self) -> Fixed {
        match self {
            Self::Python { text, .. } => Fixed::Python(text.to_string()),
            Self::Notebook { written, .. } => Fixed::Notebook(Notebook::parse(written).ok()),
        }
    }
}

impl FinalCode<'_> {
    fn text(&self) -> &str {
        match self {
            Self::Python { text, .. } => text,
            Self::Notebook(code) => code.text(),
        }
    }
}

/// The findings (and, with `--show-receivers`, the explanations) of a Python file, located in
/// its final text.
fn report_python(
    outcome: &mut FileOutcome,
    text: &str,
    checked: FileDiagnostics,
    options: RunOptions,
) {
    let wants_explanations = options.explanations && !checked.explanations.is_empty();
    if checked.diagnostics.is_empty() && !wants_explanations {
        return;
    }
    let locator = SourceLocator::new(text);
    let kept: Option<Arc<str>> = options.frames.then(|| Arc::from(text));
    outcome.messages = checked
        .diagnostics
        .iter()
        .map(|diagnostic| to_message(diagnostic, &outcome.display, &locator, kept.as_ref()))
        .collect();
    if wants_explanations {
        outcome.explanations = checked
            .explanations
            .into_iter()
            .map(|explanation| ExplanationReport {
                path: outcome.display.clone(),
                location: locator.location(explanation.range.start()),
                cell: None,
                explanation,
            })
            .collect();
    }
}

/// `--add-noqa`: `checked` (the findings of `text`) with every fix replaced: the first rule
/// finding carries the insertions of the one shared [`NoqaEditor`] that silence every rule
/// finding (one per line run flake8 joins; an existing directive is extended), applied by the
/// fix loop and written as fixes are; a finding no directive can silence keeps no fix and says
/// why in its `fix_title`. Syntax and read errors are left alone. Also returns how many
/// directives there are.
fn with_noqa_directives(
    mut checked: FileDiagnostics,
    text: &str,
    source_type: PySourceType,
) -> (FileDiagnostics, usize) {
    for diagnostic in &mut checked.diagnostics {
        diagnostic.fix = None;
    }
    let rules: Vec<usize> = (0..checked.diagnostics.len())
        .filter(|&index| checked.diagnostics[index].rule.is_some())
        .collect();
    let Some(&first) = rules.first() else {
        return (checked, 0);
    };
    // A notebook's magics read as the check reads them (the text keeps its length).
    let exposed = match source_type {
        PySourceType::Ipynb => expose_magics(text),
        _ => std::borrow::Cow::Borrowed(text),
    };
    let module = ParsedModule::parse(&exposed, source_type);
    // The reader takes each line on its own when the check met a syntax error.
    let physical = checked.diagnostics.iter().any(Diagnostic::is_error);
    let editor = NoqaEditor::new(&exposed, module.parsed().tokens(), physical);
    let locator = SourceLocator::new(text);
    let lines: Vec<usize> = rules
        .iter()
        .map(|&index| locator.location(checked.diagnostics[index].start()).line)
        .collect();
    let NoqaEdits { edits, refused } = editor.edits(
        rules
            .iter()
            .zip(&lines)
            .map(|(&index, &line)| (line, checked.diagnostics[index].code)),
    );
    for (index, line) in rules.iter().zip(&lines) {
        let diagnostic = &mut checked.diagnostics[*index];
        if let Some((_, _, reason)) = refused
            .iter()
            .find(|(refused_line, code, _)| refused_line == line && code == diagnostic.code)
        {
            diagnostic.fix_title = Some(reason.to_string());
        }
    }
    let directives = edits.len();
    let mut edits = edits.into_iter();
    if let Some(edit) = edits.next() {
        checked.diagnostics[first].fix = Some(Fix::safe_edits(edit, edits));
    }
    (checked, directives)
}
