use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use crate::analysis::forward_call::{
    could_spell_any, is_identifier_byte, name_around, occurrences,
};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::wrap::names::is_non_computing_method;
use crate::semantic::wrap::{Wrap, WrapperKind};

declare_rule! {
    /// ## What it does
    /// Checks for calls of a method other than `forward` (or of a submodule) on a module
    /// wrapped with `FullyShardedDataParallel` or sharded with FSDP2's `fully_shard`, and on
    /// an FSDP wrapper's `.module`.
    ///
    /// ## Why is this bad?
    /// FSDP keeps each rank's shard of the parameters and gathers the full parameters only
    /// when the wrapper's `forward` runs (from its hooks). Any other method (`generate`,
    /// `encode`, `forward_features`) or a submodule called directly (`model.decoder(...)`)
    /// computes with sharded or flattened parameters: it fails with a shape error, hangs, or
    /// returns garbage (pytorch#82461, #100069, #109385, #111958, #123962; transformers#21667,
    /// #30228; metaseq#700). The fix in PyTorch is `register_fsdp_forward_method` (FSDP2); with
    /// FSDP1, call the method under `FSDP.summon_full_params(model, recurse=False)`.
    ///
    /// nmf knows a value is FSDP-wrapped from `FSDP(...)` / `FullyShardedDataParallel(...)`
    /// (torch's or fairscale's) and from `fully_shard(module)`, followed as NMF005 follows
    /// wrappers (assignments in order, attributes of the class, parameters, returns), and from a
    /// test such as `is_model_fsdp(model)` or `isinstance(model, FSDP)`, which makes the value
    /// FSDP in the code it guards and in the code after it (not in its `else`).
    ///
    /// Not reported: calls inside `with FSDP.summon_full_params(...)` (or `with ctx:` where
    /// `ctx` holds one); methods registered with `register_fsdp_forward_method(model,
    /// "name")` anywhere in the file; methods that compute nothing with the parameters or are
    /// FSDP's own API: `parameters`, `named_parameters`, `buffers`, `modules`, `children`,
    /// `state_dict`, `load_state_dict`, `to`, `to_empty`, `cuda`, `cpu`, `train`, `eval`,
    /// `apply`, `zero_grad`, `requires_grad_`, `clip_grad_norm_`, `no_sync`,
    /// `summon_full_params`, `unshard`, `reshard`, `tie_weights`, `merge_adapter`,
    /// `unmerge_adapter`, `loss`, FSDP1's `check_is_root`, `fsdp_modules` and its optimizer
    /// state-dict methods, private methods (`_name`), and names starting with `get_`, `set_`,
    /// `register_`,
    /// `reset_` (FSDP2's meta-device initialisation runs on the shards), `load_`, `save_`,
    /// `enable_`, `disable_`, `clear_`, `init_`, `prepare_`, `max_`, `num_`, `is_`, `has_`,
    /// ... Out of reach: a module wrapped in another file, or a child of an FSDP root reached
    /// through an object that is not the wrapper (`cfg.model = composite.model`).
    ///
    /// ## Example
    /// ```python
    /// model = FSDP(model)
    /// out = model.generate(input_ids)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// model = FSDP(model)
    /// with FSDP.summon_full_params(model, writeback=False, recurse=False):
    ///     out = model.generate(input_ids, synced_gpus=True)
    /// ```
    ///
    /// ## References
    /// - [PyTorch: FullyShardedDataParallel](https://pytorch.org/docs/stable/fsdp.html)
    /// - [pytorch/pytorch#100069: FSDP and `generate`](https://github.com/pytorch/pytorch/issues/100069)
    /// - [pytorch/pytorch#125394: `register_fsdp_forward_method`](https://github.com/pytorch/pytorch/pull/125394)
    pub static RULE = {
        code: "NMF007",
        name: "fsdp-non-forward-method",
        fix: FixAvailability::None,
        could_match: could_match,
        on_expr: check,
    }
}

/// A method or submodule of an FSDP-wrapped module, called without its parameters gathered.
pub struct FsdpNonForwardMethod {
    pub callee: String,
    pub receiver: String,
    pub method: String,
    pub fsdp2: bool,
}

impl Violation for FsdpNonForwardMethod {
    fn message(&self) -> String {
        format!(
            "`{}` is not the FSDP wrapper's `forward`: its parameters are not gathered, so it computes with shards",
            self.callee
        )
    }

    fn fix_title(&self) -> Option<String> {
        Some(if self.fsdp2 {
            format!(
                "Register it with `register_fsdp_forward_method({}, \"{}\")`, or call the module itself",
                self.receiver, self.method
            )
        } else {
            format!(
                "Call it under `FSDP.summon_full_params({}, recurse=False)`, or call the wrapper",
                self.receiver
            )
        })
    }
}

/// Every finding is in a file that calls something named like FSDP (an identifier holding
/// `FSDP`, `FullyShardedDataParallel` or `fully_shard` followed by `(`: the wrappers,
/// however imported under an alias that says so; one holding `fsdp` in any case called with
/// an argument: tests such as `is_model_fsdp(m)`) or tests `isinstance(m, ...)` against such
/// a class: without one, [`crate::semantic::wrap::index::FileIndex::mentions_fsdp`] is false
/// and the rule reports nothing.
fn could_match(source: &str) -> bool {
    let bytes = source.as_bytes();
    // `FSDP` holds `DP` and `FullyShardedDataParallel` holds `DataParallel`, whose
    // occurrences other prefilters walk too: the names are looked for there, not searched.
    let calls_holding = |part: &[u8], offset: usize, name: &[u8]| {
        occurrences(bytes, part).any(|found| {
            name_around(bytes, found, offset, name)
                .is_some_and(|start| called_at(bytes, start, name.len(), false))
        })
    };
    calls_holding(b"DP", 2, b"FSDP")
        || calls_holding(
            b"DataParallel",
            "FullySharded".len(),
            b"FullyShardedDataParallel",
        )
        || calls_named(bytes, b"fully_shard", false)
        || with_lowercase(bytes, |lower| {
            calls_named(lower, b"fsdp", true) || isinstance_mentions_fsdp(lower)
        })
        || could_spell_any(
            source,
            &["FullyShardedDataParallel", "fully_shard", "FSDP", "fsdp"],
        )
}

/// `search` of `bytes` in ASCII lower case, in a buffer each thread keeps for the next file
/// (every file is prefiltered: a copy of each would be allocated and freed, the large ones
/// mapped afresh).
fn with_lowercase(bytes: &[u8], search: impl FnOnce(&[u8]) -> bool) -> bool {
    /// A buffer larger than this is not kept for the next file.
    const KEPT: usize = 1 << 20;
    thread_local! {
        static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LOWER.with(|buffer| {
        let Ok(mut lower) = buffer.try_borrow_mut() else {
            return search(&bytes.to_ascii_lowercase());
        };
        lower.clear();
        lower.extend(bytes.iter().map(u8::to_ascii_lowercase));
        let found = search(&lower);
        if lower.capacity() > KEPT {
            *lower = Vec::new();
        }
        found
    })
}

/// Whether some identifier holding `part` is called (with an argument, if `with_argument`).
fn calls_named(text: &[u8], part: &[u8], with_argument: bool) -> bool {
    occurrences(text, part).any(|start| called_at(text, start, part.len(), with_argument))
}

/// Whether the identifier that goes on from `part_len` bytes at `start` is called (with an
/// argument, if `with_argument`).
fn called_at(text: &[u8], start: usize, part_len: usize, with_argument: bool) -> bool {
    let not_blank = |byte: &&u8| !matches!(**byte, b' ' | b'\t' | b'\\' | b'\n' | b'\r');
    let mut end = start + part_len;
    while end < text.len() && is_identifier_byte(text[end]) {
        end += 1;
    }
    let mut rest = text[end..].iter().filter(not_blank);
    rest.next() == Some(&b'(') && (!with_argument || rest.next() != Some(&b')'))
}

/// Whether the arguments of some `isinstance(...)` mention FSDP (`lower` in lower case).
fn isinstance_mentions_fsdp(lower: &[u8]) -> bool {
    /// Real `isinstance` calls are short; a longer one is taken as possibly mentioning FSDP.
    const MAX_ARGUMENTS: usize = 512;
    memchr::memmem::find_iter(lower, b"isinstance").any(|start| {
        let rest = &lower[start..];
        let Some(open) = rest.iter().position(|&byte| byte == b'(') else {
            return false;
        };
        let mut depth = 0usize;
        for (offset, &byte) in rest[open..].iter().enumerate().take(MAX_ARGUMENTS) {
            match byte {
                b'(' | b'[' => depth += 1,
                b')' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        let arguments = &rest[open..open + offset];
                        return memchr::memmem::find(arguments, b"fsdp").is_some()
                            || memchr::memmem::find(arguments, b"fullyshardeddataparallel")
                                .is_some();
                    }
                }
                _ => {}
            }
        }
        true
    })
}

/// FSDP's own API, private methods (a library's internals, not a model's computation) and
/// methods that compute nothing ([`is_non_computing_method`]).
fn is_allowed(method: &str) -> bool {
    method.starts_with('_')
        || matches!(
            method,
            "forward"
                | "reset_parameters"
                | "check_is_root"
                | "fsdp_modules"
                | "state_dict_type"
                | "optim_state_dict"
                | "optim_state_dict_to_load"
                | "full_optim_state_dict"
                | "sharded_optim_state_dict"
                | "flatten_sharded_optim_state_dict"
                | "rekey_optim_state_dict"
                | "scatter_full_optim_state_dict"
                | "shard_full_optim_state_dict"
        )
        || is_non_computing_method(method)
}

fn check(expr: &Expr, checker: &mut Checker<'_>) {
    let Expr::Call(call) = expr else {
        return;
    };
    let Expr::Attribute(attribute) = call.func.as_ref() else {
        return;
    };
    let method = attribute.attr.id.as_str();
    if is_allowed(method) {
        return;
    }
    let Some(function) = checker.wrap_function_here() else {
        return;
    };
    let index = checker.wrap_index();
    if !index.mentions_fsdp || index.fsdp_forward_methods.contains(method) {
        return;
    }
    let facts = index.function(function);
    if facts
        .summoned
        .iter()
        .any(|range| range.contains(call.start()))
    {
        return;
    }
    let receiver = checker.wrap_state(function, &attribute.value);
    let sharded = receiver.find(|atom| match atom {
        Wrap::Wrapper(kind, _) => kind.shards(),
        Wrap::Inner(kind, _) => *kind == WrapperKind::FullyShardedDataParallel,
        _ => false,
    });
    let Some(atom) = sharded else {
        return;
    };
    let fsdp2 = atom.kind() == WrapperKind::FullyShard;
    // The wrapper: the receiver, or the wrapper whose `.module` it is.
    let wrapper = match atom {
        Wrap::Inner(_, origin) if origin.scope == Some(function) => origin.written.clone(),
        _ => None,
    };
    let source = checker.source();
    let violation = FsdpNonForwardMethod {
        callee: source[call.func.range()].to_string(),
        receiver: wrapper.map_or_else(
            || source[attribute.value.range()].to_string(),
            |written| written.to_string(),
        ),
        method: method.to_string(),
        fsdp2,
    };
    checker.report(Diagnostic::new(&RULE, &violation, call.func.range()));
}

#[cfg(test)]
mod tests {
    use super::could_match;

    /// `FSDP` and `FullyShardedDataParallel` are found where `DP` and `DataParallel` occur, at
    /// the start of the text too.
    #[test]
    fn prefilter_finds_fsdp_names_where_their_shorter_part_occurs() {
        for text in [
            "FSDP(model)\n",
            "m = MyFSDPWrapper (model)\n",
            "FullyShardedDataParallel(model)\n",
            "m = FullyShardedDataParallelPlus(model)\n",
            "fully_shard(model)\n",
            "if is_model_FSDP(m): pass\n",
            "isinstance(m, Fsdp)\n",
        ] {
            assert!(could_match(text), "{text:?}");
        }
        for text in [
            "SDP(model)\n",
            "from torch.distributed.fsdp import FSDP\n",
            "DataParallel(model)\n",
            "m = ShardedDataParallel(model)\n",
        ] {
            assert!(!could_match(text), "{text:?}");
        }
    }
}
