//! The cache: each file's findings from an earlier run, kept with everything they depended on,
//! so that a rerun reads only what changed and never reports a different finding.
//!
//! A file's findings depend on more than its text: on the settings that apply to it, on nmf
//! itself, on where the file sits among packages, on every module its receivers' types led to
//! (and every import that found nothing, since the module may appear), and, when a question
//! needed a search of the whole project (subclasses, installed forwards), on every file and
//! folder of the project. An entry records all of these as they were, and is used only when
//! each still holds: files by their stat, and by their content when the stat may lie; imports
//! by resolving them again; the project by a snapshot of the stats of its folders and files.
//!
//! The cache is one file per nmf build, written atomically (the last of two concurrent runs
//! wins); any problem reading or writing it is a warning, never a failure.

mod format;
pub mod walk_record;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use nmf_linter::diagnostic::error_codes;
use nmf_linter::registry::ALL_RULES;
use nmf_linter::render::Location;
use nmf_linter::settings::LinterSettings;
use ruff_diagnostics::Applicability;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::check::CheckOptions;
use crate::check::message::{Message, MessageEdit, MessageFix};
use crate::project::dependencies::{Dependencies, Recorded, location_hash};
use crate::project::{ProjectIndex, ProjectView, corpus_summary};
use crate::source::fingerprint::{Fingerprint, Freshness, Snapshot, Stat, hash_bytes};

/// nmf's version and a hash of the engine's sources (`build.rs`): a cache written by another
/// build is never read, as a change to any rule could change a finding.
pub const ENGINE: &str = concat!(env!("CARGO_PKG_VERSION"), "-", env!("NMF_ENGINE_HASH"));

/// The first bytes of a cache file, then a hash of the rest, so that a truncated or damaged
/// file is noticed before anything in it is believed.
const MAGIC: &[u8; 8] = b"nmfcach2";

/// Where the cache of a run lives, and whether there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    Disabled,
    Folder(PathBuf),
}

/// What a file gave when it was checked, without its place in the output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedOutcome {
    pub parsed: bool,
    /// Why the file was skipped (after its displayed path).
    pub skipped: Option<String>,
    pub messages: Vec<CachedMessage>,
}

/// A fix's edit: its start and end (line, column) and the new text.
type CachedEdit = ((usize, usize), (usize, usize), String);

/// A finding, as [`Message`] holds it, minus its path and code frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedMessage {
    code: String,
    message: String,
    start: (usize, usize),
    end: (usize, usize),
    fix_title: Option<String>,
    note: Option<String>,
    /// Applicability (0 display-only, 1 unsafe, 2 safe) and edits.
    fix: Option<(u8, Vec<CachedEdit>)>,
    cell: Option<usize>,
    file_line: Option<usize>,
    file_end_line: Option<usize>,
}

impl CachedMessage {
    /// Whether `--fix` applies this finding's fix when fixes of `required` apply.
    pub fn fix_applies(&self, required: Applicability) -> bool {
        let rank = match required {
            Applicability::DisplayOnly => 0,
            Applicability::Unsafe => 1,
            Applicability::Safe => 2,
        };
        self.fix
            .as_ref()
            .is_some_and(|(applicability, _)| *applicability >= rank)
    }

    /// The finding without its code frame, which is drawn again from the file when needed.
    fn of(message: &Message) -> Option<Self> {
        let position = |location: Location| (location.line, location.column);
        Some(Self {
            code: message.code.to_string(),
            message: message.message.clone(),
            start: position(message.start),
            end: position(message.end),
            fix_title: message.fix_title.clone(),
            note: message.note.clone(),
            fix: message.fix.as_ref().map(|fix| {
                let applicability = match fix.applicability {
                    Applicability::DisplayOnly => 0,
                    Applicability::Unsafe => 1,
                    Applicability::Safe => 2,
                };
                let edits = fix
                    .edits
                    .iter()
                    .map(|edit| {
                        (
                            position(edit.start),
                            position(edit.end),
                            edit.content.clone(),
                        )
                    })
                    .collect();
                (applicability, edits)
            }),
            cell: message.cell,
            file_line: message.file_line,
            file_end_line: message.file_end_line,
        })
    }

    /// The finding at `display`; `None` for a code this build does not know.
    pub fn to_message(&self, display: &str) -> Option<Message> {
        let rule = ALL_RULES
            .iter()
            .copied()
            .find(|rule| rule.code == self.code);
        let code = match rule {
            Some(rule) => rule.code,
            None => [error_codes::IO_ERROR, error_codes::SYNTAX_ERROR]
                .into_iter()
                .find(|code| *code == self.code)?,
        };
        let location = |(line, column): (usize, usize)| Location { line, column };
        let fix = match &self.fix {
            None => None,
            Some((applicability, edits)) => Some(MessageFix {
                applicability: match applicability {
                    0 => Applicability::DisplayOnly,
                    1 => Applicability::Unsafe,
                    2 => Applicability::Safe,
                    _ => return None,
                },
                edits: edits
                    .iter()
                    .map(|(start, end, content)| MessageEdit {
                        start: location(*start),
                        end: location(*end),
                        content: content.clone(),
                    })
                    .collect(),
            }),
        };
        Some(Message {
            path: display.to_string(),
            rule,
            code,
            message: self.message.clone(),
            start: location(self.start),
            end: location(self.end),
            fix_title: self.fix_title.clone(),
            note: self.note.clone(),
            fix,
            source: None,
            cell: self.cell,
            file_line: self.file_line,
            file_end_line: self.file_end_line,
        })
    }
}

impl CachedOutcome {
    /// The outcome of a check to keep; `None` when it cannot be kept (a code frame).
    pub fn of(parsed: bool, skipped: Option<String>, messages: &[Message]) -> Option<Self> {
        Some(Self {
            parsed,
            skipped,
            messages: messages
                .iter()
                .map(CachedMessage::of)
                .collect::<Option<_>>()?,
        })
    }
}

/// A file the cache holds, unchanged: its dependencies are still to be checked.
pub struct Candidate<'a> {
    key: &'a str,
    entry: &'a Entry,
    /// The file's new fingerprint, when its stat changed but its content did not (boxed: it
    /// is rare, and a candidate is held for every file of a warm run at once).
    refreshed: Option<Box<Fingerprint>>,
}

impl Candidate<'_> {
    /// The hash of the file's content when its findings were stored.
    pub fn content_hash(&self) -> u128 {
        self.refreshed
            .as_ref()
            .map_or(self.entry.fingerprint.hash, |fingerprint| fingerprint.hash)
    }

    /// What the file gave when it was stored.
    pub fn outcome(&self) -> &CachedOutcome {
        &self.entry.outcome
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    fingerprint: Fingerprint,
    settings: u64,
    /// `None`: the prefilter ruled the file out, which depends on its text alone. Boxed: most
    /// entries have none, and the table holds every file of a warm run at once.
    dependencies: Option<Box<Dependencies>>,
    outcome: CachedOutcome,
    /// Whether [`Cache::own`] took the file's stat this run and found the stored one, so that
    /// dependencies and project snapshots that name the file do not take it again: one byte
    /// per file rather than the stat itself, as an unchanged file's stat is its fingerprint's.
    #[serde(skip)]
    seen: Seen,
}

/// What [`Cache::own`] found of a file's stat this run (see [`Entry::seen`]): 0 (the default)
/// when it did not take it or found it changed (it is taken again when asked for).
#[derive(Debug, Default)]
struct Seen(AtomicU8);

impl Seen {
    /// Taken this run, and equal to the stored fingerprint's.
    const AS_STORED: u8 = 1;
}

impl Clone for Seen {
    fn clone(&self) -> Self {
        Self(AtomicU8::new(self.0.load(Ordering::Relaxed)))
    }
}

impl Entry {
    /// The file's stat this run, when [`Cache::own`] found it as stored.
    fn seen_stat(&self) -> Option<Stat> {
        (self.seen.0.load(Ordering::Relaxed) == Seen::AS_STORED).then_some(self.fingerprint.stat)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    #[serde(deserialize_with = "format::presized_map")]
    entries: FxHashMap<String, Entry>,
    corpora: FxHashMap<String, Snapshot>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A run's cache: what was stored, and what this run learns.
pub struct Cache {
    folder: PathBuf,
    stored: Stored,
    /// Whether each stored project snapshot still holds, found once per run.
    corpus_holds: Mutex<FxHashMap<String, bool>>,
    /// What each file others depend on is now (its freshness against the fingerprint
    /// first asked about, and where it sits), found once per run: many files depend on the
    /// same few.
    dependency_files: RwLock<FxHashMap<String, (Fingerprint, Freshness, u64)>>,
    /// The stats of folders discovery took this run (see [`Cache::know_folders`]), by the
    /// hash of their path.
    known_folders: FxHashMap<u128, Stat>,
    updates: Mutex<Vec<(String, Entry)>>,
    new_corpora: Mutex<FxHashMap<String, Arc<Snapshot>>>,
    dirty: AtomicBool,
    /// Files whose findings came from the cache.
    pub hits: std::sync::atomic::AtomicUsize,
    warnings: Mutex<Vec<String>>,
}

impl Cache {
    /// Opens the cache in `folder`, creating the folder (with a `.gitignore` and a
    /// `CACHEDIR.TAG`) when needed. A cache that cannot be read is a warning and starts empty.
    pub fn open(folder: &Path) -> Self {
        let mut warnings = Vec::new();
        if let Err(error) = prepare_folder(folder) {
            warnings.push(format!(
                "the cache folder {} cannot be used ({error}); nothing is cached",
                folder.display()
            ));
        }
        let file = cache_file(folder);
        let stored = match format::read(&file, MAGIC) {
            Ok(stored) => stored.unwrap_or_else(|| {
                warnings.push(format!(
                    "the cache file {} is damaged; it is rebuilt",
                    file.display()
                ));
                Stored::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Stored::default(),
            Err(error) => {
                warnings.push(format!(
                    "the cache file {} cannot be read ({error}); it is rebuilt",
                    file.display()
                ));
                Stored::default()
            }
        };
        Self {
            folder: folder.to_path_buf(),
            stored,
            corpus_holds: Mutex::new(FxHashMap::default()),
            dependency_files: RwLock::new(FxHashMap::default()),
            known_folders: FxHashMap::default(),
            updates: Mutex::new(Vec::new()),
            new_corpora: Mutex::new(FxHashMap::default()),
            dirty: AtomicBool::new(false),
            hits: std::sync::atomic::AtomicUsize::new(0),
            warnings: Mutex::new(warnings),
        }
    }

    /// The first half of a lookup, done for every file before any dependency is checked:
    /// whether the cache holds the file with these settings and the file is unchanged. Its
    /// stat is kept, so that checking a project snapshot later does not take it again.
    /// `stat` is the file's, as [`Stat::of_path`] takes it.
    pub fn own(&self, path: &Path, settings: u64, stat: Option<Stat>) -> Option<Candidate<'_>> {
        let (key, entry) = self.stored.entries.get_key_value(path.to_str()?)?;
        if stat == Some(entry.fingerprint.stat) {
            // Each path is owned once per run: a second stat would be the same.
            entry.seen.0.store(Seen::AS_STORED, Ordering::Relaxed);
        }
        if entry.settings != settings {
            return None;
        }
        let refreshed = match entry.fingerprint.still_holds_as(path, stat) {
            Freshness::Same => None,
            Freshness::SameContent(fingerprint) => Some(Box::new(fingerprint)),
            Freshness::Changed => return None,
        };
        Some(Candidate {
            key,
            entry,
            refreshed,
        })
    }

    /// Tells the cache the stats of folders taken this run ([`Discovered::folder_stats`]), so
    /// that project snapshots, which name every folder of a project, do not take them again:
    /// on 16 projects, a third of a warm run's stats, each by its absolute path. A folder's
    /// own stat (not following a link) is the one following it, as it is no link.
    ///
    /// [`Discovered::folder_stats`]: crate::settings::discover::Discovered::folder_stats
    pub fn know_folders(&mut self, folders: Vec<(u128, Stat)>) {
        self.known_folders = folders
            .into_iter()
            .filter(|(_, stat)| stat.kind == Stat::FOLDER)
            .collect();
    }

    /// Whether nothing was stored (a first run).
    pub fn is_empty(&self) -> bool {
        self.stored.entries.is_empty()
    }

    /// The stat of `path`: the one [`Cache::own`] took this run when there is one (following
    /// links, as files to check are read), or discovery's of a folder, else `take`'s.
    fn stat_of(&self, path: &Path, take: fn(&Path) -> Option<Stat>) -> Option<Stat> {
        let known = path.to_str().and_then(|key| {
            self.stored
                .entries
                .get(key)
                .and_then(Entry::seen_stat)
                .or_else(|| {
                    if self.known_folders.is_empty() {
                        return None;
                    }
                    self.known_folders.get(&hash_bytes(key.as_bytes())).copied()
                })
        });
        match known {
            Some(stat) => Some(stat),
            None => take(path),
        }
    }

    /// The second half: the stored outcome when everything the file depended on still holds,
    /// and those dependencies (`None`: the prefilter ruled the file out, which depends on its
    /// text alone). `view` places the file in its project (only asked for when there are
    /// dependencies).
    pub fn lookup<'c, 'v>(
        &self,
        candidate: Candidate<'c>,
        view: impl FnOnce() -> ProjectView<'v>,
    ) -> Option<(CachedOutcome, Option<&'c Dependencies>)> {
        let Candidate {
            key,
            entry,
            refreshed,
            ..
        } = candidate;
        let mut updated: Option<Entry> = refreshed.map(|fingerprint| Entry {
            fingerprint: *fingerprint,
            ..entry.clone()
        });
        if let Some(dependencies) = &entry.dependencies {
            let mut files = dependencies.files.clone();
            if !self.dependencies_hold(dependencies, &mut files, &view()) {
                return None;
            }
            if files != dependencies.files {
                let entry = updated.get_or_insert_with(|| entry.clone());
                if let Some(dependencies) = &mut entry.dependencies {
                    dependencies.files = files;
                }
            }
        }
        if let Some(updated) = updated {
            lock(&self.updates).push((key.to_string(), updated));
            self.dirty.store(true, Ordering::Relaxed);
        }
        Some((entry.outcome.clone(), entry.dependencies.as_deref()))
    }

    /// Whether every dependency still holds; `files` gets the fingerprints of dependencies
    /// whose stat changed but whose content did not.
    fn dependencies_hold(
        &self,
        dependencies: &Dependencies,
        files: &mut [(String, Option<Fingerprint>, u64)],
        view: &ProjectView<'_>,
    ) -> bool {
        if location_hash(view.location()) != dependencies.location {
            return false;
        }
        let lookups_hold = dependencies.lookups.iter().all(|(module, then)| {
            view.resolve(module).as_deref().and_then(Path::to_str) == then.as_deref()
        });
        if !lookups_hold {
            return false;
        }
        for (file, fingerprint, location) in files.iter_mut() {
            let Some(then) = fingerprint else {
                return false;
            };
            let (freshness, now_location) = self.dependency_file(file, then, view.index());
            match freshness {
                Freshness::Same => {}
                Freshness::SameContent(now) => *fingerprint = Some(now),
                Freshness::Changed => return false,
            }
            if now_location != *location {
                return false;
            }
        }
        dependencies
            .corpora
            .iter()
            .all(|corpus| self.corpus_holds(corpus))
    }

    /// Whether the file `file` is still as `then` says, and the hash of where it sits; taken
    /// once per run for each fingerprint asked about.
    fn dependency_file(
        &self,
        file: &str,
        then: &Fingerprint,
        index: &ProjectIndex,
    ) -> (Freshness, u64) {
        if let Some((asked, freshness, location)) = self
            .dependency_files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(file)
            && asked == then
        {
            return (*freshness, *location);
        }
        let path = Path::new(file);
        let freshness = then.still_holds_as(path, self.stat_of(path, Stat::of_path));
        let location = location_hash(&index.locate(path));
        self.dependency_files
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(file.to_string(), (*then, freshness, location));
        (freshness, location)
    }

    fn corpus_holds(&self, key: &str) -> bool {
        if let Some(known) = lock(&self.corpus_holds).get(key) {
            return *known;
        }
        let checked = self.stored.corpora.get(key).and_then(|snapshot| {
            // Python files were looked at already (as files to check): their stat is known.
            snapshot.still_holds(|path| self.stat_of(path, Stat::of_entry), corpus_summary)
        });
        let holds = checked.is_some();
        if let Some(Some(refreshed)) = checked {
            lock(&self.new_corpora).insert(key.to_string(), Arc::new(refreshed));
            self.dirty.store(true, Ordering::Relaxed);
        }
        lock(&self.corpus_holds).insert(key.to_string(), holds);
        holds
    }

    /// Counts a file whose findings came from the cache.
    pub fn count_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps what checking the file at `path` gave.
    pub fn store(
        &self,
        path: &Path,
        fingerprint: Fingerprint,
        settings: u64,
        recorded: Option<Recorded>,
        outcome: CachedOutcome,
    ) {
        let Some(key) = path.to_str() else {
            return;
        };
        let dependencies = match recorded {
            None => None,
            Some(recorded) => {
                let Some(dependencies) = recorded.dependencies else {
                    // Something it depended on cannot be told again (a project too large to
                    // search): not kept.
                    return;
                };
                lock(&self.new_corpora).extend(recorded.corpora);
                Some(Box::new(dependencies))
            }
        };
        lock(&self.updates).push((
            key.to_string(),
            Entry {
                fingerprint,
                settings,
                dependencies,
                outcome,
                seen: Seen::default(),
            },
        ));
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Forgets the file at `path` (it was fixed: its next run checks it again).
    pub fn forget(&self, path: &Path) {
        if let Some(key) = path.to_str()
            && self.stored.entries.contains_key(key)
        {
            lock(&self.updates).push((key.to_string(), Entry::forgotten()));
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// Writes what this run learnt, atomically; returns the warnings of the run's cache.
    pub fn save(self) -> Vec<String> {
        let mut warnings = self
            .warnings
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if !self.dirty.load(Ordering::Relaxed) {
            drop_in_background((self.stored, self.known_folders));
            return warnings;
        }
        let updates = self
            .updates
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let new_corpora = self
            .new_corpora
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let merged = Merged::of(&self.stored, &updates, &new_corpora);
        if let Err(error) = write_atomically(&self.folder, &merged) {
            warnings.push(format!(
                "the cache in {} was not updated ({error})",
                self.folder.display()
            ));
        }
        drop(merged);
        drop_in_background((self.stored, self.known_folders, updates, new_corpora));
        warnings
    }
}

/// What [`Cache::save`] writes: the stored entries and snapshots with this run's updates, the
/// latest update of a file winning, encoded as a [`Stored`] is without building the merged
/// table (a run filling the cache of a large tree held the updates, the old table and the new
/// one at once). Snapshots no entry refers to any more are left out.
struct Merged<'a> {
    /// The stored entries no update replaces or removes.
    kept: Vec<(&'a String, &'a Entry)>,
    /// The latest update of each file, removals left out.
    updated: Vec<(&'a String, &'a Entry)>,
    corpora: Vec<(&'a String, &'a Snapshot)>,
}

impl<'a> Merged<'a> {
    fn of(
        stored: &'a Stored,
        updates: &'a [(String, Entry)],
        new_corpora: &'a FxHashMap<String, Arc<Snapshot>>,
    ) -> Self {
        let mut latest: FxHashMap<&str, usize> = FxHashMap::default();
        latest.reserve(updates.len());
        for (position, (key, _)) in updates.iter().enumerate() {
            latest.insert(key.as_str(), position);
        }
        let kept: Vec<(&String, &Entry)> = stored
            .entries
            .iter()
            .filter(|(key, _)| !latest.contains_key(key.as_str()))
            .collect();
        let updated: Vec<(&String, &Entry)> = updates
            .iter()
            .enumerate()
            .filter(|(position, (key, entry))| {
                latest.get(key.as_str()) == Some(position) && !entry.is_forgotten()
            })
            .map(|(_, (key, entry))| (key, entry))
            .collect();
        drop(latest);
        let used: rustc_hash::FxHashSet<&str> = kept
            .iter()
            .chain(&updated)
            .filter_map(|(_, entry)| entry.dependencies.as_ref())
            .flat_map(|dependencies| &dependencies.corpora)
            .map(String::as_str)
            .collect();
        let corpora = new_corpora
            .iter()
            .map(|(key, snapshot)| (key, &**snapshot))
            .chain(
                stored
                    .corpora
                    .iter()
                    .filter(|(key, _)| !new_corpora.contains_key(*key)),
            )
            .filter(|(key, _)| used.contains(key.as_str()))
            .collect();
        Self {
            kept,
            updated,
            corpora,
        }
    }
}

impl Serialize for Merged<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStruct};

        /// Pairs written as one map.
        struct Pairs<'p, K, V>(&'p [&'p [(K, V)]]);

        impl<K: Serialize, V: Serialize> Serialize for Pairs<'_, K, V> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let length = self.0.iter().map(|pairs| pairs.len()).sum();
                let mut map = serializer.serialize_map(Some(length))?;
                for (key, value) in self.0.iter().copied().flatten() {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        // The fields of `Stored`, in its order.
        let mut stored = serializer.serialize_struct("Stored", 2)?;
        stored.serialize_field("entries", &Pairs(&[&self.kept, &self.updated]))?;
        stored.serialize_field("corpora", &Pairs(&[&self.corpora]))?;
        stored.end()
    }
}

/// Frees `value` on another thread: a cache's maps (and a run's index) hold hundreds of
/// thousands of small allocations, and a warm run need not wait for them to be freed before
/// it prints and exits.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    // When no thread can be started, the value comes back with the error and is freed here.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

impl Entry {
    /// A marker for an entry to remove.
    fn forgotten() -> Self {
        Self {
            fingerprint: Fingerprint {
                stat: Stat {
                    kind: u8::MAX,
                    device: 0,
                    inode: 0,
                    len: 0,
                    modified: 0,
                    changed: 0,
                },
                hash: 0,
                read_at: 0,
            },
            settings: 0,
            dependencies: None,
            outcome: CachedOutcome {
                parsed: false,
                skipped: None,
                messages: Vec::new(),
            },
            seen: Seen::default(),
        }
    }

    fn is_forgotten(&self) -> bool {
        self.fingerprint.stat.kind == u8::MAX
    }
}

/// The cache file of this build in `folder`.
fn cache_file(folder: &Path) -> PathBuf {
    folder
        .join(env!("CARGO_PKG_VERSION"))
        .join(format!("{ENGINE}.bin"))
}

/// Creates the cache folder with a `.gitignore` that ignores it all and a `CACHEDIR.TAG`, so
/// that it is never committed nor backed up.
fn prepare_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder.join(env!("CARGO_PKG_VERSION")))?;
    let gitignore = folder.join(".gitignore");
    if !gitignore.exists() {
        std::fs::write(gitignore, "# Automatically created by nmf.\n*\n")?;
    }
    let tag = folder.join("CACHEDIR.TAG");
    if !tag.exists() {
        std::fs::write(
            tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n\
             # This file is a cache directory tag created by nmf.\n\
             # For information about cache directory tags see https://bford.info/cachedir/\n",
        )?;
    }
    Ok(())
}

fn write_atomically(folder: &Path, stored: &Merged<'_>) -> std::io::Result<()> {
    let target = cache_file(folder);
    let parent = target.parent().unwrap_or(folder);
    std::fs::create_dir_all(parent)?;
    format::write_atomically(&target, MAGIC, ".nmf-cache-", stored)?;
    // Caches of other builds of this version are stale.
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path != target && path.extension().is_some_and(|ext| ext == "bin") {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    Ok(())
}

/// The hash of everything in a file's settings that can change its findings, with nmf's build:
/// a postcard serialisation of [`SettingsKey`] (a stable encoding, unlike a `Debug` text, which
/// may change with any dependency), each settings struct taken apart field by field so that a
/// new field cannot be left out unnoticed. `None` when it cannot be serialised.
pub fn settings_hash(
    linter: &LinterSettings,
    import_paths: &[PathBuf],
    check: CheckOptions,
) -> Option<u64> {
    let LinterSettings {
        rules,
        known_modules_only,
        not_module_packages,
        module_factories,
        not_module_factories,
    } = linter;
    let CheckOptions {
        respect_noqa,
        prefilter,
    } = check;
    let key = SettingsKey {
        engine: ENGINE,
        rules: rules.iter().map(|rule| rule.code).collect(),
        known_modules_only: *known_modules_only,
        not_module_packages,
        module_factories,
        not_module_factories,
        import_paths: import_paths
            .iter()
            .map(|path| path.as_os_str().as_encoded_bytes())
            .collect(),
        respect_noqa,
        prefilter,
    };
    let bytes = postcard::to_stdvec(&key).ok()?;
    Some(xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// What [`settings_hash`] hashes.
#[derive(Serialize)]
struct SettingsKey<'a> {
    engine: &'a str,
    rules: Vec<&'static str>,
    known_modules_only: bool,
    not_module_packages: &'a [String],
    module_factories: &'a [String],
    not_module_factories: &'a [String],
    import_paths: Vec<&'a [u8]>,
    respect_noqa: bool,
    prefilter: bool,
}

#[cfg(test)]
mod tests {
    use nmf_linter::registry::RuleSet;

    use super::*;

    fn entry_at(path: &Path, settings: u64) -> (Fingerprint, u64, CachedOutcome) {
        let fingerprint = Fingerprint {
            stat: Stat {
                kind: Stat::FILE,
                device: 1,
                inode: 2,
                len: 3,
                modified: 4,
                changed: 5,
            },
            hash: u128::from(settings),
            read_at: 6,
        };
        let outcome =
            CachedOutcome::of(false, Some(path.display().to_string()), &[]).expect("an outcome");
        (fingerprint, settings, outcome)
    }

    /// What a cache file holds: each file's settings and outcome, sorted.
    fn stored_in(folder: &Path) -> Vec<(String, u64, Option<String>)> {
        let cache = Cache::open(folder);
        let mut entries: Vec<_> = cache
            .stored
            .entries
            .iter()
            .map(|(key, entry)| (key.clone(), entry.settings, entry.outcome.skipped.clone()))
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn saving_merges_the_latest_update_of_each_file_into_what_was_stored() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let [a, b, c] = ["/p/a.py", "/p/b.py", "/p/c.py"].map(Path::new);
        let store = |cache: &Cache, path: &Path, settings: u64| {
            let (fingerprint, settings, outcome) = entry_at(path, settings);
            cache.store(path, fingerprint, settings, None, outcome);
        };
        let first = Cache::open(folder.path());
        store(&first, a, 1);
        store(&first, b, 1);
        store(&first, c, 1);
        assert!(first.save().is_empty());
        let second = Cache::open(folder.path());
        // Replaced twice: the latest wins. Forgotten: gone. Untouched: kept.
        store(&second, a, 2);
        store(&second, a, 3);
        second.forget(b);
        assert!(second.save().is_empty());
        let owned = |path: &Path| Some(path.display().to_string());
        assert_eq!(
            stored_in(folder.path()),
            [
                ("/p/a.py".to_string(), 3, owned(a)),
                ("/p/c.py".to_string(), 1, owned(c)),
            ]
        );
    }

    #[test]
    fn the_settings_hash_tells_every_field_apart_and_only_them() {
        let linter = LinterSettings::default();
        let paths = [PathBuf::from("/src")];
        let check = CheckOptions::default();
        let base = settings_hash(&linter, &paths, check);
        assert!(base.is_some());
        assert_eq!(base, settings_hash(&linter.clone(), &paths.clone(), check));
        let changed = [
            settings_hash(
                &LinterSettings {
                    rules: RuleSet::empty(),
                    ..linter.clone()
                },
                &paths,
                check,
            ),
            settings_hash(
                &LinterSettings {
                    known_modules_only: true,
                    ..linter.clone()
                },
                &paths,
                check,
            ),
            settings_hash(
                &LinterSettings {
                    not_module_packages: vec!["numpy".to_string()],
                    ..linter.clone()
                },
                &paths,
                check,
            ),
            settings_hash(
                &LinterSettings {
                    module_factories: vec!["mylib.build".to_string()],
                    ..linter.clone()
                },
                &paths,
                check,
            ),
            settings_hash(
                &LinterSettings {
                    not_module_factories: vec!["mylib.build".to_string()],
                    ..linter.clone()
                },
                &paths,
                check,
            ),
            settings_hash(&linter, &[PathBuf::from("/lib")], check),
            settings_hash(
                &linter,
                &paths,
                CheckOptions {
                    respect_noqa: false,
                    ..check
                },
            ),
            settings_hash(
                &linter,
                &paths,
                CheckOptions {
                    prefilter: false,
                    ..check
                },
            ),
        ];
        for (index, hash) in changed.iter().enumerate() {
            assert_ne!(*hash, base, "change {index} left the hash as it was");
        }
    }
}
