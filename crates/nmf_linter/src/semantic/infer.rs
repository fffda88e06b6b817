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

use crate::semantic::summary::{Binding, ClassId, FunctionSummary, ModuleSummary};
use crate::semantic::values::{Annotation, ValueExpr};

/// Gives the summaries of the project's other files, by absolute module name.
///
/// Implemented by the driver, which finds, parses and caches the files; the linter never reads
/// files itself.
pub trait ProjectModules: Sync {
    /// The summary of module `name` (`pkg.sub.mod`) when it is a file of the project.
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>>;
}

/// No project: only the checked file and the known roots outside it are known.
pub struct NoProject;

impl ProjectModules for NoProject {
    fn module(&self, _name: &str) -> Option<Arc<ModuleSummary>> {
        None
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
    fn identity(&self) -> (usize, ClassId, Option<&str>) {
        match self {
            ClassKey::External(name) => (0, 0, Some(name)),
            ClassKey::Project(module, id) => (Arc::as_ptr(module) as usize, *id, None),
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
    /// An instance, with the type arguments of a generic container (`dict[str, C]`).
    Instance(ClassKey, Vec<Ty>),
    /// A function or method; calling it gives its declared return type.
    Function(Arc<ModuleSummary>, FunctionSummary),
    Union(Vec<Ty>),
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
    /// Verdicts of project classes, by module summary and class.
    verdicts: FxHashMap<(usize, ClassId), Verdict>,
    in_progress: FxHashSet<(usize, ClassId)>,
}

/// Where an expression is evaluated: a module, plus the checked file's local scopes.
#[derive(Clone, Copy)]
struct Context<'s> {
    module: &'s Arc<ModuleSummary>,
    locals: &'s LocalScopes<'s>,
}

impl<'p> TypeResolver<'p> {
    pub fn new(project: &'p dyn ProjectModules, module: Arc<ModuleSummary>) -> Self {
        Self {
            project,
            module,
            verdicts: FxHashMap::default(),
            in_progress: FxHashSet::default(),
        }
    }

    pub fn module(&self) -> &Arc<ModuleSummary> {
        &self.module
    }

    /// The type of `value` evaluated in the checked file with `locals` in scope.
    pub fn infer(&mut self, value: &ValueExpr, locals: &LocalScopes<'_>) -> Ty {
        let module = self.module.clone();
        let context = Context {
            module: &module,
            locals,
        };
        self.eval(context, value, 0)
    }

    /// The type a binding of the checked file gives its name.
    pub fn infer_binding(&mut self, binding: &Binding, locals: &LocalScopes<'_>) -> Ty {
        let module = self.module.clone();
        let context = Context {
            module: &module,
            locals,
        };
        self.eval_binding(context, binding, 0)
    }

    /// Whether a value of type `ty` is an `nn.Module`.
    pub fn verdict(&mut self, ty: &Ty) -> Verdict {
        match ty {
            Ty::Instance(class, _) | Ty::Class(class) => self.class_verdict(class),
            Ty::External(name) => external_class_verdict(name),
            // A Python module of the project is a module object, never an `nn.Module`.
            Ty::Module(ModuleRef::Project(_)) => Verdict::NotModule,
            // `Optional[C]` is C: calling `.forward` on None is not what the code means.
            Ty::Union(members) => {
                let mut verdicts = members
                    .iter()
                    .filter(|member| !matches!(member, Ty::None))
                    .map(|member| self.verdict(member))
                    .peekable();
                if verdicts.peek().is_none() {
                    Verdict::Unknown
                } else {
                    verdicts.fold(Verdict::NotModule, Verdict::either)
                }
            }
            // Only ever None here: something unseen must assign it.
            Ty::None => Verdict::Unknown,
            Ty::Unknown | Ty::Module(ModuleRef::External(_)) | Ty::Function(..) => Verdict::Unknown,
        }
    }

    /// Whether instances of `class` are `nn.Module`s, following every base.
    pub fn class_verdict(&mut self, class: &ClassKey) -> Verdict {
        let ClassKey::Project(module, id) = class else {
            return external_class_verdict(&class.qualified_name());
        };
        let key = (Arc::as_ptr(module) as usize, *id);
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
            ValueExpr::Call(callee) => {
                if let ValueExpr::Attribute(owner, method) = callee.as_ref() {
                    let owner = self.eval(context, owner, depth + 1);
                    if let Some(ty) = container_method(&owner, method) {
                        return ty;
                    }
                    let callee = self.attribute(&owner, method, depth + 1);
                    return self.call(&callee, depth + 1);
                }
                let callee = self.eval(context, callee, depth + 1);
                self.call(&callee, depth + 1)
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
        for (index, scope) in context.locals.iter().enumerate() {
            if let Some(bindings) = scope.get(name) {
                let outer = Context {
                    module: context.module,
                    locals: &context.locals[index..],
                };
                return self.eval_bindings(outer, bindings, depth);
            }
        }
        self.global(context.module, name, depth)
    }

    /// A module-level name of `module`: its own bindings, then `import *`, then builtins.
    fn global(&mut self, module: &Arc<ModuleSummary>, name: &Name, depth: usize) -> Ty {
        let context = Context {
            module,
            locals: &[],
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
                    Ty::Instance(key, Vec::new())
                }
            }
            Binding::Unknown => Ty::Unknown,
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
            Ty::Instance(ClassKey::Project(module, id), _) => {
                self.class_member(module, *id, attribute, true, depth + 1)
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
        let mut visited: FxHashSet<(usize, ClassId)> = FxHashSet::default();
        while let Some((module, id)) = pending.pop() {
            if visited.len() >= MAX_CLASSES || depth > MAX_EVAL_DEPTH {
                opaque = true;
                break;
            }
            if !visited.insert((Arc::as_ptr(&module) as usize, id)) {
                continue;
            }
            let Some(class) = module.class(id) else {
                opaque = true;
                continue;
            };
            let context = Context {
                module: &module,
                locals: &[],
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
                };
                self.annotation(context, annotation, depth + 1)
            }
            None => Ty::Unknown,
        }
    }

    fn call(&mut self, callee: &Ty, depth: usize) -> Ty {
        match callee {
            Ty::Class(class) => Ty::Instance(class.clone(), Vec::new()),
            Ty::External(name) => match name.as_ref() {
                // `type(x)` and `super()` are not instances of `type` and `super` in any useful way.
                "builtins.type" | "builtins.super" | "builtins.getattr" => Ty::Unknown,
                _ if is_known_class(name) => {
                    Ty::Instance(ClassKey::External(name.clone()), Vec::new())
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
                        Ty::Instance(class, _) => Ty::Class(class),
                        _ => Ty::Unknown,
                    },
                    Some(TypingForm::Opaque) => Ty::Unknown,
                    None => match instance_of(head) {
                        Ty::Instance(class, _) => Ty::Instance(
                            class,
                            (0..arguments.len())
                                .map(|index| argument(index, self))
                                .collect(),
                        ),
                        other => other,
                    },
                }
            }
        }
    }
}

/// `x: C`, with or without a value.
fn is_declaration(binding: &Binding) -> bool {
    matches!(binding, Binding::Value(ValueExpr::Declared(_)))
}

/// Classes whose type arguments are `[key, value]`.
fn is_mapping_class(name: &str) -> bool {
    matches!(
        name,
        "builtins.dict"
            | "typing.Dict"
            | "typing.Mapping"
            | "typing.MutableMapping"
            | "typing.OrderedDict"
            | "typing.DefaultDict"
            | "collections.OrderedDict"
            | "collections.defaultdict"
            | "collections.abc.Mapping"
            | "collections.abc.MutableMapping"
    )
}

/// What the common methods of a typed `dict` or `list` give: `values()` and `keys()` as lists
/// of the values and keys, `get()`/`pop()` as one of them. `None` for anything else.
fn container_method(owner: &Ty, method: &str) -> Option<Ty> {
    let Ty::Instance(ClassKey::External(name), arguments) = owner else {
        return None;
    };
    let argument = |index: usize| arguments.get(index).cloned().unwrap_or(Ty::Unknown);
    let list_of =
        |element: Ty| Ty::Instance(ClassKey::External("builtins.list".into()), vec![element]);
    let is_mapping = is_mapping_class(&normalize_typing(name));
    let is_list = matches!(
        normalize_typing(name).as_str(),
        "builtins.list" | "typing.List"
    );
    match method {
        "values" if is_mapping => Some(list_of(argument(1))),
        "keys" if is_mapping => Some(list_of(argument(0))),
        "get" | "pop" | "setdefault" if is_mapping => Some(argument(1)),
        "pop" if is_list => Some(argument(0)),
        "copy" if is_mapping || is_list => Some(owner.clone()),
        _ => None,
    }
}

/// The type of an instance of the class a type expression names.
fn instance_of(ty: Ty) -> Ty {
    match ty {
        Ty::Class(class) => Ty::Instance(class, Vec::new()),
        Ty::External(name) => {
            let name = normalize_typing(&name);
            if name == "typing.Any" {
                Ty::Unknown
            } else {
                // Kept even when nmf does not know the class, so notes can name it; its
                // verdict is then Unknown.
                Ty::Instance(ClassKey::External(name.into()), Vec::new())
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
            let mut flat = Vec::with_capacity(members.len());
            for member in members {
                match member {
                    Ty::Union(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            Ty::Union(flat)
        }
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
    let Ty::Instance(ClassKey::External(name), arguments) = container else {
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
            Ty::Instance(ClassKey::External("torch.nn.Module".into()), Vec::new())
        }
        "torch.nn.ModuleDict" | "torch.nn.modules.container.ModuleDict" => match access {
            ElementAccess::Subscript => {
                Ty::Instance(ClassKey::External("torch.nn.Module".into()), Vec::new())
            }
            ElementAccess::Iteration => {
                Ty::Instance(ClassKey::External("builtins.str".into()), Vec::new())
            }
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

enum TypingForm {
    Optional,
    Union,
    /// `Annotated[T, ...]`, `ClassVar[T]`, `Final[T]`: the type is the first argument.
    Wrapper,
    /// `type[C]`, `Type[C]`: the class object.
    TypeOf,
    /// `Literal[...]`, `Callable[...]`: nothing we can use.
    Opaque,
}

fn typing_form(name: &str) -> Option<TypingForm> {
    match normalize_typing(name).as_str() {
        "typing.Optional" => Some(TypingForm::Optional),
        "typing.Union" => Some(TypingForm::Union),
        "typing.Annotated" | "typing.ClassVar" | "typing.Final" | "typing.Required"
        | "typing.NotRequired" | "typing.ReadOnly" => Some(TypingForm::Wrapper),
        "typing.Type" | "builtins.type" => Some(TypingForm::TypeOf),
        "typing.Literal" | "typing.Callable" | "collections.abc.Callable" | "typing.Any" => {
            Some(TypingForm::Opaque)
        }
        _ => None,
    }
}

fn normalize_typing(name: &str) -> String {
    match name.strip_prefix("typing_extensions.") {
        Some(rest) => format!("typing.{rest}"),
        None => name.to_string(),
    }
}

/// Classes of the standard library and of `torch` that nmf knows by name.
fn is_known_class(name: &str) -> bool {
    external_class_verdict(name) != Verdict::Unknown
}

/// The names Python's `builtins` module defines that code refers to as classes or functions.
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BufferError",
    "EOFError",
    "Ellipsis",
    "Exception",
    "FileNotFoundError",
    "ImportError",
    "IndexError",
    "KeyError",
    "LookupError",
    "MemoryError",
    "NameError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "StopIteration",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
    "abs",
    "all",
    "any",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "classmethod",
    "complex",
    "dict",
    "dir",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "getattr",
    "hasattr",
    "hash",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "open",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// Every class of `torch.nn` that subclasses `nn.Module` (torch.nn.modules `__all__`).
const TORCH_NN_MODULES: &[&str] = &[
    "Module",
    "Identity",
    "Linear",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Threshold",
    "ReLU",
    "Hardtanh",
    "ReLU6",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Softmax2d",
    "LogSoftmax",
    "ELU",
    "SELU",
    "CELU",
    "GLU",
    "GELU",
    "Hardshrink",
    "LeakyReLU",
    "LogSigmoid",
    "Softplus",
    "Softshrink",
    "MultiheadAttention",
    "PReLU",
    "Softsign",
    "Softmin",
    "Tanhshrink",
    "RReLU",
    "L1Loss",
    "NLLLoss",
    "KLDivLoss",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "NLLLoss2d",
    "PoissonNLLLoss",
    "CosineEmbeddingLoss",
    "CTCLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "SmoothL1Loss",
    "GaussianNLLLoss",
    "HuberLoss",
    "SoftMarginLoss",
    "CrossEntropyLoss",
    "Container",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "LocalResponseNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "GroupNorm",
    "SyncBatchNorm",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad2d",
    "ReplicationPad1d",
    "ReplicationPad3d",
    "CrossMapLRN2d",
    "Embedding",
    "EmbeddingBag",
    "RNNBase",
    "RNN",
    "LSTM",
    "GRU",
    "RNNCellBase",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "PairwiseDistance",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "TripletMarginLoss",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "Bilinear",
    "CosineSimilarity",
    "Unflatten",
    "Unfold",
    "Fold",
    "AdaptiveLogSoftmaxWithLoss",
    "TransformerEncoder",
    "TransformerDecoder",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "Transformer",
    "LazyLinear",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "Flatten",
    "Hardsigmoid",
    "Hardswish",
    "SiLU",
    "Mish",
    "TripletMarginWithDistanceLoss",
    "ChannelShuffle",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "RMSNorm",
    "DataParallel",
];

/// The attributes `torch.nn.Module.__init__` sets on every module.
const MODULE_ATTRIBUTES: &[&str] = &[
    "training",
    "call_super_init",
    "dump_patches",
    "T_destination",
    "_parameters",
    "_buffers",
    "_non_persistent_buffers_set",
    "_backward_pre_hooks",
    "_backward_hooks",
    "_is_full_backward_hook",
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_state_dict_hooks",
    "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
    "_modules",
    "_compiled_call_impl",
    "_version",
];

/// Whether instances or subclasses of the outside class `name` get nothing called `attribute`
/// from it: true for `object`, the typing and collection bases, and `torch.nn.Module` outside
/// the attributes its `__init__` sets. Other classes (`nn.MultiheadAttention` has an
/// `out_proj`) may define anything.
fn external_defines_nothing_named(name: &str, attribute: &str) -> bool {
    match normalize_typing(name).as_str() {
        "torch.nn.Module" | "torch.nn.modules.module.Module" => {
            !MODULE_ATTRIBUTES.contains(&attribute)
        }
        "torch.autograd.Function" | "torch.autograd.function.Function" => true,
        other => {
            other.starts_with("builtins.")
                || other.starts_with("typing.")
                || other.starts_with("abc.")
                || other.starts_with("enum.")
                || other.starts_with("collections.")
        }
    }
}

/// What nmf knows about a class outside the project, by qualified name.
pub fn external_class_verdict(name: &str) -> Verdict {
    let name = normalize_typing(name);
    let name = name.as_str();
    if name.starts_with("torch.classes.") {
        // TorchScript custom classes (`torch.classes.ns.Cls()`) are C++ objects, not modules.
        return Verdict::NotModule;
    }
    if let Some(rest) = name.strip_prefix("torch.nn.") {
        // `torch.nn.Linear`, `torch.nn.modules.linear.Linear`, `torch.nn.parallel.X`.
        let last = rest.rsplit('.').next().unwrap_or(rest);
        let is_module_path =
            !rest.contains('.') || rest.starts_with("modules.") || rest.starts_with("parallel.");
        if is_module_path && TORCH_NN_MODULES.contains(&last) {
            return Verdict::Module;
        }
        if matches!(
            rest,
            "parallel.DistributedDataParallel" | "parallel.distributed.DistributedDataParallel"
        ) {
            return Verdict::Module;
        }
        if matches!(
            rest,
            "Parameter" | "parameter.Parameter" | "Buffer" | "parameter.Buffer"
        ) {
            return Verdict::NotModule;
        }
        return Verdict::Unknown;
    }
    match name {
        "torch.autograd.Function"
        | "torch.autograd.function.Function"
        | "torch.autograd.function.InplaceFunction"
        | "torch.autograd.function.NestedIOFunction" => Verdict::AutogradFunction,
        "torch.jit.ScriptModule"
        | "torch.jit.RecursiveScriptModule"
        | "torch.distributed.fsdp.FullyShardedDataParallel"
        | "torch.distributed.fsdp.fully_sharded_data_parallel.FullyShardedDataParallel"
        | "torch.ao.nn.quantized.Linear" => Verdict::Module,
        "torch.Tensor" => Verdict::NotModule,
        "builtins.object"
        | "builtins.int"
        | "builtins.float"
        | "builtins.complex"
        | "builtins.bool"
        | "builtins.str"
        | "builtins.bytes"
        | "builtins.bytearray"
        | "builtins.list"
        | "builtins.tuple"
        | "builtins.dict"
        | "builtins.set"
        | "builtins.frozenset"
        | "builtins.Exception"
        | "builtins.BaseException"
        | "builtins.ValueError"
        | "builtins.TypeError"
        | "builtins.RuntimeError"
        | "builtins.KeyError"
        | "builtins.NotImplementedError"
        | "abc.ABC"
        | "typing.Protocol"
        | "typing.Generic"
        | "typing.NamedTuple"
        | "typing.TypedDict"
        | "typing.Dict"
        | "typing.List"
        | "typing.Set"
        | "typing.FrozenSet"
        | "typing.Tuple"
        | "typing.Mapping"
        | "typing.MutableMapping"
        | "typing.Sequence"
        | "typing.MutableSequence"
        | "typing.Iterable"
        | "typing.Iterator"
        | "typing.Collection"
        | "typing.Deque"
        | "typing.DefaultDict"
        | "typing.OrderedDict"
        | "collections.OrderedDict"
        | "collections.defaultdict"
        | "collections.deque"
        | "collections.UserDict"
        | "collections.abc.Mapping"
        | "collections.abc.MutableMapping"
        | "collections.abc.Sequence"
        | "collections.abc.MutableSequence"
        | "collections.abc.Iterable"
        | "collections.abc.Iterator"
        | "collections.abc.Collection"
        | "enum.Enum"
        | "enum.IntEnum"
        | "enum.StrEnum"
        | "enum.Flag"
        | "enum.IntFlag" => Verdict::NotModule,
        _ => Verdict::Unknown,
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
            Ty::Instance(class, _) => f.write_str(&class.qualified_name()),
            Ty::Function(..) => f.write_str("function"),
            Ty::Union(members) => {
                for (index, member) in members.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{member}")?;
                }
                Ok(())
            }
        }
    }
}
