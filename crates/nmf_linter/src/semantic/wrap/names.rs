//! The names the wrap-state analysis and its rules recognise: wrapper classes and functions,
//! the usual ways to unwrap, accessors of submodules, and methods that compute nothing with a
//! module's parameters.

use ruff_python_ast::Expr;
use unicode_normalization::UnicodeNormalization;

use super::WrapperKind;

/// Classes and functions whose result wraps the module given as first argument (or `module=`),
/// by qualified name.
const WRAPPERS: &[(&str, WrapperKind)] = &[
    (
        "torch.nn.parallel.DistributedDataParallel",
        WrapperKind::DistributedDataParallel,
    ),
    (
        "torch.nn.parallel.distributed.DistributedDataParallel",
        WrapperKind::DistributedDataParallel,
    ),
    (
        "apex.parallel.DistributedDataParallel",
        WrapperKind::DistributedDataParallel,
    ),
    ("torch.nn.DataParallel", WrapperKind::DataParallel),
    ("torch.nn.parallel.DataParallel", WrapperKind::DataParallel),
    (
        "torch.nn.parallel.data_parallel.DataParallel",
        WrapperKind::DataParallel,
    ),
    (
        "torch.distributed.fsdp.FullyShardedDataParallel",
        WrapperKind::FullyShardedDataParallel,
    ),
    (
        "torch.distributed.fsdp.fully_sharded_data_parallel.FullyShardedDataParallel",
        WrapperKind::FullyShardedDataParallel,
    ),
    (
        "fairscale.nn.FullyShardedDataParallel",
        WrapperKind::FullyShardedDataParallel,
    ),
    (
        "fairscale.nn.data_parallel.FullyShardedDataParallel",
        WrapperKind::FullyShardedDataParallel,
    ),
    (
        "torch.distributed.fsdp.fully_shard",
        WrapperKind::FullyShard,
    ),
    (
        "torch.distributed.fsdp._fully_shard.fully_shard",
        WrapperKind::FullyShard,
    ),
    (
        "torch.distributed.fsdp._fully_shard._fully_shard.fully_shard",
        WrapperKind::FullyShard,
    ),
    (
        "torch.distributed._composable.fsdp.fully_shard",
        WrapperKind::FullyShard,
    ),
    (
        "torch.distributed._composable.fsdp.fully_shard.fully_shard",
        WrapperKind::FullyShard,
    ),
    ("torch.compile", WrapperKind::Compiled),
];

/// The wrapper a class or function of a library makes, by its qualified name.
pub fn wrapper_constructor(qualified: &str) -> Option<WrapperKind> {
    WRAPPERS
        .iter()
        .find(|(name, _)| *name == qualified)
        .map(|(_, kind)| *kind)
}

/// Whether a callee whose last identifier is `name` may be a wrapper class or function, so
/// that it is worth resolving: the class names and their usual aliases (`DDP`, `FSDP`,
/// `TorchDDP`, `DP`), `fully_shard`, `compile`, and `initialize` (DeepSpeed).
pub fn may_name_wrapper(name: &str) -> bool {
    name.contains("DataParallel")
        || name.contains("DDP")
        || name.contains("FSDP")
        || matches!(name, "DP" | "fully_shard" | "compile" | "initialize")
}

/// Whether an expression, as written (`accelerator`, `self.accelerator`), names an
/// accelerator. Compared after NFKC normalisation, as Python compares names.
pub fn names_an_accelerator(written: &str) -> bool {
    normalized_lowercase(written).contains("accelerator")
}

/// Whether an expression, as written (`fabric`, `self.fabric`), names a Lightning Fabric.
pub fn names_a_fabric(written: &str) -> bool {
    normalized_lowercase(written).contains("fabric")
}

fn normalized_lowercase(written: &str) -> String {
    if written.is_ascii() {
        written.to_ascii_lowercase()
    } else {
        written.nfkc().collect::<String>().to_lowercase()
    }
}

/// Functions and methods that return the module inside a wrapper: Accelerate's
/// `accelerator.unwrap_model(m)` and `extract_model_from_parallel(m)`, transformers'
/// `unwrap_model(m)`, ultralytics' `de_parallel(m)`.
pub fn is_unwrap_function(name: &str) -> bool {
    name.ends_with("unwrap_model") || matches!(name, "extract_model_from_parallel" | "de_parallel")
}

/// Methods that return a submodule of a module (transformers' accessors, `get_submodule`):
/// what they return from an inner module is part of it.
pub fn is_submodule_accessor(name: &str) -> bool {
    matches!(
        name,
        "get_decoder"
            | "get_encoder"
            | "get_base_model"
            | "get_submodule"
            | "get_output_embeddings"
            | "get_input_embeddings"
            | "get_model"
    )
}

/// Methods of a module that compute nothing with its parameters in a forward pass: they
/// configure, move, list, save or load the module, or only transform what a forward returned.
/// Calling them on an inner module or through a wrapper skips nothing that matters. The list
/// is documented with NMF005 and NMF007.
pub fn is_non_computing_method(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "apply",
        "bfloat16",
        "buffers",
        "children",
        "clip_grad_norm_",
        "clip_grad_value_",
        "cpu",
        "cuda",
        "double",
        "eval",
        "extra_repr",
        "float",
        "half",
        "loss",
        "merge_adapter",
        "merge_and_unload",
        "modules",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "no_sync",
        "parameters",
        "push_to_hub",
        "requires_grad_",
        "reshard",
        "share_memory",
        "state_dict",
        "summon_full_params",
        "tie_weights",
        "to",
        "to_empty",
        "train",
        "type",
        "unmerge_adapter",
        "unshard",
        "xpu",
        "zero_grad",
    ];
    const PREFIXES: &[&str] = &[
        "add_",
        "clear_",
        "disable_",
        "enable_",
        "format_",
        "get_",
        "gradient_checkpointing_",
        "has_",
        "init_",
        "is_",
        "load_",
        "log_",
        "max_",
        "num_",
        "parse_",
        "prepare_",
        "print_",
        "register_",
        "remove_",
        "reset_",
        "resize_",
        "save_",
        "set_",
        "update_",
    ];
    const SUFFIXES: &[&str] = &["_log", "_state_dict"];
    EXACT.contains(&name)
        || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// `torch.no_grad()`, `torch.inference_mode()` (called or not, as decorators are written) and
/// `torch.set_grad_enabled(False)`, however imported: recognised by the name, which nothing
/// else in PyTorch code spells.
pub fn is_without_grad(expr: &Expr) -> bool {
    let (callee, arguments) = match expr {
        Expr::Call(call) => (call.func.as_ref(), Some(&call.arguments)),
        other => (other, None),
    };
    let name = match callee {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attribute) => attribute.attr.id.as_str(),
        _ => return false,
    };
    match name {
        "no_grad" | "inference_mode" => true,
        "set_grad_enabled" => arguments.is_some_and(|arguments| {
            matches!(
                arguments.args.first(),
                Some(Expr::BooleanLiteral(literal)) if !literal.value
            )
        }),
        _ => false,
    }
}

/// An identifier that says the code runs distributed (`distributed`, `args.ddp`,
/// `self.world_size`, `is_parallel(...)`): in a test, the branch it guards is the one where
/// the model is wrapped.
pub fn says_distributed(identifier: &str) -> bool {
    let lower = identifier.to_ascii_lowercase();
    [
        "distributed",
        "ddp",
        "fsdp",
        "parallel",
        "world_size",
        "multi_gpu",
        "n_gpu",
        "num_gpus",
        "wrapped",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// An identifier that says the code tests for FSDP (`is_model_fsdp`, `isinstance(m, FSDP)`).
pub fn says_fsdp(identifier: &str) -> bool {
    let lower = identifier.to_ascii_lowercase();
    lower.contains("fsdp") || lower.contains("fullyshardeddataparallel")
}

/// Whether `source` mentions a data-parallel wrapper or the unwrapping of one: `.module` read
/// as an attribute, or one of the words `DataParallel`, `DistributedDataParallel`, `DDP`,
/// `unwrap_model` (non-ASCII spellings included; FSDP, whose states other files do not lend,
/// does not count). Files of helpers for training code do; the search for other files' calls
/// of a file's functions is made only from such files (see [`super::callers`]), and NMF005's
/// prefilter admits them.
pub fn mentions_wrapping(source: &str) -> bool {
    use crate::analysis::forward_call::{
        could_spell_any, has_word, identifier_around, name_around, occurrences,
    };
    let bytes = source.as_bytes();
    let is_identifier = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
    let reads_module = memchr::memmem::find_iter(bytes, b".module").any(|start| {
        bytes
            .get(start + ".module".len())
            .is_none_or(|&next| !is_identifier(next))
    });
    // `DistributedDataParallel` holds `DataParallel`, `DDP` holds `DP`, whose occurrences
    // other prefilters walk too: the longer words are looked for there, not searched.
    let is_word = |start: usize, len: usize| {
        identifier_around(bytes, start, start + len) == (start, start + len)
    };
    let holding = |part: &[u8], longer: &[(usize, &[u8])]| {
        occurrences(bytes, part).any(|found| {
            longer.iter().any(|&(offset, word)| {
                name_around(bytes, found, offset, word)
                    .is_some_and(|start| is_word(start, word.len()))
            })
        })
    };
    reads_module
        || holding(
            b"DataParallel",
            &[(0, b"DataParallel"), (11, b"DistributedDataParallel")],
        )
        || holding(b"DP", &[(1, b"DDP")])
        || has_word(source, "unwrap_model")
        || could_spell_any(
            source,
            &[
                "module",
                "DataParallel",
                "DistributedDataParallel",
                "DDP",
                "unwrap_model",
            ],
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_and_bookkeeping_methods_compute_nothing() {
        for name in [
            "parameters",
            "state_dict",
            "get_eos_token",
            "format_batch",
            "train_log",
            "set_kv_cache",
            "register_forward_hook",
            "loss",
        ] {
            assert!(is_non_computing_method(name), "{name}");
        }
        for name in [
            "encode",
            "decode",
            "generate",
            "train_step",
            "compute_loss",
            "training_step",
            "forward_features",
            "model",
        ] {
            assert!(!is_non_computing_method(name), "{name}");
        }
    }

    #[test]
    fn receivers_are_compared_after_normalisation() {
        assert!(names_an_accelerator("self.accelerator"));
        assert!(names_an_accelerator("ａｃｃｅｌｅｒａｔｏｒ"));
        assert!(names_a_fabric("self.fabric"));
        assert!(!names_a_fabric("data"));
    }

    #[test]
    fn wrappers_by_qualified_name() {
        assert_eq!(
            wrapper_constructor("torch.nn.parallel.DistributedDataParallel"),
            Some(WrapperKind::DistributedDataParallel)
        );
        assert_eq!(
            wrapper_constructor("torch.distributed.fsdp.fully_shard"),
            Some(WrapperKind::FullyShard)
        );
        assert_eq!(wrapper_constructor("torch.nn.Linear"), None);
        assert!(may_name_wrapper("TorchDDP") && may_name_wrapper("FSDP"));
        assert!(!may_name_wrapper("Linear"));
    }

    #[test]
    fn wrapping_is_mentioned_by_module_reads_and_data_parallel_words() {
        for text in [
            "inner = model.module\n",
            "from torch.nn.parallel import DistributedDataParallel as DDP\n",
            "model = torch.nn.DataParallel(model)\n",
            "raw = accelerator.unwrap_model(model)\n",
            "inner = model.ｍodule\n",
        ] {
            assert!(mentions_wrapping(text), "{text}");
        }
        for text in [
            "model = FullyShardedDataParallel(model)\n",
            "for m in model.modules(): pass\n",
            "import importlib.module_utils\n",
            "x = transform_if_DDP_model(m)\n",
        ] {
            assert!(!mentions_wrapping(text), "{text}");
        }
    }
}
