//! Whether code trains: a `backward` runs after it, so what it computes gets gradients.
//!
//! How far this looks (it prefers missing a finding to inventing one):
//! - a `.backward(...)` call after the position in the same function (`loss.backward()`,
//!   `accelerator.backward(loss)`, `scaler.scale(loss).backward()`, ...);
//! - a call after the position of a function or method of the same file that itself calls
//!   `.backward(...)` (`loss = step(batch); optimize(loss)`);
//! - the function is a training step a library runs and then backpropagates: `compute_loss`
//!   of a class whose base is a `...Trainer` (transformers' and TRL's trainers), or
//!   `calculate_train_batch_loss` (pytorch-accelerated), `compute_forward` and
//!   `compute_objectives` of a subclass of SpeechBrain's `Brain` (its `fit_batch`);
//! - or a function of the file that calls this one (`f(...)`, `self.f(...)`) trains at that
//!   call, up to three calls deep.
//!
//! Code under `torch.no_grad()` / `torch.inference_mode()` (a `with` or a decorator) never
//! trains, nor does a call made there; nor does a SpeechBrain `Brain`'s code for evaluation
//! stages (`if stage != sb.Stage.TRAIN:`), which `Brain` runs without gradients.
//!
//! Callers in other files of the project ([`super::callers`]) are asked only by
//! [`Checker::trains_through_other_files`], when what is called is a parameter (only a
//! caller can have made it the inner module of a wrapper): a module-level function (or a
//! function of the file that calls it, three calls deep, as above) is called from another file
//! where that file's code trains.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::callers::{follows_other_files, other_file_calls};
use super::index::{FileIndex, FunctionId};
use super::{Origin, Wrap};
use crate::analysis::forward_call::{
    could_spell_any, has_called_attribute, has_word, identifier_around, is_identifier_byte,
    occurrences,
};
use crate::checker::Checker;

/// Calls followed up to find a caller that trains.
const MAX_CALL_DEPTH: usize = 3;

impl Checker<'_> {
    /// Whether code of `function` at `position` trains (see the module's documentation).
    pub fn trains_at(&mut self, function: FunctionId, position: TextSize) -> bool {
        trains(self, function, position, 0, false)
    }

    /// Whether code of `function` at `position` trains, counting callers in other files of
    /// the project (see the module's documentation).
    pub fn trains_through_other_files(&mut self, function: FunctionId, position: TextSize) -> bool {
        trains(self, function, position, 0, true)
    }

    /// Whether code between the same two `backward` calls also calls the wrapper `origin` names,
    /// with gradients on and not in a branch that excludes this call: its forward prepared the
    /// reduction of this backward pass, so the inner call's gradients are reduced as well.
    pub fn wrapper_called_for_same_backward(
        &mut self,
        function: FunctionId,
        call: &ast::ExprCall,
        origin: &Origin,
    ) -> bool {
        let segment: TextRange = self.backward_segment(function, call.start());
        let index = self.wrap_index();
        let facts = index.function(function);
        let calls = &facts.calls;
        let first = calls.partition_point(|other| other.start() < segment.start());
        let source = self.source();
        for other in &calls[first..] {
            if other.start() >= segment.end() {
                break;
            }
            if other.start() == call.start()
                || facts.without_grad_at(other.start())
                || facts.exclusive(call.start(), other.start())
            {
                continue;
            }
            if origin
                .written
                .as_deref()
                .is_some_and(|written| &source[other.func.range()] == written)
            {
                return true;
            }
            let state = self.wrap_state(function, &other.func);
            let only_the_wrapper = !state.is_none()
                && state.atoms().iter().all(|atom| {
                    matches!(atom, Wrap::Wrapper(..))
                        && atom.origin().created.is_some()
                        && atom.origin().created == origin.created
                });
            if only_the_wrapper {
                return true;
            }
        }
        false
    }

    /// The stretch of `function` between the `backward` calls around `position` (the start or
    /// end of the function where there is none): code that runs for the same backward pass.
    pub fn backward_segment(&mut self, function: FunctionId, position: TextSize) -> TextRange {
        let index = self.wrap_index();
        let facts = index.function(function);
        let next = facts
            .backwards
            .partition_point(|&backward| backward <= position);
        let start = next
            .checked_sub(1)
            .map_or(facts.range.start(), |previous| facts.backwards[previous]);
        let end = facts
            .backwards
            .get(next)
            .copied()
            .unwrap_or(facts.range.end());
        TextRange::new(start, end.max(start))
    }
}

/// Whether `source` may hold code that trains by the rules of this module: it calls an
/// attribute `backward`, or names a training step a library backpropagates (`compute_loss`,
/// `calculate_train_batch_loss`, `training_step`, `train_step`, or a `def` whose name holds
/// both `train` and `loss`). A file without any trains nowhere.
pub fn may_train(source: &str) -> bool {
    has_called_attribute(source, "backward")
        || has_word(source, "compute_loss")
        || names_training_step(source)
        || could_spell_any(
            source,
            &["backward", "train", "train_step", "training_step"],
        )
}

/// Whether some identifier of `source` holding `train` is one of the training steps that
/// hold it, or the name of a `def` that holds `loss` too: one walk over the occurrences of
/// `train` (shared with other prefilters) instead of a search per step.
fn names_training_step(source: &str) -> bool {
    const STEPS: [&[u8]; 3] = [
        b"calculate_train_batch_loss",
        b"training_step",
        b"train_step",
    ];
    let bytes = source.as_bytes();
    occurrences(bytes, b"train").any(|found| {
        let (start, end) = identifier_around(bytes, found, found);
        let name = &bytes[start..end];
        if STEPS.contains(&name) {
            return true;
        }
        let before = source[..start].trim_end_matches([' ', '\t']);
        before.ends_with("def")
            && !before[..before.len() - 3]
                .bytes()
                .last()
                .is_some_and(is_identifier_byte)
            && memchr::memmem::find(name, b"loss").is_some()
            && !name.windows(3).any(|window| window == b"log")
    })
}

fn trains(
    checker: &mut Checker<'_>,
    function: FunctionId,
    position: TextSize,
    depth: usize,
    across_files: bool,
) -> bool {
    let index = checker.wrap_index();
    let facts = index.function(function);
    if facts.without_grad_at(position) || checker.in_brain_evaluation(function, position) {
        return false;
    }
    if facts.backwards.last().is_some_and(|&last| last > position) {
        return true;
    }
    let steps_after = last_training_call(checker, function).is_some_and(|last| last > position);
    if steps_after
        || is_library_training_step(&index, function)
        || checker.is_brain_training_step(function)
    {
        return true;
    }
    if across_files
        && follows_other_files(checker, function)
        && !other_file_calls(checker, function).is_empty()
    {
        return true;
    }
    depth < MAX_CALL_DEPTH && trains_through_callers(checker, function, depth, across_files)
}

/// Where the last call of `function` to a function of the file that calls `backward` is.
fn last_training_call(checker: &mut Checker<'_>, function: FunctionId) -> Option<TextSize> {
    if let Some(known) = checker.wrap_analysis().last_training_call.get(&function) {
        return *known;
    }
    let index = checker.wrap_index();
    let last = index
        .function(function)
        .calls
        .iter()
        .rev()
        .find(|call| calls_backward(&index, index.resolved_calls.get(&call.start()).copied()))
        .map(|call| call.start());
    checker
        .wrap_analysis()
        .last_training_call
        .insert(function, last);
    last
}

/// Whether `function` (a function of the file) calls `backward` itself, with gradients on.
fn calls_backward(index: &FileIndex<'_>, function: Option<FunctionId>) -> bool {
    function.is_some_and(|function| {
        let facts = index.function(function);
        !facts.decorated_without_grad
            && facts
                .backwards
                .iter()
                .any(|&backward| !facts.without_grad_at(backward))
    })
}

/// A method that a library or a trainer in another file calls and then backpropagates what it
/// returns: `compute_loss` of a subclass of a `...Trainer` (transformers' `Trainer` calls it
/// from `training_step`), pytorch-accelerated's `calculate_train_batch_loss`, and methods named
/// for a training step (`training_step`, `train_step`, or a name with both `train` and `loss`,
/// such as `get_train_loss_dict`).
fn is_library_training_step(index: &FileIndex<'_>, function: FunctionId) -> bool {
    let facts = index.function(function);
    let (Some(def), Some(class)) = (facts.def, facts.class) else {
        return false;
    };
    let name = def.name.id.as_str();
    if matches!(name, "training_step" | "train_step")
        || (name.contains("train") && name.contains("loss") && !name.contains("log"))
    {
        return true;
    }
    if !matches!(
        def.name.id.as_str(),
        "compute_loss" | "calculate_train_batch_loss"
    ) {
        return false;
    }
    index.class(class).def.bases().iter().any(|base| {
        let last = match base {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.id.as_str(),
            _ => return false,
        };
        last.ends_with("Trainer")
    })
}

/// Whether a function of the file that calls `function` trains at that call. Remembered by
/// function and depth (the depth bounds the search, so a cycle of calls ends).
fn trains_through_callers(
    checker: &mut Checker<'_>,
    function: FunctionId,
    depth: usize,
    across_files: bool,
) -> bool {
    let key = (function, depth, across_files);
    if let Some(&known) = checker.wrap_analysis().trains_through_callers.get(&key) {
        return known;
    }
    let index = checker.wrap_index();
    let mut found = false;
    if let Some(callers) = index.callers.get(&function) {
        for (caller, call) in callers.iter().take(32) {
            if trains(checker, *caller, call.start(), depth + 1, across_files) {
                found = true;
                break;
            }
        }
    }
    checker
        .wrap_analysis()
        .trains_through_callers
        .insert(key, found);
    found
}

#[cfg(test)]
mod tests {
    use super::may_train;

    /// The steps that hold `train` are found from its occurrences, as whole identifiers only.
    #[test]
    fn training_steps_are_found_where_train_occurs() {
        for text in [
            "loss.backward()\n",
            "def compute_loss(self): pass\n",
            "out = model.training_step(batch)\n",
            "train_step(batch)\n",
            "x = calculate_train_batch_loss\n",
            "def train_loss(self): pass\n",
            "async def my_train_loss_fn(self): pass\n",
        ] {
            assert!(may_train(text), "{text:?}");
        }
        for text in [
            "self.training = True\n",
            "x = pretrain_step(batch)\n",
            "train_steps = 3\n",
            "def train_log_loss(self): pass\n",
            "train_loss = 1\n",
            "undef train_loss(self): pass\n",
        ] {
            assert!(!may_train(text), "{text:?}");
        }
    }
}
