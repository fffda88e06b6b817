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
use crate::project::ProjectIndex;
use crate::settings::SettingsResolver;
use crate::source::{SourceError, SourceText, decode_source, encode_source, read_source};
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
    fn message_options(&self) -> MessageOptions {
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
    let sources: Vec<Option<Result<SourceText, SourceError>>> = files
        .par_iter()
        .map(|path| {
            let source = read_source(path);
            if let Ok(source) = &source {
                index.learn(path, &source.text);
                let passes = match resolver.for_file(path) {
                    Ok(settings) => {
                        !options.check.prefilter
                            || could_match(&settings.linter_for(path), &source.text)
                    }
                    // The error surfaces when the file is checked.
                    Err(_) => true,
                };
                if !passes {
                    return None;
                }
            }
            Some(source)
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
        .zip(sources)
        .filter_map(|(path, source)| Some((path, source?)))
        .map(|(path, source)| {
            let settings = resolver.for_file(path)?;
            let display = display_path(path, resolver.working_dir());
            Ok(match source {
                Ok(source) => {
                    let target = Target {
                        path,
                        display: &display,
                        destination: Destination::File(path),
                    };
                    check_one(&source, &target, &settings, &index, checking)
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
        .sort_by(|a, b| (&a.path, a.location).cmp(&(&b.path, b.location)));
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
    let outcome = match decode_source(bytes.clone()) {
        Ok(source) => {
            let target = Target {
                path: &absolute,
                display: &display,
                destination: Destination::Stdout,
            };
            check_one(&source, &target, &settings, &ProjectIndex::new(), options)
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

/// Where a fixed file goes.
#[derive(Clone, Copy)]
enum Destination<'a> {
    File(&'a Path),
    Stdout,
}

/// The file being checked: where it is, how it is printed, where fixes go.
struct Target<'a> {
    path: &'a Path,
    display: &'a str,
    destination: Destination<'a>,
}

/// What checking (and fixing) one file gave.
#[derive(Default)]
struct FileOutcome {
    messages: Vec<Message>,
    parsed: bool,
    fixed: Vec<&'static str>,
    display: String,
    diff: Option<String>,
    stdin_output: Option<Vec<u8>>,
    errors: Vec<String>,
    warnings: Vec<String>,
    explanations: Vec<ExplanationReport>,
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
