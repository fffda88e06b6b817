//! Every rule's prefilter (`could_match`) admits each fixture the rule has findings in, also
//! once the fixture's identifiers are spelled with fullwidth letters.
//!
//! Python NFKC-normalises identifiers, so `ｍ.ｆｏｒｗａｒｄ(x)` is `m.forward(x)`: the same
//! program, with the same findings. A prefilter that looks for ASCII bytes only would skip
//! such a file, and the driver never parses a file its prefilter skips.

use std::path::{Path, PathBuf};

use nmf_linter::checker::{FileContext, check_module};
use nmf_linter::registry::{ALL_RULES, RuleInfo, RuleSet};
use nmf_linter::semantic::infer::NoProject;
use nmf_linter::settings::LinterSettings;
use ruff_python_ast::PySourceType;
use ruff_python_ast::token::TokenKind;
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::{Ranged, TextRange};

fn fixtures() -> Vec<PathBuf> {
    let folder = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../resources/test/fixtures"
    ));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("the fixtures folder exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "py"))
        .collect();
    paths.sort();
    paths
}

/// The findings of `rule` alone in `source`, before `noqa` (a file whose findings are all
/// suppressed must still be parsed: the suppressions are reported when unused).
fn findings(source: &str, rule: &'static RuleInfo) -> usize {
    let parsed = parse_unchecked_source(source, PySourceType::Python);
    assert!(
        parsed.errors().is_empty(),
        "a fixture that does not parse: {:?}",
        parsed.errors()
    );
    let settings = LinterSettings {
        rules: RuleSet::empty().with(rule),
        ..LinterSettings::default()
    };
    let file = FileContext {
        module_name: None,
        is_package: false,
        project: &NoProject,
    };
    check_module(parsed.suite(), parsed.tokens(), source, &settings, &file)
        .diagnostics
        .len()
}

/// The identifiers of `source` (keywords excluded: a keyword spelled otherwise is a name) and
/// its comments.
fn identifiers_and_comments(source: &str) -> (Vec<TextRange>, Vec<TextRange>) {
    let parsed = parse_unchecked_source(source, PySourceType::Python);
    let of_kind = |kind: TokenKind| {
        parsed
            .tokens()
            .iter()
            .filter(|token| token.kind() == kind)
            .map(Ranged::range)
            .collect::<Vec<_>>()
    };
    (of_kind(TokenKind::Name), of_kind(TokenKind::Comment))
}

/// The offsets of the ASCII letters of `ranges`.
fn letters(source: &str, ranges: &[TextRange]) -> Vec<usize> {
    ranges
        .iter()
        .flat_map(|range| {
            let start = range.start().to_usize();
            source[*range]
                .bytes()
                .enumerate()
                .filter(|(_, byte)| byte.is_ascii_alphabetic())
                .map(move |(offset, _)| start + offset)
        })
        .collect()
}

/// `source` with the ASCII letters at `offsets` (in increasing order) replaced by their
/// fullwidth forms (`f` by `ｆ`, U+FF46), which NFKC maps back to them.
fn respelled(source: &str, offsets: &[usize]) -> String {
    let mut text = String::with_capacity(source.len() + 2 * offsets.len());
    let mut copied = 0;
    for &offset in offsets {
        text.push_str(&source[copied..offset]);
        let letter = source.as_bytes()[offset];
        text.push(char::from_u32(u32::from(letter) + 0xFEE0).expect("a fullwidth form"));
        copied = offset + 1;
    }
    text.push_str(&source[copied..]);
    text
}

/// The re-spellings a fixture is tried in, each with what it re-spelled: every letter of every
/// identifier at once; every occurrence of one name, fully; and each letter alone. Comments
/// are re-spelled in each: they are not code, and an ASCII `forward` in a comment would hide a
/// prefilter that looks for ASCII bytes only.
fn respellings(source: &str) -> Vec<(String, String)> {
    let (names, comments) = identifiers_and_comments(source);
    let in_comments = letters(source, &comments);
    let respell = |identifier_letters: Vec<usize>| {
        let mut offsets = identifier_letters;
        offsets.extend(&in_comments);
        offsets.sort_unstable();
        respelled(source, &offsets)
    };
    let mut variants = vec![(
        "every identifier".to_string(),
        respell(letters(source, &names)),
    )];
    let mut distinct: Vec<&str> = names.iter().map(|range| &source[*range]).collect();
    distinct.sort_unstable();
    distinct.dedup();
    for name in distinct {
        let occurrences: Vec<TextRange> = names
            .iter()
            .copied()
            .filter(|range| &source[*range] == name)
            .collect();
        variants.push((
            format!("every `{name}`"),
            respell(letters(source, &occurrences)),
        ));
    }
    for range in &names {
        let start = range.start().to_usize();
        for offset in letters(source, &[*range]) {
            let line = source[..offset].matches('\n').count() + 1;
            let shown = respelled(&source[*range], &[offset - start]);
            variants.push((format!("`{shown}` on line {line}"), respell(vec![offset])));
        }
    }
    variants
}

#[test]
fn prefilters_admit_fixtures_whose_identifiers_are_spelled_in_fullwidth_letters() {
    let mut checked = 0;
    for path in fixtures() {
        let source = std::fs::read_to_string(&path).expect("fixtures are UTF-8");
        let name = path.display();
        let variants = respellings(&source);
        for rule in ALL_RULES.iter().copied() {
            let found = findings(&source, rule);
            if found == 0 {
                continue;
            }
            // The re-spelled file is the same program: the rule finds the same.
            let (_, everything) = &variants[0];
            assert_eq!(
                findings(everything, rule),
                found,
                "{} finds something else in {name} once its identifiers are spelled in \
                 fullwidth letters, which Python reads as the same names",
                rule.code
            );
            for (what, variant) in &variants {
                assert!(
                    (rule.could_match)(variant),
                    "the prefilter (`could_match`) of {} rules out {name} with {what} spelled \
                     in fullwidth letters, although the file has {found} finding(s): Python \
                     NFKC-normalises identifiers, so admit such spellings too (see \
                     `could_spell` in crates/nmf_linter/src/analysis/forward_call.rs)",
                    rule.code
                );
                checked += 1;
            }
        }
    }
    // Every rule has fixtures with findings; thousands of re-spellings are tried.
    assert!(checked > 1000, "only {checked} re-spellings were tried");
}

#[test]
fn respelling_changes_only_the_chosen_letters_and_comments_to_their_fullwidth_forms() {
    let source = "m.forward(x)  # forward\n";
    let variants = respellings(source);
    let comment = "# ｆｏｒｗａｒｄ\n";
    assert_eq!(variants[0].1, format!("ｍ.ｆｏｒｗａｒｄ(ｘ)  {comment}"));
    assert!(variants.contains(&(
        "every `forward`".to_string(),
        format!("m.ｆｏｒｗａｒｄ(x)  {comment}")
    )));
    assert!(variants.contains(&(
        "`foｒward` on line 1".to_string(),
        format!("m.foｒward(x)  {comment}")
    )));
    // One variant for all, one per distinct name, one per letter.
    assert_eq!(variants.len(), 1 + 3 + (1 + 7 + 1));
}
