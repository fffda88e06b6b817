//! nmf's rules and everything they need: the registry, the checker that walks a module once
//! and dispatches nodes to enabled rules, the semantic model and type inference for receivers,
//! diagnostics, flake8-compatible `noqa`, fixes and rendering.

pub mod analysis;
pub mod cancel;
pub mod checker;
pub mod diagnostic;
pub mod registry;
pub mod rules;
pub mod semantic;
pub mod settings;

pub use checker::{CheckResult, Checker, FileContext, check_module};
pub use diagnostic::{Diagnostic, Violation};
pub use registry::{FixAvailability, RuleInfo, RuleSelector, RuleSet};
pub use settings::LinterSettings;
pub mod fix;
pub mod noqa;
pub mod render;
