//! What a Python file binds at module and class level, kept after its syntax tree is dropped.
//!
//! Type inference needs, for every file a receiver's type passes through, its imports, classes
//! (bases, attributes, method return types) and module-level values. A summary holds exactly
//! that, so a project of thousands of files can be indexed without keeping their syntax trees.

use std::sync::{Arc, OnceLock};

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::bindings::{
    BindingSink, Localiser, SourceFacts, first_parameter, global_assignments, is_staticmethod,
    walk_bindings,
};
use crate::semantic::functions::{self, BodySink, FunctionScope, Lines};
use crate::semantic::values::{Annotation, ValueExpr};

/// Index of a class in [`ModuleSummary::classes`].
pub type ClassId = u32;

/// Identifies one summary for as long as the process runs: every summary built gets a new id,
/// so a file that is summarised again (it changed during a run) never shares one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(u64);

impl ModuleId {
    /// No summary: the id of classes outside the project.
    pub const NONE: ModuleId = ModuleId(0);

    fn fresh() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ModuleId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for ModuleId {
    fn default() -> Self {
        Self::fresh()
    }
}

/// One way a name is bound. A name bound several times keeps every binding: inference is
/// flow-insensitive and must consider all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// `import a.b` (binds `a`, `module` is `a`), `import a.b as c` (`module` is `a.b`),
    /// `from .m import X` (`level` 1, `module` `m`, `member` `X`).
    Import {
        module: Box<str>,
        level: u32,
        member: Option<Name>,
    },
    Class(ClassId),
    /// Boxed: most bindings are values or imports, and a list of bindings is as wide as its
    /// widest kind.
    Function(Box<FunctionSummary>),
    /// `x = value`, `for x in value` (as [`ValueExpr::Iter`]), `x: T` (as [`ValueExpr::Declared`]).
    Value(ValueExpr),
    /// The first parameter of a method: the instance (or the class, for a classmethod).
    SelfParameter {
        class: ClassId,
        is_class: bool,
    },
    /// A parameter of a test or of a fixture, which pytest fills with the fixture of the same
    /// name: found from `class` (a test class of the module) or from the module, then from
    /// the `conftest.py` files above it. `requester` is the fixture asking, when a fixture
    /// asks for the one it overrides (`def net(net): ...`), which it must skip.
    Fixture {
        name: Name,
        class: Option<ClassId>,
        requester: Option<TextSize>,
    },
    /// Bound in a way we do not follow: `with ... as x`, `except ... as x`, tuple unpacking, ...
    Unknown,
}

/// What calling or reading a function gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub name: Name,
    /// Where the `def` starts: with its module, what identifies the function.
    pub start: TextSize,
    pub returns: Option<Annotation>,
    /// Decorated with `@property` (or `@cached_property`): reading the attribute calls it.
    pub is_property: bool,
    /// What its first parameter is, when the function is a method.
    pub kind: FunctionKind,
    pub decoration: Decoration,
    /// What its body returns and yields, for a function without a return annotation. Read it
    /// with [`ModuleSummary::function_body`]: it may be left for later
    /// ([`Self::body_deferred`]).
    pub body: Option<Arc<FunctionBody>>,
    /// The body is summarised only when asked for, from the module's whole summary
    /// ([`ModuleSummary::first_tier`]).
    pub body_deferred: bool,
    /// Some `return` returns the module inside a wrapper passed as an argument
    /// (`return model.module if hasattr(model, "module") else model`): see
    /// [`crate::semantic::wrap`].
    pub unwraps_argument: bool,
    /// Decorated with `@torch.no_grad()` or `@torch.inference_mode()`: what it computes gets
    /// no gradients.
    pub without_grad: bool,
}

/// How a function binds its first parameter when it is a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// A plain method: the instance (or nothing, for a module-level function).
    Instance,
    /// `@classmethod`: the class.
    Class,
    /// `@staticmethod`: nothing.
    Static,
}

/// What the decorators make of a function, for what calling it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoration {
    /// No decorator, or only ones that keep what a call returns (`staticmethod`,
    /// `functools.cache`, `torch.no_grad()`, ...).
    Transparent,
    /// `@contextlib.contextmanager`: `with f() as x` binds what it yields.
    ContextManager,
    /// `@pytest.fixture`: a test's parameter of its name receives what it returns or yields.
    Fixture(Box<FixtureSpec>),
    /// Any other decorator: calling the function may give anything.
    Opaque,
}

/// A pytest fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureSpec {
    /// The name tests ask for it by: `name=` of the decorator, else the function's.
    pub name: Name,
    /// The 1-based line of the `def`, for users.
    pub line: u32,
}

/// What a function's body gives back, reduced as its values are: every `return` (a bare one,
/// and falling off the end, as `None`), every `yield`, and the function's own names those
/// values read, with their bindings (parameters as their annotations, fixtures, or unknown).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunctionBody {
    pub returns: Vec<ValueExpr>,
    pub yields: Vec<ValueExpr>,
    /// The body yields: calling the function makes a generator.
    pub is_generator: bool,
    pub locals: FxHashMap<Name, Vec<Binding>>,
}

/// A place that installs a function as some object's or class's `forward`:
/// `Head.forward = patched`, `m.forward = types.MethodType(patched, m)`,
/// `setattr(m, "forward", patched)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPatch {
    /// The installed function's name.
    pub function: Name,
    /// Where that name comes from when an import in scope binds it: `(module, level)`;
    /// `None` when the file defines it.
    pub imported_from: Option<(Box<str>, u32)>,
    /// Installed as a method of some object (`m.forward = self.catch_stop`): a function of
    /// that name in any file of the project may be it.
    pub anywhere: bool,
}

/// [`ModuleSummary::shrink_to_fit`] for a map of names to bindings, functions' bodies
/// included.
fn shrink_bindings(bindings: &mut FxHashMap<Name, Vec<Binding>>) {
    bindings.shrink_to_fit();
    for list in bindings.values_mut() {
        list.shrink_to_fit();
        for binding in list {
            if let Binding::Function(function) = binding
                && let Some(body) = function.body.as_mut().and_then(Arc::get_mut)
            {
                body.returns.shrink_to_fit();
                body.yields.shrink_to_fit();
                shrink_bindings(&mut body.locals);
            }
        }
    }
}

/// A class: its bases and what its instances hold.
#[derive(Debug, Clone)]
pub struct ClassSummary {
    pub name: Name,
    /// Where the `class` statement starts, to find the summary of a class from its syntax node.
    pub start: TextSize,
    /// Base classes as written (`Generic[T]` is kept as `Generic`); keyword arguments dropped.
    pub bases: Vec<ValueExpr>,
    /// Names bound in the class body: methods, nested classes, class attributes.
    pub body: FxHashMap<Name, Vec<Binding>>,
    /// `self.x = ...` and `self.x: T = ...` in any method. Read them with
    /// [`ModuleSummary::instance_attributes`]: they may be left for later
    /// ([`ModuleSummary::first_tier`]).
    pub instance_attributes: FxHashMap<Name, Vec<ValueExpr>>,
}

/// Gives the text a [`ModuleSummary::first_tier`] was built from again, or `None` when that
/// text is gone (its file changed since): then what the first tier left for later stays
/// unknown, never taken from another text.
pub type SourceAgain = Box<dyn Fn() -> Option<Arc<String>> + Send + Sync>;

/// What a [`ModuleSummary::first_tier`] left for later: how to get its text again, and the
/// whole summary of that text, made on first use.
pub struct SecondTier {
    source: SourceAgain,
    whole: OnceLock<Option<Box<ModuleSummary>>>,
}

impl std::fmt::Debug for SecondTier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SecondTier")
            .field("made", &self.whole.get().is_some())
            .finish_non_exhaustive()
    }
}

/// What one file binds.
#[derive(Debug, Clone, Default)]
pub struct ModuleSummary {
    pub id: ModuleId,
    /// The dotted module name (`pkg.sub.mod`), when the file sits in a known package layout.
    pub name: Option<Box<str>>,
    /// `__init__.py`: relative imports resolve against the package itself.
    pub is_package: bool,
    pub globals: FxHashMap<Name, Vec<Binding>>,
    /// `from m import *`: names missing from `globals` may come from these modules.
    pub star_imports: Vec<(Box<str>, u32)>,
    pub classes: Vec<ClassSummary>,
    /// The module decides its attributes at run time (a module-level `__getattr__`, or it
    /// replaces itself in `sys.modules`, as lazy packages do): a name it does not bind may be
    /// anything, not only a submodule.
    pub is_dynamic: bool,
    /// Functions this file installs as a `forward`.
    pub forward_patches: Vec<ForwardPatch>,
    /// The modules `pytest_plugins = [...]` names: their fixtures are visible to tests.
    pub pytest_plugins: Vec<Box<str>>,
    /// The file's path relative to its project's root (`tests/conftest.py`), for notes shown
    /// to users; set by whoever read the file.
    pub path: Option<Box<str>>,
    /// For a [`ModuleSummary::first_tier`], what it left for later.
    pub second_tier: Option<Arc<SecondTier>>,
}

impl ModuleSummary {
    /// Summarises a module parsed from `source`; cheap facts about the text let the walks skip
    /// what cannot be there.
    pub fn build(body: &[Stmt], name: Option<Box<str>>, is_package: bool, source: &str) -> Self {
        Self::build_tiers(body, name, is_package, source, false)
    }

    /// [`ModuleSummary::build`] without what other files' questions seldom read: the instance
    /// attributes of classes and the bodies of functions, which cost most of a summary (every
    /// method walked twice) and most of its memory. Those are summarised from the text
    /// `source_again` gives back (`source`, which `body` was parsed from, or nothing) the first
    /// time they are asked for ([`ModuleSummary::instance_attributes`],
    /// [`ModuleSummary::function_body`]), into the same summary [`ModuleSummary::build`] makes.
    /// Everything else is the same: names, classes and their ids, functions' annotations and
    /// decorators.
    pub fn first_tier(
        body: &[Stmt],
        name: Option<Box<str>>,
        is_package: bool,
        source: &str,
        source_again: SourceAgain,
    ) -> Self {
        let mut summary = Self::build_tiers(body, name, is_package, source, true);
        summary.second_tier = Some(Arc::new(SecondTier {
            source: source_again,
            whole: OnceLock::new(),
        }));
        summary
    }

    fn build_tiers(
        body: &[Stmt],
        name: Option<Box<str>>,
        is_package: bool,
        source: &str,
        defer: bool,
    ) -> Self {
        let facts = SourceFacts::of(source);
        let lines = Lines::new(source);
        let mut summary = ModuleSummary {
            name,
            is_package,
            ..ModuleSummary::default()
        };
        if memchr::memmem::find(source.as_bytes(), b"pytest_plugins").is_some() {
            summary.pytest_plugins = crate::semantic::pytest::plugins(body);
        }
        let mut scope = ScopeSink {
            summary: &mut summary,
            facts,
            lines: &lines,
            defer,
            class: None,
            names: FxHashMap::default(),
            module_bindings: Vec::new(),
        };
        walk_bindings(body, &mut scope, facts);
        let (mut globals, from_functions) = (scope.names, scope.module_bindings);
        for (name, binding) in from_functions {
            globals.entry(name).or_default().push(binding);
        }
        summary.globals = globals;
        summary.is_dynamic |= summary.globals.contains_key("__getattr__");
        if facts.forward {
            summary.forward_patches = crate::semantic::patches::find(body);
        }
        summary.shrink_to_fit();
        summary
    }

    /// What a file that installs functions as a `forward` says of them, and nothing else: its
    /// [`ModuleSummary::forward_patches`], with the module's name and kind to resolve where
    /// each installed function comes from. The question of which functions are installed
    /// somewhere in the project looks at every such file; summarising each whole (every
    /// function's body walked) to read its patches would cost as much as the rest of its
    /// summary is never asked for.
    pub fn forward_patches_only(
        body: &[Stmt],
        name: Option<Box<str>>,
        is_package: bool,
        source: &str,
    ) -> Self {
        let mut summary = ModuleSummary {
            name,
            is_package,
            ..ModuleSummary::default()
        };
        if SourceFacts::of(source).forward {
            summary.forward_patches = crate::semantic::patches::find(body);
            summary.forward_patches.shrink_to_fit();
        }
        summary
    }

    /// Gives back the room the lists and maps kept while they grew: a summary lives for the
    /// whole run, one per file a check looked into, and most names have one binding in a list
    /// made for four.
    fn shrink_to_fit(&mut self) {
        shrink_bindings(&mut self.globals);
        self.star_imports.shrink_to_fit();
        self.forward_patches.shrink_to_fit();
        self.classes.shrink_to_fit();
        for class in &mut self.classes {
            class.bases.shrink_to_fit();
            shrink_bindings(&mut class.body);
            class.instance_attributes.shrink_to_fit();
            for values in class.instance_attributes.values_mut() {
                values.shrink_to_fit();
            }
        }
    }

    /// The class whose `class` statement starts at `start`.
    pub fn class_at(&self, start: TextSize) -> Option<ClassId> {
        self.classes
            .iter()
            .position(|class| class.start == start)
            .and_then(|index| ClassId::try_from(index).ok())
    }

    pub fn class(&self, id: ClassId) -> Option<&ClassSummary> {
        self.classes.get(id as usize)
    }

    /// The instance attributes of class `id` (see [`ClassSummary::instance_attributes`]).
    pub fn instance_attributes(&self, id: ClassId) -> Option<&FxHashMap<Name, Vec<ValueExpr>>> {
        self.whole()
            .class(id)
            .map(|class| &class.instance_attributes)
    }

    /// What the body of `function`, a function of this module, returns and yields (see
    /// [`FunctionSummary::body`]).
    pub fn function_body(&self, function: &FunctionSummary) -> Option<Arc<FunctionBody>> {
        if !function.body_deferred {
            return function.body.clone();
        }
        let whole = self.whole();
        let scopes =
            std::iter::once(&whole.globals).chain(whole.classes.iter().map(|class| &class.body));
        scopes
            .flat_map(FxHashMap::values)
            .flatten()
            .find_map(|binding| match binding {
                Binding::Function(found) if found.start == function.start => found.body.clone(),
                _ => None,
            })
    }

    /// This summary with both tiers: itself, or, for a [`ModuleSummary::first_tier`], the whole
    /// summary of its text, made on first use under the same id and path. When that text is
    /// gone (or no longer parses), the first tier answers: nothing left for later is known.
    fn whole(&self) -> &ModuleSummary {
        let Some(tier) = &self.second_tier else {
            return self;
        };
        tier.whole
            .get_or_init(|| {
                // The text's nesting passed CPython's limits when the first tier was built;
                // the walks of a deep tree still want room.
                stacker::maybe_grow(64 * 1024, 8 * 1024 * 1024, || {
                    let source = (tier.source)()?;
                    let parsed = ruff_python_parser::parse_module(&source).ok()?;
                    let mut whole = Self::build_tiers(
                        parsed.suite(),
                        self.name.clone(),
                        self.is_package,
                        &source,
                        false,
                    );
                    whole.id = self.id;
                    whole.path.clone_from(&self.path);
                    Some(Box::new(whole))
                })
            })
            .as_deref()
            .unwrap_or(self)
    }

    /// The absolute module a relative import names, as Python resolves it.
    pub fn resolve_relative(&self, module: &str, level: u32) -> Option<String> {
        if level == 0 {
            return Some(module.to_string());
        }
        let own = self.name.as_deref()?;
        let mut parts: Vec<&str> = own.split('.').collect();
        // A module's package is its parent; a package's is itself.
        let strip = if self.is_package { level - 1 } else { level };
        for _ in 0..strip {
            parts.pop()?;
        }
        if parts.is_empty() {
            return None;
        }
        if !module.is_empty() {
            parts.push(module);
        }
        Some(parts.join("."))
    }
}

/// Whether an assignment to `subscript` is `sys.modules[__name__] = ...` (a lazy module
/// replacing itself): the module's names are then not what its statements bind.
pub(crate) fn replaces_own_module(subscript: &ast::ExprSubscript) -> bool {
    matches!(
        ValueExpr::dotted(&subscript.value)
            .and_then(|value| value.display())
            .as_deref(),
        Some("sys.modules")
    ) && matches!(subscript.slice.as_ref(), Expr::Name(name) if name.id.as_str() == "__name__")
}

impl ModuleSummary {
    /// Adds the class of `class_def` with its name, start and bases, its body not summarised
    /// yet; returns its id.
    pub(crate) fn add_class_header(&mut self, class_def: &ast::StmtClassDef) -> ClassId {
        let id = ClassId::try_from(self.classes.len()).unwrap_or(ClassId::MAX);
        self.classes.push(ClassSummary {
            name: class_def.name.id.clone(),
            start: class_def.start(),
            bases: class_def.bases().iter().map(ValueExpr::from_base).collect(),
            body: FxHashMap::default(),
            instance_attributes: FxHashMap::default(),
        });
        id
    }
}

/// A module or class body: its names, and the classes it defines, summarised as they come.
struct ScopeSink<'s> {
    summary: &'s mut ModuleSummary,
    facts: SourceFacts,
    lines: &'s Lines<'s>,
    /// Leave instance attributes and function bodies for later ([`ModuleSummary::first_tier`]).
    defer: bool,
    /// The class whose body this is; its methods' `self.x = ...` are its instance attributes.
    class: Option<ClassId>,
    names: FxHashMap<Name, Vec<Binding>>,
    /// Module-level bindings made elsewhere: by functions that declare a name `global`.
    module_bindings: Vec<(Name, Binding)>,
}

impl BindingSink for ScopeSink<'_> {
    fn bind(&mut self, name: &Name, binding: Binding) {
        self.names.entry(name.clone()).or_default().push(binding);
    }

    fn bind_subscript(&mut self, subscript: &ast::ExprSubscript) {
        if self.class.is_none() && replaces_own_module(subscript) {
            self.summary.is_dynamic = true;
        }
    }

    fn class(&mut self, class_def: &ast::StmtClassDef) -> Binding {
        let id = self.summary.add_class_header(class_def);
        let mut body = ScopeSink {
            summary: &mut *self.summary,
            facts: self.facts,
            lines: self.lines,
            defer: self.defer,
            class: Some(id),
            names: FxHashMap::default(),
            module_bindings: Vec::new(),
        };
        walk_bindings(&class_def.body, &mut body, self.facts);
        let names = body.names;
        self.module_bindings.extend(body.module_bindings);
        if let Some(class) = self.summary.classes.get_mut(id as usize) {
            class.body = names;
        }
        Binding::Class(id)
    }

    fn function(&mut self, function: &ast::StmtFunctionDef) -> Binding {
        // `global x` in the function: what it assigns to `x` binds the module's `x`.
        self.module_bindings
            .extend(global_assignments(function, self.facts));
        let mut walked = None;
        if let Some(class) = self.class
            && !self.defer
        {
            let (attributes, walk) = instance_attributes(function, self.facts);
            walked = walk;
            if let Some(class) = self.summary.classes.get_mut(class as usize) {
                for (attribute, value) in attributes {
                    class
                        .instance_attributes
                        .entry(attribute)
                        .or_default()
                        .push(value);
                }
            }
        }
        let class = self.class.and_then(|id| {
            let name = &self.summary.class(id)?.name;
            Some((id, name))
        });
        let scope = FunctionScope {
            class,
            module_name: self.summary.name.as_deref(),
            facts: self.facts,
            lines: Some(self.lines),
        };
        let mut summary = if self.defer {
            functions::summary_without_body(function, scope).0
        } else {
            functions::summary_of_walked(function, scope, &FxHashSet::default(), walked)
        };
        summary.unwraps_argument =
            self.facts.unwrap && crate::semantic::wrap::eval::returns_inner_of_argument(function);
        Binding::Function(Box::new(summary))
    }

    fn star_import(&mut self, module: &str, level: u32) {
        self.summary.star_imports.push((module.into(), level));
    }
}

/// `self.x = value` and `self.x: T` anywhere in a method's own body, with the values made
/// independent of the method: a method's locals are not visible to other files' inference, so
/// a parameter stands for its annotation, any other local name for an unknown value; only names
/// the method does not bind refer to the module's. With them, the walk of the body it took, for
/// the method's summary to reuse.
fn instance_attributes(
    method: &ast::StmtFunctionDef,
    facts: SourceFacts,
) -> (Vec<(Name, ValueExpr)>, Option<BodySink>) {
    let Some(self_name) = first_parameter(method) else {
        return (Vec::new(), None);
    };
    if is_staticmethod(method) {
        return (Vec::new(), None);
    }
    let mut sink = BodySink::of_method(self_name).walk(method, facts);
    let localiser = Localiser::new(method, &sink.bound, Some(self_name));
    let attributes = std::mem::take(&mut sink.self_assigned)
        .into_iter()
        .map(|(attribute, value)| (attribute, localiser.localise(value)))
        .collect();
    (attributes, Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarise(source: &str, name: &str, is_package: bool) -> ModuleSummary {
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        ModuleSummary::build(parsed.suite(), Some(name.into()), is_package, source)
    }

    #[test]
    fn the_patches_of_an_installer_are_those_of_its_whole_summary() {
        let source = "from .helpers import patched\nimport types\n\
                      class Head:\n    def forward(self, x):\n        return x\n\
                      def install(m):\n    m.forward = types.MethodType(patched, m)\n\
                      Head.forward = local\nsetattr(m, 'forward', other)\n\
                      def local(self, x):\n    return x\n";
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        let whole = ModuleSummary::build(parsed.suite(), Some("pkg.m".into()), false, source);
        let patches = ModuleSummary::forward_patches_only(
            parsed.suite(),
            Some("pkg.m".into()),
            false,
            source,
        );
        assert_eq!(whole.forward_patches.len(), 3);
        assert_eq!(patches.forward_patches, whole.forward_patches);
        assert_eq!(patches.name, whole.name);
        assert_eq!(
            patches.resolve_relative("helpers", 1).as_deref(),
            Some("pkg.helpers")
        );
        assert!(patches.globals.is_empty() && patches.classes.is_empty());
    }

    #[test]
    fn a_first_tier_answers_as_the_whole_summary_and_builds_the_rest_on_first_use() {
        let source = "import torch.nn as nn\n\
                      class A(nn.Module):\n    \
                          size: int\n    \
                          def __init__(self, layer: 'Layer'):\n        \
                              self.layer = layer\n    \
                          def make(self):\n        \
                              return Helper()\n    \
                          class Inner:\n        \
                              def __init__(self):\n            \
                                  self.x = X()\n\
                      class B(A):\n    \
                          def build(self) -> 'A':\n        \
                              return A()\n\
                      def factory():\n    \
                          return B()\n";
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        let whole = ModuleSummary::build(parsed.suite(), Some("pkg.m".into()), false, source);
        let text = Arc::new(source.to_string());
        let mut first = ModuleSummary::first_tier(
            parsed.suite(),
            Some("pkg.m".into()),
            false,
            source,
            Box::new(move || Some(text.clone())),
        );
        first.path = Some("pkg/m.py".into());
        // Nothing of the second tier is made until asked for.
        let tier = first.second_tier.clone().expect("a second tier");
        assert!(tier.whole.get().is_none());
        assert!(
            first
                .classes
                .iter()
                .all(|class| class.instance_attributes.is_empty())
        );
        let Some([Binding::Function(factory)]) = first.globals.get("factory").map(Vec::as_slice)
        else {
            panic!("factory is a function");
        };
        assert!(factory.body_deferred && factory.body.is_none());

        // The same names, classes, ids and headers as the whole summary.
        assert_eq!(first.classes.len(), whole.classes.len());
        for (first_class, whole_class) in first.classes.iter().zip(&whole.classes) {
            assert_eq!(first_class.name, whole_class.name);
            assert_eq!(first_class.start, whole_class.start);
            assert_eq!(first_class.bases, whole_class.bases);
            let mut names: Vec<_> = first_class.body.keys().collect();
            let mut whole_names: Vec<_> = whole_class.body.keys().collect();
            names.sort();
            whole_names.sort();
            assert_eq!(names, whole_names);
        }
        let mut globals: Vec<_> = first.globals.keys().collect();
        let mut whole_globals: Vec<_> = whole.globals.keys().collect();
        globals.sort();
        whole_globals.sort();
        assert_eq!(globals, whole_globals);

        // What was left for later is what the whole summary holds.
        for id in 0..ClassId::try_from(whole.classes.len()).expect("few classes") {
            assert_eq!(
                first.instance_attributes(id),
                whole.instance_attributes(id),
                "class {id}"
            );
        }
        assert!(
            first
                .instance_attributes(0)
                .expect("A")
                .contains_key("layer")
        );
        assert!(
            first
                .instance_attributes(1)
                .expect("Inner")
                .contains_key("x")
        );
        let Some([Binding::Function(whole_factory)]) =
            whole.globals.get("factory").map(Vec::as_slice)
        else {
            panic!("factory is a function");
        };
        assert!(whole_factory.body.is_some());
        assert_eq!(first.function_body(factory), whole_factory.body);
        let Some([Binding::Function(make)]) = first
            .class(0)
            .and_then(|class| class.body.get("make"))
            .map(Vec::as_slice)
        else {
            panic!("make is a method");
        };
        let Some([Binding::Function(whole_make)]) = whole
            .class(0)
            .and_then(|class| class.body.get("make"))
            .map(Vec::as_slice)
        else {
            panic!("make is a method");
        };
        assert!(whole_make.body.is_some());
        assert_eq!(first.function_body(make), whole_make.body);
        // Made once, under the first tier's id and path.
        let made = tier.whole.get().and_then(Option::as_deref).expect("made");
        assert_eq!(made.id, first.id);
        assert_eq!(made.path.as_deref(), Some("pkg/m.py"));
    }

    #[test]
    fn a_first_tier_whose_text_is_gone_leaves_the_rest_unknown() {
        let source = "class A:\n    def __init__(self):\n        self.x = X()\n\
                      def make():\n    return A()\n";
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        let first =
            ModuleSummary::first_tier(parsed.suite(), None, false, source, Box::new(|| None));
        assert_eq!(first.instance_attributes(0), Some(&FxHashMap::default()));
        let Some([Binding::Function(make)]) = first.globals.get("make").map(Vec::as_slice) else {
            panic!("make is a function");
        };
        assert_eq!(first.function_body(make), None);
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        let module = summarise("", "pkg.sub.mod", false);
        assert_eq!(
            module.resolve_relative("x", 1).as_deref(),
            Some("pkg.sub.x")
        );
        assert_eq!(module.resolve_relative("", 1).as_deref(), Some("pkg.sub"));
        assert_eq!(module.resolve_relative("y", 2).as_deref(), Some("pkg.y"));
        assert_eq!(module.resolve_relative("y", 4), None);
        let package = summarise("", "pkg.sub", true);
        assert_eq!(
            package.resolve_relative("x", 1).as_deref(),
            Some("pkg.sub.x")
        );
        assert_eq!(package.resolve_relative("x", 2).as_deref(), Some("pkg.x"));
    }

    #[test]
    fn classes_keep_bases_body_and_instance_attributes() {
        let module = summarise(
            "import torch.nn as nn\n\
             from typing import Generic\n\
             class A(nn.Module, Generic[T]):\n    \
                 size: int\n    \
                 def __init__(self, layer: 'Layer', n):\n        \
                     self.layer = layer\n        \
                     self.n = n\n        \
                     helper = make()\n        \
                     self.helper = helper\n        \
                     self.glob = GLOBAL\n        \
                     if n:\n            \
                         self.extra = Extra()\n",
            "pkg.a",
            false,
        );
        let class = module.class(0).expect("class A");
        assert_eq!(class.bases.len(), 2);
        assert_eq!(class.bases[1], ValueExpr::Name(Name::new("Generic")));
        assert!(class.body.contains_key("size"));
        assert!(class.body.contains_key("__init__"));
        assert_eq!(
            class.instance_attributes["layer"],
            [ValueExpr::Declared(Box::new(Annotation::Ref(
                ValueExpr::Name(Name::new("Layer"))
            )))]
        );
        assert_eq!(class.instance_attributes["n"], [ValueExpr::Unknown]);
        // A local of the method is not the module-level name it may shadow.
        assert_eq!(class.instance_attributes["helper"], [ValueExpr::Unknown]);
        assert_eq!(
            class.instance_attributes["glob"],
            [ValueExpr::Name(Name::new("GLOBAL"))]
        );
        assert_eq!(
            class.instance_attributes["extra"],
            [ValueExpr::Call(
                Box::new(ValueExpr::Name(Name::new("Extra"))),
                Vec::new()
            )]
        );
        assert_eq!(
            module.globals["nn"],
            [Binding::Import {
                module: "torch.nn".into(),
                level: 0,
                member: None
            }]
        );
    }
}
