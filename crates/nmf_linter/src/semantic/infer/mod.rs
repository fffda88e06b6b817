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

use std::rc::Rc;
use std::sync::Arc;

use ruff_python_ast::name::Name;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::summary::{Binding, ClassId, ModuleId, ModuleSummary};
use crate::semantic::values::ValueExpr;
use crate::semantic::wrap::callers::FileCalls;

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

    /// The summaries of every file of the project that may install a function named
    /// `function` as a `forward` (`x.forward = f`, `setattr(x, "forward", f)`): they may leave
    /// out files that do not write that name. `None` when the project cannot be searched.
    fn forward_installers(&self, function: &str) -> Option<Vec<Arc<ModuleSummary>>>;

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

    /// The texts of the YAML files of the SpeechBrain recipe the checked file is a script of
    /// (`hparams/*.yaml` in its folder). `None` when there are none, or one cannot be read:
    /// then no object of the recipe is known to be wrapped. None without a project.
    fn recipe_configs(&self) -> Option<Vec<Arc<str>>> {
        None
    }

    /// For the project as a file found by [`ProjectModules::importers`] sees it: what
    /// `analyse` finds in that file's code (`text`), analysed with settings whose
    /// [`semantic_key`](crate::settings::LinterSettings::semantic_key) is `settings`, kept
    /// for every checked file that asks during the run, so that a file imported by several
    /// is parsed and analysed once. `analyse` is given the project to analyse it with. `None`:
    /// nothing is kept, the caller analyses it itself.
    fn shared_calls(
        &self,
        _text: &str,
        _settings: u64,
        _analyse: &dyn Fn(&dyn ProjectModules) -> FileCalls,
    ) -> Option<Arc<FileCalls>> {
        None
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

    fn forward_installers(&self, _function: &str) -> Option<Vec<Arc<ModuleSummary>>> {
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
pub type LocalScopes<'s> = [&'s BindingTable];

/// The names one scope binds, each with all its bindings.
pub type BindingTable = FxHashMap<Name, Vec<Binding>>;

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
    lookups: FxHashMap<LookupKey, Remembered<Ty>>,
    /// What names evaluated to in earlier queries, for as long as the resolver lives (see
    /// [`Remembered`]): a name bound thousands of times (`m = Linear(...)` then
    /// `m.forward(x)`, thousands of times) is evaluated once, not once per use.
    file_lookups: FxHashMap<LookupKey, Remembered<Ty>>,
    /// What the methods of a project class assign to one attribute of `self`, evaluated, for
    /// as long as the resolver lives (see [`Remembered`]): an attribute set in thousands of
    /// methods is evaluated once, not once per use.
    instance_attributes: FxHashMap<InstanceAttributeKey, Remembered<AttributeValues>>,
    /// The local tables of the queries so far, by address: [`LookupKey`]s name tables by
    /// address, and no other table can take an address while the resolver holds the table.
    pinned_scopes: FxHashMap<usize, Rc<BindingTable>>,
    /// Every origin the current query came across (see [`Self::note_origin`]), repeats
    /// included: what a remembered evaluation met is what it must report again when reused.
    origin_log: Vec<String>,
    /// Grows whenever an evaluation uses a result that a fresh evaluation at the top of a
    /// query might not give (one cut short by a limit, or made inside a function body):
    /// such a result is not remembered past its query.
    taint: usize,
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
/// stable while one query runs, and for as long as the resolver lives for the tables it pins
/// (see [`TypeResolver::pinned_scopes`]).
#[derive(Clone, PartialEq, Eq, Hash)]
struct LookupKey {
    module: ModuleId,
    scopes: Vec<usize>,
    name: Name,
    depth: usize,
    /// What `self` is bound to in the function whose scope this is.
    receiver: Option<ReceiverKey>,
}

/// The assignments to `self.<attribute>` in the methods of one project class, evaluated at
/// a depth (as [`LookupKey`]).
#[derive(Clone, PartialEq, Eq, Hash)]
struct InstanceAttributeKey {
    module: ModuleId,
    class: ClassId,
    attribute: Name,
    depth: usize,
}

/// The types of a class's assignments to an attribute of `self`, in order: those that
/// declare it (`self.x: C = ...`) and the others.
#[derive(Clone, Default)]
struct AttributeValues {
    declared: Vec<Ty>,
    found: Vec<Ty>,
}

/// A result of an evaluation, with the origins it came across (see
/// [`TypeResolver::origins`]), so that reusing it reports them as evaluating again would.
///
/// Remembered for the whole file only when `clean`: evaluated at the top of a query (not
/// inside a function body, where no origins are noted), with no limit cutting anything short
/// and no result used that was. Evaluation then depends only on the key: summaries and
/// binding tables never change while the resolver lives, function returns are remembered
/// across queries already (so that evaluating again would use no query budget), and the
/// depth is part of every key.
#[derive(Clone)]
struct Remembered<T> {
    value: T,
    origins: Box<[String]>,
    clean: bool,
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
            file_lookups: FxHashMap::default(),
            instance_attributes: FxHashMap::default(),
            pinned_scopes: FxHashMap::default(),
            origin_log: Vec::new(),
            taint: 0,
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
        self.origin_log.clear();
    }

    /// Notes that the current query's value came from `origin` (see [`Self::origins`]).
    fn note_origin(&mut self, origin: String) {
        if !self.origins.contains(&origin) {
            self.origins.push(origin.clone());
        }
        self.origin_log.push(origin);
    }

    /// Whether a result computed now may be remembered for the whole file: at the top of a
    /// query, in scopes the resolver pins.
    fn at_top(&self, scopes: &[usize]) -> bool {
        self.functions.nesting == 0
            && scopes
                .iter()
                .all(|scope| self.pinned_scopes.contains_key(scope))
    }

    /// Runs `evaluate`, and returns its result with the origins it came across and whether
    /// it is clean (see [`Remembered`]).
    fn remembering<T>(&mut self, evaluate: impl FnOnce(&mut Self) -> T) -> Remembered<T> {
        let log_start = self.origin_log.len();
        let taint_before = self.taint + self.functions.cut;
        let at_top = self.functions.nesting == 0;
        let value = evaluate(self);
        let mut origins: Vec<String> = Vec::new();
        for origin in self.origin_log.get(log_start..).unwrap_or_default() {
            if !origins.contains(origin) {
                origins.push(origin.clone());
            }
        }
        let clean = at_top && self.taint + self.functions.cut == taint_before;
        Remembered {
            value,
            origins: origins.into_boxed_slice(),
            clean,
        }
    }

    /// Uses a result remembered in the current query: its origins were noted when it was
    /// evaluated, in this query; a later remembered result that uses it comes across them too.
    /// Inside a function body no origins are noted, so none are come across there.
    fn reuse_in_query<T: Clone>(&mut self, known: &Remembered<T>) -> T {
        if !known.clean {
            self.taint += 1;
        }
        if self.functions.nesting == 0 {
            self.origin_log.extend(known.origins.iter().cloned());
        }
        known.value.clone()
    }

    /// Uses a result remembered from an earlier query: notes its origins, as evaluating it
    /// again would.
    fn reuse_from_file<T: Clone>(&mut self, known: &Remembered<T>) -> T {
        for origin in &known.origins {
            self.note_origin(origin.clone());
        }
        known.value.clone()
    }

    /// Keeps `locals` alive for as long as the resolver, so that lookups in them can be
    /// remembered by their addresses.
    fn pin<'l>(&mut self, locals: &'l [Rc<BindingTable>]) -> Vec<&'l BindingTable> {
        locals
            .iter()
            .map(|table| {
                self.pinned_scopes
                    .entry(Rc::as_ptr(table) as usize)
                    .or_insert_with(|| table.clone());
                table.as_ref()
            })
            .collect()
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
    pub fn infer(&mut self, value: &ValueExpr, locals: &[Rc<BindingTable>]) -> Ty {
        self.start_query();
        let module = self.module.clone();
        let locals = self.pin(locals);
        let context = Context {
            locals: &locals,
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
    pub fn infer_binding(&mut self, binding: &Binding, locals: &[Rc<BindingTable>]) -> Ty {
        self.start_query();
        let module = self.module.clone();
        let locals = self.pin(locals);
        let context = Context {
            locals: &locals,
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
        let Some(modules) = self.project.forward_installers(function) else {
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
