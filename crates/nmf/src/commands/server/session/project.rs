//! The project every check sees: the driver's project index, with the open buffers set over
//! the disk's files, and what each published check depended on, to know which documents a
//! change makes stale.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_driver::project::dependencies::DocumentDependencies;
use nmf_driver::project::{ProjectIndex, module_files};

/// A change of the files the project index sees: its path, and whether what the project's
/// searches read of it (its words) changed too.
#[derive(Debug, Clone)]
pub struct FileChange {
    path: PathBuf,
    words_changed: bool,
}

#[derive(Default)]
pub struct Project {
    /// Shared with the check running on the worker, which sees the buffers set meanwhile.
    pub index: Arc<ProjectIndex>,
    /// What each checked document's (or notebook's) findings depended on.
    dependencies: HashMap<String, DocumentDependencies>,
    /// The changes made while a check runs, each numbered: the check's findings are only
    /// published if none of those it made since it started concerns them.
    changes: Vec<(u64, FileChange)>,
    /// The number of the next change.
    generation: u64,
}

impl Project {
    /// A check starts: the number it records, to ask when it ends what changed meanwhile.
    /// One check runs at a time: the changes made before it are forgotten.
    pub fn begin_check(&mut self) -> u64 {
        self.changes.clear();
        self.generation
    }

    /// The file at `path` changed for the index.
    pub fn record(&mut self, path: &Path, words_changed: bool) {
        self.changes.push((
            self.generation,
            FileChange {
                path: path.to_path_buf(),
                words_changed,
            },
        ));
        self.generation += 1;
    }

    /// Whether findings that depended on `dependencies` may have changed with a file changed
    /// since change number `since`.
    pub fn changed_since(&self, since: u64, dependencies: &DocumentDependencies) -> bool {
        self.changes
            .iter()
            .filter(|(number, _)| *number >= since)
            .any(|(_, change)| depends_on(dependencies, &change.path, change.words_changed))
    }

    pub fn set_dependencies(&mut self, unit: &str, dependencies: DocumentDependencies) {
        self.dependencies.insert(unit.to_string(), dependencies);
    }

    pub fn forget(&mut self, unit: &str) {
        self.dependencies.remove(unit);
    }

    /// The units whose last findings depended on the file at `path`, except `except`; sorted.
    pub fn dependents(
        &self,
        path: &Path,
        words_changed: bool,
        except: Option<&str>,
    ) -> Vec<String> {
        let mut dependents: Vec<String> = self
            .dependencies
            .iter()
            .filter(|(unit, dependencies)| {
                Some(unit.as_str()) != except && depends_on(dependencies, path, words_changed)
            })
            .map(|(unit, _)| unit.clone())
            .collect();
        dependents.sort();
        dependents
    }

    /// A new project index: what was learnt of files on disk is forgotten. The buffers are
    /// for the caller to set again.
    pub fn renew(&mut self) {
        self.index = Arc::new(ProjectIndex::new());
    }
}

/// Whether the project index reads the file at `path` as a module.
pub fn is_module(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "py")
}

/// Whether findings that depended on `dependencies` may change with the file at `path`;
/// `words_changed`: what the project searches see of the file changed.
pub fn depends_on(dependencies: &DocumentDependencies, path: &Path, words_changed: bool) -> bool {
    dependencies.incomplete
        || (dependencies.searched && words_changed && is_module(path))
        || dependencies.files.iter().any(|file| file == path)
        || dependencies.missing_modules.iter().any(|module| {
            // A new file where a module was looked for and not found.
            module_files(module).is_some_and(|files| files.iter().any(|file| path.ends_with(file)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_where_a_missing_module_would_be_is_a_dependency() {
        let dependencies = DocumentDependencies {
            missing_modules: vec!["pkg.fresh".to_string()],
            ..DocumentDependencies::default()
        };
        for (path, expected) in [
            ("/p/pkg/fresh.py", true),
            ("/p/src/pkg/fresh/__init__.py", true),
            ("/p/fresh.py", false),
            ("/p/pkg/fresh/other.py", false),
        ] {
            assert_eq!(
                depends_on(&dependencies, Path::new(path), false),
                expected,
                "{path}"
            );
        }
    }

    #[test]
    fn changes_made_while_a_check_ran_concern_it_when_it_depends_on_them() {
        let mut project = Project::default();
        let dependencies = DocumentDependencies {
            files: vec![PathBuf::from("/p/base.py")],
            ..DocumentDependencies::default()
        };
        project.record(Path::new("/p/base.py"), true);
        let started = project.begin_check();
        assert!(!project.changed_since(started, &dependencies));
        project.record(Path::new("/p/unrelated.py"), true);
        assert!(!project.changed_since(started, &dependencies));
        project.record(Path::new("/p/base.py"), false);
        assert!(project.changed_since(started, &dependencies));
    }
}
