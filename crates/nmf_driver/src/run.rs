//! Checking a whole tree: find the files, resolve each one's settings, check them in parallel,
//! and return every finding with its position, sorted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_linter::registry::RuleSet;

use nmf_linter::render::SourceLocator;
use rayon::prelude::*;
use ruff_diagnostics::Applicability;

use crate::cache::{Cache, CachedOutcome, Candidate, settings_hash};
use crate::check::fix::{MAX_FIX_PASSES, fix_text, unified_diff};
use crate::check::message::{
    ExplanationReport, Message, MessageOptions, io_error_message, sort_messages, to_message,
};
use crate::check::notebook::check_notebook;
use crate::check::write::write_fixed;
use crate::check::{CheckOptions, FileDiagnostics, check_text, could_match};
use crate::project::ProjectIndex;
use crate::project::dependencies::{DocumentDependencies, Recorder, RecordingView};
use crate::settings::SettingsResolver;
use crate::settings::config::{ConfigError, Settings};
use crate::settings::discover::{Discovered, absolutize, display_path};
use crate::source::fingerprint::{Fingerprint, Stat};
use crate::source::notebook::Notebook;
use crate::source::{
    FileStamp, SourceError, SourceText, decode_source, encode_source, read_regular_file,
    read_source,
};

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
    /// Use the cache (`--no-cache` turns it off).
    pub cache: bool,
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
    /// Files whose findings came from the cache.
    pub files_cached: usize,
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
/// `cache` is the run's cache, from [`open_cache`].
pub fn check_discovered(
    discovered: &Discovered,
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<Cache>,
) -> Result<RunResult, ConfigError> {
    let mut run = check_files(&discovered.files, resolver, options, cache)?;
    run.errors.extend(discovered.missing.iter().cloned());
    for (folder, error) in &discovered.unreadable {
        let display = display_path(folder, resolver.working_dir());
        run.messages.push(io_error_message(&display, error));
    }
    sort_messages(&mut run.messages);
    Ok(run)
}

/// Whether two paths name entries of the same folder (compared as bytes: this runs for
/// every file of a warm run).
fn same_folder(a: &Path, b: &Path) -> bool {
    fn folder(path: &Path) -> &[u8] {
        let bytes = path.as_os_str().as_encoded_bytes();
        let end = bytes
            .iter()
            .rposition(|&byte| std::path::is_separator(char::from(byte)))
            .unwrap_or(0);
        &bytes[..end]
    }
    folder(a) == folder(b)
}

/// The cache a run with these options uses, if any. Opening it reads the whole cache file:
/// callers can do it while discovery walks the folders.
pub fn open_cache(resolver: &SettingsResolver, options: RunOptions) -> Option<Cache> {
    // `--show-receivers` explains what the rules concluded: nothing is taken from the cache.
    match (options.cache && !options.explanations, resolver.global()) {
        (true, Ok(global)) => Some(Cache::open(&global.cache_dir)),
        _ => None,
    }
}

/// Checks files in parallel (and fixes them, as `options.fix` says).
pub fn check_files(
    files: &[PathBuf],
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<Cache>,
) -> Result<RunResult, ConfigError> {
    let index = ProjectIndex::new();
    let keys = SettingsKeys::default();
    // First, which files the cache holds unchanged (their stats are then known, for checking
    // project snapshots without taking them again). Stats are taken folder by folder.
    let stats: Vec<Option<Stat>> = match &cache {
        Some(cache) if !cache.is_empty() => files
            .par_chunk_by(|a, b| same_folder(a, b))
            .flat_map_iter(Stat::of_paths_in_folder)
            .collect(),
        _ => vec![None; files.len()],
    };
    let prepared: Vec<Option<Prepared<'_>>> = files
        .par_iter()
        .zip(stats)
        .map(|(path, stat)| {
            // A configuration error surfaces when the file is checked.
            let settings = resolver.for_file(path).ok()?;
            let key = cache.as_ref().map(|_| keys.of(&settings, path, options));
            let candidate = match (&cache, key) {
                (Some(cache), Some(key)) => cache
                    .own(path, key, stat)
                    .filter(|candidate| serves(candidate.outcome(), options)),
                _ => None,
            };
            Some(Prepared {
                settings,
                key,
                candidate,
            })
        })
        .collect();
    if let Some(cache) = &cache {
        let stats = files
            .iter()
            .zip(&prepared)
            .filter_map(|(path, prepared)| {
                let stat = prepared.as_ref()?.candidate.as_ref()?.stat()?;
                Some((path.to_str()?.to_string(), stat))
            })
            .collect();
        cache.remember_stats(stats);
    }
    // Files whose findings the cache holds are done; the others are read, and the index
    // learns what searches of the project (for subclasses, for installed forwards) need of
    // them; only the text of files that pass the prefilter is kept for the checks.
    let inputs: Vec<Pending> = files
        .par_iter()
        .zip(prepared)
        .map(|(path, prepared)| {
            let Some(Prepared {
                settings,
                key,
                candidate,
            }) = prepared
            else {
                return Pending::Check(read_input(path), None);
            };
            if let (Some(cache), Some(candidate)) = (&cache, candidate)
                && let Some(outcome) =
                    cached_outcome(cache, candidate, path, &settings, &index, resolver)
            {
                return Pending::Done(outcome);
            }
            let input = read_input(path);
            let passes = match &input {
                Ok(Input::Python(source)) => {
                    index.learn(path, &source.text);
                    !options.check.prefilter
                        || could_match(&settings.linter_for(path), &source.text)
                }
                // A notebook is prefiltered on its Python cells' code; one of another language
                // goes on, to be reported as skipped.
                Ok(Input::Notebook(notebook, _)) => {
                    !options.check.prefilter
                        || notebook.foreign_language.is_some()
                        || could_match(&settings.linter_for(path), &notebook.source(&[]).text)
                }
                Err(_) => true,
            };
            if passes {
                return Pending::Check(input, key);
            }
            if let (Some(cache), Some(key), Some(fingerprint)) = (
                &cache,
                key,
                input.as_ref().ok().and_then(Input::fingerprint),
            ) {
                let empty = CachedOutcome::of(false, None, &[]);
                if let Some(empty) = empty {
                    cache.store(path, fingerprint, key, None, empty);
                }
            }
            Pending::RuledOut
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
        .filter_map(|(path, pending)| match pending {
            Pending::Done(outcome) => Some(Ok(outcome)),
            Pending::RuledOut => None,
            Pending::Check(input, key) => Some(check_input(
                path,
                input,
                key,
                cache.as_ref(),
                resolver,
                &index,
                checking,
                options,
            )),
        })
        .collect();
    let mut run = RunResult {
        files_checked: files.len(),
        ..RunResult::default()
    };
    for outcome in outcomes {
        run.add(outcome?);
    }
    crate::cache::drop_in_background(index);
    if let Some(cache) = cache {
        run.files_cached = cache.hits.load(std::sync::atomic::Ordering::Relaxed);
        run.warnings.extend(cache.save());
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
    check_text_input(
        bytes,
        filename,
        resolver,
        options,
        &ProjectIndex::new(),
        None,
    )
}

/// Checks an editor's open document, `bytes` under the name `path`, as
/// [`check_stdin`] does, with a project index kept between checks (where the editor's other
/// unsaved buffers are set, see [`ProjectIndex::set_buffer`]); and says what the findings
/// depended on, so that the editor knows when to check the document again.
pub fn check_document(
    bytes: Vec<u8>,
    path: &Path,
    resolver: &SettingsResolver,
    options: RunOptions,
    index: &ProjectIndex,
) -> Result<(RunResult, DocumentDependencies), ConfigError> {
    let recorder = Recorder::default();
    let run = check_text_input(bytes, Some(path), resolver, options, index, Some(&recorder))?;
    Ok((run, recorder.into_document_dependencies()))
}

fn check_text_input(
    bytes: Vec<u8>,
    filename: Option<&Path>,
    resolver: &SettingsResolver,
    options: RunOptions,
    index: &ProjectIndex,
    recorder: Option<&Recorder>,
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
        recorder,
    };
    let input = if is_notebook(&absolute) {
        read_notebook(bytes.clone()).map(|notebook| Input::Notebook(notebook, None))
    } else {
        decode_source(bytes.clone()).map(Input::Python)
    };
    let outcome = match input {
        Ok(Input::Python(source)) => check_one(&source, &target, &settings, index, options),
        Ok(Input::Notebook(notebook, _)) => {
            check_notebook(&notebook, None, &target, &settings, index, options)
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

/// A file after the first pass: done from the cache, ruled out by the prefilter, or to check.
enum Pending {
    Done(FileOutcome),
    RuledOut,
    Check(Result<Input, SourceError>, Option<u64>),
}

/// The settings hash of each file, computed once per configuration and rule set.
#[derive(Default)]
struct SettingsKeys {
    known: std::sync::Mutex<rustc_hash::FxHashMap<(usize, RuleSet), u64>>,
}

impl SettingsKeys {
    fn of(&self, settings: &Arc<Settings>, path: &Path, options: RunOptions) -> u64 {
        let linter = settings.linter_for(path);
        let key = (Arc::as_ptr(settings) as usize, linter.rules);
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *known
            .entry(key)
            .or_insert_with(|| settings_hash(&(&linter, &settings.import_paths, options.check)))
    }
}

/// A file's settings, and what the cache may hold of it.
struct Prepared<'a> {
    settings: Arc<Settings>,
    key: Option<u64>,
    candidate: Option<Candidate<'a>>,
}

/// Whether stored findings serve this run: a run that fixes needs the file when it has
/// something to fix, and code frames need its text.
fn serves(outcome: &CachedOutcome, options: RunOptions) -> bool {
    let fixable = outcome
        .messages
        .iter()
        .any(|message| message.fix_applies(options.required_applicability()));
    !(options.fix != FixMode::Off && fixable || options.frames && !outcome.messages.is_empty())
}

/// The findings the cache holds for a file, when everything they depended on still holds.
fn cached_outcome(
    cache: &Cache,
    candidate: Candidate<'_>,
    path: &Path,
    settings: &Settings,
    index: &ProjectIndex,
    resolver: &SettingsResolver,
) -> Option<FileOutcome> {
    let cached = cache.lookup(candidate, || index.view_with(path, &settings.import_paths))?;
    let display = display_path(path, resolver.working_dir());
    let messages = cached
        .messages
        .iter()
        .map(|message| message.to_message(&display))
        .collect::<Option<Vec<_>>>()?;
    cache.count_hit();
    Some(FileOutcome {
        messages,
        skipped: cached.skipped.map(|reason| format!("{display}: {reason}")),
        display,
        ..FileOutcome::default()
    })
}

/// Checks one file that was read, and keeps its outcome in the cache when it can be.
#[allow(
    clippy::too_many_arguments,
    reason = "the run's shared state, passed down"
)]
fn check_input(
    path: &Path,
    input: Result<Input, SourceError>,
    key: Option<u64>,
    cache: Option<&Cache>,
    resolver: &SettingsResolver,
    index: &ProjectIndex,
    checking: RunOptions,
    options: RunOptions,
) -> Result<FileOutcome, ConfigError> {
    let settings = resolver.for_file(path)?;
    let display = display_path(path, resolver.working_dir());
    let fingerprint = input.as_ref().ok().and_then(Input::fingerprint);
    let recorder = (cache.is_some() && fingerprint.is_some()).then(Recorder::default);
    let target = Target {
        path,
        display: &display,
        destination: Destination::File(path),
        recorder: recorder.as_ref(),
    };
    let outcome = match input {
        Ok(Input::Python(source)) => check_one(&source, &target, &settings, index, checking),
        Ok(Input::Notebook(notebook, read)) => check_notebook(
            &notebook,
            read.map(|(stamp, _)| stamp),
            &target,
            &settings,
            index,
            options,
        ),
        Err(error) => FileOutcome::unreadable(&display, &error),
    };
    if let (Some(cache), Some(key), Some(fingerprint), Some(recorder)) =
        (cache, key, fingerprint, recorder)
        && outcome.fixed.is_empty()
        && outcome.errors.is_empty()
    {
        let reason = outcome.skipped.as_ref().map(|skipped| {
            skipped
                .strip_prefix(&format!("{display}: "))
                .unwrap_or(skipped)
                .to_string()
        });
        if let Some(cached) = CachedOutcome::of(outcome.parsed, reason, &outcome.messages) {
            let view = index.view_with(path, &settings.import_paths);
            cache.store(path, fingerprint, key, Some(recorder.finish(&view)), cached);
        }
    }
    Ok(outcome)
}

/// A file's content, read and decoded: Python source, or a notebook.
enum Input {
    Python(SourceText),
    Notebook(Notebook, Option<(FileStamp, Fingerprint)>),
}

impl Input {
    /// What the file was when read, for the cache (`None` for standard input).
    fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Self::Python(source) => source.fingerprint,
            Self::Notebook(_, read) => read.map(|(_, fingerprint)| fingerprint),
        }
    }
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
    let file = read_regular_file(path)?;
    let notebook = read_notebook(file.bytes)?;
    Ok(Input::Notebook(
        notebook,
        Some((file.stamp, file.fingerprint)),
    ))
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
    pub(crate) warnings: Vec<String>,
    pub(crate) explanations: Vec<ExplanationReport>,
    /// Why the file was not checked at all (a notebook of another language), for `-v`.
    pub(crate) skipped: Option<String>,
}

impl FileOutcome {
    /// Keeps what writing the fixed file gave (warnings, or the error naming the file);
    /// whether it was written.
    pub(crate) fn record_write(
        &mut self,
        display: &str,
        written: Result<Vec<String>, impl std::fmt::Display>,
    ) -> bool {
        match written {
            Ok(remarks) => {
                self.warnings.extend(remarks);
                true
            }
            Err(error) => {
                self.errors.push(format!("{display}: {error}"));
                false
            }
        }
    }

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
        recorder,
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
                outcome.record_write(display, written)
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
