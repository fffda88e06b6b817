//! The names a block of statements binds, found by one walker for every kind of scope.
//!
//! A module body, a class body, a function body and a method body (for `self.x = ...`) all bind
//! names the same way: assignments and their unpacking, imports, `for`/`with`/`except`/`match`
//! targets, walrus expressions, `def` and `class`, in every nested block but not inside nested
//! functions, classes and lambdas, which are scopes of their own. [`walk_bindings`] finds them;
//! a [`BindingSink`] decides what each scope keeps.

use ruff_python_ast::name::Name;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Pattern, Stmt};

use crate::semantic::summary::{Binding, FunctionSummary};
use crate::semantic::values::{Annotation, ValueExpr};

/// What a scope does with the bindings the walker finds.
pub(crate) trait BindingSink {
    /// `name` is bound to `binding`.
    fn bind(&mut self, name: &Name, binding: Binding);

    /// An attribute is assigned (`self.x = value`, `self.x: T`, `for self.x in ...`).
    fn bind_attribute(&mut self, _attribute: &ast::ExprAttribute, _binding: Binding) {}

    /// A `class` statement: what its name is bound to. The walker does not enter its body.
    fn class(&mut self, _class: &ast::StmtClassDef) -> Binding {
        Binding::Unknown
    }

    /// A `def` statement: what its name is bound to. The walker does not enter its body.
    fn function(&mut self, function: &ast::StmtFunctionDef) -> Binding {
        Binding::Function(function_summary(function))
    }

    /// `from module import *`.
    fn star_import(&mut self, _module: &str, _level: u32) {}

    /// `global name` or `nonlocal name`: assignments here bind a name of an outer scope.
    fn declare_outside(&mut self, _name: &Name) {}
}

/// Reports every binding of `body`'s own scope to `sink`.
pub(crate) fn walk_bindings(body: &[Stmt], sink: &mut impl BindingSink) {
    let mut walker = Walker { sink };
    walker.visit_body(body);
}

/// Below this much stack left, the walk continues on a new segment: generated code nests
/// blocks and expressions thousands deep.
const STACK_RED_ZONE: usize = 64 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

struct Walker<'s, S> {
    sink: &'s mut S,
}

impl<S: BindingSink> Walker<'_, S> {
    /// Binds an assignment target; only a plain name (or attribute) gets the value itself,
    /// the names of an unpacking are unknown.
    fn target(&mut self, target: &Expr, value: Binding) {
        match target {
            Expr::Name(name) => self.sink.bind(&name.id, value),
            Expr::Attribute(attribute) => self.sink.bind_attribute(attribute, value),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for element in elts {
                    self.target(element, Binding::Unknown);
                }
            }
            Expr::Starred(starred) => self.target(&starred.value, Binding::Unknown),
            _ => {}
        }
    }

    fn import(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.id.as_str();
                    let (bound, module) = match &alias.asname {
                        // `import a.b as c` binds `c` to `a.b`.
                        Some(asname) => (asname.id.clone(), dotted),
                        // `import a.b` binds `a`.
                        None => {
                            let head = dotted.split('.').next().unwrap_or(dotted);
                            (Name::new(head), head)
                        }
                    };
                    self.sink.bind(
                        &bound,
                        Binding::Import {
                            module: module.into(),
                            level: 0,
                            member: None,
                        },
                    );
                }
            }
            Stmt::ImportFrom(import) => {
                let module: Box<str> = import.module.as_ref().map_or("", |m| m.id.as_str()).into();
                for alias in &import.names {
                    if alias.name.id.as_str() == "*" {
                        self.sink.star_import(&module, import.level);
                        continue;
                    }
                    let local = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.sink.bind(
                        &local.id,
                        Binding::Import {
                            module: module.clone(),
                            level: import.level,
                            member: Some(alias.name.id.clone()),
                        },
                    );
                }
            }
            _ => {}
        }
    }
}

impl<'a, S: BindingSink> Visitor<'a> for Walker<'_, S> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || match stmt {
            Stmt::FunctionDef(function) => {
                let binding = self.sink.function(function);
                self.sink.bind(&function.name.id, binding);
                // Decorators and defaults run in this scope; the body does not.
                for decorator in &function.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                for parameter in function.parameters.iter_non_variadic_params() {
                    if let Some(default) = &parameter.default {
                        self.visit_expr(default);
                    }
                }
            }
            Stmt::ClassDef(class) => {
                let binding = self.sink.class(class);
                self.sink.bind(&class.name.id, binding);
                for decorator in &class.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                if let Some(arguments) = &class.arguments {
                    self.visit_arguments(arguments);
                }
            }
            Stmt::Global(ast::StmtGlobal { names, .. })
            | Stmt::Nonlocal(ast::StmtNonlocal { names, .. }) => {
                for name in names {
                    self.sink.declare_outside(&name.id);
                }
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.import(stmt),
            Stmt::Assign(assign) => {
                let value = ValueExpr::from_expr(&assign.value);
                for target in &assign.targets {
                    self.target(target, Binding::Value(value.clone()));
                }
                self.visit_expr(&assign.value);
            }
            Stmt::AnnAssign(assign) => {
                let declared =
                    ValueExpr::Declared(Box::new(Annotation::from_expr(&assign.annotation)));
                self.target(&assign.target, Binding::Value(declared));
                if let Some(value) = &assign.value {
                    self.visit_expr(value);
                }
            }
            Stmt::AugAssign(assign) => {
                self.target(&assign.target, Binding::Unknown);
                self.visit_expr(&assign.value);
            }
            Stmt::TypeAlias(alias) => self.target(&alias.name, Binding::Unknown),
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    self.target(target, Binding::Unknown);
                }
            }
            Stmt::For(for_stmt) => {
                let element = ValueExpr::Iter(Box::new(ValueExpr::from_expr(&for_stmt.iter)));
                self.target(&for_stmt.target, Binding::Value(element));
                self.visit_expr(&for_stmt.iter);
                self.visit_body(&for_stmt.body);
                self.visit_body(&for_stmt.orelse);
            }
            Stmt::With(with) => {
                for item in &with.items {
                    if let Some(target) = &item.optional_vars {
                        self.target(target, Binding::Unknown);
                    }
                    self.visit_expr(&item.context_expr);
                }
                self.visit_body(&with.body);
            }
            _ => visitor::walk_stmt(self, stmt),
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || match expr {
            // A scope of its own, and it cannot hold a walrus that binds here.
            Expr::Lambda(_) => {}
            // Only a walrus binds in an expression (inside a comprehension too, it binds in the
            // enclosing scope).
            Expr::Named(named) => {
                self.target(
                    &named.target,
                    Binding::Value(ValueExpr::from_expr(&named.value)),
                );
                self.visit_expr(&named.value);
            }
            _ => visitor::walk_expr(self, expr),
        });
    }

    fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(inner) = handler;
        if let Some(name) = &inner.name {
            self.sink.bind(&name.id, Binding::Unknown);
        }
        visitor::walk_except_handler(self, handler);
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        match pattern {
            Pattern::MatchAs(ast::PatternMatchAs {
                name: Some(name), ..
            })
            | Pattern::MatchStar(ast::PatternMatchStar {
                name: Some(name), ..
            })
            | Pattern::MatchMapping(ast::PatternMatchMapping {
                rest: Some(name), ..
            }) => self.sink.bind(&name.id, Binding::Unknown),
            _ => {}
        }
        visitor::walk_pattern(self, pattern);
    }
}

/// One parameter of a function as it binds its name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parameter<'a> {
    pub name: &'a Name,
    pub annotation: Option<&'a Expr>,
    /// `*args` or `**kwargs`: whatever the annotation says, the name holds a tuple or dict.
    pub variadic: bool,
}

/// Every parameter of `function`, positional ones first, then keyword-only, then `*args` and
/// `**kwargs`.
pub(crate) fn parameters(function: &ast::StmtFunctionDef) -> impl Iterator<Item = Parameter<'_>> {
    let parameters = &function.parameters;
    let named = parameters
        .posonlyargs
        .iter()
        .chain(&parameters.args)
        .chain(&parameters.kwonlyargs)
        .map(|parameter| Parameter {
            name: &parameter.parameter.name.id,
            annotation: parameter.parameter.annotation.as_deref(),
            variadic: false,
        });
    let variadic = [&parameters.vararg, &parameters.kwarg]
        .into_iter()
        .flatten()
        .map(|parameter| Parameter {
            name: &parameter.name.id,
            annotation: parameter.annotation.as_deref(),
            variadic: true,
        });
    named.chain(variadic)
}

/// The first positional parameter (`self` or `cls` of a method).
pub(crate) fn first_parameter(function: &ast::StmtFunctionDef) -> Option<&Name> {
    let parameters = &function.parameters;
    parameters
        .posonlyargs
        .iter()
        .chain(&parameters.args)
        .next()
        .map(|parameter| &parameter.parameter.name.id)
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
