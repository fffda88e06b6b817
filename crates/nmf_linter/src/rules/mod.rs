//! Every rule, one file each, listed once below.
//!
//! To add a rule: write `rules/nmfXXX_rule_name.rs` (see the README), add one line here, add a
//! fixture under `resources/test/fixtures/` and accept its snapshot.

use crate::registry::RuleInfo;

/// Declares each rule module and lists its `RULE` in [`ALL_RULES`], in code order.
macro_rules! registry {
    ($($module:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// Every rule nmf has.
        pub static ALL_RULES: &[&RuleInfo] = &[$(&$module::RULE),+];
    };
}

registry! {
    nmf001_module_forward_call,
    nmf002_autograd_function_forward_call,
    nmf003_module_call_override,
    nmf004_forward_passed_as_callable,
    nmf005_unwrapped_module_after_wrap,
}
