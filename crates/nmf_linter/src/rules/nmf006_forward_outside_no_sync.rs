use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::analysis::forward_call::{could_spell_any, has_word};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::wrap::index::FunctionId;
use crate::semantic::wrap::names::{is_non_computing_method, names_a_fabric, names_an_accelerator};
use crate::semantic::wrap::{Wrap, WrapState};

declare_rule! {
    /// ## What it does
    /// Checks for a `with W.no_sync():` block (also `accelerator.no_sync(W)`,
    /// `fabric.no_backward_sync(W)`) that holds a backward pass but not the forward of `W`, and
    /// for `W.require_backward_grad_sync = ...` set between `W`'s forward and the backward.
    ///
    /// ## Why is this bad?
    /// `DistributedDataParallel` decides in its `forward` whether the next backward pass
    /// all-reduces the gradients: `forward` reads the `require_backward_grad_sync` flag that
    /// `no_sync()` clears, and arms the reducer. A `no_sync()` around the backward alone comes
    /// too late: the forward outside it already armed the reducer, so gradients are synchronised
    /// at every accumulation step, which is slow but looks right (modded-nanogpt#31,
    /// ClassyVision#706, speechbrain#1802, LVSM#22). Setting the flag after the forward makes
    /// each backward pass use the previous step's value: the first micro-step synchronises and
    /// the last one does not (build-nanogpt#30).
    ///
    /// A `with` block is reported when it calls `.backward(...)` and nothing in it may run
    /// `W`'s forward: no call of `W` (or of a name holding the same wrapper), of a method or
    /// submodule of `W` or of the object it belongs to (`self.compute_forward(...)` when `W` is
    /// `self.model`) other than bookkeeping (`scale`, `step`, `zero_grad`, ...), no call that
    /// is passed `W`, and no call of a function of the same file (which might run it). A context
    /// manager held in a name first (`ctx = model.no_sync() if accumulating else nullcontext()`,
    /// then `with ctx:`) counts as the `no_sync()` it may be. Not reported: a forward-only
    /// `no_sync()` with the backward outside (correct for DDP, which decides in `forward`);
    /// `trigger_sync_in_backward`; a flag set before the forward. Out of reach: `no_sync()` whose
    /// condition is wrong, and a forward under an unconditional `no_sync()`.
    ///
    /// ## Example
    /// ```python
    /// for i, batch in enumerate(loader):
    ///     loss = model(batch)
    ///     if (i + 1) % accumulation:
    ///         with model.no_sync():
    ///             loss.backward()
    ///     else:
    ///         loss.backward()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// for i, batch in enumerate(loader):
    ///     if (i + 1) % accumulation:
    ///         with model.no_sync():
    ///             loss = model(batch)
    ///             loss.backward()
    ///     else:
    ///         loss = model(batch)
    ///         loss.backward()
    /// ```
    ///
    /// ## References
    /// - [PyTorch: `DistributedDataParallel.no_sync`](https://pytorch.org/docs/stable/generated/torch.nn.parallel.DistributedDataParallel.html#torch.nn.parallel.DistributedDataParallel.no_sync)
    /// - [KellerJordan/modded-nanogpt#31](https://github.com/KellerJordan/modded-nanogpt/pull/31)
    /// - [karpathy/build-nanogpt#30](https://github.com/karpathy/build-nanogpt/pull/30)
    pub static RULE = {
        code: "NMF006",
        name: "forward-outside-no-sync",
        fix: FixAvailability::None,
        could_match: could_match,
        on_stmt: check,
    }
}

/// A `no_sync` block around the backward only, or the flag set after the forward.
pub enum ForwardOutsideNoSync {
    Block { context: String, wrapper: String },
    Flag { wrapper: String },
}

impl Violation for ForwardOutsideNoSync {
    fn message(&self) -> String {
        match self {
            ForwardOutsideNoSync::Block { context, .. } => format!(
                "`with {context}:` holds a backward pass but not the forward that computed its loss: DDP decides in `forward` whether to synchronise, so gradients are synchronised anyway"
            ),
            ForwardOutsideNoSync::Flag { wrapper } => format!(
                "`{wrapper}.require_backward_grad_sync` is set after `{wrapper}`'s forward: DDP reads it in `forward`, so this backward pass uses the previous value"
            ),
        }
    }

    fn fix_title(&self) -> Option<String> {
        Some(match self {
            ForwardOutsideNoSync::Block { wrapper, .. } if wrapper != "self" => {
                format!("Run `{wrapper}`'s forward inside the `with` block too")
            }
            ForwardOutsideNoSync::Block { .. } => {
                "Run the forward inside the `with` block too".to_string()
            }
            ForwardOutsideNoSync::Flag { wrapper } => {
                format!("Set the flag before `{wrapper}`'s forward")
            }
        })
    }
}

/// Every finding spells `no_sync`, `no_backward_sync` or `require_backward_grad_sync`.
fn could_match(source: &str) -> bool {
    const WORDS: [&str; 3] = ["no_sync", "no_backward_sync", "require_backward_grad_sync"];
    // Each word holds `_sync`: a text without it (most) is searched once, not three times.
    let holds_sync = memchr::memmem::find(source.as_bytes(), b"_sync").is_some();
    (holds_sync && WORDS.into_iter().any(|word| has_word(source, word)))
        || could_spell_any(source, &WORDS)
}

fn check(stmt: &Stmt, checker: &mut Checker<'_>) {
    match stmt {
        Stmt::With(with) => check_with(with, checker),
        Stmt::Assign(assign) => check_flag(assign, checker),
        _ => {}
    }
}

fn check_with(with: &ast::StmtWith, checker: &mut Checker<'_>) {
    let Some(function) = checker.wrap_function_here() else {
        return;
    };
    for item in &with.items {
        let Some(wrapper) = no_sync_wrapper(checker, function, &item.context_expr) else {
            continue;
        };
        let calls = calls_in(&with.body);
        let backward = calls.iter().any(|call| {
            matches!(call.func.as_ref(), Expr::Attribute(attribute) if attribute.attr.id.as_str() == "backward")
        });
        if !backward || may_run_forward(checker, function, &wrapper, &calls) {
            continue;
        }
        let source = checker.source();
        let violation = ForwardOutsideNoSync::Block {
            context: source[item.context_expr.range()].to_string(),
            wrapper: source[wrapper.range()].to_string(),
        };
        checker.report(Diagnostic::new(
            &RULE,
            &violation,
            item.context_expr.range(),
        ));
    }
}

/// The wrapper a `with` item stops synchronising: `W` in `W.no_sync()`,
/// `accelerator.no_sync(W)`, `fabric.no_backward_sync(W, ...)`, or in what a name used as the
/// context manager (or called to make one) holds.
fn no_sync_wrapper(
    checker: &mut Checker<'_>,
    function: FunctionId,
    context: &Expr,
) -> Option<Expr> {
    let held = match context {
        Expr::Name(name) => Some(name),
        Expr::Call(call) if call.arguments.is_empty() => match call.func.as_ref() {
            Expr::Name(name) => Some(name),
            _ => None,
        },
        _ => None,
    };
    let candidates: Vec<Expr> = match held {
        Some(name) => checker
            .reaching_values(function, &name.id, context.start())
            .into_iter()
            .cloned()
            .collect(),
        None => vec![context.clone()],
    };
    let source = checker.source();
    let mut pending: Vec<&Expr> = candidates.iter().collect();
    while let Some(candidate) = pending.pop() {
        match candidate {
            Expr::If(if_expr) => {
                pending.push(&if_expr.body);
                pending.push(&if_expr.orelse);
            }
            Expr::BoolOp(bool_op) => pending.extend(bool_op.values.iter()),
            // `ctx = model.no_sync`, then `with ctx():`.
            Expr::Attribute(attribute)
                if held.is_some() && attribute.attr.id.as_str() == "no_sync" =>
            {
                return Some((*attribute.value).clone());
            }
            Expr::Call(call) => {
                let Expr::Attribute(attribute) = call.func.as_ref() else {
                    continue;
                };
                let receiver = &source[attribute.value.range()];
                match attribute.attr.id.as_str() {
                    "no_sync" if names_an_accelerator(receiver) => {
                        if let Some(wrapper) = call.arguments.args.first() {
                            return Some(wrapper.clone());
                        }
                    }
                    "no_sync" => return Some((*attribute.value).clone()),
                    "no_backward_sync" if names_a_fabric(receiver) => {
                        if let Some(wrapper) = call.arguments.args.first() {
                            return Some(wrapper.clone());
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    None
}

/// Methods that do bookkeeping around a backward pass, never a forward: a call of one of them
/// on the wrapper's object does not run the wrapper.
fn is_bookkeeping(method: &str) -> bool {
    matches!(
        method,
        "backward"
            | "scale"
            | "unscale_"
            | "step"
            | "update"
            | "item"
            | "detach"
            | "mean"
            | "sum"
            | "div"
            | "mul"
            | "clone"
            | "size"
            | "numel"
            | "append"
            | "info"
            | "debug"
            | "warning"
            | "synchronize"
            | "all_reduce"
            | "barrier"
    ) || is_non_computing_method(method)
}

/// Whether one of `calls` may run `wrapper`'s forward (see the rule's documentation).
fn may_run_forward(
    checker: &mut Checker<'_>,
    function: FunctionId,
    wrapper: &Expr,
    calls: &[&ast::ExprCall],
) -> bool {
    let source = checker.source();
    let written = &source[wrapper.range()];
    let root = root_name(wrapper).map(|name| name.id.as_str());
    let wrapper_state = checker.wrap_state(function, wrapper);
    let index = checker.wrap_index();
    for call in calls {
        let callee = call.func.as_ref();
        if &source[callee.range()] == written {
            return true;
        }
        if let Expr::Attribute(attribute) = callee
            && root.is_some()
            && root_name(callee).map(|name| name.id.as_str()) == root
            && !is_bookkeeping(attribute.attr.id.as_str())
        {
            return true;
        }
        let passed = call
            .arguments
            .args
            .iter()
            .chain(call.arguments.keywords.iter().map(|keyword| &keyword.value))
            .any(|argument| {
                let text = &source[argument.range()];
                text == written || Some(text) == root
            });
        if passed || index.resolved_calls.contains_key(&call.start()) {
            return true;
        }
        if same_wrapper(&wrapper_state, &checker.wrap_state(function, callee)) {
            return true;
        }
    }
    false
}

/// Whether two states name the same wrapper (made by the same call).
fn same_wrapper(wrapper: &WrapState, other: &WrapState) -> bool {
    wrapper.atoms().iter().any(|mine| {
        matches!(mine, Wrap::Wrapper(..))
            && mine.origin().created.is_some()
            && other.atoms().iter().any(|theirs| {
                matches!(theirs, Wrap::Wrapper(..))
                    && theirs.origin().created == mine.origin().created
            })
    })
}

/// `a` in `a.b.c`.
fn root_name(expr: &Expr) -> Option<&ast::ExprName> {
    match expr {
        Expr::Name(name) => Some(name),
        Expr::Attribute(attribute) => root_name(&attribute.value),
        _ => None,
    }
}

/// Every call in `body`, not in nested functions, classes or lambdas.
fn calls_in(body: &[Stmt]) -> Vec<&ast::ExprCall> {
    #[derive(Default)]
    struct Calls<'a> {
        found: Vec<&'a ast::ExprCall>,
        depth: usize,
    }
    impl<'a> Visitor<'a> for Calls<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.depth > 200 || matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                return;
            }
            self.depth += 1;
            stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_stmt(self, stmt));
            self.depth -= 1;
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.depth > 200 || matches!(expr, Expr::Lambda(_)) {
                return;
            }
            if let Expr::Call(call) = expr {
                self.found.push(call);
            }
            self.depth += 1;
            stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_expr(self, expr));
            self.depth -= 1;
        }
    }
    let mut calls = Calls::default();
    calls.visit_body(body);
    calls.found
}

/// `W.require_backward_grad_sync = ...` after `W(...)` and before the backward pass, with no
/// call of `W` in between: the forward read the old value.
fn check_flag(assign: &ast::StmtAssign, checker: &mut Checker<'_>) {
    let [Expr::Attribute(target)] = assign.targets.as_slice() else {
        return;
    };
    if target.attr.id.as_str() != "require_backward_grad_sync" {
        return;
    }
    let Some(function) = checker.wrap_function_here() else {
        return;
    };
    let segment: TextRange = checker.backward_segment(function, assign.start());
    let index = checker.wrap_index();
    let facts = index.function(function);
    if !facts.backwards.contains(&segment.end()) {
        return;
    }
    let source = checker.source();
    let written = &source[target.value.range()];
    let wrapper_state = checker.wrap_state(function, &target.value);
    let mut forward_before = false;
    for call in &facts.calls {
        if !segment.contains(call.start()) {
            continue;
        }
        let runs_wrapper = &source[call.func.range()] == written
            || same_wrapper(&wrapper_state, &checker.wrap_state(function, &call.func));
        if !runs_wrapper {
            continue;
        }
        if call.start() < assign.start() {
            forward_before = true;
        } else if call.start() > assign.end() {
            // The forward comes after the flag: the flag is in time.
            return;
        }
    }
    if forward_before {
        let violation = ForwardOutsideNoSync::Flag {
            wrapper: written.to_string(),
        };
        checker.report(Diagnostic::new(&RULE, &violation, assign.range()));
    }
}
