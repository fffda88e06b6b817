//! What a check depended on in its project, recorded as it happens: the modules it looked up
//! (found or not), the files whose summaries it used, the projects it searched. The cache keeps
//! it with a file's findings; the language server asks it when to check a document again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nmf_linter::semantic::infer::{ProjectFile, ProjectModules};
use nmf_linter::semantic::summary::ModuleSummary;
use nmf_linter::semantic::wrap::callers::FileCalls;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::project::recipe_configs::read_recipe_configs;
use crate::project::{ModuleLocation, ProjectIndex, ProjectView};
use crate::source::fingerprint::{Fingerprint, Snapshot};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a file's findings depended on beyond its text and settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dependencies {
    /// The hash of the file's [`ModuleLocation`].
    pub(crate) location: u64,
    /// Each module looked up, and the file it resolved to (`None`: none, which may change).
    pub(crate) lookups: Vec<(String, Option<String>)>,
    /// Each file whose summary was used: what it was, and the hash of its location.
    pub(crate) files: Vec<(String, Option<Fingerprint>, u64)>,
    /// The projects searched, by [`corpus_key`].
    pub(crate) corpora: Vec<String>,
}

/// What one check depended on, recorded as it happens.
#[derive(Default)]
pub struct Recorder {
    state: Mutex<RecorderState>,
}

/// What a check used, as recorded; also what an analysis shared by several checks used (see
/// [`ProjectIndex::shared_calls`]), for each of them to record.
#[derive(Default, Clone)]
pub(crate) struct RecorderState {
    lookups: Vec<(String, Option<String>)>,
    files: Vec<(String, Option<Fingerprint>, u64)>,
    /// Shared, not copied: a snapshot lists every file of the project, and every check that
    /// searched the project records the same one.
    corpora: FxHashMap<String, Arc<Snapshot>>,
    /// Something was used that a later run could not check again.
    unrepeatable: bool,
}

/// What a [`Recorder`] saw: `dependencies` is `None` when the outcome cannot be kept.
pub struct Recorded {
    pub(crate) dependencies: Option<Dependencies>,
    pub(crate) corpora: FxHashMap<String, Arc<Snapshot>>,
}

/// What an editor needs to know of what one check used, to check it again when that changes.
#[derive(Debug, Default, Clone)]
pub struct DocumentDependencies {
    /// The files whose summaries the check used.
    pub files: Vec<PathBuf>,
    /// The modules the check looked for and did not find.
    pub missing_modules: Vec<String>,
    /// The check searched the project (for subclasses, aliases, installed `forward`s): any
    /// Python file's words may matter.
    pub searched: bool,
    /// Something was used that cannot be named here: any change may matter.
    pub incomplete: bool,
}

impl DocumentDependencies {
    /// Dependencies that cannot be told: any change may matter.
    pub fn unknown() -> Self {
        Self {
            incomplete: true,
            ..Self::default()
        }
    }
}

impl From<&Dependencies> for DocumentDependencies {
    /// What an editor needs of the dependencies a run recorded, or the cache kept.
    fn from(dependencies: &Dependencies) -> Self {
        let mut missing_modules: Vec<String> = dependencies
            .lookups
            .iter()
            .filter(|(_, found)| found.is_none())
            .map(|(module, _)| module.clone())
            .collect();
        missing_modules.dedup();
        Self {
            files: dependencies
                .files
                .iter()
                .map(|(path, _, _)| PathBuf::from(path))
                .collect(),
            missing_modules,
            searched: !dependencies.corpora.is_empty(),
            incomplete: false,
        }
    }
}

impl Recorder {
    /// What the check used, for an editor.
    pub fn into_document_dependencies(self) -> DocumentDependencies {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut files: Vec<PathBuf> = state
            .files
            .into_iter()
            .map(|(path, _, _)| PathBuf::from(path))
            .collect();
        files.sort();
        files.dedup();
        let mut missing_modules: Vec<String> = state
            .lookups
            .into_iter()
            .filter(|(_, found)| found.is_none())
            .map(|(module, _)| module)
            .collect();
        missing_modules.sort();
        missing_modules.dedup();
        DocumentDependencies {
            files,
            missing_modules,
            searched: !state.corpora.is_empty(),
            incomplete: state.unrepeatable,
        }
    }

    pub fn finish(self, view: &ProjectView<'_>) -> Recorded {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut lookups = state.lookups;
        lookups.sort();
        lookups.dedup();
        let mut files = state.files;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        let mut corpora: Vec<String> = state.corpora.keys().cloned().collect();
        corpora.sort();
        Recorded {
            dependencies: (!state.unrepeatable).then(|| Dependencies {
                location: location_hash(view.location()),
                lookups,
                files,
                corpora,
            }),
            corpora: state.corpora,
        }
    }

    /// What the recorder saw.
    fn into_state(self) -> RecorderState {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what another recorder saw, as if this check had used it itself.
    fn absorb(&self, used: &RecorderState) {
        let mut state = lock(&self.state);
        state.lookups.extend(used.lookups.iter().cloned());
        state.files.extend(used.files.iter().cloned());
        for (key, snapshot) in &used.corpora {
            state.corpora.insert(key.clone(), snapshot.clone());
        }
        state.unrepeatable |= used.unrepeatable;
    }

    fn record_file(&self, index: &ProjectIndex, path: &Path, fingerprint: Option<Fingerprint>) {
        let location = location_hash(&index.locate(path));
        let mut state = lock(&self.state);
        match path.to_str() {
            Some(text) => state.files.push((text.to_string(), fingerprint, location)),
            None => state.unrepeatable = true,
        }
    }

    fn record_corpus(&self, view: &ProjectView<'_>) {
        let roots = view.corpus_roots();
        let snapshot = view.index().corpus_snapshot(&roots);
        let mut state = lock(&self.state);
        match (corpus_key(&roots), snapshot) {
            (Some(key), Some(snapshot)) => {
                state.corpora.insert(key, snapshot);
            }
            _ => state.unrepeatable = true,
        }
    }
}

/// The project as a check sees it, recording what it asks.
pub struct RecordingView<'a> {
    pub view: &'a ProjectView<'a>,
    pub recorder: &'a Recorder,
}

impl ProjectModules for RecordingView<'_> {
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>> {
        let path = self.view.resolve(name);
        let text = match &path {
            Some(path) => match path.to_str() {
                Some(text) => Some(text.to_string()),
                None => {
                    lock(&self.recorder.state).unrepeatable = true;
                    None
                }
            },
            None => None,
        };
        lock(&self.recorder.state)
            .lookups
            .push((name.to_string(), text));
        let path = path?;
        let (summary, fingerprint) = self.view.index().summary_read(&path);
        self.recorder
            .record_file(self.view.index(), &path, fingerprint);
        summary
    }

    fn mentioning(&self, words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>> {
        self.recorder.record_corpus(self.view);
        self.view.mentioning(words)
    }

    fn forward_installers(&self, function: &str) -> Option<Vec<Arc<ModuleSummary>>> {
        self.recorder.record_corpus(self.view);
        self.view.forward_installers(function)
    }

    fn importers(&self, words: &[&str], limit: usize) -> Option<Vec<ProjectFile<'_>>> {
        recorded_importers(self.view, self.recorder, words, limit)
    }

    fn recipe_configs(&self) -> Option<Vec<Arc<str>>> {
        let folder = self.view.folder()?;
        let configs = read_recipe_configs(folder);
        // Each YAML read, and the folder listed: a YAML added or removed changes the folder.
        for (path, fingerprint) in &configs.read {
            self.recorder
                .record_file(self.view.index(), path, *fingerprint);
        }
        configs.texts
    }

    fn conftests(&self) -> Vec<Arc<ModuleSummary>> {
        // Which folders hold a `conftest.py` is what the corpus's folder listings record; what
        // each says, its own record.
        self.recorder.record_corpus(self.view);
        let mut found = Vec::new();
        for path in self.view.conftest_paths() {
            let (summary, fingerprint) = self.view.index().summary_read(&path);
            self.recorder
                .record_file(self.view.index(), &path, fingerprint);
            found.extend(summary);
        }
        found
    }
}

/// The project as a check sees it from another file it analyses (a caller of one of the
/// checked file's functions), recording what it asks for the checked file.
struct RecordingOtherView<'a> {
    view: ProjectView<'a>,
    recorder: &'a Recorder,
}

impl RecordingOtherView<'_> {
    fn recording(&self) -> RecordingView<'_> {
        RecordingView {
            view: &self.view,
            recorder: self.recorder,
        }
    }
}

impl ProjectModules for RecordingOtherView<'_> {
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>> {
        self.recording().module(name)
    }

    fn mentioning(&self, words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>> {
        self.recording().mentioning(words)
    }

    fn forward_installers(&self, function: &str) -> Option<Vec<Arc<ModuleSummary>>> {
        self.recording().forward_installers(function)
    }

    fn conftests(&self) -> Vec<Arc<ModuleSummary>> {
        self.recording().conftests()
    }

    fn importers(&self, words: &[&str], limit: usize) -> Option<Vec<ProjectFile<'_>>> {
        recorded_importers(&self.view, self.recorder, words, limit)
    }

    /// The analysis is shared by every check that asks for it: it records what it uses in a
    /// recorder of its own, which each check that takes the answer records as its own.
    fn shared_calls(
        &self,
        text: &str,
        settings: u64,
        analyse: &dyn Fn(&dyn ProjectModules) -> FileCalls,
    ) -> Option<Arc<FileCalls>> {
        let key = self.view.shared_calls_key(text, settings, true);
        let (calls, used) = self.view.index().shared_calls(key, || {
            let recorder = Recorder::default();
            let calls = analyse(&RecordingOtherView {
                view: self.view.clone(),
                recorder: &recorder,
            });
            (Arc::new(calls), Some(Arc::new(recorder.into_state())))
        });
        if let Some(used) = used {
            self.recorder.absorb(&used);
        }
        Some(calls)
    }
}

/// [`ProjectModules::importers`] for a check recording into `recorder`: the search is the
/// corpus's record; what each file found says, its own record; and the files found record what
/// their own look-ups use.
fn recorded_importers<'a>(
    view: &ProjectView<'a>,
    recorder: &'a Recorder,
    words: &[&str],
    limit: usize,
) -> Option<Vec<ProjectFile<'a>>> {
    recorder.record_corpus(view);
    let index = view.index();
    let paths = index.files_importing(&view.location().roots, words)?;
    if paths.len() > limit {
        return None;
    }
    let mut found = Vec::new();
    for path in paths {
        // Recorded as summaries are: what the file was (nothing, when unreadable).
        let read = index.importer_text(&path);
        recorder.record_file(index, &path, read.as_ref().and_then(|(_, print)| *print));
        let Some((text, _)) = read else {
            continue;
        };
        let other = index.view_with(&path, view.import_paths);
        found.push(
            other.into_project_file(text, |view| Box::new(RecordingOtherView { view, recorder })),
        );
    }
    Some(found)
}

/// A hash of where a module sits (its name, whether it is a package, its roots).
pub(crate) fn location_hash(location: &ModuleLocation) -> u64 {
    let text = format!(
        "{:?}\0{}\0{:?}",
        location.name, location.is_package, location.roots
    );
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// The key of a project searched from `roots`.
pub(crate) fn corpus_key(roots: &[PathBuf]) -> Option<String> {
    roots
        .iter()
        .map(|root| root.to_str())
        .collect::<Option<Vec<_>>>()
        .map(|roots| roots.join("\0"))
}
