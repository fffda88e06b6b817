//! Is a receiver an `nn.Module`? Types from what the code states, across the project.
//!
//! Inference is flow-insensitive and deliberately shallow: a name's type is the union of every
//! binding of it, and whatever is not stated (an unannotated parameter, a call of an unknown
//! function, a class from outside the project that we do not know) is [`Ty::Unknown`]. A
//! receiver is "not a module" only when every path ends in a class whose whole MRO is known and
//! contains no `nn.Module`, so a real module is never reported as safe.

use std::fmt;
use std::sync::Arc;

use ruff_python_ast::name::Name;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::known::{
    BUILTINS, TypingForm, external_defines_nothing_named, is_known_class, is_mapping_class,
    module_returning_function, normalize_typing, not_module_package, typing_form,
};
use crate::semantic::summary::{Binding, ClassId, FunctionSummary, ModuleId, ModuleSummary};
use crate::semantic::values::{Annotation, Collection, CollectionKind, ValueExpr};

pub use crate::semantic::known::external_class_verdict;

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
}

/// A class, inside the project or outside it.
#[derive(Clone)]
pub enum ClassKey {
    /// A class outside the project, by qualified name (`torch.nn.Linear`).
    External(Arc<str>),
    Project(Arc<ModuleSummary>, ClassId),
}

impl ClassKey {
    /// What makes two keys the same class: the name outside the project; the summary's id
    /// and the class's index inside it (a reloaded summary gets a new id, so a memo entry of
    /// the old one can never be mistaken for it).
    fn identity(&self) -> (ModuleId, ClassId, Option<&str>) {
        match self {
            ClassKey::External(name) => (ModuleId::NONE, 0, Some(name)),
            ClassKey::Project(module, id) => (module.id, *id, None),
        }
    }

    /// The qualified name shown to users.
    pub fn qualified_name(&self) -> String {
        match self {
            ClassKey::External(name) => name.to_string(),
            ClassKey::Project(module, id) => {
                let class = module.class(*id).map_or("?", |class| class.name.as_str());
                match module.name.as_deref() {
                    Some(module_name) => format!("{module_name}.{class}"),
                    None => class.to_string(),
                }
            }
        }
    }
}

impl PartialEq for ClassKey {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl fmt::Debug for ClassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.qualified_name())
    }
}

/// A Python module object (`import torch.nn as nn` binds one).
#[derive(Clone, Debug)]
pub enum ModuleRef {
    External(Arc<str>),
    Project(Arc<ModuleSummary>),
}

/// What inference knows about a value.
#[derive(Clone, Debug)]
pub enum Ty {
    Unknown,
    None,
    /// An object outside the project known only by its qualified name: a module, a class or a
    /// function of a library.
    External(Arc<str>),
    Module(ModuleRef),
    /// The class object itself (`Cls` in `Cls.forward(obj, x)`).
    Class(ClassKey),
    /// An instance, with the type arguments of a generic container (`dict[str, C]`), of
    /// exactly the class (`C()`) or of it or any subclass (`self`, a parameter annotated `C`).
    Instance(ClassKey, Vec<Ty>, Exactness),
    /// A function or method; calling it gives its declared return type.
    Function(Arc<ModuleSummary>, FunctionSummary),
    Union(Vec<Ty>),
}

/// Whether an instance is of its class exactly, or may be of any subclass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exactness {
    /// Made by calling the class: `C()`.
    Exact,
    /// Declared, or `self`: the class or any subclass, in the project or outside it.
    OrSubclass,
}

/// A verdict and why, for users who ask (`--show-receivers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The reason, when there is one worth saying: `a Python module object`, `cv2 objects are
    /// not nn.Modules (OpenCV)`.
    pub reason: Option<String>,
}

impl Judgement {
    fn of(verdict: Verdict) -> Self {
        Self {
            verdict,
            reason: None,
        }
    }

    fn because(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: Some(reason.into()),
        }
    }

    /// A value that may be either: the more dangerous verdict wins, with its reasons.
    fn either(self, other: Judgement) -> Judgement {
        match self.verdict.cmp(&other.verdict) {
            std::cmp::Ordering::Greater => self,
            std::cmp::Ordering::Less => other,
            std::cmp::Ordering::Equal => {
                let reason = match (self.reason, other.reason) {
                    (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
                    (a, b) => a.or(b),
                };
                Judgement {
                    verdict: self.verdict,
                    reason,
                }
            }
        }
    }
}

/// What a receiver of `.forward(...)` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Every possibility is known and none is an `nn.Module`.
    NotModule,
    /// A subclass of `torch.autograd.Function` (or its class object).
    AutogradFunction,
    /// Not known either way.
    Unknown,
    /// An `nn.Module` (or its class, for unbound calls).
    Module,
}

impl Verdict {
    /// The verdict for a value that may be either: the more dangerous one wins.
    fn either(self, other: Verdict) -> Verdict {
        self.max(other)
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
    /// Verdicts of project classes, by module summary and class.
    verdicts: FxHashMap<(ModuleId, ClassId), Verdict>,
    in_progress: FxHashSet<(ModuleId, ClassId)>,
    /// Verdicts of "this class or any subclass", by module summary and class.
    open_verdicts: FxHashMap<(ModuleId, ClassId), Judgement>,
    /// Names already looked up during the current query (see [`LookupKey`]). A name bound many
    /// times from itself (`out = f(out)` a hundred times) would otherwise be evaluated once per
    /// path through its bindings: exponentially often.
    lookups: FxHashMap<LookupKey, Ty>,
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
}

/// Where an expression is evaluated: a module, plus the checked file's local scopes, and the
/// class whose instance attribute is being evaluated (what `self` is there).
#[derive(Clone, Copy)]
struct Context<'s> {
    module: &'s Arc<ModuleSummary>,
    locals: &'s LocalScopes<'s>,
    self_class: Option<ClassId>,
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
            verdicts: FxHashMap::default(),
            in_progress: FxHashSet::default(),
            open_verdicts: FxHashMap::default(),
            lookups: FxHashMap::default(),
        }
    }

    pub fn module(&self) -> &Arc<ModuleSummary> {
        &self.module
    }

    /// The type of `value` evaluated in the checked file with `locals` in scope.
    pub fn infer(&mut self, value: &ValueExpr, locals: &LocalScopes<'_>) -> Ty {
        self.lookups.clear();
        let module = self.module.clone();
        let context = Context {
            module: &module,
            locals,
            self_class: None,
        };
        self.eval(context, value, 0)
    }

    /// The type a binding of the checked file gives its name.
    pub fn infer_binding(&mut self, binding: &Binding, locals: &LocalScopes<'_>) -> Ty {
        self.lookups.clear();
        let module = self.module.clone();
        let context = Context {
            module: &module,
            locals,
            self_class: None,
        };
        self.eval_binding(context, binding, 0)
    }

    /// Whether a value of type `ty` is an `nn.Module`.
    pub fn verdict(&mut self, ty: &Ty) -> Verdict {
        self.judge(ty).verdict
    }

    /// Whether a value of type `ty` is an `nn.Module`, and why.
    pub fn judge(&mut self, ty: &Ty) -> Judgement {
        self.lookups.clear();
        match ty {
            Ty::Instance(class, _, Exactness::OrSubclass) => self.open_judgement(class),
            Ty::Instance(class, _, Exactness::Exact) | Ty::Class(class) => {
                self.class_judgement(class)
            }
            Ty::External(name) => self.external_judgement(name),
            Ty::Module(_) => Judgement::because(Verdict::NotModule, "a Python module object"),
            // `Optional[C]` is C: calling `.forward` on None is not what the code means.
            Ty::Union(members) => {
                let mut judgements = members
                    .iter()
                    .filter(|member| !matches!(member, Ty::None))
                    .map(|member| self.judge(member))
                    .peekable();
                if judgements.peek().is_none() {
                    Judgement::of(Verdict::Unknown)
                } else {
                    judgements.fold(Judgement::of(Verdict::NotModule), Judgement::either)
                }
            }
            // Only ever None here: something unseen must assign it.
            Ty::None | Ty::Unknown | Ty::Function(..) => Judgement::of(Verdict::Unknown),
        }
    }

    /// Whether calling `attribute` on a value of type `ty` runs an `nn.Module`'s method, and
    /// why: as [`Self::judge`], but an instance that may be of a subclass and whose class
    /// defines no `attribute` can only run a subclass's, which may be a module's.
    pub fn judge_method_call(&mut self, ty: &Ty, attribute: &str) -> Judgement {
        let judgement = self.judge(ty);
        if judgement.verdict != Verdict::NotModule {
            return judgement;
        }
        let mut undefined = None;
        for member in members(ty) {
            if let Ty::Instance(class @ ClassKey::Project(..), _, Exactness::OrSubclass) = member
                && !self.defines(class, attribute)
            {
                undefined = Some(class.qualified_name());
                break;
            }
        }
        match undefined {
            Some(class) => Judgement::because(
                Verdict::Unknown,
                format!(
                    "`{class}` defines no `{attribute}`: only a subclass's can run, and a subclass \
                     may be an nn.Module"
                ),
            ),
            None => judgement,
        }
    }

    /// Whether `class` or a class of its hierarchy binds `attribute` (a method, a class
    /// attribute, or `self.attribute = ...`), or may: a base nmf cannot see may bind anything.
    fn defines(&mut self, class: &ClassKey, attribute: &str) -> bool {
        let ClassKey::Project(module, id) = class else {
            return true;
        };
        let attribute = Name::new(attribute);
        let mut pending = vec![(module.clone(), *id)];
        let mut visited: FxHashSet<(ModuleId, ClassId)> = FxHashSet::default();
        while let Some((module, id)) = pending.pop() {
            if !visited.insert((module.id, id)) {
                continue;
            }
            if visited.len() > MAX_HIERARCHY_DEPTH {
                return true;
            }
            let Some(summary) = module.class(id) else {
                return true;
            };
            if summary.body.contains_key(&attribute)
                || summary.instance_attributes.contains_key(&attribute)
            {
                return true;
            }
            let context = Context {
                module: &module,
                locals: &[],
                self_class: None,
            };
            for base in &summary.bases.clone() {
                let base = self.eval(context, base, 0);
                for member in members(&base) {
                    match member {
                        Ty::Class(ClassKey::Project(base_module, base_id)) => {
                            pending.push((base_module.clone(), *base_id));
                        }
                        Ty::Class(ClassKey::External(name)) | Ty::External(name)
                            if external_defines_nothing_named(name, attribute.as_str()) => {}
                        _ => return true,
                    }
                }
            }
        }
        false
    }

    fn external_judgement(&self, name: &str) -> Judgement {
        if let Some(reason) = not_module_package(name, self.not_module_packages) {
            return Judgement::because(Verdict::NotModule, reason);
        }
        Judgement::of(external_class_verdict(name))
    }

    fn class_judgement(&mut self, class: &ClassKey) -> Judgement {
        if let ClassKey::External(name) = class {
            return self.external_judgement(name);
        }
        Judgement::of(self.class_verdict(class))
    }

    /// An instance of `class` or of any subclass: not a module only when neither the class
    /// nor any class of the project that derives from it is (or may be) one. A class that
    /// says nothing about its instances (`object`, `ABC`, a `Protocol`, which any object with
    /// the right methods satisfies) is unknown.
    fn open_judgement(&mut self, class: &ClassKey) -> Judgement {
        let exact = self.class_judgement(class);
        if exact.verdict != Verdict::NotModule {
            return exact;
        }
        let key = match class {
            ClassKey::External(name) => {
                return if says_nothing_about_instances(name) {
                    Judgement::because(
                        Verdict::Unknown,
                        format!("`{name}` may be any object, an nn.Module too"),
                    )
                } else {
                    exact
                };
            }
            ClassKey::Project(module, id) => (module.id, *id),
        };
        if let Some(known) = self.open_verdicts.get(&key) {
            return known.clone();
        }
        let judgement = if self.is_protocol(class) {
            Judgement::because(
                Verdict::Unknown,
                format!(
                    "`{}` is a Protocol: any object with its methods fits, an nn.Module too",
                    class.qualified_name()
                ),
            )
        } else {
            self.subclasses_judgement(class)
        };
        self.open_verdicts.insert(key, judgement.clone());
        judgement
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
        let Some(own_name) = own.name.as_deref() else {
            return false;
        };
        let Some(modules) = self.project.forward_installers() else {
            return false;
        };
        modules.iter().any(|module| {
            module.forward_patches.iter().any(|patch| {
                &patch.function == function
                    && patch.imported_from.as_ref().is_some_and(|(source, level)| {
                        module.resolve_relative(source, *level).as_deref() == Some(own_name)
                    })
            })
        })
    }

    /// Whether `class` declares itself a `Protocol` (a structural type, which objects fit
    /// without deriving from it).
    fn is_protocol(&mut self, class: &ClassKey) -> bool {
        let ClassKey::Project(module, id) = class else {
            return false;
        };
        let Some(summary) = module.class(*id) else {
            return false;
        };
        let context = Context {
            module,
            locals: &[],
            self_class: None,
        };
        summary.bases.clone().iter().any(|base| {
            let base = self.eval(context, base, 0);
            members(&base).iter().any(|member| match member {
                Ty::External(name) | Ty::Class(ClassKey::External(name)) => {
                    normalize_typing(name) == "typing.Protocol"
                }
                _ => false,
            })
        })
    }

    /// Whether any class of the project that derives from `class` (directly, through other
    /// subclasses, or through aliases of any of them) is, or may be, an `nn.Module`. Only the
    /// files that mention one of those names can hold such a class.
    fn subclasses_judgement(&mut self, class: &ClassKey) -> Judgement {
        /// Names to search for: a class, its subclasses and their aliases.
        const MAX_NAMES: usize = 64;
        let ClassKey::Project(module, id) = class else {
            return Judgement::of(external_class_verdict(&class.qualified_name()));
        };
        let Some(summary) = module.class(*id) else {
            return Judgement::of(Verdict::Unknown);
        };
        let qualified = class.qualified_name();
        let judgement = Judgement::because(
            Verdict::NotModule,
            "neither it nor any class of the project that derives from it is one",
        );
        let mut family = vec![class.clone()];
        let mut searched: FxHashSet<Name> = FxHashSet::default();
        // Breadth first, one search of the project per generation of subclasses.
        let mut frontier = vec![summary.name.clone()];
        while !frontier.is_empty() {
            frontier.retain(|name| searched.insert(name.clone()));
            if frontier.is_empty() {
                break;
            }
            if searched.len() > MAX_NAMES {
                return Judgement::because(
                    Verdict::Unknown,
                    format!("`{qualified}` has too many subclasses to follow"),
                );
            }
            let words: Vec<&str> = frontier.iter().map(Name::as_str).collect();
            let Some(mut candidates) = self.project.mentioning(&words) else {
                return Judgement::because(
                    Verdict::Unknown,
                    format!("the project is too large to search for subclasses of `{qualified}`"),
                );
            };
            candidates.push(self.module.clone());
            let mut next = Vec::new();
            for candidate in &candidates {
                let context = Context {
                    module: candidate,
                    locals: &[],
                    self_class: None,
                };
                for (index, subclass) in candidate.classes.iter().enumerate() {
                    let names_a_parent = subclass
                        .bases
                        .iter()
                        .any(|base| last_name(base).is_some_and(|name| frontier.contains(name)));
                    if !names_a_parent {
                        continue;
                    }
                    let key = ClassKey::Project(candidate.clone(), index as ClassId);
                    if family.iter().any(|known| same_class(known, &key)) {
                        continue;
                    }
                    let derives = subclass.bases.iter().any(|base| {
                        let base = self.eval(context, base, 0);
                        members(&base).iter().any(|member| {
                            matches!(member, Ty::Class(parent) if family.iter().any(|known| same_class(known, parent)))
                        })
                    });
                    if !derives {
                        continue;
                    }
                    let verdict = self.class_verdict(&key);
                    if verdict != Verdict::NotModule {
                        let what = match verdict {
                            Verdict::Module => "is an nn.Module",
                            _ => "may be an nn.Module",
                        };
                        // One is enough: the instance may be a module.
                        return Judgement::because(
                            Verdict::Unknown,
                            format!(
                                "`{}`, a class of the project that derives from it, {what}",
                                key.qualified_name()
                            ),
                        );
                    }
                    next.push(subclass.name.clone());
                    family.push(key);
                }
                // `Alias = Name` and `from m import Name as Alias`.
                for (alias, bindings) in &candidate.globals {
                    if searched.contains(alias) {
                        continue;
                    }
                    let mentions = bindings.iter().any(|binding| match binding {
                        Binding::Import {
                            member: Some(member),
                            ..
                        } => frontier.contains(member),
                        Binding::Value(value) => {
                            last_name(value).is_some_and(|name| frontier.contains(name))
                        }
                        _ => false,
                    });
                    if mentions {
                        let ty = self.eval_bindings(context, bindings, 0);
                        if members(&ty).iter().any(|member| {
                            matches!(member, Ty::Class(aliased) if family.iter().any(|known| same_class(known, aliased)))
                        }) {
                            next.push(alias.clone());
                        }
                    }
                }
            }
            frontier = next;
        }
        judgement
    }

    /// Whether instances of `class` are `nn.Module`s, following every base.
    pub fn class_verdict(&mut self, class: &ClassKey) -> Verdict {
        let ClassKey::Project(module, id) = class else {
            return external_class_verdict(&class.qualified_name());
        };
        let key = (module.id, *id);
        if let Some(verdict) = self.verdicts.get(&key) {
            return *verdict;
        }
        // A checkout of torch itself: its own root classes keep their known meaning.
        let qualified = class.qualified_name();
        let known = if qualified.starts_with("torch.") {
            external_class_verdict(&qualified)
        } else {
            Verdict::Unknown
        };
        let verdict = if known != Verdict::Unknown {
            known
        } else {
            // Real hierarchies are a few dozen classes deep; a generated chain of thousands is
            // not worth the stack.
            if self.in_progress.len() > MAX_HIERARCHY_DEPTH {
                return Verdict::Unknown;
            }
            if !self.in_progress.insert(key) {
                // A cycle in the bases: Python would refuse the class; we know nothing.
                return Verdict::Unknown;
            }
            let verdict = self.project_class_verdict(module, *id);
            self.in_progress.remove(&key);
            verdict
        };
        self.verdicts.insert(key, verdict);
        verdict
    }

    /// A class is a module when one base is; otherwise unknown when one base is unknown, and so
    /// on: the most dangerous verdict of its bases (`object`, the implicit base, is none).
    fn project_class_verdict(&mut self, module: &Arc<ModuleSummary>, id: ClassId) -> Verdict {
        let Some(class) = module.class(id) else {
            return Verdict::Unknown;
        };
        let context = Context {
            module,
            locals: &[],
            self_class: None,
        };
        let mut verdict = Verdict::NotModule;
        for base in &class.bases.clone() {
            let base = self.eval(context, base, 0);
            verdict = verdict.either(self.base_verdict(&base));
        }
        verdict
    }

    /// The verdict of what a base-class expression evaluated to: a class, or one of several.
    fn base_verdict(&mut self, base: &Ty) -> Verdict {
        match base {
            Ty::Class(class) => self.class_verdict(class),
            Ty::External(name) => external_class_verdict(name),
            Ty::Union(members) => members
                .iter()
                .map(|member| self.base_verdict(member))
                .fold(Verdict::NotModule, Verdict::either),
            _ => Verdict::Unknown,
        }
    }

    fn eval(&mut self, context: Context<'_>, value: &ValueExpr, depth: usize) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match value {
            ValueExpr::Name(name) => self.lookup(context, name, depth + 1),
            ValueExpr::Attribute(value, attribute) => {
                let owner = self.eval(context, value, depth + 1);
                self.attribute(&owner, attribute, depth + 1)
            }
            ValueExpr::Call(callee, arguments) => {
                if let ValueExpr::Attribute(owner, method) = callee.as_ref() {
                    let owner = self.eval(context, owner, depth + 1);
                    if let Some(ty) = container_method(&owner, method) {
                        return ty;
                    }
                    let callee = self.attribute(&owner, method, depth + 1);
                    return self.call(&callee, depth + 1);
                }
                let callee = self.eval(context, callee, depth + 1);
                if let Ty::External(name) = &callee
                    && let Some(ty) = self.builtin_call(context, name, arguments, depth)
                {
                    return ty;
                }
                self.call(&callee, depth + 1)
            }
            ValueExpr::Unpack(value, index) => {
                let value = self.eval(context, value, depth + 1);
                map_union(&value, &mut |ty| unpacked(ty, *index))
            }
            ValueExpr::Enter(manager) => {
                let manager = self.eval(context, manager, depth + 1);
                let mut entered = Vec::new();
                for member in members(&manager) {
                    entered.push(self.entered(member, depth + 1));
                }
                union(entered)
            }
            ValueExpr::Collection(collection) => self.collection(context, collection, depth + 1),
            ValueExpr::Literal(class) => external_instance(class, Vec::new()),
            ValueExpr::SelfRef => match context.self_class {
                Some(class) => Ty::Instance(
                    ClassKey::Project(context.module.clone(), class),
                    Vec::new(),
                    Exactness::OrSubclass,
                ),
                None => Ty::Unknown,
            },
            ValueExpr::Imported {
                module,
                level,
                member,
            } => {
                let binding = Binding::Import {
                    module: module.clone(),
                    level: *level,
                    member: member.clone(),
                };
                self.eval_binding(context, &binding, depth + 1)
            }
            ValueExpr::Subscript(container) => {
                let container = self.eval(context, container, depth + 1);
                map_union(&container, &mut |ty| {
                    element_type(ty, ElementAccess::Subscript)
                })
            }
            ValueExpr::Iter(container) => {
                let container = self.eval(context, container, depth + 1);
                map_union(&container, &mut |ty| {
                    element_type(ty, ElementAccess::Iteration)
                })
            }
            ValueExpr::Declared(annotation) => self.annotation(context, annotation, depth + 1),
            ValueExpr::None => Ty::None,
            ValueExpr::Unknown => Ty::Unknown,
        }
    }

    fn lookup(&mut self, context: Context<'_>, name: &Name, depth: usize) -> Ty {
        let found = context
            .locals
            .iter()
            .enumerate()
            .find_map(|(index, scope)| Some((index, scope.get(name)?)));
        let scopes = match found {
            Some((index, _)) => &context.locals[index..],
            None => &[],
        };
        let key = LookupKey {
            module: Arc::as_ptr(context.module) as usize,
            scopes: scopes
                .iter()
                .map(|scope| std::ptr::from_ref(*scope) as usize)
                .collect(),
            name: name.clone(),
            depth,
        };
        if let Some(known) = self.lookups.get(&key) {
            return known.clone();
        }
        let ty = match found {
            Some((_, bindings)) => {
                let outer = Context {
                    module: context.module,
                    locals: scopes,
                    self_class: None,
                };
                self.eval_bindings(outer, bindings, depth)
            }
            None => self.global(context.module, name, depth),
        };
        self.lookups.insert(key, ty.clone());
        ty
    }

    /// A module-level name of `module`: its own bindings, then `import *`, then builtins.
    fn global(&mut self, module: &Arc<ModuleSummary>, name: &Name, depth: usize) -> Ty {
        let context = Context {
            module,
            locals: &[],
            self_class: None,
        };
        if let Some(bindings) = module.globals.get(name) {
            return self.eval_bindings(context, bindings, depth);
        }
        for (star_module, level) in &module.star_imports {
            let Some(absolute) = module.resolve_relative(star_module, *level) else {
                return Ty::Unknown;
            };
            match self.project.module(&absolute) {
                Some(source) if source.globals.contains_key(name) => {
                    return self.global(&source, name, depth + 1);
                }
                Some(_) => {}
                // Anything may come from a module we cannot see.
                None => return Ty::Unknown,
            }
        }
        if BUILTINS.contains(&name.as_str()) {
            Ty::External(format!("builtins.{name}").into())
        } else {
            // Unbound, or bound in a way nmf does not see (`exec`, `globals()[...]`).
            Ty::Unknown
        }
    }

    /// A name bound several times has the union of its bindings' types: a parameter annotated
    /// `C` may still be rebound to something else in the body.
    fn eval_bindings(&mut self, context: Context<'_>, bindings: &[Binding], depth: usize) -> Ty {
        let members: Vec<Ty> = bindings
            .iter()
            .map(|binding| self.eval_binding(context, binding, depth))
            .collect();
        union(members)
    }

    fn eval_binding(&mut self, context: Context<'_>, binding: &Binding, depth: usize) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match binding {
            Binding::Import {
                module,
                level,
                member,
            } => {
                let Some(absolute) = context.module.resolve_relative(module, *level) else {
                    return Ty::Unknown;
                };
                match member {
                    None => self.module_object(&absolute),
                    Some(member) => {
                        let owner = self.module_object(&absolute);
                        self.attribute(&owner, member, depth + 1)
                    }
                }
            }
            Binding::Class(id) => Ty::Class(ClassKey::Project(context.module.clone(), *id)),
            Binding::Function(function) => Ty::Function(context.module.clone(), function.clone()),
            Binding::Value(value) => self.eval(context, value, depth + 1),
            Binding::SelfParameter { class, is_class } => {
                let key = ClassKey::Project(context.module.clone(), *class);
                if *is_class {
                    Ty::Class(key)
                } else {
                    // `self` is an instance of the class or of any subclass.
                    Ty::Instance(key, Vec::new(), Exactness::OrSubclass)
                }
            }
            Binding::Unknown => Ty::Unknown,
        }
    }

    /// Builtins whose result depends on their arguments: `enumerate(xs)` yields
    /// `(int, element)` pairs, `zip(a, b)` tuples of their elements, `iter(xs)`, `list(xs)`,
    /// `tuple(xs)`, `sorted(xs)` and `reversed(xs)` the elements of `xs`.
    fn builtin_call(
        &mut self,
        context: Context<'_>,
        name: &str,
        arguments: &[ValueExpr],
        depth: usize,
    ) -> Option<Ty> {
        let elements = |resolver: &mut Self, value: &ValueExpr| {
            let container = resolver.eval(context, value, depth + 1);
            map_union(&container, &mut |ty| {
                element_type(ty, ElementAccess::Iteration)
            })
        };
        let list_of = |element: Ty| external_instance("builtins.list", vec![element]);
        Some(match (name, arguments) {
            ("builtins.enumerate", [iterable, ..]) => {
                let element = elements(self, iterable);
                list_of(external_instance(
                    "builtins.tuple",
                    vec![external_instance("builtins.int", Vec::new()), element],
                ))
            }
            ("builtins.zip", iterables) if !iterables.is_empty() => {
                let elements = iterables
                    .iter()
                    .map(|iterable| elements(self, iterable))
                    .collect();
                list_of(external_instance("builtins.tuple", elements))
            }
            (
                "builtins.iter" | "builtins.list" | "builtins.sorted" | "builtins.reversed",
                [iterable],
            ) => list_of(elements(self, iterable)),
            ("builtins.tuple", [iterable]) => {
                let element = elements(self, iterable);
                external_instance(
                    "builtins.tuple",
                    vec![element, Ty::External("builtins.Ellipsis".into())],
                )
            }
            _ => return None,
        })
    }

    /// What `with manager as x` binds: what `__enter__` returns, by its annotation, or the
    /// manager itself when `__enter__` returns `self`.
    fn entered(&mut self, manager: &Ty, depth: usize) -> Ty {
        let Ty::Instance(class @ ClassKey::Project(..), _, _) = manager else {
            return Ty::Unknown;
        };
        let enter = self.attribute(manager, &Name::new_static("__enter__"), depth + 1);
        let mut results = Vec::new();
        for member in members(&enter) {
            match member {
                Ty::Function(module, function) => {
                    if function.returns.is_some() {
                        results.push(self.returns(&module.clone(), function, depth + 1));
                    } else if function.returns_self {
                        results.push(manager.clone());
                    } else {
                        results.push(Ty::Unknown);
                    }
                }
                _ => results.push(Ty::Unknown),
            }
        }
        let _ = class;
        union(results)
    }

    /// A list, tuple, set or dict display: a container of the union of its elements, and a
    /// tuple of each element at its position.
    fn collection(&mut self, context: Context<'_>, collection: &Collection, depth: usize) -> Ty {
        let mut eval_all = |values: &[ValueExpr]| -> Vec<Ty> {
            values
                .iter()
                .map(|value| self.eval(context, value, depth + 1))
                .collect()
        };
        match collection.kind {
            CollectionKind::Tuple => {
                external_instance("builtins.tuple", eval_all(&collection.values))
            }
            CollectionKind::List => {
                external_instance("builtins.list", vec![union(eval_all(&collection.values))])
            }
            CollectionKind::Set => {
                external_instance("builtins.set", vec![union(eval_all(&collection.values))])
            }
            CollectionKind::Dict => {
                let keys = union(eval_all(&collection.keys));
                let values = union(eval_all(&collection.values));
                external_instance("builtins.dict", vec![keys, values])
            }
        }
    }

    fn module_object(&self, absolute: &str) -> Ty {
        match self.project.module(absolute) {
            Some(module) => Ty::Module(ModuleRef::Project(module)),
            None => Ty::Module(ModuleRef::External(absolute.into())),
        }
    }

    fn attribute(&mut self, owner: &Ty, attribute: &Name, depth: usize) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match owner {
            Ty::Module(ModuleRef::Project(module)) => {
                if module.globals.contains_key(attribute) || !module.star_imports.is_empty() {
                    return self.global(module, attribute, depth + 1);
                }
                if module.is_dynamic {
                    // A lazy package (`__getattr__`, or it replaces itself in `sys.modules`)
                    // provides names nmf cannot see.
                    return Ty::Unknown;
                }
                // Not bound by the package: only a submodule can be imported under that name.
                match module.name.as_deref() {
                    Some(name) => self.module_object(&format!("{name}.{attribute}")),
                    None => Ty::Unknown,
                }
            }
            Ty::Module(ModuleRef::External(name)) => {
                let qualified = format!("{name}.{attribute}");
                // `import a` then `a.b.C`: `a.b` may be a project package after all.
                match self.project.module(&qualified) {
                    Some(module) => Ty::Module(ModuleRef::Project(module)),
                    None => Ty::External(qualified.into()),
                }
            }
            Ty::External(name) => Ty::External(format!("{name}.{attribute}").into()),
            Ty::Class(ClassKey::External(name)) => {
                Ty::External(format!("{name}.{attribute}").into())
            }
            Ty::Class(ClassKey::Project(module, id)) => {
                self.class_member(module, *id, attribute, false, depth + 1)
            }
            Ty::Instance(ClassKey::Project(module, id), _, _) => {
                self.class_member(module, *id, attribute, true, depth + 1)
            }
            // What a package that makes no modules produces stays in its namespace: the
            // attributes of `cv2.dnn.readNet(...)` are OpenCV's.
            Ty::Instance(ClassKey::External(name), _, _)
                if not_module_package(name, self.not_module_packages).is_some() =>
            {
                Ty::External(format!("{name}.{attribute}").into())
            }
            Ty::Union(members) => {
                let members = members.clone();
                union(
                    members
                        .iter()
                        .map(|member| self.attribute(member, attribute, depth + 1))
                        .collect(),
                )
            }
            _ => Ty::Unknown,
        }
    }

    /// An attribute of a project class or of its instances. Instances hold the union of what
    /// every class of the hierarchy sets (any of their methods may set it); a class attribute
    /// is whatever a class of the hierarchy binds. A base nmf cannot see, or an attribute no
    /// class binds, adds `Unknown`: something unseen may define it.
    fn class_member(
        &mut self,
        module: &Arc<ModuleSummary>,
        id: ClassId,
        attribute: &Name,
        on_instance: bool,
        depth: usize,
    ) -> Ty {
        /// Hierarchies are a few dozen classes deep at most, even in transformers.
        const MAX_CLASSES: usize = 64;
        let mut found = Vec::new();
        // Declarations (`x: C` in the class body, `self.x: C = ...`) say what the attribute is,
        // whatever the other assignments look like: `x: dict[str, C]` in the class body with
        // `self.x = {}` in `__init__` is a dict of C.
        let mut declared = Vec::new();
        let mut opaque = false;
        let mut pending = vec![(module.clone(), id)];
        let mut visited: FxHashSet<(ModuleId, ClassId)> = FxHashSet::default();
        while let Some((module, id)) = pending.pop() {
            if visited.len() >= MAX_CLASSES || depth > MAX_EVAL_DEPTH {
                opaque = true;
                break;
            }
            if !visited.insert((module.id, id)) {
                continue;
            }
            let Some(class) = module.class(id) else {
                opaque = true;
                continue;
            };
            let context = Context {
                module: &module,
                locals: &[],
                self_class: Some(id),
            };
            if on_instance && let Some(values) = class.instance_attributes.get(attribute) {
                for value in &values.clone() {
                    let ty = self.eval(context, value, depth + 1);
                    if matches!(value, ValueExpr::Declared(_)) {
                        declared.push(ty);
                    } else {
                        found.push(ty);
                    }
                }
            }
            if let Some(bindings) = class.body.get(attribute) {
                for binding in &bindings.clone() {
                    let ty = match binding {
                        Binding::Function(function) if function.is_property && on_instance => {
                            self.returns(&module, function, depth + 1)
                        }
                        // A class-body annotation declares what instances hold.
                        other => self.eval_binding(context, other, depth + 1),
                    };
                    if is_declaration(binding) {
                        declared.push(ty);
                    } else {
                        found.push(ty);
                    }
                }
            }
            for base in &class.bases.clone() {
                match self.eval(context, base, depth + 1) {
                    Ty::Class(ClassKey::Project(base_module, base_id)) => {
                        pending.push((base_module, base_id));
                    }
                    Ty::External(name) | Ty::Class(ClassKey::External(name))
                        if external_defines_nothing_named(&name, attribute) => {}
                    _ => opaque = true,
                }
            }
        }
        if !declared.is_empty() {
            return union(declared);
        }
        if opaque || found.is_empty() {
            found.push(Ty::Unknown);
        }
        union(found)
    }

    fn returns(
        &mut self,
        module: &Arc<ModuleSummary>,
        function: &FunctionSummary,
        depth: usize,
    ) -> Ty {
        match &function.returns {
            Some(annotation) => {
                let context = Context {
                    module,
                    locals: &[],
                    self_class: None,
                };
                self.annotation(context, annotation, depth + 1)
            }
            None => Ty::Unknown,
        }
    }

    fn call(&mut self, callee: &Ty, depth: usize) -> Ty {
        match callee {
            Ty::Class(class) => Ty::Instance(class.clone(), Vec::new(), Exactness::Exact),
            Ty::External(name) => match name.as_ref() {
                // `type(x)` and `super()` are not instances of `type` and `super` in any useful way.
                "builtins.type" | "builtins.super" | "builtins.getattr" => Ty::Unknown,
                _ if module_returning_function(name) => {
                    Ty::Module(ModuleRef::External(format!("{name}(...)").into()))
                }
                _ if is_known_class(name) => external_instance(name, Vec::new()),
                // Whatever a package that makes no modules returns is one of its objects.
                _ if not_module_package(name, self.not_module_packages).is_some() => {
                    external_instance(&format!("{name}()"), Vec::new())
                }
                _ => Ty::Unknown,
            },
            Ty::Function(module, function) => self.returns(&module.clone(), function, depth + 1),
            Ty::Union(members) => {
                let members = members.clone();
                union(
                    members
                        .iter()
                        .map(|member| self.call(member, depth + 1))
                        .collect(),
                )
            }
            _ => Ty::Unknown,
        }
    }

    fn annotation(&mut self, context: Context<'_>, annotation: &Annotation, depth: usize) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match annotation {
            Annotation::None => Ty::None,
            Annotation::Unknown => Ty::Unknown,
            Annotation::Union(members) => union(
                members
                    .iter()
                    .map(|member| self.annotation(context, member, depth + 1))
                    .collect(),
            ),
            Annotation::Ref(value) => {
                let ty = self.eval(context, value, depth + 1);
                instance_of(ty)
            }
            Annotation::Generic(head, arguments) => {
                let head = self.eval(context, head, depth + 1);
                let form = match &head {
                    Ty::External(name) => typing_form(name),
                    _ => None,
                };
                let argument = |index: usize, resolver: &mut Self| {
                    arguments.get(index).map_or(Ty::Unknown, |argument| {
                        resolver.annotation(context, argument, depth + 1)
                    })
                };
                match form {
                    Some(TypingForm::Optional) => union(vec![argument(0, self), Ty::None]),
                    Some(TypingForm::Union) => union(
                        (0..arguments.len())
                            .map(|index| argument(index, self))
                            .collect(),
                    ),
                    Some(TypingForm::Wrapper) => argument(0, self),
                    Some(TypingForm::TypeOf) => match argument(0, self) {
                        Ty::Instance(class, _, _) => Ty::Class(class),
                        _ => Ty::Unknown,
                    },
                    Some(TypingForm::Opaque) => Ty::Unknown,
                    None => match instance_of(head) {
                        Ty::Instance(class, _, exactness) => Ty::Instance(
                            class,
                            (0..arguments.len())
                                .map(|index| argument(index, self))
                                .collect(),
                            exactness,
                        ),
                        other => other,
                    },
                }
            }
        }
    }
}

/// The members of a union, or the type itself.
fn members(ty: &Ty) -> Vec<&Ty> {
    match ty {
        Ty::Union(members) => members.iter().collect(),
        other => vec![other],
    }
}

/// The last name of a dotted expression: `C` for `pkg.mod.C`.
fn last_name(value: &ValueExpr) -> Option<&Name> {
    match value {
        ValueExpr::Name(name) | ValueExpr::Attribute(_, name) => Some(name),
        _ => None,
    }
}

/// Whether two keys are the same class, also when one comes from a second summary of the same
/// file (the checked file is summarised from its tree and, for other files, from disk).
fn same_class(a: &ClassKey, b: &ClassKey) -> bool {
    match (a, b) {
        (ClassKey::Project(module_a, id_a), ClassKey::Project(module_b, id_b)) => {
            (module_a.id == module_b.id && id_a == id_b)
                || (module_a.name.is_some()
                    && module_a.name == module_b.name
                    && module_a.class(*id_a).map(|class| class.start)
                        == module_b.class(*id_b).map(|class| class.start))
        }
        (ClassKey::External(a), ClassKey::External(b)) => a == b,
        _ => false,
    }
}

/// Classes whose declared instances may be any object: `x: object`.
fn says_nothing_about_instances(name: &str) -> bool {
    matches!(
        normalize_typing(name).as_str(),
        "builtins.object" | "abc.ABC" | "typing.Any" | "typing.Hashable" | "typing.Sized"
    )
}

/// `x: C`, with or without a value.
fn is_declaration(binding: &Binding) -> bool {
    matches!(binding, Binding::Value(ValueExpr::Declared(_)))
}

/// What the common methods of a typed `dict` or `list` give: `values()` and `keys()` as lists
/// of the values and keys, `get()`/`pop()` as one of them. `None` for anything else.
fn container_method(owner: &Ty, method: &str) -> Option<Ty> {
    let Ty::Instance(ClassKey::External(name), arguments, _) = owner else {
        return None;
    };
    let argument = |index: usize| arguments.get(index).cloned().unwrap_or(Ty::Unknown);
    let list_of = |element: Ty| external_instance("builtins.list", vec![element]);
    let is_mapping = is_mapping_class(&normalize_typing(name));
    let is_list = matches!(
        normalize_typing(name).as_str(),
        "builtins.list" | "typing.List"
    );
    match method {
        "values" if is_mapping => Some(list_of(argument(1))),
        "keys" if is_mapping => Some(list_of(argument(0))),
        "items" if is_mapping => Some(list_of(external_instance(
            "builtins.tuple",
            vec![argument(0), argument(1)],
        ))),
        "get" | "pop" | "setdefault" if is_mapping => Some(argument(1)),
        "pop" if is_list => Some(argument(0)),
        "copy" if is_mapping || is_list => Some(owner.clone()),
        _ => None,
    }
}

/// An instance of an outside class, by qualified name.
fn external_instance(name: &str, arguments: Vec<Ty>) -> Ty {
    Ty::Instance(ClassKey::External(name.into()), arguments, Exactness::Exact)
}

/// The element at `index` of an unpacked value: of a tuple, the one at that position; of any
/// other container, an element.
fn unpacked(ty: &Ty, index: usize) -> Ty {
    match ty {
        Ty::Instance(ClassKey::External(name), arguments, _)
            if matches!(
                normalize_typing(name).as_str(),
                "builtins.tuple" | "typing.Tuple"
            ) =>
        {
            match arguments.as_slice() {
                [element, Ty::External(ellipsis)] if ellipsis.as_ref() == "builtins.Ellipsis" => {
                    element.clone()
                }
                _ => arguments.get(index).cloned().unwrap_or(Ty::Unknown),
            }
        }
        other => element_type(other, ElementAccess::Iteration),
    }
}

/// The type of an instance of the class a type expression names: that class or a subclass.
fn instance_of(ty: Ty) -> Ty {
    match ty {
        Ty::Class(class) => Ty::Instance(class, Vec::new(), Exactness::OrSubclass),
        Ty::External(name) => {
            let name = normalize_typing(&name);
            if name == "typing.Any" {
                Ty::Unknown
            } else {
                // Kept even when nmf does not know the class, so notes can name it; its
                // verdict is then Unknown.
                Ty::Instance(
                    ClassKey::External(name.into()),
                    Vec::new(),
                    Exactness::OrSubclass,
                )
            }
        }
        Ty::None => Ty::None,
        Ty::Union(members) => union(members.into_iter().map(instance_of).collect()),
        _ => Ty::Unknown,
    }
}

fn union(mut members: Vec<Ty>) -> Ty {
    match members.len() {
        0 => Ty::Unknown,
        1 => members.pop().unwrap_or(Ty::Unknown),
        _ => {
            // Flattened and without duplicates: a name bound many times from itself would
            // otherwise get a union that doubles with every binding.
            let mut flat: Vec<Ty> = Vec::with_capacity(members.len());
            let mut add = |member: Ty| {
                if !flat.iter().any(|known| same_type(known, &member)) {
                    flat.push(member);
                }
            };
            for member in members {
                match member {
                    Ty::Union(inner) => inner.into_iter().for_each(&mut add),
                    other => add(other),
                }
            }
            if flat.len() == 1 {
                flat.pop().unwrap_or(Ty::Unknown)
            } else {
                Ty::Union(flat)
            }
        }
    }
}

/// Whether two types are the same (functions are never taken for the same: they are kept).
fn same_type(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Unknown, Ty::Unknown) | (Ty::None, Ty::None) => true,
        (Ty::External(a), Ty::External(b)) => a == b,
        (Ty::Module(ModuleRef::External(a)), Ty::Module(ModuleRef::External(b))) => a == b,
        (Ty::Module(ModuleRef::Project(a)), Ty::Module(ModuleRef::Project(b))) => Arc::ptr_eq(a, b),
        (Ty::Class(a), Ty::Class(b)) => same_class(a, b),
        (Ty::Instance(a, a_args, a_exact), Ty::Instance(b, b_args, b_exact)) => {
            same_class(a, b)
                && a_exact == b_exact
                && a_args.len() == b_args.len()
                && a_args.iter().zip(b_args).all(|(a, b)| same_type(a, b))
        }
        (Ty::Union(a), Ty::Union(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_type(a, b))
        }
        _ => false,
    }
}

fn map_union(ty: &Ty, map: &mut dyn FnMut(&Ty) -> Ty) -> Ty {
    match ty {
        Ty::Union(members) => union(
            members
                .iter()
                .filter(|member| !matches!(member, Ty::None))
                .map(&mut *map)
                .collect(),
        ),
        other => map(other),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ElementAccess {
    Subscript,
    Iteration,
}

/// The element type of a container annotated with its type arguments.
fn element_type(container: &Ty, access: ElementAccess) -> Ty {
    let Ty::Instance(ClassKey::External(name), arguments, _) = container else {
        return Ty::Unknown;
    };
    let name = normalize_typing(name);
    let argument = |index: usize| arguments.get(index).cloned().unwrap_or(Ty::Unknown);
    match name.as_str() {
        // Every element of these containers is registered as a submodule.
        "torch.nn.ModuleList"
        | "torch.nn.Sequential"
        | "torch.nn.modules.container.ModuleList"
        | "torch.nn.modules.container.Sequential" => {
            external_instance("torch.nn.Module", Vec::new())
        }
        "torch.nn.ModuleDict" | "torch.nn.modules.container.ModuleDict" => match access {
            ElementAccess::Subscript => external_instance("torch.nn.Module", Vec::new()),
            ElementAccess::Iteration => external_instance("builtins.str", Vec::new()),
        },
        mapping if is_mapping_class(mapping) => match access {
            ElementAccess::Subscript => argument(1),
            ElementAccess::Iteration => argument(0),
        },
        "builtins.list"
        | "builtins.set"
        | "builtins.frozenset"
        | "typing.List"
        | "typing.Set"
        | "typing.FrozenSet"
        | "typing.Sequence"
        | "typing.MutableSequence"
        | "typing.Iterable"
        | "typing.Iterator"
        | "typing.Collection"
        | "collections.deque"
        | "typing.Deque"
        | "collections.abc.Sequence"
        | "collections.abc.MutableSequence"
        | "collections.abc.Iterable"
        | "collections.abc.Iterator"
        | "collections.abc.Collection" => argument(0),
        // `tuple[C, ...]` is homogeneous; `tuple[A, B]` is not, without knowing the index.
        "builtins.tuple" | "typing.Tuple" if arguments.len() == 2 => match &arguments[1] {
            Ty::External(ellipsis) if ellipsis.as_ref() == "builtins.Ellipsis" => argument(0),
            _ => Ty::Unknown,
        },
        _ => Ty::Unknown,
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Unknown => f.write_str("unknown"),
            Ty::None => f.write_str("None"),
            Ty::External(name) => f.write_str(name),
            Ty::Module(ModuleRef::External(name)) => write!(f, "module `{name}`"),
            Ty::Module(ModuleRef::Project(module)) => {
                write!(f, "module `{}`", module.name.as_deref().unwrap_or("?"))
            }
            Ty::Class(class) => write!(f, "class {}", class.qualified_name()),
            Ty::Instance(class, _, _) => f.write_str(&class.qualified_name()),
            Ty::Function(..) => f.write_str("function"),
            Ty::Union(members) => {
                /// Unions of a table of classes can be long; the first few say enough.
                const SHOWN: usize = 6;
                let mut shown: Vec<String> = Vec::new();
                for member in members {
                    let text = member.to_string();
                    if !shown.contains(&text) {
                        shown.push(text);
                    }
                }
                let more = shown.len().saturating_sub(SHOWN);
                shown.truncate(SHOWN);
                f.write_str(&shown.join(" | "))?;
                if more > 0 {
                    write!(f, " | … ({more} more)")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::bindings::SourceFacts;

    /// The project of a test: modules by name, summarised from source.
    struct Project(FxHashMap<String, Arc<ModuleSummary>>);

    impl Project {
        fn new(files: &[(&str, &str)]) -> Self {
            Self(
                files
                    .iter()
                    .map(|(name, source)| {
                        let parsed = ruff_python_parser::parse_module(source).expect("valid");
                        let is_package = name.ends_with("__init__");
                        let module_name = name.trim_end_matches(".__init__");
                        let summary = ModuleSummary::build(
                            parsed.suite(),
                            Some(module_name.into()),
                            is_package,
                            SourceFacts::of(source),
                        );
                        (module_name.to_string(), Arc::new(summary))
                    })
                    .collect(),
            )
        }

        /// The type and verdict of `expression`, evaluated at the end of module `module`.
        fn infer(&self, module: &str, expression: &str) -> (String, Verdict) {
            let summary = self.0.get(module).expect("a module of the project").clone();
            let mut resolver = TypeResolver::new(self, summary, &[]);
            let parsed = ruff_python_parser::parse_expression(expression).expect("valid");
            let ty = resolver.infer(&ValueExpr::from_expr(parsed.expr()), &[]);
            let verdict = resolver.verdict(&ty);
            (ty.to_string(), verdict)
        }
    }

    impl ProjectModules for Project {
        fn module(&self, name: &str) -> Option<Arc<ModuleSummary>> {
            self.0.get(name).cloned()
        }

        fn mentioning(&self, _words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>> {
            Some(self.0.values().cloned().collect())
        }

        fn forward_installers(&self) -> Option<Vec<Arc<ModuleSummary>>> {
            Some(self.0.values().cloned().collect())
        }
    }

    fn verdict(source: &str, expression: &str) -> Verdict {
        Project::new(&[("m", source)]).infer("m", expression).1
    }

    #[test]
    fn a_class_is_a_module_when_a_base_is_however_it_is_imported() {
        for source in [
            "import torch\nclass A(torch.nn.Module): pass\n",
            "import torch.nn as nn\nclass A(nn.Linear): pass\n",
            "from torch import nn\nclass A(nn.Module): pass\n",
            "from torch.nn import Module as M\nclass B(M): pass\nclass A(B): pass\n",
            "import torch.nn as nn\nclass A(object, nn.Module): pass\n",
        ] {
            assert_eq!(verdict(source, "A()"), Verdict::Module, "{source}");
            assert_eq!(verdict(source, "A"), Verdict::Module, "{source}");
        }
    }

    #[test]
    fn a_class_is_not_a_module_only_when_every_base_is_known() {
        assert_eq!(verdict("class A: pass\n", "A()"), Verdict::NotModule);
        assert_eq!(
            verdict("from abc import ABC\nclass A(ABC): pass\n", "A()"),
            Verdict::NotModule
        );
        assert_eq!(
            verdict("from lib import Base\nclass A(Base): pass\n", "A()"),
            Verdict::Unknown
        );
        assert_eq!(verdict("class A(A): pass\n", "A()"), Verdict::Unknown);
        assert_eq!(
            verdict(
                "import torch\nclass F(torch.autograd.Function): pass\n",
                "F"
            ),
            Verdict::AutogradFunction
        );
    }

    #[test]
    fn names_are_the_union_of_their_bindings() {
        let source =
            "import torch.nn as nn\nclass P: pass\nx = P()\nif c:\n    x = nn.Linear(1, 1)\n";
        assert_eq!(verdict(source, "x"), Verdict::Module);
        assert_eq!(verdict("class P: pass\nx = P()\n", "x"), Verdict::NotModule);
        assert_eq!(verdict("x = make()\n", "x"), Verdict::Unknown);
    }

    #[test]
    fn instance_attributes_come_from_every_method_and_declarations_win() {
        let source = "import torch.nn as nn\n\
                      class P: pass\n\
                      class A:\n    \
                          def __init__(self):\n        \
                              self.p = P()\n    \
                          def reset(self):\n        \
                              self.p = nn.Linear(1, 1)\n\
                      class D:\n    \
                          x: 'P'\n    \
                          def __init__(self):\n        \
                              self.x = {}\n";
        assert_eq!(verdict(source, "A().p"), Verdict::Module);
        assert_eq!(verdict(source, "D().x"), Verdict::NotModule);
        assert_eq!(verdict(source, "A().missing"), Verdict::Unknown);
    }

    #[test]
    fn containers_returns_and_properties_give_their_declared_types() {
        let source = "import torch.nn as nn\n\
                      from typing import Optional\n\
                      class P: pass\n\
                      table: dict[str, P] = {}\n\
                      layers = nn.ModuleList()\n\
                      maybe: Optional[P] = None\n\
                      def build() -> nn.Linear: ...\n\
                      class H:\n    \
                          @property\n    \
                          def head(self) -> 'P': ...\n";
        assert_eq!(verdict(source, "table['a']"), Verdict::NotModule);
        assert_eq!(verdict(source, "table.get('a')"), Verdict::NotModule);
        assert_eq!(verdict(source, "layers[0]"), Verdict::Module);
        assert_eq!(verdict(source, "maybe"), Verdict::NotModule);
        assert_eq!(verdict(source, "build()"), Verdict::Module);
        assert_eq!(verdict(source, "H().head"), Verdict::NotModule);
    }

    #[test]
    fn imports_resolve_across_the_project_relatively_and_absolutely() {
        let project = Project::new(&[
            ("pkg.__init__", "from .models import Net\n"),
            (
                "pkg.models",
                "import torch.nn as nn\nclass Net(nn.Module): pass\nclass Helper: pass\n",
            ),
            (
                "pkg.use",
                "from . import models\nfrom pkg import Net\nfrom .models import Helper as H\n",
            ),
        ]);
        assert_eq!(project.infer("pkg.use", "Net()").1, Verdict::Module);
        assert_eq!(project.infer("pkg.use", "models.Net()").1, Verdict::Module);
        assert_eq!(
            project.infer("pkg.use", "H()"),
            ("pkg.models.Helper".to_string(), Verdict::NotModule)
        );
        assert_eq!(project.infer("pkg.use", "models").1, Verdict::NotModule);
    }

    #[test]
    fn a_reloaded_summary_never_shares_a_memo_entry_with_the_old_one() {
        let first = Project::new(&[("m", "class A: pass\n")]);
        let second = Project::new(&[("m", "import torch.nn as nn\nclass A(nn.Module): pass\n")]);
        let old = first.0["m"].clone();
        let new = second.0["m"].clone();
        assert_ne!(old.id, new.id);
        let mut resolver = TypeResolver::new(&first, old.clone(), &[]);
        assert_eq!(
            resolver.class_verdict(&ClassKey::Project(old, 0)),
            Verdict::NotModule
        );
        assert_eq!(
            resolver.class_verdict(&ClassKey::Project(new, 0)),
            Verdict::Module
        );
    }
}
