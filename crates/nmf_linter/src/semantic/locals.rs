//! Names bound inside one function of the checked file.
//!
//! Built only for functions that contain a `.forward(...)` call worth typing. Every name the
//! function binds is recorded, at worst as [`Binding::Unknown`], so that a local name is never
//! mistaken for a module-level one of the same spelling.

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::bindings::{BindingSink, SourceFacts, walk_bindings};
use crate::semantic::functions::{self, FunctionScope, nested_functions, parameter_bindings};
use crate::semantic::pytest;
use crate::semantic::summary::{Binding, ClassId};
use crate::semantic::values::ValueExpr;

pub type BindingTable = FxHashMap<Name, Vec<Binding>>;

/// Where a function of the checked file is defined.
#[derive(Clone, Copy)]
pub struct FunctionPlace<'a> {
    /// The class whose body defines the function directly (which makes its first parameter
    /// `self` or `cls`), with its summary's id.
    pub class: Option<(ClassId, &'a ast::StmtClassDef)>,
    /// The file's dotted module name (pytest's test modules are told by it).
    pub module_name: Option<&'a str>,
    pub facts: SourceFacts,
}

/// The bindings of `function`'s own scope: its parameters (fixtures in a test or fixture),
/// and every name its body binds; the functions it defines are summarised with their bodies.
pub fn function_bindings(
    function: &ast::StmtFunctionDef,
    place: FunctionPlace<'_>,
) -> BindingTable {
    let mut sink = TableSink::default();
    let class_name = place.class.map(|(_, class)| class.name.id.as_str());
    let role = pytest::role(function, place.module_name, class_name);
    let class_decorators = place
        .class
        .into_iter()
        .flat_map(|(_, class)| class.decorator_list.iter());
    for (name, binding) in parameter_bindings(
        function,
        place.class.map(|(id, _)| id),
        role,
        class_decorators,
    ) {
        sink.bind(&name, binding);
    }
    walk_bindings(&function.body, &mut sink, place.facts);
    // Helpers defined here (`def make(): return Net()`): their returns may type a receiver.
    let nested = nested_functions(&function.body);
    if !nested.is_empty() {
        let enclosing: FxHashSet<Name> = sink.table.keys().cloned().collect();
        let scope = FunctionScope {
            class: None,
            module_name: place.module_name,
            facts: place.facts,
            lines: None,
        };
        for definition in nested {
            let full = functions::summary(definition, scope, &enclosing);
            if let Some(bindings) = sink.table.get_mut(&definition.name.id) {
                for binding in bindings {
                    if matches!(binding, Binding::Function(light) if light.start == full.start) {
                        *binding = Binding::Function(Box::new(full.clone()));
                    }
                }
            }
        }
    }
    let TableSink {
        mut table,
        declared_outside,
        has_star_import,
    } = sink;
    // `global x` / `nonlocal x`: assignments here bind the outer name; look it up outside.
    for name in declared_outside {
        table.remove(&name);
    }
    if has_star_import {
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
        match &generator.target {
            Expr::Name(name) => table
                .entry(name.id.clone())
                .or_default()
                .push(Binding::Value(element)),
            unpacked => {
                let mut names = FxHashSet::default();
                target_names(unpacked, &mut names);
                for name in names {
                    table.entry(name).or_default().push(Binding::Unknown);
                }
            }
        }
    }
    table
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

/// A function's scope: every name it binds, at worst as unknown.
#[derive(Default)]
struct TableSink {
    table: BindingTable,
    declared_outside: FxHashSet<Name>,
    has_star_import: bool,
}

impl BindingSink for TableSink {
    fn bind(&mut self, name: &Name, binding: Binding) {
        self.table.entry(name.clone()).or_default().push(binding);
    }

    fn star_import(&mut self, _module: &str, _level: u32) {
        self.has_star_import = true;
    }

    fn declare_outside(&mut self, name: &Name, _is_global: bool) {
        self.declared_outside.insert(name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_python_ast::Stmt;

    fn bindings_of_first_function(source: &str, method_of: Option<ClassId>) -> BindingTable {
        let parsed = ruff_python_parser::parse_module(&format!("class C:\n    pass\n{source}"))
            .expect("valid module");
        let [Stmt::ClassDef(class), Stmt::FunctionDef(function), ..] = &parsed.suite()[..] else {
            panic!("no function");
        };
        let place = FunctionPlace {
            class: method_of.map(|id| (id, class)),
            module_name: Some("m"),
            facts: SourceFacts::UNKNOWN,
        };
        function_bindings(function, place)
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
