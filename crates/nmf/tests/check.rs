//! `nmf check` end to end: the built binary on temporary trees, exit codes and messages.

mod common;

use common::{NMF001, Tree};

/// The original plugin's README example, as shipped in `resources/example.py`.
const README_EXAMPLE: &str = include_str!("../../../resources/example.py");

#[test]
fn the_readme_example_prints_the_flake8_line_then_ruffs_summary() {
    let tree = Tree::new();
    tree.write("example.py", README_EXAMPLE);
    let run = tree.run(&["check", "example.py"]);
    assert_eq!(
        run.stdout,
        format!("example.py:9:1: {NMF001}\nFound 1 error.\n[*] 1 fixable with `--fix`.\n")
    );
    assert_eq!(run.stderr, "");
    assert_eq!(run.status, 1);
    // `-q`: the findings alone, exactly as flake8 prints them.
    let quiet = tree.run(&["check", "-q", "example.py"]);
    assert_eq!(quiet.stdout, format!("example.py:9:1: {NMF001}\n"));
    assert_eq!(quiet.status, 1);
}

#[test]
fn a_clean_tree_says_so_and_exits_zero() {
    let tree = Tree::new();
    tree.write("ok.py", "model(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(
        (run.status, run.stdout.as_str(), run.stderr.as_str()),
        (0, "All checks passed!\n", "")
    );
    let quiet = tree.run(&["check", "-q"]);
    assert_eq!((quiet.status, quiet.stdout.as_str()), (0, ""));
}

#[test]
fn exit_zero_keeps_the_findings_but_not_the_status() {
    let tree = Tree::new();
    tree.write("a.py", "model.forward(x)\n");
    let run = tree.run(&["check", "--exit-zero", "a.py"]);
    assert_eq!(run.status, 0);
    assert_eq!(run.locations(), ["a.py:1:1: NMF001"]);
}

#[test]
fn folders_are_walked_and_output_is_sorted() {
    let tree = Tree::new();
    tree.write("b.py", "model.forward(x)\n")
        .write("a/z.py", "m.forward(1)\nm.forward(2)\n")
        .write("a/y.py", "x = 1; m.forward(3)\n")
        .write("notes.txt", "model.forward(x)\n")
        .write("pkg.py/inner.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(
        run.locations(),
        [
            "a/y.py:1:8: NMF001",
            "a/z.py:1:1: NMF001",
            "a/z.py:2:1: NMF001",
            "b.py:1:1: NMF001",
            "pkg.py/inner.py:1:1: NMF001",
        ]
    );
    // The same run gives the same bytes.
    assert_eq!(tree.run(&["check"]).stdout, run.stdout);
}

#[test]
fn gitignore_hidden_folders_and_excludes_are_respected_but_explicit_paths_always_checked() {
    let tree = Tree::new();
    tree.write(".gitignore", "generated/\n")
        .write(".ignore", "scratch.py\n")
        .write("generated/g.py", "model.forward(x)\n")
        .write("scratch.py", "model.forward(x)\n")
        .write(".hidden/h.py", "model.forward(x)\n")
        .write(".venv/lib/v.py", "model.forward(x)\n")
        .write("build_out/b.py", "model.forward(x)\n")
        .write("src/keep.py", "model.forward(x)\n");
    let run = tree.run(&["check", "--extend-exclude", "build_out"]);
    assert_eq!(run.locations(), ["src/keep.py:1:1: NMF001"]);
    let run = tree.run(&[
        "check",
        "generated/g.py",
        "scratch.py",
        "build_out/b.py",
        "--extend-exclude",
        "build_out",
    ]);
    assert_eq!(
        run.locations(),
        [
            "build_out/b.py:1:1: NMF001",
            "generated/g.py:1:1: NMF001",
            "scratch.py:1:1: NMF001"
        ]
    );
    let run = tree.run(&["check", "--exclude", "src"]);
    assert_eq!(run.locations(), ["build_out/b.py:1:1: NMF001"]);
}

#[test]
fn force_exclude_applies_excludes_to_explicit_paths() {
    let tree = Tree::new();
    tree.write("nmf.toml", "extend-exclude = [\"generated\"]\n")
        .write("generated/g.py", "model.forward(x)\n")
        .write(".venv/lib/v.py", "model.forward(x)\n")
        .write("src/a.py", "model.forward(x)\n");
    let explicit = ["generated/g.py", ".venv/lib/v.py", "src/a.py"];
    let run = tree.run(&[&["check"][..], &explicit].concat());
    assert_eq!(run.locations().len(), 3);
    let run = tree.run(&[&["check", "--force-exclude"][..], &explicit].concat());
    assert_eq!(run.locations(), ["src/a.py:1:1: NMF001"]);
    tree.write(
        "nmf.toml",
        "extend-exclude = [\"generated\"]\nforce-exclude = true\n",
    );
    let run = tree.run(&[&["check"][..], &explicit].concat());
    assert_eq!(run.locations(), ["src/a.py:1:1: NMF001"]);
}

#[test]
fn a_missing_path_is_e902_as_in_ruff_and_flake8_and_the_rest_is_still_checked() {
    let tree = Tree::new();
    tree.write("a.py", "model.forward(x)\n");
    let run = tree.run(&["check", "missing.py", "a.py", "gone/"]);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.findings(),
        format!(
            "a.py:1:1: {NMF001}\n\
             gone:1:1: E902 FileNotFoundError: No such file or directory (os error 2)\n\
             missing.py:1:1: E902 FileNotFoundError: No such file or directory (os error 2)\n"
        )
    );
    assert_eq!(run.status, 1);
    // Alone, it is a finding too: exit 1, not a usage error.
    let alone = tree.run(&["check", "--output-format", "json", "missing.py"]);
    assert_eq!(alone.status, 1);
    let findings: serde_json::Value = serde_json::from_str(&alone.stdout).expect("JSON");
    assert_eq!(findings[0]["code"], "E902");
    assert_eq!(findings[0]["filename"], "missing.py");
}

#[test]
fn syntax_errors_are_e999_at_their_position() {
    let tree = Tree::new();
    tree.write("broken.py", "x = 1\nmodel.forward(\ny = 2\n")
        .write("ok.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.stdout.lines().next(),
        Some("broken.py:4:1: E999 SyntaxError: unexpected EOF while parsing")
    );
    assert_eq!(
        run.locations(),
        ["broken.py:4:1: E999", "ok.py:1:1: NMF001"]
    );
}

#[test]
fn unreadable_and_undecodable_files_are_e902_and_the_run_goes_on() {
    let tree = Tree::new();
    tree.write("bad_utf8.py", b"x = '\xff'\nmodel.forward(x)\n")
        .write("nul.py", b"model.forward(x)\0\n")
        .write(
            "klingon.py",
            "# -*- coding: klingon -*-\nmodel.forward(x)\n",
        )
        .write("ok.py", "model.forward(x)\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(tree.join("nowhere.py"), tree.join("dangling.py")).expect("symlink");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 1);
    let findings = run.findings();
    let lines: Vec<&str> = findings.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "bad_utf8.py:1:1: E902 UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 5: invalid start byte (line 1)",
            "dangling.py:1:1: E902 FileNotFoundError: No such file or directory (os error 2)",
        ]
    );
    assert_eq!(
        lines[2],
        "klingon.py:1:1: E902 LookupError: line 1 declares the encoding 'klingon', which neither CPython nor nmf knows"
    );
    assert_eq!(
        lines[3],
        "nul.py:1:1: E902 SyntaxError: source code cannot contain null bytes (line 1)"
    );
    assert_eq!(lines[4], format!("ok.py:1:1: {NMF001}"));
    assert_eq!(lines.len(), 5);
}

#[cfg(unix)]
#[test]
fn a_file_without_read_permission_is_e902() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new();
    tree.write("secret.py", "model.forward(x)\n");
    let path = tree.join("secret.py");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let run = tree.run_unprivileged(&["check"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stdout
            .starts_with("secret.py:1:1: E902 PermissionError: "),
        "{}",
        run.stdout
    );
}

#[test]
fn latin1_files_decode_as_python_decodes_them() {
    let tree = Tree::new();
    tree.write(
        "latin.py",
        b"# -*- coding: latin-1 -*-\ns = '\xe9'; model.forward(x)\n",
    );
    let run = tree.run(&["check"]);
    // CPython's column counts the UTF-8 bytes of the decoded line: `é` is two.
    assert_eq!(run.locations(), ["latin.py:2:11: NMF001"]);
}

#[test]
fn bom_line_endings_tabs_and_form_feeds_do_not_shift_positions() {
    let tree = Tree::new();
    tree.write("bom.py", b"\xef\xbb\xbfmodel.forward(x)\n")
        .write(
            "crlf.py",
            "a = 1\r\nb = 2\r\n\tmodel.forward(x)\r\n".replace('\t', "if 1:\r\n\t"),
        )
        .write("cr.py", "a = 1\rb = 2\rmodel.forward(x)\r")
        .write("tabs.py", "if x:\n\ty = model.forward(x)\n")
        .write("formfeed.py", "a = 1\n\x0c\nmodel.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(
        run.locations(),
        [
            "bom.py:1:1: NMF001",
            "cr.py:3:1: NMF001",
            "crlf.py:4:2: NMF001",
            "formfeed.py:3:1: NMF001",
            "tabs.py:2:6: NMF001",
        ]
    );
}

#[test]
fn pathological_nesting_gives_a_result_not_a_crash() {
    let tree = Tree::new();
    let depth = 5_000;
    tree.write(
        "calls.py",
        format!(
            "x = {}model.forward(1){}\n",
            "f(".repeat(depth),
            ")".repeat(depth)
        ),
    );
    let blocks = |levels: usize| {
        let mut blocks = String::new();
        for level in 0..levels {
            blocks.push_str(&"    ".repeat(level));
            blocks.push_str("if x:\n");
        }
        blocks.push_str(&"    ".repeat(levels));
        blocks.push_str("model.forward(1)\n");
        blocks
    };
    tree.write("blocks.py", blocks(300));
    tree.write(
        "chain.py",
        format!("y = model.forward(1){}\n", " + 1".repeat(200_000)),
    );
    tree.write(
        "unary.py",
        format!("y = {}model.forward(1)\n", "-".repeat(200_000)),
    );
    // Type inference meets generated code: 10,000 chained classes and aliases, nested type().
    let classes: String = (1..10_000)
        .map(|i| format!("class C{i}(C{}): pass\n", i - 1))
        .collect();
    tree.write(
        "hierarchy.py",
        format!("import torch.nn as nn\nclass C0(nn.Module): pass\n{classes}C9999().forward(1)\n"),
    );
    let aliases: String = (1..10_000)
        .map(|i| format!("a{i} = a{}\n", i - 1))
        .collect();
    tree.write(
        "aliases.py",
        format!("a0 = model\n{aliases}a9999.forward(1)\n"),
    );
    tree.write(
        "types.py",
        format!(
            "y = {}m{}.forward(m, 1)\n",
            "type(".repeat(3_000),
            ")".repeat(3_000)
        ),
    );
    // The same as deep as CPython accepts (199 brackets open, 5,000 unary operators, 99
    // levels of indentation): the deeper ones above are E999 as CPython reports them, before
    // any tree is built.
    tree.write("blocks_accepted.py", blocks(99));
    tree.write(
        "calls_accepted.py",
        format!(
            "x = {}model.forward(1){}\n",
            "f(".repeat(199),
            ")".repeat(199)
        ),
    );
    tree.write(
        "types_accepted.py",
        format!(
            "y = {}m{}.forward(m, 1)\n",
            "type(".repeat(199),
            ")".repeat(199)
        ),
    );
    tree.write(
        "unary_accepted.py",
        format!("y = {}model.forward(1)\n", "-".repeat(5_000)),
    );
    let run = tree.run(&["check"]);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.locations(),
        [
            "aliases.py:10001:1: NMF001",
            "blocks.py:101:1: E999",
            "blocks_accepted.py:100:397: NMF001",
            "calls.py:1:406: E999",
            "calls_accepted.py:1:403: NMF001",
            "chain.py:1:5: NMF001",
            "hierarchy.py:10002:1: NMF001",
            "types.py:1:1009: E999",
            "types_accepted.py:1:5: NMF001",
            "unary.py:1:6005: E999",
            "unary_accepted.py:1:5005: NMF001",
        ]
    );
}

#[test]
fn standard_input_is_checked_and_named() {
    let tree = Tree::new();
    let run = tree.run_with_stdin(&["check", "-"], "model.forward(x)\n");
    assert_eq!(run.locations(), ["-:1:1: NMF001"]);
    let run = tree.run_with_stdin(
        &["check", "-", "--stdin-filename", "pkg/train.py"],
        "x = 1\nmodel.forward(x)\n",
    );
    assert_eq!(run.findings(), format!("pkg/train.py:2:1: {NMF001}\n"));
    assert_eq!(run.status, 1);
}

#[test]
fn noqa_comments_are_honoured() {
    let tree = Tree::new();
    tree.write(
        "a.py",
        "model.forward(1)  # noqa\nmodel.forward(2)  # noqa: NMF002\nmodel.forward(3)  # noqa:NMF001\n",
    )
    .write("skipped.py", "# flake8: noqa\nmodel.forward(1)\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.locations(), ["a.py:2:1: NMF001"]);
}

#[test]
fn no_prefilter_parses_every_file_and_finds_the_same() {
    let tree = Tree::new();
    tree.write("a.py", "model.forward(x)\n")
        .write("b.py", "def broken(:\n");
    let fast = tree.run(&["check", "-v"]);
    assert_eq!(fast.locations(), ["a.py:1:1: NMF001"]);
    assert!(
        fast.stderr.contains("checked 2 files (1 parsed"),
        "{}",
        fast.stderr
    );
    let full = tree.run(&["check", "--no-prefilter"]);
    assert_eq!(full.locations(), ["a.py:1:1: NMF001", "b.py:1:12: E999"]);
}

#[test]
fn rule_documentation_and_version() {
    let tree = Tree::new();
    let run = tree.run(&["rule", "NMF001"]);
    assert_eq!(run.status, 0);
    assert!(
        run.stdout.starts_with("# module-forward-call (NMF001)\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("## Why is this bad?"));
    let by_name = tree.run(&["rule", "module-forward-call"]);
    assert_eq!(by_name.stdout, run.stdout);
    let all = tree.run(&["rule", "--all"]);
    assert!(all.stdout.contains("(NMF001)") && all.stdout.contains("(NMF002)"));
    let unknown = tree.run(&["rule", "NMF999"]);
    assert_eq!(unknown.status, 2);
    assert!(unknown.stderr.contains("unknown rule `NMF999`"));
    let version = tree.run(&["--version"]);
    assert_eq!(
        version.stdout,
        format!("nmf {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(version.status, 0);
}

#[test]
fn usage_errors_exit_2() {
    let tree = Tree::new();
    let run = tree.run(&["check", "--output-format", "xml"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("invalid value 'xml' for '--output-format <FORMAT>'")
            && run
                .stderr
                .contains("[possible values: concise, full, json, json-lines, github, sarif]"),
        "{}",
        run.stderr
    );
    let run = tree.run(&["check", "--select", "NMF999"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("`--select`: unknown rule selector `NMF999`"),
        "{}",
        run.stderr
    );
    let run = tree.run(&["frobnicate"]);
    assert_eq!(run.status, 2);
}
