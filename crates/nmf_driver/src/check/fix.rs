//! `--fix` for one file: apply fixes until none is left, check that the result still parses,
//! and write it atomically in the file's own encoding, or leave the file alone.

use nmf_linter::diagnostic::Diagnostic;
use nmf_linter::fix::FixedSource;
use nmf_linter::render::{SourceLocator, printable};
use ruff_diagnostics::Applicability;
use ruff_python_ast::PySourceType;

use crate::check::FileDiagnostics;
use crate::source::parse::ParsedModule;

/// Passes over a file before giving up: each pass applies every fix that does not overlap
/// another; nested findings need one pass per level.
pub const MAX_FIX_PASSES: usize = 100;

/// What fixing one file gave.
#[derive(Debug, Default)]
pub struct FixOutcome {
    /// The fixed text, when it differs from the input.
    pub fixed_text: Option<String>,
    /// The code of every finding whose fix was applied.
    pub fixed: Vec<&'static str>,
    /// The findings left in the final text (the input's, when the fixes were refused).
    pub remaining: FileDiagnostics,
    /// Why the fixes were refused and the file left as it was.
    pub refusal: Option<String>,
    /// Fixes were still pending after [`MAX_FIX_PASSES`] passes.
    pub hit_pass_limit: bool,
}

/// The fix loop around any check: check, apply the non-overlapping fixes with `apply`, make
/// sure the result parses, repeat until nothing is left to apply. A pass whose result does
/// not parse refuses every fix of the file. (`apply` is `apply_fixes`, or for a notebook, the
/// same keeping track of its cells.)
pub(crate) fn fix_with(
    source: &str,
    required: Applicability,
    source_type: PySourceType,
    check: impl Fn(&str) -> FileDiagnostics,
    mut apply: impl FnMut(&str, &[Diagnostic]) -> FixedSource,
) -> FixOutcome {
    let mut text = source.to_string();
    let mut fixed = Vec::new();
    for _ in 0..MAX_FIX_PASSES {
        let checked = check(&text);
        let pending = checked
            .diagnostics
            .iter()
            .any(|d| d.fix.as_ref().is_some_and(|fix| fix.applies(required)));
        // Nothing pending, or what is pending cannot be applied (`apply` refused it): done.
        let pass = pending
            .then(|| apply(&text, &checked.diagnostics))
            .filter(|pass| !pass.applied.is_empty());
        let Some(pass) = pass else {
            return FixOutcome {
                fixed_text: (text != source).then_some(text),
                fixed,
                remaining: checked,
                refusal: None,
                hit_pass_limit: false,
            };
        };
        let codes: Vec<&'static str> = pass
            .applied
            .iter()
            .map(|&index| checked.diagnostics[index].code)
            .collect();
        if let Some(problem) = syntax_problem(&pass.text, source_type) {
            let mut rules = codes;
            rules.sort_unstable();
            rules.dedup();
            return FixOutcome {
                fixed_text: None,
                fixed: Vec::new(),
                remaining: check(source),
                refusal: Some(format!(
                    "the fix of {} would leave the file unparseable ({problem}); the file was left unchanged",
                    rules.join(", ")
                )),
                hit_pass_limit: false,
            };
        }
        fixed.extend(codes);
        text = pass.text;
    }
    let remaining = check(&text);
    FixOutcome {
        fixed_text: (text != source).then_some(text),
        fixed,
        remaining,
        refusal: None,
        hit_pass_limit: true,
    }
}

/// The first syntax error of `text`, if it has one (a notebook's code with its magics made
/// parseable, as it is checked).
fn syntax_problem(text: &str, source_type: PySourceType) -> Option<String> {
    let exposed = match source_type {
        PySourceType::Ipynb => crate::source::magics::expose_magics(text),
        _ => std::borrow::Cow::Borrowed(text),
    };
    let module = ParsedModule::parse(&exposed, source_type);
    module.parsed().errors().first().map(|error| {
        let offset = error.location.start();
        let mut line = SourceLocator::new(text).location(offset).line;
        // An unexpected end of file is on the last line, not on the empty one after it.
        if offset.to_usize() == text.len() && text.ends_with(['\n', '\r']) {
            line = line.saturating_sub(1).max(1);
        }
        format!("SyntaxError: {} on line {line}", error.error)
    })
}

/// A unified diff of a file's fix, as `--diff` prints it.
pub fn unified_diff(display_path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&printable(display_path), &printable(display_path))
        .to_string()
}

#[cfg(test)]
mod tests {
    use nmf_linter::checker::FileContext;
    use nmf_linter::fix::apply_fixes;
    use nmf_linter::semantic::infer::NoProject;
    use nmf_linter::settings::LinterSettings;
    use ruff_diagnostics::{Edit, Fix};
    use ruff_text_size::{TextRange, TextSize};

    use super::*;

    fn file() -> FileContext<'static> {
        FileContext {
            module_name: None,
            is_package: false,
            project: &NoProject,
        }
    }

    /// The fix loop over a Python file with every rule.
    fn fix_text(source: &str, required: Applicability) -> FixOutcome {
        let settings = LinterSettings::default();
        let file = file();
        fix_with(
            source,
            required,
            PySourceType::Python,
            |text| crate::check::check_text(text, PySourceType::Python, &settings, &file, true),
            |text, diagnostics| apply_fixes(text, diagnostics, required),
        )
    }

    #[test]
    fn nested_calls_are_fixed_over_passes_and_the_result_is_stable() {
        let source =
            "import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m.forward(m.forward(m.forward(x)))\n";
        let outcome = fix_text(source, Applicability::Safe);
        assert_eq!(
            outcome.fixed_text.as_deref(),
            Some("import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m(m(m(x)))\n")
        );
        assert_eq!(outcome.fixed, ["NMF001"; 3]);
        assert!(outcome.remaining.diagnostics.is_empty());
        assert!(outcome.refusal.is_none());
    }

    #[test]
    fn unsafe_fixes_wait_for_permission() {
        let source = "model.forward(x)\n";
        let safe_only = fix_text(source, Applicability::Safe);
        assert!(safe_only.fixed_text.is_none());
        assert_eq!(safe_only.remaining.diagnostics.len(), 1);
        let with_unsafe = fix_text(source, Applicability::Unsafe);
        assert_eq!(with_unsafe.fixed_text.as_deref(), Some("model(x)\n"));
    }

    /// A check that always offers the same fix, whatever the text.
    fn always(fix: Edit) -> impl Fn(&str) -> FileDiagnostics {
        move |_text: &str| FileDiagnostics {
            diagnostics: vec![
                Diagnostic::new(
                    &nmf_linter::rules::nmf001_module_forward_call::RULE,
                    &nmf_linter::rules::nmf001_module_forward_call::ModuleForwardCall {
                        receiver: None,
                        fixable: true,
                    },
                    TextRange::default(),
                )
                .with_fix(Fix::safe_edit(fix.clone())),
            ],
            explanations: Vec::new(),
            parsed: true,
            truncated: false,
        }
    }

    #[test]
    fn a_fix_that_breaks_the_syntax_is_refused_and_the_file_left_alone() {
        let outcome = fix_with(
            "y = model.forward(x)\n",
            Applicability::Safe,
            PySourceType::Python,
            always(Edit::deletion(TextSize::new(17), TextSize::new(19))),
            |text, diagnostics| apply_fixes(text, diagnostics, Applicability::Safe),
        );
        assert!(outcome.fixed_text.is_none());
        assert!(outcome.fixed.is_empty());
        let refusal = outcome.refusal.expect("refused");
        assert!(
            refusal
                .starts_with("the fix of NMF001 would leave the file unparseable (SyntaxError: "),
            "{refusal}"
        );
        assert!(
            refusal.ends_with("on line 1); the file was left unchanged"),
            "{refusal}"
        );
    }

    #[test]
    fn a_fix_that_never_settles_stops_at_the_pass_limit() {
        let outcome = fix_with(
            "x = 1\n",
            Applicability::Safe,
            PySourceType::Python,
            always(Edit::insertion("#".to_string(), TextSize::new(0))),
            |text, diagnostics| apply_fixes(text, diagnostics, Applicability::Safe),
        );
        assert!(outcome.hit_pass_limit);
        assert_eq!(outcome.fixed.len(), MAX_FIX_PASSES);
    }

    #[test]
    fn a_syntax_problem_is_named_with_its_line() {
        assert_eq!(syntax_problem("x = 1\n", PySourceType::Python), None);
        let problem =
            syntax_problem("x = 1\ny = (\n", PySourceType::Python).expect("a syntax error");
        assert!(problem.starts_with("SyntaxError: "), "{problem}");
        assert!(problem.ends_with("on line 2"), "{problem}");
        // The error is at the start of line 2, right after a line break.
        let problem = syntax_problem("x = 1\n)\n", PySourceType::Python).expect("a syntax error");
        assert!(problem.ends_with("on line 2"), "{problem}");
        let problem =
            syntax_problem("x = 1\r\n\r\n)\r\n", PySourceType::Python).expect("a syntax error");
        assert!(problem.ends_with("on line 3"), "{problem}");
    }
}
