//! What nmf knows about classes outside the project, by qualified name: which are
//! `nn.Module`s, which are not, what the typing forms mean, and the names of builtins.
//!
//! These are tables, not inference: the engine in [`super::infer`] consults them whenever a
//! type leads outside the project's own files.

use super::infer::Verdict;

/// Classes whose type arguments are `[key, value]`.
pub(crate) fn is_mapping_class(name: &str) -> bool {
    matches!(
        name,
        "builtins.dict"
            | "typing.Dict"
            | "typing.Mapping"
            | "typing.MutableMapping"
            | "typing.OrderedDict"
            | "typing.DefaultDict"
            | "collections.OrderedDict"
            | "collections.defaultdict"
            | "collections.abc.Mapping"
            | "collections.abc.MutableMapping"
    )
}

/// What a typing construct does to the type it wraps.
pub(crate) enum TypingForm {
    Optional,
    Union,
    /// `Annotated[T, ...]`, `ClassVar[T]`, `Final[T]`: the type is the first argument.
    Wrapper,
    /// `type[C]`, `Type[C]`: the class object.
    TypeOf,
    /// `Literal[...]`, `Callable[...]`: nothing we can use.
    Opaque,
}

pub(crate) fn typing_form(name: &str) -> Option<TypingForm> {
    match normalize_typing(name).as_str() {
        "typing.Optional" => Some(TypingForm::Optional),
        "typing.Union" => Some(TypingForm::Union),
        "typing.Annotated" | "typing.ClassVar" | "typing.Final" | "typing.Required"
        | "typing.NotRequired" | "typing.ReadOnly" => Some(TypingForm::Wrapper),
        "typing.Type" | "builtins.type" => Some(TypingForm::TypeOf),
        "typing.Literal" | "typing.Callable" | "collections.abc.Callable" | "typing.Any" => {
            Some(TypingForm::Opaque)
        }
        _ => None,
    }
}

pub(crate) fn normalize_typing(name: &str) -> String {
    match name.strip_prefix("typing_extensions.") {
        Some(rest) => format!("typing.{rest}"),
        None => name.to_string(),
    }
}

/// Classes of the standard library and of `torch` that nmf knows by name.
pub(crate) fn is_known_class(name: &str) -> bool {
    external_class_verdict(name) != Verdict::Unknown
}

/// The names Python's `builtins` module defines that code refers to as classes or functions.
pub(crate) const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BufferError",
    "EOFError",
    "Ellipsis",
    "Exception",
    "FileNotFoundError",
    "ImportError",
    "IndexError",
    "KeyError",
    "LookupError",
    "MemoryError",
    "NameError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "StopIteration",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
    "abs",
    "all",
    "any",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "classmethod",
    "complex",
    "dict",
    "dir",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "getattr",
    "hasattr",
    "hash",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "open",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// Every class of `torch.nn` that subclasses `nn.Module` (torch.nn.modules `__all__`).
pub(crate) const TORCH_NN_MODULES: &[&str] = &[
    "Module",
    "Identity",
    "Linear",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Threshold",
    "ReLU",
    "Hardtanh",
    "ReLU6",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Softmax2d",
    "LogSoftmax",
    "ELU",
    "SELU",
    "CELU",
    "GLU",
    "GELU",
    "Hardshrink",
    "LeakyReLU",
    "LogSigmoid",
    "Softplus",
    "Softshrink",
    "MultiheadAttention",
    "PReLU",
    "Softsign",
    "Softmin",
    "Tanhshrink",
    "RReLU",
    "L1Loss",
    "NLLLoss",
    "KLDivLoss",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "NLLLoss2d",
    "PoissonNLLLoss",
    "CosineEmbeddingLoss",
    "CTCLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "SmoothL1Loss",
    "GaussianNLLLoss",
    "HuberLoss",
    "SoftMarginLoss",
    "CrossEntropyLoss",
    "Container",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "LocalResponseNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "GroupNorm",
    "SyncBatchNorm",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad2d",
    "ReplicationPad1d",
    "ReplicationPad3d",
    "CrossMapLRN2d",
    "Embedding",
    "EmbeddingBag",
    "RNNBase",
    "RNN",
    "LSTM",
    "GRU",
    "RNNCellBase",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "PairwiseDistance",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "TripletMarginLoss",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "Bilinear",
    "CosineSimilarity",
    "Unflatten",
    "Unfold",
    "Fold",
    "AdaptiveLogSoftmaxWithLoss",
    "TransformerEncoder",
    "TransformerDecoder",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "Transformer",
    "LazyLinear",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "Flatten",
    "Hardsigmoid",
    "Hardswish",
    "SiLU",
    "Mish",
    "TripletMarginWithDistanceLoss",
    "ChannelShuffle",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "RMSNorm",
    "DataParallel",
];

/// The attributes `torch.nn.Module.__init__` sets on every module.
pub(crate) const MODULE_ATTRIBUTES: &[&str] = &[
    "training",
    "call_super_init",
    "dump_patches",
    "T_destination",
    "_parameters",
    "_buffers",
    "_non_persistent_buffers_set",
    "_backward_pre_hooks",
    "_backward_hooks",
    "_is_full_backward_hook",
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_state_dict_hooks",
    "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
    "_modules",
    "_compiled_call_impl",
    "_version",
];

/// Whether instances or subclasses of the outside class `name` get nothing called `attribute`
/// from it: true for `object`, the typing and collection bases, and `torch.nn.Module` outside
/// the attributes its `__init__` sets. Other classes (`nn.MultiheadAttention` has an
/// `out_proj`) may define anything.
pub(crate) fn external_defines_nothing_named(name: &str, attribute: &str) -> bool {
    match normalize_typing(name).as_str() {
        "torch.nn.Module" | "torch.nn.modules.module.Module" => {
            !MODULE_ATTRIBUTES.contains(&attribute)
        }
        "torch.autograd.Function" | "torch.autograd.function.Function" => true,
        other => {
            other.starts_with("builtins.")
                || other.starts_with("typing.")
                || other.starts_with("abc.")
                || other.starts_with("enum.")
                || other.starts_with("collections.")
        }
    }
}

/// What nmf knows about a class outside the project, by qualified name.
pub fn external_class_verdict(name: &str) -> Verdict {
    let name = normalize_typing(name);
    let name = name.as_str();
    if name.starts_with("torch.classes.") {
        // TorchScript custom classes (`torch.classes.ns.Cls()`) are C++ objects, not modules.
        return Verdict::NotModule;
    }
    if let Some(rest) = name.strip_prefix("torch.nn.") {
        // `torch.nn.Linear`, `torch.nn.modules.linear.Linear`, `torch.nn.parallel.X`.
        let last = rest.rsplit('.').next().unwrap_or(rest);
        let is_module_path =
            !rest.contains('.') || rest.starts_with("modules.") || rest.starts_with("parallel.");
        if is_module_path && TORCH_NN_MODULES.contains(&last) {
            return Verdict::Module;
        }
        if matches!(
            rest,
            "parallel.DistributedDataParallel" | "parallel.distributed.DistributedDataParallel"
        ) {
            return Verdict::Module;
        }
        if matches!(
            rest,
            "Parameter" | "parameter.Parameter" | "Buffer" | "parameter.Buffer"
        ) {
            return Verdict::NotModule;
        }
        return Verdict::Unknown;
    }
    match name {
        "torch.autograd.Function"
        | "torch.autograd.function.Function"
        | "torch.autograd.function.InplaceFunction"
        | "torch.autograd.function.NestedIOFunction" => Verdict::AutogradFunction,
        "torch.jit.ScriptModule"
        | "torch.jit.RecursiveScriptModule"
        | "torch.distributed.fsdp.FullyShardedDataParallel"
        | "torch.distributed.fsdp.fully_sharded_data_parallel.FullyShardedDataParallel"
        | "torch.ao.nn.quantized.Linear" => Verdict::Module,
        "torch.Tensor" | "types.SimpleNamespace" => Verdict::NotModule,
        "builtins.object"
        | "builtins.int"
        | "builtins.float"
        | "builtins.complex"
        | "builtins.bool"
        | "builtins.str"
        | "builtins.bytes"
        | "builtins.bytearray"
        | "builtins.list"
        | "builtins.tuple"
        | "builtins.dict"
        | "builtins.set"
        | "builtins.frozenset"
        | "builtins.Exception"
        | "builtins.BaseException"
        | "builtins.ValueError"
        | "builtins.TypeError"
        | "builtins.RuntimeError"
        | "builtins.KeyError"
        | "builtins.NotImplementedError"
        | "abc.ABC"
        | "typing.Protocol"
        | "typing.Generic"
        | "typing.NamedTuple"
        | "typing.TypedDict"
        | "typing.Dict"
        | "typing.List"
        | "typing.Set"
        | "typing.FrozenSet"
        | "typing.Tuple"
        | "typing.Mapping"
        | "typing.MutableMapping"
        | "typing.Sequence"
        | "typing.MutableSequence"
        | "typing.Iterable"
        | "typing.Iterator"
        | "typing.Collection"
        | "typing.Deque"
        | "typing.DefaultDict"
        | "typing.OrderedDict"
        | "collections.OrderedDict"
        | "collections.defaultdict"
        | "collections.deque"
        | "collections.UserDict"
        | "collections.abc.Mapping"
        | "collections.abc.MutableMapping"
        | "collections.abc.Sequence"
        | "collections.abc.MutableSequence"
        | "collections.abc.Iterable"
        | "collections.abc.Iterator"
        | "collections.abc.Collection"
        | "enum.Enum"
        | "enum.IntEnum"
        | "enum.StrEnum"
        | "enum.Flag"
        | "enum.IntFlag" => Verdict::NotModule,
        _ => Verdict::Unknown,
    }
}

/// Packages that cannot create a PyTorch `nn.Module`, with why: whatever they return, and
/// every attribute of it, is not one. Users add their own with `not-module-packages`.
pub const NOT_MODULE_PACKAGES: &[(&str, &str)] = &[
    ("cv2", "OpenCV: `cv2.dnn` networks run their own `forward`"),
    ("numpy", "NumPy arrays and functions"),
    ("onnx", "ONNX graphs and protobufs"),
    ("onnxruntime", "ONNX Runtime sessions"),
    ("tensorrt", "TensorRT engines and contexts"),
    ("openvino", "OpenVINO models and compiled models"),
    ("tensorflow", "TensorFlow layers and models"),
    ("keras", "Keras layers and models"),
    ("tf_keras", "Keras layers and models"),
    ("jax", "JAX arrays and functions"),
    ("flax", "Flax modules are JAX, not PyTorch"),
    ("haiku", "Haiku modules are JAX, not PyTorch"),
    ("equinox", "Equinox modules are JAX, not PyTorch"),
    ("sklearn", "scikit-learn estimators"),
    ("PIL", "Pillow images"),
    ("pandas", "pandas frames and series"),
    ("scipy", "SciPy objects"),
    ("xgboost", "XGBoost boosters"),
    ("lightgbm", "LightGBM boosters"),
    ("catboost", "CatBoost models"),
    ("paddle", "PaddlePaddle layers are not PyTorch modules"),
    ("mindspore", "MindSpore cells are not PyTorch modules"),
    ("mxnet", "MXNet blocks are not PyTorch modules"),
    (
        "chainer",
        "Chainer links and chains are not PyTorch modules",
    ),
    ("coremltools", "Core ML models"),
    ("tflite_runtime", "TensorFlow Lite interpreters"),
    ("tritonclient", "Triton inference clients"),
    ("ncnn", "ncnn networks"),
    ("MNN", "MNN networks"),
];

/// Why `name` (a qualified name) belongs to a package that makes no `nn.Module`s, if it does.
pub(crate) fn not_module_package(name: &str, configured: &[String]) -> Option<String> {
    let root = name.split('.').next().unwrap_or(name);
    if let Some((package, reason)) = NOT_MODULE_PACKAGES
        .iter()
        .find(|(package, _)| *package == root)
    {
        return Some(format!("{package} objects are not nn.Modules: {reason}"));
    }
    configured
        .iter()
        .find(|package| {
            name == package.as_str()
                || name
                    .strip_prefix(package.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
        .map(|package| format!("{package} objects are not nn.Modules, says `not-module-packages`"))
}

/// Functions that return a Python module object: a compiled extension loaded at run time
/// (`torch.utils.cpp_extension.load(...).forward(x)` is the extension's function), or an
/// imported module.
pub(crate) fn module_returning_function(name: &str) -> bool {
    matches!(
        name,
        "torch.utils.cpp_extension.load"
            | "torch.utils.cpp_extension.load_inline"
            | "importlib.import_module"
            | "importlib.reload"
            | "builtins.__import__"
    )
}

/// What a well-known factory of the ecosystem makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Makes {
    Module,
    NotModule,
}

/// Factories of the ecosystem whose result is known without reading their package, each with
/// why: the qualified name called (a function, a class, or `Class.method`), matched by
/// [`factory`]. Users add their own with `module-factories` and `not-module-factories`.
pub const FACTORIES: &[(&str, Makes, &str)] = &[
    (
        "timm.create_model",
        Makes::Module,
        "timm models are nn.Modules",
    ),
    (
        "timm.models.create_model",
        Makes::Module,
        "timm models are nn.Modules",
    ),
    (
        "torchvision.models.get_model",
        Makes::Module,
        "torchvision's model builders return nn.Modules",
    ),
    (
        "torchvision.models.<builder>",
        Makes::Module,
        "torchvision's model builders return nn.Modules",
    ),
    (
        "transformers.<Model>",
        Makes::Module,
        "transformers' PyTorch models are nn.Modules",
    ),
    (
        "transformers.<TF or Flax model>",
        Makes::NotModule,
        "transformers' TensorFlow and Flax models are not PyTorch modules",
    ),
    (
        "transformers.<Tokenizer, Processor, Config>",
        Makes::NotModule,
        "tokenizers, processors, feature extractors and configs are not nn.Modules",
    ),
    (
        "transformers.pipeline",
        Makes::NotModule,
        "a transformers Pipeline is not an nn.Module",
    ),
    (
        "diffusers.<Pipeline>",
        Makes::NotModule,
        "a diffusers pipeline holds modules but is not one",
    ),
    (
        "diffusers.<Model>",
        Makes::Module,
        "diffusers models are nn.Modules",
    ),
    (
        "torch.jit.load",
        Makes::Module,
        "a TorchScript ScriptModule is an nn.Module, whose hooks only `__call__` runs",
    ),
    (
        "torch.jit.script",
        Makes::Module,
        "a TorchScript ScriptModule is an nn.Module, whose hooks only `__call__` runs",
    ),
    (
        "torch.jit.trace",
        Makes::Module,
        "a TorchScript ScriptModule is an nn.Module, whose hooks only `__call__` runs",
    ),
];

/// What calling `name` (a qualified name outside the project) makes when it is one of the
/// ecosystem's well-known factories or a factory the configuration lists, and why.
pub(crate) fn factory(
    name: &str,
    module_factories: &[String],
    not_module_factories: &[String],
) -> Option<(Makes, String)> {
    let configured = |patterns: &[String]| {
        patterns
            .iter()
            .find(|pattern| dotted_glob(pattern, name))
            .cloned()
    };
    if let Some(pattern) = configured(module_factories) {
        return Some((
            Makes::Module,
            format!("`{pattern}` makes nn.Modules, says `module-factories`"),
        ));
    }
    if let Some(pattern) = configured(not_module_factories) {
        return Some((
            Makes::NotModule,
            format!("`{pattern}` makes no nn.Modules, says `not-module-factories`"),
        ));
    }
    let entry = builtin_factory(name)?;
    let (_, makes, reason) = FACTORIES.iter().find(|(key, _, _)| *key == entry)?;
    Some((*makes, format!("made by `{name}`; {reason}")))
}

/// The key in [`FACTORIES`] that `name` matches.
fn builtin_factory(name: &str) -> Option<&'static str> {
    let parts: Vec<&str> = name.split('.').collect();
    let root = *parts.first()?;
    let last = *parts.last()?;
    match root {
        "timm" => match name {
            "timm.create_model" => Some("timm.create_model"),
            "timm.models.create_model" => Some("timm.models.create_model"),
            _ => None,
        },
        "torchvision" => {
            let in_models = parts.get(1) == Some(&"models")
                && (parts.len() == 3
                    || (parts.len() == 4
                        && matches!(
                            parts[2],
                            "detection"
                                | "segmentation"
                                | "video"
                                | "optical_flow"
                                | "quantization"
                        )));
            if !in_models {
                return None;
            }
            match last {
                "get_model" => Some("torchvision.models.get_model"),
                "get_weight" | "get_model_weights" | "list_models" | "get_model_builder" => None,
                builder if builder.starts_with(|c: char| c.is_ascii_lowercase()) => {
                    Some("torchvision.models.<builder>")
                }
                _ => None,
            }
        }
        "transformers" => {
            if matches!(
                name,
                "transformers.pipeline" | "transformers.pipelines.pipeline"
            ) {
                return Some("transformers.pipeline");
            }
            // `X(config)`, `X.from_pretrained(...)`, `X.from_config(...)`.
            let class = match last {
                "from_pretrained" | "from_config" | "_from_config" => {
                    parts.get(parts.len().checked_sub(2)?)?
                }
                class => class,
            };
            transformers_class(class)
        }
        "diffusers" => {
            let class = match last {
                "from_pretrained" | "from_single_file" | "from_pipe" | "from_config" => {
                    parts.get(parts.len().checked_sub(2)?)?
                }
                class => class,
            };
            if class.ends_with("Pipeline") || class.starts_with("AutoPipeline") {
                Some("diffusers.<Pipeline>")
            } else if class.ends_with("Model")
                || ["Autoencoder", "UNet", "ControlNet"]
                    .iter()
                    .any(|prefix| class.starts_with(prefix))
            {
                Some("diffusers.<Model>")
            } else {
                None
            }
        }
        "torch" => match name {
            "torch.jit.load" => Some("torch.jit.load"),
            "torch.jit.script" => Some("torch.jit.script"),
            "torch.jit.trace" => Some("torch.jit.trace"),
            _ => None,
        },
        _ => None,
    }
}

/// Which kind of transformers class `class` is, by its name.
fn transformers_class(class: &str) -> Option<&'static str> {
    if !class.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    const NOT_MODULES: [&str; 8] = [
        "Tokenizer",
        "TokenizerFast",
        "Processor",
        "Config",
        "FeatureExtractor",
        "ImageProcessor",
        "ImageProcessorFast",
        "VideoProcessor",
    ];
    if NOT_MODULES.iter().any(|suffix| class.ends_with(suffix)) {
        return Some("transformers.<Tokenizer, Processor, Config>");
    }
    let is_model =
        class.starts_with("AutoModel") || class.ends_with("Model") || class.contains("For");
    if !is_model {
        return None;
    }
    let framework_prefix = |prefix: &str| {
        class
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    };
    if framework_prefix("TF") || framework_prefix("Flax") {
        Some("transformers.<TF or Flax model>")
    } else {
        Some("transformers.<Model>")
    }
}

/// Whether the dotted `name` matches `pattern`, where `*` stands for any run of characters
/// within one dotted part (`mylib.*.build` matches `mylib.models.build`).
fn dotted_glob(pattern: &str, name: &str) -> bool {
    let patterns: Vec<&str> = pattern.split('.').collect();
    let parts: Vec<&str> = name.split('.').collect();
    patterns.len() == parts.len()
        && patterns
            .iter()
            .zip(&parts)
            .all(|(pattern, part)| glob_part(pattern.as_bytes(), part.as_bytes()))
}

fn glob_part(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_part(rest, &text[skip..])),
        Some((first, rest)) => text
            .split_first()
            .is_some_and(|(head, tail)| head == first && glob_part(rest, tail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn makes(name: &str) -> Option<Makes> {
        factory(name, &[], &[]).map(|(makes, _)| makes)
    }

    #[test]
    fn the_ecosystem_s_factories_are_known_by_name() {
        assert_eq!(makes("timm.create_model"), Some(Makes::Module));
        assert_eq!(makes("torchvision.models.resnet50"), Some(Makes::Module));
        assert_eq!(
            makes("torchvision.models.detection.fasterrcnn_resnet50_fpn"),
            Some(Makes::Module)
        );
        assert_eq!(makes("torchvision.models.list_models"), None);
        assert_eq!(makes("torchvision.models.ResNet50_Weights"), None);
        assert_eq!(
            makes("transformers.AutoModelForCausalLM.from_pretrained"),
            Some(Makes::Module)
        );
        assert_eq!(
            makes("transformers.models.bert.BertForMaskedLM.from_pretrained"),
            Some(Makes::Module)
        );
        assert_eq!(makes("transformers.GPT2LMHeadModel"), Some(Makes::Module));
        assert_eq!(
            makes("transformers.TFBertModel.from_pretrained"),
            Some(Makes::NotModule)
        );
        assert_eq!(
            makes("transformers.AutoTokenizer.from_pretrained"),
            Some(Makes::NotModule)
        );
        assert_eq!(
            makes("transformers.AutoConfig.from_pretrained"),
            Some(Makes::NotModule)
        );
        assert_eq!(makes("transformers.pipeline"), Some(Makes::NotModule));
        assert_eq!(makes("transformers.set_seed"), None);
        assert_eq!(
            makes("diffusers.StableDiffusionPipeline.from_pretrained"),
            Some(Makes::NotModule)
        );
        assert_eq!(
            makes("diffusers.UNet2DConditionModel.from_pretrained"),
            Some(Makes::Module)
        );
        assert_eq!(makes("torch.jit.load"), Some(Makes::Module));
        assert_eq!(makes("torch.load"), None);
    }

    #[test]
    fn configured_factories_match_dotted_globs_and_come_first() {
        let mine = ["mylib.*.build".to_string()];
        assert_eq!(
            factory("mylib.models.build", &mine, &[]).map(|(makes, _)| makes),
            Some(Makes::Module)
        );
        assert!(factory("mylib.build", &mine, &[]).is_none());
        let tokenizers = ["transformers.AutoModel.from_pretrained".to_string()];
        assert_eq!(
            factory("transformers.AutoModel.from_pretrained", &[], &tokenizers)
                .map(|(makes, _)| makes),
            Some(Makes::NotModule)
        );
    }
}
