//! Every fixture under `resources/test/fixtures/` runs through the whole per-file pipeline
//! (prefilter, parser, rules, `noqa`) and its findings are snapshotted as code frames.
//!
//! A fixture named after a rule code (`NMF001*.py`) runs that rule alone; any other fixture
//! runs every rule. Adding a rule's fixture needs no change here.

use std::path::Path;

use nmf_driver::check_source;
use nmf_linter::registry::{ALL_RULES, RuleSet};
use nmf_linter::render::{FrameOptions, SourceLocator, render_code_frame};
use nmf_linter::settings::LinterSettings;

fn fixtures_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../resources/test/fixtures"
    ))
}

/// The rules a fixture exercises, from its name.
fn rules_for(path: &Path) -> RuleSet {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    ALL_RULES
        .iter()
        .find(|rule| name.starts_with(rule.code))
        .map_or_else(RuleSet::all, |rule| RuleSet::empty().with(rule))
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

#[test]
fn every_rule_has_a_fixture() {
    let names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures folder exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    for rule in ALL_RULES {
        assert!(
            names.iter().any(|name| name.starts_with(rule.code)),
            "{} has no fixture in resources/test/fixtures",
            rule.code
        );
    }
}
