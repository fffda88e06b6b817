//! SpeechBrain's `hparams` aliases of wrapped modules, read from a recipe's YAML files.
//!
//! A SpeechBrain recipe builds its objects from a YAML file (HyperPyYAML) and hands them to
//! `Brain(modules=hparams["modules"], hparams=hparams, ...)`. `Brain.__init__` keeps the
//! `modules:` mapping in `self.modules` and, when distributed, replaces each module that has a
//! trainable parameter with `DDP(module)` (`_wrap_distributed`); `self.hparams` is a namespace
//! of the same YAML's objects, unwrapped. Where the mapping refers to a top-level object
//! (`CNN: !ref <CNN>`), `self.hparams.CNN` is the inner module of `self.modules.CNN`, and
//! calling it in training skips DDP (speechbrain#930, fixed in PR #915 by calling
//! `self.modules.CNN`).
//!
//! Only a light reading of the YAML is needed, not a YAML parser (HyperPyYAML's tags would need
//! one that accepts `!ref`, `!new:` and `!name:`): the top-level keys, the block under
//! `modules:` and the block under each key. Anything odd (a flow mapping `modules: {...}`, a
//! file that is not text) makes the file say nothing, and so the recipe nothing.
//!
//! The script's YAML is chosen on its command line, so every YAML of the recipe folder
//! (`hparams/*.yaml` next to the script) counts: a name is an alias of a wrapped module only
//! when every YAML that defines it lists it in `modules:`. On speechbrain's recipes this keeps
//! folders whose scripts share a name for different things quiet (ESC50's `train_l2i.py` loads a
//! pretrained `nmf_decoder` that only `train_nmf.py`'s YAML trains), at the price of recipes
//! whose YAMLs disagree (WHAM!'s enhancement `Encoder`, trained in seven YAMLs of nine and a
//! parameter-free STFT in the other two).

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextSize};
use rustc_hash::FxHashMap;

use super::index::FunctionId;
use super::{Origin, Wrap, WrapperKind};
use crate::checker::{Checker, MemoKey};

/// SpeechBrain's `Brain`, as its subclasses name it (`sb.Brain`, `sb.core.Brain`, ...).
const BRAIN: &[&str] = &["speechbrain.Brain", "speechbrain.core.Brain"];

/// Whether the text may hold a `Brain` subclass that calls `self.hparams.<name>`: it spells
/// both words.
pub fn may_alias_hparams(source: &str) -> bool {
    memchr::memmem::find(source.as_bytes(), b"hparams").is_some()
        && memchr::memmem::find(source.as_bytes(), b"Brain").is_some()
}

/// What an `if` test says of a `Brain`'s stage: `Some(true)` when its body runs in training
/// (`stage == sb.Stage.TRAIN`), `Some(false)` when it runs in evaluation (`stage !=
/// sb.Stage.TRAIN`, `stage == sb.Stage.VALID`, `stage == Stage.TEST`), `None` otherwise.
fn tests_training_stage(test: &Expr) -> Option<bool> {
    let Expr::Compare(compare) = test else {
        return None;
    };
    let ([op], [right]) = (&*compare.ops, &*compare.comparators) else {
        return None;
    };
    let stage = |expr: &Expr| match expr {
        Expr::Attribute(attribute) => {
            let owner = match attribute.value.as_ref() {
                Expr::Attribute(owner) => owner.attr.id.as_str(),
                Expr::Name(owner) => owner.id.as_str(),
                _ => return None,
            };
            (owner == "Stage").then(|| attribute.attr.id.as_str() == "TRAIN")
        }
        _ => None,
    };
    let is_train = stage(right).or_else(|| stage(&compare.left))?;
    match op {
        ast::CmpOp::Eq | ast::CmpOp::Is => Some(is_train),
        ast::CmpOp::NotEq | ast::CmpOp::IsNot => is_train.then_some(false),
        _ => None,
    }
}

/// Whether the class is a `Brain`, remembered per class.
struct DerivesFromBrain(bool);

/// The aliases of the file's recipe (see [`wrapped_aliases`]), read once per file.
struct RecipeAliases(FxHashMap<String, String>);

impl Checker<'_> {
    /// What `self.hparams.<name>` is, written in a method of a subclass of SpeechBrain's `Brain`
    /// whose recipe's YAML files make `<name>` the inner module of `self.modules.<key>`: that
    /// inner module, of a DDP wrapper named `self.modules.<key>`.
    pub fn brain_hparams_alias(
        &mut self,
        function: FunctionId,
        attribute: &ast::ExprAttribute,
    ) -> Option<Wrap> {
        let Expr::Attribute(namespace) = attribute.value.as_ref() else {
            return None;
        };
        let Expr::Name(owner) = namespace.value.as_ref() else {
            return None;
        };
        if namespace.attr.id.as_str() != "hparams" {
            return None;
        }
        let index = self.wrap_index();
        let facts = index.function(function);
        let self_name = facts.self_name?;
        if owner.id != *self_name || !self.in_brain_subclass(function) {
            return None;
        }
        let aliases = self.memo(MemoKey::File, |checker| {
            let configs = checker.recipe_configs().unwrap_or_default();
            let texts: Vec<&str> = configs.iter().map(|text| &**text).collect();
            RecipeAliases(wrapped_aliases(&texts))
        });
        let key = aliases.0.get(attribute.attr.id.as_str())?;
        Some(Wrap::Inner(
            WrapperKind::DistributedDataParallel,
            Origin {
                created: None,
                written: Some(format!("{self_name}.modules.{key}").into()),
                scope: Some(function),
            },
        ))
    }

    /// Whether `function` is the `compute_forward` or `compute_objectives` of a subclass of
    /// SpeechBrain's `Brain`: `Brain.fit_batch` calls them and backpropagates the loss.
    pub fn is_brain_training_step(&mut self, function: FunctionId) -> bool {
        let index = self.wrap_index();
        let is_step = index.function(function).def.is_some_and(|def| {
            matches!(
                def.name.id.as_str(),
                "compute_forward" | "compute_objectives"
            )
        });
        is_step && self.in_brain_subclass(function)
    }

    /// Whether code of `function` at `position` runs only when a SpeechBrain `Brain` evaluates:
    /// under `if stage != sb.Stage.TRAIN:` (or `== Stage.VALID`, `== Stage.TEST`), in the `else`
    /// of `if stage == sb.Stage.TRAIN:`, or after such an `if` whose body returns. `Brain`
    /// evaluates under `torch.no_grad()`.
    pub fn in_brain_evaluation(&mut self, function: FunctionId, position: TextSize) -> bool {
        let index = self.wrap_index();
        let evaluates = index.function(function).ifs.iter().any(|test| {
            let Some(training) = tests_training_stage(test.test) else {
                return false;
            };
            let evaluation = if training {
                test.orelse
            } else {
                Some(test.body)
            };
            evaluation.is_some_and(|range| range.contains(position))
                || (training
                    && test.exits
                    && test.statement.end() <= position
                    && test.block.contains(position))
        });
        evaluates && self.in_brain_subclass(function)
    }

    /// Whether `function` is a method of a subclass of SpeechBrain's `Brain`.
    pub fn in_brain_subclass(&mut self, function: FunctionId) -> bool {
        let index = self.wrap_index();
        let Some(class) = index.function(function).class else {
            return false;
        };
        let def = index.class(class).def;
        self.memo(MemoKey::Class(def.start()), |checker| {
            DerivesFromBrain(checker.class_derives_from(def, BRAIN))
        })
        .0
    }
}

/// Classes (by qualified name, or prefix ending in `.`) whose instances have no trainable
/// parameter: `_wrap_distributed` leaves them unwrapped, so calling them through `hparams` is
/// right. From the classes speechbrain's recipes list in `modules:`.
const WITHOUT_PARAMETERS: &[&str] = &[
    // Feature extraction, normalisation and signal processing (buffers at most).
    "speechbrain.processing.",
    "speechbrain.lobes.features.Fbank",
    "speechbrain.lobes.features.MFCC",
    // Augmentation.
    "speechbrain.augment.",
    "speechbrain.lobes.augment.",
    // Activations and pooling.
    "speechbrain.nnet.activations.",
    "speechbrain.nnet.pooling.",
    "torch.nn.LogSoftmax",
    "torch.nn.Softmax",
    "torch.nn.Identity",
    "torch.nn.Dropout",
    // An HMM without parameters.
    "speechbrain.alignment.aligner.HMMAligner",
];

/// A YAML larger than this is not a recipe's hparams: it says nothing.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// What one YAML file says: its top-level objects, and which of them `modules:` refers to.
#[derive(Debug, Default)]
struct ConfigFile<'t> {
    /// Top-level keys, with what follows the colon and whether the object is frozen.
    objects: FxHashMap<&'t str, TopLevel<'t>>,
    /// `modules:` entries `key: !ref <object>`, by the object they refer to.
    modules: FxHashMap<&'t str, &'t str>,
}

#[derive(Debug, Default)]
struct TopLevel<'t> {
    /// The text after `key:`, without a comment (`!new:speechbrain.nnet.linear.Linear`).
    value: &'t str,
    /// Its block sets `freeze:` to something other than false.
    frozen: bool,
}

/// The objects of a recipe's YAML files that `self.hparams.<name>` reaches unwrapped while
/// `Brain` wraps them: name → the key of `modules:` that refers to it (what `self.modules.<key>`
/// is). Empty when any file cannot be read.
pub fn wrapped_aliases(configs: &[&str]) -> FxHashMap<String, String> {
    let mut files = Vec::with_capacity(configs.len());
    for text in configs {
        match read_config(text) {
            Some(file) => files.push(file),
            None => return FxHashMap::default(),
        }
    }
    let mut aliases: FxHashMap<String, String> = FxHashMap::default();
    let mut refused: Vec<&str> = Vec::new();
    for file in &files {
        for (&object, &key) in &file.modules {
            if refused.contains(&object) || aliases.contains_key(object) {
                continue;
            }
            let mut keys = files
                .iter()
                .filter_map(|other| Some((other, other.objects.get(object)?)))
                .map(|(other, top)| {
                    trained_module(top)
                        .then(|| other.modules.get(object))
                        .flatten()
                });
            let agreed = keys.all(|listed| listed == Some(&key));
            if agreed && file.objects.contains_key(object) {
                aliases.insert(object.to_string(), key.to_string());
            } else {
                refused.push(object);
            }
        }
    }
    aliases
}

/// Whether the object is built here (`!new:`) from a class that has trainable parameters, and
/// not frozen.
fn trained_module(top: &TopLevel<'_>) -> bool {
    let Some(class) = top.value.strip_prefix("!new:") else {
        return false;
    };
    let class = class.trim();
    !top.frozen
        && !WITHOUT_PARAMETERS.iter().any(|known| {
            if known.ends_with('.') {
                class.starts_with(known)
            } else {
                class == *known
            }
        })
}

/// The top-level keys of a YAML file, and its `modules:` block. `None` when the file is odd:
/// larger than [`MAX_CONFIG_BYTES`], or a `modules:` mapping written otherwise than as a block.
fn read_config(text: &str) -> Option<ConfigFile<'_>> {
    if text.len() > MAX_CONFIG_BYTES {
        return None;
    }
    let mut file = ConfigFile::default();
    // The top-level key whose block the lines are in.
    let mut current: Option<&str> = None;
    for line in text.lines() {
        let content = without_comment(line);
        if content.trim().is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            current = None;
            let Some((key, value)) = content.split_once(':') else {
                continue;
            };
            if !is_identifier(key) {
                continue;
            }
            let value = value.trim();
            if key == "modules" && !value.is_empty() {
                // A flow mapping, or something else nmf does not read.
                return None;
            }
            file.objects.insert(
                key,
                TopLevel {
                    value,
                    frozen: false,
                },
            );
            current = Some(key);
            continue;
        }
        let Some(key) = current else {
            continue;
        };
        let Some((field, value)) = content.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        if key == "modules" {
            if let Some(object) = referred_object(value) {
                file.modules.insert(object, field.trim());
            }
        } else if field.trim() == "freeze"
            && !matches!(value, "False" | "false" | "no" | "No")
            && let Some(top) = file.objects.get_mut(key)
        {
            top.frozen = true;
        }
    }
    Some(file)
}

/// `object` in `!ref <object>`; `None` for anything else (`!ref <models[generator]>`).
fn referred_object(value: &str) -> Option<&str> {
    let inner = value
        .strip_prefix("!ref")?
        .trim()
        .strip_prefix('<')?
        .strip_suffix('>')?;
    is_identifier(inner).then_some(inner)
}

/// The line without a `#` comment (a `#` that starts the line or follows a space).
fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (position, &byte) in bytes.iter().enumerate() {
        if byte == b'#' && (position == 0 || matches!(bytes[position - 1], b' ' | b'\t')) {
            return &line[..position];
        }
    }
    line
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::wrapped_aliases;

    const TRANSFORMER: &str = "\
# Model parameters
CNN: !new:speechbrain.lobes.models.convolution.ConvolutionFrontEnd
    input_shape: (8, 10, 80)
Transformer: !new:speechbrain.lobes.models.transformer.TransformerASR.TransformerASR # yamllint disable-line
    d_model: 512
ctc_lin: !new:speechbrain.nnet.linear.Linear
    n_neurons: 5000
normalize: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
wav2vec2: !new:speechbrain.lobes.models.huggingface_transformers.wav2vec2.Wav2Vec2
    source: facebook/wav2vec2
    freeze: True
log_softmax: !new:torch.nn.LogSoftmax
    dim: -1

modules:
    CNN: !ref <CNN>
    Transformer: !ref <Transformer>   # the encoder-decoder
    ctc: !ref <ctc_lin>
    normalize: !ref <normalize>
    wav2vec2: !ref <wav2vec2>
    generator: !ref <models[generator]>

model: !new:torch.nn.ModuleList
    - [!ref <CNN>, !ref <Transformer>]
";

    fn sorted(configs: &[&str]) -> Vec<(String, String)> {
        let mut aliases: Vec<_> = wrapped_aliases(configs).into_iter().collect();
        aliases.sort();
        aliases
    }

    #[test]
    fn modules_that_refer_to_trained_objects_are_aliases() {
        assert_eq!(
            sorted(&[TRANSFORMER]),
            [
                ("CNN".to_string(), "CNN".to_string()),
                ("Transformer".to_string(), "Transformer".to_string()),
                ("ctc_lin".to_string(), "ctc".to_string()),
            ]
        );
    }

    #[test]
    fn every_yaml_that_defines_the_object_must_list_it() {
        let other = "CNN: !new:speechbrain.lobes.models.convolution.ConvolutionFrontEnd\n\
                     modules:\n    Transformer: !ref <Transformer>\n";
        let aliases = sorted(&[TRANSFORMER, other]);
        assert!(!aliases.iter().any(|(object, _)| object == "CNN"));
        // A YAML that does not define `Transformer` says nothing about it.
        assert!(aliases.iter().any(|(object, _)| object == "Transformer"));
        // Listed under another key elsewhere: no single wrapper to name.
        let renamed = "ctc_lin: !new:speechbrain.nnet.linear.Linear\n\
                       modules:\n    ctc_lin: !ref <ctc_lin>\n";
        assert!(
            !sorted(&[TRANSFORMER, renamed])
                .iter()
                .any(|(object, _)| object == "ctc_lin")
        );
    }

    #[test]
    fn odd_files_say_nothing() {
        let flow = "CNN: !new:torch.nn.Linear\nmodules: {CNN: !ref <CNN>}\n";
        assert!(sorted(&[flow]).is_empty());
        assert!(sorted(&[TRANSFORMER, flow]).is_empty());
        let huge = "#".repeat(super::MAX_CONFIG_BYTES + 1);
        assert!(sorted(&[TRANSFORMER, &huge]).is_empty());
        assert!(sorted(&[]).is_empty());
    }
}
