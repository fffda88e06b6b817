use memchr::memmem;
use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};
use unicode_normalization::UnicodeNormalization;

use crate::analysis::forward_call::{could_spell, has_word};
use crate::checker::{Checker, MemoKey};
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::Scope;
use crate::semantic::infer::Ty;

declare_rule! {
    /// ## What it does
    /// Checks for calls of a module after it was wrapped (`ddp = DDP(model)`) in a function
    /// that trains, which run the bare module instead of the wrapper.
    ///
    /// ## Why is this bad?
    /// `DistributedDataParallel` synchronises gradients across ranks from hooks it registers
    /// when the *wrapper* is called; `FullyShardedDataParallel` gathers the sharded parameters
    /// the same way; DeepSpeed's engine and Accelerate's prepared model do their work in their
    /// own `forward`. Calling the module that was wrapped skips all of it: every rank trains its
    /// own copy, or computes with shards, and nothing fails (trl#5282, sd-scripts#924 and #604,
    /// HydraGNN#136).
    ///
    /// Within one function (or the module's top level), nmf reports a call `A(...)` after
    /// `B = W(A, ...)` where `W` is `DistributedDataParallel`, `DataParallel` or
    /// `FullyShardedDataParallel` (imported under its name or an alias spelling `DDP`, `FSDP` or
    /// `DataParallel`), `deepspeed.initialize(model=A)` (its first
    /// result) or `accelerator.prepare(A, ...)` (the matching result), when `A` is not bound
    /// again in between, `B` is another name, and the function calls `.backward()` after the
    /// call (`loss.backward()`, `accelerator.backward(loss)`, `engine.backward(loss)`): it
    /// trains. Not reported: calls under `torch.no_grad()` or `torch.inference_mode()`, in a
    /// function decorated with either, or in a function that never calls `backward`
    /// (evaluating the unwrapped module is common and fine); the wrapper's own module
    /// (`B.module`); FSDP2's `fully_shard(A)`, which wraps `A` in place.
    ///
    /// ## Example
    /// ```python
    /// model = Net().cuda()
    /// ddp_model = DDP(model, device_ids=[rank])
    /// for x, y in loader:
    ///     loss = loss_fn(model(x), y)
    ///     loss.backward()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// for x, y in loader:
    ///     loss = loss_fn(ddp_model(x), y)
    ///     loss.backward()
    /// ```
    ///
    /// ## Fix safety
    /// The fix calls the wrapper instead. It is unsafe: the wrapper may expect inputs on
    /// another device or return something else (DeepSpeed's engine, a prepared model with
    /// mixed precision), which a person should check.
    ///
    /// ## References
    /// - [PyTorch: Getting started with DistributedDataParallel](https://pytorch.org/tutorials/intermediate/ddp_tutorial.html)
    /// - [PyTorch: FullyShardedDataParallel](https://pytorch.org/docs/stable/fsdp.html)
    /// - [Accelerate: `Accelerator.prepare`](https://huggingface.co/docs/accelerate/package_reference/accelerator#accelerate.Accelerator.prepare)
    pub static RULE = {
        code: "NMF005",
        name: "unwrapped-module-after-wrap",
        fix: FixAvailability::Sometimes,
        could_match: could_match,
        on_expr: check,
    }
}

/// A call of a module that a wrapper wraps, in a function that trains.
pub struct UnwrappedModuleAfterWrap {
    pub module: String,
    pub wrapper: String,
}

impl Violation for UnwrappedModuleAfterWrap {
    fn message(&self) -> String {
        format!(
            "`{}` is wrapped by `{}` above; calling `{}` skips the wrapper, which synchronises or shards it for training",
            self.module, self.wrapper, self.module
        )
    }

    fn fix_title(&self) -> Option<String> {
        Some(format!("Call `{}(...)` instead", self.wrapper))
    }
}

/// Every finding calls `backward` after it, and wraps the module with a wrapper whose name the
/// file spells (`DataParallel` is part of the three class names; `DDP`/`FSDP` aliases are
/// imported under the full name, `deepspeed.initialize`, `accelerator.prepare`). A wrapper
/// re-exported by another module of the project under a different name is not seen.
fn could_match(source: &str) -> bool {
    let spells = |word: &str| has_word(source, word) || could_spell(source, word);
    spells("backward")
        && (memmem::find(source.as_bytes(), b"DataParallel").is_some()
            || ["DataParallel", "initialize", "prepare"]
                .into_iter()
                .any(spells))
}

/// Classes and functions whose result wraps the module given as first argument (or `module=`).
const WRAPPERS: &[&str] = &[
    "torch.nn.parallel.DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel",
    "torch.nn.DataParallel",
    "torch.nn.parallel.DataParallel",
    "torch.nn.parallel.data_parallel.DataParallel",
    "torch.distributed.fsdp.FullyShardedDataParallel",
    "torch.distributed.fsdp.fully_sharded_data_parallel.FullyShardedDataParallel",
];

/// What one function (or the module's top level) does that the rule needs, by position.
#[derive(Debug, Default)]
struct TrainingFacts {
    /// `wrapper = W(module)`: where the statement ends, the module's name, the wrapper's.
    wraps: Vec<(TextSize, String, String)>,
    /// Where each name is bound (assigned, a loop or `with` target, deleted, imported, defined).
    bindings: Vec<(TextSize, String)>,
    /// Where the attribute of each `.backward(...)` call is.
    backward_calls: Vec<TextSize>,
    /// The ranges of `with torch.no_grad():` / `with torch.inference_mode():` statements.
    without_grad: Vec<TextRange>,
    /// The whole function runs without gradients (a decorator says so).
    decorated_without_grad: bool,
}

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Expr::Call(call) = expr else {
        return;
    };
    let Expr::Name(callee) = call.func.as_ref() else {
        return;
    };
    // The body the call runs in: the enclosing function's, or the module's top level (not a
    // class body).
    let (key, suite, decorators) = match checker.semantic().enclosing_function() {
        Some(function) => (
            MemoKey::Function(function.function.start()),
            function.function.body.as_slice(),
            function.function.decorator_list.as_slice(),
        ),
        None => {
            if checker
                .semantic()
                .scopes()
                .any(|scope| matches!(scope, Scope::Class(_)))
            {
                return;
            }
            (MemoKey::ModuleTopLevel, checker.suite(), &[][..])
        }
    };
    let facts = checker.memo(key, |checker| training_facts(checker, suite, decorators));
    let name = callee.id.as_str();
    let position = call.start();
    if facts.decorated_without_grad
        || facts
            .backward_calls
            .iter()
            .all(|&backward| backward <= position)
        || facts
            .without_grad
            .iter()
            .any(|range| range.contains(position))
    {
        return;
    }
    // The latest wrap of this name before the call, unless the name was bound again since.
    let Some((wrapped_at, _, wrapper)) = facts
        .wraps
        .iter()
        .filter(|(end, module, _)| *end <= position && module == name)
        .max_by_key(|(end, _, _)| *end)
    else {
        return;
    };
    let rebound = facts
        .bindings
        .iter()
        .any(|(at, bound)| bound == name && *at >= *wrapped_at && *at < position);
    if rebound {
        return;
    }
    let violation = UnwrappedModuleAfterWrap {
        module: name.to_string(),
        wrapper: wrapper.clone(),
    };
    let diagnostic =
        Diagnostic::new(&RULE, &violation, callee.range()).with_fix(Fix::applicable_edit(
            Edit::range_replacement(wrapper.clone(), callee.range()),
            Applicability::Unsafe,
        ));
    checker.report(diagnostic);
}

/// Walks `suite` once (not into nested functions, classes or lambdas, which are bodies of
/// their own) and resolves the wrappers it calls.
fn training_facts(
    checker: &mut Checker<'_>,
    suite: &[Stmt],
    decorators: &[ast::Decorator],
) -> TrainingFacts {
    let mut walk = FactsWalk::default();
    walk.visit_body(suite);
    let mut facts = TrainingFacts {
        bindings: walk.bindings,
        backward_calls: walk.backward_calls,
        without_grad: walk.without_grad,
        decorated_without_grad: decorators
            .iter()
            .any(|decorator| is_without_grad(&decorator.expression)),
        wraps: Vec::new(),
    };
    for (end, targets, call) in walk.assignments {
        facts.wraps.extend(wraps_of(checker, end, &targets, call));
    }
    facts
}

/// The wraps an assignment `targets = call` makes: `(end, module, wrapper)`.
fn wraps_of(
    checker: &mut Checker<'_>,
    end: TextSize,
    targets: &[&Expr],
    call: &ast::ExprCall,
) -> Vec<(TextSize, String, String)> {
    let name_of = |expr: &Expr| match expr {
        Expr::Name(name) => Some(name.id.to_string()),
        _ => None,
    };
    let keyword = |names: &[&str]| {
        call.arguments.keywords.iter().find_map(|keyword| {
            keyword
                .arg
                .as_ref()
                .filter(|arg| names.contains(&arg.id.as_str()))
                .map(|_| &keyword.value)
        })
    };
    let pair = |module: Option<&Expr>, wrapper: Option<&&Expr>| {
        let module = name_of(module?)?;
        let wrapper = name_of(wrapper?)?;
        (module != wrapper).then_some((end, module, wrapper))
    };
    // `accelerator.prepare(model, optimizer)`: each result wraps the matching argument.
    if let Expr::Attribute(attribute) = call.func.as_ref()
        && attribute.attr.id.as_str() == "prepare"
        && names_an_accelerator(&checker.source()[attribute.value.range()])
    {
        return match targets {
            [Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. })] => {
                elts.iter()
                    .zip(&call.arguments.args)
                    .filter_map(|(target, argument)| pair(Some(argument), Some(&target)))
                    .collect()
            }
            [target] => pair(call.arguments.args.first(), Some(target))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
    }
    // Only callees that may be a wrapper are typed: a name or attribute spelling a wrapper's
    // name or its usual aliases (`DDP`, `FSDP`, `TorchDDP`), or `initialize`.
    let may_wrap = match call.func.as_ref() {
        Expr::Name(name) => {
            let name = name.id.as_str();
            ["DataParallel", "DDP", "FSDP"]
                .iter()
                .any(|alias| name.contains(alias))
                || name == "initialize"
        }
        Expr::Attribute(attribute) => matches!(
            attribute.attr.id.as_str(),
            "DistributedDataParallel" | "DataParallel" | "FullyShardedDataParallel" | "initialize"
        ),
        _ => false,
    };
    if !may_wrap {
        return Vec::new();
    }
    let qualified = match checker.infer_type(&call.func) {
        Ty::External(qualified) => qualified,
        _ => return Vec::new(),
    };
    let [target] = targets else {
        return Vec::new();
    };
    if &*qualified == "deepspeed.initialize" {
        // `engine, optimizer, _, _ = deepspeed.initialize(model=model, ...)`
        let module = keyword(&["model"]).or_else(|| call.arguments.args.get(1));
        let engine = match target {
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                elts.first()
            }
            _ => None,
        };
        return pair(module, engine.as_ref()).into_iter().collect();
    }
    if WRAPPERS.contains(&&*qualified) {
        let module = call
            .arguments
            .args
            .first()
            .filter(|first| !first.is_starred_expr())
            .or_else(|| keyword(&["module"]));
        return pair(module, Some(target)).into_iter().collect();
    }
    Vec::new()
}

/// Whether the receiver of `.prepare(...)`, as written (`accelerator`, `self.accelerator`),
/// names an accelerator. Compared after NFKC normalisation, as Python compares names:
/// `ａｃｃｅｌｅｒａｔｏｒ` is `accelerator`.
fn names_an_accelerator(written: &str) -> bool {
    let normalized: String = written.nfkc().collect();
    normalized.to_ascii_lowercase().contains("accelerator")
}

/// `torch.no_grad()`, `torch.inference_mode()` (called or not, as decorators are written),
/// however imported: recognised by the name, which nothing else in PyTorch code spells.
fn is_without_grad(expr: &Expr) -> bool {
    let callee = match expr {
        Expr::Call(call) => call.func.as_ref(),
        other => other,
    };
    let name = match callee {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attribute) => attribute.attr.id.as_str(),
        _ => return false,
    };
    matches!(name, "no_grad" | "inference_mode")
}

#[derive(Default)]
struct FactsWalk<'a> {
    /// Assignments whose value is a call: where they end, their targets, the call.
    assignments: Vec<(TextSize, Vec<&'a Expr>, &'a ast::ExprCall)>,
    bindings: Vec<(TextSize, String)>,
    backward_calls: Vec<TextSize>,
    without_grad: Vec<TextRange>,
    depth: usize,
}

impl FactsWalk<'_> {
    fn bind_target(&mut self, target: &Expr) {
        match target {
            Expr::Name(name) => self.bindings.push((name.start(), name.id.to_string())),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for element in elts {
                    self.bind_target(element);
                }
            }
            Expr::Starred(starred) => self.bind_target(&starred.value),
            _ => {}
        }
    }
}

/// Deeper than this the walk stops: what it would find there is in generated code.
const MAX_DEPTH: usize = 200;
const STACK_RED_ZONE: usize = 64 * 1024;
const STACK_SEGMENT: usize = 1024 * 1024;

impl<'a> Visitor<'a> for FactsWalk<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_DEPTH {
            return;
        }
        match stmt {
            // Bodies of their own: only their names are bound here.
            Stmt::FunctionDef(function) => {
                self.bindings
                    .push((function.start(), function.name.id.to_string()));
                return;
            }
            Stmt::ClassDef(class) => {
                self.bindings
                    .push((class.start(), class.name.id.to_string()));
                return;
            }
            Stmt::Assign(assign) => {
                if let Expr::Call(call) = assign.value.as_ref() {
                    self.assignments
                        .push((assign.end(), assign.targets.iter().collect(), call));
                }
                for target in &assign.targets {
                    self.bind_target(target);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(Expr::Call(call)) = assign.value.as_deref() {
                    self.assignments
                        .push((assign.end(), vec![&*assign.target], call));
                }
                self.bind_target(&assign.target);
            }
            Stmt::AugAssign(assign) => self.bind_target(&assign.target),
            Stmt::For(for_loop) => self.bind_target(&for_loop.target),
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    self.bind_target(target);
                }
            }
            Stmt::With(with) => {
                for item in &with.items {
                    if let Some(target) = &item.optional_vars {
                        self.bind_target(target);
                    }
                }
                if with
                    .items
                    .iter()
                    .any(|item| is_without_grad(&item.context_expr))
                {
                    self.without_grad.push(with.range());
                }
            }
            Stmt::Import(import) => {
                for alias in &import.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    let first = bound.id.split('.').next().unwrap_or_default();
                    self.bindings.push((import.start(), first.to_string()));
                }
            }
            Stmt::ImportFrom(import) => {
                for alias in &import.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bindings.push((import.start(), bound.id.to_string()));
                }
            }
            _ => {}
        }
        self.depth += 1;
        // The checker may already be deep in a tree when a rule asks: keep enough stack.
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
            visitor::walk_stmt(self, stmt)
        });
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::Lambda(_) => return,
            Expr::Named(named) => self.bind_target(&named.target),
            Expr::Call(call) => {
                if let Expr::Attribute(attribute) = call.func.as_ref()
                    && attribute.attr.id.as_str() == "backward"
                {
                    // `model(x).sum().backward()`: the `.backward` comes after `model(x)`.
                    self.backward_calls.push(attribute.attr.start());
                }
            }
            _ => {}
        }
        self.depth += 1;
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
            visitor::walk_expr(self, expr)
        });
        self.depth -= 1;
    }
}
