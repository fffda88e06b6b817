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
    normalize_typing, typing_form,
};
use crate::semantic::summary::{Binding, ClassId, FunctionSummary, ModuleId, ModuleSummary};
use crate::semantic::values::{Annotation, ValueExpr};

pub use crate::semantic::known::external_class_verdict;

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
    verdicts: FxHashMap<(ModuleId, ClassId), Verdict>,
    in_progress: FxHashSet<(ModuleId, ClassId)>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
                        );
                        (module_name.to_string(), Arc::new(summary))
                    })
                    .collect(),
            )
        }

        /// The type and verdict of `expression`, evaluated at the end of module `module`.
        fn infer(&self, module: &str, expression: &str) -> (String, Verdict) {
            let summary = self.0.get(module).expect("a module of the project").clone();
            let mut resolver = TypeResolver::new(self, summary);
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
        let mut resolver = TypeResolver::new(&first, old.clone());
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
