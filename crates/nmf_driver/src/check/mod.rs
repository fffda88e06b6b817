//! One file's text in, its findings out: prefilter, parse, rules, `noqa`.

pub mod fix;
pub mod message;
pub(crate) mod notebook;
pub mod write;

use nmf_linter::checker::{FileContext, check_module};
use nmf_linter::diagnostic::{Diagnostic, Explanation, error_codes};
use nmf_linter::noqa::{NoqaLines, file_is_exempt};
use nmf_linter::render::SourceLocator;
use nmf_linter::semantic::infer::NoProject;
use nmf_linter::settings::LinterSettings;
use ruff_python_ast::PySourceType;
use ruff_text_size::{Ranged, TextRange};

use crate::source::parse::ParsedModule;

/// How a file is checked, beyond which rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Honour `# noqa` and `# flake8: noqa`. The flake8 plugin turns this off: flake8 applies
    /// its own `noqa` handling to what the plugin reports.
    pub respect_noqa: bool,
    /// Skip files that the rules' prefilters rule out. Off, every file is parsed, which also
    /// reports syntax errors in files that cannot contain a finding.
    pub prefilter: bool,
    /// The source is a notebook's code: IPython syntax (`%time`, `!pip`, `x?`) is allowed.
    pub ipython: bool,
}

impl CheckOptions {
    pub fn source_type(&self) -> PySourceType {
        if self.ipython {
            PySourceType::Ipynb
        } else {
            PySourceType::Python
        }
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            respect_noqa: true,
            prefilter: true,
            ipython: false,
        }
    }
}

/// The findings of one file, in source order.
#[derive(Debug, Default)]
pub struct FileDiagnostics {
    pub diagnostics: Vec<Diagnostic>,
    /// What the rules concluded where they looked (see `--show-receivers`).
    pub explanations: Vec<Explanation>,
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
    let mut module = ParsedModule::parse(source, options.source_type());
    let parsed = module.parsed();
    let mut explanations = Vec::new();
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
            module.set_depth(result.max_depth);
            result.diagnostics
        }
    };
    let parsed = module.parsed();
    if options.respect_noqa && !diagnostics.is_empty() {
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
