//! What a new user runs into: `--help`, spellings ruff accepts, standard input, statistics in
//! JSON, encodings, SARIF details. Each end to end with the built binary.

mod common;

use common::{NMF001, Tree};

const FIXABLE: &str = "import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m.forward(x)\n";

#[test]
fn help_lists_output_formats_and_the_negative_flags() {
    let run = Tree::new().run(&["check", "--help"]);
    assert_eq!(run.status, 0);
    assert!(
        run.stdout
            .contains("[possible values: concise, full, json, json-lines, github, sarif]"),
        "{}",
        run.stdout
    );
    for flag in ["--no-fix", "--no-unsafe-fixes", "--no-known-modules-only"] {
        assert!(run.stdout.contains(flag), "{flag} is missing from --help");
    }
}

#[test]
fn color_takes_its_value_with_a_space_or_an_equals_sign() {
    let tree = Tree::new();
    tree.write("a.py", "model.forward(x)\n");
    for args in [
        &["check", "--color", "always", "a.py"][..],
        &["check", "--color=always", "a.py"],
        &["check", "a.py", "--color"],
    ] {
        let run = tree.run(args);
        assert_eq!(run.status, 1, "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains("\x1b["), "{args:?}");
    }
    let run = tree.run(&["check", "--color", "never", "a.py"]);
    assert_eq!(run.findings(), format!("a.py:1:1: {NMF001}\n"));
    assert!(!run.stdout.contains('\x1b'));
    // A path right after a bare `--color` is still a path.
    let run = tree.run(&["check", "--color", "a.py"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stdout.contains("\x1b[1ma.py\x1b[0m") && run.stdout.contains("NMF001"));
}

#[test]
fn rule_codes_and_names_are_found_in_any_case() {
    let tree = Tree::new();
    let lower = tree.run(&["rule", "nmf001"]);
    assert_eq!(lower.status, 0, "{}", lower.stderr);
    assert_eq!(lower.stdout, tree.run(&["rule", "NMF001"]).stdout);
    assert_eq!(
        tree.run(&["rule", "Module-Forward-Call"]).stdout,
        lower.stdout
    );
}

#[test]
fn diff_wins_over_fix_as_in_ruff() {
    let tree = Tree::new();
    tree.write("a.py", FIXABLE);
    for args in [
        &["check", "--diff", "--fix"][..],
        &["check", "--fix", "--diff"],
        &["check", "--fix-only", "--diff"],
    ] {
        let run = tree.run(args);
        assert_eq!(run.status, 1, "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains("+y = m(x)"), "{args:?}: {}", run.stdout);
        assert_eq!(
            tree.read("a.py"),
            FIXABLE.as_bytes(),
            "{args:?} wrote the file"
        );
    }
}

#[test]
fn statistics_in_json_have_ruffs_shape() {
    let tree = Tree::new();
    tree.write("a.py", FIXABLE)
        .write("b.py", "model.forward(x)\n");
    let run = tree.run(&["check", "--statistics", "--output-format", "json"]);
    assert_eq!(run.status, 1);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        parsed,
        serde_json::json!([
            {"code": "NMF001", "name": "module-forward-call", "count": 2, "fixable": true}
        ])
    );
    let lines = tree.run(&["check", "--statistics", "--output-format", "json-lines"]);
    assert_eq!(
        lines.stdout,
        "{\"code\":\"NMF001\",\"count\":2,\"fixable\":true,\"name\":\"module-forward-call\"}\n"
    );
}

#[test]
fn stdin_filename_alone_reads_standard_input() {
    let tree = Tree::new();
    tree.write("other.py", "model.forward(1)\n");
    let run = tree.run_with_stdin(
        &["check", "--stdin-filename", "foo.py"],
        "x = 1\nmodel.forward(x)\n",
    );
    assert_eq!(run.findings(), format!("foo.py:2:1: {NMF001}\n"));
    let mixed = tree.run_with_stdin(
        &["check", "--stdin-filename", "foo.py", "other.py"],
        "x = 1\n",
    );
    assert_eq!(mixed.status, 2);
    assert!(
        mixed
            .stderr
            .contains("`--stdin-filename` names standard input")
    );
}

#[test]
fn standard_input_named_into_an_excluded_folder_is_skipped_with_force_exclude() {
    let tree = Tree::new();
    tree.write("nmf.toml", "extend-exclude = [\"build\"]\n");
    let source = "model.forward(x)\n";
    let skipped = tree.run_with_stdin(
        &[
            "check",
            "--stdin-filename",
            "build/x.py",
            "--force-exclude",
            "-",
        ],
        source,
    );
    assert_eq!(
        (skipped.status, skipped.stdout.as_str()),
        (0, "All checks passed!\n")
    );
    // With --fix the source goes back out untouched, as a formatter's would.
    let fixed = tree.run_with_stdin(
        &[
            "check",
            "--stdin-filename",
            "build/x.py",
            "--force-exclude",
            "--fix",
            "--unsafe-fixes",
            "-",
        ],
        source,
    );
    assert_eq!((fixed.status, fixed.stdout.as_str()), (0, source));
    // Without --force-exclude, a named path is always checked.
    let checked = tree.run_with_stdin(&["check", "--stdin-filename", "build/x.py", "-"], source);
    assert_eq!(checked.locations(), ["build/x.py:1:1: NMF001"]);
}

#[test]
fn show_receivers_says_when_noqa_suppressed_the_finding() {
    let tree = Tree::new();
    tree.write(
        "a.py",
        "import torch.nn as nn\nm = nn.Linear(1, 1)\nm.forward(x)  # noqa: NMF001\nm.forward(y)\n",
    );
    let run = tree.run(&["check", "--show-receivers"]);
    let receivers: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.contains("receiver"))
        .collect();
    assert_eq!(
        receivers,
        [
            "a.py:3:1: receiver `m`: `torch.nn.Linear`, an nn.Module: NMF001 suppressed by noqa",
            "a.py:4:1: receiver `m`: `torch.nn.Linear`, an nn.Module: reported as NMF001",
        ]
    );
}

#[test]
fn windows_code_pages_decode_as_in_python() {
    let tree = Tree::new();
    tree.write(
        "cp.py",
        b"# -*- coding: cp1252 -*-\ns = '\x80 \x93quoted\x94'; model.forward(x)\n",
    )
    .write(
        "undefined.py",
        b"# coding: cp1252\ns = '\x81'\nmodel.forward(x)\n",
    );
    let run = tree.run(&["check"]);
    assert_eq!(
        run.findings().lines().collect::<Vec<_>>(),
        [
            // Columns count the UTF-8 bytes of the decoded line, as flake8's do.
            format!("cp.py:2:25: {NMF001}"),
            "undefined.py:1:1: E902 UnicodeDecodeError: 'charmap' codec can't decode byte 0x81 in position 22: character maps to <undefined> (line 2)".to_string(),
        ]
    );
}

#[test]
fn sarif_describes_each_rule_in_full_and_percent_encodes_uris() {
    let tree = Tree::new();
    tree.write("a,b:c%d é.py", "model.forward(x)\n");
    let run = tree.run(&["check", "--output-format", "sarif"]);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let run0 = &parsed["runs"][0];
    assert_eq!(
        run0["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "a%2Cb%3Ac%25d%20%C3%A9.py"
    );
    for rule in run0["tool"]["driver"]["rules"].as_array().expect("rules") {
        let short = rule["shortDescription"]["text"].as_str().expect("text");
        assert!(short.ends_with('.'), "cut short: {short}");
        // The Markdown of `nmf rule`: no line keeps the space of its `///` comment.
        let full = rule["fullDescription"]["text"].as_str().expect("text");
        assert!(full.starts_with("## What it does\n"), "{full}");
        assert!(
            !full
                .lines()
                .any(|line| line.starts_with(' ') && !line.starts_with("  ")),
            "{full}"
        );
        assert_eq!(rule["help"]["markdown"].as_str(), Some(full));
    }
}
