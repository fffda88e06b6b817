//! What a Python file binds at module and class level, kept after its syntax tree is dropped.
//!
//! Type inference needs, for every file a receiver's type passes through, its imports, classes
//! (bases, attributes, method return types) and module-level values. A summary holds exactly
//! that, so a project of thousands of files can be indexed without keeping their syntax trees.

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::values::{Annotation, ValueExpr};

/// Index of a class in [`ModuleSummary::classes`].
pub type ClassId = u32;

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
    Function(FunctionSummary),
    /// `x = value`, `for x in value` (as [`ValueExpr::Iter`]), `x: T` (as [`ValueExpr::Declared`]).
    Value(ValueExpr),
    /// The first parameter of a method: the instance (or the class, for a classmethod).
    SelfParameter {
        class: ClassId,
        is_class: bool,
    },
    /// Bound in a way we do not follow: `with ... as x`, `except ... as x`, tuple unpacking, ...
    Unknown,
}

/// What calling or reading a function gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub returns: Option<Annotation>,
    /// Decorated with `@property` (or `@cached_property`): reading the attribute calls it.
    pub is_property: bool,
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
    /// `self.x = ...` and `self.x: T = ...` in any method.
    pub instance_attributes: FxHashMap<Name, Vec<ValueExpr>>,
}

/// What one file binds.
#[derive(Debug, Clone, Default)]
pub struct ModuleSummary {
    /// The dotted module name (`pkg.sub.mod`), when the file sits in a known package layout.
    pub name: Option<Box<str>>,
    /// `__init__.py`: relative imports resolve against the package itself.
    pub is_package: bool,
    pub globals: FxHashMap<Name, Vec<Binding>>,
    /// `from m import *`: names missing from `globals` may come from these modules.
    pub star_imports: Vec<(Box<str>, u32)>,
    pub classes: Vec<ClassSummary>,
}

impl ModuleSummary {
    pub fn build(body: &[Stmt], name: Option<Box<str>>, is_package: bool) -> Self {
        let mut builder = SummaryBuilder {
            summary: ModuleSummary {
                name,
                is_package,
                ..ModuleSummary::default()
            },
        };
        let mut globals = FxHashMap::default();
        builder.bind_block(body, &mut globals, BlockKind::Module, 0);
        builder.summary.globals = globals;
        builder.summary
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Module,
    Class(ClassId),
}

/// Statements nest rarely more than a handful of levels; deeper blocks are not summarised.
const MAX_BLOCK_DEPTH: usize = 64;

struct SummaryBuilder {
    summary: ModuleSummary,
}

impl SummaryBuilder {
    /// Records the bindings of a module or class body, descending into `if`/`try`/`with`/loops,
    /// whose bindings land in the same scope.
    fn bind_block(
        &mut self,
        body: &[Stmt],
        scope: &mut FxHashMap<Name, Vec<Binding>>,
        kind: BlockKind,
        depth: usize,
    ) {
        if depth > MAX_BLOCK_DEPTH {
            return;
        }
        for stmt in body {
            self.bind_stmt(stmt, scope, kind, depth);
        }
    }

    fn bind_stmt(
        &mut self,
        stmt: &Stmt,
        scope: &mut FxHashMap<Name, Vec<Binding>>,
        kind: BlockKind,
        depth: usize,
    ) {
        match stmt {
            Stmt::ClassDef(class_def) => {
                let id = self.add_class(class_def, depth);
                bind(scope, &class_def.name.id, Binding::Class(id));
            }
            Stmt::FunctionDef(function) => {
                bind(
                    scope,
                    &function.name.id,
                    Binding::Function(function_summary(function)),
                );
                if let BlockKind::Class(class) = kind {
                    self.collect_instance_attributes(class, function);
                }
            }
            Stmt::If(_) | Stmt::While(_) | Stmt::Match(_) => {}
            Stmt::Try(try_stmt) => {
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(name) = &handler.name {
                        bind(scope, &name.id, Binding::Unknown);
                    }
                }
            }
            Stmt::With(with) => {
                for item in &with.items {
                    if let Some(target) = &item.optional_vars {
                        bind_target(scope, target, Binding::Unknown);
                    }
                }
            }
            Stmt::For(for_stmt) => {
                let element = ValueExpr::Iter(Box::new(ValueExpr::from_expr(&for_stmt.iter)));
                bind_target(scope, &for_stmt.target, Binding::Value(element));
            }
            other => bind_simple_statement(scope, other, &mut self.summary.star_imports),
        }
        // Names bound in nested blocks land in the same scope.
        for block in child_blocks(stmt) {
            self.bind_block(block, scope, kind, depth + 1);
        }
    }

    fn add_class(&mut self, class_def: &ast::StmtClassDef, depth: usize) -> ClassId {
        let id = ClassId::try_from(self.summary.classes.len()).unwrap_or(ClassId::MAX);
        self.summary.classes.push(ClassSummary {
            name: class_def.name.id.clone(),
            start: class_def.start(),
            bases: class_def.bases().iter().map(ValueExpr::from_base).collect(),
            body: FxHashMap::default(),
            instance_attributes: FxHashMap::default(),
        });
        let mut body = FxHashMap::default();
        self.bind_block(&class_def.body, &mut body, BlockKind::Class(id), depth + 1);
        if let Some(class) = self.summary.classes.get_mut(id as usize) {
            class.body = body;
        }
        id
    }

    /// Records `self.x = value` and `self.x: T` anywhere in a method's own body.
    fn collect_instance_attributes(&mut self, class: ClassId, method: &ast::StmtFunctionDef) {
        let Some(self_name) = first_parameter(method) else {
            return;
        };
        if is_staticmethod(method) {
            return;
        }
        let parameters = parameter_annotations(method);
        let mut found = Vec::new();
        let mut locals = FxHashSet::default();
        collect_self_assignments(&method.body, self_name, &mut found, &mut locals, 0);
        // A method's locals are not visible to other files' inference: a parameter stands for
        // its annotation, any other local name for an unknown value; only names the method
        // does not bind refer to the module's.
        let localise = |value: ValueExpr| -> ValueExpr {
            let ValueExpr::Name(name) = &value else {
                return value;
            };
            match parameters.get(name) {
                Some(Some(annotation)) => ValueExpr::Declared(Box::new(annotation.clone())),
                Some(None) => ValueExpr::Unknown,
                None if name == self_name || locals.contains(name) => ValueExpr::Unknown,
                None => value,
            }
        };
        if let Some(class) = self.summary.classes.get_mut(class as usize) {
            for (attribute, value) in found {
                let value = localise(value);
                class
                    .instance_attributes
                    .entry(attribute)
                    .or_default()
                    .push(value);
            }
        }
    }
}

/// The statement blocks nested in a compound statement, in source order; a function's or
/// class's body is a scope of its own and is not one of them.
fn child_blocks(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::If(if_stmt) => std::iter::once(&if_stmt.body[..])
            .chain(
                if_stmt
                    .elif_else_clauses
                    .iter()
                    .map(|clause| &clause.body[..]),
            )
            .collect(),
        Stmt::Try(try_stmt) => std::iter::once(&try_stmt.body[..])
            .chain(try_stmt.handlers.iter().map(|handler| {
                let ast::ExceptHandler::ExceptHandler(handler) = handler;
                &handler.body[..]
            }))
            .chain([&try_stmt.orelse[..], &try_stmt.finalbody[..]])
            .collect(),
        Stmt::For(for_stmt) => vec![&for_stmt.body, &for_stmt.orelse],
        Stmt::While(while_stmt) => vec![&while_stmt.body, &while_stmt.orelse],
        Stmt::With(with) => vec![&with.body],
        Stmt::Match(match_stmt) => match_stmt.cases.iter().map(|case| &case.body[..]).collect(),
        _ => Vec::new(),
    }
}

fn bind(scope: &mut FxHashMap<Name, Vec<Binding>>, name: &Name, binding: Binding) {
    scope.entry(name.clone()).or_default().push(binding);
}

/// Binds every name in an assignment target; only a plain name gets the value itself.
pub(crate) fn bind_target(
    scope: &mut FxHashMap<Name, Vec<Binding>>,
    target: &Expr,
    value: Binding,
) {
    match target {
        Expr::Name(name) => bind(scope, &name.id, value),
        unpacked => {
            let mut names = FxHashSet::default();
            target_names(unpacked, &mut names);
            for name in &names {
                bind(scope, name, Binding::Unknown);
            }
        }
    }
}

/// Bindings of statements that hold no nested block: imports, assignments, `global`, `del`.
pub(crate) fn bind_simple_statement(
    scope: &mut FxHashMap<Name, Vec<Binding>>,
    stmt: &Stmt,
    star_imports: &mut Vec<(Box<str>, u32)>,
) {
    match stmt {
        Stmt::Import(import) => {
            for alias in &import.names {
                let dotted = alias.name.id.as_str();
                match &alias.asname {
                    Some(asname) => bind(
                        scope,
                        &asname.id,
                        Binding::Import {
                            module: dotted.into(),
                            level: 0,
                            member: None,
                        },
                    ),
                    None => {
                        let head = dotted.split('.').next().unwrap_or(dotted);
                        bind(
                            scope,
                            &Name::new(head),
                            Binding::Import {
                                module: head.into(),
                                level: 0,
                                member: None,
                            },
                        );
                    }
                }
            }
        }
        Stmt::ImportFrom(import) => {
            let module: Box<str> = import.module.as_ref().map_or("", |m| m.id.as_str()).into();
            for alias in &import.names {
                if alias.name.id.as_str() == "*" {
                    star_imports.push((module.clone(), import.level));
                    continue;
                }
                let local = alias.asname.as_ref().unwrap_or(&alias.name);
                bind(
                    scope,
                    &local.id,
                    Binding::Import {
                        module: module.clone(),
                        level: import.level,
                        member: Some(alias.name.id.clone()),
                    },
                );
            }
        }
        Stmt::Assign(assign) => {
            let value = ValueExpr::from_expr(&assign.value);
            for target in &assign.targets {
                bind_target(scope, target, Binding::Value(value.clone()));
            }
        }
        Stmt::AnnAssign(assign) => {
            let declared = ValueExpr::Declared(Box::new(Annotation::from_expr(&assign.annotation)));
            bind_target(scope, &assign.target, Binding::Value(declared));
        }
        Stmt::AugAssign(assign) => bind_target(scope, &assign.target, Binding::Unknown),
        Stmt::TypeAlias(alias) => bind_target(scope, &alias.name, Binding::Unknown),
        Stmt::Global(_) | Stmt::Nonlocal(_) | Stmt::Delete(_) => {}
        _ => {}
    }
}

pub(crate) fn function_summary(function: &ast::StmtFunctionDef) -> FunctionSummary {
    let is_property = function.decorator_list.iter().any(|decorator| {
        matches!(
            ValueExpr::dotted(&decorator.expression)
                .and_then(|d| d.display())
                .as_deref(),
            Some(
                "property"
                    | "functools.cached_property"
                    | "cached_property"
                    | "abc.abstractproperty"
                    | "abstractproperty"
            )
        )
    });
    FunctionSummary {
        returns: function.returns.as_deref().map(Annotation::from_expr),
        is_property,
    }
}

pub(crate) fn first_parameter(function: &ast::StmtFunctionDef) -> Option<&Name> {
    let parameters = &function.parameters;
    parameters
        .posonlyargs
        .iter()
        .chain(&parameters.args)
        .next()
        .map(|parameter| &parameter.parameter.name.id)
}

fn has_decorator(function: &ast::StmtFunctionDef, wanted: &str) -> bool {
    function.decorator_list.iter().any(|decorator| {
        ValueExpr::dotted(&decorator.expression)
            .and_then(|d| d.display())
            .is_some_and(|name| name == wanted || name.ends_with(&format!(".{wanted}")))
    })
}

pub(crate) fn is_staticmethod(function: &ast::StmtFunctionDef) -> bool {
    has_decorator(function, "staticmethod")
}

pub(crate) fn is_classmethod(function: &ast::StmtFunctionDef) -> bool {
    has_decorator(function, "classmethod")
}

/// Each parameter's annotation (or `None`), so that `self.x = x` can take `x`'s declared type.
fn parameter_annotations(function: &ast::StmtFunctionDef) -> FxHashMap<Name, Option<Annotation>> {
    let parameters = &function.parameters;
    let mut annotations = FxHashMap::default();
    for parameter in parameters
        .posonlyargs
        .iter()
        .chain(&parameters.args)
        .chain(&parameters.kwonlyargs)
    {
        annotations.insert(
            parameter.parameter.name.id.clone(),
            parameter
                .parameter
                .annotation
                .as_deref()
                .map(Annotation::from_expr),
        );
    }
    for parameter in [&parameters.vararg, &parameters.kwarg]
        .into_iter()
        .flatten()
    {
        annotations.insert(parameter.name.id.clone(), None);
    }
    annotations
}

/// Records `self.x = value`, `self.x: T` and the names the method binds itself, through every
/// nested block of the method's own body.
fn collect_self_assignments(
    body: &[Stmt],
    self_name: &Name,
    found: &mut Vec<(Name, ValueExpr)>,
    locals: &mut FxHashSet<Name>,
    depth: usize,
) {
    if depth > MAX_BLOCK_DEPTH {
        return;
    }
    let self_attribute = |target: &Expr| -> Option<Name> {
        let Expr::Attribute(attribute) = target else {
            return None;
        };
        match attribute.value.as_ref() {
            Expr::Name(name) if &name.id == self_name => Some(attribute.attr.id.clone()),
            _ => None,
        }
    };
    for stmt in body {
        match stmt {
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    target_names(target, locals);
                    if let Some(attribute) = self_attribute(target) {
                        found.push((attribute, ValueExpr::from_expr(&assign.value)));
                    } else if let Expr::Tuple(tuple) = target {
                        for element in &tuple.elts {
                            if let Some(attribute) = self_attribute(element) {
                                found.push((attribute, ValueExpr::Unknown));
                            }
                        }
                    }
                }
            }
            Stmt::AnnAssign(assign) => {
                target_names(&assign.target, locals);
                if let Some(attribute) = self_attribute(&assign.target) {
                    let declared =
                        ValueExpr::Declared(Box::new(Annotation::from_expr(&assign.annotation)));
                    found.push((attribute, declared));
                }
            }
            Stmt::AugAssign(assign) => {
                target_names(&assign.target, locals);
                if let Some(attribute) = self_attribute(&assign.target) {
                    found.push((attribute, ValueExpr::Unknown));
                }
            }
            Stmt::FunctionDef(ast::StmtFunctionDef { name, .. })
            | Stmt::ClassDef(ast::StmtClassDef { name, .. }) => {
                locals.insert(name.id.clone());
            }
            Stmt::Import(ast::StmtImport { names, .. })
            | Stmt::ImportFrom(ast::StmtImportFrom { names, .. }) => {
                for alias in names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).id.as_str();
                    locals.insert(Name::new(bound.split('.').next().unwrap_or(bound)));
                }
            }
            compound => {
                match compound {
                    Stmt::For(for_stmt) => target_names(&for_stmt.target, locals),
                    Stmt::With(with) => {
                        for item in &with.items {
                            if let Some(target) = &item.optional_vars {
                                target_names(target, locals);
                            }
                        }
                    }
                    Stmt::Try(try_stmt) => {
                        for handler in &try_stmt.handlers {
                            let ast::ExceptHandler::ExceptHandler(handler) = handler;
                            if let Some(name) = &handler.name {
                                locals.insert(name.id.clone());
                            }
                        }
                    }
                    _ => {}
                }
                for block in child_blocks(compound) {
                    collect_self_assignments(block, self_name, found, locals, depth + 1);
                }
            }
        }
    }
}

/// The names an assignment target binds, however deeply it unpacks.
fn target_names(target: &Expr, names: &mut FxHashSet<Name>) {
    let mut pending = vec![target];
    while let Some(target) = pending.pop() {
        match target {
            Expr::Name(name) => {
                names.insert(name.id.clone());
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                pending.extend(elts.iter());
            }
            Expr::Starred(starred) => pending.push(&starred.value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarise(source: &str, name: &str, is_package: bool) -> ModuleSummary {
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        ModuleSummary::build(parsed.suite(), Some(name.into()), is_package)
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
            [ValueExpr::Call(Box::new(ValueExpr::Name(Name::new(
                "Extra"
            ))))]
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
