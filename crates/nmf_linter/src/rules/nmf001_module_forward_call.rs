use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use crate::analysis::forward_call::{
    ForwardCall, could_contain_forward_call, is_call_of, is_own_instance, receiver_note,
};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::infer::{Ty, Verdict};
use ruff_diagnostics::{Applicability, Fix};

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
    /// method's first parameter; the same inside a function the project installs as some
    /// object's `forward` (`Head.forward = patched`, `m.forward = types.MethodType(patched, m)`,
    /// `setattr(m, "forward", patched)`), where `type(self).forward(self, ...)` continues it
    /// too, and inside a private helper (`_name`) that only the class's own `forward` calls.
    /// In any other function these calls are reported. Also not reported: `self.forward(...)`
    /// inside the class's own `forward` (a retry or a recursion, inside the call whose hooks
    /// fired: `self(...)` would fire them twice) and inside its `__call__` (the dispatch that
    /// replaces `nn.Module.__call__`, which NMF003 reports); an unbound `Cls.forward(obj, ...)`
    /// whose `obj` is known not to be a module (a `types.SimpleNamespace` standing in for
    /// one: there are no hooks to skip). Reading, assigning or passing `model.forward` is not
    /// a call and is not reported either.
    ///
    /// Receivers are typed where the code says what they are, across the whole project:
    /// `self` in methods, `x = C(...)`, `self.x = C(...)`, annotations (string ones too),
    /// elements of `list[C]`, `dict[K, C]`, `Optional[C]` and of tables of classes, return
    /// annotations, and imports of the project's own modules. A receiver that is provably not
    /// an `nn.Module` is not reported: it merely has a method called `forward`. That is a class
    /// whose bases are all resolved and none a module (a plain class, `Generic`, `NamedTuple`,
    /// `Enum`, a TorchScript `torch.classes` object), and, for `self` or a value declared of
    /// that class (which may be a subclass), no class of the project that derives from it is
    /// one; a Python module object (a compiled extension such as `fused_layer_norm_cuda`, what
    /// `torch.utils.cpp_extension.load` returns); an object of a package that makes no PyTorch
    /// modules (OpenCV, NumPy, ONNX Runtime, TensorRT, OpenVINO, TensorFlow and Keras, JAX and
    /// Flax, scikit-learn, Pillow, pandas, ..., and those listed in `not-module-packages`). A
    /// mixin's `self.forward(x)` is reported when a module of the project mixes it in, and so
    /// is `self.forward(x)` in a class that defines no `forward` (only a subclass's can run). A
    /// receiver nmf cannot type is reported, unless `known-modules-only` is set.
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
    /// ## Fix safety
    /// The fix removes `.forward` (and any `.__call__`), or replaces `getattr(m, "forward")`
    /// with `m`, so the module is called through `__call__`; every other byte stays.
    ///
    /// It is safe when nmf knows the receiver is an `nn.Module` and it is another module than
    /// the one whose method makes the call: its hooks starting to run is what the rule is
    /// for. It is unsafe when the receiver is `self` inside the module's own methods (calling
    /// `self(...)` re-enters the module's own hooks, which may already be running), and when
    /// nmf cannot tell the receiver's type (an object that merely has a `forward` method may
    /// not be callable).
    ///
    /// There is no fix for unbound calls (`Cls.forward(obj, x)`, `type(self).forward(self, x)`),
    /// where calling the receiver would construct an object or run a different method, nor
    /// for `super().forward(...)` outside `forward`, whose replacement `self(...)` would run
    /// this class's `forward` instead of the parent's, nor for `getattr` with a default or a
    /// comment inside, which the fix would drop, nor inside a self-documenting f-string field
    /// (`f"{m.forward(x)=}"`), which prints the call's source text: the fix would change what
    /// the program prints.
    ///
    /// ## References
    /// - [PyTorch: `nn.Module.register_forward_pre_hook`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_pre_hook)
    /// - [PyTorch: FSDP2 `fully_shard`](https://pytorch.org/docs/stable/distributed.fsdp.fully_shard.html)
    /// - [DeepSpeed: ZeRO-3](https://deepspeed.readthedocs.io/en/latest/zero3.html)
    /// - [PyTorch: DistributedDataParallel notes](https://pytorch.org/docs/stable/notes/ddp.html)
    pub static RULE = {
        code: "NMF001",
        name: "module-forward-call",
        fix: FixAvailability::Sometimes,
        could_match: could_contain_forward_call,
        on_expr: check,
    }
}

/// The message users grep for; it is the original flake8 plugin's, word for word.
pub const MESSAGE: &str =
    "Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run";

/// A direct call of a module's `forward`.
pub struct ModuleForwardCall {
    /// The receiver as written, when short enough to quote in the help line.
    pub receiver: Option<String>,
    /// The call is unbound (`Cls.forward(obj, ...)`) or goes through `super()`: calling the
    /// receiver would run something else, so there is no fix.
    pub fixable: bool,
}

impl Violation for ModuleForwardCall {
    fn message(&self) -> String {
        MESSAGE.to_string()
    }

    fn fix_title(&self) -> Option<String> {
        Some(match (&self.receiver, self.fixable) {
            (Some(receiver), true) => {
                format!("Call `{receiver}(...)` instead, so that its hooks run")
            }
            (None, true) => "Call the module itself instead, so that its hooks run".to_string(),
            (_, false) => {
                "Call the module instance itself, `module(...)`, so that its hooks run".to_string()
            }
        })
    }
}

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Some((forward, ty, judgement)) = ForwardCall::analyze(expr, checker) else {
        return;
    };
    let verdict = judgement.verdict;
    let call = forward.call;
    let reported = match verdict {
        Verdict::Module => true,
        Verdict::Unknown => !checker.settings().known_modules_only,
        // NMF002 reports autograd functions; objects that are provably not modules merely
        // have a method called `forward`.
        Verdict::AutogradFunction | Verdict::NotModule => false,
    };
    let reported_as = reported.then_some(RULE.code);
    forward.explain(checker, &ty, &judgement, reported_as);
    if !reported {
        return;
    }
    let receiver = forward.receiver;
    let fixable =
        !is_class_like(&ty) && !is_call_of(receiver, "type") && !is_call_of(receiver, "super");
    // `f"{m.forward(x)=}"` prints the call's text: the fix would change the output.
    let has_edits = fixable && !checker.in_self_documenting_field();
    let receiver_text = &checker.source()[receiver.range()];
    let violation = ModuleForwardCall {
        receiver: (receiver_text.len() <= 40 && !receiver_text.contains(['\n', '\r']))
            .then(|| receiver_text.to_string()),
        fixable,
    };
    let range = TextRange::new(call.start(), call.func.end());
    let mut diagnostic = Diagnostic::new(&RULE, &violation, range);
    if has_edits && let Some(edits) = forward.call_receiver_edits(checker) {
        let applicability = if verdict == Verdict::Module && !is_own_instance(receiver, checker) {
            Applicability::Safe
        } else {
            Applicability::Unsafe
        };
        let mut edits = edits.into_iter();
        if let Some(first) = edits.next() {
            diagnostic = diagnostic.with_fix(Fix::applicable_edits(first, edits, applicability));
        }
    }
    if let Some(note) = receiver_note(&ty, &judgement) {
        diagnostic = diagnostic.with_note(note);
    }
    checker.report(diagnostic);
}

/// The receiver is a class (`Cls.forward(obj, x)`): the call is unbound.
fn is_class_like(ty: &Ty) -> bool {
    matches!(ty, Ty::Class(..) | Ty::External(_))
}
