use memchr::memmem;
use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use crate::analysis::forward_call::{could_spell, dot_before, is_call_of, is_own_instance};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::infer::{Ty, Verdict};

declare_rule! {
    /// ## What it does
    /// Checks for a module's bound `forward` handed to a function that calls it later
    /// (`checkpoint`, `functools.partial`, `map`, `torch.func` transforms), which skips the
    /// module's hooks just as calling it directly does.
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
    /// `func=`). Receivers are typed as NMF001 types them: objects known not to be modules are
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
    /// methods, calling `self` would run its hooks a second time).
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

/// Every finding reads the attribute `forward` without calling it: a `.` before the word
/// (blanks, line breaks and continuations allowed between them) and no `(` after it. When a
/// comment may stand between the `.` and the word, the file passes; so does any file that may
/// spell `forward` with characters that NFKC-normalise to it.
fn could_match(source: &str) -> bool {
    has_uncalled_forward_attribute(source.as_bytes()) || could_spell(source, "forward")
}

fn has_uncalled_forward_attribute(bytes: &[u8]) -> bool {
    let is_identifier = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
    let is_blank = |byte: u8| matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\\' | b'\x0c');
    memmem::find_iter(bytes, b"forward").any(|start| {
        let end = start + b"forward".len();
        if (start > 0 && is_identifier(bytes[start - 1]))
            || bytes.get(end).is_some_and(|&byte| is_identifier(byte))
        {
            return false;
        }
        let before = bytes[..start]
            .iter()
            .rposition(|&byte| !is_blank(byte))
            .map_or(0, |at| at + 1);
        let attribute = before > 0 && bytes[before - 1] == b'.';
        // `m.  # note` then `forward` on the next line (inside brackets): the comment hides
        // the dot from this backwards scan, so such a file passes. The line before is only
        // searched then: searching it for every `.forward` of a long line took quadratic time.
        let after_comment = !attribute && bytes[before..start].contains(&b'\n') && {
            let line_start = bytes[..before].iter().rposition(|&byte| byte == b'\n');
            bytes[line_start.map_or(0, |at| at + 1)..before].contains(&b'#')
        };
        if !attribute && !after_comment {
            return false;
        }
        let next = bytes[end..].iter().find(|&&byte| !is_blank(byte));
        next != Some(&b'(')
    })
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
    let Some(attribute) = passed_function(call).and_then(|argument| match argument {
        Expr::Attribute(attribute) if attribute.attr.id.as_str() == "forward" => Some(attribute),
        _ => None,
    }) else {
        return;
    };
    if !matches!(checker.infer_type(&call.func), Ty::External(qualified) if CALLERS.contains(&&*qualified))
    {
        return;
    }
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
        let applicability = if verdict == Verdict::Module && !is_own_instance(receiver, checker) {
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
