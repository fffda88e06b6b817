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
    /// Packages whose objects are never `nn.Module`s, beyond nmf's own table
    /// (`not-module-packages`).
    pub not_module_packages: Vec<String>,
    /// Callables (qualified names, `*` within a dotted part) that make `nn.Module`s, beyond
    /// nmf's table of the ecosystem's factories (`module-factories`).
    pub module_factories: Vec<String>,
    /// Callables that make no `nn.Module`s (`not-module-factories`).
    pub not_module_factories: Vec<String>,
}

impl Default for LinterSettings {
    fn default() -> Self {
        Self {
            rules: RuleSet::all(),
            known_modules_only: false,
            not_module_packages: Vec::new(),
            module_factories: Vec::new(),
            not_module_factories: Vec::new(),
        }
    }
}

impl LinterSettings {
    /// A hash of what the answers to questions about code (types, wrap states) depend on:
    /// every setting but the rules to run, which differ from file to file with what each
    /// file's prefilter admits. Destructured, so that a new setting must be placed here.
    pub fn semantic_key(&self) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let LinterSettings {
            rules: _,
            known_modules_only,
            not_module_packages,
            module_factories,
            not_module_factories,
        } = self;
        let mut hasher = rustc_hash::FxBuildHasher.build_hasher();
        known_modules_only.hash(&mut hasher);
        not_module_packages.hash(&mut hasher);
        module_factories.hash(&mut hasher);
        not_module_factories.hash(&mut hasher);
        hasher.finish()
    }
}
