//! Finding the files to check: paths named on the command line, and folders walked the way
//! ruff and ripgrep walk them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};

use crate::settings::SettingsResolver;
use crate::settings::config::{ConfigError, DEFAULT_EXCLUDE};
use crate::source::SourceError;
use crate::source::leftovers::is_leftover_name;

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The files to check, sorted. A path named on the command line that does not exist is
    /// among them, to be reported as E902 when it cannot be read, as ruff and flake8 do.
    pub files: Vec<PathBuf>,
    /// The stat of each file (as [`crate::source::fingerprint::Stat::of_path`] takes it), when
    /// discovery took them: a remembered walk does, as it looks at each folder anyway.
    pub stats: Option<Vec<Option<crate::source::fingerprint::Stat>>>,
    /// The walked folders' stats (as [`crate::source::fingerprint::Stat::of_entry`] takes
    /// them), when discovery took them, by the 128-bit hash of their path
    /// ([`crate::source::fingerprint::hash_bytes`]; a tenth of the memory of the paths): a
    /// remembered walk compares each, and the cache's project snapshots, which name the same
    /// folders, need not take them again.
    pub folder_stats: Vec<(u128, crate::source::fingerprint::Stat)>,
    /// Folders that could not be listed, and why: each is an E902 finding, since files in
    /// them go unchecked.
    pub unreadable: Vec<(PathBuf, SourceError)>,
    /// Temporary copies and backups of `--fix` in the walked folders (see
    /// [`crate::source::leftovers`]), sorted.
    pub leftovers: Vec<PathBuf>,
    /// How the walk found each of `files`, when it walked as a search of a project does
    /// (see [`WalkedFolders`]): such a search can then take the walk's files instead of
    /// walking the folders again.
    pub walked: Option<WalkedFolders>,
}

/// How discovery found one of its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Found {
    /// Named on the command line, not found by the walk.
    Named,
    /// Found by the walk, but not a regular `.py` file (a stub, a notebook, a link).
    Walked,
    /// Found by the walk: a regular file whose name ends in `.py`, as a search of the project
    /// takes them.
    WalkedPython,
}

/// What the walk of the folders named on the command line found, when its rules were those
/// of a search of a project (see `ProjectIndex`'s corpora): ignore files respected, hidden
/// entries skipped, the default `exclude` and an `include` that takes every `*.py` file, for
/// every folder's settings. A folder the walk entered then holds the same Python files for
/// both, as long as the ignore files in play are the same (which the search checks).
#[derive(Debug, Clone)]
pub struct WalkedFolders {
    /// The folders walked, none inside another.
    pub roots: Vec<PathBuf>,
    /// How each of [`Discovered::files`] was found, in the same order.
    pub found: Vec<Found>,
}

/// Told what a walk goes through (the cache remembers walks this way).
pub trait WalkObserver: Sync {
    /// A folder the walk listed.
    fn folder(&self, path: &Path);
    /// The walk met a symbolic link.
    fn symlink(&self);
}

/// Finds the files under `paths` to check. Paths named explicitly are always checked; folders
/// are walked with `.gitignore`, `.ignore`, hidden folders and `exclude` respected, and the
/// files in them that `include` names (Python modules, stubs and notebooks by default) kept.
pub fn discover(
    paths: &[PathBuf],
    resolver: &Arc<SettingsResolver>,
) -> Result<Discovered, ConfigError> {
    discover_observed(paths, resolver, None)
}

/// [`discover`], telling `observer` which folders it lists.
pub fn discover_observed(
    paths: &[PathBuf],
    resolver: &Arc<SettingsResolver>,
    observer: Option<&dyn WalkObserver>,
) -> Result<Discovered, ConfigError> {
    let mut files: Vec<(PathBuf, Found)> = Vec::new();
    let mut folders = Vec::new();
    for path in paths {
        let absolute = absolutize(path, resolver.working_dir());
        match std::fs::symlink_metadata(&absolute) {
            // A path that does not exist, or cannot be looked at (a folder on the way is not
            // searchable): reading it reports why.
            Err(_) => files.push((absolute, Found::Named)),
            Ok(metadata) if metadata.is_dir() => folders.push(absolute),
            Ok(_) if absolute.is_dir() => folders.push(absolute),
            Ok(_) => {
                let settings = resolver.for_file(&absolute)?;
                if !(settings.force_exclude && settings.is_excluded_with_ancestors(&absolute)) {
                    files.push((absolute, Found::Named));
                }
            }
        }
    }
    let unreadable: Mutex<Vec<(PathBuf, SourceError)>> = Mutex::new(Vec::new());
    let leftovers: Arc<Mutex<Vec<PathBuf>>> = Arc::new(Mutex::new(Vec::new()));
    if !folders.is_empty() {
        let first_error: Arc<Mutex<Option<ConfigError>>> = Arc::new(Mutex::new(None));
        let found: Mutex<Vec<(PathBuf, Found)>> = Mutex::new(Vec::new());
        let respect_gitignore = resolver.global()?.respect_gitignore;
        let mut builder = WalkBuilder::new(&folders[0]);
        for folder in &folders[1..] {
            builder.add(folder);
        }
        let filter_resolver = Arc::clone(resolver);
        let filter_error = Arc::clone(&first_error);
        let filter_leftovers = Arc::clone(&leftovers);
        builder
            // Hidden entries are skipped below, where `--fix`'s leftovers are noticed.
            .hidden(false)
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
                let name = entry.file_name().as_encoded_bytes();
                if name.starts_with(b".") {
                    if is_leftover_name(name)
                        && entry.file_type().is_some_and(|kind| kind.is_file())
                    {
                        lock(&filter_leftovers).push(entry.path().to_path_buf());
                    }
                    return false;
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
        let found_resolver = Arc::clone(resolver);
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        if let Some(problem) = walk_error(&error) {
                            lock(&unreadable).push(problem);
                        }
                        return WalkState::Continue;
                    }
                };
                if let Some(observer) = observer {
                    match entry.file_type() {
                        Some(kind) if kind.is_dir() => observer.folder(entry.path()),
                        Some(kind) if kind.is_symlink() => observer.symlink(),
                        _ => {}
                    }
                }
                let is_regular_python = entry.file_type().is_some_and(|kind| kind.is_file())
                    && entry.path().extension().is_some_and(|ext| ext == "py");
                let is_file = match entry.file_type() {
                    Some(kind) if kind.is_dir() => false,
                    // A link is checked unless it leads to a folder; a dangling one is
                    // reported when it cannot be read.
                    Some(kind) if kind.is_symlink() => !entry.path().is_dir(),
                    _ => true,
                };
                // Configuration errors were met on the way to the file.
                let included = || {
                    found_resolver
                        .for_file(entry.path())
                        .is_ok_and(|settings| settings.is_included(entry.path()))
                };
                if is_file && included() {
                    // The walk joins each name to its folder's path, leaving the buffer about
                    // half again as large as the path: every path is held to the end of the
                    // run (2.8 MB at 46,592 files).
                    let mut path = entry.into_path();
                    path.shrink_to_fit();
                    let how = if is_regular_python {
                        Found::WalkedPython
                    } else {
                        Found::Walked
                    };
                    found
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((path, how));
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
    // Byte order (not component order, which is slower to compare): only duplicates matter.
    // A file both named and found keeps how the walk found it.
    files.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()).then(b.1.cmp(&a.1)));
    files.dedup_by(|later, kept| later.0 == kept.0);
    let (files, found): (Vec<PathBuf>, Vec<Found>) = files.into_iter().unzip();
    // Configuration errors surface even for files named explicitly.
    for file in &files {
        resolver.for_file(file)?;
    }
    let walked = walks_as_searches(&folders, resolver).then_some(WalkedFolders {
        roots: folders,
        found,
    });
    let mut unreadable = unreadable
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    unreadable.sort_by(|a, b| a.0.cmp(&b.0));
    unreadable.dedup_by(|a, b| a.0 == b.0);
    let mut leftovers = std::mem::take(&mut *lock(&leftovers));
    leftovers.sort();
    leftovers.dedup();
    Ok(Discovered {
        files,
        stats: None,
        folder_stats: Vec::new(),
        unreadable,
        leftovers,
        walked,
    })
}

/// Whether the walk of `folders` found what searches of the projects in them would (see
/// [`WalkedFolders`]): each of their folders' settings (all resolved by now) respects ignore
/// files and has the default `exclude` and an `include` of every `*.py` file, and no folder
/// is inside another (files found under both would have been found by two walks).
fn walks_as_searches(folders: &[PathBuf], resolver: &SettingsResolver) -> bool {
    let nested = folders.iter().enumerate().any(|(index, folder)| {
        folders
            .iter()
            .enumerate()
            .any(|(other_index, other)| index != other_index && folder.starts_with(other))
    });
    !folders.is_empty()
        && !nested
        && resolver.every_resolved(|settings| {
            settings.respect_gitignore
                && settings.exclude.patterns.len() == DEFAULT_EXCLUDE.len()
                && settings
                    .exclude
                    .patterns
                    .iter()
                    .zip(DEFAULT_EXCLUDE)
                    .all(|(pattern, default)| pattern.pattern == *default)
                && settings
                    .include
                    .patterns
                    .iter()
                    .any(|pattern| pattern.pattern == "*.py")
        })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A folder the walk could not list (or an entry it could not look at), with the reason as
/// Python would name it. Loops of symbolic links are not errors: the walk does not follow
/// links to folders.
fn walk_error(error: &ignore::Error) -> Option<(PathBuf, SourceError)> {
    match error {
        ignore::Error::WithPath { path, err } => {
            let reason = match err.as_ref() {
                ignore::Error::Io(io) => SourceError::from_io(io),
                other => SourceError {
                    kind: "OSError",
                    message: other.to_string(),
                },
            };
            Some((path.clone(), reason))
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error(err)
        }
        // An unreadable `.gitignore` and the like: not a folder of files left unchecked.
        _ => None,
    }
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
