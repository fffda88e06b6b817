//! The files of the workspace that are not open, each with its last report: what `nmf check`
//! finds in the file on disk, or, when its findings depended on an unsaved buffer, what a
//! check with the open buffers over the disk finds. Which of them are stale, and what the
//! client was last given of each.
//!
//! The whole tree is walked and checked again (through the cache: a warm run reads only what
//! changed) at start, when files change on disk and when the configuration changes; a file
//! alone when a buffer its findings depended on changes, or when its document is closed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use nmf_driver::project::dependencies::DocumentDependencies;

use super::project::depends_on;
use crate::commands::server::api::report::Report;

/// A file of the workspace, as last checked.
pub struct WorkspaceFile {
    pub uri: String,
    pub report: Report,
    pub dependencies: DocumentDependencies,
}

/// What a workspace check is to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every file discovery finds under the root.
    Tree,
    /// These files alone (each as a path named on the command line is).
    Files(Vec<PathBuf>),
}

/// What a workspace check took from the stale state, to give back if it is cancelled.
#[derive(Debug, Clone)]
pub struct Taken {
    pub scope: Scope,
    /// The tree's generation when it started.
    pub generation: u64,
}

pub struct Workspace {
    /// Every file of the workspace the server knows, by path.
    pub files: BTreeMap<PathBuf, WorkspaceFile>,
    /// The tree must be walked and checked again.
    tree_stale: bool,
    /// Counts the times the tree became stale: a check that started before the last one
    /// leaves it stale.
    generation: u64,
    /// Files to check again alone.
    stale_files: BTreeSet<PathBuf>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self {
            files: BTreeMap::new(),
            tree_stale: true,
            generation: 0,
            stale_files: BTreeSet::new(),
        }
    }
}

impl Workspace {
    /// Files changed on disk, or the configuration did: the tree is checked again.
    pub fn tree_changed(&mut self) {
        self.tree_stale = true;
        self.generation += 1;
    }

    /// Whether the file at `path` is known and not stale.
    pub fn is_fresh(&self, path: &Path) -> bool {
        !self.tree_stale && self.files.contains_key(path) && !self.stale_files.contains(path)
    }

    /// The file at `path` is to be checked again alone.
    pub fn file_changed(&mut self, path: &Path) {
        if self.files.contains_key(path) {
            self.stale_files.insert(path.to_path_buf());
        }
    }

    /// The file at `path` changed for the project: the files whose findings depended on it
    /// are checked again.
    pub fn dependency_changed(&mut self, path: &Path, words_changed: bool) {
        for (file, known) in &self.files {
            if file != path && depends_on(&known.dependencies, path, words_changed) {
                self.stale_files.insert(file.clone());
            }
        }
    }

    /// What the next check is to do, taken out of the stale state: the tree when it is
    /// stale, else the stale files; `None` when nothing is stale.
    pub fn take(&mut self) -> Option<Taken> {
        let scope = if self.tree_stale {
            self.stale_files.clear();
            Scope::Tree
        } else if self.stale_files.is_empty() {
            return None;
        } else {
            Scope::Files(std::mem::take(&mut self.stale_files).into_iter().collect())
        };
        Some(Taken {
            scope,
            generation: self.generation,
        })
    }

    /// A check of `path` alone, whatever is stale (for a client that asks for a file not
    /// open).
    pub fn take_file(&mut self, path: &Path) -> Taken {
        self.stale_files.remove(path);
        Taken {
            scope: Scope::Files(vec![path.to_path_buf()]),
            generation: self.generation,
        }
    }

    /// A check that took `taken` was cancelled: what it was to check is stale again.
    pub fn give_back(&mut self, taken: Taken) {
        match taken.scope {
            // The tree stays stale until a check of it is kept.
            Scope::Tree => {}
            Scope::Files(files) => {
                for file in files {
                    self.file_changed(&file);
                }
            }
        }
    }

    /// A check of `taken` failed (a bug): what it was to check is not tried again until
    /// something changes.
    pub fn abandon(&mut self, taken: &Taken) {
        if taken.scope == Scope::Tree && self.generation == taken.generation {
            self.tree_stale = false;
        }
    }

    /// Keeps what a check of `taken` found: `files` are the files it checked, with their
    /// reports. A file checked alone that is not among them is gone from the workspace (it
    /// was deleted, or excluded).
    pub fn keep(&mut self, taken: &Taken, files: Vec<(PathBuf, WorkspaceFile)>) {
        match &taken.scope {
            Scope::Tree => {
                self.files.clear();
                if self.generation == taken.generation {
                    self.tree_stale = false;
                }
            }
            Scope::Files(paths) => {
                for path in paths {
                    self.files.remove(path);
                }
            }
        }
        self.files.extend(files);
    }
}
