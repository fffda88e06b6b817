//! One file's text in, its findings out: prefilter, parse, rules, `noqa`.

use nmf_linter::checker::{FileContext, ReceiverExplanation, check_module, nesting_depth};
use nmf_linter::diagnostic::{Diagnostic, error_codes};
use nmf_linter::noqa::{NoqaLines, file_is_exempt};
use nmf_linter::render::SourceLocator;
use nmf_linter::semantic::infer::NoProject;
use nmf_linter::settings::LinterSettings;
use ruff_python_ast::ModModule;
use ruff_python_ast::PySourceType;
use ruff_python_parser::{Parsed, parse_unchecked_source};
use ruff_text_size::{Ranged, TextRange};

/// How a file is checked, beyond which rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Honour `# noqa` and `# flake8: noqa`. The flake8 plugin turns this off: flake8 applies
    /// its own `noqa` handling to what the plugin reports.
    pub respect_noqa: bool,
    /// Skip files that the rules' prefilters rule out. Off, every file is parsed, which also
    /// reports syntax errors in files that cannot contain a finding.
    pub prefilter: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            respect_noqa: true,
            prefilter: true,
        }
    }
}

/// The findings of one file, in source order.
#[derive(Debug, Default)]
pub struct FileDiagnostics {
    pub diagnostics: Vec<Diagnostic>,
    /// What nmf concluded about each `.forward(...)` receiver (see `--show-receivers`).
    pub receivers: Vec<ReceiverExplanation>,
    /// The file was parsed (it passed the prefilter).
    pub parsed: bool,
}

/// Checks one file's decoded text.
pub fn check_text(
    source: &str,
    settings: &LinterSettings,
    file: &FileContext<'_>,
    options: CheckOptions,
) -> FileDiagnostics {
    if settings.rules.is_empty() {
        return FileDiagnostics::default();
    }
    if options.prefilter && !could_match(settings, source) {
        return FileDiagnostics::default();
    }
    if options.respect_noqa && file_is_exempt(source) {
        return FileDiagnostics::default();
    }
    let parsed = parse_unchecked_source(source, PySourceType::Python);
    let mut receivers = Vec::new();
    let (mut diagnostics, max_depth) = match parsed.errors().first() {
        Some(error) => {
            // Like flake8, a file that does not parse gets E999 and no rule findings: the
            // recovered tree is a guess.
            let message = format!("SyntaxError: {}", error.error);
            let range = TextRange::empty(error.location.start());
            let depth = nesting_depth(parsed.suite());
            (
                vec![Diagnostic::error(error_codes::SYNTAX_ERROR, message, range)],
                depth,
            )
        }
        None => {
            let result = check_module(parsed.suite(), parsed.tokens(), source, settings, file);
            receivers = result.receivers;
            (result.diagnostics, result.max_depth)
        }
    };
    if options.respect_noqa && !diagnostics.is_empty() {
        let locator = SourceLocator::new(source);
        let lines = if diagnostics.iter().any(Diagnostic::is_error) {
            NoqaLines::physical(&locator)
        } else {
            NoqaLines::from_tokens(parsed.tokens(), &locator)
        };
        diagnostics.retain(|diagnostic| {
            let line = locator.location(diagnostic.start()).line;
            !lines.suppresses(diagnostic.code, line, &locator)
        });
    }
    diagnostics.sort_by_key(|diagnostic| (diagnostic.start(), diagnostic.code));
    drop_deep_tree(parsed, max_depth);
    FileDiagnostics {
        diagnostics,
        receivers,
        parsed: true,
    }
}

/// Whether any enabled rule could report something in `source`. Rules that share a prefilter
/// (NMF001 and NMF002 both look for calls of `forward`) run it once.
pub fn could_match(settings: &LinterSettings, source: &str) -> bool {
    let mut tried: Vec<fn(&str) -> bool> = Vec::new();
    for rule in settings.rules.iter() {
        if tried
            .iter()
            .any(|done| std::ptr::fn_addr_eq(*done, rule.could_match))
        {
            continue;
        }
        if (rule.could_match)(source) {
            return true;
        }
        tried.push(rule.could_match);
    }
    false
}

/// Checks a source text on its own, without a project around it.
pub fn check_source(source: &str, settings: &LinterSettings) -> Vec<Diagnostic> {
    let file = FileContext {
        module_name: None,
        is_package: false,
        project: &NoProject,
    };
    check_text(source, settings, &file, CheckOptions::default()).diagnostics
}

/// Syntax trees nest as deep as the code: dropping one recurses once per level. Deep trees
/// are dropped on a stack sized for them, so that no input can overflow the thread's stack.
pub(crate) fn drop_deep_tree(parsed: Parsed<ModModule>, max_depth: usize) {
    /// Nesting that any thread's default stack drops comfortably.
    const SHALLOW: usize = 256;
    /// Generous bytes of stack per level of `Drop` recursion.
    const BYTES_PER_LEVEL: usize = 1024;
    if max_depth <= SHALLOW {
        drop(parsed);
    } else {
        let stack = max_depth
            .saturating_mul(BYTES_PER_LEVEL)
            .saturating_add(1 << 20);
        stacker::grow(stack, move || drop(parsed));
    }
}
