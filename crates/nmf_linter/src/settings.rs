//! The options that change what the rules report.

use crate::registry::RuleSet;

/// Settings for one file, resolved from configuration and flags by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinterSettings {
    /// The rules to run.
    pub rules: RuleSet,
    /// Report `.forward()` calls only on receivers known to be `nn.Module`s, not on receivers
    /// whose type nmf cannot tell (`known-modules-only`).
    pub known_modules_only: bool,
}

impl Default for LinterSettings {
    fn default() -> Self {
        Self {
            rules: RuleSet::all(),
            known_modules_only: false,
        }
    }
}
