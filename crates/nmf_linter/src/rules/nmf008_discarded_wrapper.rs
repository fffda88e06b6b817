use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

use crate::analysis::forward_call::{
    could_spell_any, identifier_around, is_identifier_byte, name_around, occurrences,
};
use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Violation};
use crate::registry::FixAvailability;
use crate::semantic::wrap::names::{may_name_wrapper, names_a_fabric, names_an_accelerator};
use crate::semantic::wrap::{Wrap, WrapperKind};

declare_rule! {
    /// ## What it does
    /// Checks for a statement that makes a wrapper (`torch.compile(model)`, `DDP(model)`,
    /// `accelerator.prepare(model)`, `fabric.setup(model)`, ...) and drops it.
    ///
    /// ## Why is this bad?
    /// These calls return a new object and leave their argument as it was: the compiled
    /// module, the `DistributedDataParallel` wrapper, the prepared model or dataloader. Dropped,
    /// the program goes on with the plain module: nothing is compiled, gradients are not
    /// synchronised, the dataloader is not sharded across ranks, and nothing fails
    /// (ostris/ai-toolkit#729: `compile: true` did nothing; lucidrains/alphafold3-pytorch drops
    /// `fabric.setup_dataloaders(...)`).
    ///
    /// Reported: an expression statement whose value is `torch.compile(...)`,
    /// `DistributedDataParallel(...)`, `DataParallel(...)`, `FullyShardedDataParallel(...)`
    /// (however imported, under any alias spelling `DDP`, `FSDP` or `DataParallel`),
    /// `accelerator.prepare(...)` / `prepare_model(...)`, `fabric.setup(...)` /
    /// `setup_module(...)` / `setup_dataloaders(...)`. Not reported: `model.compile()` and
    /// FSDP2's `fully_shard(model)` (they work in place); a result that is assigned, returned
    /// or passed on; calls inside `with pytest.raises(...)` or `self.assertRaises(...)` (the
    /// call is expected to fail) and in tests (`def test_...`, `def _test_...`, which make
    /// wrappers to check that making them works, or for what `prepare` registers). Out of reach: a result
    /// assigned to a local that is never read again.
    ///
    /// ## Example
    /// ```python
    /// model = Net().cuda()
    /// torch.compile(model)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// model = Net().cuda()
    /// model = torch.compile(model)
    /// ```
    ///
    /// ## Fix safety
    /// When every positional argument is a name or attribute (`model`, `self.sd.unet`), the
    /// fix assigns the result back to them (`model = torch.compile(model)`,
    /// `model, optimizer = fabric.setup(model, optimizer)`). It is unsafe: the code after it
    /// then runs the wrapper, which may expect inputs elsewhere or rely on the unwrapped
    /// object.
    ///
    /// ## References
    /// - [PyTorch: `torch.compile`](https://pytorch.org/docs/stable/generated/torch.compile.html)
    /// - [ostris/ai-toolkit#729: `torch.compile` result discarded](https://github.com/ostris/ai-toolkit/issues/729)
    /// - [Lightning Fabric: `setup_dataloaders`](https://lightning.ai/docs/fabric/stable/api/fabric_methods.html#setup-dataloaders)
    pub static RULE = {
        code: "NMF008",
        name: "discarded-wrapper",
        fix: FixAvailability::Sometimes,
        could_match: could_match,
        on_stmt: check,
    }
}

/// A statement that makes a wrapper and drops it.
pub struct DiscardedWrapper {
    pub callee: String,
    pub what: &'static str,
    pub assign_to: Option<String>,
}

impl Violation for DiscardedWrapper {
    fn message(&self) -> String {
        format!(
            "`{}(...)` returns the {} without changing its argument, and the result is dropped",
            self.callee, self.what
        )
    }

    fn fix_title(&self) -> Option<String> {
        Some(match &self.assign_to {
            Some(targets) => format!("Assign the result: `{targets} = {}(...)`", self.callee),
            None => "Assign the result and use it".to_string(),
        })
    }
}

/// Every finding is a statement that starts with a call whose callee's last name is one of
/// the wrappers' (as [`may_name_wrapper`] and the accelerator's and fabric's methods spell
/// them), so the file spells it at the start of a statement: after a line break, `;` or `:`
/// and blanks, as the last part of a dotted name followed by `(`.
fn could_match(source: &str) -> bool {
    /// Each word searched for, and the wrappers' names that hold it: the offset of the word in
    /// the name, the name, and whether it must be a whole identifier. `DDP` and `FSDP` hold
    /// `DP`, `prepare_model` holds `prepare`, `setup_module` and `setup_dataloaders` hold
    /// `setup`: each is looked for where the shorter word occurs (most texts hold none), not
    /// searched for again.
    type HeldNames = &'static [(usize, &'static str, bool)];
    const NAMES: [(&str, HeldNames); 5] = [
        ("compile", &[(0, "compile", true)]),
        (
            "prepare",
            &[(0, "prepare", true), (0, "prepare_model", true)],
        ),
        (
            "setup",
            &[
                (0, "setup", true),
                (0, "setup_module", true),
                (0, "setup_dataloaders", true),
            ],
        ),
        (
            "DP",
            &[(0, "DP", true), (1, "DDP", false), (2, "FSDP", false)],
        ),
        ("DataParallel", &[(0, "DataParallel", false)]),
    ];
    const ALL: [&str; 10] = [
        "compile",
        "prepare",
        "prepare_model",
        "setup",
        "setup_module",
        "setup_dataloaders",
        "DP",
        "DataParallel",
        "DDP",
        "FSDP",
    ];
    let bytes = source.as_bytes();
    NAMES.into_iter().any(|(word, names)| {
        occurrences(bytes, word.as_bytes()).any(|found| {
            names.iter().any(|&(offset, name, whole_word)| {
                name_around(bytes, found, offset, name.as_bytes()).is_some_and(|start| {
                    starts_statement_call(bytes, start, start + name.len(), whole_word)
                })
            })
        })
    }) || could_spell_any(source, &ALL)
}

/// Whether the text at `start..end` is (inside, unless `whole_word`) the last identifier of a
/// dotted name that starts a statement and is called.
fn starts_statement_call(bytes: &[u8], start: usize, end: usize, whole_word: bool) -> bool {
    let (first, last) = identifier_around(bytes, start, end);
    if whole_word && (first != start || last != end) {
        return false;
    }
    // The dotted name before it, then what stands before the statement.
    let mut index = first;
    while index > 0 {
        let byte = bytes[index - 1];
        if is_identifier_byte(byte)
            || byte == b'.'
            || byte == b' '
            || byte == b'\t'
            || byte == b'\\'
        {
            index -= 1;
        } else {
            break;
        }
    }
    let statement_start =
        index == 0 || matches!(bytes[index - 1], b'\n' | b'\r' | b';' | b':' | b'\x0c');
    let called = bytes[last..]
        .iter()
        .find(|&&byte| !matches!(byte, b' ' | b'\t' | b'\\' | b'\n' | b'\r'))
        .is_none_or(|&byte| byte == b'(');
    statement_start && called
}

fn check(stmt: &Stmt, checker: &mut Checker<'_>) {
    let Stmt::Expr(statement) = stmt else {
        return;
    };
    let Expr::Call(call) = statement.value.as_ref() else {
        return;
    };
    let Some(what) = dropped_wrapper(checker, &statement.value, call) else {
        return;
    };
    if expects_error(checker, call.start()) || checker.semantic().in_test_function() {
        return;
    }
    let callee = checker.source()[call.func.range()].to_string();
    let targets = assignable_arguments(checker, call, what);
    let violation = DiscardedWrapper {
        callee,
        what: what.description(),
        assign_to: targets.clone(),
    };
    let mut diagnostic = Diagnostic::new(&RULE, &violation, call.range());
    if let Some(targets) = targets {
        diagnostic = diagnostic.with_fix(Fix::applicable_edit(
            Edit::insertion(format!("{targets} = "), call.start()),
            Applicability::Unsafe,
        ));
    }
    checker.report(diagnostic);
}

/// What a dropped call makes.
#[derive(Debug, Clone, Copy)]
enum Made {
    Wrapper(WrapperKind),
    /// `fabric.setup_dataloaders(...)`: dataloaders that shard the data across ranks.
    Dataloaders,
}

impl Made {
    fn description(self) -> &'static str {
        match self {
            Made::Wrapper(WrapperKind::Compiled) => "compiled module",
            Made::Wrapper(WrapperKind::Accelerate) => "prepared object",
            Made::Wrapper(WrapperKind::Fabric) => "set-up module",
            Made::Wrapper(WrapperKind::DataParallel) => "`DataParallel` wrapper",
            Made::Wrapper(WrapperKind::FullyShardedDataParallel) => "FSDP wrapper",
            Made::Wrapper(_) => "`DistributedDataParallel` wrapper",
            Made::Dataloaders => "set-up dataloaders",
        }
    }

    /// How many results the call gives for its positional arguments: one each for
    /// `accelerator.prepare` and `fabric.setup_dataloaders`; the module and then each
    /// optimizer for `fabric.setup`; one for the others, whatever their arguments.
    fn one_result_per_argument(self) -> bool {
        matches!(
            self,
            Made::Wrapper(WrapperKind::Accelerate | WrapperKind::Fabric) | Made::Dataloaders
        )
    }
}

/// What the call makes, if it makes a wrapper: its callee spelled as a wrapper (so that the
/// prefilter sees it) and its wrap state saying so.
fn dropped_wrapper(checker: &mut Checker<'_>, expr: &Expr, call: &ast::ExprCall) -> Option<Made> {
    let spelled = match call.func.as_ref() {
        Expr::Name(name) => may_name_wrapper(name.id.as_str()),
        Expr::Attribute(attribute) => {
            let receiver = &checker.source()[attribute.value.range()];
            match attribute.attr.id.as_str() {
                "prepare" | "prepare_model" => names_an_accelerator(receiver),
                "setup" | "setup_module" => names_a_fabric(receiver),
                "setup_dataloaders" => {
                    return names_a_fabric(receiver).then_some(Made::Dataloaders);
                }
                other => may_name_wrapper(other),
            }
        }
        _ => false,
    };
    if !spelled {
        return None;
    }
    let function = checker.wrap_function_here().unwrap_or_default();
    let state = checker.wrap_state(function, expr);
    state.atoms().iter().find_map(|atom| match atom {
        Wrap::Wrapper(kind, _)
            if !matches!(
                kind,
                WrapperKind::FullyShard | WrapperKind::DeepSpeed | WrapperKind::Unknown
            ) =>
        {
            Some(Made::Wrapper(*kind))
        }
        _ => None,
    })
}

/// Whether the code at `offset` runs inside `with pytest.raises(...)` or
/// `with self.assertRaises(...)`: the call is expected to fail.
fn expects_error(checker: &mut Checker<'_>, offset: TextSize) -> bool {
    let index = checker.wrap_index();
    let function = index.enclosing_function(offset);
    index
        .function(function)
        .expecting_errors
        .iter()
        .any(|range| range.contains(offset))
}

/// `a, b` when every positional argument the results correspond to is a name or attribute.
fn assignable_arguments(checker: &Checker<'_>, call: &ast::ExprCall, made: Made) -> Option<String> {
    let arguments = &call.arguments.args;
    let used: &[Expr] = if made.one_result_per_argument() {
        arguments
    } else {
        arguments.get(..1)?
    };
    if used.is_empty() {
        return None;
    }
    let mut targets = Vec::new();
    for argument in used {
        if !is_dotted(argument) {
            return None;
        }
        targets.push(&checker.source()[argument.range()]);
    }
    // `fabric.setup(model, optimizer)` returns the module and the optimizers; with the module
    // alone, only the module.
    Some(targets.join(", "))
}

fn is_dotted(expr: &Expr) -> bool {
    match expr {
        Expr::Name(_) => true,
        Expr::Attribute(attribute) => is_dotted(&attribute.value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::could_match;

    /// The names that hold a shorter word (`DDP` and `FSDP` hold `DP`, `prepare_model` holds
    /// `prepare`, ...) are found where the shorter word occurs, at the start of the text too.
    #[test]
    fn prefilter_finds_each_wrapper_name_where_its_shorter_part_occurs() {
        for text in [
            "DP(model)\n",
            "DDP(model)\n",
            "FSDP(model)\n",
            "x = 1\nnn.parallel.DDP(model)\n",
            "MyFSDP(model)\n",
            "torch.compile(model)\n",
            "accelerator.prepare(model)\n",
            "if x: accelerator.prepare_model(model)\n",
            "fabric.setup(model)\n",
            "fabric.setup_module(model)\n",
            "x = 1; fabric.setup_dataloaders(loader)\n",
            "nn.DataParallel(model)\n",
        ] {
            assert!(could_match(text), "{text:?}");
        }
        for text in [
            "SDP(model)\n",
            "x = DDP(model)\n",
            "accelerator.prepare_inputs(model)\n",
            "y = fabric.setup_module(model)\n",
            "compiled = torch.compile(model)\n",
            "DP\n= 1\n",
        ] {
            assert!(!could_match(text), "{text:?}");
        }
    }
}
