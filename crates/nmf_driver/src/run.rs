//! Checking a whole tree: find the files, resolve each one's settings, check them in parallel,
//! and return every finding with its position, sorted.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};
use nmf_linter::checker::ReceiverExplanation;
use nmf_linter::diagnostic::{Diagnostic, error_codes};
use nmf_linter::registry::RuleInfo;
use nmf_linter::render::{FrameOptions, Location, SourceLocator, render_code_frame};
use rayon::prelude::*;
use ruff_diagnostics::Applicability;
use ruff_text_size::{Ranged, TextRange};
use rustc_hash::FxHashMap;

use crate::check::{CheckOptions, FileDiagnostics, check_text, could_match};
use crate::config::{ConfigError, Options, Overrides, Settings, find_config_in, load_options};
use crate::fix::{MAX_FIX_PASSES, fix_text, unified_diff, write_atomically};
use crate::project::ProjectIndex;
use crate::source::{SourceError, SourceText, decode_source, encode_source, read_source};

/// Where settings come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The closest configuration file of each checked file.
    Discover,
    /// One file for everything (`--config`).
    File(PathBuf),
    /// No configuration files at all (`--isolated`).
    Isolated,
}

/// Finds and caches the settings of each folder.
pub struct SettingsResolver {
    source: ConfigSource,
    overrides: Overrides,
    working_dir: PathBuf,
    /// Settings for `--config`, `--isolated`, and folders with no configuration above them.
    fallback: Arc<Settings>,
    folders: Mutex<FxHashMap<PathBuf, Result<Arc<Settings>, ConfigError>>>,
}

impl SettingsResolver {
    pub fn new(
        source: ConfigSource,
        overrides: Overrides,
        working_dir: PathBuf,
    ) -> Result<Self, ConfigError> {
        let fallback = match &source {
            ConfigSource::File(path) => {
                let options = load_options(path)?.ok_or_else(|| ConfigError {
                    path: Some(path.clone()),
                    message: "has no `[tool.nmf]` table".to_string(),
                })?;
                let root = path
                    .parent()
                    .map_or_else(|| working_dir.clone(), Path::to_path_buf);
                Settings::resolve(&root, Some(path), &options, &overrides, &working_dir)?
            }
            ConfigSource::Discover | ConfigSource::Isolated => Settings::resolve(
                &working_dir,
                None,
                &Options::default(),
                &overrides,
                &working_dir,
            )?,
        };
        Ok(Self {
            source,
            overrides,
            working_dir,
            fallback: Arc::new(fallback),
            folders: Mutex::new(FxHashMap::default()),
        })
    }

    pub fn working_dir(&self) -> &Path {
        &self.working_dir
    }

    /// The settings that apply to files in `folder` (absolute).
    pub fn for_folder(&self, folder: &Path) -> Result<Arc<Settings>, ConfigError> {
        if self.source != ConfigSource::Discover {
            return Ok(self.fallback.clone());
        }
        if let Some(found) = self.lock().get(folder) {
            return found.clone();
        }
        let found = match find_config_in(folder) {
            Err(error) => Err(error),
            Ok(Some((path, options))) => Settings::resolve(
                folder,
                Some(&path),
                &options,
                &self.overrides,
                &self.working_dir,
            )
            .map(Arc::new),
            Ok(None) => match folder.parent() {
                Some(parent) => self.for_folder(parent),
                None => Ok(self.fallback.clone()),
            },
        };
        self.lock().insert(folder.to_path_buf(), found.clone());
        found
    }

    /// The settings for the run as a whole (output format, fix mode): those of the working
    /// folder, as ruff takes them.
    pub fn global(&self) -> Result<Arc<Settings>, ConfigError> {
        self.for_folder(&self.working_dir)
    }

    /// The settings of a file (absolute path).
    pub fn for_file(&self, path: &Path) -> Result<Arc<Settings>, ConfigError> {
        match path.parent() {
            Some(folder) => self.for_folder(folder),
            None => Ok(self.fallback.clone()),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, FxHashMap<PathBuf, Result<Arc<Settings>, ConfigError>>> {
        // A panic while holding the lock cannot leave the map half-written: recover it.
        self.folders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

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
}

#[derive(Debug, Clone)]
pub struct MessageFix {
    pub applicability: &'static str,
    pub edits: Vec<MessageEdit>,
}

#[derive(Debug, Clone)]
pub struct MessageEdit {
    pub start: Location,
    pub end: Location,
    pub content: String,
}

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
    /// Collect what nmf concluded about every receiver (`--show-receivers`).
    pub receivers: bool,
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
    /// Per file (display path), the code of every fix applied (or, with `--diff`, that would be).
    pub fixed: Vec<(String, Vec<&'static str>)>,
    /// `--diff`: one unified diff per file that would change.
    pub diffs: Vec<String>,
    /// `--fix` on standard input: the source to print, fixed or not.
    pub stdin_output: Option<Vec<u8>>,
    /// `--show-receivers`: every `.forward(...)` receiver and what nmf concluded, sorted.
    pub receivers: Vec<ReceiverReport>,
}

/// What nmf concluded about one receiver, located.
#[derive(Debug, Clone)]
pub struct ReceiverReport {
    pub path: String,
    pub location: Location,
    pub explanation: ReceiverExplanation,
}

/// Finds the Python files under `paths`. Paths named explicitly are always checked; folders
/// are walked with `.gitignore`, `.ignore`, hidden folders and `exclude` respected.
pub fn discover(
    paths: &[PathBuf],
    resolver: &Arc<SettingsResolver>,
) -> Result<(Vec<PathBuf>, Vec<String>), ConfigError> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut folders = Vec::new();
    for path in paths {
        let absolute = absolutize(path, resolver.working_dir());
        match std::fs::symlink_metadata(&absolute) {
            Err(_) => errors.push(format!("{}: No such file or directory", path.display())),
            Ok(metadata) if metadata.is_dir() => folders.push(absolute),
            Ok(_) if absolute.is_dir() => folders.push(absolute),
            Ok(_) => {
                let settings = resolver.for_file(&absolute)?;
                if !(settings.force_exclude && settings.is_excluded_with_ancestors(&absolute)) {
                    files.push(absolute);
                }
            }
        }
    }
    if !folders.is_empty() {
        let first_error: Arc<Mutex<Option<ConfigError>>> = Arc::new(Mutex::new(None));
        let found: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
        let respect_gitignore = resolver.global()?.respect_gitignore;
        let mut builder = WalkBuilder::new(&folders[0]);
        for folder in &folders[1..] {
            builder.add(folder);
        }
        let filter_resolver = Arc::clone(resolver);
        let filter_error = Arc::clone(&first_error);
        builder
            .hidden(true)
            .parents(true)
            .ignore(respect_gitignore)
            .git_ignore(respect_gitignore)
            .git_global(respect_gitignore)
            .git_exclude(respect_gitignore)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |entry| {
                if entry.depth() == 0 {
                    return true;
                }
                let path = entry.path();
                match filter_resolver.for_file(path) {
                    Ok(settings) => !settings.is_excluded(path),
                    Err(error) => {
                        let mut slot = filter_error
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        slot.get_or_insert(error);
                        false
                    }
                }
            });
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                let is_python = entry.path().extension().is_some_and(|ext| ext == "py");
                let is_file = match entry.file_type() {
                    Some(kind) if kind.is_dir() => false,
                    // A link is checked unless it leads to a folder; a dangling one is
                    // reported when it cannot be read.
                    Some(kind) if kind.is_symlink() => !entry.path().is_dir(),
                    _ => true,
                };
                if is_python && is_file {
                    found
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(entry.into_path());
                }
                WalkState::Continue
            })
        });
        let first_error = first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(error) = first_error {
            return Err(error);
        }
        files.extend(
            found
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
    files.sort();
    files.dedup();
    // Configuration errors surface even for files named explicitly.
    for file in &files {
        resolver.for_file(file)?;
    }
    Ok((files, errors))
}

/// Checks files in parallel (and fixes them, as `options.fix` says).
pub fn check_files(
    files: &[PathBuf],
    resolver: &SettingsResolver,
    options: RunOptions,
) -> Result<RunResult, ConfigError> {
    let index = ProjectIndex::new();
    let outcomes: Vec<Result<FileOutcome, ConfigError>> = files
        .par_iter()
        .map(|path| {
            let settings = resolver.for_file(path)?;
            let display = display_path(path, resolver.working_dir());
            Ok(match read_source(path) {
                Ok(source) => {
                    let target = Target {
                        path,
                        display: &display,
                        destination: Destination::File(path),
                    };
                    check_one(&source, &target, &settings, &index, options)
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
    run.receivers
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
    receivers: Vec<ReceiverReport>,
}

impl FileOutcome {
    /// The findings (and, with `--show-receivers`, the receivers) of the file's final text.
    fn report(&mut self, checked: FileDiagnostics, text: &str, options: RunOptions) {
        let wants_receivers = options.receivers && !checked.receivers.is_empty();
        if checked.diagnostics.is_empty() && !wants_receivers {
            return;
        }
        let locator = SourceLocator::new(text);
        self.messages = checked
            .diagnostics
            .iter()
            .map(|diagnostic| to_message(diagnostic, &self.display, &locator, options))
            .collect();
        if wants_receivers {
            self.receivers = checked
                .receivers
                .into_iter()
                .map(|explanation| ReceiverReport {
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
        self.receivers.extend(outcome.receivers);
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
    let view = index.view(path);
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
                match write_atomically(path, source, new_text) {
                    Ok(()) => true,
                    Err(error) => {
                        outcome.errors.push(format!(
                            "{display}: could not write the fixes: {error}; the file was left unchanged"
                        ));
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

fn to_message(
    diagnostic: &Diagnostic,
    display: &str,
    locator: &SourceLocator<'_>,
    options: RunOptions,
) -> Message {
    let fix = diagnostic.fix.as_ref().map(|fix| MessageFix {
        applicability: match fix.applicability() {
            ruff_diagnostics::Applicability::Safe => "safe",
            ruff_diagnostics::Applicability::Unsafe => "unsafe",
            ruff_diagnostics::Applicability::DisplayOnly => "display-only",
        },
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
            render_code_frame(diagnostic, display, locator, frame_options)
        }),
    }
}

/// An unreadable file is reported at 1:1 as E902.
fn io_error_message(display: &str, error: &SourceError) -> Message {
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
    }
}

pub fn sort_messages(messages: &mut [Message]) {
    messages.sort_by(|a, b| {
        (a.path.as_str(), a.start, a.code).cmp(&(b.path.as_str(), b.start, b.code))
    });
}

/// `path` joined to the working folder when relative, with `.` components removed.
pub fn absolutize(path: &Path, working_dir: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        working_dir.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The path relative to the working folder when inside it, as ruff prints paths.
pub fn display_path(path: &Path, working_dir: &Path) -> String {
    path.strip_prefix(working_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
