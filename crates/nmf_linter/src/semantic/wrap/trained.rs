//! Which submodules of a wrapped module the file trains.
//!
//! A submodule whose parameters no optimizer steps, or which is frozen, has no gradient to
//! all-reduce: calling it around the wrapper (`fabric_model.image_encoder(x)` when the
//! optimizer holds only `model.mask_decoder.parameters()`, lightning-sam) loses nothing.
//! What counts as proof, read from the whole file once (see [`TrainedParts`]):
//! - every optimizer the file constructs (`torch.optim.X(...)`, `bnb.optim.X(...)`, `AdamW(...)`
//!   and other well-known optimizer classes, `opt.add_param_group(...)`) takes parameters only
//!   from named submodules (`model.decoder.parameters()`, lists and chains of them, param-group
//!   dicts, `filter(...)` and comprehensions over them, a local name bound to one of these and
//!   never appended to), and the file builds no optimizer any other way (a call or a name that
//!   mentions `optim` otherwise, such as `create_optimizer(...)` or `getattr(torch.optim, name)`);
//! - or the submodule is frozen, before the wrap, by a statement that always runs in the
//!   function that wraps the module (`model.encoder.requires_grad_(False)`, `for p in
//!   model.encoder.parameters(): p.requires_grad = False`), and nothing in the file may turn
//!   `requires_grad` back on (an assignment of anything but `False`, or a call of a function
//!   named like `unfreeze`, `set_requires_grad` or `make_trainable`).
//!
//! Either way the attribute must be known as a submodule, not a method that may run trained
//! parts: the file calls `parameters()` (or `requires_grad_`, `eval`, ...) on it.

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashSet;

use super::index::{FileIndex, STACK_RED_ZONE, STACK_SEGMENT, names_wrapped_module};
use crate::checker::{Checker, MemoKey};
use crate::semantic::infer::Ty;
use crate::semantic::values::dotted_text;

/// Optimizer classes known by their own name, for `from torch.optim import AdamW` and the like.
const OPTIMIZER_CLASSES: &[&str] = &[
    "ASGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "Adam8bit",
    "AdamW",
    "AdamW8bit",
    "Adamax",
    "DeepSpeedCPUAdam",
    "FusedAdam",
    "FusedLAMB",
    "LBFGS",
    "Lamb",
    "Lion",
    "NAdam",
    "PagedAdamW",
    "PagedAdamW8bit",
    "RAdam",
    "RMSprop",
    "Rprop",
    "SGD",
    "SparseAdam",
];

/// Methods whose call on `x.part` shows that `part` is a submodule.
const MODULE_METHODS: &[&str] = &[
    "parameters",
    "named_parameters",
    "requires_grad_",
    "eval",
    "train",
    "modules",
    "children",
    "buffers",
];

/// Nested names and calls followed to find where an optimizer's parameters come from.
const MAX_DEPTH: usize = 6;

/// What the file says about its optimizers and frozen submodules.
#[derive(Debug, Default)]
pub struct TrainedParts {
    /// The receivers of `.parameters()` that every optimizer is built from (`model.decoder`);
    /// `None` when some optimizer is built from something else, or in a way not understood.
    optimized: Option<Vec<String>>,
    /// Optimizers constructed.
    constructions: usize,
    /// Receivers of module methods (`model.encoder` in `model.encoder.parameters()`).
    modules: FxHashSet<String>,
    /// Submodules frozen by a statement directly in a function's body (or the top level):
    /// the receiver frozen, and where.
    frozen: Vec<(String, TextSize)>,
    /// Something sets `requires_grad` to other than `False`, or calls a function that may
    /// (one whose name mentions `freeze`, `requires_grad` or `trainable`).
    unfreezes: bool,
}

impl Checker<'_> {
    /// Whether `part`, an attribute of the module the wrapper made at `created` wraps, is a
    /// submodule the file provably does not train (see the module's documentation).
    pub fn untrained_submodule(&mut self, created: TextRange, part: &str) -> bool {
        let index = self.wrap_index();
        let Some(wrapped) = index.wrapped_argument(created) else {
            return false;
        };
        let Some(root) = dotted_text(wrapped) else {
            return false;
        };
        let wrap_function = index.enclosing_function(created.start());
        let facts = self.memo(MemoKey::File, |checker| {
            let mut finder = Finder {
                index: &index,
                parts: TrainedParts {
                    optimized: Some(Vec::new()),
                    ..TrainedParts::default()
                },
            };
            let suite = checker.suite();
            finder.direct_statements(suite);
            finder.visit_body(suite);
            finder.parts
        });
        // The longest root first: `model.module.x` is `x` of the module `model.module`.
        let roots = [format!("{root}.module"), root];
        let first_part = |receiver: &str| -> Option<Option<String>> {
            roots.iter().find_map(|root| {
                if receiver == root {
                    Some(None)
                } else {
                    receiver
                        .strip_prefix(root.as_str())
                        .and_then(|rest| rest.strip_prefix('.'))
                        .map(|rest| Some(rest.split('.').next().unwrap_or(rest).to_string()))
                }
            })
        };
        let is_part = |receiver: &str| first_part(receiver) == Some(Some(part.to_string()));
        if !facts.modules.iter().any(|receiver| is_part(receiver)) {
            return false;
        }
        if is_method(&self.wrapped_method_type(created, part)) {
            return false;
        }
        let frozen = !facts.unfreezes
            && facts.frozen.iter().any(|(receiver, at)| {
                is_part(receiver)
                    && *at < created.start()
                    && index.enclosing_function(*at) == wrap_function
            });
        let not_optimized = facts.constructions > 0
            && facts.optimized.as_ref().is_some_and(|receivers| {
                receivers.iter().all(
                    |receiver| matches!(first_part(receiver), Some(Some(other)) if other != part),
                )
            });
        frozen || not_optimized
    }
}

/// The type of a method: what `part` is when the module's class defines it as one.
fn is_method(ty: &Ty) -> bool {
    match ty {
        Ty::Function(_) => true,
        Ty::Union(members) => members.iter().any(is_method),
        _ => false,
    }
}

impl FileIndex<'_> {
    /// The module that the wrapper made at `created` wraps: the first argument (or `model=`,
    /// `module=`) of the call at `created`, or the argument at `created` itself (one of
    /// `accelerator.prepare(a, b)`'s).
    pub fn wrapped_argument(&self, created: TextRange) -> Option<&Expr> {
        let function = self.enclosing_function(created.start());
        let calls = &self.function(function).calls;
        // The call itself, or the call whose argument it is, starts no later than `created`.
        let end = calls.partition_point(|call| call.start() <= created.start());
        calls[..end]
            .iter()
            .rev()
            .filter(|call| call.range().contains_range(created))
            .find_map(|call| {
                if call.range() == created {
                    call.arguments.args.first().or_else(|| {
                        call.arguments
                            .keywords
                            .iter()
                            .find(|keyword| names_wrapped_module(keyword))
                            .map(|keyword| &keyword.value)
                    })
                } else {
                    call.arguments
                        .args
                        .iter()
                        .find(|argument| argument.range() == created)
                }
            })
    }
}

fn is_false(expr: &Expr) -> bool {
    matches!(expr, Expr::BooleanLiteral(literal) if !literal.value)
}

/// Whether `callee` constructs an optimizer: a capitalised attribute of an `optim` package
/// (`torch.optim.AdamW`, `bnb.optim.AdamW8bit`, not `torch.optim.lr_scheduler.StepLR`), or a
/// well-known optimizer class by its own name.
fn is_optimizer_class(callee: &str) -> bool {
    let segments: Vec<&str> = callee.split('.').collect();
    let Some((last, package)) = segments.split_last() else {
        return false;
    };
    if package
        .iter()
        .any(|segment| matches!(*segment, "lr_scheduler" | "swa_utils"))
    {
        return false;
    }
    OPTIMIZER_CLASSES.contains(last)
        || (package.contains(&"optim") && last.starts_with(|c: char| c.is_ascii_uppercase()))
}

struct Finder<'i, 'a> {
    index: &'i FileIndex<'a>,
    parts: TrainedParts,
}

impl Finder<'_, '_> {
    /// Freezing statements directly in `body`; then the same in every function defined in it.
    fn direct_statements(&mut self, body: &[Stmt]) {
        for statement in body {
            match statement {
                Stmt::Expr(expression) => {
                    if let Expr::Call(call) = expression.value.as_ref()
                        && let Expr::Attribute(attribute) = call.func.as_ref()
                        && attribute.attr.id.as_str() == "requires_grad_"
                        && matches!(call.arguments.args.as_ref(), [value] if is_false(value))
                        && let Some(receiver) = dotted_text(&attribute.value)
                    {
                        self.parts.frozen.push((receiver, statement.start()));
                    }
                }
                Stmt::For(for_loop) if for_loop.orelse.is_empty() => {
                    if let Some(receiver) = freezing_loop(for_loop) {
                        self.parts.frozen.push((receiver, statement.start()));
                    }
                }
                Stmt::FunctionDef(def) => self.direct_statements(&def.body),
                Stmt::ClassDef(class) => self.direct_statements(&class.body),
                _ => {}
            }
        }
    }

    fn give_up(&mut self) {
        self.parts.optimized = None;
    }

    /// An optimizer constructed from `params`: where its parameters come from.
    fn optimizer(&mut self, params: Option<&Expr>, at: TextSize) {
        self.parts.constructions += 1;
        let mut receivers = Vec::new();
        let understood = params.is_some_and(|params| {
            self.parameter_sources(params, at, 0, &mut receivers)
                .is_some()
        });
        match (&mut self.parts.optimized, understood) {
            (Some(known), true) => known.extend(receivers),
            _ => self.give_up(),
        }
    }

    fn all_sources<'e>(
        &self,
        items: impl IntoIterator<Item = &'e Expr>,
        at: TextSize,
        depth: usize,
        receivers: &mut Vec<String>,
    ) -> Option<()> {
        for item in items {
            self.parameter_sources(item, at, depth + 1, receivers)?;
        }
        Some(())
    }

    /// The receivers of `.parameters()` that `expr`'s parameters come from; `None` when they
    /// come from anything else.
    fn parameter_sources(
        &self,
        expr: &Expr,
        at: TextSize,
        depth: usize,
        receivers: &mut Vec<String>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Call(call) => {
                if call.arguments.keywords.iter().any(|k| k.arg.is_none()) {
                    return None;
                }
                let callee = dotted_text(&call.func)?;
                if let Expr::Attribute(attribute) = call.func.as_ref()
                    && attribute.attr.id.as_str() == "parameters"
                {
                    receivers.push(dotted_text(&attribute.value)?);
                    return Some(());
                }
                match callee.as_str() {
                    "list" | "tuple" | "chain" | "itertools.chain" => {
                        self.all_sources(call.arguments.args.iter(), at, depth, receivers)
                    }
                    "filter" => self.all_sources(call.arguments.args.get(1), at, depth, receivers),
                    _ => None,
                }
            }
            Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
                for element in elts {
                    if let Expr::Dict(dict) = element {
                        let params = dict.items.iter().find_map(|item| match &item.key {
                            Some(Expr::StringLiteral(key)) if key.value.to_str() == "params" => {
                                Some(&item.value)
                            }
                            _ => None,
                        })?;
                        self.parameter_sources(params, at, depth + 1, receivers)?;
                    } else {
                        self.parameter_sources(element, at, depth + 1, receivers)?;
                    }
                }
                Some(())
            }
            Expr::BinOp(binary) if matches!(binary.op, ast::Operator::Add) => self.all_sources(
                [binary.left.as_ref(), binary.right.as_ref()],
                at,
                depth,
                receivers,
            ),
            Expr::ListComp(ast::ExprListComp { generators, .. })
            | Expr::Generator(ast::ExprGenerator { generators, .. }) => match generators.as_slice()
            {
                [generator] => self.parameter_sources(&generator.iter, at, depth + 1, receivers),
                _ => None,
            },
            Expr::Name(name) => {
                let function = self.index.enclosing_function(at);
                let facts = self.index.function(function);
                // `params = []; params.extend(...)`: what it holds is not what it was bound to.
                let grown = facts.calls.iter().any(|call| {
                    matches!(call.func.as_ref(), Expr::Attribute(attribute)
                        if matches!(attribute.value.as_ref(), Expr::Name(owner) if owner.id == name.id))
                });
                if grown {
                    return None;
                }
                let bindings = facts.bindings.get(&name.id)?;
                if bindings.is_empty() {
                    return None;
                }
                for binding in bindings {
                    match &binding.value {
                        super::index::BindingValue::Assigned { value, path } if path.is_empty() => {
                            self.parameter_sources(value, at, depth + 1, receivers)?;
                        }
                        _ => return None,
                    }
                }
                Some(())
            }
            _ => None,
        }
    }
}

/// `for p in R.parameters(): p.requires_grad = False` (or `p.requires_grad_(False)`; also over
/// `R.named_parameters()` unpacked into `name, p`): the receiver `R` it freezes.
fn freezing_loop(for_loop: &ast::StmtFor) -> Option<String> {
    let Expr::Call(call) = for_loop.iter.as_ref() else {
        return None;
    };
    let Expr::Attribute(method) = call.func.as_ref() else {
        return None;
    };
    let parameter = match (method.attr.id.as_str(), for_loop.target.as_ref()) {
        ("parameters", Expr::Name(name)) => name,
        ("named_parameters", Expr::Tuple(tuple)) => match tuple.elts.as_slice() {
            [_, Expr::Name(name)] => name,
            _ => return None,
        },
        _ => return None,
    };
    let [statement] = for_loop.body.as_slice() else {
        return None;
    };
    let is_parameter = |expr: &Expr| matches!(expr, Expr::Name(name) if name.id == parameter.id);
    let freezes = match statement {
        Stmt::Assign(assign) => {
            matches!(assign.targets.as_slice(), [Expr::Attribute(target)]
                if target.attr.id.as_str() == "requires_grad" && is_parameter(&target.value))
                && is_false(&assign.value)
        }
        Stmt::Expr(expression) => matches!(expression.value.as_ref(), Expr::Call(inner)
            if matches!(inner.func.as_ref(), Expr::Attribute(attribute)
                if attribute.attr.id.as_str() == "requires_grad_" && is_parameter(&attribute.value))
            && matches!(inner.arguments.args.as_ref(), [value] if is_false(value))),
        _ => false,
    };
    freezes.then(|| dotted_text(&method.value)).flatten()
}

impl<'a> Visitor<'a> for Finder<'_, '_> {
    fn visit_stmt(&mut self, statement: &'a Stmt) {
        let targets: &[Expr] = match statement {
            Stmt::Assign(assign) => {
                if !is_false(&assign.value) {
                    self.check_unfreezing(&assign.targets);
                }
                &[]
            }
            Stmt::AugAssign(assign) => std::slice::from_ref(assign.target.as_ref()),
            Stmt::AnnAssign(assign) => {
                if assign.value.as_deref().is_none_or(|value| !is_false(value)) {
                    std::slice::from_ref(assign.target.as_ref())
                } else {
                    &[]
                }
            }
            _ => &[],
        };
        self.check_unfreezing(targets);
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || walk_stmt(self, statement));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        // Every expression is looked at (a skipped optimizer would prove too much), however
        // deep: the stack grows instead.
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || match expr {
            Expr::Call(call) => {
                let callee = dotted_text(&call.func);
                if let Some(callee) = callee.as_deref() {
                    if is_optimizer_class(callee) {
                        let params = call.arguments.args.first().or_else(|| {
                            call.arguments
                                .find_keyword("params")
                                .map(|keyword| &keyword.value)
                        });
                        self.optimizer(params, call.start());
                        // The callee is accounted for; its arguments may hold more.
                        for argument in &call.arguments.args {
                            self.visit_expr(argument);
                        }
                        for keyword in &call.arguments.keywords {
                            self.visit_expr(&keyword.value);
                        }
                        return;
                    }
                    if callee.ends_with(".add_param_group") {
                        self.optimizer(
                            call.arguments.args.first().map(|group| match group {
                                Expr::Dict(dict) => dict
                                    .items
                                    .iter()
                                    .find_map(|item| match &item.key {
                                        Some(Expr::StringLiteral(key))
                                            if key.value.to_str() == "params" =>
                                        {
                                            Some(&item.value)
                                        }
                                        _ => None,
                                    })
                                    .unwrap_or(group),
                                other => other,
                            }),
                            call.start(),
                        );
                    }
                }
                if let Expr::Attribute(attribute) = call.func.as_ref() {
                    let method = attribute.attr.id.as_str();
                    if MODULE_METHODS.contains(&method)
                        && let Some(receiver) = dotted_text(&attribute.value)
                    {
                        self.parts.modules.insert(receiver);
                    }
                    if method == "requires_grad_"
                        && !matches!(call.arguments.args.as_ref(), [value] if is_false(value))
                    {
                        self.parts.unfreezes = true;
                    }
                    let last = method.to_ascii_lowercase();
                    if last.contains("optim") && !callee.as_deref().is_some_and(is_optimizer_class)
                    {
                        self.give_up();
                    }
                }
                if let Expr::Name(name) = call.func.as_ref()
                    && name.id.to_ascii_lowercase().contains("optim")
                {
                    self.give_up();
                }
                // `unfreeze(model.encoder)`, `set_requires_grad(m, True)`,
                // `mark_only_adapter_as_trainable(model)`: what they set is not known.
                let last = match call.func.as_ref() {
                    Expr::Attribute(attribute) => Some(attribute.attr.id.as_str()),
                    Expr::Name(name) => Some(name.id.as_str()),
                    _ => None,
                };
                if let Some(last) = last.filter(|last| *last != "requires_grad_") {
                    let last = last.to_ascii_lowercase();
                    if ["freeze", "requires_grad", "trainable"]
                        .iter()
                        .any(|word| last.contains(word))
                    {
                        self.parts.unfreezes = true;
                    }
                }
                walk_expr(self, expr);
            }
            Expr::Attribute(attribute) => {
                let name = attribute.attr.id.as_str();
                // Schedulers, and the base class in annotations and `isinstance` tests.
                if matches!(name, "lr_scheduler" | "swa_utils" | "Optimizer") {
                    return;
                }
                // `torch.optim` read otherwise than to construct a known optimizer:
                // `getattr(torch.optim, name)`, `cls = torch.optim.AdamW`.
                if name == "optim" || OPTIMIZER_CLASSES.contains(&name) {
                    self.give_up();
                }
                walk_expr(self, expr);
            }
            Expr::Name(name) if OPTIMIZER_CLASSES.contains(&name.id.as_str()) => self.give_up(),
            _ => walk_expr(self, expr),
        });
    }
}

impl Finder<'_, '_> {
    fn check_unfreezing(&mut self, targets: &[Expr]) {
        if targets.iter().any(|target| {
            matches!(target, Expr::Attribute(attribute) if attribute.attr.id.as_str() == "requires_grad")
        }) {
            self.parts.unfreezes = true;
        }
    }
}
