//! Checking a whole tree: find the files, resolve each one's settings, check them in parallel,
//! and return every finding with its position, sorted.

use std::path::{Path, PathBuf};

use nmf_linter::render::SourceLocator;
use rayon::prelude::*;
use ruff_diagnostics::Applicability;

use crate::check::{CheckOptions, FileDiagnostics, check_text, could_match};
use crate::config::{ConfigError, Settings};
use crate::discover::{Discovered, absolutize, display_path};
use crate::fix::{MAX_FIX_PASSES, fix_text, unified_diff};
use crate::message::{
    ExplanationReport, Message, MessageOptions, io_error_message, sort_messages, to_message,
};
use crate::notebook::Notebook;
use crate::notebook_check::check_notebook;
use crate::project::ProjectIndex;
use crate::settings::SettingsResolver;
use crate::source::{
    FileStamp, SourceError, SourceText, decode_source, encode_source, read_regular_file,
    read_source,
};
use crate::write::write_fixed;

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
    /// Render code frames (the `full` format).
    pub frames: bool,
    pub color: bool,
    pub fix: FixMode,
    /// Unsafe fixes apply too (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
    /// Collect what the rules concluded where they looked (`--show-receivers`).
    pub explanations: bool,
}

impl RunOptions {
    pub(crate) fn message_options(&self) -> MessageOptions {
        MessageOptions {
            frames: self.frames,
            color: self.color,
            unsafe_fixes: self.unsafe_fixes,
        }
    }

    pub fn required_applicability(&self) -> Applicability {
        if self.unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        }
    }
}

/// What checking a set of paths gave.
#[derive(Debug, Default)]
pub struct RunResult {
    pub messages: Vec<Message>,
    pub files_checked: usize,
    pub files_parsed: usize,
    /// Problems that are not findings, printed on stderr: a path that does not exist.
    pub errors: Vec<String>,
    /// Fixes refused or not written, and fix loops that hit their bound; printed on stderr.
    pub fix_errors: Vec<String>,
    /// Remarks that are not errors, printed on stderr: stale temporary files removed.
    pub warnings: Vec<String>,
    /// Files not checked and why (a notebook of another language), printed with `-v`.
    pub skipped: Vec<String>,
    /// Per file (display path), the code of every fix applied (or, with `--diff`, that would be).
    pub fixed: Vec<(String, Vec<&'static str>)>,
    /// `--diff`: one unified diff per file that would change.
    pub diffs: Vec<String>,
    /// `--fix` on standard input: the source to print, fixed or not.
    pub stdin_output: Option<Vec<u8>>,
    /// `--show-receivers`: what the rules concluded where they looked, sorted.
    pub explanations: Vec<ExplanationReport>,
}

/// Checks what discovery found, files in parallel (and fixes them, as `options.fix` says);
/// folders that could not be listed are E902 findings, paths that do not exist errors.
pub fn check_discovered(
    discovered: &Discovered,
    resolver: &SettingsResolver,
    options: RunOptions,
) -> Result<RunResult, ConfigError> {
    let mut run = check_files(&discovered.files, resolver, options)?;
    run.errors.extend(discovered.missing.iter().cloned());
    for (folder, error) in &discovered.unreadable {
        let display = display_path(folder, resolver.working_dir());
        run.messages.push(io_error_message(&display, error));
    }
    sort_messages(&mut run.messages);
    Ok(run)
}

/// Checks files in parallel (and fixes them, as `options.fix` says).
pub fn check_files(
    files: &[PathBuf],
    resolver: &SettingsResolver,
    options: RunOptions,
) -> Result<RunResult, ConfigError> {
    let index = ProjectIndex::new();
    // Every file is read first, and the index learns what searches of the project (for
    // subclasses, for installed forwards) need of it; only the text of files that pass the
    // prefilter is kept for the checks.
    let inputs: Vec<Option<Result<Input, SourceError>>> = files
        .par_iter()
        .map(|path| {
            let input = read_input(path);
            let passes = match &input {
                Ok(Input::Python(source)) => {
                    index.learn(path, &source.text);
                    !options.check.prefilter
                        || resolver.for_file(path).map_or(true, |settings| {
                            could_match(&settings.linter_for(path), &source.text)
                        })
                }
                // A notebook is prefiltered on its Python cells' code; one of another language
                // goes on, to be reported as skipped.
                Ok(Input::Notebook(notebook, _)) => {
                    !options.check.prefilter
                        || notebook.foreign_language.is_some()
                        || resolver.for_file(path).map_or(true, |settings| {
                            could_match(&settings.linter_for(path), &notebook.source(&[]).text)
                        })
                }
                Err(_) => true,
            };
            passes.then_some(input)
        })
        .collect();
    // The prefilter has run.
    let checking = RunOptions {
        check: CheckOptions {
            prefilter: false,
            ..options.check
        },
        ..options
    };
    let outcomes: Vec<Result<FileOutcome, ConfigError>> = files
        .par_iter()
        .zip(inputs)
        .filter_map(|(path, input)| Some((path, input?)))
        .map(|(path, input)| {
            let settings = resolver.for_file(path)?;
            let display = display_path(path, resolver.working_dir());
            let target = Target {
                path,
                display: &display,
                destination: Destination::File(path),
            };
            Ok(match input {
                Ok(Input::Python(source)) => {
                    check_one(&source, &target, &settings, &index, checking)
                }
                Ok(Input::Notebook(notebook, stamp)) => {
                    check_notebook(&notebook, stamp, &target, &settings, &index, options)
                }
                Err(error) => FileOutcome::unreadable(&display, &error),
            })
        })
        .collect();
    let mut run = RunResult {
        files_checked: files.len(),
        ..RunResult::default()
    };
    for outcome in outcomes {
        run.add(outcome?);
    }
    sort_messages(&mut run.messages);
    run.explanations
        .sort_by(|a, b| (&a.path, a.cell, a.location).cmp(&(&b.path, b.cell, b.location)));
    run.fixed.sort();
    run.diffs.sort();
    Ok(run)
}

/// Checks source text read from standard input. `filename` names it in the output and
/// decides which configuration and `per-file-ignores` apply. With `--fix`, the (fixed) source
/// is returned in [`RunResult::stdin_output`].
pub fn check_stdin(
    bytes: Vec<u8>,
    filename: Option<&Path>,
    resolver: &SettingsResolver,
    options: RunOptions,
) -> Result<RunResult, ConfigError> {
    let (absolute, display) = match filename {
        Some(name) => {
            let absolute = absolutize(name, resolver.working_dir());
            let display = display_path(&absolute, resolver.working_dir());
            (absolute, display)
        }
        None => (resolver.working_dir().join("-"), "-".to_string()),
    };
    let settings = resolver.for_file(&absolute)?;
    // Editors and pre-commit pass the name of the file they send: an excluded name is skipped
    // with `--force-exclude`, as a path named on the command line is.
    if filename.is_some()
        && settings.force_exclude
        && settings.is_excluded_with_ancestors(&absolute)
    {
        return Ok(RunResult {
            stdin_output: (options.fix == FixMode::Apply).then_some(bytes),
            ..RunResult::default()
        });
    }
    let target = Target {
        path: &absolute,
        display: &display,
        destination: Destination::Stdout,
    };
    let input = if is_notebook(&absolute) {
        read_notebook(bytes.clone()).map(|notebook| Input::Notebook(notebook, None))
    } else {
        decode_source(bytes.clone()).map(Input::Python)
    };
    let index = ProjectIndex::new();
    let outcome = match input {
        Ok(Input::Python(source)) => check_one(&source, &target, &settings, &index, options),
        Ok(Input::Notebook(notebook, _)) => {
            check_notebook(&notebook, None, &target, &settings, &index, options)
        }
        Err(error) => {
            let mut outcome = FileOutcome::unreadable(&display, &error);
            if options.fix == FixMode::Apply {
                // Whatever cannot be decoded goes back out unchanged.
                outcome.stdin_output = Some(bytes);
            }
            outcome
        }
    };
    let mut run = RunResult {
        files_checked: 1,
        ..RunResult::default()
    };
    run.add(outcome);
    Ok(run)
}

/// A file's content, read and decoded: Python source, or a notebook.
enum Input {
    Python(SourceText),
    Notebook(Notebook, Option<FileStamp>),
}

/// Whether `path` names a Jupyter notebook.
pub(crate) fn is_notebook(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "ipynb")
}

fn read_input(path: &Path) -> Result<Input, SourceError> {
    if !is_notebook(path) {
        return read_source(path).map(Input::Python);
    }
    let (bytes, stamp) = read_regular_file(path)?;
    let notebook = read_notebook(bytes)?;
    Ok(Input::Notebook(notebook, Some(stamp)))
}

/// A notebook from its bytes; what is wrong with it, as an E902 reason.
fn read_notebook(bytes: Vec<u8>) -> Result<Notebook, SourceError> {
    let text = String::from_utf8(bytes).map_err(|error| SourceError {
        kind: "UnicodeDecodeError",
        message: format!(
            "'utf-8' codec can't decode byte {:#04x} in position {}: a notebook is UTF-8 JSON",
            error
                .as_bytes()
                .get(error.utf8_error().valid_up_to())
                .copied()
                .unwrap_or_default(),
            error.utf8_error().valid_up_to()
        ),
    })?;
    Notebook::parse(text).map_err(|message| SourceError {
        kind: "NotebookError",
        message,
    })
}

/// Where a fixed file goes.
#[derive(Clone, Copy)]
pub(crate) enum Destination<'a> {
    File(&'a Path),
    Stdout,
}

/// The file being checked: where it is, how it is printed, where fixes go.
pub(crate) struct Target<'a> {
    pub(crate) path: &'a Path,
    pub(crate) display: &'a str,
    pub(crate) destination: Destination<'a>,
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
    pub(crate) warnings: Vec<String>,
    pub(crate) explanations: Vec<ExplanationReport>,
    /// Why the file was not checked at all (a notebook of another language), for `-v`.
    pub(crate) skipped: Option<String>,
}

impl FileOutcome {
    /// The findings (and, with `--show-receivers`, the explanations) of the file's final text.
    fn report(&mut self, checked: FileDiagnostics, text: &str, options: RunOptions) {
        let wants_explanations = options.explanations && !checked.explanations.is_empty();
        if checked.diagnostics.is_empty() && !wants_explanations {
            return;
        }
        let locator = SourceLocator::new(text);
        let message_options = options.message_options();
        self.messages = checked
            .diagnostics
            .iter()
            .map(|diagnostic| to_message(diagnostic, &self.display, &locator, message_options))
            .collect();
        if wants_explanations {
            self.explanations = checked
                .explanations
                .into_iter()
                .map(|explanation| ExplanationReport {
                    path: self.display.clone(),
                    location: locator.location(explanation.range.start()),
                    cell: None,
                    explanation,
                })
                .collect();
        }
    }

    fn unreadable(display: &str, error: &SourceError) -> Self {
        Self {
            messages: vec![io_error_message(display, error)],
            display: display.to_string(),
            ..Self::default()
        }
    }
}

impl RunResult {
    fn add(&mut self, outcome: FileOutcome) {
        self.messages.extend(outcome.messages);
        self.files_parsed += usize::from(outcome.parsed);
        if !outcome.fixed.is_empty() {
            self.fixed.push((outcome.display, outcome.fixed));
        }
        self.diffs.extend(outcome.diff);
        self.fix_errors.extend(outcome.errors);
        self.warnings.extend(outcome.warnings);
        self.skipped.extend(outcome.skipped);
        self.explanations.extend(outcome.explanations);
        if outcome.stdin_output.is_some() {
            self.stdin_output = outcome.stdin_output;
        }
    }
}

fn check_one(
    source: &SourceText,
    target: &Target<'_>,
    settings: &Settings,
    index: &ProjectIndex,
    options: RunOptions,
) -> FileOutcome {
    let Target {
        path,
        display,
        destination,
    } = *target;
    let linter = settings.linter_for(path);
    let mut outcome = FileOutcome {
        display: display.to_string(),
        ..FileOutcome::default()
    };
    // The prefilter runs before the file is placed in its project, which costs file-system
    // look-ups: most files stop here.
    if options.check.prefilter && !could_match(&linter, &source.text) {
        if destination_is_stdout_fix(destination, options) {
            outcome.stdin_output = encode_source(source, &source.text);
        }
        return outcome;
    }
    let view = index.view_with(path, &settings.import_paths);
    let file = view.file_context();
    let options = RunOptions {
        check: CheckOptions {
            prefilter: false,
            ..options.check
        },
        ..options
    };
    if options.fix == FixMode::Off {
        let checked = check_text(&source.text, &linter, &file, options.check);
        outcome.parsed = checked.parsed;
        outcome.report(checked, &source.text, options);
        return outcome;
    }
    let fixed = fix_text(
        &source.text,
        &linter,
        &file,
        options.check,
        options.required_applicability(),
    );
    outcome.parsed = fixed.remaining.parsed;
    if let Some(refusal) = fixed.refusal {
        outcome.errors.push(format!("{display}: {refusal}"));
    }
    if fixed.hit_pass_limit {
        outcome.errors.push(format!(
            "{display}: fixes were still pending after {MAX_FIX_PASSES} passes; the file was fixed as far as it got"
        ));
    }
    // The text the file holds after this run, and whether the fix loop's findings describe it.
    let mut final_text: &str = &source.text;
    let mut final_is_fixed = false;
    if let Some(new_text) = &fixed.fixed_text {
        let took_effect = match (options.fix, destination) {
            (FixMode::Diff, _) => {
                outcome.diff = Some(unified_diff(display, &source.text, new_text));
                true
            }
            (FixMode::Apply, Destination::Stdout) => true,
            (FixMode::Apply, Destination::File(path)) => {
                let written = encode_source(source, new_text)
                    .ok_or_else(|| {
                        "fixes not written, the file is unchanged: the fixed text cannot be \
                         encoded in the file's encoding"
                            .to_string()
                    })
                    .and_then(|bytes| write_fixed(path, source.stamp, &bytes));
                match written {
                    Ok(remarks) => {
                        outcome.warnings.extend(remarks);
                        true
                    }
                    Err(error) => {
                        outcome.errors.push(format!("{display}: {error}"));
                        false
                    }
                }
            }
            (FixMode::Off, _) => false,
        };
        if took_effect {
            outcome.fixed.clone_from(&fixed.fixed);
            if options.fix == FixMode::Apply {
                final_text = new_text;
                final_is_fixed = true;
            }
        }
    }
    if destination_is_stdout_fix(destination, options) {
        outcome.stdin_output = encode_source(source, final_text);
    }
    let remaining = if fixed.fixed_text.is_none() || final_is_fixed {
        fixed.remaining
    } else {
        check_text(final_text, &linter, &file, options.check)
    };
    outcome.report(remaining, final_text, options);
    outcome
}

fn destination_is_stdout_fix(destination: Destination<'_>, options: RunOptions) -> bool {
    matches!(destination, Destination::Stdout) && options.fix == FixMode::Apply
}
