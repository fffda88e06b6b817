//! Is a receiver an `nn.Module`? Types from what the code states, across the project.
//!
//! Inference is flow-insensitive and deliberately shallow: a name's type is the union of every
//! binding of it, and whatever is not stated (an unannotated parameter, a call of an unknown
//! function, a class from outside the project that we do not know) is [`Ty::Unknown`]. A
//! receiver is "not a module" only when every path ends in a class whose whole MRO is known and
//! contains no `nn.Module`, so a real module is never reported as safe.
//!
//! The engine, by job: [`ty`] what a value is and how types combine; [`expressions`] names,
//! bindings, imports and annotations; [`calls`] what calls return; [`returns`] what functions
//! nobody annotated return, from their bodies; [`fixtures`] the pytest fixtures a test's
//! parameters receive; [`attributes`] attributes of modules, objects and project classes;
//! [`containers`] displays and typed containers; [`verdict`] whether a type is a module;
//! [`subclasses`] the search of the project for subclasses. This module holds the resolver and
//! its public entry points.

mod attributes;
mod calls;
mod containers;
mod expressions;
mod fixtures;
mod returns;
mod subclasses;
#[cfg(test)]
mod testing;
mod ty;
mod verdict;

use std::sync::Arc;

use ruff_python_ast::name::Name;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::summary::{Binding, ClassId, ModuleId, ModuleSummary};
use crate::semantic::values::ValueExpr;

pub use crate::semantic::known::external_class_verdict;
pub use ty::{ClassKey, Exactness, FunctionRef, ModuleRef, Ty};
pub use verdict::{Judgement, Verdict};

/// Gives the summaries of the project's other files, by absolute module name.
///
/// Implemented by the driver, which finds, parses and caches the files; the linter never reads
/// files itself.
pub trait ProjectModules: Sync {
    /// The summary of module `name` (`pkg.sub.mod`) when it is a file of the project.
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>>;

    /// The summaries of every file of the project that writes one of `words` in a class
    /// header, an import or an alias assignment: where a subclass of a class of one of these
    /// names, or an alias of it, can be. `None` when the project cannot be searched (too many
    /// files): then any such question is answered "unknown".
    fn mentioning(&self, words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>>;

    /// The summaries of every file of the project that may install a function as a `forward`
    /// (`x.forward = f`, `setattr(x, "forward", f)`). `None` when the project cannot be
    /// searched.
    fn forward_installers(&self) -> Option<Vec<Arc<ModuleSummary>>>;

    /// The summaries of the `conftest.py` files pytest loads for the checked file: in its
    /// folder and each folder above it up to the project's root, the closest first.
    fn conftests(&self) -> Vec<Arc<ModuleSummary>>;

    /// The files of the project that write one of `words` in an import statement (where a
    /// function of module `m` can be called from: they import the function or `m`), with their
    /// text, to analyse whole. `None` when there are more than `limit` or the project cannot be
    /// searched: then the question stays unknown. None without a project.
    fn importers(&self, _words: &[&str], _limit: usize) -> Option<Vec<ProjectFile<'_>>> {
        Some(Vec::new())
    }
}

/// A file of the project that a search found, to analyse whole (see
/// [`ProjectModules::importers`]).
pub struct ProjectFile<'p> {
    pub text: Arc<String>,
    /// Its dotted module name, when it is inside a package layout.
    pub module_name: Option<Box<str>>,
    pub is_package: bool,
    /// The project as that file sees it: its imports resolve against its own roots.
    pub project: Box<dyn ProjectModules + 'p>,
}

/// No project: the checked file is all there is.
pub struct NoProject;

impl ProjectModules for NoProject {
    fn module(&self, _name: &str) -> Option<Arc<ModuleSummary>> {
        None
    }

    fn mentioning(&self, _words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>> {
        Some(Vec::new())
    }

    fn forward_installers(&self) -> Option<Vec<Arc<ModuleSummary>>> {
        Some(Vec::new())
    }

    fn conftests(&self) -> Vec<Arc<ModuleSummary>> {
        Vec::new()
    }
}

/// How many classes deep a hierarchy is followed for a verdict.
const MAX_HIERARCHY_DEPTH: usize = 128;

/// Evaluation follows aliases and imports across files; real chains are a few links long.
const MAX_EVAL_DEPTH: usize = 24;

/// Names bound in the scopes enclosing a position of the checked file, innermost first.
pub type LocalScopes<'s> = [&'s FxHashMap<Name, Vec<Binding>>];

/// Answers type questions for one checked file.
pub struct TypeResolver<'p> {
    project: &'p dyn ProjectModules,
    module: Arc<ModuleSummary>,
    /// Packages that `[tool.nmf] not-module-packages` adds to nmf's own table.
    not_module_packages: &'p [String],
    /// Factories that `module-factories` and `not-module-factories` add to nmf's own table.
    module_factories: &'p [String],
    not_module_factories: &'p [String],
    /// Verdicts of project classes, by module summary and class.
    verdicts: FxHashMap<(ModuleId, ClassId), Verdict>,
    in_progress: FxHashSet<(ModuleId, ClassId)>,
    /// Verdicts of "this class or any subclass", by module summary and class.
    open_verdicts: FxHashMap<(ModuleId, ClassId), Judgement>,
    /// Names already looked up during the current query (see [`LookupKey`]). A name bound many
    /// times from itself (`out = f(out)` a hundred times) would otherwise be evaluated once per
    /// path through its bindings: exponentially often.
    lookups: FxHashMap<LookupKey, Ty>,
    /// What functions without a return annotation return (or yield), inferred from their
    /// bodies (see [`returns`]).
    functions: returns::FunctionState,
    /// The `conftest.py` files of the checked file, asked for once.
    conftests: Option<Vec<Arc<ModuleSummary>>>,
    /// Where the current query's value came from, when a function's body or a fixture said
    /// it: "returned by `make_net`", for users who ask.
    origins: Vec<String>,
}

/// A name looked up in a module and a chain of local scopes, at a depth (results differ by
/// depth only where the depth limit cuts them). The scopes are identified by address, which is
/// stable while one query runs; the memo is emptied when a query starts.
#[derive(Clone, PartialEq, Eq, Hash)]
struct LookupKey {
    module: usize,
    scopes: Vec<usize>,
    name: Name,
    depth: usize,
    /// What `self` is bound to in the function whose scope this is.
    receiver: Option<ReceiverKey>,
}

/// What a method's `self` (or `cls`) is bound to, as a key: the class and how exactly.
#[derive(Clone, PartialEq, Eq, Hash)]
enum ReceiverKey {
    Instance(ModuleId, ClassId, Option<Arc<str>>, Exactness),
    Class(ModuleId, ClassId, Option<Arc<str>>, Exactness),
}

impl ReceiverKey {
    /// The key of a receiver, for the receivers methods are bound to: instances and classes.
    fn of(ty: &Ty) -> Option<Self> {
        let key = |class: &ClassKey| match class {
            ClassKey::Project(module, id) => (module.id, *id, None),
            ClassKey::External(name) => (ModuleId::NONE, 0, Some(name.clone())),
        };
        match ty {
            Ty::Instance(class, _, exactness) => {
                let (module, id, name) = key(class);
                Some(ReceiverKey::Instance(module, id, name, *exactness))
            }
            Ty::Class(class, exactness) => {
                let (module, id, name) = key(class);
                Some(ReceiverKey::Class(module, id, name, *exactness))
            }
            _ => None,
        }
    }
}

/// Where an expression is evaluated: a module, plus the checked file's local scopes (or a
/// function body's), the class whose instance attribute is being evaluated (what `self` is
/// there), and what `self` is bound to in the method whose body is being evaluated.
#[derive(Clone, Copy)]
struct Context<'s> {
    module: &'s Arc<ModuleSummary>,
    locals: &'s LocalScopes<'s>,
    self_class: Option<ClassId>,
    receiver: Option<&'s Ty>,
}

impl<'s> Context<'s> {
    /// The module level of `module`.
    fn module(module: &'s Arc<ModuleSummary>) -> Self {
        Self {
            module,
            locals: &[],
            self_class: None,
            receiver: None,
        }
    }
}

impl<'p> TypeResolver<'p> {
    pub fn new(
        project: &'p dyn ProjectModules,
        module: Arc<ModuleSummary>,
        not_module_packages: &'p [String],
    ) -> Self {
        Self {
            project,
            module,
            not_module_packages,
            module_factories: &[],
            not_module_factories: &[],
            verdicts: FxHashMap::default(),
            in_progress: FxHashSet::default(),
            open_verdicts: FxHashMap::default(),
            lookups: FxHashMap::default(),
            functions: returns::FunctionState::default(),
            conftests: None,
            origins: Vec::new(),
        }
    }

    /// Adds the factories of `[tool.nmf] module-factories` and `not-module-factories` to
    /// nmf's own table of the ecosystem's factories.
    pub fn with_factories(
        mut self,
        module_factories: &'p [String],
        not_module_factories: &'p [String],
    ) -> Self {
        self.module_factories = module_factories;
        self.not_module_factories = not_module_factories;
        self
    }

    /// Forgets what only the previous query needed.
    fn start_query(&mut self) {
        self.lookups.clear();
        self.functions.start_query();
        self.origins.clear();
    }

    /// Forgets where the last query's value came from: the caller answered the next question
    /// itself.
    pub fn forget_origins(&mut self) {
        self.origins.clear();
    }

    /// Where the value of the last [`Self::infer`] came from, when a function's body or a
    /// pytest fixture said what it is ("returned by `make_net`").
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    pub fn module(&self) -> &Arc<ModuleSummary> {
        &self.module
    }

    /// The type of `value` evaluated in the checked file with `locals` in scope.
    pub fn infer(&mut self, value: &ValueExpr, locals: &LocalScopes<'_>) -> Ty {
        self.start_query();
        let module = self.module.clone();
        let context = Context {
            locals,
            ..Context::module(&module)
        };
        self.eval(context, value, 0)
    }

    /// The type of `value`, a value of an instance attribute of the checked file's class
    /// `class` (as in [`ModuleSummary`]'s classes): `self` there is an instance of the class.
    pub fn infer_in_class(&mut self, value: &ValueExpr, class: ClassId) -> Ty {
        self.start_query();
        let module = self.module.clone();
        let context = Context {
            self_class: Some(class),
            ..Context::module(&module)
        };
        self.eval(context, value, 0)
    }

    /// The type a binding of the checked file gives its name.
    pub fn infer_binding(&mut self, binding: &Binding, locals: &LocalScopes<'_>) -> Ty {
        self.start_query();
        let module = self.module.clone();
        let context = Context {
            locals,
            ..Context::module(&module)
        };
        self.eval_binding(context, binding, 0)
    }

    /// Whether a function named `function` of the checked file is installed as a `forward`
    /// by the file itself or by another file of the project that imports it from here.
    pub fn is_installed_as_forward(&mut self, function: &Name) -> bool {
        let own = self.module.clone();
        if own
            .forward_patches
            .iter()
            .any(|patch| &patch.function == function && patch.imported_from.is_none())
        {
            return true;
        }
        let own_name = own.name.as_deref().unwrap_or_default();
        let Some(modules) = self.project.forward_installers() else {
            return false;
        };
        modules.iter().any(|module| {
            module.forward_patches.iter().any(|patch| {
                &patch.function == function
                    && (patch.anywhere
                        || patch.imported_from.as_ref().is_some_and(|(source, level)| {
                            module.resolve_relative(source, *level).as_deref() == Some(own_name)
                        }))
            })
        })
    }
}
