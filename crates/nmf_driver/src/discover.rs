//! Finding the files to check: paths named on the command line, and folders walked the way
//! ruff and ripgrep walk them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};

use crate::config::ConfigError;
use crate::settings::SettingsResolver;

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
