//! The project-wide class index: module names, import resolution to files, and summaries of
//! the files a receiver's type leads to, parsed at most once and only when asked for.

pub mod dependencies;
pub mod lexicon;
pub(crate) mod recipe_configs;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use nmf_linter::analysis::forward_call::{could_spell, has_word};
use nmf_linter::checker::FileContext;
use nmf_linter::semantic::infer::{ProjectFile, ProjectModules};
use nmf_linter::semantic::summary::{ModuleSummary, SourceAgain};
use nmf_linter::semantic::wrap::callers::FileCalls;
use ruff_python_ast::PySourceType;
use rustc_hash::FxHashMap;

use crate::project::dependencies::RecorderState;
use crate::project::lexicon::{Lexicon, Word, binding_words, may_install_forward};
use crate::settings::discover::{Found, WalkedFolders};
use crate::source::parse::ParsedModule;
use rayon::prelude::*;

use crate::source::fingerprint::{Fingerprint, Snapshot, Stat, now_nanos};
use crate::source::{read_regular_file, read_source};

/// Files that mark the root of a project, where absolute imports of its own packages start.
const PROJECT_MARKERS: [&str; 4] = ["pyproject.toml", "setup.py", "setup.cfg", ".git"];

/// Where a file sits among Python packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLocation {
    /// `pkg.sub.mod` for `…/pkg/sub/mod.py` when `pkg` and `sub` hold an `__init__.py`.
    pub name: Option<Box<str>>,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
    /// The folders absolute imports resolve against, first match wins: the folder above the
    /// file's outermost package, then the project root and its `src/`.
    pub roots: Vec<PathBuf>,
}

/// What is known about one folder.
#[derive(Debug, Clone)]
struct FolderInfo {
    /// The package names from the source root down to this folder (empty outside packages).
    packages: Vec<String>,
    /// The folder above the outermost package.
    source_root: PathBuf,
    /// The project's import roots.
    project_roots: Vec<PathBuf>,
}

impl FolderInfo {
    /// The import roots of a file in the folder: the source root, then the project's.
    fn import_roots(&self) -> Vec<PathBuf> {
        let mut roots = vec![self.source_root.clone()];
        for root in &self.project_roots {
            if !roots.contains(root) {
                roots.push(root.clone());
            }
        }
        roots
    }
}

/// Whether `path` is under one of `roots`, or one of them.
fn under(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|root| path.starts_with(root))
}

/// How much of a file [`ProjectIndex::load`] summarises.
#[derive(Clone, Copy)]
enum Summarise {
    Whole,
    ForwardPatches,
}

/// When the file at `path` was last modified, and its length: a summary is kept while both
/// stay the same.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path)
        .ok()
        .and_then(|metadata| Some((metadata.modified().ok()?, metadata.len())))
}

/// A file's summary, with the file's size and time stamp when it was read.
struct Loaded {
    stamp: Option<(SystemTime, u64)>,
    summary: Option<Arc<ModuleSummary>>,
    /// What the file was when read, for the cache; `None` when it could not be read.
    fingerprint: Option<Fingerprint>,
}

/// A project searched for words holds at most this many files; a larger tree (a home folder
/// with no project marker) is not searched, and questions that need the search stay unknown.
const MAX_CORPUS_FILES: usize = 100_000;

/// What the searches of a project need to know of one of its files, learnt from its text.
#[derive(Clone)]
pub struct FileFacts {
    /// The [`binding_words`] of the file (a boxed slice: held for every file of a project,
    /// without the room the list had while it was collected with repeats).
    words: Box<[Word]>,
    /// The file may install a function as a `forward`.
    installs_forward: bool,
}

impl FileFacts {
    pub fn of(text: &str) -> Self {
        Self {
            words: binding_words(text).into_boxed_slice(),
            installs_forward: may_install_forward(text),
        }
    }

    /// A hash of the facts: a file whose facts keep their hash gives every search the same
    /// answer.
    fn hash(&self) -> u64 {
        let mut bytes = Vec::with_capacity(self.words.len() * size_of::<Word>() + 1);
        for word in &self.words {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes.push(u8::from(self.installs_forward));
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    fn read(path: &Path) -> Self {
        match read_regular_file(path) {
            Ok(file) => Self::of(&String::from_utf8_lossy(&file.bytes)),
            Err(_) => Self {
                words: Box::default(),
                installs_forward: false,
            },
        }
    }
}

/// What a search of the project reads of a path it depends on, as a hash: of a folder, the
/// names it would walk into; of a Python file, its [`FileFacts`]; of an ignore file, its bytes.
/// `None` when it cannot be read.
pub fn corpus_summary(path: &Path, stat: &Stat) -> Option<u64> {
    if stat.kind == 1 {
        return folder_summary(path);
    }
    if path.extension().is_some_and(|ext| ext == "py") {
        return Some(FileFacts::read(path).hash());
    }
    std::fs::read(path)
        .ok()
        .map(|bytes| xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// The names in a folder a walk of the project could find something in: folders, Python
/// files and ignore files.
fn folder_summary(folder: &Path) -> Option<u64> {
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(folder).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        let matters = if is_dir {
            !name.starts_with('.')
        } else {
            name.ends_with(".py") || IGNORE_FILES.contains(&name.as_str())
        };
        if matters {
            names.push(format!("{}{name}", if is_dir { '/' } else { '-' }));
        }
    }
    names.sort();
    Some(xxhash_rust::xxh3::xxh3_64(names.join("\0").as_bytes()))
}

/// The corpus of a set of roots, once collected: `None` when there were too many files.
type CorpusSlot = SharedOnce<Option<Arc<Corpus>>>;

/// Every Python file under a set of roots, with its facts, and the lexicon built from them.
struct Corpus {
    paths: Vec<PathBuf>,
    lexicon: Lexicon,
    installers: Vec<PathBuf>,
    /// What the walk saw, for the cache to tell later whether the corpus is the same; `None`
    /// when a path cannot be stored (not UTF-8).
    snapshot: Option<Arc<Snapshot>>,
}

/// Summaries of a project's files, built lazily and shared by every file checked in a run
/// (or, for the flake8 plugin, by every file a process checks).
#[derive(Default)]
pub struct ProjectIndex {
    /// The project's files and their text, by the roots they were collected from; `None` when
    /// there were too many to search.
    corpora: Mutex<FxHashMap<Vec<PathBuf>, Arc<CorpusSlot>>>,
    /// The facts of files the run has already read, so that a search does not read them again.
    /// A run keeps one per file it read until a corpus takes them (all run long for files no
    /// corpus walks): by value, under the [`path_key`] of the file rather than a copy of its
    /// path (on transformers, a path takes 110 bytes, the key 16).
    facts: Mutex<FxHashMap<PathKey, FileFacts>>,
    folders: RwLock<FxHashMap<PathBuf, Arc<FolderInfo>>>,
    project_roots: Mutex<FxHashMap<PathBuf, Option<PathBuf>>>,
    /// `(root, module)` → the file that defines the module there.
    lookups: RwLock<FxHashMap<(PathBuf, String), Option<PathBuf>>>,
    /// One slot per file, so that a file is parsed once even when threads ask together.
    files: Mutex<FxHashMap<PathBuf, Arc<Mutex<Option<Loaded>>>>>,
    /// The same for the files that install a `forward`, summarised for their patches only
    /// ([`ModuleSummary::forward_patches_only`]) when no whole summary of them was needed.
    installer_files: Mutex<FxHashMap<PathBuf, Arc<Mutex<Option<Loaded>>>>>,
    /// Texts that win over the disk: an editor's open, unsaved buffers.
    overlay: RwLock<FxHashMap<PathBuf, Buffer>>,
    /// What the analyses of other files for checked ones found (see
    /// [`ProjectModules::shared_calls`]): a caller file imported by several checked files is
    /// parsed and analysed once. Forgotten when a buffer's text changes (the analyses used
    /// other files' summaries); a run's files on disk are taken as they were first read, as
    /// the corpora take them.
    shared_calls: Mutex<FxHashMap<SharedCallsKey, SharedCalls>>,
    /// The texts of the files [`ProjectModules::importers`] found, with what each file was
    /// when read: a checked file asks for them once for each of its functions. Only the
    /// latest are kept (see [`ImporterTexts`]). Forgotten with the analyses.
    importer_texts: Mutex<ImporterTexts>,
    /// Corpora are collected without [`Corpus::snapshot`]s: nothing records what a check
    /// depended on (a run without the cache), so the stat of every file and folder a
    /// snapshot takes would be wasted.
    skip_snapshots: bool,
    /// What discovery's walk found, for corpora to take instead of walking the folders it
    /// covered again (see [`WalkedFiles`]).
    walked: Option<WalkedFiles>,
    /// The [`path_key`]s, sorted, of the files the run took a stat of and found regular
    /// files (following links, as [`Path::is_file`] does): whether a package's `__init__.py`
    /// or a module's file exists is answered from them without asking the kernel again, by
    /// absolute path (on 16 projects, most of a warm run's stats that were not relative to
    /// a folder). A file not among them is looked for on disk.
    regular_files: Vec<PathKey>,
}

/// Discovery's files and how its walk found them: the Python files of a folder it entered, as
/// a corpus's walk would find them when the same ignore files apply (see
/// [`WalkedFiles::covers`]).
pub struct WalkedFiles {
    /// Discovery's files, sorted by their bytes.
    files: Arc<[PathBuf]>,
    walked: WalkedFolders,
}

/// Files and folders that make a folder's entries ignored or not: with none of them in the
/// folders between two walks' roots, both walks apply the same ignore files to what lies below
/// both roots (`.git` brings `.git/info/exclude` and is where git's ignore files stop applying;
/// `.jj` marks a repository as `.git` does).
const IGNORE_SOURCES: [&str; 4] = [".gitignore", ".ignore", ".git", ".jj"];

impl WalkedFiles {
    /// `files` are discovery's, sorted by their bytes, found as `walked` says.
    pub fn new(files: Arc<[PathBuf]>, walked: WalkedFolders) -> Option<Self> {
        (walked.found.len() == files.len()).then_some(Self { files, walked })
    }

    /// The range of [`WalkedFiles::files`] inside `folder`.
    fn inside(&self, folder: &Path) -> std::ops::Range<usize> {
        let prefix = folder.as_os_str().as_encoded_bytes();
        let under = |path: &PathBuf| {
            let bytes = path.as_os_str().as_encoded_bytes();
            bytes.len() > prefix.len()
                && bytes.starts_with(prefix)
                && std::path::is_separator(char::from(bytes[prefix.len()]))
        };
        // Sorted by bytes, the paths inside the folder follow each other, after every path
        // ordered before the folder's own.
        let start = self
            .files
            .partition_point(|path| path.as_os_str().as_encoded_bytes() <= prefix);
        let end = start
            + self.files[start..]
                .iter()
                .take_while(|path| under(path))
                .count();
        start..end
    }

    /// The regular `.py` files the walk found inside `folder`.
    fn python_inside(&self, folder: &Path) -> impl Iterator<Item = &PathBuf> {
        let range = self.inside(folder);
        self.files[range.clone()]
            .iter()
            .zip(&self.walked.found[range])
            .filter(|(_, found)| **found == Found::WalkedPython)
            .map(|(path, _)| path)
    }

    /// Whether the walk found for `folder` what a walk of it (as a corpus walks) would, for
    /// a folder inside one of the walked roots: the walk entered it (it found a file inside),
    /// and no folder from that root down to the folder's parent holds an ignore file. The
    /// ignore files above the root then apply the same way to both walks, as those of the
    /// folder and below do.
    fn covers(&self, folder: &Path) -> bool {
        let Some(root) = self
            .walked
            .roots
            .iter()
            .find(|root| folder.starts_with(root))
        else {
            return false;
        };
        let entered = folder == root
            || self
                .inside(folder)
                .any(|index| self.walked.found[index] != Found::Named);
        entered && no_ignore_sources_between(root, folder)
    }

    /// The walked roots inside `folder` (not the folder itself) that a walk of `folder` may
    /// take from discovery when it reaches them: no folder from `folder` down to the root's
    /// parent holds an ignore file.
    fn roots_inside(&self, folder: &Path) -> Vec<PathBuf> {
        self.walked
            .roots
            .iter()
            .filter(|root| *root != folder && root.starts_with(folder))
            .filter(|root| no_ignore_sources_between(folder, root))
            .cloned()
            .collect()
    }
}

/// Whether no folder from `top` down to the parent of `inner` (a path under `top`) holds one
/// of the [`IGNORE_SOURCES`]: what lies below `inner` is then ignored or not alike by walks
/// from `top` and from `inner`.
fn no_ignore_sources_between(top: &Path, inner: &Path) -> bool {
    inner
        .ancestors()
        .skip(1)
        .take_while(|ancestor| ancestor.starts_with(top))
        .all(|ancestor| !holds_ignore_sources(ancestor))
}

/// Whether `folder` holds one of the [`IGNORE_SOURCES`].
fn holds_ignore_sources(folder: &Path) -> bool {
    IGNORE_SOURCES
        .iter()
        .any(|name| std::fs::symlink_metadata(folder.join(name)).is_ok())
}

/// The texts of importers kept at most, in bytes. Kept whole for the run, they were the largest
/// part of a cold run's peak on many projects (16 copies of transformers side by side: 21 MiB
/// of 82); the files checked one after another ask for the same few importers (those of
/// their own project), so the latest texts serve nearly every question and the others are
/// read again when asked for.
const MAX_IMPORTER_TEXT_BYTES: usize = 4 << 20;

/// The importers' texts read lately, the oldest forgotten first past
/// [`MAX_IMPORTER_TEXT_BYTES`].
#[derive(Default)]
struct ImporterTexts {
    texts: FxHashMap<PathBuf, Option<TextRead>>,
    /// The paths of `texts`, oldest first.
    order: std::collections::VecDeque<PathBuf>,
    /// The length of the texts held.
    bytes: usize,
}

impl ImporterTexts {
    fn get(&self, path: &Path) -> Option<Option<TextRead>> {
        self.texts.get(path).cloned()
    }

    fn insert(&mut self, path: &Path, read: Option<TextRead>) {
        let length = read.as_ref().map_or(0, |(text, _)| text.len());
        if let Some(old) = self.texts.insert(path.to_path_buf(), read) {
            self.bytes -= old.map_or(0, |(text, _)| text.len());
        } else {
            self.order.push_back(path.to_path_buf());
        }
        self.bytes += length;
        // The text just read is kept, whatever its length.
        while self.bytes > MAX_IMPORTER_TEXT_BYTES && self.order.len() > 1 {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(Some((text, _))) = self.texts.remove(&oldest) {
                self.bytes -= text.len();
            }
        }
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// A file's path as a 128-bit hash, where only the identity of the path matters: as for the
/// hashes of texts the cache compares, two paths sharing one is not a concern.
fn path_key(path: &Path) -> PathKey {
    let hash = xxhash_rust::xxh3::xxh3_128(path.as_os_str().as_encoded_bytes());
    [hash as u64, (hash >> 64) as u64]
}

/// A [`path_key`] as two halves: aligned to 8 bytes rather than a `u128`'s 16, an entry of the
/// map of facts takes 40 bytes instead of 48 (one per file of the run).
type PathKey = [u64; 2];

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps are only ever inserted into: a panic elsewhere cannot leave one inconsistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps read by every file of a run and rarely written: readers do not wait for each other.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// What an analysis of another file is about: the file, a hash of its text, the
/// [`semantic_key`](nmf_linter::settings::LinterSettings::semantic_key) of the settings it was
/// analysed with, a hash of the import paths its modules resolve against, and whether what it
/// used was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SharedCallsKey {
    path: PathBuf,
    text: u64,
    settings: u64,
    import_paths: u64,
    recorded: bool,
}

/// A file's text, and what the file was when read (`None` for an editor's buffer).
pub(crate) type TextRead = (Arc<String>, Option<Fingerprint>);

/// What an analysis of another file found, and, when recorded, what it used of the project
/// (for each checked file that takes the answer to record as its own).
pub(crate) type SharedCalls = (Arc<FileCalls>, Option<Arc<RecorderState>>);

impl ProjectIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// The analysis `key` names, computed by `compute` when it is not known yet. Two threads
    /// that ask together both compute it (the first answer is kept): waiting for another
    /// thread's analysis, which may itself wait for work this thread holds (a corpus it is
    /// collecting), could deadlock.
    pub(crate) fn shared_calls(
        &self,
        key: SharedCallsKey,
        compute: impl FnOnce() -> SharedCalls,
    ) -> SharedCalls {
        if let Some(known) = lock(&self.shared_calls).get(&key) {
            return known.clone();
        }
        let computed = compute();
        lock(&self.shared_calls)
            .entry(key)
            .or_insert(computed)
            .clone()
    }

    /// The index, with discovery's files for its corpora to take (see [`WalkedFiles`]).
    pub fn with_walk(self, walked: Option<WalkedFiles>) -> Self {
        Self { walked, ..self }
    }

    /// The index, knowing that the files of `regular` are regular files: the run took their
    /// stats (see [`ProjectIndex::regular_files`]).
    pub fn with_regular_files<'a>(self, regular: impl Iterator<Item = &'a Path>) -> Self {
        let mut regular_files: Vec<PathKey> = regular.map(path_key).collect();
        regular_files.sort_unstable();
        Self {
            regular_files,
            ..self
        }
    }

    /// An index for a run that records nothing of what its checks depended on: its corpora
    /// have no snapshots (see [`ProjectIndex::corpus_snapshot`]).
    pub fn without_snapshots() -> Self {
        Self {
            skip_snapshots: true,
            ..Self::default()
        }
    }

    /// The module name and import roots of the file at `path` (absolute).
    pub fn locate(&self, path: &Path) -> ModuleLocation {
        let Some(folder) = path.parent() else {
            return ModuleLocation {
                name: None,
                is_package: false,
                roots: Vec::new(),
            };
        };
        let info = self.folder(folder);
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default();
        let is_package = stem == "__init__";
        let mut parts = info.packages.clone();
        if !is_package {
            parts.push(stem.to_string());
        }
        ModuleLocation {
            name: (!parts.is_empty()).then(|| parts.join(".").into_boxed_str()),
            is_package,
            roots: info.import_roots(),
        }
    }

    /// The import roots of the file at `path` (absolute), as [`ProjectIndex::locate`] gives
    /// them, without its module name.
    fn import_roots_of(&self, path: &Path) -> Vec<PathBuf> {
        path.parent()
            .map(|folder| self.folder(folder).import_roots())
            .unwrap_or_default()
    }

    /// The index as seen from the file at `path` (absolute): its module name, and modules
    /// resolved against its roots.
    pub fn view(&self, path: &Path) -> ProjectView<'_> {
        self.view_with(path, &[])
    }

    /// The index as seen from the file at `path`, with `import_paths` (`extra-paths`, the
    /// site-packages of `python`) searched for modules after the project: their classes are
    /// followed, but they are not the project, so no search for subclasses enters them.
    pub fn view_with<'a>(&'a self, path: &Path, import_paths: &'a [PathBuf]) -> ProjectView<'a> {
        ProjectView {
            index: self,
            path: path.to_path_buf(),
            location: self.locate(path),
            folder: path.parent().map(Path::to_path_buf),
            import_paths,
        }
    }

    /// `path` relative to its project's root (or the folder above its outermost package), with
    /// `/` between folders, for notes shown to users.
    fn project_relative(&self, path: &Path) -> Option<Box<str>> {
        let folder = path.parent()?;
        let root = self
            .project_root(folder)
            .unwrap_or_else(|| self.folder(folder).source_root.clone());
        let relative = path.strip_prefix(root).ok()?;
        let parts: Vec<&str> = relative
            .components()
            .map(|part| part.as_os_str().to_str())
            .collect::<Option<_>>()?;
        Some(parts.join("/").into())
    }

    /// The `conftest.py` files pytest loads for a file in `folder`: its own folder's and those
    /// of the folders above, up to the project's root (the closest folder with a project
    /// marker; without one, the folder above the outermost package), the closest first.
    pub fn conftest_paths(&self, folder: &Path) -> Vec<PathBuf> {
        let info = self.folder(folder);
        let top = self
            .project_root(folder)
            .unwrap_or_else(|| info.source_root.clone());
        let mut found = Vec::new();
        for current in folder.ancestors() {
            if !current.starts_with(&top) {
                break;
            }
            let conftest = current.join("conftest.py");
            if self.exists(&conftest) {
                found.push(conftest);
            }
        }
        found
    }

    fn folder(&self, folder: &Path) -> Arc<FolderInfo> {
        if let Some(info) = read(&self.folders).get(folder) {
            return info.clone();
        }
        let info = if self.exists(&folder.join("__init__.py"))
            && let Some(parent) = folder.parent()
        {
            let parent_info = self.folder(parent);
            let mut packages = parent_info.packages.clone();
            packages.push(
                folder
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string(),
            );
            FolderInfo {
                packages,
                source_root: parent_info.source_root.clone(),
                project_roots: parent_info.project_roots.clone(),
            }
        } else {
            FolderInfo {
                packages: Vec::new(),
                source_root: folder.to_path_buf(),
                project_roots: self
                    .project_root(folder)
                    .map(import_roots)
                    .unwrap_or_default(),
            }
        };
        let info = Arc::new(info);
        write(&self.folders).insert(folder.to_path_buf(), info.clone());
        info
    }

    /// The closest folder from `folder` upwards that holds a project marker.
    fn project_root(&self, folder: &Path) -> Option<PathBuf> {
        if let Some(known) = lock(&self.project_roots).get(folder) {
            return known.clone();
        }
        let root = if PROJECT_MARKERS
            .iter()
            .any(|marker| folder.join(marker).exists())
        {
            Some(folder.to_path_buf())
        } else {
            folder.parent().and_then(|parent| self.project_root(parent))
        };
        lock(&self.project_roots).insert(folder.to_path_buf(), root.clone());
        root
    }

    /// The file defining `module` under `root`: `root/a/b.py` or `root/a/b/__init__.py`.
    fn find(&self, root: &Path, module: &str) -> Option<PathBuf> {
        let key = (root.to_path_buf(), module.to_string());
        if let Some(found) = read(&self.lookups).get(&key) {
            return found.clone();
        }
        let found = module_files(module).and_then(|[file, package]| {
            let file = root.join(file);
            if self.exists(&file) {
                return Some(file);
            }
            let package = root.join(package);
            self.exists(&package).then_some(package)
        });
        write(&self.lookups).insert(key, found.clone());
        found
    }

    /// The summary of the file at `path`, read and parsed on first use, and again if the file
    /// changed since. A file that cannot be read or parsed has none.
    pub fn summary(&self, path: &Path) -> Option<Arc<ModuleSummary>> {
        self.summary_read(path).0
    }

    /// The summary of the file at `path`, and what the file was when it was read.
    pub fn summary_read(&self, path: &Path) -> (Option<Arc<ModuleSummary>>, Option<Fingerprint>) {
        let slot = lock(&self.files)
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        Self::loaded(&slot, path, || self.load(path, Summarise::Whole))
    }

    /// What the file at `path`, which installs a `forward`, installs, when its text writes the
    /// name `function` (a file that does not cannot install that function, and is not parsed):
    /// its whole summary when the run has one, else one of its patches only, summarised once.
    fn installer_summary(&self, path: &Path, function: &str) -> Option<Arc<ModuleSummary>> {
        let stamp = stamp(path);
        let whole = lock(&self.files).get(path).cloned();
        if let Some(slot) = whole
            && let Some(current) = lock(&slot).as_ref()
            && current.stamp == stamp
        {
            return current.summary.clone();
        }
        let slot = lock(&self.installer_files)
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        let mut loaded = lock(&slot);
        if let Some(current) = loaded.as_ref()
            && current.stamp == stamp
        {
            return current.summary.clone();
        }
        let (text, fingerprint) = self.text_read(path)?;
        let writes_function =
            has_word(&text, function) || (!text.is_ascii() && could_spell(&text, function));
        if !writes_function {
            return None;
        }
        let (summary, fingerprint) =
            self.summarise(path, &text, fingerprint, Summarise::ForwardPatches);
        *loaded = Some(Loaded {
            stamp,
            summary: summary.clone(),
            fingerprint,
        });
        summary
    }

    /// What `slot` holds of the file at `path` if the file has not changed since, else what
    /// `load` makes of it now.
    fn loaded(
        slot: &Mutex<Option<Loaded>>,
        path: &Path,
        load: impl FnOnce() -> (Option<Arc<ModuleSummary>>, Option<Fingerprint>),
    ) -> (Option<Arc<ModuleSummary>>, Option<Fingerprint>) {
        let mut loaded = lock(slot);
        let stamp = stamp(path);
        if let Some(current) = loaded.as_ref()
            && current.stamp == stamp
        {
            return (current.summary.clone(), current.fingerprint);
        }
        let (summary, fingerprint) = load();
        *loaded = Some(Loaded {
            stamp,
            summary: summary.clone(),
            fingerprint,
        });
        (summary, fingerprint)
    }

    fn load(
        &self,
        path: &Path,
        what: Summarise,
    ) -> (Option<Arc<ModuleSummary>>, Option<Fingerprint>) {
        match self.text_read(path) {
            Some((text, fingerprint)) => self.summarise(path, &text, fingerprint, what),
            None => (None, None),
        }
    }

    /// The summary of the file at `path` whose text is `text`, read as `fingerprint` says.
    fn summarise(
        &self,
        path: &Path,
        text: &Arc<String>,
        fingerprint: Option<Fingerprint>,
        what: Summarise,
    ) -> (Option<Arc<ModuleSummary>>, Option<Fingerprint>) {
        if crate::source::nesting::refusal(text).is_some() {
            // CPython refuses it: not trusted, and not parsed.
            return (None, fingerprint);
        }
        let module = ParsedModule::parse(text, PySourceType::Python);
        let parsed = module.parsed();
        let location = self.locate(path);
        // A file that does not parse is not trusted: what it defines stays unknown.
        let summary = parsed.errors().is_empty().then(|| {
            let (name, is_package) = (location.name, location.is_package);
            let mut summary = match what {
                // Other files' questions seldom reach instance attributes or function bodies:
                // those are summarised when first asked for.
                Summarise::Whole => ModuleSummary::first_tier(
                    parsed.suite(),
                    name,
                    is_package,
                    text,
                    text_again(path, text, fingerprint.as_ref()),
                ),
                Summarise::ForwardPatches => {
                    ModuleSummary::forward_patches_only(parsed.suite(), name, is_package, text)
                }
            };
            summary.path = self.project_relative(path);
            Arc::new(summary)
        });
        (summary, fingerprint)
    }
}

/// How a summary's second tier gets the text of the file at `path` again ([`SourceAgain`]):
/// read anew, and only while the file holds what was read (`fingerprint`); kept, for a text
/// that was not read from the file (an editor's buffer, held anyway).
fn text_again(path: &Path, text: &Arc<String>, fingerprint: Option<&Fingerprint>) -> SourceAgain {
    match fingerprint {
        Some(fingerprint) => {
            let (path, hash) = (path.to_path_buf(), fingerprint.hash);
            Box::new(move || {
                let source = read_source(&path).ok()?;
                (source.fingerprint?.hash == hash).then_some(source.text)
            })
        }
        None => {
            let text = text.clone();
            Box::new(move || Some(text.clone()))
        }
    }
}

/// What the checks of one file can ask the index for, worked out once per folder by
/// [`Release::expect`]: its project (whose corpus, installers and analyses its searches use)
/// and its reach (the folders its module look-ups, searches, conftests and importers stay
/// under), with how many files of that reach are left to check.
#[derive(Debug)]
pub(crate) struct Reach {
    /// The roots of the file's project, as [`ProjectIndex::project_roots_of`] names them.
    project: Box<[PathBuf]>,
    /// The file's import roots and import paths, the outermost only.
    folders: Box<[PathBuf]>,
    /// Files of the reach left to check: counted without a lock, as the files are checked
    /// in parallel.
    left: AtomicUsize,
}

/// Reaches are the same when they name the same folders, whatever is left of them.
impl PartialEq for Reach {
    fn eq(&self, other: &Self) -> bool {
        (&self.project, &self.folders) == (&other.project, &other.folders)
    }
}

impl Eq for Reach {}

impl std::hash::Hash for Reach {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.project, &self.folders).hash(state);
    }
}

/// Forgets what a run learnt of its projects as their last files are checked. At 16 projects
/// side by side, what finished projects had left in the index (module summaries, corpora,
/// analyses of callers) was most of the heap at its peak. Every file left to check is counted
/// under its [`Reach`], so what is forgotten is what no file left to check can ask for:
/// - when the last file of a reach is checked, the summaries under it that no other reach
///   left holds (a summary outside every reach is kept, and so are the last reach's: they go
///   with the index, dropped in the background);
/// - when the last file of a project is checked, what [`ProjectIndex::forget_project`]
///   forgets of it.
///
/// Whatever is forgotten is learnt again should a check ask for it after all.
#[derive(Default)]
pub(crate) struct Release {
    /// The reaches with files left to check.
    pending: Mutex<rustc_hash::FxHashSet<Arc<Reach>>>,
    /// Files not counted yet are still to come (a run checks its projects one after the
    /// other): the last reach counted forgets its summaries too.
    more_to_come: std::sync::atomic::AtomicBool,
}

impl Release {
    /// The reach of the file at `path`, whose modules also resolve under `import_paths`,
    /// counted as one file left to check. Files of one reach share one value.
    pub(crate) fn expect(
        &self,
        index: &ProjectIndex,
        path: &Path,
        import_paths: &[PathBuf],
    ) -> Arc<Reach> {
        let mut folders = index.import_roots_of(path);
        let project = outermost(&folders).into_boxed_slice();
        folders.extend(import_paths.iter().cloned());
        let reach = Reach {
            project,
            folders: outermost(&folders).into_boxed_slice(),
            left: AtomicUsize::new(0),
        };
        let mut pending = lock(&self.pending);
        let reach = match pending.get(&reach) {
            Some(known) => known.clone(),
            None => {
                let reach = Arc::new(reach);
                pending.insert(reach.clone());
                reach
            }
        };
        Self::expect_another(&reach);
        reach
    }

    /// Whether files not counted yet will be checked after those counted so far.
    pub(crate) fn set_more_to_come(&self, more: bool) {
        self.more_to_come.store(more, Ordering::Relaxed);
    }

    /// One file more left to check under `reach`, which [`Release::expect`] gave: a file of
    /// the folder it was worked out for has the same.
    pub(crate) fn expect_another(reach: &Reach) {
        reach.left.fetch_add(1, Ordering::Relaxed);
    }

    /// One file of `reach` is checked.
    pub(crate) fn checked(&self, index: &ProjectIndex, reach: &Arc<Reach>) {
        if reach.left.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let mut pending = lock(&self.pending);
        pending.remove(reach);
        // Every file left to check, running ones included, is counted in `others`: none can
        // ask for what is forgotten.
        let others: Vec<Arc<Reach>> = pending.iter().cloned().collect();
        drop(pending);
        if !others.iter().any(|other| other.project == reach.project) {
            index.forget_project(&reach.project);
        }
        if others.is_empty() && !self.more_to_come.load(Ordering::Relaxed) {
            // The last reach of all keeps its summaries: the index is dropped with the run.
            return;
        }
        let forgotten = |path: &PathBuf| {
            under(path, &reach.folders) && !others.iter().any(|other| under(path, &other.folders))
        };
        let mut released = Vec::new();
        for files in [&index.files, &index.installer_files] {
            let mut files = lock(files);
            let paths: Vec<PathBuf> = files
                .keys()
                .filter(|path| forgotten(path))
                .cloned()
                .collect();
            for path in paths {
                released.extend(files.remove(&path));
            }
        }
        // Dropped outside the locks.
        drop(released);
    }
}

impl ProjectIndex {
    /// A Python file (absolute path) as an editor holds it, unsaved: its text wins over the
    /// disk's until it is taken back with `None`. What depended on the file's old text is
    /// forgotten: its summary, and, when it came or went or its words changed, the searches
    /// and module look-ups. Says what changed for the rest of the project.
    pub fn set_buffer(&self, path: &Path, text: Option<&str>) -> BufferChange {
        let (before, new_facts) = match text {
            Some(text) => {
                let facts = Arc::new(FileFacts::of(text));
                let buffer = Buffer {
                    text: Arc::new(text.to_string()),
                    facts: facts.clone(),
                };
                (
                    write(&self.overlay).insert(path.to_path_buf(), buffer),
                    Some(facts),
                )
            }
            None => (write(&self.overlay).remove(path), None),
        };
        // The disk is read when one side of the change is the disk's text (at most once).
        let disk = (before.is_none() || text.is_none())
            .then(|| read_regular_file(path).ok())
            .flatten()
            .map(|file| String::from_utf8_lossy(&file.bytes).into_owned());
        let old_text = before
            .as_ref()
            .map(|buffer| buffer.text.as_str())
            .or(disk.as_deref());
        let new_text = text.or(disk.as_deref());
        if old_text == new_text {
            // A buffer opened as the disk has it, or closed unchanged: nothing to forget.
            return BufferChange::default();
        }
        lock(&self.files).remove(path);
        lock(&self.installer_files).remove(path);
        // Analyses of other files used this file's summary, or are of it.
        lock(&self.shared_calls).clear();
        lock(&self.importer_texts).clear();
        let facts =
            new_facts.unwrap_or_else(|| Arc::new(FileFacts::of(new_text.unwrap_or_default())));
        let old_facts = match &before {
            Some(buffer) => buffer.facts.hash(),
            None => FileFacts::of(old_text.unwrap_or_default()).hash(),
        };
        let came_or_went = before.is_none() != text.is_none() && !path.is_file();
        if came_or_went {
            write(&self.lookups).clear();
            write(&self.folders).clear();
        }
        let searches_change = came_or_went || old_facts != facts.hash();
        if searches_change {
            // The searches see the file's new words: each corpus collected is updated in
            // memory (typing in a class header must not walk the project again).
            let present = (text.is_some() || path.is_file()).then(|| facts.clone());
            let mut corpora = lock(&self.corpora);
            corpora.retain(|roots, slot| {
                if !under(path, roots) {
                    return true;
                }
                let Some(corpus) = slot.peek().and_then(|collected| collected.as_ref().clone())
                else {
                    // Not collected (or too large): collected afresh when needed.
                    return false;
                };
                let updated = corpus.with_file(path, present.clone());
                *slot = Arc::new(SharedOnce::ready(Some(Arc::new(updated))));
                true
            });
        }
        lock(&self.facts).insert(path_key(path), (*facts).clone());
        BufferChange {
            text: true,
            words: searches_change,
        }
    }

    /// The editor's buffers whose text is not the disk's, sorted, each with whether what the
    /// project's searches see of it (its words) differs too, or the file is not on disk: what
    /// a check of the disk's files alone would get wrong.
    pub fn buffers_unlike_disk(&self) -> Vec<(PathBuf, bool)> {
        // Taken out first: the disk is not read while the editor's thread waits to set one.
        let buffers: Vec<(PathBuf, Arc<String>, Arc<FileFacts>)> = read(&self.overlay)
            .iter()
            .map(|(path, buffer)| (path.clone(), buffer.text.clone(), buffer.facts.clone()))
            .collect();
        let mut unlike: Vec<(PathBuf, bool)> = buffers
            .into_iter()
            .filter_map(|(path, text, facts)| {
                let disk = read_regular_file(&path)
                    .ok()
                    .map(|file| String::from_utf8_lossy(&file.bytes).into_owned());
                match disk {
                    Some(disk) if disk == *text => None,
                    Some(disk) => {
                        let words_differ = FileFacts::of(&disk).hash() != facts.hash();
                        Some((path, words_differ))
                    }
                    None => Some((path, true)),
                }
            })
            .collect();
        unlike.sort();
        unlike
    }

    /// Whether a file is there, on disk or as an editor's buffer.
    fn exists(&self, path: &Path) -> bool {
        read(&self.overlay).contains_key(path)
            || (!self.regular_files.is_empty()
                && self.regular_files.binary_search(&path_key(path)).is_ok())
            || path.is_file()
    }

    /// The files under `roots` (absolute) that write one of `words` in a class header, an
    /// import or an alias assignment: where a subclass of a class of that name, or an alias of
    /// it, can be. `None` when the roots hold too many files.
    pub fn files_mentioning(&self, roots: &[PathBuf], words: &[&str]) -> Option<Vec<PathBuf>> {
        let corpus = self.corpus(roots)?;
        Some(
            corpus
                .lexicon
                .files_writing(words)
                .into_iter()
                .filter_map(|index| corpus.paths.get(index as usize).cloned())
                .collect(),
        )
    }

    /// The files under `roots` (absolute) that write one of `words` in an import statement:
    /// where a function of a module can be called from. `None` when the roots hold too many
    /// files.
    pub fn files_importing(&self, roots: &[PathBuf], words: &[&str]) -> Option<Vec<PathBuf>> {
        let corpus = self.corpus(roots)?;
        Some(
            corpus
                .lexicon
                .files_importing(words)
                .into_iter()
                .filter_map(|index| corpus.paths.get(index as usize).cloned())
                .collect(),
        )
    }

    /// The text of the file at `path` (an editor's buffer wins over the disk), and what the
    /// file was when read (`None` for a buffer). `None` when it cannot be read or decoded.
    pub fn text_read(&self, path: &Path) -> Option<(Arc<String>, Option<Fingerprint>)> {
        if let Some(buffer) = read(&self.overlay).get(path) {
            return Some((buffer.text.clone(), None));
        }
        let source = read_source(path).ok()?;
        Some((source.text, source.fingerprint))
    }

    /// [`ProjectIndex::text_read`] of a file [`ProjectModules::importers`] found, read once
    /// while it is among the latest asked for.
    pub(crate) fn importer_text(&self, path: &Path) -> Option<TextRead> {
        if let Some(known) = lock(&self.importer_texts).get(path) {
            return known;
        }
        let read = self.text_read(path);
        lock(&self.importer_texts).insert(path, read.clone());
        read
    }

    /// The files under `roots` that may install a function as some object's `forward`;
    /// `None` when the roots hold too many files.
    pub fn forward_installers(&self, roots: &[PathBuf]) -> Option<Vec<PathBuf>> {
        Some(self.corpus(roots)?.installers.clone())
    }

    /// What the walk of the corpus of `roots` saw (collecting it if needed); `None` when the
    /// roots hold too many files, a path cannot be stored, or the index takes no snapshots
    /// ([`ProjectIndex::without_snapshots`]).
    pub fn corpus_snapshot(&self, roots: &[PathBuf]) -> Option<Arc<Snapshot>> {
        self.corpus(roots)?.snapshot.clone()
    }

    /// The roots a search of the project of the file at `path` (absolute) walks: what names
    /// the project for [`ProjectIndex::forget_project`].
    pub fn project_roots_of(&self, path: &Path) -> Vec<PathBuf> {
        outermost(&self.import_roots_of(path))
    }

    /// Forgets what was learnt of the project of `roots` (its corpus, the summaries of its
    /// files that install a `forward`, the analyses of its files; its module summaries are
    /// [`Release`]'s), for a run that is done with it: each is learnt again
    /// should a later check ask for it. A run over many projects side by side (a monorepo)
    /// otherwise held every project's until its end. Projects nested in it keep theirs.
    pub fn forget_project(&self, roots: &[PathBuf]) {
        let of_project = |path: &Path| under(path, roots) && self.project_roots_of(path) == roots;
        lock(&self.corpora).remove(roots);
        lock(&self.installer_files).retain(|path, _| !of_project(path));
        lock(&self.shared_calls).retain(|key, _| !of_project(&key.path));
    }

    /// Learns what searches need of a file the run read (absolute path), so that they do not
    /// read it again.
    pub fn learn(&self, path: &Path, text: &str) {
        let facts = FileFacts::of(text);
        lock(&self.facts).insert(path_key(path), facts);
    }

    /// The corpus of `roots`, collected on first use (one thread collects, others wait).
    fn corpus(&self, roots: &[PathBuf]) -> Option<Arc<Corpus>> {
        let roots = outermost(roots);
        let slot = lock(&self.corpora)
            .entry(roots.clone())
            .or_default()
            .clone();
        slot.get_or_init(|| {
            // Unsaved buffers of files not yet on disk belong to the project too.
            let buffers: Vec<PathBuf> = read(&self.overlay)
                .keys()
                .filter(|path| under(path, &roots))
                .cloned()
                .collect();
            // Discovery's walk does not record the folders a snapshot holds.
            let walked = self.walked.as_ref().filter(|_| self.skip_snapshots);
            collect_corpus(&roots, &self.facts, &buffers, !self.skip_snapshots, walked)
                .map(Arc::new)
        })
        .as_ref()
        .clone()
    }
}

/// An editor's unsaved text of a file, with the facts searches need of it.
struct Buffer {
    text: Arc<String>,
    facts: Arc<FileFacts>,
}

/// What setting a buffer changed for the rest of the project.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BufferChange {
    /// The file's text is not what it was (on disk or in the buffer before).
    pub text: bool,
    /// The words project searches see in the file changed (or the file came or went).
    pub words: bool,
}

/// A value computed once, on first use, by one thread; the threads that need it meanwhile
/// help the pool (the computation itself runs on it) instead of blocking a worker.
struct SharedOnce<T> {
    state: Mutex<Option<Arc<T>>>,
    ready: std::sync::Condvar,
    building: std::sync::atomic::AtomicBool,
}

impl<T> Default for SharedOnce<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(None),
            ready: std::sync::Condvar::new(),
            building: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl<T> SharedOnce<T> {
    fn ready(value: T) -> Self {
        let once = Self::default();
        *lock(&once.state) = Some(Arc::new(value));
        once.building
            .store(true, std::sync::atomic::Ordering::Release);
        once
    }

    /// The value, if it was computed.
    fn peek(&self) -> Option<Arc<T>> {
        lock(&self.state).clone()
    }

    fn get_or_init(&self, build: impl FnOnce() -> T) -> Arc<T> {
        use std::sync::atomic::Ordering;
        if !self.building.swap(true, Ordering::AcqRel) {
            let value = Arc::new(build());
            *lock(&self.state) = Some(value.clone());
            self.ready.notify_all();
            return value;
        }
        loop {
            if let Some(value) = lock(&self.state).as_ref() {
                return value.clone();
            }
            // Another thread builds it: run the pool's pending work meanwhile (the build
            // itself runs there), or wait for it.
            if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                let state = lock(&self.state);
                if state.is_none() {
                    let _ = self
                        .ready
                        .wait_timeout(state, std::time::Duration::from_millis(1));
                }
            }
        }
    }
}

impl Corpus {
    /// The corpus with the file at `path` holding `facts` (`None`: the file is gone). The
    /// snapshot is kept as it was: only the cache reads it, and the cache never sees
    /// unsaved buffers.
    fn with_file(&self, path: &Path, facts: Option<Arc<FileFacts>>) -> Corpus {
        let mut paths = self.paths.clone();
        let position = paths.iter().position(|known| known == path);
        let as_index = |index: usize| u32::try_from(index).unwrap_or(u32::MAX);
        let installs = facts.as_ref().is_some_and(|facts| facts.installs_forward);
        let lexicon = match (position, facts) {
            (Some(index), Some(facts)) => self.lexicon.with_file(as_index(index), &facts.words),
            (None, Some(facts)) => {
                let lexicon = self.lexicon.with_file(as_index(paths.len()), &facts.words);
                paths.push(path.to_path_buf());
                lexicon
            }
            (Some(index), None) => {
                paths.remove(index);
                self.lexicon.without_file(as_index(index))
            }
            (None, None) => self.lexicon.clone(),
        };
        // The installers stay in the order of the paths.
        let installers = paths
            .iter()
            .filter(|known| {
                if *known == path {
                    installs
                } else {
                    self.installers.contains(known)
                }
            })
            .cloned()
            .collect();
        Corpus {
            paths,
            lexicon,
            installers,
            snapshot: self.snapshot.clone(),
        }
    }

    /// The corpus of `paths`, whose facts are `facts` (in the same order) and whose lexicon
    /// is `lexicon`. The facts themselves are not kept: the lexicon holds their words.
    fn new(
        paths: Vec<PathBuf>,
        facts: &[FileFacts],
        lexicon: Lexicon,
        snapshot: Option<Arc<Snapshot>>,
    ) -> Corpus {
        let installers = paths
            .iter()
            .zip(facts)
            .filter(|(_, facts)| facts.installs_forward)
            .map(|(path, _)| path.clone())
            .collect();
        Corpus {
            paths,
            lexicon,
            installers,
            snapshot,
        }
    }
}

/// The lexicon of files with these facts, numbered in order.
fn lexicon_of(facts: &[FileFacts]) -> Lexicon {
    Lexicon::new(facts.iter().map(|facts| &*facts.words))
}

/// The roots that are not inside another one, sorted.
fn outermost(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut kept: Vec<PathBuf> = roots
        .iter()
        .filter(|root| {
            !roots
                .iter()
                .any(|other| other != *root && root.starts_with(other))
        })
        .cloned()
        .collect();
    kept.sort();
    kept.dedup();
    kept
}

/// Every Python file under `roots`, walked as `nmf check` walks (ignore files, hidden
/// folders and the default excludes skipped), with its text; `None` past the limit. With
/// `snapshot`, what the walk saw is recorded for the cache. With `walked`, the folders
/// discovery's walk covered (see [`WalkedFiles::covers`]) are not walked again: their files
/// are discovery's. The files are sorted by their bytes, whichever walk found them.
fn collect_corpus(
    roots: &[PathBuf],
    known: &Mutex<FxHashMap<PathKey, FileFacts>>,
    buffers: &[PathBuf],
    snapshot: bool,
    walked: Option<&WalkedFiles>,
) -> Option<Corpus> {
    if roots.is_empty() {
        return None;
    }
    let taken_at = now_nanos();
    let mut seen: Vec<PathBuf> = if snapshot {
        walk_context(roots)
    } else {
        Vec::new()
    };
    let mut paths = Vec::new();
    // The roots discovery's walk covered give their files; the others are walked, and the
    // walked roots inside them they reach give theirs.
    let mut to_walk = Vec::new();
    let mut inside = Vec::new();
    for root in roots {
        match walked {
            Some(walked) if walked.covers(root) => {
                paths.extend(walked.python_inside(root).cloned());
            }
            _ => {
                to_walk.push(root.clone());
                inside.extend(
                    walked
                        .map(|walked| walked.roots_inside(root))
                        .unwrap_or_default(),
                );
            }
        }
    }
    if let Some((first, rest)) = to_walk.split_first() {
        let reached: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let filter_reached = Arc::clone(&reached);
        let mut builder = ignore::WalkBuilder::new(first);
        for root in rest {
            builder.add(root);
        }
        builder
            .hidden(true)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |entry| {
                if entry.depth() == 0 {
                    return true;
                }
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| crate::settings::config::DEFAULT_EXCLUDE.contains(&name))
                {
                    return false;
                }
                // Past the ignore files and the excludes: discovery's walk has its files.
                if inside.iter().any(|root| root == entry.path()) {
                    lock(&filter_reached).push(entry.path().to_path_buf());
                    return false;
                }
                true
            });
        for entry in builder.build().flatten() {
            if entry.file_type().is_some_and(|kind| kind.is_dir()) {
                if !snapshot {
                    continue;
                }
                // Ignore files that appear later change the folder's summary; those present
                // are read by the walk.
                seen.extend(
                    IGNORE_FILES
                        .iter()
                        .map(|name| entry.path().join(name))
                        .filter(|path| path.exists()),
                );
                seen.push(entry.into_path());
                continue;
            }
            let is_python = entry.path().extension().is_some_and(|ext| ext == "py");
            if is_python && entry.file_type().is_some_and(|kind| kind.is_file()) {
                if paths.len() >= MAX_CORPUS_FILES {
                    return None;
                }
                paths.push(entry.into_path());
            }
        }
        if let Some(walked) = walked {
            for root in std::mem::take(&mut *lock(&reached)) {
                paths.extend(walked.python_inside(&root).cloned());
            }
        }
    }
    if paths.len() > MAX_CORPUS_FILES {
        return None;
    }
    paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    for buffer in buffers {
        if !paths.contains(buffer) {
            paths.push(buffer.clone());
        }
    }

    // The facts of files the run has read are taken out of the map: the corpus's lexicon
    // holds their words from now on (another corpus reads them again). An editor's buffers
    // stay, as the disk does not have their text.
    let known: Vec<Option<FileFacts>> = {
        let mut known = lock(known);
        let taken = paths
            .iter()
            .map(|path| {
                if buffers.contains(path) {
                    known.get(&path_key(path)).cloned()
                } else {
                    known.remove(&path_key(path))
                }
            })
            .collect();
        known.shrink_to_fit();
        taken
    };
    let facts: Vec<FileFacts> = paths
        .par_iter()
        .zip(known)
        .map(|(path, known)| known.unwrap_or_else(|| FileFacts::read(path)))
        .collect();
    let lexicon = lexicon_of(&facts);
    if !snapshot {
        return Some(Corpus::new(paths, &facts, lexicon, None));
    }
    // The files by their facts; folders, ignore files and the rest by what they hold.
    let files = paths.par_iter().zip(&facts).map(|(path, facts)| {
        let entry = Stat::of_entry(path).map(|stat| (stat, facts.hash()));
        Some((path.to_str()?.to_string(), entry))
    });
    let others = seen.par_iter().map(|path| {
        let entry =
            Stat::of_entry(path).and_then(|stat| Some((stat, corpus_summary(path, &stat)?)));
        Some((path.to_str()?.to_string(), entry))
    });
    let snapshot = files
        .chain(others)
        .collect::<Option<Vec<_>>>()
        .map(|paths| Arc::new(Snapshot { taken_at, paths }));
    Some(Corpus::new(paths, &facts, lexicon, snapshot))
}

/// The ignore files a folder walk reads in each folder.
const IGNORE_FILES: [&str; 2] = [".gitignore", ".ignore"];

/// What else a walk of `roots` depends on: the ignore files of the folders above them,
/// a repository's `.git/info/exclude`, and the user's global git ignore file.
fn walk_context(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for root in roots {
        for ancestor in root.ancestors().skip(1) {
            paths.extend(IGNORE_FILES.iter().map(|name| ancestor.join(name)));
            paths.push(ancestor.join(".git").join("info").join("exclude"));
        }
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        paths.push(home.join(".gitconfig"));
        paths.push(home.join(".config").join("git").join("ignore"));
    }
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        paths.push(config.join("git").join("ignore"));
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Where `module` is defined, relative to an import root: `a/b.py`, else `a/b/__init__.py`
/// for `a.b`; `None` for a name no file defines (an empty part, a path separator).
pub fn module_files(module: &str) -> Option<[PathBuf; 2]> {
    let valid = module
        .split('.')
        .all(|part| !part.is_empty() && !part.contains(['/', '\\']));
    let base: PathBuf = valid.then(|| module.split('.').collect())?;
    Some([base.with_extension("py"), base.join("__init__.py")])
}

/// A project's import roots: its root folder and its `src/` when there is one.
fn import_roots(root: PathBuf) -> Vec<PathBuf> {
    let src = root.join("src");
    let has_src = src.is_dir();
    let mut roots = vec![root];
    if has_src {
        roots.push(src);
    }
    roots
}

/// The index as seen from one file: modules resolve against that file's roots.
#[derive(Clone)]
pub struct ProjectView<'a> {
    index: &'a ProjectIndex,
    /// The file.
    path: PathBuf,
    location: ModuleLocation,
    /// The folder of the file, where pytest's `conftest.py` files start.
    folder: Option<PathBuf>,
    /// Folders searched for modules after the project's roots.
    import_paths: &'a [PathBuf],
}

impl ProjectView<'_> {
    /// What the linter needs to know about the file's place in the project.
    pub fn file_context(&self) -> FileContext<'_> {
        self.file_context_with(self)
    }

    /// The same, with the project's modules asked through `project` (which records them).
    pub fn file_context_with<'p>(&self, project: &'p dyn ProjectModules) -> FileContext<'p> {
        FileContext {
            module_name: self.location.name.clone(),
            is_package: self.location.is_package,
            project,
        }
    }
}

impl<'a> ProjectView<'a> {
    /// The file module `name` resolves to, without reading it.
    pub fn resolve(&self, name: &str) -> Option<PathBuf> {
        self.location
            .roots
            .iter()
            .chain(self.import_paths)
            .find_map(|root| self.index.find(root, name))
    }

    /// The `conftest.py` files pytest loads for the file, the closest first.
    pub fn conftest_paths(&self) -> Vec<PathBuf> {
        self.folder
            .as_deref()
            .map(|folder| self.index.conftest_paths(folder))
            .unwrap_or_default()
    }

    /// The folder of the file.
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// Where the file sits among packages.
    pub fn location(&self) -> &ModuleLocation {
        &self.location
    }

    /// The project roots, as searches of the project use them.
    pub fn corpus_roots(&self) -> Vec<PathBuf> {
        outermost(&self.location.roots)
    }

    pub fn index(&self) -> &'a ProjectIndex {
        self.index
    }

    /// What names an analysis of the file this view is of, whose text is `text`, with
    /// settings of [`semantic_key`](nmf_linter::settings::LinterSettings::semantic_key)
    /// `settings`.
    pub(crate) fn shared_calls_key(
        &self,
        text: &str,
        settings: u64,
        recorded: bool,
    ) -> SharedCallsKey {
        use std::hash::BuildHasher;
        SharedCallsKey {
            path: self.path.clone(),
            text: xxhash_rust::xxh3::xxh3_64(text.as_bytes()),
            settings,
            import_paths: rustc_hash::FxBuildHasher.hash_one(self.import_paths),
            recorded,
        }
    }
}

impl ProjectModules for ProjectView<'_> {
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>> {
        self.resolve(name)
            .and_then(|path| self.index.summary(&path))
    }

    fn forward_installers(&self, function: &str) -> Option<Vec<Arc<ModuleSummary>>> {
        let paths = self.index.forward_installers(&self.location.roots)?;
        Some(
            paths
                .iter()
                .filter_map(|path| self.index.installer_summary(path, function))
                .collect(),
        )
    }

    fn mentioning(&self, words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>> {
        let paths = self.index.files_mentioning(&self.location.roots, words)?;
        Some(
            paths
                .iter()
                .filter_map(|path| self.index.summary(path))
                .collect(),
        )
    }

    fn conftests(&self) -> Vec<Arc<ModuleSummary>> {
        self.conftest_paths()
            .iter()
            .filter_map(|path| self.index.summary(path))
            .collect()
    }

    fn recipe_configs(&self) -> Option<Vec<Arc<str>>> {
        recipe_configs::read_recipe_configs(self.folder.as_deref()?).texts
    }

    fn importers(&self, words: &[&str], limit: usize) -> Option<Vec<ProjectFile<'_>>> {
        let paths = self.index.files_importing(&self.location.roots, words)?;
        if paths.len() > limit {
            return None;
        }
        Some(
            paths
                .iter()
                .filter_map(|path| {
                    let (text, _) = self.index.importer_text(path)?;
                    let view = self.index.view_with(path, self.import_paths);
                    Some(view.into_project_file(text, |view| Box::new(view)))
                })
                .collect(),
        )
    }

    fn shared_calls(
        &self,
        text: &str,
        settings: u64,
        analyse: &dyn Fn(&dyn ProjectModules) -> FileCalls,
    ) -> Option<Arc<FileCalls>> {
        let key = self.shared_calls_key(text, settings, false);
        let (calls, _) = self
            .index
            .shared_calls(key, || (Arc::new(analyse(self)), None));
        Some(calls)
    }
}

impl<'a> ProjectView<'a> {
    /// The file this view is of, with its text, for analysis as a [`ProjectFile`] whose
    /// project is `project` made of the view.
    pub(crate) fn into_project_file<'p>(
        self,
        text: Arc<String>,
        project: impl FnOnce(ProjectView<'a>) -> Box<dyn ProjectModules + 'p>,
    ) -> ProjectFile<'p> {
        ProjectFile {
            text,
            module_name: self.location.name.clone(),
            is_package: self.location.is_package,
            project: project(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// The map of facts holds an entry for every file a run read.
    #[test]
    fn an_entry_of_the_facts_of_files_stays_40_bytes() {
        assert!(size_of::<(PathKey, FileFacts)>() <= 40);
    }

    /// Importers' texts are kept up to a budget, the oldest forgotten first; the text just read
    /// stays even when it alone is over the budget.
    #[test]
    fn importer_texts_forget_the_oldest_past_their_budget() {
        let text = |length: usize| Some((Arc::new("x".repeat(length)), None));
        let half = MAX_IMPORTER_TEXT_BYTES / 2;
        let mut texts = ImporterTexts::default();
        texts.insert(Path::new("a.py"), text(half));
        texts.insert(Path::new("b.py"), None);
        texts.insert(Path::new("c.py"), text(half));
        assert!(texts.get(Path::new("a.py")).is_some());
        assert_eq!(texts.bytes, MAX_IMPORTER_TEXT_BYTES);
        texts.insert(Path::new("d.py"), text(1));
        assert!(texts.get(Path::new("a.py")).is_none());
        assert!(texts.get(Path::new("b.py")).is_some());
        assert_eq!(texts.bytes, half + 1);
        texts.insert(Path::new("e.py"), text(MAX_IMPORTER_TEXT_BYTES + 1));
        assert_eq!(texts.order, [PathBuf::from("e.py")]);
        assert_eq!(texts.bytes, MAX_IMPORTER_TEXT_BYTES + 1);
        // Read again (changed on disk meanwhile), a path is counted once.
        texts.insert(Path::new("e.py"), text(3));
        assert_eq!((texts.order.len(), texts.bytes), (1, 3));
    }

    /// The Python files of the corpus of `roots`, taking discovery's files when `walked`.
    fn corpus_paths(roots: &[PathBuf], walked: Option<&WalkedFiles>) -> Vec<PathBuf> {
        collect_corpus(roots, &Mutex::default(), &[], false, walked)
            .expect("collected")
            .paths
    }

    /// Discovery's walk of `folders`, with the default settings.
    fn walk_of(folders: &[PathBuf]) -> WalkedFiles {
        use crate::settings::config::Overrides;
        use crate::settings::{ConfigSource, SettingsResolver};
        let resolver = Arc::new(
            SettingsResolver::new(
                ConfigSource::Isolated,
                Overrides::default(),
                folders[0].clone(),
            )
            .expect("settings"),
        );
        let discovered = crate::settings::discover::discover(folders, &resolver).expect("walked");
        let walked = discovered.walked.expect("walked as a search walks");
        WalkedFiles::new(discovered.files.into(), walked).expect("one record per file")
    }

    /// A project around the folder discovery walked (a package's `src/`): its corpus takes
    /// the files of that folder from discovery (a file written since is not among them) and
    /// walks the rest; both give what a walk of the whole project gives. With an ignore file
    /// in the project's folder, whose rules a walk from there applies as its own, the folder
    /// is walked again.
    #[test]
    fn a_corpus_takes_the_files_of_a_walked_folder_inside_its_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("project");
        let src = root.join("src");
        write(&root, "pyproject.toml", "");
        write(&root, "tests/test_a.py", "");
        for file in [
            "pkg/__init__.py",
            "pkg/a.py",
            "pkg/b.pyi",
            "pkg/c.ipynb",
            ".hidden/h.py",
            "dist/d.py",
            "skipped/s.py",
        ] {
            write(&src, file, "");
        }
        write(&src, ".gitignore", "skipped/\n");
        #[cfg(unix)]
        std::os::unix::fs::symlink(src.join("pkg/a.py"), src.join("pkg/link.py")).expect("link");
        let walked = walk_of(std::slice::from_ref(&src));
        let roots = [root.clone()];
        let expected = [
            src.join("pkg/__init__.py"),
            src.join("pkg/a.py"),
            root.join("tests/test_a.py"),
        ];
        assert_eq!(corpus_paths(&roots, None), expected);
        assert_eq!(corpus_paths(&roots, Some(&walked)), expected);

        write(&src, "pkg/late.py", "");
        write(&root, "tests/test_late.py", "");
        let taken = corpus_paths(&roots, Some(&walked));
        assert!(!taken.contains(&src.join("pkg/late.py")));
        assert!(taken.contains(&root.join("tests/test_late.py")));

        write(&root, ".ignore", "nothing\n");
        assert!(corpus_paths(&roots, Some(&walked)).contains(&src.join("pkg/late.py")));
    }

    /// Projects side by side in the folder discovery walked: each corpus is discovery's files
    /// of its project, unless an ignore file in the walked folder would apply to a walk of the
    /// project differently (its rules are a parent's there).
    #[test]
    fn a_corpus_takes_the_files_of_a_project_inside_a_walked_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("projects");
        write(&folder, "first/pyproject.toml", "");
        write(&folder, "first/pkg/a.py", "");
        write(&folder, "second/pyproject.toml", "");
        write(&folder, "second/b.py", "");
        let walked = walk_of(std::slice::from_ref(&folder));
        let first = [folder.join("first")];
        assert_eq!(corpus_paths(&first, None), [folder.join("first/pkg/a.py")]);
        write(&folder, "first/pkg/late.py", "");
        assert_eq!(
            corpus_paths(&first, Some(&walked)),
            [folder.join("first/pkg/a.py")]
        );
        // A folder the walk never entered is walked.
        write(&folder, "third/c.py", "");
        assert_eq!(
            corpus_paths(&[folder.join("third")], Some(&walked)),
            [folder.join("third/c.py")]
        );

        write(&folder, ".gitignore", "late.py\n");
        let walked = walk_of(std::slice::from_ref(&folder));
        write(&folder, "first/pkg/later.py", "");
        assert!(corpus_paths(&first, Some(&walked)).contains(&folder.join("first/pkg/later.py")));
    }

    #[test]
    fn unsaved_buffers_win_over_the_disk_for_lookups_summaries_and_searches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "pyproject.toml", "");
        write(root, "base.py", "class Base:\n    pass\n");
        write(
            root,
            "user.py",
            "from base import Base\n\n\nclass User(Base):\n    pass\n",
        );
        let index = ProjectIndex::new();
        let roots = vec![root.to_path_buf()];
        let mentioning = |word: &str| {
            let mut found = index.files_mentioning(&roots, &[word]).expect("searched");
            found.sort();
            found
        };
        assert_eq!(
            mentioning("Base"),
            [root.join("base.py"), root.join("user.py")]
        );
        let view = index.view(&root.join("user.py"));
        assert_eq!(view.module("base").expect("on disk").classes.len(), 1);
        assert!(view.module("fresh").is_none());

        // The buffer of `base.py` renames its class; `fresh.py` exists only as a buffer.
        index.set_buffer(&root.join("base.py"), Some("class Renamed:\n    pass\n"));
        index.set_buffer(
            &root.join("fresh.py"),
            Some("class Fresh(Renamed):\n    pass\n"),
        );
        assert_eq!(mentioning("Base"), [root.join("user.py")]);
        assert_eq!(
            mentioning("Renamed"),
            [root.join("base.py"), root.join("fresh.py")]
        );
        let view = index.view(&root.join("user.py"));
        let base = view.module("base").expect("the buffer");
        assert_eq!(base.classes[0].name.as_str(), "Renamed");
        assert!(view.module("fresh").is_some());

        // Taken back: the disk again.
        index.set_buffer(&root.join("base.py"), None);
        index.set_buffer(&root.join("fresh.py"), None);
        assert_eq!(
            mentioning("Base"),
            [root.join("base.py"), root.join("user.py")]
        );
        assert!(mentioning("Fresh").is_empty());
        let view = index.view(&root.join("user.py"));
        assert_eq!(
            view.module("base").expect("on disk").classes[0]
                .name
                .as_str(),
            "Base"
        );
        assert!(view.module("fresh").is_none());
    }

    /// Two projects side by side and a shared import path: a project's summaries are forgotten
    /// when its last file is checked, not before, and not those another project left to check
    /// reaches (the import path); the last project keeps its own.
    #[test]
    fn a_projects_summaries_are_forgotten_after_its_last_file_is_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, second, shared) = (
            dir.path().join("first"),
            dir.path().join("second"),
            dir.path().join("shared"),
        );
        for project in [&first, &second] {
            write(project, "pyproject.toml", "");
            write(
                project,
                "a.py",
                "from b import B
from lib import L
",
            );
            write(
                project,
                "c.py",
                "from b import B
",
            );
            write(
                project,
                "b.py",
                "class B:
    pass
",
            );
        }
        write(
            &shared,
            "lib.py",
            "class L:
    pass
",
        );
        let index = ProjectIndex::new();
        let release = Release::default();
        let import_paths = [shared.clone()];
        let reach = |path: &Path| release.expect(&index, path, &import_paths);
        let (first_a, first_c) = (reach(&first.join("a.py")), reach(&first.join("c.py")));
        let second_a = reach(&second.join("a.py"));
        let kept = |path: PathBuf| lock(&index.files).contains_key(&path);
        for project in [&first, &second] {
            let view = index.view_with(&project.join("a.py"), &import_paths);
            assert!(view.module("b").is_some() && view.module("lib").is_some());
        }
        release.checked(&index, &first_a);
        assert!(
            kept(first.join("b.py")),
            "c.py of the project is left to check"
        );
        release.checked(&index, &first_c);
        assert!(!kept(first.join("b.py")));
        assert!(kept(shared.join("lib.py")) && kept(second.join("b.py")));
        release.checked(&index, &second_a);
        assert!(kept(shared.join("lib.py")) && kept(second.join("b.py")));
        // Asked again, a forgotten summary is made again.
        let view = index.view_with(&first.join("a.py"), &import_paths);
        assert!(view.module("b").is_some());
    }

    #[test]
    fn a_project_is_forgotten_after_its_last_file_and_a_summary_once_no_file_left_reaches_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (alpha, beta) = (dir.path().join("alpha"), dir.path().join("beta"));
        write(&alpha, "pyproject.toml", "");
        write(&alpha, "models.py", "class M:\n    pass\n");
        write(&alpha, "a.py", "from models import M\n");
        write(&alpha, "c.py", "from models import M\n");
        write(&beta, "pyproject.toml", "");
        write(&beta, "b.py", "from models import M\n");
        let index = ProjectIndex::new();
        let release = Release::default();
        // Two reaches of alpha (c.py also imports from beta), and beta, which imports from alpha.
        let (to_beta, to_alpha) = ([beta.clone()], [alpha.clone()]);
        let a = release.expect(&index, &alpha.join("a.py"), &[]);
        let c = release.expect(&index, &alpha.join("c.py"), &to_beta);
        let b = release.expect(&index, &beta.join("b.py"), &to_alpha);
        assert!(!Arc::ptr_eq(&a, &c) && a.project == c.project);
        // Files of one reach share one value, counted for each file.
        assert!(Arc::ptr_eq(
            &a,
            &release.expect(&index, &alpha.join("models.py"), &[])
        ));
        release.checked(&index, &a);
        for (path, import_paths) in [
            (alpha.join("a.py"), &[][..]),
            (beta.join("b.py"), &to_alpha),
        ] {
            let view = index.view_with(&path, import_paths);
            assert!(view.module("models").is_some());
            assert!(view.mentioning(&["M"]).is_some());
        }
        let collected = |root: &Path| lock(&index.corpora).contains_key(&vec![root.to_path_buf()]);
        let kept = |path: PathBuf| lock(&index.files).contains_key(&path);
        assert!(collected(&alpha) && collected(&beta));
        release.checked(&index, &a);
        assert!(collected(&alpha), "c.py of alpha is left to check");
        assert!(kept(alpha.join("models.py")));
        release.checked(&index, &c);
        assert!(!collected(&alpha));
        assert!(kept(alpha.join("models.py")), "b.py of beta reaches it");
        release.checked(&index, &b);
        // The last file of all keeps its summaries (the index is dropped with the run), not
        // its project's corpus.
        assert!(!collected(&beta) && kept(alpha.join("models.py")));
        // Unless more files are to be counted (the run's next projects).
        release.set_more_to_come(true);
        let again = release.expect(&index, &beta.join("b.py"), &to_alpha);
        let view = index.view_with(&beta.join("b.py"), &to_alpha);
        assert!(view.module("models").is_some());
        release.checked(&index, &again);
        assert!(!kept(alpha.join("models.py")));
    }

    #[test]
    fn installers_are_summarised_for_their_patches_when_they_write_the_function() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "pyproject.toml", "");
        write(root, "pkg/__init__.py", "");
        write(
            root,
            "pkg/install.py",
            "from .heads import patched\n\
             def helper():\n    return 1\n\
             def install(m):\n    m.forward = patched\n",
        );
        write(
            root,
            "pkg/heads.py",
            "def patched(self, x):\n    return x\n",
        );
        let index = ProjectIndex::new();
        let view = index.view(&root.join("pkg/heads.py"));
        // A file that does not write the name cannot install the function: not even parsed.
        assert_eq!(
            view.forward_installers("other").map(|found| found.len()),
            Some(0)
        );
        let found = view.forward_installers("patched").expect("searched");
        let [installer] = found.as_slice() else {
            panic!("one installer, found {}", found.len());
        };
        assert_eq!(installer.forward_patches.len(), 1);
        assert_eq!(installer.forward_patches[0].function.as_str(), "patched");
        // Its patches only: nothing else was asked of it.
        assert!(installer.globals.is_empty());
        // Once the run needs the file whole, that summary answers too.
        let whole = index
            .summary(&root.join("pkg/install.py"))
            .expect("summary");
        assert!(whole.globals.contains_key("helper"));
        let found = view.forward_installers("patched").expect("searched");
        assert!(found.iter().all(|module| Arc::ptr_eq(module, &whole)));
    }

    #[test]
    fn module_names_follow_packages_and_roots_include_the_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "pyproject.toml", "");
        write(root, "src/pkg/__init__.py", "");
        write(root, "src/pkg/sub/__init__.py", "");
        write(root, "src/pkg/sub/mod.py", "");
        write(root, "tests/test_a.py", "");
        let index = ProjectIndex::new();
        let module = index.locate(&root.join("src/pkg/sub/mod.py"));
        assert_eq!(module.name.as_deref(), Some("pkg.sub.mod"));
        assert!(!module.is_package);
        assert_eq!(module.roots, [root.join("src"), root.to_path_buf()]);
        let package = index.locate(&root.join("src/pkg/sub/__init__.py"));
        assert_eq!(package.name.as_deref(), Some("pkg.sub"));
        assert!(package.is_package);
        let test = index.locate(&root.join("tests/test_a.py"));
        assert_eq!(test.name.as_deref(), Some("test_a"));
        assert_eq!(
            test.roots,
            [root.join("tests"), root.to_path_buf(), root.join("src")]
        );
    }

    #[test]
    fn modules_resolve_to_files_and_summaries_are_reloaded_when_files_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "setup.py", "");
        write(root, "pkg/__init__.py", "from .models import Model\n");
        write(root, "pkg/models.py", "class Model:\n    pass\n");
        write(root, "pkg/broken.py", "class (:\n");
        let index = ProjectIndex::new();
        let view = index.view(&root.join("pkg/models.py"));
        let package = view.module("pkg").expect("pkg resolves");
        assert!(package.is_package);
        let models = view.module("pkg.models").expect("pkg.models resolves");
        assert_eq!(models.name.as_deref(), Some("pkg.models"));
        assert_eq!(models.classes.len(), 1);
        assert!(view.module("pkg.missing").is_none());
        assert!(view.module("torch.nn").is_none());
        assert!(
            view.module("pkg.broken").is_none(),
            "a file that does not parse is not trusted"
        );
        // Parsed once: the same summary comes back.
        assert!(Arc::ptr_eq(
            &models,
            &view.module("pkg.models").expect("cached")
        ));
        write(
            root,
            "pkg/models.py",
            "class Model:\n    pass\nclass Other:\n    pass\n",
        );
        let reloaded = view.module("pkg.models").expect("reloaded");
        assert_eq!(reloaded.classes.len(), 2);
    }

    #[test]
    fn the_second_tier_of_a_summary_is_made_only_from_the_text_of_its_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "setup.py", "");
        write(root, "pkg/__init__.py", "");
        let class = |attribute: &str| {
            format!("class Model:\n    def __init__(self):\n        self.{attribute} = Layer()\n")
        };
        for module in ["kept", "changed", "buffer"] {
            write(root, &format!("pkg/{module}.py"), &class("layer"));
        }
        let index = ProjectIndex::new();
        index.set_buffer(&root.join("pkg/buffer.py"), Some(&class("unsaved")));
        let view = index.view(&root.join("pkg/kept.py"));
        let summary = |module: &str| {
            let summary = view.module(module).expect("resolves");
            // Instance attributes are left for later.
            assert!(
                summary
                    .class(0)
                    .expect("Model")
                    .instance_attributes
                    .is_empty()
            );
            summary
        };
        let attributes = |summary: &ModuleSummary| -> Vec<String> {
            let attributes = summary.instance_attributes(0).expect("Model");
            attributes.keys().map(ToString::to_string).collect()
        };
        let (kept, changed, buffer) = (
            summary("pkg.kept"),
            summary("pkg.changed"),
            summary("pkg.buffer"),
        );
        write(root, "pkg/changed.py", &class("other"));
        write(root, "pkg/buffer.py", &class("other"));
        assert_eq!(attributes(&kept), ["layer"]);
        // The file no longer holds the text of the first tier: what it left stays unknown.
        assert!(attributes(&changed).is_empty());
        // An editor's buffer is the text, whatever the disk holds.
        assert_eq!(attributes(&buffer), ["unsaved"]);
    }

    #[test]
    fn a_forgotten_project_is_learnt_again_and_the_others_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        for project in ["a", "b", "a/nested"] {
            let root = dir.path().join(project);
            write(&root, "setup.py", "");
            write(&root, "pkg/__init__.py", "");
            write(&root, "pkg/models.py", "class Model:\n    pass\n");
        }
        let index = ProjectIndex::new();
        let models = |project: &str| dir.path().join(project).join("pkg/models.py");
        let search = |project: &str| {
            let found = index
                .view(&models(project))
                .mentioning(&["Model"])
                .expect("a search of the project");
            assert!(!found.is_empty());
        };
        let corpora = || {
            let mut known: Vec<Vec<PathBuf>> = lock(&index.corpora).keys().cloned().collect();
            known.sort();
            known
        };
        for project in ["a", "b", "a/nested"] {
            search(project);
        }
        let roots = index.project_roots_of(&models("a"));
        assert_eq!(roots, [dir.path().join("a")]);
        let all = corpora();
        assert_eq!(all.len(), 3);
        index.forget_project(&roots);
        // b's and the nested project's are kept.
        assert_eq!(
            corpora(),
            [
                vec![dir.path().join("a/nested")],
                vec![dir.path().join("b")]
            ]
        );
        // Searched again, the project is collected again.
        search("a");
        assert_eq!(corpora(), all);
    }

    #[test]
    fn buffers_unlike_the_disk_are_told_with_whether_their_words_differ() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "same.py", "class A:\n    pass\n");
        write(root, "body.py", "class B:\n    pass\n");
        write(root, "header.py", "class C:\n    pass\n");
        let index = ProjectIndex::new();
        index.set_buffer(&root.join("same.py"), Some("class A:\n    pass\n"));
        // Another body: the searches see the same words.
        index.set_buffer(&root.join("body.py"), Some("class B:\n    print(1)\n"));
        index.set_buffer(&root.join("header.py"), Some("class D:\n    pass\n"));
        index.set_buffer(&root.join("unsaved.py"), Some(""));
        assert_eq!(
            index.buffers_unlike_disk(),
            [
                (root.join("body.py"), false),
                (root.join("header.py"), true),
                (root.join("unsaved.py"), true),
            ]
        );
    }
}
