//! Calls of the checked file's functions from other files of the project: what they pass, and
//! whether they train there.
//!
//! A helper module (`library/train_util.py`) often gets its model from the training scripts
//! that import it (`train_util.get_hidden_states(args, ids, tokenizer, text_encoder)` after
//! `text_encoder = text_encoder.module`). Summaries do not record calls, so those callers are
//! found when a question needs them, and kept bounded:
//! - only for module-level functions of a file with a module name that mentions a wrapper or
//!   the unwrapping of one ([`mentions_wrapping`]): helpers of training code;
//! - the candidates are the files whose import statements name the function or its module (the
//!   project's word index), at most [`MAX_CALLER_FILES`]; a function imported more widely stays
//!   without callers from other files;
//! - a candidate is analysed (parsed, with nothing followed into further files) only when its
//!   text writes the function's name and may train ([`may_train`]); once per run, for every
//!   checked file that asks ([`ProjectModules::shared_calls`]): the analysis keeps every call in
//!   code that trains with what it may run, and each checked file picks its own functions' calls
//!   from it ([`FileCalls`]);
//! - a call counts when it trains where it stands (in that file's code, see
//!   [`super::training`]: what other calls pass never reaches a backward), its callee is
//!   reached through an import of that file (`f(...)` after `from m import f`, `m.f(...)` after
//!   `import m`, any name after a star import) and resolves, by type, to this very function.
//!
//! What a call passes keeps its kind of wrapper and what the value is (a wrapper, the inner
//! module, a part of either), not where the other file made it: no fix is offered from it.

use std::rc::Rc;
use std::sync::Arc;

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use super::eval::callee_type;
use super::index::{BindingValue, FunctionId, TOP_LEVEL};
use super::names::mentions_wrapping;
use super::training::may_train;
use super::{Origin, Wrap, WrapState, WrapperKind};
use crate::analysis::forward_call::has_word;
use crate::checker::{Checker, with_other_file};
use crate::semantic::infer::{ProjectFile, ProjectModules, Ty};

/// Files that import a function (or its module) analysed for its calls, at most.
pub const MAX_CALLER_FILES: usize = 16;
/// Calls of the checked file's functions that train looked at in one other file, at most.
const MAX_CALLS: usize = 64;

/// One call of a function of the checked file, in code of another file that trains.
#[derive(Debug, Clone, Default)]
pub struct OtherFileCall {
    /// The state of each positional argument, up to a starred one.
    pub positional: Vec<WrapState>,
    /// The state of each keyword argument.
    pub keywords: Vec<(Name, WrapState)>,
}

impl OtherFileCall {
    /// What the call passes for the parameter `name` at `position` (`None`: keyword-only).
    pub fn argument(&self, name: &Name, position: Option<usize>) -> Option<&WrapState> {
        position
            .and_then(|position| self.positional.get(position))
            .or_else(|| {
                self.keywords
                    .iter()
                    .find(|(keyword, _)| keyword == name)
                    .map(|(_, state)| state)
            })
    }
}

/// Whether calls of `function` from other files may be asked about: it is a module-level
/// function of a file that has a module name and mentions a wrapper, and the checker is not
/// itself analysing another file.
pub fn follows_other_files(checker: &mut Checker<'_>, function: FunctionId) -> bool {
    if !checker.follows_other_files() || checker.module_name().is_none() {
        return false;
    }
    let index = checker.wrap_index();
    let facts = index.function(function);
    if facts.def.is_none() || facts.class.is_some() || facts.parent != Some(TOP_LEVEL) {
        return false;
    }
    let analysis = checker.wrap_analysis();
    if let Some(known) = analysis.mentions_wrapping {
        return known;
    }
    let mentions = mentions_wrapping(checker.source());
    checker.wrap_analysis().mentions_wrapping = Some(mentions);
    mentions
}

/// The calls of `function` (see [`follows_other_files`]) in code of other files of the project
/// that trains. Empty when unknown.
pub fn other_file_calls(checker: &mut Checker<'_>, function: FunctionId) -> Rc<Vec<OtherFileCall>> {
    if let Some(known) = checker.wrap_analysis().other_file_calls.get(&function) {
        return known.clone();
    }
    let calls = Rc::new(find_calls(checker, function));
    checker
        .wrap_analysis()
        .other_file_calls
        .insert(function, calls.clone());
    calls
}

fn find_calls(checker: &mut Checker<'_>, function: FunctionId) -> Vec<OtherFileCall> {
    let index = checker.wrap_index();
    let (Some(def), Some(module)) = (index.function(function).def, checker.module_name()) else {
        return Vec::new();
    };
    let module = module.to_string();
    let name = def.name.id.clone();
    let last = module.rsplit('.').next().unwrap_or(&module).to_string();
    let project = checker.project();
    let Some(files) = project.importers(&[name.as_str(), last.as_str()], MAX_CALLER_FILES) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for file in files {
        if file.module_name.as_deref() == Some(module.as_str())
            || !has_word(&file.text, name.as_str())
            || !may_train(&file.text)
        {
            continue;
        }
        let calls = calls_in_file(checker, &module, &file);
        if let Some(calls) = calls.get(&function) {
            found.extend(calls.iter().take(MAX_CALLS).cloned());
        }
    }
    found
}

/// The calls in `file` of every module-level function of the checked file (`module`), by
/// function: a file that calls one helper of a module usually calls several, so its calls are
/// sorted once for all of them.
fn calls_in_file(
    checker: &mut Checker<'_>,
    module: &str,
    file: &ProjectFile<'_>,
) -> Rc<FxHashMap<FunctionId, Vec<OtherFileCall>>> {
    use std::hash::BuildHasher;
    let key = (
        file.module_name.clone(),
        rustc_hash::FxBuildHasher.hash_one(file.text.as_str()),
    );
    if let Some(known) = checker.wrap_analysis().files_calling.get(&key) {
        return known.clone();
    }
    let index = checker.wrap_index();
    let functions: FxHashMap<Name, (FunctionId, TextSize)> = index
        .functions
        .iter()
        .enumerate()
        .filter(|(_, facts)| facts.class.is_none() && facts.parent == Some(TOP_LEVEL))
        .filter_map(|(id, facts)| {
            let def = facts.def?;
            Some((def.name.id.clone(), (id as FunctionId, def.start())))
        })
        .collect();
    let settings = checker.settings();
    let analyse = |project: &dyn ProjectModules| {
        with_other_file(file, project, settings, training_calls).unwrap_or_default()
    };
    let training = match file
        .project
        .shared_calls(&file.text, settings.semantic_key(), &analyse)
    {
        Some(shared) => shared,
        None => Arc::new(analyse(file.project.as_ref())),
    };
    let calls = Rc::new(training.of(module, &functions));
    checker
        .wrap_analysis()
        .files_calling
        .insert(key, calls.clone());
    calls
}

/// What the analysis of another file found, the same for every checked file that asks (see
/// [`ProjectModules::shared_calls`]): each call in its code that trains whose callee is
/// written as a name or an attribute, in the order of the code.
#[derive(Debug, Default)]
pub struct FileCalls {
    calls: Vec<TrainingCall>,
}

/// One call of [`FileCalls`].
#[derive(Debug)]
struct TrainingCall {
    /// The callee's name as written: `f` in `f(x)` and in `helpers.f(x)`.
    written: Name,
    /// The module-level functions of the name `written` the callee may be, by module and where
    /// the `def` starts.
    runs: Vec<(Box<str>, TextSize)>,
    /// What the call passes, when it may run such a function.
    passed: OtherFileCall,
}

impl FileCalls {
    /// The calls of `functions` (module-level functions of `module`, by name, with where each
    /// `def` starts), by function. Of the calls written with one of their names, only the
    /// first [`MAX_CALLS`] are looked at.
    fn of(
        &self,
        module: &str,
        functions: &FxHashMap<Name, (FunctionId, TextSize)>,
    ) -> FxHashMap<FunctionId, Vec<OtherFileCall>> {
        let mut found: FxHashMap<FunctionId, Vec<OtherFileCall>> = FxHashMap::default();
        let mut looked_at = 0;
        for call in &self.calls {
            let Some(&(function, start)) = functions.get(&call.written) else {
                continue;
            };
            looked_at += 1;
            if looked_at > MAX_CALLS {
                break;
            }
            if call
                .runs
                .iter()
                .any(|(runs, runs_at)| &**runs == module && *runs_at == start)
            {
                found.entry(function).or_default().push(call.passed.clone());
            }
        }
        found
    }
}

/// The calls in the checker's file, in code that trains, whose callee is written as a name or
/// an attribute; for those that may run a module-level function of that name (of any module),
/// what they pass.
fn training_calls(checker: &mut Checker<'_>) -> FileCalls {
    let index = checker.wrap_index();
    // Only a callee reached through an import can be a function of another module: a name the
    // file imports (`f(...)` after `from m import f`) or an attribute of one (`m.f(...)` after
    // `import m`); a star import may bind any name. The others are not resolved: resolving
    // every callee of a large trainer would read the summaries of modules no check needs.
    let imported: FxHashSet<&Name> = index
        .functions
        .iter()
        .flat_map(|facts| &facts.bindings)
        .filter(|(_, bindings)| {
            bindings
                .iter()
                .any(|binding| matches!(binding.value, BindingValue::Imported))
        })
        .map(|(name, _)| name)
        .collect();
    let star = imported.iter().any(|name| name.as_str() == "*");
    let mut calls = Vec::new();
    for (caller, facts) in index.functions.iter().enumerate() {
        let caller = caller as FunctionId;
        for call in &facts.calls {
            let written = match call.func.as_ref() {
                Expr::Name(callee) => &callee.id,
                Expr::Attribute(attribute) => &attribute.attr.id,
                _ => continue,
            };
            if !checker.trains_at(caller, call.start()) {
                continue;
            }
            if !star && !root_name(&call.func).is_some_and(|root| imported.contains(root)) {
                calls.push(TrainingCall {
                    written: written.clone(),
                    runs: Vec::new(),
                    passed: OtherFileCall::default(),
                });
                continue;
            }
            let ty = callee_type(checker, caller, &call.func);
            let members = match &ty {
                Ty::Union(members) => members.as_slice(),
                other => std::slice::from_ref(other),
            };
            let runs: Vec<(Box<str>, TextSize)> = members
                .iter()
                .filter_map(|member| match member {
                    Ty::Function(function) if function.function.name == *written => {
                        Some((function.module.name.clone()?, function.function.start))
                    }
                    _ => None,
                })
                .collect();
            let passed = if runs.is_empty() {
                OtherFileCall::default()
            } else {
                passed(checker, caller, call)
            };
            calls.push(TrainingCall {
                written: written.clone(),
                runs,
                passed,
            });
        }
    }
    FileCalls { calls }
}

/// The name an expression of names and attributes starts with: `m` in `m.sub.f`.
fn root_name(mut expr: &Expr) -> Option<&Name> {
    loop {
        match expr {
            Expr::Name(name) => return Some(&name.id),
            Expr::Attribute(attribute) => expr = &attribute.value,
            _ => return None,
        }
    }
}

/// What `call` (in `caller`) passes, as the checked file can hold it (see [`foreign`]).
fn passed(checker: &mut Checker<'_>, caller: FunctionId, call: &ast::ExprCall) -> OtherFileCall {
    let positional = call
        .arguments
        .args
        .iter()
        .take_while(|argument| !argument.is_starred_expr())
        .map(|argument| {
            let state = checker.wrap_state(caller, argument);
            foreign(checker, caller, call, &state)
        })
        .collect();
    let keywords = call
        .arguments
        .keywords
        .iter()
        .filter_map(|keyword| {
            let arg = keyword.arg.as_ref()?;
            let state = checker.wrap_state(caller, &keyword.value);
            Some((
                Name::new(arg.as_str()),
                foreign(checker, caller, call, &state),
            ))
        })
        .collect();
    OtherFileCall {
        positional,
        keywords,
    }
}

/// What `caller` passes to `call` (`state`), as the checked file can hold it: what each value
/// is and its kind of wrapper, not where (ranges of another file mean nothing here). FSDP is
/// left out: whether a value is FSDP is decided from the file's own code (NMF007). The inner
/// module of a wrapper that the caller also calls for the same backward pass is left out too:
/// that forward prepared the reduction.
fn foreign(
    checker: &mut Checker<'_>,
    caller: FunctionId,
    call: &ast::ExprCall,
    state: &WrapState,
) -> WrapState {
    let mut kept: Vec<WrapState> = Vec::new();
    for atom in state.atoms() {
        if matches!(
            atom.kind(),
            WrapperKind::FullyShardedDataParallel | WrapperKind::FullyShard
        ) {
            continue;
        }
        if matches!(atom, Wrap::Inner(..) | Wrap::InnerPart(..))
            && checker.wrapper_called_for_same_backward(caller, call, atom.origin())
        {
            continue;
        }
        let origin = Origin::default();
        let atom = match atom {
            Wrap::Wrapper(kind, _) => Wrap::Wrapper(*kind, origin),
            Wrap::Inner(kind, _) => Wrap::Inner(*kind, origin),
            Wrap::InnerPart(kind, _) => Wrap::InnerPart(*kind, origin),
            Wrap::WrapperPart(kind, _) => Wrap::WrapperPart(*kind, origin),
        };
        kept.push(WrapState::of(atom));
    }
    if kept.is_empty() {
        return WrapState::none();
    }
    let mut merged = WrapState::either(kept);
    if state.is_partial() {
        merged = WrapState::either([merged, WrapState::none()]);
    }
    merged
}
