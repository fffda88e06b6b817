use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_python_ast::Expr;
use ruff_python_ast::name::Name;
use ruff_text_size::{Ranged, TextSize};

use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::infer::Ty;
use crate::semantic::wrap::hparams::may_alias_hparams;
use crate::semantic::wrap::index::{BindingValue, FileIndex, FunctionId};
use crate::semantic::wrap::names::{is_non_computing_method, mentions_wrapping};
use crate::semantic::wrap::training::may_train;
use crate::semantic::wrap::{Origin, Wrap, WrapState, WrapperKind};

declare_rule! {
    /// ## What it does
    /// Checks for training code that calls the module inside a wrapper (`ddp.module`,
    /// `accelerator.unwrap_model(model)`, the name a module had before it was wrapped), or a
    /// submodule or method of it, instead of the wrapper.
    ///
    /// ## Why is this bad?
    /// `DistributedDataParallel` prepares the all-reduce of gradients in its own `forward`;
    /// `FullyShardedDataParallel` gathers the sharded parameters there; Accelerate's prepared
    /// model and Lightning Fabric's wrapper run the strategy's wrapper (DDP, FSDP) from theirs.
    /// A backward pass through the inner module skips all of it: every rank trains its own
    /// copy, or computes with shards, and nothing fails (pytorch#14616, accelerate#3285,
    /// sd-scripts#924, trl#5282, HydraGNN#136, nerfstudio#1847, minimind#853).
    ///
    /// What nmf follows to tell that a value is the module inside a wrapper:
    /// `W.module` and `accelerator.unwrap_model(W)` (also `extract_model_from_parallel`,
    /// `unwrap_model`, `de_parallel`); a module passed to a wrapper whose result got another
    /// name (`ddp = DDP(model)`, then `model`); `W.module if isinstance(W, DDP) else W` and
    /// `getattr(W, "module", W)` (a test such as `hasattr(W, "module")`, `isinstance(W, ...)`,
    /// `is_distributed(W)` or a flag such as `distributed` makes `W` a wrapper in the code it
    /// guards); functions and methods of the file, and functions of other files of the project,
    /// that return one of these; assignments, tuple unpacking, attributes set anywhere in the
    /// class (`self.model = DDP(...)`, a `@property`), and parameters of functions of the
    /// file whose callers pass one: callers in the file, and, for a module-level function of
    /// a file that mentions a wrapper (`.module`, `DataParallel`, `DDP`, `unwrap_model`), calls
    /// in the files of the project that import it or its module (at most 16 such files; each
    /// call is resolved by type to this very function). Wrappers are `DistributedDataParallel`, `DataParallel`,
    /// `FullyShardedDataParallel`, `accelerator.prepare(...)`, `fabric.setup(...)` /
    /// `setup_module(...)`. Fabric's wrapper hands its attributes to the module, so
    /// `fabric_model.encoder(x)` and `fabric_model.compute_loss(batch)` skip the wrapper too.
    ///
    /// SpeechBrain (speechbrain#930, fixed by PR #915): `Brain` wraps each module of its
    /// `modules` that has a trainable parameter in DDP and keeps it in `self.modules`, while
    /// `self.hparams` holds the same objects of the recipe's YAML unwrapped. In a method of a
    /// subclass of `Brain` (`speechbrain.Brain`, `sb.core.Brain`, or a project class deriving
    /// from one), `self.hparams.X` is the module inside `self.modules.K` when every YAML file of
    /// the recipe (`hparams/*.yaml` next to the script; nmf cannot tell which one the command
    /// line picks) that defines `X` lists it in `modules:` as `K: !ref <X>`, builds it with
    /// `!new:` and does not freeze it (`freeze: True`); objects of classes without trainable
    /// parameters (`speechbrain.processing.*` such as `InputNormalization` and `STFT`, `Fbank`,
    /// activations, augmentations, `HMMAligner`), which `Brain` leaves unwrapped, are not. A YAML
    /// that cannot be read, or writes `modules:` otherwise than as a block of `!ref` entries,
    /// means nothing is known. `compute_forward` and `compute_objectives` of a `Brain` train
    /// (its `fit_batch` backpropagates), but not their code for evaluation stages (`if stage
    /// != sb.Stage.TRAIN:`). The fix calls `self.modules.K`.
    ///
    /// The call is reported where the code trains: a `.backward(...)` call follows in the
    /// same function, or a call of a function of the file that calls `backward`, or a function
    /// of the file that calls this one trains at that call (three calls deep), or the function
    /// is `compute_loss` of a `...Trainer` subclass (its library backpropagates the result).
    /// A call of a parameter (or of its attributes) is also reported where such a function,
    /// or a function of the file that calls it, is called from another file in code that
    /// trains there, and that call passes the inner module (`train_util.get_hidden_states(...,
    /// text_encoder)` after `text_encoder = text_encoder.module`, then
    /// `accelerator.backward(loss)`). Code that calls the wrapper itself between the same two `backward` calls is not
    /// reported: its forward prepared the reduction for that backward pass.
    ///
    /// Not reported: calls under `torch.no_grad()` / `torch.inference_mode()` (or in functions
    /// decorated with them, or of methods decorated with them, found through the class of the
    /// wrapped module) and in code that never reaches a `backward`; calls whose result is
    /// dropped; calls in tests (`def test_...`, `def _test_...`: they bypass the wrapper on
    /// purpose, to compare with it); Fabric's `training_step`, `validation_step`, `test_step`
    /// and `predict_step`, which Fabric (since Lightning 2.1) runs through the strategy's
    /// wrapper; `generate(...)` (sampling); methods that compute nothing with the parameters
    /// (`parameters`, `named_parameters`, `state_dict`, `load_state_dict`, `save_pretrained`,
    /// `to`, `train`, `eval`, `zero_grad`, `loss`, and names starting with `get_`, `set_`,
    /// `save_`, `load_`, `format_`, `parse_`, `prepare_`, `register_`, ... or ending with
    /// `_log`); modules that were never wrapped; uses before the wrap; DeepSpeed's engine (it
    /// reduces gradients in `engine.backward`, and ZeRO-3 hooks the submodules themselves);
    /// `torch.compile`; FSDP's submodules and methods (NMF007 reports those); submodules the
    /// file provably does not train, whose gradients need no synchronising (lightning-sam: the
    /// optimizer holds only `model.mask_decoder.parameters()`, so `fabric_model.image_encoder(x)`
    /// is not reported, `fabric_model.mask_decoder(...)` is). A submodule `W.part(...)` is
    /// untrained when the file shows it is a submodule (it calls `parameters()`, `eval()`,
    /// `requires_grad_(...)`, ... on `M.part`, where `M` is the module given to the wrapper),
    /// and either every optimizer the file constructs (`torch.optim.X`, `bnb.optim.X`, `AdamW`
    /// and other well-known classes, `add_param_group`) takes parameters only from other
    /// submodules of `M` (`M.head.parameters()`, lists, chains, `filter(...)`, comprehensions
    /// and param-group dicts of these, or a name bound to one and never appended to), and the
    /// file builds no optimizer any other way (a call or name that mentions `optim`, such as
    /// `create_optimizer(model)`); or the function that wraps `M` freezes it before the wrap
    /// with a statement that always runs (`M.part.requires_grad_(False)`, or a loop setting
    /// `requires_grad = False` on `M.part.parameters()`), and nothing in the file sets
    /// `requires_grad` to anything but `False` or calls a function named like `unfreeze`,
    /// `set_requires_grad` or `make_trainable`. Freezing under a condition, optimizers built
    /// from `M.parameters()` or in other files, and methods of the module stay reported. Out of reach:
    /// SpeechBrain recipes whose YAML files disagree (see below), callers in other files of
    /// methods, of functions imported by more than 16 files, or of
    /// functions of a file that mentions no wrapper; other files' callers of those callers;
    /// backward passes in other files, but for the calls above.
    ///
    /// ## Example
    /// ```python
    /// model = DDP(model, device_ids=[rank])
    /// raw = model.module
    /// for batch in loader:
    ///     loss = raw(batch).loss
    ///     loss.backward()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// model = DDP(model, device_ids=[rank])
    /// for batch in loader:
    ///     loss = model(batch).loss
    ///     loss.backward()
    /// ```
    ///
    /// ## Fix safety
    /// Where the wrapper is a name (or attribute) of the same function, the fix calls it
    /// instead (`raw(x)` and `model.module(x)` become `model(x)`). It is unsafe: the wrapper may
    /// expect inputs on another device or return something else (a prepared model with mixed
    /// precision), which a person should check. Calls of submodules and methods get no fix:
    /// their computation has to move into the module's `forward`, or run through the wrapper
    /// (TRL's `_ForwardRedirection`).
    ///
    /// ## References
    /// - [PyTorch: Getting started with DistributedDataParallel](https://pytorch.org/tutorials/intermediate/ddp_tutorial.html)
    /// - [pytorch/pytorch#14616: several forward functions in DistributedDataParallel](https://github.com/pytorch/pytorch/issues/14616)
    /// - [Accelerate: `Accelerator.unwrap_model`](https://huggingface.co/docs/accelerate/package_reference/accelerator#accelerate.Accelerator.unwrap_model)
    /// - [speechbrain/speechbrain#930: `self.hparams.Transformer` should be `self.modules.Transformer`](https://github.com/speechbrain/speechbrain/issues/930)
    /// - [Lightning Fabric: calling methods of the model](https://github.com/Lightning-AI/pytorch-lightning/issues/16856)
    pub static RULE = {
        code: "NMF005",
        name: "unwrapped-module-after-wrap",
        fix: FixAvailability::Sometimes,
        could_match: could_match,
        on_expr: check,
    }
}

/// A call of (a part of) the module inside a wrapper, in training.
pub struct UnwrappedModuleCall {
    pub callee: String,
    /// How the wrapper is written, when known.
    pub wrapper: Option<String>,
    pub kind: WrapperKind,
    /// The callee is a submodule or method of the inner module, not the module itself.
    pub part: bool,
    pub fixable: bool,
}

impl Violation for UnwrappedModuleCall {
    fn message(&self) -> String {
        let wrapper = match (&self.wrapper, self.kind) {
            (Some(written), _) => format!("`{written}`"),
            (None, WrapperKind::Accelerate) => "a model prepared by `accelerator.prepare`".into(),
            (None, WrapperKind::Fabric) => "a model set up by `fabric.setup`".into(),
            (None, WrapperKind::Unknown) => "a wrapper".into(),
            (None, kind) => format!("a `{}`", kind.display()),
        };
        let consequence = match self.kind {
            WrapperKind::FullyShardedDataParallel | WrapperKind::FullyShard => {
                "FSDP does not gather its parameters"
            }
            WrapperKind::Fabric => "the strategy's wrapper (DDP, FSDP) does not run",
            WrapperKind::DataParallel => "it runs on one device only",
            _ => "gradients are not synchronised across ranks",
        };
        if self.part {
            format!(
                "`{}` runs part of the module wrapped by {wrapper} without the wrapper's forward: in training, {consequence}",
                self.callee
            )
        } else {
            format!(
                "`{}` is the module inside {wrapper}: calling it in training skips the wrapper's forward, so {consequence}",
                self.callee
            )
        }
    }

    fn fix_title(&self) -> Option<String> {
        Some(match (&self.wrapper, self.fixable) {
            (Some(wrapper), true) => format!("Call `{wrapper}(...)` instead"),
            _ if self.part => {
                "Run this computation in the module's `forward` and call the wrapper".to_string()
            }
            _ => "Call the wrapper instead".to_string(),
        })
    }
}

/// Every finding is in code that trains (see [`crate::semantic::wrap::training`]): the file
/// calls an attribute `backward`, or defines a training step a library or another file
/// backpropagates (`compute_loss`, `calculate_train_batch_loss`, `training_step`,
/// `train_step`, or a `def` whose name holds both `train` and `loss`); or the file mentions a
/// wrapper (`.module`, `DataParallel`, `DDP`, `unwrap_model`), and a function of it is called
/// from a file of the project that trains (see [`crate::semantic::wrap::callers`]); or it
/// spells both `hparams` and `Brain` (a SpeechBrain recipe, whose backward is in `Brain`). The
/// wrappers and helpers that make a value the inner module can come from other files, so
/// nothing else is required.
fn could_match(source: &str) -> bool {
    may_train(source) || mentions_wrapping(source) || may_alias_hparams(source)
}

/// Whether `callee` is a parameter of `function`, or a computing method or submodule of one
/// (`text_encoder.text_projection`): only the function's callers can have made it the inner
/// module of a wrapper, and only these calls of it are reported (see [`reported_atom`]).
fn calls_a_parameter(index: &FileIndex<'_>, function: FunctionId, callee: &Expr) -> bool {
    let root = match callee {
        Expr::Attribute(attribute) => {
            let method = attribute.attr.id.as_str();
            if method == "generate" || is_non_computing_method(method) {
                return false;
            }
            attribute.value.as_ref()
        }
        other => other,
    };
    let Expr::Name(name) = root else {
        return false;
    };
    index
        .function(function)
        .bindings
        .get(&name.id)
        .is_some_and(|bindings| {
            bindings
                .iter()
                .any(|binding| matches!(binding.value, BindingValue::Parameter { .. }))
        })
}

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Expr::Call(call) = expr else {
        return;
    };
    if !matches!(
        call.func.as_ref(),
        Expr::Name(_) | Expr::Attribute(_) | Expr::Call(_)
    ) {
        return;
    }
    let index = checker.wrap_index();
    // What a call statement returns is dropped: it cannot reach the loss. Tests bypass wrappers
    // on purpose, to compare with them.
    if index.statement_calls.contains(&call.range()) || checker.semantic().in_test_function() {
        return;
    }
    let Some(function) = checker.wrap_function_here() else {
        return;
    };
    let trains = checker.trains_at(function, call.start())
        || (calls_a_parameter(&index, function, &call.func)
            && checker.trains_through_other_files(function, call.start()));
    if !trains {
        return;
    }
    let state = checker.wrap_state(function, &call.func);
    let Some(atom) = reported_atom(checker, function, &call.func, &state) else {
        return;
    };
    if !matches!(atom, Wrap::Inner(..)) && runs_without_grad(checker, &call.func, atom.origin()) {
        return;
    }
    if checker.wrapper_called_for_same_backward(function, call, atom.origin()) {
        return;
    }
    if calls_untrained_submodule(checker, &call.func, &atom) {
        return;
    }
    let origin = atom.origin();
    let callee_text = checker.source()[call.func.range()].to_string();
    let part = !matches!(atom, Wrap::Inner(..));
    let still_the_wrapper = names_the_wrapper(checker, function, &call.func, origin, call.start());
    let configured = configured_wrapper(checker, function, origin);
    let replacement = (!part && still_the_wrapper)
        .then(|| exact_wrapper(&state, &call.func, function, configured))
        .flatten();
    let violation = UnwrappedModuleCall {
        callee: callee_text,
        // Named as written only where that text still names the wrapper.
        wrapper: origin
            .written
            .as_deref()
            .filter(|_| still_the_wrapper)
            .map(str::to_string),
        kind: atom.kind(),
        part,
        fixable: replacement.is_some(),
    };
    let mut diagnostic = Diagnostic::new(&RULE, &violation, call.func.range());
    if let Some(replacement) = replacement {
        diagnostic = diagnostic.with_fix(Fix::applicable_edit(
            Edit::range_replacement(replacement.to_string(), call.func.range()),
            Applicability::Unsafe,
        ));
    }
    checker.report(diagnostic);
}

/// What makes calling `callee` (whose state is `state`) the bug, if anything: it is the inner
/// module itself; or a computing submodule or method of the inner module (or of Fabric's
/// wrapper, which hands its attributes over), reached directly (`inner.encoder(x)`,
/// `decoder = inner.get_decoder(); decoder(x)`), not through a further attribute
/// (`inner.lm_head.weight.clone()`).
fn reported_atom(
    checker: &mut Checker<'_>,
    function: FunctionId,
    callee: &Expr,
    state: &WrapState,
) -> Option<Wrap> {
    let counts =
        |atom: &Wrap| !matches!(atom.kind(), WrapperKind::DeepSpeed | WrapperKind::Compiled);
    if let Some(inner) = state.find(|atom| matches!(atom, Wrap::Inner(..)) && counts(atom)) {
        return Some(inner.clone());
    }
    match callee {
        Expr::Attribute(attribute) => {
            let name = attribute.attr.id.as_str();
            if name == "generate" || is_non_computing_method(name) {
                return None;
            }
            let receiver = checker.wrap_state(function, &attribute.value);
            // FSDP's submodules and methods are NMF007's.
            receiver
                .find(|atom| match atom {
                    Wrap::Inner(kind, _) => counts(atom) && !kind.shards(),
                    Wrap::Wrapper(kind, _) => *kind == WrapperKind::Fabric,
                    _ => false,
                })
                .filter(|atom| {
                    // Fabric (since Lightning 2.1) runs these through the strategy's wrapper.
                    !(matches!(atom, Wrap::Wrapper(..))
                        && matches!(
                            name,
                            "training_step" | "validation_step" | "test_step" | "predict_step"
                        ))
                })
                .map(|atom| match atom {
                    Wrap::Inner(kind, origin) => Wrap::InnerPart(*kind, origin.clone()),
                    other => Wrap::WrapperPart(other.kind(), other.origin().clone()),
                })
        }
        _ => state
            .find(|atom| match atom {
                Wrap::InnerPart(kind, _) => counts(atom) && !kind.shards(),
                Wrap::WrapperPart(kind, _) => *kind == WrapperKind::Fabric,
                _ => false,
            })
            .cloned(),
    }
}

/// Whether `callee` is `W.part` for a part of the wrapped module that the file provably does
/// not train (see [`crate::semantic::wrap::trained`]): no parameter that an optimizer steps
/// runs through the bypass, so there is nothing for the wrapper to synchronise.
fn calls_untrained_submodule(checker: &mut Checker<'_>, callee: &Expr, atom: &Wrap) -> bool {
    let (Wrap::InnerPart(_, origin) | Wrap::WrapperPart(_, origin)) = atom else {
        return false;
    };
    let (Expr::Attribute(attribute), Some(created)) = (callee, origin.created) else {
        return false;
    };
    checker.untrained_submodule(created, attribute.attr.id.as_str())
}

/// Whether the method called runs without gradients (`@torch.no_grad()` on its `def`, here or
/// in another file of the project), found through the receiver's type or the type of the
/// module the wrapper wraps.
fn runs_without_grad(checker: &mut Checker<'_>, callee: &Expr, origin: &Origin) -> bool {
    let Expr::Attribute(attribute) = callee else {
        return false;
    };
    let mut types = vec![checker.infer_type(callee)];
    if let Some(created) = origin.created {
        types.push(checker.wrapped_method_type(created, attribute.attr.id.as_str()));
    }
    types.iter().any(|ty| {
        let members: Vec<&Ty> = match ty {
            Ty::Union(members) => members.iter().collect(),
            other => vec![other],
        };
        let functions: Vec<bool> = members
            .iter()
            .filter_map(|member| match member {
                Ty::Function(function_ref) => Some(function_ref.function.without_grad),
                _ => None,
            })
            .collect();
        !functions.is_empty() && functions.iter().all(|without_grad| *without_grad)
    })
}

/// The wrapper to call instead of `callee`, when that is exactly what the code means: `W` for
/// a callee `W.module`, or the one wrapper every way the callee's value comes has (the name a
/// module had before `W = DDP(module)`, `raw = W.module`), written in this function.
fn exact_wrapper<'s>(
    state: &'s WrapState,
    callee: &Expr,
    function: FunctionId,
    configured: bool,
) -> Option<&'s str> {
    if state.is_partial() {
        return None;
    }
    let mut written = state.atoms().iter().map(|atom| match atom {
        Wrap::Inner(_, origin) if origin.scope == Some(function) => origin.written.as_deref(),
        _ => None,
    });
    let first = written.next().flatten()?;
    if !written.all(|other| other == Some(first)) || !is_dotted_name(first) {
        return None;
    }
    match callee {
        Expr::Name(_) => Some(first),
        Expr::Attribute(attribute) if attribute.attr.id.as_str() == "module" => Some(first),
        // `self.hparams.CNN` → `self.modules.CNN`.
        Expr::Attribute(_) if configured => Some(first),
        _ => None,
    }
}

/// Whether the wrapper is one SpeechBrain's `Brain` made from its recipe's `modules:` (see
/// [`crate::semantic::wrap::hparams`]): `self.modules.<key>`, which names it in every method of
/// the class.
fn configured_wrapper(checker: &mut Checker<'_>, function: FunctionId, origin: &Origin) -> bool {
    let Some(written) = origin.written.as_deref() else {
        return false;
    };
    if origin.created.is_some() || origin.scope != Some(function) {
        return false;
    }
    let index = checker.wrap_index();
    let Some(self_name) = index.function(function).self_name else {
        return false;
    };
    let names_a_module = written
        .strip_prefix(self_name.as_str())
        .and_then(|rest| rest.strip_prefix(".modules."))
        .is_some_and(|key| is_dotted_name(key) && !key.contains('.'));
    names_a_module && checker.in_brain_subclass(function)
}

/// Whether `origin.written`, read where `callee` is called, is the wrapper: the receiver of a
/// callee `W.module`, or a name of this function whose only binding there made the wrapper
/// (not `model` after `model = unwrap(model)`).
fn names_the_wrapper(
    checker: &mut Checker<'_>,
    function: FunctionId,
    callee: &Expr,
    origin: &Origin,
    position: TextSize,
) -> bool {
    let Some(written) = origin.written.as_deref() else {
        return false;
    };
    if origin.scope != Some(function) {
        return false;
    }
    if configured_wrapper(checker, function, origin) {
        return true;
    }
    // `W.module(...)`, `W.module.encode(...)`: the callee itself reads the wrapper.
    let mut part = callee;
    while let Expr::Attribute(attribute) = part {
        if attribute.attr.id.as_str() == "module"
            && &checker.source()[attribute.value.range()] == written
        {
            return true;
        }
        part = &attribute.value;
    }
    if !is_dotted_name(written) || written.contains('.') {
        return false;
    }
    let name = Name::new(written);
    if checker.wrap_index().is_unchanged_parameter(function, &name) {
        return true;
    }
    let Some(created) = origin.created else {
        return false;
    };
    let values = checker.reaching_values(function, &name, position);
    matches!(values.as_slice(), [value] if value.range().contains_range(created))
}

/// `name` or `a.b.c`, nothing else: what a fix may put in place of the callee.
fn is_dotted_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|first| first.is_alphabetic() || first == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}
