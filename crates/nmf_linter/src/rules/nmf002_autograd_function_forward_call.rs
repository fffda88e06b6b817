use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use crate::analysis::forward_call::{ForwardCall, could_contain_forward_call, receiver_note};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::infer::Verdict;

declare_rule! {
    /// ## What it does
    /// Checks for calls of `forward()` on a subclass of `torch.autograd.Function`, which run
    /// the computation outside autograd.
    ///
    /// ## Why is this bad?
    /// A custom autograd function is applied with `Fn.apply(...)`: `apply` creates the
    /// autograd node, passes a context object to `forward`, and connects `backward` to the
    /// graph. `Fn.forward(ctx, ...)` runs the forward computation alone: no node is recorded,
    /// the custom `backward` never runs, and gradients through it are missing or wrong, without
    /// an error.
    ///
    /// nmf knows a class is an autograd function when its bases lead to
    /// `torch.autograd.Function` through classes defined in the checked project.
    /// Inside a `forward` method, `super().forward(ctx, ...)` and `Base.forward(ctx, ...)`
    /// continue the override chain and are not reported.
    ///
    /// ## Example
    /// ```python
    /// import torch
    ///
    /// class Exp(torch.autograd.Function):
    ///     @staticmethod
    ///     def forward(ctx, x):
    ///         result = x.exp()
    ///         ctx.save_for_backward(result)
    ///         return result
    ///
    ///     @staticmethod
    ///     def backward(ctx, grad):
    ///         (result,) = ctx.saved_tensors
    ///         return grad * result
    ///
    /// y = Exp.forward(None, x)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// y = Exp.apply(x)
    /// ```
    ///
    /// nmf offers no automatic fix: `apply` takes the inputs without the context argument,
    /// so the argument list has to change, and which argument is the context (and whether the
    /// code relied on the value it passed there) is for a person to decide.
    ///
    /// ## References
    /// - [PyTorch: Extending `torch.autograd`](https://pytorch.org/docs/stable/notes/extending.html#extending-torch-autograd)
    /// - [PyTorch: `torch.autograd.Function`](https://pytorch.org/docs/stable/autograd.html#function)
    pub static RULE = {
        code: "NMF002",
        name: "autograd-function-forward-call",
        fix: FixAvailability::None,
        could_match: could_contain_forward_call,
        on_expr: check,
    }
}

/// A direct call of an autograd function's `forward`.
pub struct AutogradFunctionForwardCall;

impl Violation for AutogradFunctionForwardCall {
    fn message(&self) -> String {
        "Do not call .forward() on an autograd Function; use Fn.apply(inputs) so autograd records the backward".to_string()
    }

    fn fix_title(&self) -> Option<String> {
        Some("Call `Fn.apply(...)` without the context argument".to_string())
    }
}

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Some((forward, ty, judgement)) = ForwardCall::analyze(expr, checker) else {
        return;
    };
    let verdict = judgement.verdict;
    let call = forward.call;
    if verdict != Verdict::AutogradFunction {
        return;
    }
    forward.explain(checker, &ty, &judgement, Some(RULE.code));
    let mut diagnostic = Diagnostic::new(
        &RULE,
        &AutogradFunctionForwardCall,
        TextRange::new(call.start(), call.func.end()),
    );
    if let Some(note) = receiver_note(&ty, &judgement) {
        diagnostic = diagnostic.with_note(note);
    }
    checker.report(diagnostic);
}
