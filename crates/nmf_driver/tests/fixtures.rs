//! Every fixture under `resources/test/fixtures/` runs through the whole per-file pipeline
//! (prefilter, parser, rules, `noqa`) and its findings are snapshotted as code frames.
//!
//! A fixture named after a rule code (`NMF001*.py`) runs that rule alone; any other fixture
//! runs every rule. Adding a rule's fixture needs no change here.

use std::path::Path;

use nmf_driver::check::check_text;
use nmf_driver::check_source;
use nmf_linter::checker::FileContext;
use nmf_linter::registry::{ALL_RULES, RuleSet};
use nmf_linter::render::{FrameOptions, SourceLocator, render_code_frame};
use nmf_linter::semantic::infer::NoProject;
use nmf_linter::settings::LinterSettings;
use ruff_python_ast::PySourceType;

fn fixtures_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../resources/test/fixtures"
    ))
}

/// The rule code a fixture's name starts with (`NMF001` for `NMF001_noqa.py`), if any: `NMF`
/// and every digit after it.
fn fixture_code(name: &str) -> Option<&str> {
    let digits = name.strip_prefix("NMF")?;
    let length = digits.bytes().take_while(u8::is_ascii_digit).count();
    Some(&name[..3 + length])
}

/// The rules a fixture exercises, from its name: a fixture named after a rule code runs that
/// rule alone, which must be registered; any other fixture runs every rule.
fn rules_for(path: &Path) -> RuleSet {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let Some(code) = fixture_code(name) else {
        return RuleSet::all();
    };
    let rule = ALL_RULES.iter().find(|rule| rule.code == code);
    let Some(rule) = rule else {
        panic!(
            "resources/test/fixtures/{name} is named after {code}, which no registered rule has: \
             register the rule (its `pub mod` and its entry in `ALL_RULES`, in \
             crates/nmf_linter/src/rules/mod.rs) or fix the fixture's name"
        );
    };
    RuleSet::empty().with(rule)
}

/// Findings rendered as ruff renders them in its snapshots.
fn render_findings(path: &Path, source: &str, rules: RuleSet) -> String {
    let settings = LinterSettings {
        rules,
        ..LinterSettings::default()
    };
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let locator = SourceLocator::new(source);
    check_source(source, &settings)
        .iter()
        .map(|diagnostic| render_code_frame(diagnostic, name, &locator, FrameOptions::default()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fixtures() {
    insta::glob!("../../../resources/test/fixtures", "*.py", |path| {
        let source = std::fs::read_to_string(path).expect("fixtures are UTF-8");
        let rendered = render_findings(path, &source, rules_for(path));
        insta::assert_snapshot!(rendered);
    });
}

/// The prefilter never rules out a fixture: a file it skips must have no finding at all.
#[test]
fn prefilters_keep_every_fixture_with_a_finding() {
    let file = FileContext {
        module_name: None,
        is_package: false,
        project: &NoProject,
    };
    for entry in std::fs::read_dir(fixtures_dir()).expect("the fixtures folder exists") {
        let path = entry.expect("a readable entry").path();
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        for rule in rules_for(&path).iter() {
            let settings = LinterSettings {
                rules: RuleSet::empty().with(rule),
                ..LinterSettings::default()
            };
            let found =
                check_text(&source, PySourceType::Python, &settings, &file, true).diagnostics;
            assert!(
                found.is_empty() || (rule.could_match)(&source),
                "the prefilter (`could_match`) of {} rules out {}, which has {} finding(s): it \
                 must never say no to a source with a finding",
                rule.code,
                path.display(),
                found.len()
            );
        }
    }
}

#[test]
fn every_fixture_named_after_a_code_names_a_registered_rule() {
    for entry in std::fs::read_dir(fixtures_dir()).expect("the fixtures folder exists") {
        let path = entry.expect("a readable entry").path();
        // Panics with what to do when the code is not registered.
        rules_for(&path);
    }
}

#[test]
fn every_rule_has_a_fixture() {
    let names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures folder exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    for rule in ALL_RULES {
        assert!(
            names.iter().any(|name| name.starts_with(rule.code)),
            "{} has no fixture: add resources/test/fixtures/{}.py with reported and not-reported \
             cases (scripts/add_rule.py writes one)",
            rule.code,
            rule.code
        );
    }
}
