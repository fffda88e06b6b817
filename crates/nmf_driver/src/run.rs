//! Checking a whole tree: find the files, resolve each one's settings, check them in parallel,
//! and return every finding with its position, sorted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_linter::cancel::CancelToken;
use nmf_linter::registry::RuleSet;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::cache::{Cache, CachedOutcome, Candidate, settings_hash};
use crate::check::admitted_rules;
use crate::check::message::{ExplanationReport, Message, io_error_message, sort_messages};
use crate::check::pipeline::{Destination, FileOutcome, Target, check_file};
pub use crate::check::pipeline::{FixMode, RunOptions};
use crate::project::dependencies::{Dependencies, DocumentDependencies, Recorder};
use crate::project::{ProjectIndex, Reach, Release, WalkedFiles};
use crate::settings::SettingsResolver;
use crate::settings::config::{ConfigError, Settings};
use crate::settings::discover::{Discovered, absolutize, display_path};
use crate::source::SourceError;
use crate::source::fingerprint::Stat;
use crate::source::kind::{NotebookFile, SourceKind};
use crate::source::leftovers::Leftover;
use crate::source::notebook::Notebook;

/// What checking a set of paths gave.
#[derive(Debug, Default)]
pub struct RunResult {
    pub messages: Vec<Message>,
    pub files_checked: usize,
    pub files_parsed: usize,
    /// Files whose findings came from the cache.
    pub files_cached: usize,
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
    /// `--add-noqa`: the `# noqa` directives added or extended, over all files.
    pub noqa_added: usize,
}

/// Checks what discovery found, files in parallel (and fixes them, as `options.fix` says);
/// files that cannot be read (or do not exist) and folders that could not be listed are E902
/// findings.
/// `cache` is the run's cache, from [`open_cache`].
pub fn check_discovered(
    discovered: Discovered,
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<Cache>,
) -> Result<RunResult, ConfigError> {
    let Discovered {
        files,
        stats,
        folder_stats,
        unreadable,
        leftovers,
        walked,
    } = discovered;
    let cache = cache.map(|mut cache| {
        cache.know_folders(folder_stats);
        cache
    });
    // Shared with the project index, whose corpora take the walk's files.
    let files: Arc<[PathBuf]> = files.into();
    let walked = walked.and_then(|walked| WalkedFiles::new(Arc::clone(&files), walked));
    let mut run = check_files_walked(&files, stats, resolver, options, cache, walked)?;
    // What `--fix` runs killed mid-write left in the walked folders.
    run.warnings.extend(
        leftovers
            .iter()
            .filter_map(|path| Leftover::parse(path))
            .filter_map(|leftover| {
                leftover.describe(&display_path(&leftover.path, resolver.working_dir()))
            }),
    );
    for (folder, error) in &unreadable {
        let display = display_path(folder, resolver.working_dir());
        run.messages.push(io_error_message(&display, error));
    }
    sort_messages(&mut run.messages);
    Ok(run)
}

/// A run of [`check_each`] ends at a change of project once it holds this many files: smaller
/// projects side by side are read and checked together, for both cores to stay busy.
const MIN_RUN_FILES: usize = 1024;

/// `files` cut into runs of whole projects (by their outermost project roots), in order, for
/// [`check_each`] to read and check one run after the other: a run ends at a change of
/// project once it holds `min_files`.
fn project_runs(
    files: &[PathBuf],
    index: &ProjectIndex,
    min_files: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut project: Option<Vec<PathBuf>> = None;
    for (at, path) in files.iter().enumerate() {
        if at > 0 && same_folder(&files[at - 1], path) {
            continue;
        }
        let roots = index.project_roots_of(path);
        if at - start >= min_files && project.as_ref().is_some_and(|known| *known != roots) {
            runs.push(start..at);
            start = at;
        }
        project = Some(roots);
    }
    if start < files.len() {
        runs.push(start..files.len());
    }
    runs
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
/// `nmf check` does it once discovery is done, so that what discovery holds (a decoded walk
/// record) is gone before the findings are decoded.
pub fn open_cache(resolver: &SettingsResolver, options: RunOptions) -> Option<Cache> {
    // `--show-receivers` explains what the rules concluded: nothing is taken from the cache.
    match (options.cache && !options.explanations, resolver.global()) {
        (true, Ok(global)) => Some(Cache::open(&global.cache_dir)),
        _ => None,
    }
}

/// Checks files in parallel (and fixes them, as `options.fix` says). `stats` are the files'
/// stats when discovery took them ([`Discovered::stats`]).
pub fn check_files(
    files: &[PathBuf],
    stats: Option<Vec<Option<Stat>>>,
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<Cache>,
) -> Result<RunResult, ConfigError> {
    check_files_walked(files, stats, resolver, options, cache, None)
}

/// [`check_files`], whose project searches take discovery's files where its walk covered
/// them.
fn check_files_walked(
    files: &[PathBuf],
    stats: Option<Vec<Option<Stat>>>,
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<Cache>,
    walked: Option<WalkedFiles>,
) -> Result<RunResult, ConfigError> {
    let each = check_each(
        files,
        stats,
        resolver,
        options,
        cache.as_ref(),
        None,
        walked,
    )?;
    let mut run = RunResult {
        files_checked: files.len(),
        ..RunResult::default()
    };
    for checked in each {
        if let Each::Checked(outcome, _) = checked {
            run.add(*outcome);
        }
    }
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

/// One file's findings, kept apart with what they depended on (see [`check_by_file`]).
#[derive(Debug)]
pub struct FileFindings {
    pub path: PathBuf,
    /// Sorted, as a run sorts them.
    pub messages: Vec<Message>,
    pub dependencies: DocumentDependencies,
}

/// What [`check_by_file`] gave.
#[derive(Debug, Default)]
pub struct ByFile {
    /// Every file checked, in the order given; none when the run was cancelled.
    pub files: Vec<FileFindings>,
    /// The run was cancelled before every file was checked.
    pub cancelled: bool,
    /// Files whose findings came from the cache.
    pub files_cached: usize,
    /// The cache's warnings.
    pub warnings: Vec<String>,
}

/// Checks files as [`check_files`] does, without fixing, and keeps each file's findings apart
/// with what they depended on: for an editor that shows every file of its workspace and checks
/// one again when something it depended on changes (`nmf server`). Once `cancel` is cancelled,
/// no file is started any more: the files checked meanwhile are kept in the cache, and nothing
/// is returned. `stats` are the files' stats when discovery took them ([`Discovered::stats`]).
pub fn check_by_file(
    files: &[PathBuf],
    stats: Option<Vec<Option<Stat>>>,
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<Cache>,
    cancel: &CancelToken,
) -> Result<ByFile, ConfigError> {
    let options = RunOptions {
        fix: FixMode::Off,
        add_noqa: false,
        ..options
    };
    let each = check_each(
        files,
        stats,
        resolver,
        options,
        cache.as_ref(),
        Some(cancel),
        None,
    )?;
    let mut by_file = ByFile::default();
    if let Some(cache) = cache {
        by_file.files_cached = cache.hits.load(std::sync::atomic::Ordering::Relaxed);
        by_file.warnings = cache.save();
    }
    if cancel.is_cancelled() {
        by_file.cancelled = true;
        return Ok(by_file);
    }
    for (path, checked) in files.iter().zip(each) {
        let (messages, dependencies) = match checked {
            Each::Checked(outcome, dependencies) => (
                outcome.messages,
                dependencies.map_or_else(DocumentDependencies::unknown, |boxed| *boxed),
            ),
            Each::Clean(dependencies) => (
                Vec::new(),
                dependencies.map_or_else(DocumentDependencies::unknown, |boxed| *boxed),
            ),
            // Its text alone ruled it out.
            Each::RuledOut => (Vec::new(), DocumentDependencies::default()),
            Each::NotStarted => {
                by_file.cancelled = true;
                by_file.files.clear();
                return Ok(by_file);
            }
        };
        let mut messages = messages;
        sort_messages(&mut messages);
        by_file.files.push(FileFindings {
            path: path.clone(),
            messages,
            dependencies,
        });
    }
    Ok(by_file)
}

/// What became of one file of a run; for an editor, one is held for every file until all are
/// checked, so what only an editor asks for (dependencies) is boxed.
enum Each {
    /// Its outcome, and (when recording) what its findings depended on.
    Checked(Box<FileOutcome>, Option<Box<DocumentDependencies>>),
    /// From the cache with nothing to report (most files of a warm run): no outcome is
    /// built; what it depended on when recording.
    Clean(Option<Box<DocumentDependencies>>),
    /// The prefilter ruled it out: no findings, whatever the rest of the project holds.
    RuledOut,
    /// The run was cancelled before it.
    NotStarted,
}

/// Checks each of `files` (in parallel), taking what the cache holds unchanged. With
/// `cancel` (given by editors), what each file's findings depended on is recorded, no file
/// is started once it is cancelled, and every file has its [`Each`], in order. Without it,
/// only the files with an outcome do (in order): a run keeps nothing for the others.
fn check_each(
    files: &[PathBuf],
    known_stats: Option<Vec<Option<Stat>>>,
    resolver: &SettingsResolver,
    options: RunOptions,
    cache: Option<&Cache>,
    cancel: Option<&CancelToken>,
    walked: Option<WalkedFiles>,
) -> Result<Vec<Each>, ConfigError> {
    let record = cancel.is_some();
    let cancelled = || cancel.is_some_and(CancelToken::is_cancelled);
    // First, which files the cache holds unchanged (their stats are then known, for checking
    // project snapshots without taking them again). Stats are taken folder by folder, unless
    // discovery took them; none when no cache or an empty one would use them.
    let stats: Option<Vec<Option<Stat>>> = match (cache, known_stats) {
        (Some(cache), _) if cache.is_empty() => None,
        (Some(_), Some(known)) if known.len() == files.len() => Some(known),
        (Some(_), _) => Some(
            files
                .par_chunk_by(|a, b| same_folder(a, b))
                .flat_map_iter(Stat::of_paths_in_folder)
                .collect(),
        ),
        (None, _) => None,
    };
    // Without the cache, and when nothing asks what each file depended on, nothing records
    // what the checks depended on.
    let index = if cache.is_some() || record {
        ProjectIndex::new()
    } else {
        ProjectIndex::without_snapshots()
    }
    .with_walk(walked);
    // The files whose stats were just taken are known to exist: whether a folder is a
    // package, or a module's file is there, is not asked of the disk again for them.
    let index = match &stats {
        Some(stats) => index.with_regular_files(
            files
                .iter()
                .zip(stats)
                .filter(|(_, stat)| stat.is_some_and(|stat| stat.kind == Stat::FILE))
                .map(|(path, _)| path.as_path()),
        ),
        None => index,
    };
    let keys = SettingsKeys::default();
    // A file's settings, and what the cache may hold of it (given its stat when known).
    let prepare = |path: &PathBuf, stat: Option<Stat>| -> Option<Prepared<'_>> {
        // A configuration error surfaces when the file is checked.
        let settings = resolver.for_file(path).ok()?;
        let key = cache.and_then(|_| keys.of(&settings, path, options));
        let candidate = match (cache, key) {
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
    };
    // Files whose findings the cache holds are done; the others are read, and the index
    // learns what searches of the project (for subclasses, for installed forwards) need of
    // them. The text of files that pass the prefilter is not kept: they are read again when
    // checked, two at a time, instead of all of them waiting in memory (the files that pass
    // are the large ones: on transformers, a fifth of the files but most of its bytes).
    let read = |path: &PathBuf, prepared: Option<Prepared<'_>>| -> Pending {
        if cancelled() {
            return Pending::NotStarted;
        }
        let Some(Prepared {
            settings,
            key,
            candidate,
        }) = prepared
        else {
            return Pending::Check(Box::new(ToCheck {
                input: SourceKind::read(path),
                key: None,
                rules: RuleSet::empty(),
            }));
        };
        let mut read = None;
        if let (Some(cache), Some(candidate)) = (cache, candidate) {
            let stored_content = candidate.content_hash();
            if let Some((mut outcome, dependencies)) =
                cached_outcome(cache, candidate, path, &settings, &index, resolver)
            {
                let dependencies = record.then(|| {
                    Box::new(dependencies.map_or_else(DocumentDependencies::default, Into::into))
                });
                if outcome.messages.is_empty() && outcome.skipped.is_none() {
                    cache.count_hit();
                    return Pending::Clean(dependencies);
                }
                if !options.frames || outcome.messages.is_empty() {
                    cache.count_hit();
                    return Pending::Done(Box::new(outcome), dependencies);
                }
                // Code frames are drawn from the file's text: read it, and use the stored
                // findings if it is still the text they were found in.
                let input = SourceKind::read(path);
                if let Ok(source) = &input
                    && source
                        .fingerprint()
                        .is_some_and(|read| read.hash == stored_content)
                {
                    keep_texts(&mut outcome.messages, source);
                    cache.count_hit();
                    return Pending::Done(Box::new(outcome), dependencies);
                }
                read = Some(input);
            }
        }
        let input = read.unwrap_or_else(|| SourceKind::read(path));
        // Whether the file is parsed, and for which rules, is decided here, once.
        let rules = match &input {
            Ok(source) => {
                let code = source.code();
                // The index's facts and the prefilters ask the same of the text's
                // non-ASCII words: answered once.
                nmf_linter::analysis::forward_call::with_shared_text_scans(&code, || {
                    if let SourceKind::Python(source) = source {
                        index.learn(path, &source.text);
                    }
                    admitted_rules(&settings.linter_for(path), &code, options.check.prefilter)
                })
            }
            Err(_) => RuleSet::empty(),
        };
        // An unreadable file is reported; a notebook of another language goes on, to be
        // reported as skipped.
        let passes = match &input {
            Ok(source) => !rules.is_empty() || source.foreign_language().is_some(),
            Err(_) => true,
        };
        if passes {
            return match input {
                Ok(SourceKind::Python(source)) => Pending::Admitted(Box::new(Admission {
                    key,
                    rules,
                    content: source.fingerprint.map(|fingerprint| fingerprint.hash),
                })),
                input => Pending::Check(Box::new(ToCheck { input, key, rules })),
            };
        }
        if let (Some(cache), Some(key), Some(fingerprint)) = (
            cache,
            key,
            input.as_ref().ok().and_then(SourceKind::fingerprint),
        ) {
            let empty = CachedOutcome::of(false, None, &[]);
            if let Some(empty) = empty {
                cache.store(path, fingerprint, key, None, empty);
            }
        }
        Pending::RuledOut
    };
    let shared = CheckInputs {
        cache,
        resolver,
        index: &index,
        options,
        record,
    };
    // What each file to check can ask the index for, counted: what a project's files alone
    // asked for is forgotten once the last of them is checked (see `Release`).
    let release = Release::default();
    // With findings in the cache, every file is prepared before any is read: the cache then
    // knows the stat of every file it holds when it checks what a file's findings depended
    // on (and the files are then read and checked in one run, below). Otherwise each file is
    // prepared as it is read, and nothing is held for every file meanwhile.
    let mut prepared: Option<Vec<Option<Prepared<'_>>>> = stats.map(|stats| {
        files
            .par_iter()
            .zip(stats)
            .map(|(path, stat)| prepare(path, stat))
            .collect()
    });
    // A configuration error is boxed: one result is held for every file.
    let mut each: Vec<Result<Each, Box<ConfigError>>> = Vec::new();
    // Project by project, the files are read (and learnt), then checked: what the index
    // learnt of a project's files is held until its searches take it, so a run over many
    // projects would otherwise hold every project's at once.
    // Not with findings in the cache: most files are then done without being read, and the
    // roots of every folder, which runs are cut by, would cost more than they save.
    let runs = if prepared.is_some() {
        vec![std::ops::Range {
            start: 0,
            end: files.len(),
        }]
    } else {
        project_runs(files, &index, MIN_RUN_FILES)
    };
    for run in runs {
        release.set_more_to_come(run.end < files.len());
        let files = &files[run];
        // Prepared files make one run, which takes them all.
        let inputs: Vec<Pending> = match prepared.take() {
            Some(prepared) => files
                .par_iter()
                .zip(prepared)
                .map(|(path, prepared)| read(path, prepared))
                .collect(),
            None => files
                .par_iter()
                .map(|path| read(path, prepare(path, None)))
                .collect(),
        };
        // The files of one folder, next to each other, share their settings and roots: the
        // reach is worked out for the first of them.
        let mut previous: Option<(&Path, Arc<Reach>)> = None;
        let reaches: Vec<Option<Arc<Reach>>> = files
            .iter()
            .zip(&inputs)
            .map(|(path, pending)| {
                if !matches!(pending, Pending::Check(..) | Pending::Admitted(..)) {
                    return None;
                }
                let folder = path.parent();
                if let Some((known, reach)) = &previous
                    && folder == Some(*known)
                {
                    Release::expect_another(reach);
                    return Some(reach.clone());
                }
                let settings = resolver.for_file(path).ok();
                let import_paths = settings.as_ref().map_or(&[][..], |s| &s.import_paths[..]);
                let reach = release.expect(&index, path, import_paths);
                previous = folder.map(|folder| (folder, reach.clone()));
                Some(reach)
            })
            .collect();
        let checked: Vec<Result<Each, Box<ConfigError>>> = files
            .par_iter()
            .zip(inputs)
            .zip(reaches)
            .map(|((path, pending), reach)| {
                let each = check_pending(path, pending, &shared, &cancelled);
                if let Some(reach) = &reach {
                    release.checked(&index, reach);
                }
                each
            })
            .filter(|each| record || matches!(each, Ok(Each::Checked(..)) | Err(_)))
            .collect();
        // The first run's results are taken as they are: extending an empty list would hold
        // them twice, once in the pieces rayon collected them into.
        if each.is_empty() {
            each = checked;
        } else {
            each.extend(checked);
        }
    }
    crate::cache::drop_in_background(index);
    each.into_iter()
        .collect::<Result<_, _>>()
        .map_err(|error| *error)
}

/// Checks one file of [`check_each`] as its first pass left it.
fn check_pending(
    path: &Path,
    pending: Pending,
    shared: &CheckInputs<'_>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Each, Box<ConfigError>> {
    let CheckInputs {
        resolver, options, ..
    } = *shared;
    match pending {
        Pending::Done(outcome, dependencies) => Ok(Each::Checked(outcome, dependencies)),
        Pending::Clean(dependencies) => Ok(Each::Clean(dependencies)),
        Pending::RuledOut => Ok(Each::RuledOut),
        Pending::NotStarted => Ok(Each::NotStarted),
        Pending::Check(..) | Pending::Admitted(..) if cancelled() => Ok(Each::NotStarted),
        Pending::Check(to_check) => {
            let ToCheck { input, key, rules } = *to_check;
            check_input(path, input, rules, key, shared)
                .map(|(outcome, dependencies)| {
                    Each::Checked(Box::new(outcome), dependencies.map(Box::new))
                })
                .map_err(Box::new)
        }
        Pending::Admitted(admission) => {
            let Admission {
                key,
                rules,
                content,
            } = *admission;
            let input = SourceKind::read(path);
            // Decided again on the text checked, should the file have changed since.
            let unchanged = |source: &SourceKind| {
                content.is_some()
                    && source.fingerprint().map(|fingerprint| fingerprint.hash) == content
            };
            let rules = match (&input, resolver.for_file(path)) {
                (Ok(source), _) if unchanged(source) => rules,
                (Ok(source), Ok(settings)) => admitted_rules(
                    &settings.linter_for(path),
                    &source.code(),
                    options.check.prefilter,
                ),
                _ => RuleSet::empty(),
            };
            check_input(path, input, rules, key, shared)
                .map(|(outcome, dependencies)| {
                    Each::Checked(Box::new(outcome), dependencies.map(Box::new))
                })
                .map_err(Box::new)
        }
    }
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
        DocumentInput::Bytes(bytes),
        filename,
        resolver,
        options,
        &ProjectIndex::new(),
        None,
    )
}

/// Checks an editor's open document under the name `path`, as [`check_stdin`] does, with a
/// project index kept between checks (where the editor's other unsaved buffers are set, see
/// [`ProjectIndex::set_buffer`]); and says what the findings depended on, so that the editor
/// knows when to check the document again. With `--fix`, the fixed text (a notebook's JSON)
/// is returned.
pub fn check_document(
    document: DocumentInput,
    path: &Path,
    resolver: &SettingsResolver,
    options: RunOptions,
    index: &ProjectIndex,
) -> Result<(RunResult, DocumentDependencies), ConfigError> {
    let recorder = Recorder::default();
    let run = check_text_input(
        document,
        Some(path),
        resolver,
        options,
        index,
        Some(&recorder),
    )?;
    Ok((run, recorder.into_document_dependencies()))
}

/// What an editor or standard input hands over: bytes, or a notebook made of an editor's
/// cells ([`Notebook::from_cells`]); or the file itself, read as a run reads it, for an
/// editor that checks a file it does not hold with the unsaved buffers it does.
pub enum DocumentInput {
    Bytes(Vec<u8>),
    Notebook(Notebook),
    File,
}

fn check_text_input(
    input: DocumentInput,
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
        let bytes = match input {
            DocumentInput::Bytes(bytes) => Some(bytes),
            DocumentInput::Notebook(notebook) => Some(notebook.raw().as_bytes().to_vec()),
            // The file stays where it is.
            DocumentInput::File => None,
        };
        return Ok(RunResult {
            stdin_output: bytes.filter(|_| options.fix == FixMode::Apply),
            ..RunResult::default()
        });
    }
    let target = Target {
        path: &absolute,
        display: &display,
        destination: Destination::Stdout,
        recorder,
    };
    let (source, bytes) = match input {
        DocumentInput::Notebook(notebook) => {
            let file = NotebookFile {
                notebook,
                read: None,
            };
            (Ok(SourceKind::Notebook(file)), None)
        }
        DocumentInput::Bytes(bytes) => (
            SourceKind::from_bytes(bytes.clone(), &absolute),
            Some(bytes),
        ),
        DocumentInput::File => (SourceKind::read(&absolute), None),
    };
    let outcome = match source {
        Ok(source) => {
            let rules = admitted_rules(
                &settings.linter_for(&absolute),
                &source.code(),
                options.check.prefilter,
            );
            check_file(&source, rules, &target, &settings, index, options)
        }
        Err(error) => {
            let mut outcome = FileOutcome::unreadable(&display, &error);
            if options.fix == FixMode::Apply {
                // Whatever cannot be decoded goes back out unchanged.
                outcome.stdin_output = bytes;
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
///
/// One is held for every file of the run until all are checked: what is not a pointer is boxed
/// (24 bytes a file; see the test of sizes).
enum Pending {
    /// From the cache, with what it depended on when recording (boxed, as most files of a
    /// warm run are [`Pending::Clean`]: the vector of all files stays small).
    Done(Box<FileOutcome>, Option<Box<DocumentDependencies>>),
    /// From the cache, nothing to report; what it depended on when recording.
    Clean(Option<Box<DocumentDependencies>>),
    RuledOut,
    /// The run was cancelled before it.
    NotStarted,
    /// A file as read, to check (unreadable, or a notebook).
    Check(Box<ToCheck>),
    /// A Python file the prefilter admitted, to read again and check.
    Admitted(Box<Admission>),
}

/// A file as read, its settings hash for the cache, and the rules its prefilter admitted.
struct ToCheck {
    input: Result<SourceKind, SourceError>,
    key: Option<u64>,
    rules: RuleSet,
}

/// A Python file the prefilter admitted: its settings hash, the rules admitted, and the hash
/// of the text they were admitted for (its text is read again when checked).
struct Admission {
    key: Option<u64>,
    rules: RuleSet,
    content: Option<u128>,
}

/// The settings hash of each file, computed once per configuration and rule set (`None`:
/// the settings cannot be hashed, and the file is not cached).
#[derive(Default)]
struct SettingsKeys {
    known: std::sync::Mutex<FxHashMap<(usize, RuleSet), Option<u64>>>,
}

impl SettingsKeys {
    fn of(&self, settings: &Arc<Settings>, path: &Path, options: RunOptions) -> Option<u64> {
        let linter = settings.linter_for(path);
        let key = (Arc::as_ptr(settings) as usize, linter.rules);
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *known
            .entry(key)
            .or_insert_with(|| settings_hash(&linter, &settings.import_paths, options.check))
    }
}

/// A file's settings, and what the cache may hold of it.
struct Prepared<'a> {
    settings: Arc<Settings>,
    key: Option<u64>,
    candidate: Option<Candidate<'a>>,
}

/// Whether stored findings serve this run: a run that fixes needs the file when it has
/// something to fix.
fn serves(outcome: &CachedOutcome, options: RunOptions) -> bool {
    let fixable = outcome
        .messages
        .iter()
        .any(|message| message.fix_applies(options.required_applicability()));
    !(options.fix != FixMode::Off && fixable)
}

/// Keeps the text each finding from the cache is in (the file's, or its cell's), for drawing
/// its code frame.
fn keep_texts(messages: &mut [Message], source: &SourceKind) {
    match source {
        SourceKind::Python(source) => {
            let text: Arc<str> = Arc::from(source.text.as_str());
            for message in messages {
                message.source = Some(Arc::clone(&text));
            }
        }
        SourceKind::Notebook(file) => {
            let mut cells: FxHashMap<usize, Arc<str>> = FxHashMap::default();
            for message in messages {
                if let Some(cell) = message.cell {
                    let text = cells.entry(cell).or_insert_with(|| {
                        Arc::from(file.notebook.cell_text(cell.saturating_sub(1)))
                    });
                    message.source = Some(Arc::clone(text));
                }
            }
        }
    }
}

/// The findings the cache holds for a file, when everything they depended on still holds,
/// and those dependencies (`None`: its text alone).
fn cached_outcome<'c>(
    cache: &Cache,
    candidate: Candidate<'c>,
    path: &Path,
    settings: &Settings,
    index: &ProjectIndex,
    resolver: &SettingsResolver,
) -> Option<(FileOutcome, Option<&'c Dependencies>)> {
    let (cached, dependencies) =
        cache.lookup(candidate, || index.view_with(path, &settings.import_paths))?;
    // Most files have nothing to report: their path is not spelled out.
    let display = if cached.messages.is_empty() && cached.skipped.is_none() {
        String::new()
    } else {
        display_path(path, resolver.working_dir())
    };
    let messages = cached
        .messages
        .iter()
        .map(|message| message.to_message(&display))
        .collect::<Option<Vec<_>>>()?;
    let outcome = FileOutcome {
        messages,
        skipped: cached.skipped.map(|reason| format!("{display}: {reason}")),
        display,
        ..FileOutcome::default()
    };
    Some((outcome, dependencies))
}

/// What every file's check shares in a run.
struct CheckInputs<'a> {
    cache: Option<&'a Cache>,
    resolver: &'a SettingsResolver,
    index: &'a ProjectIndex,
    options: RunOptions,
    /// Record what each file's findings depended on, for an editor.
    record: bool,
}

/// Checks one file that was read, and keeps its outcome in the cache when it can be; with
/// what its findings depended on when recording.
fn check_input(
    path: &Path,
    input: Result<SourceKind, SourceError>,
    rules: RuleSet,
    key: Option<u64>,
    inputs: &CheckInputs<'_>,
) -> Result<(FileOutcome, Option<DocumentDependencies>), ConfigError> {
    let CheckInputs {
        cache,
        resolver,
        index,
        options,
        record,
    } = *inputs;
    let settings = resolver.for_file(path)?;
    let display = display_path(path, resolver.working_dir());
    let fingerprint = input.as_ref().ok().and_then(SourceKind::fingerprint);
    let recorder = ((cache.is_some() && fingerprint.is_some()) || record).then(Recorder::default);
    let target = Target {
        path,
        display: &display,
        destination: Destination::File(path),
        recorder: recorder.as_ref(),
    };
    let outcome = match input {
        Ok(source) => check_file(&source, rules, &target, &settings, index, options),
        Err(error) => FileOutcome::unreadable(&display, &error),
    };
    let Some(recorder) = recorder else {
        return Ok((outcome, None));
    };
    let view = index.view_with(path, &settings.import_paths);
    let recorded = recorder.finish(&view);
    let dependencies = record.then(|| {
        recorded
            .dependencies
            .as_ref()
            .map_or_else(DocumentDependencies::unknown, Into::into)
    });
    if let (Some(cache), Some(key), Some(fingerprint)) = (cache, key, fingerprint)
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
            cache.store(path, fingerprint, key, Some(recorded), cached);
        }
    }
    Ok((outcome, dependencies))
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
        self.noqa_added += outcome.noqa_added;
        self.skipped.extend(outcome.skipped);
        self.explanations.extend(outcome.explanations);
        if outcome.stdin_output.is_some() {
            self.stdin_output = outcome.stdin_output;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ConfigSource;
    use crate::settings::config::Overrides;

    fn by_file(root: &Path, cancel: &CancelToken) -> ByFile {
        let resolver =
            SettingsResolver::new(ConfigSource::Discover, Overrides::default(), root.into())
                .expect("settings");
        let options = RunOptions {
            check: crate::CheckOptions {
                respect_noqa: true,
                prefilter: true,
            },
            frames: false,
            fix: FixMode::Off,
            unsafe_fixes: false,
            explanations: false,
            cache: true,
            add_noqa: false,
        };
        let files: Vec<PathBuf> = ["base.py", "plain.py", "user.py"]
            .iter()
            .map(|name| root.join(name))
            .collect();
        let cache = open_cache(&resolver, options);
        check_by_file(&files, None, &resolver, options, cache, cancel).expect("checked")
    }

    #[test]
    fn runs_end_between_projects_once_they_hold_enough_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut files = Vec::new();
        for (project, count) in [("alpha", 3), ("beta", 1), ("gamma", 2), ("gamma/sub", 1)] {
            let folder = dir.path().join(project);
            std::fs::create_dir_all(&folder).expect("folder");
            if !project.contains('/') {
                std::fs::write(folder.join("pyproject.toml"), "").expect("marker");
            }
            for file in 0..count {
                let path = folder.join(format!("m{file}.py"));
                std::fs::write(&path, "").expect("file");
                files.push(path);
            }
        }
        let index = ProjectIndex::new();
        // alpha alone is long enough; beta is not, and goes on with gamma (whose subfolder
        // is gamma's project too).
        assert_eq!(project_runs(&files, &index, 2), [0..3, 3..7]);
        assert_eq!(project_runs(&files, &index, 1), [0..3, 3..4, 4..7]);
        assert_eq!(
            project_runs(&files, &index, 100),
            vec![std::ops::Range { start: 0, end: 7 }]
        );
        assert!(project_runs(&[], &index, 1).is_empty());
    }

    /// Each file's findings and what they depended on, as a string to compare runs by.
    fn described(by_file: &ByFile, root: &Path) -> Vec<String> {
        by_file
            .files
            .iter()
            .map(|file| {
                let name = |path: &Path| {
                    path.strip_prefix(root)
                        .unwrap_or(path)
                        .display()
                        .to_string()
                };
                let codes: Vec<&str> = file.messages.iter().map(|message| message.code).collect();
                let files: Vec<String> = file
                    .dependencies
                    .files
                    .iter()
                    .map(|path| name(path))
                    .collect();
                format!(
                    "{}: {codes:?} files {files:?} missing {:?} searched {} incomplete {}",
                    name(&file.path),
                    file.dependencies.missing_modules,
                    file.dependencies.searched,
                    file.dependencies.incomplete
                )
            })
            .collect()
    }

    /// What a run holds for every file until all are checked stays a few pointers: 46,592
    /// files (transformers 16 times) cost 8 bytes each here per pointer.
    #[test]
    fn per_file_records_stay_small() {
        assert!(std::mem::size_of::<Option<Prepared<'_>>>() <= 56);
        assert!(std::mem::size_of::<Pending>() <= 24);
        assert!(std::mem::size_of::<Result<Each, Box<ConfigError>>>() <= 24);
    }

    #[test]
    fn files_are_kept_apart_with_their_dependencies_from_a_check_or_the_cache() {
        let folder = tempfile::tempdir().expect("a folder");
        let root = folder.path();
        std::fs::write(root.join("pyproject.toml"), "[tool.nmf]\n").expect("write");
        std::fs::write(
            root.join("base.py"),
            "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n",
        )
        .expect("write");
        std::fs::write(root.join("plain.py"), "x = 1\n").expect("write");
        std::fs::write(
            root.join("user.py"),
            "from base import Base\n\nBase().forward(1)\n",
        )
        .expect("write");
        let first = by_file(root, &CancelToken::new());
        assert!(!first.cancelled);
        assert_eq!(first.files_cached, 0);
        let expected = [
            "base.py: [] files [] missing [] searched false incomplete false",
            "plain.py: [] files [] missing [] searched false incomplete false",
            "user.py: [\"NMF001\"] files [\"base.py\"] missing [\"torch.nn\", \"torch.nn.Module\"] searched false incomplete false",
        ];
        assert_eq!(described(&first, root), expected);
        // The second run takes every file from the cache, dependencies included.
        let second = by_file(root, &CancelToken::new());
        assert_eq!(second.files_cached, 3);
        assert_eq!(described(&second, root), expected);
        // Cancelled: nothing is given.
        let cancelled = CancelToken::new();
        cancelled.cancel();
        let none = by_file(root, &cancelled);
        assert!(none.cancelled);
        assert!(none.files.is_empty());
    }
}
