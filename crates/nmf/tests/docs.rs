//! Documentation generated from the rule registry must not drift from it: `docs/rules.md`,
//! the README's table of rules, and the rule list in the flake8 plugin's docstring.
//!
//! `NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs` rewrites all three.

use std::path::{Path, PathBuf};

const UPDATE_HINT: &str = "run `NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs` to regenerate it";

fn repository_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn updating() -> bool {
    std::env::var_os("NMF_UPDATE_DOCS").is_some()
}

/// Checks (or, when updating, rewrites) the text between the lines `begin` and `end` of a file.
fn check_region(relative: &str, begin: &str, end: &str, expected: &str) {
    let path = repository_file(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let start = text
        .find(begin)
        .map(|at| at + begin.len())
        .unwrap_or_else(|| panic!("{relative} lacks the marker line `{begin}`"));
    let stop = text[start..]
        .find(end)
        .map(|at| start + at)
        .unwrap_or_else(|| panic!("{relative} lacks the marker line `{end}` after `{begin}`"));
    let wanted = format!("\n{expected}");
    if updating() {
        let updated = format!("{}{wanted}{}", &text[..start], &text[stop..]);
        std::fs::write(&path, updated).expect("write the regenerated file");
        return;
    }
    assert!(
        text[start..stop] == wanted,
        "the generated part of {relative} is out of date: {UPDATE_HINT}"
    );
}

#[test]
fn docs_rules_md_is_up_to_date() {
    let path = repository_file("docs/rules.md");
    let expected = nmf::rules_markdown();
    if updating() {
        std::fs::write(&path, &expected).expect("write docs/rules.md");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is out of date: {UPDATE_HINT}"
    );
}

#[test]
fn readme_rule_table_is_up_to_date() {
    check_region(
        "README.md",
        "<!-- begin rules table: generated -->",
        "<!-- end rules table -->",
        &nmf::rules_table(),
    );
}

#[test]
fn flake8_plugin_docstring_lists_every_rule() {
    check_region(
        "python/flake8_no_model_forward_call/__init__.py",
        ".. begin rules: generated",
        ".. end rules",
        &format!("\n{}\n", nmf::rules_list()),
    );
}

/// The README's first command prints what its console block shows: a reader's first check of
/// the tool, and the summary lines change with the CLI.
#[test]
fn readme_first_command_shows_its_real_output() {
    let readme = std::fs::read_to_string(repository_file("README.md")).expect("README.md");
    let command = "$ cargo run --release -- check resources/example.py\n";
    let start = readme
        .find(command)
        .map(|at| at + command.len())
        .expect("the README's console block with the first command");
    let shown = &readme[start..start + readme[start..].find("```").expect("end of block")];
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(["check", "--no-cache", "resources/example.py"])
        .current_dir(repository_file(""))
        .output()
        .expect("run nmf");
    assert_eq!(String::from_utf8_lossy(&output.stdout), shown);
}
