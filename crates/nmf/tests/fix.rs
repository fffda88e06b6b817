//! `--fix`, `--diff`, `--fix-only`, `--show-fixes`, `--unsafe-fixes`: and no byte lost.

mod common;

use std::path::Path;

use common::{NMF001, Tree};

const MODULE_CALLS: &str = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\ny = layer.forward(x)\nz = unknown.forward(x)\n";

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../resources/test/fixtures"
    ))
}

/// A copy of every fixture in a temporary tree.
fn fixture_tree() -> Tree {
    let tree = Tree::new();
    for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "py") {
            let name = path.file_name().and_then(|n| n.to_str()).expect("name");
            tree.write(name, std::fs::read(&path).expect("read fixture"));
        }
    }
    tree
}

fn snapshot(tree: &Tree) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(tree.path())
        .expect("read tree")
        .map(|entry| entry.expect("entry").path())
        // The cache folder is not a fixture.
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_string();
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime");
            (name, std::fs::read(&path).expect("read"), modified)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn fixing_every_fixture_parses_settles_and_touches_nothing_else() {
    let tree = fixture_tree();
    // The files with a fixable finding are the ones `--fix --unsafe-fixes` may change.
    let report = tree.run(&[
        "check",
        "--isolated",
        "--unsafe-fixes",
        "--output-format",
        "json",
    ]);
    let findings: serde_json::Value = serde_json::from_str(&report.stdout).expect("JSON");
    let mut fixable: Vec<String> = findings
        .as_array()
        .expect("a list")
        .iter()
        .filter(|finding| !finding["fix"].is_null())
        .filter_map(|finding| finding["filename"].as_str().map(str::to_string))
        .collect();
    fixable.sort();
    fixable.dedup();
    assert!(fixable.len() >= 6, "{fixable:?}");
    let before = snapshot(&tree);
    // The clock's granularity must not hide a rewrite of an untouched file.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let first = tree.run(&["check", "--fix", "--unsafe-fixes", "--isolated"]);
    assert!(first.stdout.contains(" fixed, "), "{}", first.stdout);
    let after = snapshot(&tree);

    let changed: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(old, new)| old.1 != new.1)
        .map(|(old, _)| old.0.as_str())
        .collect();
    assert_eq!(changed, fixable);
    for (old, new) in before.iter().zip(&after) {
        if old.1 == new.1 {
            assert_eq!(old.2, new.2, "{} was rewritten without a change", old.0);
        }
    }

    // Every file still parses, and no fixable finding is left.
    let recheck = tree.run(&[
        "check",
        "--isolated",
        "--no-prefilter",
        "--unsafe-fixes",
        "--output-format",
        "json",
    ]);
    let findings: serde_json::Value = serde_json::from_str(&recheck.stdout).expect("json");
    for finding in findings.as_array().expect("a list") {
        assert_ne!(finding["code"], "E999", "{finding}");
        assert!(finding["fix"].is_null(), "a fix is left: {finding}");
    }

    // A second run changes nothing.
    let second = tree.run(&["check", "--fix", "--unsafe-fixes", "--isolated"]);
    assert_eq!(snapshot(&tree), after);
    assert!(!second.stdout.contains(" fixed, "), "{}", second.stdout);
}

#[test]
fn safe_fixes_only_unless_unsafe_ones_are_asked_for() {
    let tree = Tree::new();
    tree.write("a.py", MODULE_CALLS);
    let run = tree.run(&["check", "--fix", "a.py"]);
    assert_eq!(run.status, 1);
    // What is left, and why `--fix` left it.
    assert_eq!(
        run.stdout,
        format!(
            "a.py:5:5: {NMF001}\nFound 2 errors (1 fixed, 1 remaining).\n\
             1 unsafe fix available with `--fix --unsafe-fixes`.\n"
        )
    );
    assert_eq!(run.stderr, "");
    assert_eq!(
        String::from_utf8(tree.read("a.py")).expect("utf-8"),
        MODULE_CALLS.replace("layer.forward(x)", "layer(x)")
    );
    let run = tree.run(&["check", "--fix", "--unsafe-fixes", "a.py"]);
    assert_eq!(run.status, 0);
    assert_eq!(run.stdout, "Found 1 error (1 fixed, 0 remaining).\n");
    assert_eq!(
        String::from_utf8(tree.read("a.py")).expect("utf-8"),
        MODULE_CALLS
            .replace("layer.forward(x)", "layer(x)")
            .replace("unknown.forward(x)", "unknown(x)")
    );
}

#[test]
fn diff_prints_and_writes_nothing() {
    let tree = Tree::new();
    tree.write("a.py", MODULE_CALLS);
    let run = tree.run(&["check", "--diff"]);
    assert_eq!(run.status, 1);
    insta::assert_snapshot!(run.stdout, @r"
    --- a.py
    +++ a.py
    @@ -1,5 +1,5 @@
     import torch.nn as nn
     
     layer = nn.Linear(2, 2)
    -y = layer.forward(x)
    +y = layer(x)
     z = unknown.forward(x)

    Would fix 1 error (1 additional fix available with `--unsafe-fixes`).
    ");
    assert_eq!(run.stderr, "");
    assert_eq!(tree.read("a.py"), MODULE_CALLS.as_bytes());
    tree.write("b.py", "layer(x)\n");
    let clean = tree.run(&["check", "--diff", "b.py"]);
    assert_eq!((clean.status, clean.stdout.as_str()), (0, ""));
}

/// Findings whose only fixes are unsafe: `--diff` and `--fix` say why nothing changes, where
/// they used to print nothing (`--diff`) or leave the findings without a word (`--fix`).
#[test]
fn only_unsafe_fixes_are_named_by_diff_fix_and_fix_only() {
    let tree = Tree::new();
    let source = "z = unknown.forward(x)\nw = other.forward(y)\n";
    tree.write("a.py", source);
    let diff = tree.run(&["check", "--diff"]);
    assert_eq!(
        (diff.status, diff.stdout.as_str()),
        (
            0,
            "No errors would be fixed (2 fixes available with `--unsafe-fixes`).\n"
        )
    );
    let fix = tree.run(&["check", "--fix"]);
    assert_eq!(fix.status, 1);
    assert_eq!(
        fix.stdout,
        format!(
            "a.py:1:5: {NMF001}\na.py:2:5: {NMF001}\nFound 2 errors.\n\
             2 unsafe fixes available with `--fix --unsafe-fixes`.\n"
        )
    );
    let fix_only = tree.run(&["check", "--fix-only"]);
    assert_eq!(
        (fix_only.status, fix_only.stdout.as_str()),
        (
            0,
            "No errors fixed (2 fixes available with `--unsafe-fixes`).\n"
        )
    );
    assert_eq!(tree.read("a.py"), source.as_bytes());
    // Turned off on purpose, unsafe fixes are not mentioned.
    let off = tree.run(&["check", "--diff", "--no-unsafe-fixes"]);
    assert_eq!((off.status, off.stdout.as_str()), (0, ""));
    let off = tree.run(&["check", "--config", "unsafe-fixes = false"]);
    assert_eq!(
        off.stdout,
        format!("a.py:1:5: {NMF001}\na.py:2:5: {NMF001}\nFound 2 errors.\n")
    );
    // Asked for, they are applied.
    let applied = tree.run(&["check", "--diff", "--unsafe-fixes"]);
    assert_eq!(applied.status, 1);
    assert!(
        applied.stdout.ends_with("\nWould fix 2 errors.\n"),
        "{}",
        applied.stdout
    );
}

/// `--exit-non-zero-on-fix`: a run that fixed everything still fails, as CI wants.
#[test]
fn exit_non_zero_on_fix() {
    let tree = Tree::new();
    tree.write("a.py", MODULE_CALLS);
    let run = tree.run(&["check", "--fix", "--unsafe-fixes", "--exit-non-zero-on-fix"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert_eq!(run.stdout, "Found 2 errors (2 fixed, 0 remaining).\n");
    // Nothing left to fix: 0.
    let again = tree.run(&["check", "--fix", "--exit-non-zero-on-fix"]);
    assert_eq!(
        (again.status, again.stdout.as_str()),
        (0, "All checks passed!\n")
    );
    tree.write("a.py", MODULE_CALLS);
    let fix_only = tree.run(&["check", "--fix-only", "--exit-non-zero-on-fix"]);
    assert_eq!(fix_only.status, 1);
    let fix_only = tree.run(&["check", "--fix-only", "--exit-non-zero-on-fix"]);
    assert_eq!(fix_only.status, 0, "{}", fix_only.stdout);
}

#[test]
fn fix_only_and_show_fixes() {
    let tree = Tree::new();
    tree.write("a.py", MODULE_CALLS).write(
        "b.py",
        "import torch.nn as nn\nm = nn.Linear(1, 1)\nm.forward(m.forward(x))\n",
    );
    let run = tree.run(&["check", "--fix-only", "--show-fixes"]);
    assert_eq!(run.status, 0);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        "\nFixed 3 errors:\n- a.py:\n    1 × NMF001 (module-forward-call)\n- b.py:\n    2 × NMF001 (module-forward-call)\n\n\
         Fixed 3 errors (1 additional fix available with `--unsafe-fixes`).\n"
    );
    assert_eq!(
        tree.read("b.py"),
        b"import torch.nn as nn\nm = nn.Linear(1, 1)\nm(m(x))\n"
    );
}

#[test]
fn standard_input_with_fix_prints_the_fixed_source() {
    let tree = Tree::new();
    let run = tree.run_with_stdin(&["check", "--fix", "-"], MODULE_CALLS);
    assert_eq!(
        run.stdout,
        MODULE_CALLS.replace("layer.forward(x)", "layer(x)")
    );
    assert!(
        run.stderr.contains(&format!("-:5:5: {NMF001}")),
        "{}",
        run.stderr
    );
    assert_eq!(run.status, 1);
}

#[test]
fn noqa_suppressed_findings_are_not_fixed() {
    let tree = Tree::new();
    let source = "import torch.nn as nn\nm = nn.Linear(1, 1)\nm.forward(x)  # noqa: NMF001\n";
    tree.write("a.py", source);
    let run = tree.run(&["check", "--fix"]);
    assert_eq!(run.status, 0);
    assert_eq!(tree.read("a.py"), source.as_bytes());
}

#[test]
fn line_endings_bom_encoding_and_permissions_survive() {
    let tree = Tree::new();
    let header = "import torch.nn as nn\nm = nn.Linear(1, 1)\n";
    tree.write(
        "crlf.py",
        format!("{header}m.forward(x)\n").replace('\n', "\r\n"),
    )
    .write(
        "cr.py",
        format!("{header}m.forward(x)\n").replace('\n', "\r"),
    )
    .write(
        "bom.py",
        [
            b"\xef\xbb\xbf".as_slice(),
            format!("{header}m.forward(x)\n").as_bytes(),
        ]
        .concat(),
    )
    .write(
        "latin.py",
        [
            b"# -*- coding: latin-1 -*-\n".as_slice(),
            header.as_bytes(),
            b"s = '\xe9'; m.forward(x)\n",
        ]
        .concat(),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tree.join("crlf.py"), std::fs::Permissions::from_mode(0o751))
            .expect("chmod");
    }
    let run = tree.run(&["check", "--fix", "crlf.py", "cr.py", "bom.py", "latin.py"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        tree.read("crlf.py"),
        format!("{header}m(x)\n").replace('\n', "\r\n").as_bytes()
    );
    assert_eq!(
        tree.read("cr.py"),
        format!("{header}m(x)\n").replace('\n', "\r").as_bytes()
    );
    assert_eq!(
        tree.read("bom.py"),
        [
            b"\xef\xbb\xbf".as_slice(),
            format!("{header}m(x)\n").as_bytes()
        ]
        .concat()
    );
    assert_eq!(
        tree.read("latin.py"),
        [
            b"# -*- coding: latin-1 -*-\n".as_slice(),
            header.as_bytes(),
            b"s = '\xe9'; m(x)\n"
        ]
        .concat()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tree.join("crlf.py"))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o751);
    }
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tree.path())
        .expect("read")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".nmf-fix-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(unix)]
#[test]
fn fixing_through_a_symbolic_link_writes_the_target() {
    {
        let tree = Tree::new();
        tree.write(
            "real/a.py",
            "import torch.nn as nn\nm = nn.Linear(1, 1)\nm.forward(x)\n",
        );
        std::os::unix::fs::symlink(tree.join("real/a.py"), tree.join("link.py")).expect("symlink");
        let run = tree.run(&["check", "--fix", "link.py"]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        assert!(
            std::fs::symlink_metadata(tree.join("link.py"))
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            tree.read("real/a.py"),
            b"import torch.nn as nn\nm = nn.Linear(1, 1)\nm(x)\n"
        );
    }
}

#[test]
fn fix_and_unsafe_fixes_from_configuration() {
    let tree = Tree::new();
    tree.write("nmf.toml", "fix = true\nunsafe-fixes = true\n")
        .write("a.py", MODULE_CALLS);
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        !String::from_utf8(tree.read("a.py"))
            .expect("utf-8")
            .contains(".forward")
    );
    tree.write("b.py", MODULE_CALLS);
    let run = tree.run(&["check", "--no-fix", "b.py"]);
    assert_eq!(run.status, 1);
    assert_eq!(tree.read("b.py"), MODULE_CALLS.as_bytes());
}
