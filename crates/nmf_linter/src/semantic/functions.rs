//! Summaries of functions: how they bind their parameters, what their decorators make of a
//! call, and, when nobody annotated the return type, what their bodies give back.
//!
//! A body is reduced to the values of its `return`s and `yield`s and the bindings of the
//! function's own names those values read (transitively), so that a project's files can be
//! summarised without keeping their syntax trees and a return type can still be inferred,
//! lazily, when a receiver's type leads to the function.

use std::sync::Arc;

use ruff_python_ast::name::Name;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::bindings::{
    BindingSink, SourceFacts, first_parameter, is_classmethod, is_staticmethod, parameters,
    walk_bindings,
};
use crate::semantic::pytest::{self, Role};
use crate::semantic::summary::{
    Binding, ClassId, Decoration, FixtureSpec, FunctionBody, FunctionKind, FunctionSummary,
};
use crate::semantic::values::{Annotation, Collection, ValueExpr};

/// Bodies keep at most this many `return`s and `yield`s; a function with more gives an
/// unknown value among them.
const MAX_VALUES: usize = 64;
/// Nested blocks deeper than this are not searched for `return`s (generated code only).
const MAX_DEPTH: usize = 128;

/// Where a function is defined, for what its parameters are.
#[derive(Clone, Copy)]
pub(crate) struct FunctionScope<'a> {
    /// The class whose body defines the function directly (it is a method), with its name.
    pub class: Option<(ClassId, &'a Name)>,
    /// The dotted name of the module, which tells pytest's test modules.
    pub module_name: Option<&'a str>,
    pub facts: SourceFacts,
    /// The module's source, for the line of a fixture shown to users.
    pub lines: Option<&'a Lines<'a>>,
}

/// Line numbers of a source, counted on first use.
pub(crate) struct Lines<'a> {
    source: &'a str,
    index: std::cell::OnceCell<ruff_source_file::LineIndex>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Self {
            source,
            index: std::cell::OnceCell::new(),
        }
    }

    fn line(&self, offset: TextSize) -> u32 {
        let index = self
            .index
            .get_or_init(|| ruff_source_file::LineIndex::from_source_text(self.source));
        u32::try_from(index.line_index(offset).get()).unwrap_or(u32::MAX)
    }
}

/// Decorated with `@property` (or `@cached_property`): reading the attribute calls it.
pub(crate) fn is_property(function: &ast::StmtFunctionDef) -> bool {
    function.decorator_list.iter().any(|decorator| {
        matches!(
            decorator_name(&decorator.expression).as_deref(),
            Some(
                "property"
                    | "functools.cached_property"
                    | "cached_property"
                    | "abc.abstractproperty"
                    | "abstractproperty"
            )
        )
    })
}

/// What calling or reading `function` gives, without its body: for functions nothing asks
/// about (nested in a method's body, say).
pub(crate) fn light_summary(function: &ast::StmtFunctionDef) -> FunctionSummary {
    let is_property = is_property(function);
    let kind = if is_staticmethod(function) {
        FunctionKind::Static
    } else if is_classmethod(function) {
        FunctionKind::Class
    } else {
        FunctionKind::Instance
    };
    FunctionSummary {
        name: function.name.id.clone(),
        start: function.start(),
        returns: function.returns.as_deref().map(Annotation::from_expr),
        is_property,
        kind,
        decoration: decoration(function, None),
        body: None,
        body_deferred: false,
        // Filled in by module and class scopes, for other files' calls (see `ScopeSink`).
        unwraps_argument: false,
        without_grad: function
            .decorator_list
            .iter()
            .any(|decorator| crate::semantic::wrap::names::is_without_grad(&decorator.expression)),
    }
}

/// What calling or reading `function` gives, with what its body returns and yields when it
/// has no return annotation. `enclosing` holds the names the functions around it bind: a
/// nested function reads them from its closure, not from the module.
pub(crate) fn summary(
    function: &ast::StmtFunctionDef,
    scope: FunctionScope<'_>,
    enclosing: &FxHashSet<Name>,
) -> FunctionSummary {
    summary_of_walked(function, scope, enclosing, None)
}

/// [`summary`], with the walk of the function's body already made (`walked`, from
/// [`BodySink::walk`] with the same facts) when the caller needed it too.
pub(crate) fn summary_of_walked(
    function: &ast::StmtFunctionDef,
    scope: FunctionScope<'_>,
    enclosing: &FxHashSet<Name>,
    walked: Option<BodySink>,
) -> FunctionSummary {
    let (mut summary, role) = summary_without_body(function, scope);
    if summary.body_deferred {
        summary.body_deferred = false;
        summary.body = body(function, scope, role, enclosing, walked).map(Arc::new);
    }
    summary
}

/// [`summary`] of a function of a module or class scope, its body left for later: marked
/// [`FunctionSummary::body_deferred`] when [`summary`] would summarise it. With the function's
/// pytest role, which the body's summary needs.
pub(crate) fn summary_without_body(
    function: &ast::StmtFunctionDef,
    scope: FunctionScope<'_>,
) -> (FunctionSummary, Role) {
    let mut summary = light_summary(function);
    summary.decoration = decoration(function, scope.lines);
    let role = pytest::role(
        function,
        scope.module_name,
        scope.class.map(|(_, name)| name.as_str()),
    );
    // Nobody calls a test; an annotation says what a call returns.
    let wanted = role != Role::Test
        && (summary.returns.is_none()
            || matches!(
                summary.decoration,
                Decoration::Fixture(_) | Decoration::ContextManager
            ));
    summary.body_deferred = wanted && !matches!(summary.decoration, Decoration::Opaque);
    (summary, role)
}

/// What the decorators make of a call of `function`.
fn decoration(function: &ast::StmtFunctionDef, lines: Option<&Lines<'_>>) -> Decoration {
    let mut decoration = Decoration::Transparent;
    for decorator in &function.decorator_list {
        let Some(name) = decorator_name(&decorator.expression) else {
            return Decoration::Opaque;
        };
        let last = name.rsplit('.').next().unwrap_or(&name);
        if name.ends_with("fixture") && (name == "fixture" || name.ends_with(".fixture")) {
            decoration = Decoration::Fixture(Box::new(FixtureSpec {
                name: pytest::fixture_name(function, decorator),
                line: lines.map_or(0, |lines| lines.line(function.name.start())),
            }));
        } else if matches!(last, "contextmanager" | "asynccontextmanager") {
            decoration = Decoration::ContextManager;
        } else if !keeps_returns(&name, last) {
            return Decoration::Opaque;
        }
    }
    decoration
}

/// Decorators that return the function they decorate, or one that returns what it does.
fn keeps_returns(name: &str, last: &str) -> bool {
    matches!(
        last,
        "staticmethod"
            | "classmethod"
            | "property"
            | "cached_property"
            | "abstractmethod"
            | "abstractproperty"
            | "cache"
            | "lru_cache"
            | "wraps"
            | "no_grad"
            | "inference_mode"
            | "enable_grad"
            | "final"
            | "override"
    ) || name.starts_with("pytest.mark.")
        || name.starts_with("mark.")
        || matches!(
            name,
            "torch.jit.ignore" | "torch.jit.unused" | "torch.jit.export" | "jit.ignore"
        )
}

/// `a.b.c` of a decorator, or of the callee when the decorator is a call (`lru_cache(8)`).
fn decorator_name(expr: &Expr) -> Option<String> {
    let callee = match expr {
        Expr::Call(call) => call.func.as_ref(),
        other => other,
    };
    ValueExpr::dotted(callee).and_then(|value| value.display())
}

/// What each parameter of `function` is bound to: a method's first parameter to the instance
/// (or class), an annotated one to its annotation, one pytest fills (in a test or fixture,
/// unless `@pytest.mark.parametrize` fills it) to the fixture of its name, others to unknown.
/// `class_decorators` are those of the class defining a method (a parametrized test class).
pub(crate) fn parameter_bindings<'d>(
    function: &'d ast::StmtFunctionDef,
    class: Option<ClassId>,
    role: Role,
    class_decorators: impl Iterator<Item = &'d ast::Decorator>,
) -> Vec<(Name, Binding)> {
    let self_parameter = class
        .filter(|_| !is_staticmethod(function))
        .and_then(|class| first_parameter(function).map(|name| (name, class)));
    let parametrized = match role {
        Role::Test => pytest::parametrized(function.decorator_list.iter().chain(class_decorators)),
        Role::Fixture | Role::Plain => Some(Vec::new()),
    };
    let takes_fixtures = role != Role::Plain && parametrized.is_some();
    let parametrized = parametrized.unwrap_or_default();
    let mut bound = Vec::new();
    for parameter in parameters(function) {
        let binding = match (self_parameter, parameter.annotation) {
            (Some((self_name, class)), _) if self_name == parameter.name => {
                Binding::SelfParameter {
                    class,
                    is_class: is_classmethod(function),
                }
            }
            (_, Some(annotation)) if !parameter.variadic => Binding::Value(ValueExpr::Declared(
                Box::new(Annotation::from_expr(annotation)),
            )),
            _ if parameter.variadic => Binding::Unknown,
            _ => match parametrized.iter().find(|(name, _)| name == parameter.name) {
                Some((_, binding)) => binding.clone(),
                None if takes_fixtures => Binding::Fixture {
                    name: parameter.name.clone(),
                    class,
                    requester: (role == Role::Fixture).then(|| function.start()),
                },
                None => Binding::Unknown,
            },
        };
        bound.push((parameter.name.clone(), binding));
    }
    bound
}

/// The names a function's body binds, and those it declares `global` or `nonlocal`; for a
/// method asked for ([`BodySink::of_method`]), also what it assigns to attributes of its first
/// parameter, so that one walk of a method's body serves both its summary and its class's
/// instance attributes.
#[derive(Default)]
pub(crate) struct BodySink {
    pub bound: Vec<(Name, Binding)>,
    pub outside: FxHashSet<Name>,
    pub star_import: bool,
    /// The method's first parameter (`self`), when its attributes are collected.
    self_name: Option<Name>,
    /// `self.x = value`: the attribute and the value, as written in the method.
    pub self_assigned: Vec<(Name, ValueExpr)>,
}

impl BodySink {
    /// A sink that also collects what the method assigns to attributes of `self_name`.
    pub(crate) fn of_method(self_name: &Name) -> Self {
        Self {
            self_name: Some(self_name.clone()),
            ..Self::default()
        }
    }

    /// The walk of `function`'s body, for [`summary`] to reuse.
    pub(crate) fn walk(mut self, function: &ast::StmtFunctionDef, facts: SourceFacts) -> Self {
        walk_bindings(&function.body, &mut self, facts);
        self
    }
}

impl BindingSink for BodySink {
    fn bind(&mut self, name: &Name, binding: Binding) {
        self.bound.push((name.clone(), binding));
    }

    fn bind_attribute(&mut self, attribute: &ast::ExprAttribute, binding: Binding) {
        if let Some(self_name) = &self.self_name
            && matches!(attribute.value.as_ref(), Expr::Name(name) if &name.id == self_name)
        {
            let value = match binding {
                Binding::Value(value) => value,
                _ => ValueExpr::Unknown,
            };
            self.self_assigned.push((attribute.attr.id.clone(), value));
        }
    }

    fn star_import(&mut self, _module: &str, _level: u32) {
        self.star_import = true;
    }

    fn declare_outside(&mut self, name: &Name, _is_global: bool) {
        self.outside.insert(name.clone());
    }
}

/// What `function`'s body returns and yields, and the bindings of its names they read.
/// `None` when nothing can be trusted (`from m import *` inside a function).
fn body(
    function: &ast::StmtFunctionDef,
    scope: FunctionScope<'_>,
    role: Role,
    enclosing: &FxHashSet<Name>,
    walked: Option<BodySink>,
) -> Option<FunctionBody> {
    let mut sink = walked.unwrap_or_else(|| BodySink::default().walk(function, scope.facts));
    if sink.star_import {
        return None;
    }
    let mut values = Returned::default();
    values.visit_body_at(&function.body, 0, scope.facts.yields);
    let mut returns = values.returns;
    let mut yields = values.yields;
    if can_fall_off(&function.body) {
        returns.push(ValueExpr::None);
    }
    let parameters = parameter_bindings(
        function,
        scope.class.map(|(id, _)| id),
        role,
        std::iter::empty(),
    );
    // `request.param` in a parametrized fixture is one of its `params`.
    let fixture = pytest::fixture_decorator(function);
    if let Some(params) = fixture.and_then(pytest::fixture_params) {
        let request = Name::new_static("request");
        for value in returns.iter_mut().chain(yields.iter_mut()) {
            replace_request_param(value, &request, &params);
        }
        for (_, binding) in &mut sink.bound {
            if let Binding::Value(value) = binding {
                replace_request_param(value, &request, &params);
            }
        }
    }
    let mut own: FxHashMap<&Name, Vec<&Binding>> = FxHashMap::default();
    for (name, binding) in parameters.iter().chain(&sink.bound) {
        own.entry(name).or_default().push(binding);
    }
    let mut locals: FxHashMap<Name, Vec<Binding>> = FxHashMap::default();
    let mut pending: Vec<Name> = Vec::new();
    for value in returns.iter().chain(&yields) {
        names_read(value, &mut pending);
    }
    // The functions nested here that the values read, summarised with their bodies.
    let mut nested_wanted: FxHashSet<TextSize> = FxHashSet::default();
    while let Some(name) = pending.pop() {
        if locals.contains_key(&name) || sink.outside.contains(&name) {
            continue;
        }
        let Some(bindings) = own.get(&name) else {
            if enclosing.contains(&name) {
                // A closure's variable: what the enclosing call bound is not known here.
                locals.insert(name, vec![Binding::Unknown]);
            }
            continue;
        };
        for binding in bindings {
            match binding {
                Binding::Value(value) => names_read(value, &mut pending),
                Binding::Function(nested) => {
                    nested_wanted.insert(nested.start);
                }
                _ => {}
            }
        }
        locals.insert(
            name,
            bindings.iter().map(|&binding| binding.clone()).collect(),
        );
    }
    if !nested_wanted.is_empty() {
        let mut closure: FxHashSet<Name> = enclosing.clone();
        closure.extend(own.keys().map(|&name| name.clone()));
        let nested_scope = FunctionScope {
            class: None,
            ..scope
        };
        for nested in nested_functions(&function.body) {
            if !nested_wanted.contains(&nested.start()) {
                continue;
            }
            let full = summary(nested, nested_scope, &closure);
            for bindings in locals.values_mut() {
                for binding in bindings {
                    if matches!(binding, Binding::Function(light) if light.start == full.start) {
                        *binding = Binding::Function(Box::new(full.clone()));
                    }
                }
            }
        }
    }
    Some(FunctionBody {
        is_generator: values.is_generator,
        returns,
        yields,
        locals,
    })
}

/// Every name a value reads, in any part of it.
fn names_read(value: &ValueExpr, names: &mut Vec<Name>) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            ValueExpr::Name(name) => names.push(name.clone()),
            ValueExpr::Attribute(inner, _)
            | ValueExpr::Subscript(inner)
            | ValueExpr::Iter(inner)
            | ValueExpr::Unpack(inner, _)
            | ValueExpr::Enter(inner) => pending.push(inner),
            ValueExpr::Call(callee, arguments) => {
                pending.push(callee);
                pending.extend(arguments);
            }
            ValueExpr::Collection(collection) => {
                let Collection { keys, values, .. } = collection.as_ref();
                pending.extend(keys.iter().chain(values));
            }
            ValueExpr::Declared(_)
            | ValueExpr::Imported { .. }
            | ValueExpr::SelfRef
            | ValueExpr::None
            | ValueExpr::Literal(_)
            | ValueExpr::Unknown => {}
        }
    }
}

/// Replaces `request.param` in `value` by an element of `params`.
fn replace_request_param(value: &mut ValueExpr, request: &Name, params: &ValueExpr) {
    let is_param = matches!(value, ValueExpr::Attribute(owner, attribute)
        if attribute.as_str() == "param" && matches!(owner.as_ref(), ValueExpr::Name(name) if name == request));
    if is_param {
        *value = ValueExpr::Iter(Box::new(params.clone()));
        return;
    }
    match value {
        ValueExpr::Attribute(inner, _)
        | ValueExpr::Subscript(inner)
        | ValueExpr::Iter(inner)
        | ValueExpr::Unpack(inner, _)
        | ValueExpr::Enter(inner) => replace_request_param(inner, request, params),
        ValueExpr::Call(callee, arguments) => {
            replace_request_param(callee, request, params);
            for argument in arguments {
                replace_request_param(argument, request, params);
            }
        }
        ValueExpr::Collection(collection) => {
            let Collection { keys, values, .. } = collection.as_mut();
            for value in keys.iter_mut().chain(values) {
                replace_request_param(value, request, params);
            }
        }
        _ => {}
    }
}

/// The `def` statements of a function's own scope (in its blocks, not in nested functions or
/// classes).
pub(crate) fn nested_functions(body: &[Stmt]) -> Vec<&ast::StmtFunctionDef> {
    struct Finder<'a> {
        found: Vec<&'a ast::StmtFunctionDef>,
        depth: usize,
    }
    impl<'a> Visitor<'a> for Finder<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(function) => self.found.push(function),
                Stmt::ClassDef(_) => {}
                _ if self.depth < MAX_DEPTH => {
                    self.depth += 1;
                    visitor::walk_stmt(self, stmt);
                    self.depth -= 1;
                }
                _ => {}
            }
        }
        fn visit_expr(&mut self, _expr: &'a Expr) {}
    }
    let mut finder = Finder {
        found: Vec::new(),
        depth: 0,
    };
    finder.visit_body(body);
    finder.found
}

/// The values of a function's own `return`s and `yield`s.
#[derive(Default)]
struct Returned {
    returns: Vec<ValueExpr>,
    yields: Vec<ValueExpr>,
    is_generator: bool,
    /// Expressions are walked for `yield`s (only when the source has one).
    expressions: bool,
    depth: usize,
}

impl Returned {
    fn visit_body_at(&mut self, body: &[Stmt], depth: usize, expressions: bool) {
        self.depth = depth;
        self.expressions = expressions;
        self.visit_body(body);
    }

    fn push(values: &mut Vec<ValueExpr>, value: ValueExpr) {
        if values.len() < MAX_VALUES {
            values.push(value);
        } else if values.len() == MAX_VALUES {
            values.push(ValueExpr::Unknown);
        }
    }
}

impl<'a> Visitor<'a> for Returned {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_DEPTH {
            Self::push(&mut self.returns, ValueExpr::Unknown);
            return;
        }
        match stmt {
            // Scopes of their own.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Return(ret) => {
                let value = ret
                    .value
                    .as_deref()
                    .map_or(ValueExpr::None, ValueExpr::from_expr);
                Self::push(&mut self.returns, value);
                if let Some(value) = &ret.value {
                    self.visit_expr(value);
                }
            }
            _ => {
                self.depth += 1;
                visitor::walk_stmt(self, stmt);
                self.depth -= 1;
            }
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.expressions || self.depth > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::Lambda(_) => {}
            Expr::Yield(ast::ExprYield { value, .. }) => {
                self.is_generator = true;
                let value = value
                    .as_deref()
                    .map_or(ValueExpr::None, ValueExpr::from_expr);
                Self::push(&mut self.yields, value);
                self.depth += 1;
                visitor::walk_expr(self, expr);
                self.depth -= 1;
            }
            Expr::YieldFrom(_) => {
                self.is_generator = true;
                Self::push(&mut self.yields, ValueExpr::Unknown);
            }
            _ => {
                self.depth += 1;
                visitor::walk_expr(self, expr);
                self.depth -= 1;
            }
        }
    }
}

/// Whether running `body` may reach its end, as far as its last statements tell: after a
/// `return` or `raise`, or an `if` whose every branch ends so, it cannot.
fn can_fall_off(body: &[Stmt]) -> bool {
    !ends_without_falling_off(body, 0)
}

fn ends_without_falling_off(body: &[Stmt], depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match body.last() {
        Some(Stmt::Return(_) | Stmt::Raise(_)) => true,
        Some(Stmt::If(if_stmt)) => {
            let has_else = if_stmt
                .elif_else_clauses
                .last()
                .is_some_and(|clause| clause.test.is_none());
            has_else
                && ends_without_falling_off(&if_stmt.body, depth + 1)
                && if_stmt
                    .elif_else_clauses
                    .iter()
                    .all(|clause| ends_without_falling_off(&clause.body, depth + 1))
        }
        Some(Stmt::With(with)) => ends_without_falling_off(&with.body, depth + 1),
        Some(Stmt::Try(try_stmt)) => {
            ends_without_falling_off(&try_stmt.finalbody, depth + 1)
                || ((ends_without_falling_off(&try_stmt.body, depth + 1)
                    || ends_without_falling_off(&try_stmt.orelse, depth + 1))
                    && try_stmt.handlers.iter().all(|handler| {
                        let ast::ExceptHandler::ExceptHandler(handler) = handler;
                        ends_without_falling_off(&handler.body, depth + 1)
                    }))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarise(source: &str, module_name: &str) -> FunctionSummary {
        let parsed = ruff_python_parser::parse_module(source).expect("valid");
        let Some(Stmt::FunctionDef(function)) = parsed.suite().first() else {
            panic!("no function");
        };
        let lines = Lines::new(source);
        let scope = FunctionScope {
            class: None,
            module_name: Some(module_name),
            facts: SourceFacts::of(source),
            lines: Some(&lines),
        };
        summary(function, scope, &FxHashSet::default())
    }

    #[test]
    fn a_body_keeps_every_return_and_the_names_they_read() {
        let function = summarise(
            "def make(flag, size: int):\n    \
                 net = Net(size)\n    \
                 other = net\n    \
                 unused = Other()\n    \
                 if flag:\n        \
                     return other\n",
            "m",
        );
        let body = function.body.expect("a body");
        assert_eq!(
            body.returns,
            vec![ValueExpr::Name(Name::new("other")), ValueExpr::None]
        );
        let mut names: Vec<&str> = body.locals.keys().map(Name::as_str).collect();
        names.sort_unstable();
        // `size` is read by `net`'s value; `unused` is not read.
        assert_eq!(names, ["net", "other", "size"]);
        assert!(!body.is_generator);
    }

    #[test]
    fn a_body_that_ends_in_return_or_raise_cannot_fall_off() {
        let function = summarise(
            "def f(x):\n    if x:\n        return A()\n    else:\n        raise E\n",
            "m",
        );
        assert_eq!(function.body.expect("a body").returns.len(), 1);
    }

    #[test]
    fn annotated_and_opaquely_decorated_functions_keep_no_body_tests_neither() {
        assert!(
            summarise("def f() -> int:\n    return 1\n", "m")
                .body
                .is_none()
        );
        let opaque = summarise("@register\ndef f():\n    return A()\n", "m");
        assert_eq!(opaque.decoration, Decoration::Opaque);
        assert!(opaque.body.is_none());
        assert!(
            summarise("def test_a():\n    return A()\n", "test_m")
                .body
                .is_none()
        );
        let cached = summarise("@functools.lru_cache(8)\ndef f():\n    return A()\n", "m");
        assert!(cached.body.is_some());
    }

    #[test]
    fn fixtures_yield_and_take_fixtures_and_params() {
        let fixture = summarise(
            "@pytest.fixture(params=[A, B])\n\
             def net(request, module_cls):\n    \
                 made = request.param(module_cls)\n    \
                 yield made\n    \
                 made.close()\n",
            "conftest",
        );
        let Decoration::Fixture(spec) = &fixture.decoration else {
            panic!("a fixture");
        };
        assert_eq!((spec.name.as_str(), spec.line), ("net", 2));
        let body = fixture.body.expect("a body");
        assert!(body.is_generator);
        assert_eq!(body.yields, vec![ValueExpr::Name(Name::new("made"))]);
        let Binding::Value(ValueExpr::Call(callee, arguments)) = &body.locals["made"][0] else {
            panic!("a call");
        };
        assert!(matches!(callee.as_ref(), ValueExpr::Iter(_)));
        assert_eq!(arguments, &vec![ValueExpr::Name(Name::new("module_cls"))]);
        assert!(matches!(
            &body.locals["module_cls"][0],
            Binding::Fixture { name, requester: Some(_), .. } if name.as_str() == "module_cls"
        ));
    }

    #[test]
    fn nested_functions_read_are_summarised_and_closures_are_unknown() {
        let factory = summarise(
            "def pair(**kwargs):\n    \
                 size = 3\n    \
                 @pytest.fixture\n    \
                 def nets():\n        \
                     yield make(size), other\n    \
                 return nets\n",
            "common",
        );
        let body = factory.body.expect("a body");
        let Binding::Function(nets) = &body.locals["nets"][0] else {
            panic!("a function");
        };
        let nested = nets.body.as_ref().expect("the nested body");
        assert!(nested.is_generator);
        assert_eq!(nested.locals["size"], vec![Binding::Unknown]);
        assert!(!nested.locals.contains_key("make"));
    }
}
