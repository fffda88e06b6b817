//! The server's state: open documents and notebooks, the settings and the project they are
//! checked with, and which of them are stale. Changed only on the main loop's thread; a check
//! takes a snapshot of what it needs.

mod capabilities;
mod delivery;
mod documents;
pub mod project;
mod queue;
mod settings;
pub mod workspace;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use capabilities::{Capabilities, EditorOptions, FIX_ALL, initialize_result};
pub use delivery::PullReadiness;
pub use documents::Document;
pub use project::{Project, is_module};
pub use queue::StaleQueue;
pub use settings::Settings;
pub use workspace::Workspace;

use super::api::report::Report;

use super::api::show_error;
use super::edit::notebook::NotebookDocument;
use super::edit::uri::{document_name, file_path};
use super::transport::Outgoing;

pub struct Session {
    pub settings: Settings,
    pub capabilities: Capabilities,
    pub project: Project,
    pub documents: HashMap<String, Document>,
    pub notebooks: HashMap<String, NotebookDocument>,
    /// Documents and notebooks to check and publish, edited ones first.
    pub stale: StaleQueue,
    /// Configuration errors already shown.
    told: Vec<String>,
    /// Messages for the user, sent with the next answer or publication.
    pub outbox: Vec<Outgoing>,
    /// The last report of each open document and cell, by URI, with the version it is for.
    pub reports: HashMap<String, (Report, Option<i32>)>,
    /// What the client holds of each document, by URI: the id of the report last published
    /// or answered.
    pub delivered: HashMap<String, Arc<str>>,
    /// A client that pulls holds an older report of these documents than the session's.
    pub unseen: BTreeSet<String>,
    /// A client that pulls is to be asked to pull again (`workspace/diagnostic/refresh`).
    pub refresh_owed: bool,
    /// The files of the workspace that are not open.
    pub workspace: Workspace,
}

impl Session {
    pub fn new(settings: Settings, capabilities: Capabilities) -> Self {
        Self {
            settings,
            capabilities,
            project: Project::default(),
            documents: HashMap::new(),
            notebooks: HashMap::new(),
            stale: StaleQueue::default(),
            told: Vec::new(),
            outbox: Vec::new(),
            reports: HashMap::new(),
            delivered: HashMap::new(),
            unseen: BTreeSet::new(),
            refresh_owed: false,
            workspace: Workspace::default(),
        }
    }

    /// A broken configuration is said once (until the configuration changes), as the CLI says
    /// it; the documents get no findings meanwhile.
    pub fn tell(&mut self, error: String) {
        let message = format!("nmf: {error}");
        if !self.told.contains(&message) {
            self.told.push(message.clone());
            self.outbox.push(show_error(message));
        }
    }

    /// The configuration files changed: read again, everything checked again.
    pub fn reload_settings(&mut self) {
        self.told.clear();
        self.settings.reload();
        self.mark_all_stale();
        self.disk_changed();
    }

    /// Files changed on disk (or may have, for a client that does not watch them): the
    /// workspace's tree is checked again, and a client that pulls is asked to pull again.
    pub fn disk_changed(&mut self) {
        self.workspace.tree_changed();
        self.refresh_owed = true;
    }

    pub fn mark_stale(&mut self, unit: &str) {
        self.stale.push(unit);
    }

    /// The document at `unit` was edited, or the file at `path` changed: it and what depended
    /// on the file are checked again.
    pub fn changed(&mut self, unit: Option<&str>, path: Option<&Path>, words_changed: bool) {
        if let Some(unit) = unit {
            self.mark_stale(unit);
        }
        let Some(path) = path else {
            return;
        };
        self.project.record(path, words_changed);
        for dependent in self.project.dependents(path, words_changed, unit) {
            self.mark_stale(&dependent);
        }
        self.workspace.dependency_changed(path, words_changed);
    }

    /// The files of the open documents and notebooks: the editor's text of them wins over
    /// the disk's.
    pub fn open_paths(&self) -> HashSet<PathBuf> {
        self.documents
            .iter()
            .filter(|(_, document)| document.notebook.is_none())
            .map(|(uri, _)| uri)
            .chain(self.notebooks.keys())
            .filter_map(|uri| file_path(uri))
            .collect()
    }

    pub fn mark_all_stale(&mut self) {
        let mut units: Vec<String> = self
            .documents
            .iter()
            .filter(|(_, document)| document.notebook.is_none())
            .map(|(uri, _)| uri.clone())
            .chain(self.notebooks.keys().cloned())
            .collect();
        units.sort();
        for unit in units {
            self.mark_stale(&unit);
        }
    }

    /// A new project index, the open buffers set over the disk: what was learnt of files on
    /// disk is forgotten.
    pub fn renew_index(&mut self) {
        self.project.renew();
        for (uri, document) in &self.documents {
            if let Some(path) = file_path(uri).filter(|path| is_module(path))
                && document.notebook.is_none()
            {
                self.project.index.set_buffer(&path, Some(&document.text));
            }
        }
    }

    /// Where a document is checked: its file; for a buffer never saved (`untitled:`), a file
    /// of its name in the workspace's root, so that the workspace's configuration applies.
    pub fn document_path(&self, uri: &str) -> Option<PathBuf> {
        self.path_for(uri, "py")
    }

    /// Where the driver is told a notebook is: its own path, with `.ipynb` added when the
    /// editor names it otherwise (so that it is read as a notebook); an untitled notebook is
    /// placed in the workspace's root.
    pub fn notebook_path(&self, uri: &str) -> Option<PathBuf> {
        Some(with_extension(self.path_for(uri, "ipynb")?, "ipynb"))
    }

    /// The file a URI names, or for another scheme a file of its name in the workspace's
    /// root, with `extension` added when it has another one.
    fn path_for(&self, uri: &str, extension: &str) -> Option<PathBuf> {
        if let Some(path) = file_path(uri) {
            return Some(path);
        }
        let name = document_name(uri)?;
        Some(with_extension(self.settings.root().join(name), extension))
    }
}

/// `path`, with `.extension` added unless it already ends so.
fn with_extension(path: PathBuf, extension: &str) -> PathBuf {
    if path.extension().is_some_and(|ext| ext == extension) {
        return path;
    }
    let mut name = path.into_os_string();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}
