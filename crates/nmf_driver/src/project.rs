//! The project-wide class index: module names, import resolution to files, and summaries of
//! the files a receiver's type leads to, parsed at most once and only when asked for.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use nmf_linter::checker::FileContext;
use nmf_linter::semantic::infer::ProjectModules;
use nmf_linter::semantic::summary::ModuleSummary;
use ruff_python_ast::PySourceType;
use rustc_hash::FxHashMap;

use crate::parse::ParsedModule;
use crate::source::read_source;

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

/// A file's summary, with the file's size and time stamp when it was read.
struct Loaded {
    stamp: Option<(SystemTime, u64)>,
    summary: Option<Arc<ModuleSummary>>,
}

/// Summaries of a project's files, built lazily and shared by every file checked in a run
/// (or, for the flake8 plugin, by every file a process checks).
#[derive(Default)]
pub struct ProjectIndex {
    folders: Mutex<FxHashMap<PathBuf, Arc<FolderInfo>>>,
    project_roots: Mutex<FxHashMap<PathBuf, Option<PathBuf>>>,
    /// `(root, module)` → the file that defines the module there.
    lookups: Mutex<FxHashMap<(PathBuf, String), Option<PathBuf>>>,
    /// One slot per file, so that a file is parsed once even when threads ask together.
    files: Mutex<FxHashMap<PathBuf, Arc<Mutex<Option<Loaded>>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps are only ever inserted into: a panic elsewhere cannot leave one inconsistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProjectIndex {
    pub fn new() -> Self {
        Self::default()
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
        let mut roots = vec![info.source_root.clone()];
        for root in &info.project_roots {
            if !roots.contains(root) {
                roots.push(root.clone());
            }
        }
        ModuleLocation {
            name: (!parts.is_empty()).then(|| parts.join(".").into_boxed_str()),
            is_package,
            roots,
        }
    }

    /// The index as seen from the file at `path` (absolute): its module name, and modules
    /// resolved against its roots.
    pub fn view(&self, path: &Path) -> ProjectView<'_> {
        ProjectView {
            index: self,
            location: self.locate(path),
        }
    }

    fn folder(&self, folder: &Path) -> Arc<FolderInfo> {
        if let Some(info) = lock(&self.folders).get(folder) {
            return info.clone();
        }
        let info = if folder.join("__init__.py").is_file()
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
        lock(&self.folders).insert(folder.to_path_buf(), info.clone());
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
        if let Some(found) = lock(&self.lookups).get(&key) {
            return found.clone();
        }
        let valid = module
            .split('.')
            .all(|part| !part.is_empty() && !part.contains(['/', '\\']));
        let found = valid.then(|| {
            let base = module
                .split('.')
                .fold(root.to_path_buf(), |path, part| path.join(part));
            let file = base.with_extension("py");
            if file.is_file() {
                return Some(file);
            }
            let package = base.join("__init__.py");
            package.is_file().then_some(package)
        });
        let found = found.flatten();
        lock(&self.lookups).insert(key, found.clone());
        found
    }

    /// The summary of the file at `path`, read and parsed on first use, and again if the file
    /// changed since. A file that cannot be read or parsed has none.
    pub fn summary(&self, path: &Path) -> Option<Arc<ModuleSummary>> {
        let slot = lock(&self.files)
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        let mut loaded = lock(&slot);
        let stamp = std::fs::metadata(path)
            .ok()
            .and_then(|metadata| Some((metadata.modified().ok()?, metadata.len())));
        if let Some(current) = loaded.as_ref()
            && current.stamp == stamp
        {
            return current.summary.clone();
        }
        let summary = self.load(path);
        *loaded = Some(Loaded {
            stamp,
            summary: summary.clone(),
        });
        summary
    }

    fn load(&self, path: &Path) -> Option<Arc<ModuleSummary>> {
        let source = read_source(path).ok()?;
        let module = ParsedModule::parse(&source.text, PySourceType::Python);
        let parsed = module.parsed();
        let location = self.locate(path);
        // A file that does not parse is not trusted: what it defines stays unknown.
        parsed.errors().is_empty().then(|| {
            Arc::new(ModuleSummary::build(
                parsed.suite(),
                location.name,
                location.is_package,
            ))
        })
    }
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
pub struct ProjectView<'a> {
    index: &'a ProjectIndex,
    location: ModuleLocation,
}

impl ProjectView<'_> {
    /// What the linter needs to know about the file's place in the project.
    pub fn file_context(&self) -> FileContext<'_> {
        FileContext {
            module_name: self.location.name.clone(),
            is_package: self.location.is_package,
            project: self,
        }
    }
}

impl ProjectModules for ProjectView<'_> {
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>> {
        self.location
            .roots
            .iter()
            .find_map(|root| self.index.find(root, name))
            .and_then(|path| self.index.summary(&path))
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
}
