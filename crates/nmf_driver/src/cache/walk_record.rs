//! A folder walk remembered in the cache folder, so that a rerun on an unchanged tree need not
//! list every folder again.
//!
//! A walk's result depends on which entries each walked folder holds (its stat changes when an
//! entry is added, removed or renamed), the ignore and configuration files it read (their stats),
//! the same files in the folders above the walk's roots, the user's global git ignore files, and
//! the command line. The record keeps the stat of each; a later run uses the record only when
//! every stat is the same and was taken more than the settling margin after the path last
//! changed (so an edit within the same tick of a coarse clock cannot hide). Walks that met a
//! symbolic link, an unreadable folder or a `core.excludesFile` setting are not recorded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::cache::format;
use crate::settings::SettingsResolver;
use crate::settings::config::{CONFIG_FILES, ConfigError};
use crate::settings::discover::{Discovered, WalkObserver, discover_observed};
use crate::source::fingerprint::{FolderStats, Stat, hash_bytes, now_nanos};

/// Ignore files; with the configuration files, what in a walked folder (or above one) changes
/// what the walk finds.
const IGNORE_FILES: [&str; 2] = [".gitignore", ".ignore"];

fn watched_names() -> impl Iterator<Item = &'static str> {
    IGNORE_FILES.into_iter().chain(CONFIG_FILES)
}

/// A path and its stat (`None`: it did not exist).
type Watched = (String, Option<Stat>);

#[derive(Serialize, Deserialize)]
struct WalkRecord {
    taken_at: i64,
    /// Each path the result depends on, with its stat (`None`: it did not exist).
    watched: Vec<Watched>,
    files: Vec<String>,
    /// `--fix`'s leftovers found in the walked folders: named again on every run, as a
    /// walk would find them (one removed changes its folder's stat).
    leftovers: Vec<String>,
    /// The walked folders and the folders above the roots in which no configuration file
    /// existed (by the stats in `watched`): while the record holds, none exists there still
    /// (one appearing changes its folder's stat, or is watched as missing above the roots),
    /// so settings are not looked for in them again.
    configless: Vec<String>,
}

/// Discovers the files under `paths` as [`crate::settings::discover::discover`] does, taking the result
/// from a record in `cache_dir` when nothing it depends on changed, and recording it otherwise.
pub fn discover_remembered(
    paths: &[PathBuf],
    resolver: &Arc<SettingsResolver>,
    cache_dir: &Path,
) -> Result<Discovered, ConfigError> {
    let record_file = record_path(paths, resolver, cache_dir);
    if let Some(record) = format::read::<WalkRecord>(&record_file, MAGIC)
        .ok()
        .flatten()
        && let Some(stats) = still_holds(&record)
    {
        let WalkRecord {
            watched,
            files,
            leftovers,
            configless,
            ..
        } = record;
        // Every watched stat was just found equal to the one taken now: the folders' are
        // kept for the cache.
        let folder_stats = watched
            .into_iter()
            .filter_map(|(path, stat)| {
                let stat = stat.filter(|stat| stat.kind == Stat::FOLDER)?;
                Some((hash_bytes(path.as_bytes()), stat))
            })
            .collect();
        // The record's strings become the paths (no copies: a warm run's peak memory).
        let files: Vec<PathBuf> = files.into_iter().map(PathBuf::from).collect();
        // Settings are resolved as a walk would resolve them, configuration errors included:
        // once per folder, looking for configuration files only where there are some.
        let configless: FxHashSet<&Path> = configless.iter().map(Path::new).collect();
        let known = |folder: &Path| configless.contains(folder);
        let mut previous: Option<&Path> = None;
        for folder in files.iter().filter_map(|file| file.parent()) {
            if previous != Some(folder) {
                resolver.for_folder_knowing(folder, &known)?;
                previous = Some(folder);
            }
        }
        return Ok(Discovered {
            files,
            stats: Some(stats),
            folder_stats,
            unreadable: Vec::new(),
            leftovers: leftovers.into_iter().map(PathBuf::from).collect(),
            walked: None,
        });
    }
    let taken_at = now_nanos();
    let observer = Observer::default();
    let discovered = discover_observed(paths, resolver, Some(&observer))?;
    let folders = observer
        .folders
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rememberable = !observer
        .unrememberable
        .load(std::sync::atomic::Ordering::Relaxed)
        && discovered.unreadable.is_empty();
    if rememberable && let Some((watched, configless)) = watched_paths(paths, resolver, &folders) {
        let record = WalkRecord {
            taken_at,
            watched,
            configless,
            files: discovered
                .files
                .iter()
                .filter_map(|file| file.to_str().map(str::to_string))
                .collect(),
            leftovers: discovered
                .leftovers
                .iter()
                .filter_map(|file| file.to_str().map(str::to_string))
                .collect(),
        };
        if record.files.len() == discovered.files.len()
            && record.leftovers.len() == discovered.leftovers.len()
        {
            // Only where the cache folder exists already (the cache makes it): a walk record
            // never creates folders of its own.
            let _ = format::write_atomically(&record_file, MAGIC, ".nmf-walk-", &record);
        }
    }
    Ok(discovered)
}

/// Collects what a walk went through.
#[derive(Default)]
struct Observer {
    folders: Mutex<Vec<PathBuf>>,
    unrememberable: std::sync::atomic::AtomicBool,
}

impl WalkObserver for Observer {
    fn folder(&self, path: &Path) {
        self.folders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(path.to_path_buf());
    }

    fn symlink(&self) {
        self.unrememberable
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Every path the walk's result depends on, with its stat, and the folders among the walked
/// ones and those above the roots that hold no configuration file; `None` when the walk
/// cannot be described so (a global git configuration naming an excludes file, a link named
/// on the command line).
fn watched_paths(
    paths: &[PathBuf],
    resolver: &SettingsResolver,
    folders: &[PathBuf],
) -> Option<(Vec<Watched>, Vec<String>)> {
    // Where settings are looked for: the walked folders and the folders above the roots.
    let mut settings_folders: Vec<&Path> = folders.iter().map(PathBuf::as_path).collect();
    let absolute_roots: Vec<PathBuf> = paths
        .iter()
        .map(|path| crate::settings::discover::absolutize(path, resolver.working_dir()))
        .collect();
    settings_folders.extend(
        absolute_roots
            .iter()
            .flat_map(|absolute| absolute.ancestors().skip(1)),
    );
    // Each path, and whether its absence must be recorded too: inside a walked folder, a file
    // that appears changes the folder's stat, so only files that exist are watched there.
    let mut watched: Vec<(PathBuf, bool)> = Vec::new();
    // `.git/info/exclude` appearing changes `.git/info`, which appearing changes `.git`.
    let names_in_folders: Vec<&str> = watched_names()
        .chain([".git", ".git/info", ".git/info/exclude"])
        .collect();
    let mut walked: Vec<&Path> = folders.iter().map(PathBuf::as_path).collect();
    walked.sort_unstable();
    walked.dedup();
    // Taken folder by folder, in sorted order, a share at a time: each folder is opened
    // from the one above it and its names looked up in it (on 16 projects, a remembered walk
    // took more stats by absolute path than the rest of the run).
    let share = walked
        .len()
        .div_ceil(rayon::current_num_threads() * 8)
        .max(1);
    let in_folders: Option<Vec<Vec<Watched>>> = walked
        .par_chunks(share)
        .map(|walked| {
            let mut opener = FolderStats::default();
            let mut watched = Vec::new();
            for folder in walked {
                let text = folder.to_str()?;
                let (own, stats) = opener.of_folder_and_entries(text, &names_in_folders);
                watched.push((text.to_string(), own));
                // Inside a walked folder, only the files that exist are watched.
                for (name, stat) in names_in_folders.iter().zip(stats) {
                    if stat.is_some() {
                        watched.push((folder.join(name).to_str()?.to_string(), stat));
                    }
                }
            }
            Some(watched)
        })
        .collect();
    for path in paths {
        let absolute = crate::settings::discover::absolutize(path, resolver.working_dir());
        // A link named on the command line: its own stat says nothing of what it leads to.
        if std::fs::symlink_metadata(&absolute).is_ok_and(|metadata| metadata.is_symlink()) {
            return None;
        }
        watched.push((absolute.clone(), true));
        for ancestor in absolute.ancestors().skip(1) {
            watched.extend(watched_names().map(|name| (ancestor.join(name), true)));
            let git = ancestor.join(".git");
            watched.extend(
                [
                    git.clone(),
                    git.join("info"),
                    git.join("info").join("exclude"),
                ]
                .map(|path| (path, true)),
            );
        }
    }
    if let Some(file) = resolver.config_file() {
        watched.push((file.to_path_buf(), true));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if let Some(home) = &home {
        let gitconfig = home.join(".gitconfig");
        // A global excludes file elsewhere would have to be found the way git finds it.
        if std::fs::read_to_string(&gitconfig)
            .is_ok_and(|text| text.to_ascii_lowercase().contains("excludesfile"))
        {
            return None;
        }
        watched.push((gitconfig, true));
        watched.push((home.join(".config").join("git").join("ignore"), true));
    }
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        watched.push((config.join("git").join("ignore"), true));
    }
    watched.sort();
    watched.dedup_by(|a, b| a.0 == b.0);
    let stats: Option<Vec<Option<Watched>>> = watched
        .par_iter()
        .map(|(path, keep_if_missing)| {
            let stat = Stat::of_entry(path);
            if stat.is_none() && !keep_if_missing {
                return Some(None);
            }
            Some(Some((path.to_str()?.to_string(), stat)))
        })
        .collect();
    let mut watched: Vec<Watched> = stats?
        .into_iter()
        .flatten()
        .chain(in_folders?.into_iter().flatten())
        .collect();
    watched.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    watched.dedup_by(|a, b| a.0 == b.0);
    // Inside walked folders only the configuration files that exist are watched; above the
    // roots, missing ones are too: either way, a folder none of whose names has a stat holds
    // no configuration file.
    let existing: FxHashSet<&str> = watched
        .iter()
        .filter(|(_, stat)| stat.is_some())
        .map(|(path, _)| path.as_str())
        .collect();
    settings_folders.sort_unstable();
    settings_folders.dedup();
    let configless = settings_folders
        .into_iter()
        .filter(|folder| {
            CONFIG_FILES.iter().all(|name| {
                folder
                    .join(name)
                    .to_str()
                    .is_some_and(|path| !existing.contains(path))
            })
        })
        .filter_map(|folder| folder.to_str().map(str::to_string))
        .collect();
    Some((watched, configless))
}

/// Whether every watched path has the stat it had, settled before the record was taken; if so,
/// the stats of the record's files (as [`Stat::of_path`] takes them, in the record's order),
/// taken in the same pass: each folder holding files is opened once for its own stat and its
/// files', rather than looked up by path for the one and again for the others.
fn still_holds(record: &WalkRecord) -> Option<Vec<Option<Stat>>> {
    let holds = |then: &Option<Stat>, now: Option<Stat>| match (then, now) {
        (None, None) => true,
        (Some(then), Some(now)) => *then == now && now.settled_at(record.taken_at),
        _ => false,
    };
    let by_path: FxHashMap<&str, &Option<Stat>> = record
        .watched
        .iter()
        .map(|(path, stat)| (path.as_str(), stat))
        .collect();
    let watched = |path: &str| by_path.get(path).copied();
    // The record's files are sorted: a folder's files are together (or in a few runs, when
    // the folder has subfolders).
    let runs: Vec<(Option<&str>, &[String])> = record
        .files
        .chunk_by(|a, b| folder_of(a) == folder_of(b))
        .map(|run| (run.first().and_then(|file| folder_of(file)), run))
        .collect();
    let listed: FxHashSet<&str> = runs
        .iter()
        .filter_map(|(folder, _)| *folder)
        .filter(|folder| watched(folder).is_some())
        .collect();
    let others_hold = || {
        record
            .watched
            .par_iter()
            .filter(|(path, _)| !listed.contains(path.as_str()))
            .all(|(path, then)| holds(then, Stat::of_entry(Path::new(path))))
    };
    // Runs in sorted order, a share at a time: each share opens a folder from the one above.
    let share = runs.len().div_ceil(rayon::current_num_threads() * 8).max(1);
    let files = || {
        runs.par_chunks(share)
            .map(|runs| {
                let mut folders = FolderStats::default();
                runs.iter()
                    .map(
                        |(folder, run)| match folder.filter(|folder| listed.contains(folder)) {
                            Some(folder) => {
                                let (own, stats) = folders.of_folder_and_paths(folder, run);
                                watched(folder)
                                    .is_some_and(|then| holds(then, own))
                                    .then_some(stats)
                            }
                            // A file named on the command line, in a folder not walked.
                            None => Some(Stat::of_paths_in_folder(run)),
                        },
                    )
                    .collect::<Option<Vec<Vec<Option<Stat>>>>>()
            })
            .collect::<Option<Vec<Vec<Vec<Option<Stat>>>>>>()
    };
    let (others, files) = rayon::join(others_hold, files);
    Some(
        files
            .filter(|_| others)?
            .into_iter()
            .flatten()
            .flatten()
            .collect(),
    )
}

/// The folder of `file` (a path as the record keeps it), compared as text.
fn folder_of(file: &str) -> Option<&str> {
    Path::new(file).parent().and_then(Path::to_str)
}

/// The record of a walk of `paths` with these settings sources and command-line values.
fn record_path(paths: &[PathBuf], resolver: &SettingsResolver, cache_dir: &Path) -> PathBuf {
    let identity = format!(
        "{}\0{paths:?}\0{}",
        crate::cache::ENGINE,
        resolver.identity()
    );
    let key = hash_bytes(identity.as_bytes());
    cache_dir
        .join(env!("CARGO_PKG_VERSION"))
        .join(format!("walk-{:016x}.walk", key as u64))
}

/// The kind of a walk record file (see [`format`]).
const MAGIC: &[u8; 8] = b"nmfwalk4";
