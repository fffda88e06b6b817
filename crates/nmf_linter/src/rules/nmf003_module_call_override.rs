use memchr::memmem;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::analysis::forward_call::{could_spell, is_blank_across_lines, is_call_of};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::Scope;
use crate::semantic::bindings::first_parameter;
use crate::semantic::infer::Verdict;

declare_rule! {
    /// ## What it does
    /// Checks for `nn.Module` subclasses that define `__call__`, which replaces
    /// `nn.Module.__call__` and with it every hook, for every caller of the module.
    ///
    /// ## Why is this bad?
    /// `nn.Module.__call__` is what runs forward pre-hooks, forward hooks and backward hooks
    /// around `forward`. A subclass that defines its own `__call__` skips all of them whenever
    /// the module is called — `module(x)`, the call every other rule recommends. FSDP2 gathers
    /// parameters in a pre-hook, DDP and DeepSpeed ZeRO-3 rely on hooks, `weight_norm` and
    /// `spectral_norm` recompute weights in one, and quantization observers and profilers live
    /// in them: with the override, these silently stop working. PyTorch found such overrides in
    /// about 1 % of projects (pytorch/pytorch#39633).
    ///
    /// nmf knows a class is a module when its bases lead to `torch.nn.Module` (see NMF001).
    /// A `__call__` whose body only hands over to `super().__call__(...)`,
    /// `nn.Module.__call__(self, ...)` or `self._call_impl(...)` (a common way to annotate the
    /// return type) keeps the hooks and is not reported, nor is one that uses
    /// `super().__call__` anywhere (extra work around the real call, or handing it to a helper
    /// that calls it), nor one that only raises (a container such as `nn.ParameterDict` that
    /// must not be called). A `@staticmethod` `__call__` replaces it too, and so does a
    /// function assigned in the class body (`__call__ = run_head`); assigning another class's
    /// `__call__` or `_call_impl` (`__call__ = nn.Module.__call__`) keeps the hooks, and an
    /// annotation alone (`__call__: Callable[..., Tensor]`) only declares the type.
    ///
    /// ## Example
    /// ```python
    /// class Head(nn.Module):
    ///     def __call__(self, x):
    ///         return self.proj(x).softmax(-1)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// class Head(nn.Module):
    ///     def forward(self, x):
    ///         return self.proj(x).softmax(-1)
    /// ```
    ///
    /// When the class has a `forward` as well, move the extra work of `__call__` into
    /// `forward` (or into a hook), or keep `__call__` only to annotate the types and delegate:
    ///
    /// ```python
    ///     def __call__(self, x: Tensor) -> Tensor:
    ///         return super().__call__(x)
    /// ```
    ///
    /// nmf offers no automatic fix: renaming `__call__` to `forward` changes behaviour when the
    /// class also defines `forward`.
    ///
    /// ## References
    /// - [PyTorch: `nn.Module.register_forward_pre_hook`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_pre_hook)
    /// - [pytorch/pytorch#39633: overriding `__call__` in `nn.Module` subclasses](https://github.com/pytorch/pytorch/issues/39633)
    pub static RULE = {
        code: "NMF003",
        name: "module-call-override",
        fix: FixAvailability::None,
        could_match: could_match,
        on_stmt: check,
    }
}

/// A `def __call__` in an `nn.Module` subclass.
pub struct ModuleCallOverride;

impl Violation for ModuleCallOverride {
    fn message(&self) -> String {
        "Do not define __call__ on an nn.Module; it replaces nn.Module.__call__, so no hooks run; override forward instead".to_string()
    }

    fn fix_title(&self) -> Option<String> {
        Some("Move the body into `forward`, or delegate to `super().__call__(...)`".to_string())
    }
}

/// Every finding defines `__call__` (`def`, blanks — line continuations included —, the
/// name) or assigns it (the name, blanks, then `=` or an annotation's `:`). Files that may
/// spell it with characters that NFKC-normalise to it pass too.
fn could_match(source: &str) -> bool {
    let bytes = source.as_bytes();
    let is_blank = |byte: &u8| is_blank_across_lines(*byte);
    let found = memmem::find_iter(bytes, b"__call__").any(|start| {
        let before = bytes[..start]
            .iter()
            .rposition(|byte| !is_blank(byte))
            .map_or(0, |at| at + 1);
        let defines = before < start && bytes[..before].ends_with(b"def");
        let after = &bytes[start + b"__call__".len()..];
        let next = after.iter().position(|byte| !is_blank(byte));
        let assigns = next.is_some_and(|at| {
            after[at] == b':' || (after[at] == b'=' && after.get(at + 1) != Some(&b'='))
        });
        defines || assigns
    });
    found || could_spell(source, "__call__")
}

fn check(stmt: &Stmt, checker: &mut Checker<'_>) {
    if let Some(target) = assigned_call(stmt) {
        let Some(Scope::Class(class)) = checker.semantic().scopes().next() else {
            return;
        };
        if checker.class_verdict(class) == Verdict::Module {
            checker.report(Diagnostic::new(&RULE, &ModuleCallOverride, target.range()));
        }
        return;
    }
    let Stmt::FunctionDef(function) = stmt else {
        return;
    };
    if function.name.id.as_str() != "__call__" {
        return;
    }
    // Only a method: the class's body defines it directly.
    let Some(Scope::Class(class)) = checker.semantic().scopes().next() else {
        return;
    };
    if delegates_to_module_call(function) || only_raises(function) || reaches_module_call(function)
    {
        return;
    }
    if checker.class_verdict(class) != Verdict::Module {
        return;
    }
    checker.report(Diagnostic::new(
        &RULE,
        &ModuleCallOverride,
        function.name.range(),
    ));
}

/// `__call__ = value` (or `__call__: T = value`) binding something else than another class's
/// `__call__` or `_call_impl` (`nn.Module.__call__`, which runs the hooks): the name assigned.
fn assigned_call(stmt: &Stmt) -> Option<&ast::ExprName> {
    let (targets, value): (&[Expr], &Expr) = match stmt {
        Stmt::Assign(assign) => (&assign.targets, &assign.value),
        Stmt::AnnAssign(ast::StmtAnnAssign {
            target,
            value: Some(value),
            ..
        }) => (std::slice::from_ref(target.as_ref()), value),
        _ => return None,
    };
    let target = targets.iter().find_map(|target| match target {
        Expr::Name(name) if name.id.as_str() == "__call__" => Some(name),
        _ => None,
    })?;
    let keeps_hooks = matches!(value, Expr::Attribute(attribute)
        if matches!(attribute.attr.id.as_str(), "__call__" | "_call_impl"));
    (!keeps_hooks).then_some(target)
}

/// The body uses `super().__call__` (calling it, or handing it to a helper that does, as kornia's
/// input-converting modules do) or `self._call_impl`: the hooks run around the extra work.
fn reaches_module_call(function: &ast::StmtFunctionDef) -> bool {
    let self_name = first_parameter(function).map(|name| name.to_string());
    let mut finder = ModuleCallFinder {
        self_name,
        found: false,
        depth: 0,
    };
    finder.visit_body(&function.body);
    finder.found
}

struct ModuleCallFinder {
    self_name: Option<String>,
    found: bool,
    depth: usize,
}

/// Deeper than this the search gives up (and the rule reports): only generated code nests so.
const MAX_DEPTH: usize = 200;

impl<'a> Visitor<'a> for ModuleCallFinder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.found || self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_stmt(self, stmt));
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found || self.depth > MAX_DEPTH {
            return;
        }
        if let Expr::Attribute(attribute) = expr {
            let is_self = matches!(attribute.value.as_ref(), Expr::Name(name)
                if Some(name.id.as_str()) == self.self_name.as_deref());
            let is_super = is_call_of(&attribute.value, "super");
            self.found = match attribute.attr.id.as_str() {
                "__call__" => is_super,
                "_call_impl" => is_self,
                _ => false,
            };
            if self.found {
                return;
            }
        }
        self.depth += 1;
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_expr(self, expr));
        self.depth -= 1;
    }
}

/// The body (after a docstring) is one `raise`: a container module (as `nn.ParameterDict`
/// does) forbids being called at all, so no call loses its hooks.
fn only_raises(function: &ast::StmtFunctionDef) -> bool {
    matches!(body_without_docstring(function), [Stmt::Raise(_)])
}

fn body_without_docstring(function: &ast::StmtFunctionDef) -> &[Stmt] {
    match function.body.as_slice() {
        [Stmt::Expr(docstring), rest @ ..] if docstring.value.is_string_literal_expr() => rest,
        body => body,
    }
}

/// The body (after a docstring) is one `return` or expression statement that calls
/// `super().__call__(...)`, `super(C, self).__call__(...)`, `Base.__call__(self, ...)` or
/// `self._call_impl(...)`: the hooks still run.
fn delegates_to_module_call(function: &ast::StmtFunctionDef) -> bool {
    let self_name = first_parameter(function).map(|name| name.as_str());
    let [statement] = body_without_docstring(function) else {
        return false;
    };
    let value = match statement {
        Stmt::Return(ast::StmtReturn {
            value: Some(value), ..
        }) => value.as_ref(),
        Stmt::Expr(ast::StmtExpr { value, .. }) => value.as_ref(),
        _ => return false,
    };
    let Expr::Call(call) = value else {
        return false;
    };
    let Expr::Attribute(attribute) = call.func.as_ref() else {
        return false;
    };
    let is_self =
        |expr: &Expr| matches!(expr, Expr::Name(name) if Some(name.id.as_str()) == self_name);
    match attribute.attr.id.as_str() {
        // `self._call_impl(...)`: the hook-running implementation behind `nn.Module.__call__`.
        "_call_impl" => is_self(&attribute.value),
        "__call__" => match attribute.value.as_ref() {
            // `super().__call__(...)`, `super(C, self).__call__(...)`
            super_call @ Expr::Call(_) => is_call_of(super_call, "super"),
            // `nn.Module.__call__(self, ...)`, `Base.__call__(self, ...)`
            Expr::Name(_) | Expr::Attribute(_) => call.arguments.args.first().is_some_and(is_self),
            _ => false,
        },
        _ => false,
    }
}
