//! Names bound inside one function of the checked file.
//!
//! Built only for functions that contain a `.forward(...)` call worth typing. Every name the
//! function binds is recorded, at worst as [`Binding::Unknown`], so that a local name is never
//! mistaken for a module-level one of the same spelling.

use ruff_python_ast::name::Name;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Pattern, Stmt};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::summary::{
    Binding, ClassId, bind_simple_statement, bind_target, first_parameter, function_summary,
    is_classmethod, is_staticmethod,
};
use crate::semantic::values::{Annotation, ValueExpr};

pub type BindingTable = FxHashMap<Name, Vec<Binding>>;

/// The bindings of `function`'s own scope. `method_of` is the class whose body defines the
/// function directly, which makes its first parameter `self` (or `cls`).
pub fn function_bindings(
    function: &ast::StmtFunctionDef,
    method_of: Option<ClassId>,
) -> BindingTable {
    let mut table = BindingTable::default();
    let parameters = &function.parameters;
    let self_parameter = method_of
        .filter(|_| !is_staticmethod(function))
        .and_then(|class| first_parameter(function).map(|name| (name, class)));
    for parameter in parameters
        .posonlyargs
        .iter()
        .chain(&parameters.args)
        .chain(&parameters.kwonlyargs)
    {
        let name = &parameter.parameter.name.id;
        let binding = match (self_parameter, &parameter.parameter.annotation) {
            (Some((self_name, class)), _) if self_name == name => Binding::SelfParameter {
                class,
                is_class: is_classmethod(function),
            },
            (_, Some(annotation)) => Binding::Value(ValueExpr::Declared(Box::new(
                Annotation::from_expr(annotation),
            ))),
            (_, None) => Binding::Unknown,
        };
        table.entry(name.clone()).or_default().push(binding);
    }
    for parameter in [&parameters.vararg, &parameters.kwarg]
        .into_iter()
        .flatten()
    {
        table
            .entry(parameter.name.id.clone())
            .or_default()
            .push(Binding::Unknown);
    }
    let mut collector = Collector {
        table,
        declared_outside: FxHashSet::default(),
        star_imports: Vec::new(),
    };
    for stmt in &function.body {
        collector.visit_stmt(stmt);
    }
    let Collector {
        mut table,
        declared_outside,
        star_imports,
    } = collector;
    // `global x` / `nonlocal x`: assignments here bind the outer name; look it up outside.
    for name in declared_outside {
        table.remove(&name);
    }
    if !star_imports.is_empty() {
        // `from m import *` in a function is a syntax error in Python 3; nothing to trust.
        table.clear();
    }
    table
}

/// The targets of a comprehension's `for` clauses, each an element of its iterable.
pub fn comprehension_bindings(generators: &[ast::Comprehension]) -> BindingTable {
    let mut table = BindingTable::default();
    for generator in generators {
        let element = ValueExpr::Iter(Box::new(ValueExpr::from_expr(&generator.iter)));
        bind_target(&mut table, &generator.target, Binding::Value(element));
    }
    table
}

/// A lambda's parameters, none of which carries a type.
pub fn lambda_bindings(lambda: &ast::ExprLambda) -> BindingTable {
    let mut table = BindingTable::default();
    if let Some(parameters) = &lambda.parameters {
        for parameter in parameters.iter() {
            table
                .entry(parameter.name().id.clone())
                .or_default()
                .push(Binding::Unknown);
        }
    }
    table
}

struct Collector {
    table: BindingTable,
    declared_outside: FxHashSet<Name>,
    star_imports: Vec<(Box<str>, u32)>,
}

impl Collector {
    fn unknown(&mut self, name: &Name) {
        self.table
            .entry(name.clone())
            .or_default()
            .push(Binding::Unknown);
    }
}

impl<'a> Visitor<'a> for Collector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        stacker::maybe_grow(64 * 1024, 4 * 1024 * 1024, || match stmt {
            Stmt::FunctionDef(function) => {
                self.table
                    .entry(function.name.id.clone())
                    .or_default()
                    .push(Binding::Function(function_summary(function)));
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
                self.unknown(&class.name.id);
                for decorator in &class.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                if let Some(arguments) = &class.arguments {
                    self.visit_arguments(arguments);
                }
            }
            Stmt::Global(ast::StmtGlobal { names, .. })
            | Stmt::Nonlocal(ast::StmtNonlocal { names, .. }) => {
                self.declared_outside
                    .extend(names.iter().map(|name| name.id.clone()));
            }
            Stmt::For(for_stmt) => {
                let element = ValueExpr::Iter(Box::new(ValueExpr::from_expr(&for_stmt.iter)));
                bind_target(&mut self.table, &for_stmt.target, Binding::Value(element));
                visitor::walk_stmt(self, stmt);
            }
            Stmt::With(with) => {
                for item in &with.items {
                    if let Some(target) = &item.optional_vars {
                        bind_target(&mut self.table, target, Binding::Unknown);
                    }
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    bind_target(&mut self.table, target, Binding::Unknown);
                }
            }
            Stmt::Import(_)
            | Stmt::ImportFrom(_)
            | Stmt::Assign(_)
            | Stmt::AnnAssign(_)
            | Stmt::AugAssign(_)
            | Stmt::TypeAlias(_) => {
                bind_simple_statement(&mut self.table, stmt, &mut self.star_imports);
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        stacker::maybe_grow(64 * 1024, 4 * 1024 * 1024, || match expr {
            // Their own scopes: only walrus targets inside comprehensions leak out, and those
            // are rare enough to record as unknown by walking on.
            Expr::Lambda(_) => {}
            Expr::Named(named) => {
                bind_target(
                    &mut self.table,
                    &named.target,
                    Binding::Value(ValueExpr::from_expr(&named.value)),
                );
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        });
    }

    fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(inner) = handler;
        if let Some(name) = &inner.name {
            self.unknown(&name.id);
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
            }) => self.unknown(&name.id),
            _ => {}
        }
        visitor::walk_pattern(self, pattern);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings_of_first_function(source: &str, method_of: Option<ClassId>) -> BindingTable {
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        let Some(Stmt::FunctionDef(function)) = parsed.suite().first() else {
            panic!("no function");
        };
        function_bindings(function, method_of)
    }

    #[test]
    fn every_local_binding_is_recorded() {
        let table = bindings_of_first_function(
            "def f(self, a: 'A', b, *args, **kwargs):\n    \
                 x = C()\n    \
                 for item in items: pass\n    \
                 with open() as handle: pass\n    \
                 try: pass\n    except E as error: pass\n    \
                 if (w := make()): pass\n    \
                 import torch.nn as nn\n    \
                 def inner(): local_to_inner = 1\n    \
                 match v:\n        case [first, *rest]: pass\n    \
                 global g\n    g = 1\n",
            Some(0),
        );
        let mut names: Vec<&str> = table.keys().map(Name::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "a", "args", "b", "error", "first", "handle", "inner", "item", "kwargs", "nn",
                "rest", "self", "w", "x"
            ]
        );
        assert_eq!(
            table["self"],
            [Binding::SelfParameter {
                class: 0,
                is_class: false
            }]
        );
        assert_eq!(table["b"], [Binding::Unknown]);
    }

    #[test]
    fn staticmethods_have_no_self() {
        let table = bindings_of_first_function("@staticmethod\ndef f(x):\n    pass\n", Some(0));
        assert_eq!(table["x"], [Binding::Unknown]);
    }
}
