//! The wrap state of an expression, evaluated where it stands.
//!
//! How far values are followed:
//! - a function's own names by the bindings that reach the use in source order: a binding in a
//!   block that holds the use replaces the earlier ones; bindings in other branches add to
//!   them (`if ddp: model = DDP(model)` leaves `model` a wrapper or not). Code after the use in
//!   a loop is not followed back;
//! - names of enclosing functions and of the module by all their bindings;
//! - parameters by what the calls of the same file pass (`f(model)` when `f` is the `def` in
//!   scope, `self.f(model)` in a method of its class), and, for module-level functions of a
//!   file that mentions a wrapper, by what calls in other files of the project pass in code
//!   that trains there (see [`super::callers`]);
//! - `self.x` by every `self.x = ...` of the class and its bases in the file, and by a
//!   `@property` of that name;
//! - calls of functions and methods of the file by their `return`s; of functions of other files
//!   by their summary (whether they return `x.module` of an argument);
//! - `a.module if test else a`, `getattr(a, "module", a)`, `typing.cast(T, a)`, `a or b`,
//!   tuples and their unpacking, comprehensions by their element.
//!
//! A test (`hasattr(a, "module")`, `isinstance(a, ...)`, `type(a) == DDP`, `is_distributed(a)`,
//! or a flag such as `distributed` or `world_size > 1`) makes `a` a wrapper in the code it
//! guards, so `a.module` there is an inner module; a test for FSDP (`is_model_fsdp(a)`,
//! `isinstance(a, FSDP)`) makes `a` an FSDP wrapper in its body and in the code after it.

use std::rc::Rc;

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use super::callers::{OtherFileCall, follows_other_files, other_file_calls};
use super::index::{BindingValue, ClassIndex, FileIndex, FunctionId, LocalBinding, TOP_LEVEL};
use super::names::{
    is_submodule_accessor, is_unwrap_function, may_name_wrapper, names_a_fabric,
    names_an_accelerator, says_distributed, says_fsdp, wrapper_constructor,
};
use super::{Origin, Wrap, WrapState, WrapperKind};
use crate::checker::Checker;
use crate::semantic::infer::Ty;
use crate::semantic::values::ValueExpr;

/// Evaluation follows bindings, calls and parameters; real chains are a few links long.
const MAX_DEPTH: usize = 48;
/// A name bound more often than this (generated code) is not followed further back.
const MAX_BINDINGS: usize = 64;
/// Callers, returns and assignments considered for one parameter, function or attribute.
const MAX_SOURCES: usize = 32;
/// `if` statements looked at for the guards of one use.
const MAX_TESTS: usize = 256;

/// What the analysis remembers for one file.
pub struct WrapAnalysis<'a> {
    index: Rc<FileIndex<'a>>,
    expressions: FxHashMap<(FunctionId, TextRange, u8), WrapState>,
    bindings: FxHashMap<(FunctionId, Name, usize), WrapState>,
    parameters: FxHashMap<(FunctionId, Name), WrapState>,
    returns: FxHashMap<FunctionId, WrapState>,
    attributes: FxHashMap<(ClassIndex, Name), WrapState>,
    callee_types: FxHashMap<TextRange, Ty>,
    in_progress: FxHashSet<Pending>,
    depth: usize,
    /// See [`super::training`]: by function and depth of the search.
    pub(super) trains_through_callers: FxHashMap<(FunctionId, usize, bool), bool>,
    pub(super) last_training_call: FxHashMap<FunctionId, Option<TextSize>>,
    /// See [`super::callers`]: whether the file mentions a wrapper, and the calls of its
    /// functions in other files' code that trains, by function.
    pub(super) mentions_wrapping: Option<bool>,
    pub(super) other_file_calls: FxHashMap<FunctionId, Rc<Vec<OtherFileCall>>>,
    /// The calls of the file's functions in each other file analysed, by its module name and
    /// a hash of its text.
    pub(super) files_calling:
        FxHashMap<OtherFileKey, Rc<FxHashMap<FunctionId, Vec<OtherFileCall>>>>,
}

/// Another file of the project, by module name and a hash of its text.
pub(super) type OtherFileKey = (Option<Box<str>>, u64);

/// What is being evaluated, so that a cycle (a recursive function, `self.x = self.x.module`)
/// ends as "nothing known".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Pending {
    Binding(FunctionId, Name, usize),
    Parameter(FunctionId, Name),
    Returns(FunctionId),
    Attribute(ClassIndex, Name),
}

impl<'a> WrapAnalysis<'a> {
    pub fn new(index: FileIndex<'a>) -> Self {
        Self {
            index: Rc::new(index),
            expressions: FxHashMap::default(),
            bindings: FxHashMap::default(),
            parameters: FxHashMap::default(),
            returns: FxHashMap::default(),
            attributes: FxHashMap::default(),
            callee_types: FxHashMap::default(),
            in_progress: FxHashSet::default(),
            depth: 0,
            trains_through_callers: FxHashMap::default(),
            last_training_call: FxHashMap::default(),
            mentions_wrapping: None,
            other_file_calls: FxHashMap::default(),
            files_calling: FxHashMap::default(),
        }
    }

    pub fn index(&self) -> &Rc<FileIndex<'a>> {
        &self.index
    }
}

impl<'a> FileIndex<'a> {
    /// Whether `name` is a parameter of `function` that the function never binds again.
    pub fn is_unchanged_parameter(&self, function: FunctionId, name: &Name) -> bool {
        matches!(
            self.function(function)
                .bindings
                .get(name)
                .map(Vec::as_slice),
            Some([LocalBinding {
                value: BindingValue::Parameter { .. },
                ..
            }])
        )
    }
}

/// A test that guards code: `a` is tested to be a wrapper, or a flag says the code runs
/// distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard<'e> {
    Tested(&'e str),
    Flag,
}

impl<'a> Checker<'a> {
    /// The index of this file's functions, bindings and calls.
    pub fn wrap_index(&mut self) -> Rc<FileIndex<'a>> {
        self.wrap_analysis().index.clone()
    }

    /// The function (or module top level) whose code the checker is in; `None` directly in a
    /// class body.
    pub fn wrap_function_here(&mut self) -> Option<FunctionId> {
        use crate::semantic::Scope;
        let scope = self
            .semantic()
            .scopes()
            .find(|scope| matches!(scope, Scope::Function(_) | Scope::Class(_)));
        match scope {
            Some(Scope::Function(def)) => self.wrap_index().function_of(def),
            Some(Scope::Class(_)) => None,
            _ => Some(TOP_LEVEL),
        }
    }

    /// What `expr`, written in `function`, may be: a wrapper, the inner module of one, or a
    /// part of either. Remembered per expression.
    pub fn wrap_state(&mut self, function: FunctionId, expr: &Expr) -> WrapState {
        let key = (function, expr.range(), discriminant(expr));
        if let Some(known) = self.wrap_analysis().expressions.get(&key) {
            return known.clone();
        }
        let state = eval(self, function, expr, &[]);
        self.wrap_analysis().expressions.insert(key, state.clone());
        state
    }
}

/// Which kind of expression, to tell apart expressions with the same range (`f` and `f()` do
/// not share one, but `(x)` and `x` may).
fn discriminant(expr: &Expr) -> u8 {
    match expr {
        Expr::Name(_) => 0,
        Expr::Attribute(_) => 1,
        Expr::Call(_) => 2,
        _ => 3,
    }
}

fn eval(
    checker: &mut Checker<'_>,
    function: FunctionId,
    expr: &Expr,
    guards: &[Guard<'_>],
) -> WrapState {
    let analysis = checker.wrap_analysis();
    if analysis.depth > MAX_DEPTH {
        return WrapState::none();
    }
    analysis.depth += 1;
    let state = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
        eval_inner(checker, function, expr, guards)
    });
    checker.wrap_analysis().depth -= 1;
    state
}

fn eval_inner(
    checker: &mut Checker<'_>,
    function: FunctionId,
    expr: &Expr,
    guards: &[Guard<'_>],
) -> WrapState {
    match expr {
        Expr::Name(name) => {
            let mut state = lookup(checker, function, &name.id, name.start());
            add_tested(checker, function, expr, guards, &mut state);
            narrowed(checker, function, expr, state)
        }
        Expr::Attribute(attribute) => {
            let mut state = attribute_state(checker, function, attribute, guards);
            add_tested(checker, function, expr, guards, &mut state);
            narrowed(checker, function, expr, state)
        }
        Expr::Call(call) => call_state(checker, function, call, guards),
        Expr::If(if_expr) => {
            let source = checker.source();
            let mut inner = guards.to_vec();
            guards_of(&if_expr.test, source, &mut inner);
            let body = eval(checker, function, &if_expr.body, &inner);
            let orelse = eval(checker, function, &if_expr.orelse, guards);
            WrapState::either([body, orelse])
        }
        Expr::BoolOp(bool_op) => {
            let states: Vec<WrapState> = bool_op
                .values
                .iter()
                .map(|value| eval(checker, function, value, guards))
                .collect();
            WrapState::either(states)
        }
        Expr::Named(named) => eval(checker, function, &named.value, guards),
        Expr::Subscript(subscript) => {
            eval(checker, function, &subscript.value, guards).any_element()
        }
        Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
            if elts.iter().any(Expr::is_starred_expr) || elts.len() > MAX_SOURCES {
                return WrapState::none();
            }
            let elements = elts
                .iter()
                .map(|element| eval(checker, function, element, guards))
                .collect();
            WrapState::tuple(elements)
        }
        Expr::ListComp(ast::ExprListComp { elt, .. })
        | Expr::SetComp(ast::ExprSetComp { elt, .. })
        | Expr::Generator(ast::ExprGenerator { elt, .. }) => {
            eval(checker, function, elt, guards).any_element()
        }
        _ => WrapState::none(),
    }
}

/// A test guards `expr` (written as `a` or `a.b`) at this position: it is a wrapper there.
fn add_tested(
    checker: &mut Checker<'_>,
    function: FunctionId,
    expr: &Expr,
    guards: &[Guard<'_>],
    state: &mut WrapState,
) {
    let source = checker.source();
    let written = &source[expr.range()];
    let tested = |kind| {
        Wrap::Wrapper(
            kind,
            Origin {
                created: None,
                written: Some(written.into()),
                scope: Some(function),
            },
        )
    };
    if guards.contains(&Guard::Tested(written)) {
        state.push(tested(WrapperKind::Unknown));
    }
    let index = checker.wrap_index();
    let facts = index.function(function);
    if !facts.tests_fsdp {
        return;
    }
    let position = expr.start();
    for test in facts.ifs.iter().filter(|test| test.about_fsdp) {
        let applies = test.body.contains(position)
            || (test.statement.end() <= position && test.block.contains(position));
        if applies && fsdp_tested(test.test, source).contains(&written) {
            state.push(tested(WrapperKind::FullyShardedDataParallel));
        }
    }
}

/// `state`, unless a test the code at `expr` runs under says `expr` is something that is never
/// a module: `isinstance(obj, torch.optim.Optimizer)` (the value may come from a tuple that
/// holds a model and its optimizer).
fn narrowed(
    checker: &mut Checker<'_>,
    function: FunctionId,
    expr: &Expr,
    state: WrapState,
) -> WrapState {
    /// Classes whose instances are never modules, by their last name.
    const NOT_MODULES: &[&str] = &[
        "Optimizer",
        "LRScheduler",
        "_LRScheduler",
        "DataLoader",
        "Dataset",
        "IterableDataset",
        "Tensor",
        "Metric",
        "MetricCollection",
        "dict",
        "list",
        "tuple",
        "str",
        "int",
        "float",
    ];
    if state.is_none() {
        return state;
    }
    let source = checker.source();
    let written = &source[expr.range()];
    let index = checker.wrap_index();
    let facts = index.function(function);
    let position = expr.start();
    let excluded = facts
        .ifs
        .iter()
        .filter(|test| test.body.contains(position))
        .any(|test| {
            let Expr::Call(call) = test.test else {
                return false;
            };
            let is_isinstance =
                matches!(call.func.as_ref(), Expr::Name(name) if name.id.as_str() == "isinstance");
            let (Some(owner), Some(classes)) =
                (call.arguments.args.first(), call.arguments.args.get(1))
            else {
                return false;
            };
            let classes: Vec<&Expr> = match classes {
                Expr::Tuple(tuple) => tuple.elts.iter().collect(),
                class => vec![class],
            };
            is_isinstance
                && &source[owner.range()] == written
                && classes.iter().all(|class| {
                    let last = match class {
                        Expr::Name(name) => name.id.as_str(),
                        Expr::Attribute(attribute) => attribute.attr.id.as_str(),
                        _ => return false,
                    };
                    NOT_MODULES.contains(&last)
                })
        });
    if excluded { WrapState::none() } else { state }
}

/// What `name` holds at `position` in `function`.
fn lookup(
    checker: &mut Checker<'_>,
    function: FunctionId,
    name: &Name,
    position: TextSize,
) -> WrapState {
    let index = checker.wrap_index();
    let facts = index.function(function);
    if facts.bound_by_inner_scope(name, position) {
        return WrapState::none();
    }
    if facts.declared_outside.contains(name) {
        return all_bindings(checker, TOP_LEVEL, name);
    }
    if let Some(bindings) = facts.bindings.get(name) {
        return reaching(checker, function, name, bindings, position);
    }
    let mut scope = facts.parent;
    while let Some(outer) = scope {
        let facts = index.function(outer);
        if facts.bindings.contains_key(name) {
            return all_bindings(checker, outer, name);
        }
        scope = facts.parent;
    }
    WrapState::none()
}

/// The bindings of `name` in `function` that reach `position`, as one state.
fn reaching(
    checker: &mut Checker<'_>,
    function: FunctionId,
    name: &Name,
    bindings: &[LocalBinding<'_>],
    position: TextSize,
) -> WrapState {
    let end = bindings.partition_point(|binding| binding.at <= position);
    let mut states = Vec::new();
    for (scanned, index) in (0..end).rev().enumerate() {
        if scanned >= MAX_BINDINGS {
            states.push(WrapState::none());
            break;
        }
        states.push(binding_state(checker, function, name, index));
        if bindings[index].block.contains(position) {
            break;
        }
    }
    WrapState::either(states)
}

/// Every binding of `name` in `function`, wherever it is used from (an enclosing function's
/// or the module's name, read in a nested function).
fn all_bindings(checker: &mut Checker<'_>, function: FunctionId, name: &Name) -> WrapState {
    let index = checker.wrap_index();
    let count = index
        .function(function)
        .bindings
        .get(name)
        .map_or(0, Vec::len);
    if count > MAX_SOURCES {
        return WrapState::none();
    }
    // Code that reads the name from elsewhere cannot tell whether a wrapper it was passed to
    // (`ddp = DDP(model)`) was made yet: those bindings tell nothing.
    let passed: Vec<bool> = index
        .function(function)
        .bindings
        .get(name)
        .map(|bindings| {
            bindings
                .iter()
                .map(|binding| matches!(binding.value, BindingValue::Passed { .. }))
                .collect()
        })
        .unwrap_or_default();
    let states = (0..count)
        .filter(|binding| !passed.get(*binding).copied().unwrap_or(false))
        .map(|binding| binding_state(checker, function, name, binding))
        .collect();
    phases(states)
}

/// The states of one name or attribute bound in several places, read from code that cannot
/// tell which binding it sees. When some bindings make it a wrapper and others the module
/// inside one, the code keeps both in the same place at different times (trainers unwrap
/// `self.model` when training ends): which one a use sees is unknown, so the inner module is
/// not claimed.
fn phases(states: Vec<WrapState>) -> WrapState {
    let wraps = |state: &WrapState| {
        state
            .atoms()
            .iter()
            .any(|atom| matches!(atom, Wrap::Wrapper(..)))
    };
    let unwraps = |state: &WrapState| {
        state
            .atoms()
            .iter()
            .any(|atom| matches!(atom, Wrap::Inner(..) | Wrap::InnerPart(..)))
    };
    let mixed = states.iter().enumerate().any(|(index, state)| {
        wraps(state)
            && states
                .iter()
                .enumerate()
                .any(|(other, state)| other != index && unwraps(state))
    });
    let mut merged = WrapState::either(states);
    if mixed {
        merged.retain(|atom| !matches!(atom, Wrap::Inner(..) | Wrap::InnerPart(..)));
    }
    merged
}

fn binding_state(
    checker: &mut Checker<'_>,
    function: FunctionId,
    name: &Name,
    binding: usize,
) -> WrapState {
    let key = (function, name.clone(), binding);
    if let Some(known) = checker.wrap_analysis().bindings.get(&key) {
        return known.clone();
    }
    let pending = Pending::Binding(function, name.clone(), binding);
    if !checker.wrap_analysis().in_progress.insert(pending.clone()) {
        return WrapState::none();
    }
    let index = checker.wrap_index();
    let state = match index
        .function(function)
        .bindings
        .get(name)
        .and_then(|bindings| bindings.get(binding))
    {
        Some(found) => value_state(checker, function, name, found),
        None => WrapState::none(),
    };
    let analysis = checker.wrap_analysis();
    analysis.in_progress.remove(&pending);
    analysis.bindings.insert(key, state.clone());
    state
}

/// The state a binding gives `name` (a local of `function`, or an attribute of the class of
/// the method `function`).
fn value_state(
    checker: &mut Checker<'_>,
    function: FunctionId,
    name: &Name,
    binding: &LocalBinding<'_>,
) -> WrapState {
    match &binding.value {
        BindingValue::Assigned { value, path } => {
            let state = eval(checker, function, value, &[]);
            unpack(state, path)
        }
        BindingValue::Element { iterable, path } => {
            let state = eval(checker, function, iterable, &[]).any_element();
            unpack(state, path)
        }
        BindingValue::Parameter { position } => parameter_state(checker, function, name, *position),
        BindingValue::Passed {
            call,
            argument,
            target,
        } => {
            let result = call_state(checker, function, call, &[]);
            let (chosen, target) = match (argument, target) {
                (Some(position), Some(Expr::Tuple(tuple))) => {
                    (result.element(*position), tuple.elts.get(*position))
                }
                (Some(position), Some(Expr::List(list))) => {
                    (result.element(*position), list.elts.get(*position))
                }
                (Some(position), target) if result.has_elements() => {
                    (result.element(*position), *target)
                }
                (None, Some(Expr::Tuple(tuple))) => (result.element(0), tuple.elts.first()),
                (_, target) => (result.element(0), *target),
            };
            let source = checker.source();
            let written = target.map(|target| Box::from(&source[target.range()]));
            let mut state = WrapState::none();
            for atom in chosen.atoms() {
                if let Wrap::Wrapper(kind, origin) = atom {
                    state.push(if *kind == WrapperKind::FullyShard {
                        atom.clone()
                    } else {
                        Wrap::Inner(
                            *kind,
                            Origin {
                                created: origin.created,
                                written: written.clone(),
                                scope: Some(function),
                            },
                        )
                    });
                }
            }
            if state.is_none() {
                // Not a wrapper after all: the name keeps what it held.
                let index = checker.wrap_index();
                if let Some(bindings) = index.function(function).bindings.get(name) {
                    return reaching(checker, function, name, bindings, call.start());
                }
            }
            state
        }
        BindingValue::Imported | BindingValue::Unknown => WrapState::none(),
    }
}

fn unpack(mut state: WrapState, path: &[usize]) -> WrapState {
    for &position in path {
        state = state.element(position);
    }
    state
}

/// What the calls of the file pass for a parameter of `function`.
fn parameter_state(
    checker: &mut Checker<'_>,
    function: FunctionId,
    name: &Name,
    position: Option<usize>,
) -> WrapState {
    let key = (function, name.clone());
    if let Some(known) = checker.wrap_analysis().parameters.get(&key) {
        return known.clone();
    }
    let pending = Pending::Parameter(function, name.clone());
    if !checker.wrap_analysis().in_progress.insert(pending.clone()) {
        return WrapState::none();
    }
    let index = checker.wrap_index();
    let facts = index.function(function);
    let mut passed = Vec::new();
    let is_method = facts.self_name.is_some();
    if !(is_method && position == Some(0))
        && let Some(callers) = index.callers.get(&function)
    {
        for (caller, call) in callers.iter().take(MAX_SOURCES) {
            // `self.f(a)` passes `a` as the parameter after `self`.
            let skipped =
                usize::from(is_method && matches!(call.func.as_ref(), Expr::Attribute(_)));
            let positional = position
                .and_then(|position| position.checked_sub(skipped))
                .and_then(|position| {
                    let arguments = &call.arguments.args;
                    let before = arguments.get(..=position)?;
                    (!before.iter().any(Expr::is_starred_expr)).then(|| &arguments[position])
                });
            let argument = positional.or_else(|| {
                call.arguments
                    .find_keyword(name.as_str())
                    .map(|keyword| &keyword.value)
            });
            if let Some(argument) = argument {
                passed.push(eval(checker, *caller, argument, &[]));
            }
        }
    }
    if follows_other_files(checker, function) {
        for call in other_file_calls(checker, function).iter().take(MAX_SOURCES) {
            if let Some(argument) = call.argument(name, position) {
                passed.push(argument.clone());
            }
        }
    }
    let state = WrapState::either(passed);
    let analysis = checker.wrap_analysis();
    analysis.in_progress.remove(&pending);
    analysis.parameters.insert(key, state.clone());
    state
}

/// What `function` returns.
fn returns_state(checker: &mut Checker<'_>, function: FunctionId) -> WrapState {
    if let Some(known) = checker.wrap_analysis().returns.get(&function) {
        return known.clone();
    }
    let pending = Pending::Returns(function);
    if !checker.wrap_analysis().in_progress.insert(pending.clone()) {
        return WrapState::none();
    }
    let index = checker.wrap_index();
    let mut returned = Vec::new();
    for value in index.function(function).returns.iter().take(MAX_SOURCES) {
        returned.push(eval(checker, function, value, &[]));
    }
    let state = WrapState::either(returned);
    let analysis = checker.wrap_analysis();
    analysis.in_progress.remove(&pending);
    analysis.returns.insert(function, state.clone());
    state
}

/// `self.name` of instances of `class`: every assignment of the class and its bases in the
/// file, a property of that name, and `fully_shard(self.name)`.
fn class_attribute(checker: &mut Checker<'_>, class: ClassIndex, name: &Name) -> WrapState {
    let key = (class, name.clone());
    if let Some(known) = checker.wrap_analysis().attributes.get(&key) {
        return known.clone();
    }
    let pending = Pending::Attribute(class, name.clone());
    if !checker.wrap_analysis().in_progress.insert(pending.clone()) {
        return WrapState::none();
    }
    let index = checker.wrap_index();
    let mut assigned = Vec::new();
    let mut state = WrapState::none();
    for class in index.class_and_bases(class) {
        let facts = index.class(class);
        if let Some(assignments) = facts.attributes.get(name) {
            for (function, binding) in assignments.iter().take(MAX_SOURCES) {
                assigned.push(value_state(checker, *function, name, binding));
            }
        }
        if let Some(&method) = facts.methods.get(name)
            && index
                .function(method)
                .def
                .is_some_and(crate::semantic::functions::is_property)
        {
            state = state.union(returns_state(checker, method));
        }
        if let Some(calls) = facts.sharded_in_place.get(name) {
            for (function, call) in calls.iter().take(MAX_SOURCES) {
                let result = call_state(checker, *function, call, &[]);
                for atom in result.atoms() {
                    if atom.kind() == WrapperKind::FullyShard {
                        state.push(atom.clone());
                    }
                }
            }
        }
    }
    let state = phases(assigned).union(state);
    let analysis = checker.wrap_analysis();
    analysis.in_progress.remove(&pending);
    analysis.attributes.insert(key, state.clone());
    state
}

/// `owner.name`.
fn attribute_state(
    checker: &mut Checker<'_>,
    function: FunctionId,
    attribute: &ast::ExprAttribute,
    guards: &[Guard<'_>],
) -> WrapState {
    let name = &attribute.attr.id;
    let index = checker.wrap_index();
    let facts = index.function(function);
    let mut state = WrapState::none();
    if let (Expr::Name(owner), Some(self_name), Some(class)) =
        (attribute.value.as_ref(), facts.self_name, facts.class)
        && &owner.id == self_name
    {
        state = class_attribute(checker, class, name);
    }
    if let Some(alias) = checker.brain_hparams_alias(function, attribute) {
        state.push(alias);
    }
    let owner = eval(checker, function, &attribute.value, guards);
    let is_module = name.as_str() == "module";
    let source = checker.source();
    let written: Box<str> = source[attribute.value.range()].into();
    for atom in owner.atoms() {
        let derived = match atom {
            Wrap::Wrapper(kind, origin) if is_module => {
                if matches!(kind, WrapperKind::Compiled | WrapperKind::FullyShard) {
                    continue;
                }
                Wrap::Inner(
                    *kind,
                    Origin {
                        created: origin.created,
                        written: Some(written.clone()),
                        scope: Some(function),
                    },
                )
            }
            Wrap::Inner(kind, origin) | Wrap::InnerPart(kind, origin) => {
                Wrap::InnerPart(*kind, origin.clone())
            }
            Wrap::Wrapper(kind, origin) | Wrap::WrapperPart(kind, origin)
                if kind.delegates_attributes() =>
            {
                Wrap::WrapperPart(*kind, origin.clone())
            }
            _ => continue,
        };
        state.push(derived);
    }
    if is_module
        && !owner
            .atoms()
            .iter()
            .any(|atom| matches!(atom, Wrap::Wrapper(..)))
        && guarded(checker, function, &written, attribute.start(), guards)
    {
        state.push(Wrap::Inner(
            WrapperKind::Unknown,
            Origin {
                created: None,
                written: Some(written),
                scope: Some(function),
            },
        ));
    }
    state
}

/// Whether the code at `position` runs only when a test says `written` is a wrapper, or that
/// the code runs distributed.
fn guarded(
    checker: &mut Checker<'_>,
    function: FunctionId,
    written: &str,
    position: TextSize,
    guards: &[Guard<'_>],
) -> bool {
    let holds = |guards: &[Guard<'_>]| {
        guards
            .iter()
            .any(|guard| matches!(guard, Guard::Flag) || *guard == Guard::Tested(written))
    };
    if holds(guards) {
        return true;
    }
    let source = checker.source();
    let index = checker.wrap_index();
    let facts = index.function(function);
    let before = facts
        .ifs
        .partition_point(|test| test.statement.start() <= position);
    for test in facts.ifs[..before].iter().rev().take(MAX_TESTS) {
        let mut positive = Vec::new();
        let mut negative = Vec::new();
        if test.body.contains(position) {
            guards_of(test.test, source, &mut positive);
        } else if test.orelse.is_some_and(|orelse| orelse.contains(position))
            || (test.exits && test.statement.end() <= position && test.block.contains(position))
        {
            negated_guards(test.test, source, &mut negative);
        }
        if holds(&positive) || holds(&negative) {
            return true;
        }
    }
    false
}

/// What a test, when it holds, says is a wrapper (or that the code runs distributed).
fn guards_of<'e>(test: &'e Expr, source: &'e str, guards: &mut Vec<Guard<'e>>) {
    match test {
        Expr::BoolOp(bool_op) => {
            for value in &bool_op.values {
                guards_of(value, source, guards);
            }
        }
        Expr::Call(call) => {
            let callee = match call.func.as_ref() {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attribute) => attribute.attr.id.as_str(),
                _ => return,
            };
            let first = call.arguments.args.first();
            match (callee, first) {
                ("hasattr", Some(owner)) => {
                    let about_module = matches!(
                        call.arguments.args.get(1),
                        Some(Expr::StringLiteral(literal)) if literal.value.to_str() == "module"
                    );
                    if about_module {
                        guards.push(Guard::Tested(&source[owner.range()]));
                    }
                }
                ("isinstance", Some(owner)) => guards.push(Guard::Tested(&source[owner.range()])),
                (_, Some(owner)) if says_distributed(callee) => {
                    guards.push(Guard::Tested(&source[owner.range()]));
                }
                (_, None) if says_distributed(&source[call.func.range()]) => {
                    guards.push(Guard::Flag);
                }
                _ => {}
            }
        }
        Expr::Compare(compare) => {
            if let Expr::Call(call) = compare.left.as_ref()
                && matches!(call.func.as_ref(), Expr::Name(name) if name.id.as_str() == "type")
                && let Some(owner) = call.arguments.args.first()
            {
                guards.push(Guard::Tested(&source[owner.range()]));
                return;
            }
            guards_of(&compare.left, source, guards);
        }
        Expr::Name(name) if says_distributed(name.id.as_str()) => guards.push(Guard::Flag),
        Expr::Attribute(attribute) if says_distributed(attribute.attr.id.as_str()) => {
            guards.push(Guard::Flag);
        }
        _ => {}
    }
}

/// What a test says is a wrapper when it does *not* hold: `not hasattr(m, "module")`.
fn negated_guards<'e>(test: &'e Expr, source: &'e str, guards: &mut Vec<Guard<'e>>) {
    if let Expr::UnaryOp(unary) = test
        && unary.op == ast::UnaryOp::Not
    {
        guards_of(&unary.operand, source, guards);
    }
}

/// The expressions a test for FSDP is about: `m` in `is_model_fsdp(m)`, `isinstance(m, FSDP)`.
fn fsdp_tested<'e>(test: &'e Expr, source: &'e str) -> Vec<&'e str> {
    let mut tested = Vec::new();
    let mut pending = vec![test];
    while let Some(test) = pending.pop() {
        match test {
            Expr::BoolOp(bool_op) => pending.extend(bool_op.values.iter()),
            Expr::Call(call) => {
                let callee = match call.func.as_ref() {
                    Expr::Name(name) => name.id.as_str(),
                    Expr::Attribute(attribute) => attribute.attr.id.as_str(),
                    _ => continue,
                };
                let Some(first) = call.arguments.args.first() else {
                    continue;
                };
                let is_fsdp_test = if callee == "isinstance" {
                    call.arguments
                        .args
                        .get(1)
                        .is_some_and(|class| says_fsdp(&source[class.range()]))
                } else {
                    says_fsdp(callee)
                };
                if is_fsdp_test {
                    tested.push(&source[first.range()]);
                }
            }
            _ => {}
        }
    }
    tested
}

/// What a call returns.
fn call_state(
    checker: &mut Checker<'_>,
    function: FunctionId,
    call: &ast::ExprCall,
    guards: &[Guard<'_>],
) -> WrapState {
    let source = checker.source();
    match call.func.as_ref() {
        Expr::Attribute(attribute) => {
            let method = attribute.attr.id.as_str();
            let receiver = &source[attribute.value.range()];
            match method {
                "prepare" | "prepare_model" if names_an_accelerator(receiver) => {
                    return prepared(call, WrapperKind::Accelerate, false);
                }
                "setup" if names_a_fabric(receiver) => {
                    return prepared(call, WrapperKind::Fabric, true);
                }
                "setup_module" if names_a_fabric(receiver) => {
                    return WrapState::of(Wrap::Wrapper(WrapperKind::Fabric, created(call)));
                }
                _ => {}
            }
            if is_unwrap_function(method) {
                let kind = if names_an_accelerator(receiver) {
                    WrapperKind::Accelerate
                } else {
                    WrapperKind::Unknown
                };
                return unwrapped(checker, function, call, kind);
            }
            if is_submodule_accessor(method) {
                let owner = eval(checker, function, &attribute.value, guards);
                return parts(&owner);
            }
            let index = checker.wrap_index();
            let facts = index.function(function);
            if let (Expr::Name(owner), Some(self_name), Some(class)) =
                (attribute.value.as_ref(), facts.self_name, facts.class)
                && &owner.id == self_name
                && let Some(method) = index.resolve_method(class, method)
            {
                return returns_state(checker, method);
            }
            resolved_call(checker, function, call)
        }
        Expr::Name(name) => {
            if is_unwrap_function(name.id.as_str()) {
                return unwrapped(checker, function, call, WrapperKind::Unknown);
            }
            let index = checker.wrap_index();
            if let Some(def) = index.resolve_function(function, &name.id) {
                let mut state = returns_state(checker, def);
                if index
                    .function(def)
                    .def
                    .is_some_and(returns_inner_of_argument)
                {
                    state = state.union(unwrapped(checker, function, call, WrapperKind::Unknown));
                }
                return state;
            }
            resolved_call(checker, function, call)
        }
        _ => WrapState::none(),
    }
}

/// `accelerator.prepare(a, b)` or `fabric.setup(model, optimizer)`: one wrapper per argument
/// (Fabric wraps only the first; the others are optimizers).
fn prepared(call: &ast::ExprCall, kind: WrapperKind, first_only: bool) -> WrapState {
    let arguments = &call.arguments.args;
    if arguments.iter().any(Expr::is_starred_expr) {
        return WrapState::of(Wrap::Wrapper(kind, created(call)));
    }
    match arguments.len() {
        0 | 1 => WrapState::of(Wrap::Wrapper(kind, created(call))),
        _ => WrapState::tuple(
            arguments
                .iter()
                .enumerate()
                .map(|(position, argument)| {
                    if first_only && position > 0 {
                        WrapState::none()
                    } else {
                        WrapState::of(Wrap::Wrapper(
                            kind,
                            Origin {
                                created: Some(argument.range()),
                                written: None,
                                scope: None,
                            },
                        ))
                    }
                })
                .collect(),
        ),
    }
}

fn created(call: &ast::ExprCall) -> Origin {
    Origin {
        created: Some(call.range()),
        written: None,
        scope: None,
    }
}

/// `unwrap_model(w)` (and the like): the inner module of `w`.
fn unwrapped(
    checker: &mut Checker<'_>,
    function: FunctionId,
    call: &ast::ExprCall,
    kind: WrapperKind,
) -> WrapState {
    let argument = call.arguments.args.first().or_else(|| {
        call.arguments
            .find_keyword("model")
            .map(|keyword| &keyword.value)
    });
    let Some(argument) = argument.filter(|argument| !argument.is_starred_expr()) else {
        return WrapState::none();
    };
    let written: Box<str> = checker.source()[argument.range()].into();
    let wrapped = eval(checker, function, argument, &[]);
    let mut state = WrapState::none();
    for atom in wrapped.atoms() {
        match atom {
            Wrap::Wrapper(kind, origin) => state.push(Wrap::Inner(
                *kind,
                Origin {
                    created: origin.created,
                    written: Some(written.clone()),
                    scope: Some(function),
                },
            )),
            Wrap::Inner(..) | Wrap::InnerPart(..) => state.push(atom.clone()),
            Wrap::WrapperPart(..) => {}
        }
    }
    if state.is_none() {
        state.push(Wrap::Inner(
            kind,
            Origin {
                created: None,
                written: Some(written),
                scope: Some(function),
            },
        ));
    }
    state
}

/// What an accessor (`get_decoder()`) returns from a value: part of it.
fn parts(owner: &WrapState) -> WrapState {
    let mut state = WrapState::none();
    for atom in owner.atoms() {
        match atom {
            Wrap::Inner(kind, origin) | Wrap::InnerPart(kind, origin) => {
                state.push(Wrap::InnerPart(*kind, origin.clone()));
            }
            Wrap::Wrapper(kind, origin) | Wrap::WrapperPart(kind, origin)
                if kind.delegates_attributes() =>
            {
                state.push(Wrap::WrapperPart(*kind, origin.clone()));
            }
            _ => {}
        }
    }
    state
}

/// A call whose callee is resolved by type: a wrapper's class or function, `typing.cast`,
/// `getattr(w, "module", w)`, or a function of another file that returns the inner module
/// of its argument.
fn resolved_call(
    checker: &mut Checker<'_>,
    function: FunctionId,
    call: &ast::ExprCall,
) -> WrapState {
    if !worth_resolving(checker, function, &call.func) {
        return WrapState::none();
    }
    let ty = callee_type(checker, function, &call.func);
    let members: Vec<Ty> = match ty {
        Ty::Union(members) => members,
        other => vec![other],
    };
    let mut state = WrapState::none();
    for member in members {
        let found = match &member {
            Ty::External(qualified) => match &**qualified {
                "deepspeed.initialize" => WrapState::tuple(vec![
                    WrapState::of(Wrap::Wrapper(WrapperKind::DeepSpeed, created(call))),
                    WrapState::none(),
                    WrapState::none(),
                    WrapState::none(),
                ]),
                "typing.cast" | "typing_extensions.cast" => match call.arguments.args.get(1) {
                    Some(value) => eval(checker, function, value, &[]),
                    None => WrapState::none(),
                },
                "builtins.getattr" => module_by_getattr(checker, function, call),
                qualified => match wrapper_constructor(qualified) {
                    Some(kind) => WrapState::of(Wrap::Wrapper(kind, created(call))),
                    None => WrapState::none(),
                },
            },
            Ty::Function(function_ref) if function_ref.function.unwraps_argument => {
                unwrapped(checker, function, call, WrapperKind::Unknown)
            }
            _ => WrapState::none(),
        };
        state = state.union(found);
    }
    state
}

/// Whether resolving `callee` by type may find what [`resolved_call`] looks for: a name that may
/// be a wrapper (`DDP`, `FSDP`, `compile`, `initialize`, ...), `cast` or `getattr`, or an
/// imported function (`helper(...)`, `module.helper(...)`), which may be a function of another
/// file that unwraps. Methods of objects (`self.cache.update(...)`) are not resolved: type
/// inference would find nothing here, at a cost.
fn worth_resolving(checker: &mut Checker<'_>, function: FunctionId, callee: &Expr) -> bool {
    let (last, root) = match callee {
        Expr::Name(name) => (name.id.as_str(), Some(&name.id)),
        Expr::Attribute(attribute) => (
            attribute.attr.id.as_str(),
            match attribute.value.as_ref() {
                Expr::Name(owner) => Some(&owner.id),
                _ => None,
            },
        ),
        _ => return false,
    };
    if may_name_wrapper(last) || matches!(last, "cast" | "getattr") {
        return true;
    }
    let Some(root) = root else {
        return false;
    };
    // Imported here or in a scope around: the binding that names it is an import.
    let index = checker.wrap_index();
    let mut scope = Some(function);
    while let Some(id) = scope {
        if let Some(bindings) = index.function(id).bindings.get(root) {
            return bindings
                .iter()
                .any(|binding| matches!(binding.value, BindingValue::Imported));
        }
        scope = index.function(id).parent;
    }
    false
}

/// `getattr(w, "module", default)`: the inner module of `w`, or the default.
fn module_by_getattr(
    checker: &mut Checker<'_>,
    function: FunctionId,
    call: &ast::ExprCall,
) -> WrapState {
    let arguments = &call.arguments.args;
    let (Some(owner), Some(Expr::StringLiteral(attribute))) = (arguments.first(), arguments.get(1))
    else {
        return WrapState::none();
    };
    if attribute.value.to_str() != "module" {
        return WrapState::none();
    }
    let written: Box<str> = checker.source()[owner.range()].into();
    let mut state = WrapState::of(Wrap::Inner(
        WrapperKind::Unknown,
        Origin {
            created: None,
            written: Some(written),
            scope: Some(function),
        },
    ));
    if let Some(default) = arguments.get(2) {
        let default = eval(checker, function, default, &[]);
        state = WrapState::either([state, default]);
    }
    state
}

/// The functions whose names are in scope in `function`, innermost first, each with the start
/// of the class it is a method of: what type inference needs to evaluate code there.
fn scope_chain<'a>(
    index: &FileIndex<'a>,
    function: FunctionId,
) -> Vec<(&'a ast::StmtFunctionDef, Option<&'a ast::StmtClassDef>)> {
    let mut chain = Vec::new();
    let mut scope = Some(function);
    while let Some(id) = scope {
        let facts = index.function(id);
        if let Some(def) = facts.def {
            let class = facts.class.map(|class| index.class(class).def);
            chain.push((def, class));
        }
        scope = facts.parent;
    }
    chain
}

impl Checker<'_> {
    /// The type of `method` of the module that the wrapper made at `created` (a call of this
    /// file, or an argument of `accelerator.prepare(...)`) wraps, evaluated where the wrapper
    /// is made: what calling the inner module's `method` runs.
    pub fn wrapped_method_type(&mut self, created: TextRange, method: &str) -> Ty {
        let index = self.wrap_index();
        let function = index.enclosing_function(created.start());
        let wrapped = index.wrapped_argument(created);
        let Some(wrapped) = wrapped else {
            return Ty::Unknown;
        };
        let value =
            ValueExpr::Attribute(Box::new(ValueExpr::from_expr(wrapped)), Name::new(method));
        let chain = scope_chain(&index, function);
        self.infer_value_in(&value, &chain)
    }
}

/// The type of a callee written in `function`, resolved with that function's names in scope.
pub(super) fn callee_type(checker: &mut Checker<'_>, function: FunctionId, callee: &Expr) -> Ty {
    if let Some(known) = checker.wrap_analysis().callee_types.get(&callee.range()) {
        return known.clone();
    }
    let index = checker.wrap_index();
    let chain = scope_chain(&index, function);
    let ty = checker.infer_type_in(callee, &chain);
    checker
        .wrap_analysis()
        .callee_types
        .insert(callee.range(), ty.clone());
    ty
}

/// Whether a function returns the inner module of one of its arguments: a `return` of
/// `m.module` (possibly in a conditional expression, a comprehension, `typing.cast` or
/// `getattr(m, "module", ...)`) for a parameter `m`, or of `unwrap_model(m)`. Part of the
/// function's summary, so that other files' calls of it are seen.
pub fn returns_inner_of_argument(def: &ast::StmtFunctionDef) -> bool {
    use ruff_python_ast::visitor::{Visitor, walk_stmt};
    struct Returns<'d> {
        parameters: Vec<&'d Name>,
        found: bool,
    }
    impl<'d> Visitor<'d> for Returns<'d> {
        fn visit_stmt(&mut self, stmt: &'d ast::Stmt) {
            match stmt {
                ast::Stmt::FunctionDef(_) | ast::Stmt::ClassDef(_) => {}
                ast::Stmt::Return(ret) => {
                    if let Some(value) = &ret.value {
                        let mut names = self.parameters.clone();
                        self.found |= unwraps(value, &mut names, 0);
                    }
                }
                _ => walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _expr: &'d Expr) {}
    }
    let parameters: Vec<&Name> = def
        .parameters
        .iter_non_variadic_params()
        .map(|parameter| &parameter.parameter.name.id)
        .collect();
    if parameters.is_empty() {
        return false;
    }
    let mut returns = Returns {
        parameters,
        found: false,
    };
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || returns.visit_body(&def.body));
    returns.found
}

/// Whether `value` is the inner module of one of `names` (parameters, or targets of an
/// enclosing comprehension).
fn unwraps<'d>(value: &'d Expr, names: &mut Vec<&'d Name>, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    let is_name = |expr: &Expr, names: &[&Name]| matches!(expr, Expr::Name(name) if names.contains(&&name.id));
    match value {
        Expr::Attribute(attribute) => {
            attribute.attr.id.as_str() == "module" && is_name(&attribute.value, names)
        }
        Expr::If(if_expr) => {
            unwraps(&if_expr.body, names, depth + 1) || unwraps(&if_expr.orelse, names, depth + 1)
        }
        Expr::BoolOp(bool_op) => bool_op
            .values
            .iter()
            .any(|value| unwraps(value, names, depth + 1)),
        Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
            elts.iter().any(|value| unwraps(value, names, depth + 1))
        }
        Expr::ListComp(ast::ExprListComp {
            elt, generators, ..
        })
        | Expr::Generator(ast::ExprGenerator {
            elt, generators, ..
        }) => {
            for generator in generators {
                names.extend(super::index::target_names(&generator.target));
            }
            unwraps(elt, names, depth + 1)
        }
        Expr::Call(call) => {
            let callee = match call.func.as_ref() {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attribute) => attribute.attr.id.as_str(),
                _ => return false,
            };
            let arguments = &call.arguments.args;
            match callee {
                "cast" => arguments
                    .get(1)
                    .is_some_and(|value| unwraps(value, names, depth + 1)),
                "getattr" => {
                    arguments.first().is_some_and(|owner| is_name(owner, names))
                        && matches!(
                            arguments.get(1),
                            Some(Expr::StringLiteral(literal)) if literal.value.to_str() == "module"
                        )
                }
                name if is_unwrap_function(name) => {
                    arguments.first().is_some_and(|owner| is_name(owner, names))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

impl<'a> Checker<'a> {
    /// The values assigned to `name` that reach `position` in `function` (for an unpacking,
    /// the whole value unpacked), in the order of the code, by the same rules as wrap states:
    /// for a rule that asks what a name holds rather than whether it wraps
    /// (`ctx = m.no_sync() if k else nullcontext()`). Empty when some binding that reaches is
    /// not an assignment (a parameter, a loop target, an import).
    pub fn reaching_values(
        &mut self,
        function: FunctionId,
        name: &Name,
        position: TextSize,
    ) -> Vec<&'a Expr> {
        let index = self.wrap_index();
        let Some(bindings) = index.function(function).bindings.get(name) else {
            return Vec::new();
        };
        let end = bindings.partition_point(|binding| binding.at <= position);
        let mut values = Vec::new();
        for binding in bindings[..end].iter().rev().take(MAX_BINDINGS) {
            match &binding.value {
                BindingValue::Assigned { value, .. } => values.push(*value),
                _ => return Vec::new(),
            }
            if binding.block.contains(position) {
                break;
            }
        }
        values.reverse();
        values
    }
}
