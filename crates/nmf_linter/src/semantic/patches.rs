//! Functions a file installs as some object's or class's `forward`:
//!
//! ```python
//! SegHead.forward = patched_forward
//! m.forward = types.MethodType(patched_forward, m)
//! setattr(m, "forward", patched_forward)
//! monkeypatch.setattr(m, "forward", patched_forward)
//! with patch.object(m, "forward", side_effect=patched_forward): ...
//! self.model.forward = self.catch_stop   # a method of the class, or of a subclass
//! ```
//!
//! Such a function continues the override chain exactly as a method named `forward` does, so
//! `Head.forward(self, x)` inside it is not a bypass of hooks.

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Stmt};
use rustc_hash::FxHashMap;

use crate::semantic::bindings::{BindingSink, SourceFacts, walk_bindings};
use crate::semantic::summary::{Binding, ForwardPatch};

/// Nested blocks deeper than this are not searched (generated code only).
const MAX_DEPTH: usize = 128;

/// Every `forward` installation in `body`, at any depth: in functions, methods and blocks.
pub(crate) fn find(body: &[Stmt]) -> Vec<ForwardPatch> {
    let mut finder = Finder {
        scopes: vec![imports_of(body)],
        found: Vec::new(),
    };
    finder.block(body, 0);
    finder.found
}

/// The names a scope binds by `import`: `(module, level, member)`.
type Imports = FxHashMap<Name, (Box<str>, u32, Option<Name>)>;

fn imports_of(body: &[Stmt]) -> Imports {
    struct ImportSink(Imports);
    impl BindingSink for ImportSink {
        fn bind(&mut self, name: &Name, binding: Binding) {
            if let Binding::Import {
                module,
                level,
                member,
            } = binding
            {
                self.0.insert(name.clone(), (module, level, member));
            }
        }
    }
    let mut sink = ImportSink(Imports::default());
    // Imports are statements: no need to walk expressions.
    let facts = SourceFacts {
        walrus: false,
        ..SourceFacts::UNKNOWN
    };
    walk_bindings(body, &mut sink, facts);
    sink.0
}

struct Finder {
    /// Import bindings of the enclosing scopes, innermost last.
    scopes: Vec<Imports>,
    found: Vec<ForwardPatch>,
}

impl Finder {
    fn block(&mut self, body: &[Stmt], depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::Assign(assign) => {
                    let installs = assign.targets.iter().any(|target| {
                        matches!(target, Expr::Attribute(attribute) if attribute.attr.id.as_str() == "forward")
                    });
                    if installs {
                        self.installed(&assign.value);
                    }
                    self.call_installs(&assign.value);
                }
                Stmt::Expr(expression) => self.call_installs(&expression.value),
                Stmt::FunctionDef(function) => {
                    for decorator in &function.decorator_list {
                        self.call_installs(&decorator.expression);
                    }
                    self.scopes.push(imports_of(&function.body));
                    self.block(&function.body, depth + 1);
                    self.scopes.pop();
                }
                Stmt::ClassDef(class) => self.block(&class.body, depth + 1),
                Stmt::If(if_stmt) => {
                    self.block(&if_stmt.body, depth + 1);
                    for clause in &if_stmt.elif_else_clauses {
                        self.block(&clause.body, depth + 1);
                    }
                }
                Stmt::For(for_stmt) => {
                    self.block(&for_stmt.body, depth + 1);
                    self.block(&for_stmt.orelse, depth + 1);
                }
                Stmt::While(while_stmt) => {
                    self.block(&while_stmt.body, depth + 1);
                    self.block(&while_stmt.orelse, depth + 1);
                }
                Stmt::With(with) => {
                    for item in &with.items {
                        self.call_installs(&item.context_expr);
                    }
                    self.block(&with.body, depth + 1);
                }
                Stmt::Try(try_stmt) => {
                    self.block(&try_stmt.body, depth + 1);
                    for handler in &try_stmt.handlers {
                        let ast::ExceptHandler::ExceptHandler(handler) = handler;
                        self.block(&handler.body, depth + 1);
                    }
                    self.block(&try_stmt.orelse, depth + 1);
                    self.block(&try_stmt.finalbody, depth + 1);
                }
                Stmt::Match(match_stmt) => {
                    for case in &match_stmt.cases {
                        self.block(&case.body, depth + 1);
                    }
                }
                _ => {}
            }
        }
    }

    /// Records what a call installs as a `forward`: `setattr(m, "forward", f)` (also
    /// `monkeypatch.setattr`), and `patch.object(m, "forward", f)` (or `new=f`,
    /// `side_effect=f`, also `mock.patch.object` and `mocker.patch.object`).
    fn call_installs(&mut self, expr: &Expr) {
        let Expr::Call(call) = expr else {
            return;
        };
        let names_forward = |expr: Option<&Expr>| matches!(expr, Some(Expr::StringLiteral(name)) if name.value.to_str() == "forward");
        let arguments = &call.arguments;
        match call.func.as_ref() {
            callee if last_name(callee) == Some("setattr") => {
                if let [_, attribute, value] = &*arguments.args
                    && names_forward(Some(attribute))
                {
                    self.installed(value);
                }
            }
            Expr::Attribute(attribute)
                if attribute.attr.id.as_str() == "object"
                    && last_name(&attribute.value) == Some("patch") =>
            {
                if !names_forward(arguments.args.get(1)) {
                    return;
                }
                let installed = arguments.args.get(2).or_else(|| {
                    ["new", "side_effect"]
                        .iter()
                        .find_map(|name| arguments.find_keyword(name).map(|k| &k.value))
                });
                if let Some(installed) = installed {
                    self.installed(installed);
                }
            }
            _ => {}
        }
    }

    /// Records the function that `value` installs, seen through `types.MethodType(f, obj)`,
    /// `functools.partial(f, obj)` and `f.__get__(obj)`.
    fn installed(&mut self, value: &Expr) {
        let function = match value {
            Expr::Call(call) => match call.func.as_ref() {
                Expr::Attribute(attribute) if attribute.attr.id.as_str() == "__get__" => {
                    attribute.value.as_ref()
                }
                callee if matches!(last_name(callee), Some("MethodType" | "partial")) => {
                    match call.arguments.args.first() {
                        Some(first) => first,
                        None => return,
                    }
                }
                _ => return,
            },
            other => other,
        };
        let patch = match function {
            // `f`, or `g` imported as `from m import f as g`: the function is `m.f`.
            Expr::Name(name) => match self.import_of(&name.id) {
                Some((module, level, member)) => ForwardPatch {
                    function: member.unwrap_or_else(|| name.id.clone()),
                    imported_from: Some((module, level)),
                    anywhere: false,
                },
                None => ForwardPatch {
                    function: name.id.clone(),
                    imported_from: None,
                    anywhere: false,
                },
            },
            // `module.function`, the module bound by `import m` or `from pkg import m`.
            Expr::Attribute(attribute) => match attribute.value.as_ref() {
                Expr::Name(root) => match self.import_of(&root.id) {
                    Some((module, level, member)) => {
                        let module = match member {
                            Some(member) if module.is_empty() => member.to_string().into(),
                            Some(member) => format!("{module}.{member}").into(),
                            None => module,
                        };
                        ForwardPatch {
                            function: attribute.attr.id.clone(),
                            imported_from: Some((module, level)),
                            anywhere: false,
                        }
                    }
                    // `self.catch_stop`: a method of the object's class, which may be defined
                    // in any file (a subclass's).
                    None => ForwardPatch {
                        function: attribute.attr.id.clone(),
                        imported_from: None,
                        anywhere: true,
                    },
                },
                _ => ForwardPatch {
                    function: attribute.attr.id.clone(),
                    imported_from: None,
                    anywhere: true,
                },
            },
            _ => return,
        };
        self.found.push(patch);
    }

    fn import_of(&self, name: &Name) -> Option<(Box<str>, u32, Option<Name>)> {
        self.scopes
            .iter()
            .rev()
            .find_map(|imports| imports.get(name).cloned())
    }
}

fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attribute) => Some(attribute.attr.id.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patches(source: &str) -> Vec<(String, Option<String>)> {
        let parsed = ruff_python_parser::parse_module(source).expect("valid");
        find(parsed.suite())
            .into_iter()
            .map(|patch| {
                (
                    patch.function.to_string(),
                    patch
                        .imported_from
                        .map(|(module, level)| format!("{level}{module}")),
                )
            })
            .collect()
    }

    #[test]
    fn every_way_of_installing_a_forward_is_found() {
        assert_eq!(
            patches(
                "import types\n\
                 from .heads import seg_forward\n\
                 from . import impl\n\
                 def local(self, x): ...\n\
                 Head.forward = local\n\
                 def install(m):\n    \
                     from pkg.patches import pose_forward\n    \
                     m.forward = types.MethodType(pose_forward, m)\n    \
                     setattr(m, 'forward', seg_forward)\n    \
                     m.forward = impl.other.__get__(m)\n    \
                     m.backward = local\n"
            ),
            [
                ("local".to_string(), None),
                ("pose_forward".to_string(), Some("0pkg.patches".to_string())),
                ("seg_forward".to_string(), Some("1heads".to_string())),
                ("other".to_string(), Some("1impl".to_string())),
            ]
        );
    }

    #[test]
    fn monkeypatch_mock_patches_and_methods_install_too() {
        assert_eq!(
            patches(
                "def test(m, monkeypatch):\n    \
                     monkeypatch.setattr(m, 'forward', spy)\n    \
                     with patch.object(m, 'forward', side_effect=failing):\n        \
                         pass\n    \
                     mocker.patch.object(m, 'forward', new=fake)\n    \
                     patch.object(m, 'forward', wraps=m.forward)\n\
                 @mock.patch.object(Net, 'forward', replaced)\n\
                 def test_decorated(): pass\n\
                 class Catcher:\n    \
                     def install(self, model):\n        \
                         model.forward = self.catch\n"
            ),
            [
                ("spy".to_string(), None),
                ("failing".to_string(), None),
                ("fake".to_string(), None),
                ("replaced".to_string(), None),
                ("catch".to_string(), None),
            ]
        );
    }
}
