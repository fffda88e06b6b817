//! One file's text in, its findings out: prefilter, parse, rules, `noqa`.

pub mod fix;
pub mod message;
pub(crate) mod notebook;
pub mod pipeline;
pub mod write;

use nmf_linter::checker::{FileContext, check_module};
use nmf_linter::diagnostic::{Diagnostic, Explanation, error_codes};
use nmf_linter::noqa::{NoqaLines, file_is_exempt};
use nmf_linter::registry::RuleSet;
use nmf_linter::render::SourceLocator;
use nmf_linter::semantic::infer::NoProject;
use nmf_linter::settings::LinterSettings;
use ruff_python_ast::PySourceType;
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::source::nesting;
use crate::source::parse::ParsedModule;

/// How the files of a run are checked, beyond which rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Honour `# noqa` and `# flake8: noqa`. The flake8 plugin turns this off: flake8 applies
    /// its own `noqa` handling to what the plugin reports.
    pub respect_noqa: bool,
    /// Run only the rules whose prefilter admits a file (see [`admitted_rules`]). Off, every
    /// file is parsed and every enabled rule runs, which also reports syntax errors in files
    /// that cannot contain a finding.
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

/// The rules to run on a file whose Python code is `code`: the enabled ones whose prefilter
/// admits it, or, with the prefilter off, every enabled one. An empty set means the file need
/// not be parsed. Decided once per file, where its code is first known, and passed down as the
/// settings' rules: nothing below prefilters again. Rules that share a prefilter (NMF001 and
/// NMF002 both look for calls of `forward`) run it once.
pub fn admitted_rules(settings: &LinterSettings, code: &str, prefilter: bool) -> RuleSet {
    if !prefilter {
        return settings.rules;
    }
    nmf_linter::analysis::forward_call::with_shared_text_scans(code, || {
        prefiltered_rules(settings, code)
    })
}

fn prefiltered_rules(settings: &LinterSettings, code: &str) -> RuleSet {
    let mut admitted = RuleSet::empty();
    // Each prefilter asked, and its answer.
    type Prefilter = fn(&str) -> bool;
    let mut tried: Vec<(Prefilter, bool)> = Vec::new();
    for rule in settings.rules.iter() {
        let known = tried
            .iter()
            .find(|(could_match, _)| std::ptr::fn_addr_eq(*could_match, rule.could_match));
        let admits = match known {
            Some((_, admits)) => *admits,
            None => {
                let admits = (rule.could_match)(code);
                tried.push((rule.could_match, admits));
                admits
            }
        };
        if admits {
            admitted = admitted.with(rule);
        }
    }
    admitted
}

/// The findings of one file, in source order.
#[derive(Debug, Default)]
pub struct FileDiagnostics {
    pub diagnostics: Vec<Diagnostic>,
    /// What the rules concluded where they looked (see `--show-receivers`).
    pub explanations: Vec<Explanation>,
    /// The file was parsed (it passed the prefilter).
    pub parsed: bool,
    /// The file had more findings than [`MAX_FINDINGS_PER_FILE`]: only the first are here.
    ///
    /// [`MAX_FINDINGS_PER_FILE`]: nmf_linter::checker::MAX_FINDINGS_PER_FILE
    pub truncated: bool,
}

/// Checks one file's decoded Python code with the rules of `settings` (for a file the
/// driver checks, those its prefilter admitted: see [`admitted_rules`]).
pub fn check_text(
    source: &str,
    source_type: PySourceType,
    settings: &LinterSettings,
    file: &FileContext<'_>,
    respect_noqa: bool,
) -> FileDiagnostics {
    check_text_after(source, source_type, settings, file, respect_noqa, false)
}

/// [`check_text`] for code CPython has already parsed (the flake8 plugin runs only on files
/// flake8 parsed with `ast`): its nesting cannot be one CPython refuses, so the scan for that
/// is skipped.
pub fn check_text_parsed_by_cpython(
    source: &str,
    source_type: PySourceType,
    settings: &LinterSettings,
    file: &FileContext<'_>,
    respect_noqa: bool,
) -> FileDiagnostics {
    check_text_after(source, source_type, settings, file, respect_noqa, true)
}

fn check_text_after(
    source: &str,
    source_type: PySourceType,
    settings: &LinterSettings,
    file: &FileContext<'_>,
    respect_noqa: bool,
    parsed_by_cpython: bool,
) -> FileDiagnostics {
    if settings.rules.is_empty() {
        return FileDiagnostics::default();
    }
    if respect_noqa && file_is_exempt(source) {
        return FileDiagnostics::default();
    }
    // What CPython refuses for its nesting alone is reported without building the tree,
    // which would take memory out of all proportion to the text.
    if let Some(refusal) = (!parsed_by_cpython)
        .then(|| nesting::refusal(source))
        .flatten()
    {
        let offset = TextSize::try_from(refusal.offset).unwrap_or_default();
        let diagnostic = Diagnostic::error(
            error_codes::SYNTAX_ERROR,
            refusal.message.to_string(),
            TextRange::empty(offset),
        );
        let mut diagnostics = vec![diagnostic];
        if respect_noqa {
            let locator = SourceLocator::new(source);
            let lines = NoqaLines::physical(&locator);
            diagnostics.retain(|diagnostic| {
                let line = locator.location(diagnostic.start()).line;
                !lines.suppresses(diagnostic.code, line, &locator)
            });
        }
        return FileDiagnostics {
            diagnostics,
            explanations: Vec::new(),
            parsed: true,
            truncated: false,
        };
    }
    let mut module = ParsedModule::parse(source, source_type);
    let parsed = module.parsed();
    let mut explanations = Vec::new();
    let mut truncated = false;
    // A second byte-order mark (the first one was the encoding's): CPython refuses the file,
    // while the parser would skip it as blank.
    let stray_bom = source.starts_with('\u{feff}').then(|| {
        (
            "invalid non-printable character U+FEFF".to_string(),
            TextRange::default(),
        )
    });
    let syntax_error = stray_bom.or_else(|| {
        parsed.errors().first().map(|error| {
            (
                python_message(&error.error.to_string()),
                TextRange::empty(error.location.start()),
            )
        })
    });
    let mut diagnostics = match syntax_error {
        Some((message, range)) => {
            // Like flake8, a file that does not parse gets E999 and no rule findings: the
            // recovered tree is a guess.
            let message = format!("SyntaxError: {message}");
            vec![Diagnostic::error(error_codes::SYNTAX_ERROR, message, range)]
        }
        None => {
            let result = check_module(parsed.suite(), parsed.tokens(), source, settings, file);
            explanations = result.explanations;
            truncated = result.truncated;
            module.set_depth(result.max_depth);
            result.diagnostics
        }
    };
    let parsed = module.parsed();
    if respect_noqa && !diagnostics.is_empty() {
        let locator = SourceLocator::new(source);
        let lines = if diagnostics.iter().any(Diagnostic::is_error) {
            NoqaLines::physical(&locator)
        } else {
            NoqaLines::from_tokens(parsed.tokens(), &locator)
        };
        let mut suppressed = Vec::new();
        diagnostics.retain(|diagnostic| {
            let line = locator.location(diagnostic.start()).line;
            let keep = !lines.suppresses(diagnostic.code, line, &locator);
            if !keep {
                suppressed.push((diagnostic.start(), diagnostic.code));
            }
            keep
        });
        for explanation in &mut explanations {
            if let Some(code) = explanation.reported_as {
                explanation.suppressed = suppressed.contains(&(explanation.range.start(), code));
            }
        }
    }
    diagnostics.sort_by_key(|diagnostic| (diagnostic.start(), diagnostic.code));
    FileDiagnostics {
        diagnostics,
        explanations,
        parsed: true,
        truncated,
    }
}

/// The parser's message, in CPython's words where the parser's would echo an invisible
/// character: `Got unexpected token \u{feff}` is `invalid non-printable character U+FEFF`.
fn python_message(message: &str) -> String {
    if let Some(token) = message.strip_prefix("Got unexpected token ") {
        let mut chars = token.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && (c.is_control()
                || matches!(c, '\u{feff}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}'))
        {
            return format!("invalid non-printable character U+{:04X}", u32::from(c));
        }
    }
    message.to_string()
}

/// Checks a source text on its own, without a project around it.
pub fn check_source(source: &str, settings: &LinterSettings) -> Vec<Diagnostic> {
    let file = FileContext {
        module_name: None,
        is_package: false,
        project: &NoProject,
    };
    let settings = LinterSettings {
        rules: admitted_rules(settings, source, true),
        ..settings.clone()
    };
    check_text(source, PySourceType::Python, &settings, &file, true).diagnostics
}
