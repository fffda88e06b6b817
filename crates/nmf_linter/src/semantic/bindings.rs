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
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::functions::light_summary;
use crate::semantic::summary::Binding;
use crate::semantic::values::{Annotation, ValueExpr};

/// What a scope does with the bindings the walker finds.
pub(crate) trait BindingSink {
    /// `name` is bound to `binding`.
    fn bind(&mut self, name: &Name, binding: Binding);

    /// An attribute is assigned (`self.x = value`, `self.x: T`, `for self.x in ...`).
    fn bind_attribute(&mut self, _attribute: &ast::ExprAttribute, _binding: Binding) {}

    /// An item is assigned (`sys.modules[__name__] = ...`).
    fn bind_subscript(&mut self, _subscript: &ast::ExprSubscript) {}

    /// A `class` statement: what its name is bound to. The walker does not enter its body.
    fn class(&mut self, _class: &ast::StmtClassDef) -> Binding {
        Binding::Unknown
    }

    /// A `def` statement: what its name is bound to. The walker does not enter its body.
    fn function(&mut self, function: &ast::StmtFunctionDef) -> Binding {
        Binding::Function(Box::new(light_summary(function)))
    }

    /// `from module import *`.
    fn star_import(&mut self, _module: &str, _level: u32) {}

    /// `global name` (`is_global`) or `nonlocal name`: assignments here bind a name of an outer
    /// scope.
    fn declare_outside(&mut self, _name: &Name, _is_global: bool) {}
}

/// Cheap facts about a file's text that let the walks skip what cannot be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFacts {
    /// The text has a `:=`: expressions may bind names, so they are walked.
    pub walrus: bool,
    /// The text may hold a `global` statement (see [`may_declare_global`]): functions may bind
    /// module names.
    pub global: bool,
    /// The text mentions `forward`: it may install a function as one.
    pub forward: bool,
    /// The text mentions `.module`, `"module"` or an unwrapping function: a function may return
    /// the module inside a wrapper (`m.module`, `getattr(m, "module")`, `unwrap_model(m)`).
    pub unwrap: bool,
    /// The text has `yield`: functions may be generators, so their expressions are walked.
    pub yields: bool,
}

impl SourceFacts {
    /// Nothing is known: everything is walked.
    pub const UNKNOWN: SourceFacts = SourceFacts {
        walrus: true,
        global: true,
        forward: true,
        unwrap: true,
        yields: true,
    };

    pub fn of(source: &str) -> Self {
        let has =
            |needle: &str| memchr::memmem::find(source.as_bytes(), needle.as_bytes()).is_some();
        // Identifiers may be spelled with characters that normalise to ASCII.
        let ascii = source.is_ascii();
        Self {
            walrus: has(":="),
            global: !ascii || may_declare_global(source.as_bytes()),
            forward: !ascii || has("forward"),
            unwrap: !ascii
                || has(".module")
                || has("\"module\"")
                || has("'module'")
                || has("unwrap")
                || has("de_parallel")
                || has("extract_model_from_parallel"),
            yields: !ascii || has("yield"),
        }
    }
}

/// Whether `source` (ASCII) may hold a `global` statement: the keyword where a statement
/// starts (after the indentation of a line, a `;` or a `:`), followed by a blank. The word
/// alone is in comments and docstrings of most large files ("global attention"), and a
/// `global` that is not there lets every function body of a summarised file be walked a third
/// time for nothing.
pub(crate) fn may_declare_global(source: &[u8]) -> bool {
    const KEYWORD: &[u8] = b"global";
    memchr::memmem::find_iter(source, KEYWORD).any(|start| {
        let before = source[..start]
            .iter()
            .rev()
            .find(|byte| !matches!(byte, b' ' | b'\t' | b'\x0c'));
        let after = source.get(start + KEYWORD.len());
        matches!(before, None | Some(b'\n' | b'\r' | b';' | b':'))
            && matches!(after, Some(b' ' | b'\t' | b'\x0c' | b'\\'))
    })
}

/// Reports every binding of `body`'s own scope to `sink`; expressions are walked for walrus
/// targets only when `facts` says there may be one.
pub(crate) fn walk_bindings(body: &[Stmt], sink: &mut impl BindingSink, facts: SourceFacts) {
    let mut walker = Walker {
        sink,
        expressions: facts.walrus,
    };
    walker.visit_body(body);
}

/// Below this much stack left, the walk continues on a new segment: generated code nests
/// blocks and expressions thousands deep.
const STACK_RED_ZONE: usize = 64 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

struct Walker<'s, S> {
    sink: &'s mut S,
    /// Walk expressions (for walrus targets).
    expressions: bool,
}

impl<S: BindingSink> Walker<'_, S> {
    /// Binds an assignment target: a name (or attribute) gets the value, the targets of an
    /// unpacking get the elements at their positions (`a, b = pair`), up to a starred one;
    /// from there on they are unknown.
    fn target(&mut self, target: &Expr, value: Binding) {
        match target {
            Expr::Name(name) => self.sink.bind(&name.id, value),
            Expr::Attribute(attribute) => self.sink.bind_attribute(attribute, value),
            Expr::Subscript(subscript) => self.sink.bind_subscript(subscript),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let mut value = match value {
                    Binding::Value(value) => Some(value),
                    _ => None,
                };
                for (index, element) in elts.iter().enumerate() {
                    if element.is_starred_expr() {
                        value = None;
                    }
                    let binding = match &value {
                        Some(value) => {
                            Binding::Value(ValueExpr::Unpack(Box::new(value.clone()), index))
                        }
                        None => Binding::Unknown,
                    };
                    self.target(element, binding);
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
            Stmt::Global(ast::StmtGlobal { names, .. }) => {
                for name in names {
                    self.sink.declare_outside(&name.id, true);
                }
            }
            Stmt::Nonlocal(ast::StmtNonlocal { names, .. }) => {
                for name in names {
                    self.sink.declare_outside(&name.id, false);
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
                        let entered =
                            ValueExpr::Enter(Box::new(ValueExpr::from_expr(&item.context_expr)));
                        self.target(target, Binding::Value(entered));
                    }
                    self.visit_expr(&item.context_expr);
                }
                self.visit_body(&with.body);
            }
            _ => visitor::walk_stmt(self, stmt),
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.expressions {
            return;
        }
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

/// The meaning of a function's own names for code that reads the function's values from
/// outside it (an instance attribute `self.x = y`, a global `g = y` under `global g`): a
/// parameter stands for its annotation, a local import for what it imports, any other local
/// name for an unknown value; only names the function does not bind refer to the module's.
pub(crate) struct Localiser {
    /// A method's first parameter, whose attributes instance attributes may read.
    self_name: Option<Name>,
    parameters: FxHashMap<Name, Option<Annotation>>,
    imports: FxHashMap<Name, Binding>,
    locals: FxHashSet<Name>,
}

impl Localiser {
    /// `bound` is every name the function's body binds, with how; `self_name` the first
    /// parameter of a method.
    pub(crate) fn new(
        function: &ast::StmtFunctionDef,
        bound: &[(Name, Binding)],
        self_name: Option<&Name>,
    ) -> Self {
        let parameters = parameters(function)
            .map(|parameter| {
                let annotation = parameter
                    .annotation
                    .filter(|_| !parameter.variadic)
                    .map(Annotation::from_expr);
                (parameter.name.clone(), annotation)
            })
            .collect();
        let mut imports: FxHashMap<Name, Binding> = FxHashMap::default();
        let mut locals = FxHashSet::default();
        for (name, binding) in bound {
            match binding {
                Binding::Import { .. } if !locals.contains(name) => {
                    if imports
                        .insert(name.clone(), binding.clone())
                        .is_some_and(|old| &old != binding)
                    {
                        imports.remove(name);
                        locals.insert(name.clone());
                    }
                }
                _ => {
                    imports.remove(name);
                    locals.insert(name.clone());
                }
            }
        }
        Self {
            self_name: self_name.cloned(),
            parameters,
            imports,
            locals,
        }
    }

    /// `value` with the function's names replaced by what they mean outside it.
    pub(crate) fn localise(&self, value: ValueExpr) -> ValueExpr {
        let boxed = |value: Box<ValueExpr>| Box::new(self.localise(*value));
        match value {
            ValueExpr::Name(name) => {
                if self.self_name.as_ref() == Some(&name) && !self.locals.contains(&name) {
                    return ValueExpr::SelfRef;
                }
                if let Some(annotation) = self.parameters.get(&name) {
                    return match annotation {
                        Some(annotation) => ValueExpr::Declared(Box::new(annotation.clone())),
                        None => ValueExpr::Unknown,
                    };
                }
                if let Some(Binding::Import {
                    module,
                    level,
                    member,
                }) = self.imports.get(&name)
                {
                    return ValueExpr::Imported {
                        module: module.clone(),
                        level: *level,
                        member: member.clone(),
                    };
                }
                if self.locals.contains(&name) {
                    ValueExpr::Unknown
                } else {
                    ValueExpr::Name(name)
                }
            }
            ValueExpr::Attribute(value, attribute) => ValueExpr::Attribute(boxed(value), attribute),
            ValueExpr::Call(callee, arguments) => ValueExpr::Call(
                boxed(callee),
                arguments
                    .into_iter()
                    .map(|argument| self.localise(argument))
                    .collect(),
            ),
            ValueExpr::Subscript(value) => ValueExpr::Subscript(boxed(value)),
            ValueExpr::Iter(value) => ValueExpr::Iter(boxed(value)),
            ValueExpr::Unpack(value, index) => ValueExpr::Unpack(boxed(value), index),
            ValueExpr::Enter(value) => ValueExpr::Enter(boxed(value)),
            ValueExpr::Collection(collection) => {
                let crate::semantic::values::Collection { kind, keys, values } = *collection;
                let all = |values: Vec<ValueExpr>| -> Vec<ValueExpr> {
                    values
                        .into_iter()
                        .map(|value| self.localise(value))
                        .collect()
                };
                ValueExpr::Collection(Box::new(crate::semantic::values::Collection {
                    kind,
                    keys: all(keys),
                    values: all(values),
                }))
            }
            other => other,
        }
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

/// What a function binds in the module's scope through `global` declarations, its nested
/// functions' included.
pub(crate) fn global_assignments(
    function: &ast::StmtFunctionDef,
    facts: SourceFacts,
) -> Vec<(Name, Binding)> {
    if !facts.global {
        return Vec::new();
    }
    struct GlobalSink {
        facts: SourceFacts,
        globals: FxHashSet<Name>,
        bound: Vec<(Name, Binding)>,
        nested: Vec<(Name, Binding)>,
    }
    impl BindingSink for GlobalSink {
        fn bind(&mut self, name: &Name, binding: Binding) {
            self.bound.push((name.clone(), binding));
        }
        fn function(&mut self, function: &ast::StmtFunctionDef) -> Binding {
            self.nested.extend(global_assignments(function, self.facts));
            Binding::Function(Box::new(light_summary(function)))
        }
        fn declare_outside(&mut self, name: &Name, is_global: bool) {
            if is_global {
                self.globals.insert(name.clone());
            }
        }
    }
    let mut sink = GlobalSink {
        facts,
        globals: FxHashSet::default(),
        bound: Vec::new(),
        nested: Vec::new(),
    };
    walk_bindings(&function.body, &mut sink, facts);
    let GlobalSink {
        globals,
        bound,
        mut nested,
        ..
    } = sink;
    let locals: Vec<(Name, Binding)> = bound
        .iter()
        .filter(|(name, _)| !globals.contains(name))
        .cloned()
        .collect();
    let localiser = Localiser::new(function, &locals, None);
    nested.extend(
        bound
            .into_iter()
            .filter(|(name, _)| globals.contains(name))
            .map(|(name, binding)| match binding {
                Binding::Value(value) => (name, Binding::Value(localiser.localise(value))),
                other => (name, other),
            }),
    );
    nested
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_statement_is_told_from_the_word() {
        for declares in [
            "global x\n",
            "def f():\n    global x\n",
            "def f():\n\tglobal  x, y\n",
            "def f(): global x\n",
            "def f():\n    y = 1; global x\n",
            "def f():\n    y = 1 ;\tglobal x\n",
            "def f():\n    global \\\n        x\n",
            "def f():\r\n    global\tx\r\n",
            "def f():\r    global x\r",
            "def f():\n    global\x0cx\n",
            "# global attention\ndef f():\n    global x\n",
        ] {
            assert!(may_declare_global(declares.as_bytes()), "{declares:?}");
            let parsed = ruff_python_parser::parse_module(declares).expect("valid module");
            assert!(parsed.errors().is_empty(), "{declares:?}");
        }
        for only_the_word in [
            "# uses global attention\n",
            "\"\"\"A global pooling layer.\"\"\"\n",
            "global_step = 0\n",
            "x = use_global\n",
            "x.global_pool(y)\n",
            "\"global\"\n",
            "",
        ] {
            assert!(
                !may_declare_global(only_the_word.as_bytes()),
                "{only_the_word:?}"
            );
        }
    }

    #[test]
    fn every_global_statement_the_parser_sees_is_spotted() {
        // Wherever the parser finds a `global` statement, the fact says there may be one.
        let sources = [
            "def f():\n    if a: global x\n",
            "class C:\n    def f(self):\n        while True: global x; x = 1\n",
            "def f():\n    try:\n        pass\n    except E:  global x\n",
        ];
        for source in sources {
            let parsed = ruff_python_parser::parse_module(source).expect("valid module");
            assert!(parsed.errors().is_empty());
            assert!(may_declare_global(source.as_bytes()), "{source:?}");
            assert!(SourceFacts::of(source).global);
        }
        assert!(!SourceFacts::of("# global\n").global);
        // Identifiers may be spelled with characters that normalise to ASCII: not looked at.
        assert!(SourceFacts::of("# ｇlobal\n").global);
    }
}
