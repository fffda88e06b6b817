use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_python_ast::name::Name;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::FxHashSet;

use crate::analysis::forward_call::{
    could_spell, dot_before, has_uncalled_forward_attribute, is_call_of, is_own_instance,
    may_read_forward_uncalled,
};
use crate::checker::{Checker, MemoKey};
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::infer::{Ty, Verdict};
use crate::semantic::summary::Binding;
use crate::semantic::values::ValueExpr;

declare_rule! {
    /// ## What it does
    /// Checks for a module's bound `forward` handed to a function that calls it later
    /// (`checkpoint`, `functools.partial`, `map`, `torch.func` transforms, torch.fx's
    /// `call_module`) or stored and called later, which skips the module's hooks just as
    /// calling it directly does.
    ///
    /// ## Why is this bad?
    /// `m.forward` is the bare method: whoever calls it later runs `forward` without
    /// `nn.Module.__call__`, so no forward pre-hook, forward hook or backward hook runs — FSDP2
    /// does not gather the parameters, DeepSpeed ZeRO-3 does not fetch the partitioned weights,
    /// `weight_norm` does not recompute the weight. Activation checkpointing is where this is
    /// written most: `checkpoint(self.block.forward, x)` trains on stale or missing weights
    /// without an error. Passing the module itself, `checkpoint(self.block, x)`, runs the same
    /// computation through `__call__`.
    ///
    /// Reported when the function receiving `.forward` is one of
    /// `torch.utils.checkpoint.checkpoint` and `checkpoint_sequential`, `functools.partial`,
    /// `map`, `torch.vmap`, `torch.func.vmap`, `grad`, `grad_and_value`, `jacrev`, `jacfwd`,
    /// `hessian`, `vjp`, `jvp` (and `functorch`'s), or `torch.autograd.functional.jacobian`,
    /// `hessian`, `vjp`, `jvp`, `vhp`, `hvp`, as the first argument (or `function=` /
    /// `func=`), and `tracer.call_module(m, m.forward, args, kwargs)`, torch.fx's protocol,
    /// which runs the forward it is given for modules it traces through.
    ///
    /// Also reported: a module's bound `forward` stored in a name or in an attribute of
    /// `self`, and called later in the same function (or, for `self.x`, in a method of the
    /// same class): `self.proxy_forward = proxy.forward` then `self.proxy_forward(x)`. Not
    /// when the call is the patch idiom, inside a function installed as a `forward`
    /// (`orig = m.forward`, then `m.forward = wrapper`, `monkeypatch.setattr(m, "forward",
    /// wrapper)` or `patch.object(m, "forward", side_effect=wrapper)`, where `wrapper` calls
    /// `orig` after the hooks fired), nor when the stored method is only read.
    ///
    /// Receivers are typed as NMF001 types them: objects known not to be modules are
    /// not reported, unknown ones are unless `known-modules-only` is set. Only reading the
    /// method is fine (`inspect.signature(m.forward)`, `functools.wraps(m.forward)`), as is
    /// `torch.compile(m.forward)` and the override chain (`super().forward`).
    ///
    /// ## Example
    /// ```python
    /// from torch.utils.checkpoint import checkpoint
    ///
    /// hidden = checkpoint(self.block.forward, hidden, use_reentrant=False)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// hidden = checkpoint(self.block, hidden, use_reentrant=False)
    /// ```
    ///
    /// ## Fix safety
    /// The fix deletes `.forward`. It is safe when the receiver is known to be an `nn.Module`
    /// (calling it runs `forward` through its hooks), and unsafe when nmf could not tell what
    /// the receiver is, or when it is the method's own `self` (inside the module's own
    /// methods, calling `self` would run its hooks a second time), or when the function is
    /// torch.fx's `call_module` (tracing through the module's hooks may fail). A stored
    /// `forward` called later has no fix: the place that stores it is elsewhere.
    ///
    /// ## References
    /// - [PyTorch: `torch.utils.checkpoint`](https://pytorch.org/docs/stable/checkpoint.html)
    /// - [PyTorch: `torch.func`](https://pytorch.org/docs/stable/func.html)
    /// - [PyTorch: module hooks](https://pytorch.org/docs/stable/notes/modules.html#module-hooks)
    pub static RULE = {
        code: "NMF004",
        name: "forward-passed-as-callable",
        fix: FixAvailability::Sometimes,
        could_match: could_match,
        on_expr: check,
    }
}

/// A module's `forward` passed to something that calls it later.
pub struct ForwardPassedAsCallable {
    /// The function it is passed to, as written (when short).
    pub callee: Option<String>,
    /// The receiver as written (when short).
    pub receiver: Option<String>,
}

impl Violation for ForwardPassedAsCallable {
    fn message(&self) -> String {
        match &self.callee {
            Some(callee) => format!(
                "Do not pass .forward to `{callee}`; pass the module itself so its hooks run"
            ),
            None => "Do not pass .forward to a function that calls it; pass the module itself so its hooks run".to_string(),
        }
    }

    fn fix_title(&self) -> Option<String> {
        Some(match &self.receiver {
            Some(receiver) => format!("Pass `{receiver}` instead of `{receiver}.forward`"),
            None => "Pass the module instead of its `.forward`".to_string(),
        })
    }
}

/// A module's bound `forward`, stored earlier, called.
pub struct StoredForwardCalled {
    /// The callee as written (when short): the name or `self.x` holding the method.
    pub callee: Option<String>,
}

impl Violation for StoredForwardCalled {
    fn message(&self) -> String {
        match &self.callee {
            Some(callee) => format!(
                "`{callee}` holds a module's bound .forward; calling it skips the module's hooks"
            ),
            None => "This holds a module's bound .forward; calling it skips the module's hooks"
                .to_string(),
        }
    }

    fn fix_title(&self) -> Option<String> {
        Some("Store the module itself and call it, so that its hooks run".to_string())
    }
}

/// Every finding reads the attribute `forward` without calling it: a `.` before the word
/// (blanks, line breaks and continuations allowed between them) and no `(` after it. When a
/// comment may stand between the `.` and the word, the file passes; so does any file that may
/// spell `forward` with characters that NFKC-normalise to it. A file whose bytes have such a
/// read passes only when its tokens have one too: most are prose, `` [`Model.forward`] `` in
/// docstrings and comments.
fn could_match(source: &str) -> bool {
    (has_uncalled_forward_attribute(source.as_bytes()) && may_read_forward_uncalled(source))
        || could_spell(source, "forward")
}

/// Functions that call the function they are given, later; their first parameter is it.
const CALLERS: &[&str] = &[
    "torch.utils.checkpoint.checkpoint",
    "torch.utils.checkpoint.checkpoint_sequential",
    "functools.partial",
    "builtins.map",
    "torch.vmap",
    "torch.func.vmap",
    "torch.func.grad",
    "torch.func.grad_and_value",
    "torch.func.jacrev",
    "torch.func.jacfwd",
    "torch.func.hessian",
    "torch.func.vjp",
    "torch.func.jvp",
    "functorch.vmap",
    "functorch.grad",
    "functorch.grad_and_value",
    "functorch.jacrev",
    "functorch.jacfwd",
    "functorch.hessian",
    "functorch.vjp",
    "functorch.jvp",
    "torch.autograd.functional.jacobian",
    "torch.autograd.functional.hessian",
    "torch.autograd.functional.vjp",
    "torch.autograd.functional.jvp",
    "torch.autograd.functional.vhp",
    "torch.autograd.functional.hvp",
];

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Expr::Call(call) = expr else {
        return;
    };
    if let Some(traced) = fx_call_module(call, checker) {
        report_passed(checker, call, traced, false);
        return;
    }
    let Some(attribute) = passed_function(call).and_then(|argument| match argument {
        Expr::Attribute(attribute) if attribute.attr.id.as_str() == "forward" => Some(attribute),
        _ => None,
    }) else {
        check_stored_forward_call(call, checker);
        return;
    };
    if !matches!(checker.infer_type(&call.func), Ty::External(qualified) if CALLERS.contains(&&*qualified))
    {
        return;
    }
    report_passed(checker, call, attribute, true);
}

/// `tracer.call_module(m, m.forward, args, kwargs)`: torch.fx's protocol (`Tracer.call_module`)
/// runs the forward it is given, without the hooks, for every module it traces through.
fn fx_call_module<'a>(
    call: &'a ast::ExprCall,
    checker: &Checker<'_>,
) -> Option<&'a ast::ExprAttribute> {
    let Expr::Attribute(callee) = call.func.as_ref() else {
        return None;
    };
    if callee.attr.id.as_str() != "call_module" {
        return None;
    }
    let [module, Expr::Attribute(forward), ..] = &*call.arguments.args else {
        return None;
    };
    let same_module = checker.source()[module.range()] == checker.source()[forward.value.range()];
    (forward.attr.id.as_str() == "forward" && same_module).then_some(forward)
}

/// Reports `attribute` (`m.forward`) handed to `call`, unless its receiver is not a module;
/// `safe_fix` when passing the module itself keeps what the call does.
fn report_passed(
    checker: &mut Checker<'_>,
    call: &ast::ExprCall,
    attribute: &ast::ExprAttribute,
    safe_fix: bool,
) {
    let receiver = attribute.value.as_ref();
    // The override chain (`super().forward`, `Base.forward`) runs a parent's forward on a
    // module whose hooks already fired; a class's `forward` is unbound, not a module's.
    if is_call_of(receiver, "super") || is_call_of(receiver, "type") {
        return;
    }
    let ty = checker.infer_type(receiver);
    if matches!(ty, Ty::Class(..) | Ty::External(_)) {
        return;
    }
    let verdict = checker.judge_method_call(&ty, "forward").verdict;
    let reported = match verdict {
        Verdict::Module => true,
        Verdict::Unknown => !checker.settings().known_modules_only,
        Verdict::NotModule | Verdict::AutogradFunction => false,
    };
    if !reported {
        return;
    }
    let quote =
        |text: &str| (text.len() <= 40 && !text.contains(['\n', '\r'])).then(|| text.to_string());
    let violation = ForwardPassedAsCallable {
        callee: quote(&checker.source()[call.func.range()]),
        receiver: quote(&checker.source()[receiver.range()]),
    };
    let mut diagnostic = Diagnostic::new(&RULE, &violation, attribute.range());
    if let Some(dot) = dot_before(checker.tokens(), attribute.attr.start()) {
        let applicability =
            if safe_fix && verdict == Verdict::Module && !is_own_instance(receiver, checker) {
                Applicability::Safe
            } else {
                Applicability::Unsafe
            };
        diagnostic = diagnostic.with_fix(Fix::applicable_edits(
            Edit::range_deletion(dot),
            [Edit::range_deletion(attribute.attr.range())],
            applicability,
        ));
    }
    checker.report(diagnostic);
}

/// The names and `self` attributes this file assigns a `forward` attribute to
/// (`fwd = m.forward`, `self.proxy_forward = proxy.forward`): the only callees that may hold
/// a stored bound `forward`.
#[derive(Default)]
struct StoredForwards {
    names: FxHashSet<Name>,
    attributes: FxHashSet<Name>,
}

fn stored_forwards(suite: &[Stmt]) -> StoredForwards {
    struct Finder {
        found: StoredForwards,
        depth: usize,
    }
    impl<'a> Visitor<'a> for Finder {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            // Deeper than this is generated code: a finding there is not worth the stack.
            if self.depth > 128 {
                return;
            }
            let (targets, value): (&[Expr], Option<&Expr>) = match stmt {
                Stmt::Assign(assign) => (&assign.targets, Some(&assign.value)),
                Stmt::AnnAssign(assign) => (
                    std::slice::from_ref(assign.target.as_ref()),
                    assign.value.as_deref(),
                ),
                _ => (&[], None),
            };
            let stores_forward = matches!(value, Some(Expr::Attribute(attribute))
                if attribute.attr.id.as_str() == "forward");
            if stores_forward {
                for target in targets {
                    match target {
                        Expr::Name(name) => {
                            self.found.names.insert(name.id.clone());
                        }
                        Expr::Attribute(attribute) if attribute.value.is_name_expr() => {
                            self.found.attributes.insert(attribute.attr.id.clone());
                        }
                        _ => {}
                    }
                }
            }
            self.depth += 1;
            visitor::walk_stmt(self, stmt);
            self.depth -= 1;
        }

        fn visit_expr(&mut self, _expr: &'a Expr) {}
    }
    let mut finder = Finder {
        found: StoredForwards::default(),
        depth: 0,
    };
    finder.visit_body(suite);
    finder.found
}

/// `v(...)` where `v` is a local name, or an attribute of the method's `self`, that holds a
/// bound `forward` stored in the same function or class.
fn check_stored_forward_call(call: &ast::ExprCall, checker: &mut Checker<'_>) {
    let suite = checker.suite();
    let stored = checker.memo(MemoKey::File, |_| stored_forwards(suite));
    let receivers: Vec<(ValueExpr, Ty)> = match call.func.as_ref() {
        Expr::Name(name) if stored.names.contains(&name.id) => {
            let Some(bindings) = checker.local_bindings(&name.id) else {
                return;
            };
            let stored: Vec<ValueExpr> = bindings
                .into_iter()
                .filter_map(|binding| match binding {
                    Binding::Value(ValueExpr::Attribute(receiver, attribute))
                        if attribute.as_str() == "forward" =>
                    {
                        Some(*receiver)
                    }
                    _ => None,
                })
                .collect();
            stored
                .into_iter()
                .map(|receiver| {
                    let ty = checker.infer_value(&receiver);
                    (receiver, ty)
                })
                .collect()
        }
        Expr::Attribute(attribute) if stored.attributes.contains(&attribute.attr.id) => {
            let Some(function) = checker.semantic().enclosing_function() else {
                return;
            };
            let (Some(class), Some(self_name)) = (function.class, function.first_parameter())
            else {
                return;
            };
            if !matches!(attribute.value.as_ref(), Expr::Name(name) if name.id.as_str() == self_name)
            {
                return;
            }
            let attribute_name = attribute.attr.id.clone();
            checker
                .instance_attribute_values(class, &attribute_name)
                .into_iter()
                .filter_map(|value| match value {
                    ValueExpr::Attribute(receiver, attribute)
                        if attribute.as_str() == "forward" =>
                    {
                        Some(*receiver)
                    }
                    _ => None,
                })
                .map(|receiver| {
                    let ty = checker.instance_value(class, &receiver);
                    (receiver, ty)
                })
                .collect()
        }
        _ => return,
    };
    if receivers.is_empty() {
        return;
    }
    // The patch idiom: `wrapper` calls the original after the hooks fired for the call that
    // reached it (`m.forward = wrapper`).
    if let Some(function) = checker.semantic().enclosing_function()
        && checker.is_installed_as_forward(function.function)
    {
        return;
    }
    let mut verdict = Verdict::NotModule;
    let mut shown = Vec::new();
    for (receiver, ty) in &receivers {
        // A parent's forward (`orig = super().forward`) is the override chain's.
        if matches!(receiver, ValueExpr::Call(callee, _)
            if matches!(callee.as_ref(), ValueExpr::Name(name) if name.as_str() == "super"))
        {
            continue;
        }
        verdict = verdict.max(checker.judge_method_call(ty, "forward").verdict);
        shown.push(format!("`{ty}`"));
    }
    if shown.is_empty() {
        return;
    }
    let reported = match verdict {
        Verdict::Module => true,
        Verdict::Unknown => !checker.settings().known_modules_only,
        Verdict::NotModule | Verdict::AutogradFunction => false,
    };
    let callee_text = checker.source()[call.func.range()].to_string();
    let kind = match verdict {
        Verdict::Module => "an nn.Module",
        Verdict::NotModule => "not an nn.Module",
        Verdict::AutogradFunction => "an autograd Function",
        Verdict::Unknown => "of unknown type",
    };
    let types = shown.join(" | ");
    checker.explain(
        call.range(),
        || format!("`{callee_text}` holds a stored bound `forward` of {types}, {kind}"),
        reported.then_some(RULE.code),
    );
    if !reported {
        return;
    }
    let violation = StoredForwardCalled {
        callee: (callee_text.len() <= 40 && !callee_text.contains(['\n', '\r']))
            .then_some(callee_text),
    };
    checker.report(Diagnostic::new(&RULE, &violation, call.func.range()));
}

/// The function argument: the first positional one, or `function=` / `functions=` / `func=`.
fn passed_function(call: &ast::ExprCall) -> Option<&Expr> {
    if let Some(first) = call.arguments.args.first() {
        return (!first.is_starred_expr()).then_some(first);
    }
    call.arguments
        .keywords
        .iter()
        .find(|keyword| {
            keyword
                .arg
                .as_ref()
                .is_some_and(|name| matches!(name.id.as_str(), "function" | "functions" | "func"))
        })
        .map(|keyword| &keyword.value)
}
