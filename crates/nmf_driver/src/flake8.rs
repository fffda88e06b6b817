//! What the flake8 plugin asks of the engine: one file's text in, its findings out.
//!
//! flake8 has already decided which files to check, decoded them, and parsed them (a file that
//! does not parse is flake8's own E999), and it applies `--select`, `--ignore`,
//! `per-file-ignores` and `# noqa` to whatever the plugin reports. So every rule runs here and
//! nothing is filtered.

use nmf_linter::registry::RuleSet;
use nmf_linter::render::SourceLocator;
use nmf_linter::settings::LinterSettings;
use ruff_python_ast::PySourceType;
use ruff_text_size::Ranged;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use crate::check::{admitted_rules, check_text_parsed_by_cpython};
use crate::project::ProjectIndex;
use crate::settings::discover::absolutize;

/// A finding as a flake8 plugin yields it: 1-based line, 0-based column in UTF-8 bytes (flake8
/// adds one when printing), and `"CODE message"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFinding {
    pub line: usize,
    pub column: usize,
    pub text: String,
}

/// The project index of this process: flake8 checks one project per run, file after file,
/// and every file of it sees the same summaries (reloaded when a file changes).
static PROJECT: LazyLock<ProjectIndex> = LazyLock::new(ProjectIndex::new);

/// Checks `source`, the text flake8 read from `filename`.
pub fn check_for_flake8(
    source: &str,
    filename: &str,
    known_modules_only: bool,
) -> Vec<PluginFinding> {
    let enabled = LinterSettings {
        rules: RuleSet::all(),
        known_modules_only,
        ..LinterSettings::default()
    };
    let rules = admitted_rules(&enabled, source, true);
    if rules.is_empty() {
        return Vec::new();
    }
    let settings = LinterSettings { rules, ..enabled };
    let path = std::env::current_dir()
        .map(|working_dir| absolutize(Path::new(filename), &working_dir))
        .unwrap_or_else(|_| PathBuf::from(filename));
    let view = PROJECT.view(&path);
    let file = view.file_context();
    // flake8 applies `noqa` itself, and runs plugins only on what CPython's `ast` parsed.
    let checked =
        check_text_parsed_by_cpython(source, PySourceType::Python, &settings, &file, false);
    let rule_findings: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .collect();
    if rule_findings.is_empty() {
        return Vec::new();
    }
    let locator = SourceLocator::new(source);
    rule_findings
        .into_iter()
        .map(|diagnostic| {
            let location = locator.location(diagnostic.start());
            PluginFinding {
                line: location.line,
                column: location.column - 1,
                text: format!("{} {}", diagnostic.code, diagnostic.message),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_carry_flake8_positions_and_ignore_noqa() {
        let findings =
            check_for_flake8("x = 1\ns = 'é'; model.forward(x)  # noqa\n", "a.py", false);
        assert_eq!(
            findings,
            [PluginFinding {
                line: 2,
                column: 10,
                text: "NMF001 Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run".to_string(),
            }]
        );
    }

    #[test]
    fn syntax_errors_are_left_to_flake8() {
        assert!(check_for_flake8("model.forward(\n", "a.py", false).is_empty());
    }
}
