//! The rule registry: what a rule is, the list of every rule, and selection by code.
//!
//! A rule is a `static RuleInfo` declared with [`crate::declare_rule!`] in its own file under
//! `rules/`; `rules/mod.rs` declares each rule file's module and lists its `RULE` once in
//! [`ALL_RULES`]. Nothing else needs to know a rule exists.

use std::fmt;

use ruff_python_ast::{Expr, Stmt};

use crate::checker::Checker;

pub use crate::rules::ALL_RULES;

/// Whether a rule can offer an automatic fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixAvailability {
    /// No finding of this rule carries a fix.
    None,
    /// Some findings carry a fix, others cannot be repaired mechanically.
    Sometimes,
    /// Every finding carries a fix.
    Always,
}

/// A check that runs on every expression of a module, in source order.
pub type ExprCheck = fn(&Expr, &mut Checker<'_>);
/// A check that runs on every statement of a module, in source order.
pub type StmtCheck = fn(&Stmt, &mut Checker<'_>);

/// The static description of a rule: its identity, its documentation and its entry points.
///
/// The checker walks each module once and hands every node to the enabled rules that asked for
/// that kind of node, so a rule never walks the tree itself.
pub struct RuleInfo {
    /// `NMF` and three digits, e.g. `NMF001`.
    pub code: &'static str,
    /// The kebab-case name, e.g. `module-forward-call`.
    pub name: &'static str,
    /// The rule's documentation in Markdown, taken from its doc comment.
    pub docs: &'static str,
    /// The Rust module that declares the rule (`nmf_linter::rules::nmf001_module_forward_call`),
    /// so that tests can tell a rule file that was never registered.
    pub module: &'static str,
    pub fix: FixAvailability,
    /// A cheap test on the raw source: `false` means no finding is possible, so the file need
    /// not be parsed. It must never say `false` for a source that has a finding.
    pub could_match: fn(&str) -> bool,
    pub on_expr: Option<ExprCheck>,
    pub on_stmt: Option<StmtCheck>,
}

impl RuleInfo {
    /// The first paragraph of the `## What it does` section, on one line, for tables and
    /// listings.
    pub fn summary(&self) -> String {
        let mut lines = self
            .docs
            .lines()
            .map(str::trim)
            .skip_while(|line| !line.starts_with("## What it does"));
        lines.next();
        lines
            .skip_while(|line| line.is_empty())
            .take_while(|line| !line.is_empty() && !line.starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The index of this rule in [`ALL_RULES`], which is also its bit in a [`RuleSet`].
    pub fn index(&self) -> usize {
        ALL_RULES
            .iter()
            .position(|rule| std::ptr::eq(*rule, self))
            .expect("every RuleInfo is registered in ALL_RULES")
    }
}

impl fmt::Debug for RuleInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code, self.name)
    }
}

impl PartialEq for RuleInfo {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for RuleInfo {}

/// Looks a rule up by its code or its kebab-case name, in any case (`nmf001`), as `ruff rule`
/// does.
pub fn find_rule(code_or_name: &str) -> Option<&'static RuleInfo> {
    let wanted = code_or_name.trim();
    ALL_RULES.iter().copied().find(|rule| {
        rule.code.eq_ignore_ascii_case(wanted) || rule.name.eq_ignore_ascii_case(wanted)
    })
}

/// Declares a rule: its doc comment becomes the documentation `nmf rule` prints.
///
/// Every field but the hooks is required. `could_match` is the rule's prefilter: a cheap test
/// on the raw source that must never say `false` for a source with a finding; a rule that
/// really needs every file parsed says so with `could_match: crate::registry::always`.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub static RULE = {
///         code: "NMF001",
///         name: "module-forward-call",
///         fix: FixAvailability::Sometimes,
///         could_match: could_contain_forward_call,
///         on_expr: check,
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])+
        pub static $rule:ident = {
            code: $code:literal,
            name: $name:literal,
            fix: $fix:expr,
            could_match: $could_match:path,
            $(on_expr: $on_expr:path,)?
            $(on_stmt: $on_stmt:path,)?
        }
    ) => {
        $(#[doc = $doc])+
        pub static $rule: $crate::registry::RuleInfo = $crate::registry::RuleInfo {
            code: $code,
            name: $name,
            docs: concat!($($doc, "\n"),+),
            module: module_path!(),
            fix: $fix,
            could_match: $could_match,
            on_expr: $crate::declare_rule!(@hook $($on_expr)?),
            on_stmt: $crate::declare_rule!(@hook $($on_stmt)?),
        };
    };
    (@hook $hook:path) => { Some($hook) };
    (@hook) => { None };
    ($($anything:tt)*) => {
        compile_error!(
            "declare_rule! expects, in this order: doc comment, `pub static RULE = { code: \"NMF123\", \
             name: \"kebab-name\", fix: FixAvailability::..., could_match: <prefilter fn>, \
             on_expr: <fn> and/or on_stmt: <fn>, }`. `could_match` is required: a sound prefilter, \
             or `crate::registry::always` to parse every file."
        );
    };
}

/// The prefilter of a rule that must see every file: it never rules one out.
pub fn always(_source: &str) -> bool {
    true
}

/// A set of rules, one bit per entry of [`ALL_RULES`].
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RuleSet(u64);

impl RuleSet {
    pub const fn empty() -> Self {
        Self(0)
    }

    pub fn all() -> Self {
        ALL_RULES
            .iter()
            .fold(Self::empty(), |set, rule| set.with(rule))
    }

    #[must_use]
    pub fn with(self, rule: &RuleInfo) -> Self {
        Self(self.0 | (1 << rule.index()))
    }

    #[must_use]
    pub fn without(self, rule: &RuleInfo) -> Self {
        Self(self.0 & !(1 << rule.index()))
    }

    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    #[must_use]
    pub fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    pub fn contains(self, rule: &RuleInfo) -> bool {
        self.0 & (1 << rule.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = &'static RuleInfo> {
        ALL_RULES
            .iter()
            .copied()
            .filter(move |rule| self.contains(rule))
    }
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|rule| rule.code))
            .finish()
    }
}

/// One entry of `select`/`ignore`: `ALL`, a code prefix (`NMF`, `NMF0`) or an exact code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleSelector {
    All,
    Prefix(String),
}

/// A selector that names no rule, with what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSelector(pub String);

impl fmt::Display for UnknownSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown rule selector `{}`: expected `ALL`, a rule code such as `NMF001`, or a code prefix such as `NMF`",
            self.0
        )
    }
}

impl std::error::Error for UnknownSelector {}

impl RuleSelector {
    /// The rules this selector picks, in registry order.
    pub fn rules(&self) -> RuleSet {
        match self {
            RuleSelector::All => RuleSet::all(),
            RuleSelector::Prefix(prefix) => ALL_RULES
                .iter()
                .filter(|rule| rule.code.starts_with(prefix.as_str()))
                .fold(RuleSet::empty(), |set, rule| set.with(rule)),
        }
    }

    /// How specific the selector is, so that `select = ["NMF"]` with `ignore = ["NMF001"]` and
    /// the reverse resolve the way ruff resolves them: the more specific selector wins.
    pub fn specificity(&self) -> usize {
        match self {
            RuleSelector::All => 0,
            RuleSelector::Prefix(prefix) => prefix.len(),
        }
    }
}

impl std::str::FromStr for RuleSelector {
    type Err = UnknownSelector;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed == "ALL" {
            return Ok(RuleSelector::All);
        }
        if let Some(rule) = ALL_RULES.iter().find(|rule| rule.name == trimmed) {
            return Ok(RuleSelector::Prefix(rule.code.to_string()));
        }
        let is_code_shaped = !trimmed.is_empty()
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if is_code_shaped && ALL_RULES.iter().any(|rule| rule.code.starts_with(trimmed)) {
            Ok(RuleSelector::Prefix(trimmed.to_string()))
        } else {
            Err(UnknownSelector(text.to_string()))
        }
    }
}

impl fmt::Display for RuleSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSelector::All => f.write_str("ALL"),
            RuleSelector::Prefix(prefix) => f.write_str(prefix),
        }
    }
}

/// Resolves `select`, `extend-select` and `ignore` into the enabled rules.
///
/// For every rule, the most specific selector that mentions it decides; on a tie, `ignore` wins.
/// So `select = ["NMF"]`, `ignore = ["NMF001"]` disables NMF001, and
/// `select = ["NMF001"]`, `ignore = ["NMF"]` keeps it, as in ruff.
pub fn resolve_rules(
    select: &[RuleSelector],
    extend_select: &[RuleSelector],
    ignore: &[RuleSelector],
) -> RuleSet {
    ALL_RULES.iter().fold(RuleSet::empty(), |set, rule| {
        let best = |selectors: &[&RuleSelector]| {
            selectors
                .iter()
                .filter(|selector| selector.rules().contains(rule))
                .map(|selector| selector.specificity())
                .max()
        };
        let chosen: Vec<&RuleSelector> = select.iter().chain(extend_select).collect();
        let ignored: Vec<&RuleSelector> = ignore.iter().collect();
        match (best(&chosen), best(&ignored)) {
            (Some(on), Some(off)) if on > off => set.with(rule),
            (Some(_), None) => set.with(rule),
            _ => set,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selectors(codes: &[&str]) -> Vec<RuleSelector> {
        codes
            .iter()
            .map(|code| code.parse().expect("valid selector"))
            .collect()
    }

    fn codes(set: RuleSet) -> Vec<&'static str> {
        set.iter().map(|rule| rule.code).collect()
    }

    #[test]
    fn every_rule_is_registered_once_with_a_well_formed_code_and_name() {
        let mut seen_codes = std::collections::HashSet::new();
        let mut seen_names = std::collections::HashSet::new();
        for rule in ALL_RULES {
            assert!(
                seen_codes.insert(rule.code),
                "{} registered twice",
                rule.code
            );
            assert!(
                seen_names.insert(rule.name),
                "{} registered twice",
                rule.name
            );
            let digits = rule.code.strip_prefix("NMF").expect("codes start with NMF");
            assert!(
                digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()),
                "{} is not NMF + three digits",
                rule.code
            );
            assert!(
                rule.name.split('-').all(|word| !word.is_empty()
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{} is not kebab-case",
                rule.name
            );
            assert!(
                rule.on_expr.is_some() || rule.on_stmt.is_some(),
                "{rule:?} checks nothing"
            );
        }
        assert!(ALL_RULES.len() <= 64, "RuleSet holds at most 64 rules");
    }

    /// The rule files under `src/rules/`, by module name.
    fn rule_files() -> Vec<String> {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules");
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .expect("src/rules exists")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|name| Some(name.strip_suffix(".rs")?.to_string()))
            .filter(|name| name != "mod")
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_rule_file_is_registered() {
        for file in rule_files() {
            assert!(
                ALL_RULES
                    .iter()
                    .any(|rule| rule.module.rsplit("::").next() == Some(file.as_str())),
                "crates/nmf_linter/src/rules/{file}.rs is not registered, so nmf never runs \
                 it: in crates/nmf_linter/src/rules/mod.rs, declare `pub mod {file};` and add \
                 `&{file}::RULE,` to `ALL_RULES`"
            );
        }
    }

    #[test]
    fn every_rule_lives_in_a_file_named_after_its_code_and_name() {
        for rule in ALL_RULES {
            let expected = format!(
                "{}_{}",
                rule.code.to_ascii_lowercase(),
                rule.name.replace('-', "_")
            );
            let actual = rule.module.rsplit("::").next().unwrap_or_default();
            assert_eq!(
                actual, expected,
                "{} ({}) is declared in rules/{actual}.rs: name the file rules/{expected}.rs \
                 (or fix the code or name in its `declare_rule!`)",
                rule.code, rule.name
            );
        }
    }

    #[test]
    fn every_prefilter_rules_out_a_file_that_is_not_about_modules() {
        let plain = "import os\n\nprint(os.getcwd())\nx = [1, 2, 3]\n";
        for rule in ALL_RULES {
            if std::ptr::fn_addr_eq(rule.could_match, always as fn(&str) -> bool) {
                continue;
            }
            assert!(
                !(rule.could_match)(plain),
                "{}'s `could_match` accepts {plain:?}, which cannot hold a finding: a prefilter \
                 that accepts everything parses every file (say `could_match: \
                 crate::registry::always` if the rule really needs that)",
                rule.code
            );
        }
    }

    #[test]
    fn every_rule_documents_the_required_sections_in_order() {
        for rule in ALL_RULES {
            let mut required = vec![
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ];
            if rule.fix != FixAvailability::None {
                required.push("## Fix safety");
            }
            required.push("## References");
            let headings: Vec<&str> = rule
                .docs
                .lines()
                .map(str::trim)
                .filter(|line| line.starts_with("## "))
                .collect();
            let positions: Vec<usize> = required
                .iter()
                .map(|section| {
                    headings
                        .iter()
                        .position(|h| h == section)
                        .unwrap_or_else(|| {
                            panic!("{} docs lack the section `{section}`", rule.code)
                        })
                })
                .collect();
            assert!(
                positions.is_sorted(),
                "{} docs sections out of order: {headings:?}",
                rule.code
            );
            assert!(!rule.summary().is_empty(), "{} has no summary", rule.code);
            assert!(
                rule.docs.contains("```python"),
                "{} docs need Python examples",
                rule.code
            );
        }
    }

    fn all_codes() -> Vec<&'static str> {
        ALL_RULES.iter().map(|rule| rule.code).collect()
    }

    #[test]
    fn selection_by_all_prefix_exact_code_and_name() {
        assert_eq!(
            codes(resolve_rules(&selectors(&["ALL"]), &[], &[])),
            all_codes()
        );
        assert_eq!(
            codes(resolve_rules(&selectors(&["NMF"]), &[], &[])),
            all_codes()
        );
        let nmf0: Vec<&str> = all_codes()
            .into_iter()
            .filter(|code| code.starts_with("NMF0"))
            .collect();
        assert_eq!(codes(resolve_rules(&selectors(&["NMF0"]), &[], &[])), nmf0);
        for rule in ALL_RULES {
            assert_eq!(
                codes(resolve_rules(&selectors(&[rule.code]), &[], &[])),
                [rule.code]
            );
            assert_eq!(
                codes(resolve_rules(&selectors(&[rule.name]), &[], &[])),
                [rule.code]
            );
        }
    }

    #[test]
    fn the_more_specific_selector_wins_and_ignore_wins_ties() {
        for rule in ALL_RULES {
            let others: Vec<&str> = all_codes()
                .into_iter()
                .filter(|code| *code != rule.code)
                .collect();
            assert_eq!(
                codes(resolve_rules(
                    &selectors(&["NMF"]),
                    &[],
                    &selectors(&[rule.code])
                )),
                others
            );
            assert_eq!(
                codes(resolve_rules(
                    &selectors(&[rule.code]),
                    &[],
                    &selectors(&["NMF"])
                )),
                [rule.code]
            );
            assert!(
                resolve_rules(&selectors(&[rule.code]), &[], &selectors(&[rule.code])).is_empty()
            );
        }
        let (first, last) = (ALL_RULES[0], ALL_RULES[ALL_RULES.len() - 1]);
        let mut both = vec![first.code, last.code];
        both.dedup();
        assert_eq!(
            codes(resolve_rules(
                &selectors(&[last.code]),
                &selectors(&[first.code]),
                &[]
            )),
            both
        );
    }

    #[test]
    fn unknown_selectors_are_rejected_with_what_was_written() {
        for bad in [
            "NMF9",
            "NMF0001",
            "nmf001",
            "E501",
            "",
            "F",
            "module-forward",
        ] {
            let error = bad.parse::<RuleSelector>().expect_err(bad);
            assert_eq!(error.0, bad);
            assert!(error.to_string().contains("unknown rule selector"));
        }
    }
}
