//! What a check reports: a code, a message, where, and optionally how to fix it.

use ruff_diagnostics::Fix;
use ruff_text_size::{Ranged, TextRange};

use crate::registry::RuleInfo;

/// The message and fix title of one finding of a rule.
///
/// Each rule has a violation type whose fields carry what the message needs.
pub trait Violation {
    /// The one-line message, printed after the code.
    fn message(&self) -> String;

    /// What the fix does, shown as `help:` in the full output; `None` when the finding has no fix.
    fn fix_title(&self) -> Option<String> {
        None
    }
}

/// Codes of findings that no rule produces: the file could not be read or parsed.
///
/// They are flake8's codes so that editors and CI treat them as they treat flake8's.
pub mod error_codes {
    /// The file could not be read or decoded (flake8's E902).
    pub const IO_ERROR: &str = "E902";
    /// The file does not parse (flake8's E999).
    pub const SYNTAX_ERROR: &str = "E999";

    /// The kebab-case name shown for an error code where rules show theirs.
    pub fn name(code: &str) -> &'static str {
        match code {
            IO_ERROR => "io-error",
            SYNTAX_ERROR => "syntax-error",
            _ => "error",
        }
    }
}

/// What a rule concluded at a place it examined, whether or not it reported a finding there,
/// for users who ask why (`nmf check --show-receivers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub range: TextRange,
    /// The conclusion, e.g. ``receiver `self`: `pkg.Pipeline`, not an nn.Module``.
    pub text: String,
    /// The code of the rule that reported a finding here, if one did.
    pub reported_as: Option<&'static str>,
    /// That finding was suppressed by a `# noqa` comment.
    pub suppressed: bool,
}

/// One finding in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The rule that reported it; `None` for E902/E999, which are not rules.
    pub rule: Option<&'static RuleInfo>,
    pub code: &'static str,
    pub message: String,
    pub range: TextRange,
    pub fix: Option<Fix>,
    /// What the fix does, or how to repair by hand when there is no fix.
    pub fix_title: Option<String>,
    /// Extra context for the full output, such as the receiver type the rule inferred.
    pub note: Option<String>,
}

impl Diagnostic {
    pub fn new(rule: &'static RuleInfo, violation: &dyn Violation, range: TextRange) -> Self {
        Self {
            rule: Some(rule),
            code: rule.code,
            message: violation.message(),
            range,
            fix: None,
            fix_title: violation.fix_title(),
            note: None,
        }
    }

    /// A finding that is not a rule's: an unreadable or unparseable file.
    pub fn error(code: &'static str, message: String, range: TextRange) -> Self {
        Self {
            rule: None,
            code,
            message,
            range,
            fix: None,
            fix_title: None,
            note: None,
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.rule.is_none()
    }
}

impl Ranged for Diagnostic {
    fn range(&self) -> TextRange {
        self.range
    }
}
