//! `docs/rules.md` is generated from the rules' doc comments and must not drift from them.

use std::path::Path;

#[test]
fn docs_rules_md_is_up_to_date() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md"));
    let expected = nmf::rules_markdown();
    if std::env::var_os("NMF_UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).expect("write docs/rules.md");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is out of date: run `NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs`"
    );
}
