use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use crate::analysis::forward_call::{ForwardCall, could_contain_forward_call};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::infer::{Ty, Verdict};

declare_rule! {
    /// ## What it does
    /// Checks for calls of `forward()` on a PyTorch `nn.Module`, which run the module without
    /// the hooks that `nn.Module.__call__` fires.
    ///
    /// ## Why is this bad?
    /// `model.forward(x)` skips `nn.Module.__call__`, and with it every forward pre-hook,
    /// forward hook and backward hook registered on the module. Training code depends on them:
    /// FSDP2's `fully_shard` all-gathers parameters in a forward pre-hook, DeepSpeed ZeRO-3
    /// gathers each submodule's partitioned weights in pre-hooks (a direct call sees empty
    /// weights), `weight_norm` and `spectral_norm` recompute the weight in a pre-hook (a direct
    /// call uses a stale one), and quantization observers, activation capture and profilers
    /// live in hooks. Nothing fails: gradients or weights are silently wrong.
    ///
    /// The same call is reported however it is spelled: `getattr(m, "forward")(x)`,
    /// `m.forward.__call__(x)`, and unbound as `Cls.forward(m, x)` or
    /// `type(m).forward(m, x)`, in lambdas, comprehensions, f-strings and `await`s alike.
    ///
    /// Not reported, because the hooks already ran for this call: inside a method named
    /// `forward`, continuing the override chain with `super().forward(...)`,
    /// `super(Cls, self).forward(...)` or `Base.forward(self, ...)`, where `self` is the
    /// method's first parameter. In any other method these calls are reported. Reading,
    /// assigning or passing `model.forward` is not a call and is not reported either.
    ///
    /// Calls on subclasses of `torch.autograd.Function` bypass autograd rather than hooks;
    /// they are reported as NMF002.
    ///
    /// ## Example
    /// ```python
    /// import torch.nn as nn
    ///
    /// class Block(nn.Module):
    ///     def __init__(self):
    ///         super().__init__()
    ///         self.linear = nn.Linear(4, 4)
    ///
    ///     def forward(self, x):
    ///         return self.linear.forward(x)  # the hooks of `self.linear` never run
    ///
    /// model = Block()
    /// y = model.forward(x)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import torch.nn as nn
    ///
    /// class Block(nn.Module):
    ///     def __init__(self):
    ///         super().__init__()
    ///         self.linear = nn.Linear(4, 4)
    ///
    ///     def forward(self, x):
    ///         return self.linear(x)
    ///
    /// model = Block()
    /// y = model(x)
    /// ```
    ///
    /// ## References
    /// - [PyTorch: `nn.Module.register_forward_pre_hook`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_pre_hook)
    /// - [PyTorch: FSDP2 `fully_shard`](https://pytorch.org/docs/stable/distributed.fsdp.fully_shard.html)
    /// - [DeepSpeed: ZeRO-3](https://deepspeed.readthedocs.io/en/latest/zero3.html)
    /// - [PyTorch: DistributedDataParallel notes](https://pytorch.org/docs/stable/notes/ddp.html)
    pub static RULE = {
        code: "NMF001",
        name: "module-forward-call",
        fix: FixAvailability::None,
        could_match: could_contain_forward_call,
        on_expr: check,
    }
}

/// The message users grep for; it is the original flake8 plugin's, word for word.
pub const MESSAGE: &str =
    "Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run";

/// A direct call of a module's `forward`.
pub struct ModuleForwardCall {
    /// The call is unbound (`Cls.forward(obj, ...)`): the instance is an argument.
    pub unbound: bool,
}

impl Violation for ModuleForwardCall {
    fn message(&self) -> String {
        MESSAGE.to_string()
    }

    fn fix_title(&self) -> Option<String> {
        Some(if self.unbound {
            "Call the module instance itself, `obj(...)`, so that its hooks run".to_string()
        } else {
            "Call the module itself, `model(...)`, so that its hooks run".to_string()
        })
    }
}

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Expr::Call(call) = expr else {
        return;
    };
    let Some(forward) = ForwardCall::find(call, checker) else {
        return;
    };
    if forward.is_override_chain(checker) {
        return;
    }
    let (ty, verdict) = forward.receiver_verdict(checker);
    match verdict {
        // NMF002 reports these.
        Verdict::AutogradFunction => return,
        Verdict::Unknown if checker.settings().known_modules_only => return,
        Verdict::Module | Verdict::Unknown | Verdict::NotModule => {}
    }
    let unbound = matches!(ty, Ty::Class(_) | Ty::External(_))
        || matches!(forward.receiver, Expr::Call(inner)
            if matches!(inner.func.as_ref(), Expr::Name(name) if name.id.as_str() == "type"));
    let mut diagnostic =
        Diagnostic::new(&RULE, &ModuleForwardCall { unbound }, TextRange::new(call.start(), call.func.end()));
    if let Some(note) = receiver_note(&ty, verdict) {
        diagnostic = diagnostic.with_note(note);
    }
    checker.report(diagnostic);
}

/// What nmf inferred about the receiver, for the full output.
pub(crate) fn receiver_note(ty: &Ty, verdict: Verdict) -> Option<String> {
    let kind = match verdict {
        Verdict::Module => "an `nn.Module`",
        Verdict::AutogradFunction => "a `torch.autograd.Function`",
        Verdict::NotModule => "not an `nn.Module`",
        Verdict::Unknown => return None,
    };
    Some(format!("receiver type: `{ty}` ({kind})"))
}
