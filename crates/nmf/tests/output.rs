//! Every output format on the same small tree, snapshotted.

mod common;

use common::Tree;

fn tree() -> Tree {
    let tree = Tree::new();
    tree.write(
        "train.py",
        "import torch\nimport torch.nn as nn\n\n\nclass Exp(torch.autograd.Function):\n    pass\n\n\nmodel = nn.Linear(2, 2)\ny = model.forward(x)\nz = Exp.forward(ctx, y)\n",
    )
    .write("broken.py", "def f(:\n    model.forward(x)\n")
    .write("bad.py", b"x = '\xff'\n");
    tree
}

fn output(format: &str) -> String {
    let run = tree().run(&["check", "--no-prefilter", "--output-format", format]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    run.stdout
}

#[test]
fn concise() {
    insta::assert_snapshot!(output("concise"));
}

#[test]
fn full() {
    insta::assert_snapshot!(output("full"));
}

#[test]
fn json() {
    let text = output("json");
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(4));
    insta::assert_snapshot!(text);
}

#[test]
fn json_lines() {
    let text = output("json-lines");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("one JSON object per line");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn github() {
    insta::assert_snapshot!(output("github"));
}

#[test]
fn sarif() {
    let text = output("sarif");
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(parsed["version"], "2.1.0");
    assert_eq!(
        parsed["runs"][0]["results"].as_array().map(Vec::len),
        Some(4)
    );
    // The rule docs are long: the snapshot shows the results and rule ids only.
    let rules: Vec<&str> = parsed["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|rule| rule["id"].as_str())
        .collect();
    let registered: Vec<&str> = nmf_linter::registry::ALL_RULES
        .iter()
        .map(|rule| rule.code)
        .collect();
    assert_eq!(rules, registered);
    insta::assert_snapshot!(
        serde_json::to_string_pretty(&parsed["runs"][0]["results"]).expect("serialises")
    );
}

#[test]
fn statistics() {
    let run = tree().run(&["check", "--no-prefilter", "--statistics"]);
    assert_eq!(run.status, 1);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn quiet_full_output_has_no_summary() {
    let run = tree().run(&["check", "--output-format", "full", "--quiet", "train.py"]);
    assert!(!run.stdout.contains("Found"), "{}", run.stdout);
    let clean = Tree::new();
    clean.write("ok.py", "x = 1\n");
    assert_eq!(
        clean.run(&["check", "--output-format", "full"]).stdout,
        "All checks passed!\n"
    );
    assert_eq!(
        clean
            .run(&["check", "--output-format", "full", "-q"])
            .stdout,
        ""
    );
}

#[test]
fn color_is_forced_or_refused() {
    let run = tree().run(&["check", "--color", "train.py"]);
    assert!(run.stdout.contains("\x1b["), "{}", run.stdout);
    let run = tree().run(&["check", "--color=never", "train.py"]);
    assert!(!run.stdout.contains("\x1b["), "{}", run.stdout);
}
