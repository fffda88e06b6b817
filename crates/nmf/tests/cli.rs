//! The flags and commands a ruff user types by habit, each run on the built binary: `-o`,
//! `--silent`, `--ignore-noqa`, `--respect-gitignore`, `--config KEY=VALUE`, `--show-files`,
//! `--show-settings`, `--watch`, `nmf version`, `nmf config`, `nmf generate-shell-completion`.

mod common;

use std::io::BufRead;

use common::{NMF001, Tree};

const FIXABLE: &str = "import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m.forward(x)\n";

#[test]
fn output_file_gets_the_findings_and_the_summary_never_coloured() {
    let tree = Tree::new();
    tree.write("a.py", FIXABLE);
    let run = tree.run(&[
        "check",
        "--color",
        "always",
        "-o",
        "reports/nmf.txt",
        "a.py",
    ]);
    assert_eq!(run.status, 1);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(
        String::from_utf8(tree.read("reports/nmf.txt")).expect("UTF-8"),
        format!("a.py:3:5: {NMF001}\nFound 1 error.\n[*] 1 fixable with `--fix`.\n")
    );
    // Machine-readable formats stay clean in the file too.
    let run = tree.run(&[
        "check",
        "--output-format",
        "sarif",
        "--output-file",
        "nmf.sarif",
    ]);
    assert_eq!(run.status, 1);
    let sarif: serde_json::Value =
        serde_json::from_slice(&tree.read("nmf.sarif")).expect("the file holds SARIF only");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "NMF001");
    // A file that cannot be created is an error, said before `--fix` writes anything.
    tree.write("taken", "");
    let run = tree.run(&["check", "--fix", "-o", "taken/nmf.txt", "a.py"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .starts_with("nmf: error: --output-file taken/nmf.txt: "),
        "{}",
        run.stderr
    );
    assert_eq!(tree.read("a.py"), FIXABLE.as_bytes());
}

#[test]
fn silent_prints_nothing_but_the_status_says_it_all() {
    let tree = Tree::new();
    tree.write("a.py", FIXABLE)
        .write("nmf.toml", "extra-paths = [\"nowhere\"]\n");
    let run = tree.run(&["check", "--silent", "a.py"]);
    assert_eq!(
        (run.status, run.stdout.as_str(), run.stderr.as_str()),
        (1, "", "")
    );
    let run = tree.run(&["check", "-s", "--fix", "a.py"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""));
    assert_eq!(
        String::from_utf8(tree.read("a.py")).expect("UTF-8"),
        FIXABLE.replace("m.forward(x)", "m(x)")
    );
    // Usage errors are still said.
    let run = tree.run(&["check", "-s", "--select", "NMF999", "a.py"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("NMF999"), "{}", run.stderr);
}

#[test]
fn ignore_noqa_reports_what_noqa_comments_hide() {
    let tree = Tree::new();
    tree.write("a.py", "m.forward(1)  # noqa: NMF001\n")
        .write("b.py", "# flake8: noqa\nm.forward(2)\n");
    let run = tree.run(&["check", "-q"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""));
    let run = tree.run(&["check", "--ignore-noqa"]);
    assert_eq!(run.locations(), ["a.py:1:1: NMF001", "b.py:2:1: NMF001"]);
    // The cache keeps the two apart.
    let run = tree.run(&["check", "-q"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""));
}

#[test]
fn respect_gitignore_can_be_turned_off_and_on_again() {
    let tree = Tree::new();
    tree.write(".gitignore", "generated/\n")
        .write("generated/g.py", "m.forward(x)\n")
        .write("nmf.toml", "respect-gitignore = false\n");
    assert_eq!(
        tree.run(&["check"]).locations(),
        ["generated/g.py:1:1: NMF001"]
    );
    let run = tree.run(&["check", "--respect-gitignore"]);
    assert_eq!(
        (run.status, run.stdout.as_str()),
        (0, "All checks passed!\n")
    );
    tree.write("nmf.toml", "");
    assert_eq!(
        tree.run(&["check", "--no-respect-gitignore"]).locations(),
        ["generated/g.py:1:1: NMF001"]
    );
}

#[test]
fn config_pairs_override_every_file_and_flags_override_pairs() {
    let tree = Tree::new();
    tree.write("nmf.toml", "select = [\"NMF002\"]\n")
        .write(
            "sub/nmf.toml",
            "select = [\"NMF002\"]\nextend-exclude = [\"skip.py\"]\n",
        )
        .write("a.py", "m.forward(x)\n")
        .write("sub/b.py", "m.forward(x)\n")
        .write("sub/skip.py", "m.forward(x)\n");
    assert_eq!(tree.run(&["check", "-q"]).stdout, "");
    let run = tree.run(&["check", "--config", "select = [\"NMF001\"]"]);
    assert_eq!(
        run.locations(),
        ["a.py:1:1: NMF001", "sub/b.py:1:1: NMF001"]
    );
    // `extend-*` keys add to the file's; globs are relative to the working folder.
    let run = tree.run(&[
        "check",
        "--config",
        "select = ['NMF001']",
        "--config",
        "extend-exclude = ['a.py']",
    ]);
    assert_eq!(run.locations(), ["sub/b.py:1:1: NMF001"]);
    // A flag wins over a pair.
    let run = tree.run(&[
        "check",
        "--config",
        "select = ['NMF001']",
        "--select",
        "NMF002",
    ]);
    assert_eq!(
        (run.status, run.stdout.as_str()),
        (0, "All checks passed!\n")
    );
    // With a configuration file named.
    tree.write("other.toml", "select = [\"NMF002\"]\n");
    let run = tree.run(&[
        "check",
        "--config",
        "other.toml",
        "--config",
        "select = ['NMF001']",
    ]);
    // One file for everything: `sub/nmf.toml`, which excluded `skip.py`, is not read.
    assert_eq!(
        run.locations(),
        [
            "a.py:1:1: NMF001",
            "sub/b.py:1:1: NMF001",
            "sub/skip.py:1:1: NMF001"
        ]
    );
}

#[test]
fn config_pairs_are_checked_as_the_file_is() {
    let tree = Tree::new();
    tree.write("a.py", "m.forward(x)\n").write("other.toml", "");
    for (pair, expected) in [
        (
            "select = 'NMF001'",
            "key `select` (line 1): expected an array, found string \"NMF001\"",
        ),
        (
            "select = ['F401']",
            "key `select` (line 1): unknown rule selector `F401`",
        ),
        ("selekt = []", "unknown field `selekt`"),
        ("select = [NMF001]", "invalid TOML (line 1)"),
    ] {
        let run = tree.run(&["check", "--config", pair]);
        assert_eq!(run.status, 2, "{pair}");
        assert!(
            run.stderr.starts_with(&format!(
                "error: invalid value '{pair}' for '--config <PATH | KEY=VALUE>': "
            )),
            "{pair}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(expected), "{pair}: {}", run.stderr);
        assert!(
            run.stderr.contains("tip: a `--config` value is"),
            "{}",
            run.stderr
        );
    }
    let twice = tree.run(&["check", "--config", "fix = true", "--config", "fix = false"]);
    assert_eq!(twice.status, 2);
    assert!(
        twice.stderr.contains("`--config`: ") && twice.stderr.contains("duplicate key"),
        "{}",
        twice.stderr
    );
    let two_files = tree.run(&["check", "--config", "other.toml", "--config", "other.toml"]);
    assert_eq!(
        (two_files.status, two_files.stderr.as_str()),
        (
            2,
            "nmf: error: `--config` names at most one configuration file\n"
        )
    );
    let isolated = tree.run(&["check", "--isolated", "--config", "other.toml"]);
    assert_eq!(isolated.status, 2);
    // `--isolated` with pairs: the pairs apply, the files do not.
    tree.write("nmf.toml", "select = [\"NMF002\"]\n");
    let run = tree.run(&["check", "--isolated", "--config", "ignore = ['NMF002']"]);
    assert_eq!(run.locations(), ["a.py:1:1: NMF001"]);
}

#[test]
fn an_unknown_selector_in_a_file_names_its_line() {
    let tree = Tree::new();
    tree.write("a.py", "m.forward(x)\n").write(
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.nmf]\nselect = [\"NMF\"]\nper-file-ignores = { \"t/*\" = [\"NMF01X\"] }\n",
    );
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains(
            "pyproject.toml: `[tool.nmf]`, key `per-file-ignores` (line 6): unknown rule selector `NMF01X`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn extra_paths_that_do_not_exist_are_warned_once() {
    let tree = Tree::new();
    tree.write("a.py", "x = 1\n")
        .write("sub/b.py", "x = 1\n")
        .write("nmf.toml", "extra-paths = [\"vendor\", \"typo\"]\n")
        .write("vendor/lib.py", "x = 1\n");
    let run = tree.run(&["check", "a.py", "sub/b.py"]);
    assert_eq!(run.status, 0);
    let config = tree.join("nmf.toml");
    assert_eq!(
        run.stderr,
        format!(
            "nmf: warning: {}: `extra-paths`: `typo` is not a folder ({} does not exist); imports are not looked for there\n",
            config.display(),
            tree.join("typo").display()
        )
    );
}

#[test]
fn show_files_lists_what_a_check_would_read() {
    let tree = Tree::new();
    tree.write("a.py", "x = 1\n")
        .write("nb.ipynb", "{}")
        .write("notes.txt", "x\n")
        .write(".gitignore", "ignored.py\n")
        .write("ignored.py", "x = 1\n")
        .write("sub/b.pyi", "x = 1\n");
    let run = tree.run(&["check", "--show-files", ".", "missing.py"]);
    assert_eq!(run.status, 0);
    let root = tree.path().canonicalize().expect("canonical");
    let expected: String = ["a.py", "nb.ipynb", "sub/b.pyi"]
        .iter()
        .map(|name| format!("{}\n", root.join(name).display()))
        .collect();
    let printed = run.stdout.replace(
        &tree.path().display().to_string(),
        &root.display().to_string(),
    );
    assert_eq!(printed, expected);
    assert!(run.stderr.contains("missing.py"), "{}", run.stderr);
}

#[test]
fn show_settings_says_which_configuration_applies_to_each_path() {
    let tree = Tree::new();
    // Rules named, so that the snapshot does not change with each new rule.
    tree.write(
        "pyproject.toml",
        "[tool.nmf]\nselect = [\"NMF001\", \"NMF002\"]\nignore = [\"NMF002\"]\n",
    )
    .write(
        "sub/nmf.toml",
        "select = [\"NMF001\"]\nper-file-ignores = { \"tests/*\" = [\"NMF001\"] }\n",
    )
    .write("a.py", "x = 1\n")
    .write("sub/tests/t.py", "x = 1\n");
    let run = tree.run(&["check", "--show-settings", "a.py", "sub/tests/t.py", "sub"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let root = tree.path().display().to_string();
    let text = run.stdout.replace(&root, "[TREE]");
    assert!(
        text.starts_with(
            "Resolved settings for: \"[TREE]/a.py\"\nSettings path: \"[TREE]/pyproject.toml\"\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Resolved settings for: \"[TREE]/sub/tests/t.py\"\nSettings path: \"[TREE]/sub/nmf.toml\"\n"
        ),
        "{text}"
    );
    let blocks: Vec<&str> = text.split("\n\nResolved settings for: ").collect();
    assert_eq!(blocks.len(), 3, "{text}");
    // The file in `tests/` has NMF001 ignored; its folder's settings enable it.
    assert!(
        blocks[1].contains("linter.rules.enabled = []\n"),
        "{}",
        blocks[1]
    );
    assert!(
        blocks[2].contains("linter.rules.enabled = [\n\tmodule-forward-call (NMF001),\n]\n"),
        "{}",
        blocks[2]
    );
    insta::assert_snapshot!(blocks[0]);
    // Without a configuration, the defaults, and it says so.
    let bare = Tree::new();
    let run = bare.run(&["check", "--show-settings", "--isolated"]);
    assert!(
        run.stdout
            .contains("Settings path: none (no configuration file applies: the defaults)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn verbose_counts_files_in_good_grammar() {
    let tree = Tree::new();
    tree.write("a.py", "x = 1\n");
    let run = tree.run(&["check", "-v", "--no-cache"]);
    assert!(
        run.stderr.starts_with("nmf: checked 1 file ("),
        "{}",
        run.stderr
    );
    tree.write("b.py", "x = 1\n");
    let run = tree.run(&["check", "-v", "--no-cache"]);
    assert!(
        run.stderr.starts_with("nmf: checked 2 files ("),
        "{}",
        run.stderr
    );
}

#[test]
fn version_and_config_commands() {
    let tree = Tree::new();
    let version = tree.run(&["version"]);
    assert_eq!(
        version.stdout,
        format!("nmf {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(version.stdout, tree.run(&["--version"]).stdout);
    let json = tree.run(&["version", "--output-format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(parsed["version"], env!("CARGO_PKG_VERSION"));

    let keys = tree.run(&["config"]);
    assert_eq!(keys.status, 0);
    let keys: Vec<&str> = keys.stdout.lines().collect();
    assert_eq!(keys.len(), nmf_driver::settings::options_doc::OPTIONS.len());
    assert!(keys.contains(&"per-file-ignores"), "{keys:?}");
    let select = tree.run(&["config", "known-modules-only"]);
    insta::assert_snapshot!(select.stdout, @r"
    Report `.forward()` calls only on receivers known to be `nn.Module`s, not on those nmf cannot type.

    Default value: false
    Type: bool
    Example usage:
    ```toml
    known-modules-only = true
    ```
    ");
    let unknown = tree.run(&["config", "selekt"]);
    assert_eq!(unknown.status, 2);
    assert!(unknown.stderr.contains("'select'"), "{}", unknown.stderr);
    let all = tree.run(&["config", "--output-format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&all.stdout).expect("JSON");
    assert_eq!(parsed["fix"]["default"], "false");
}

#[test]
fn shell_completion_scripts_know_the_commands_and_flags() {
    let tree = Tree::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = tree.run(&["generate-shell-completion", shell]);
        assert_eq!(run.status, 0, "{shell}: {}", run.stderr);
        // fish writes `-l output-format`.
        for word in [
            "check",
            "output-format",
            "show-settings",
            "generate-shell-completion",
        ] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    assert!(
        tree.run(&["generate-shell-completion", "bash"])
            .stdout
            .contains("complete -F _nmf")
    );
    assert_eq!(tree.run(&["generate-shell-completion", "tcsh"]).status, 2);
}

/// `nmf check --watch` running in a tree, its stdout read line by line on a thread; the child
/// is killed when this is dropped, also when an assertion fails.
struct WatchMode {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl WatchMode {
    fn start(tree: &Tree, paths: &[&str]) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nmf"))
            .args(["check", "--watch", "--no-cache"])
            .args(paths)
            .current_dir(tree.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nmf runs");
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Reads lines until one satisfies `done`, failing after a while.
    fn read_until(&self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let finished = done(&line);
                    seen.push(line);
                    if finished {
                        return seen;
                    }
                }
                Err(_) => panic!("watch mode printed no such line; it printed {seen:?}"),
            }
        }
    }
}

impl Drop for WatchMode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_checks_again_when_a_file_changes() {
    let tree = Tree::new();
    tree.write("a.py", "x = 1\n");
    let watch = WatchMode::start(&tree, &[]);
    let first = watch.read_until(|line| line.ends_with("Watching for file changes."));
    assert_eq!(
        first,
        [
            "Starting linter in watch mode...",
            "Found 0 errors. Watching for file changes."
        ]
    );
    tree.write("a.py", "m.forward(x)\n");
    let second = watch.read_until(|line| line.starts_with("a.py:"));
    // Not a terminal: no screen is cleared, the checks follow one another.
    assert_eq!(
        second,
        [
            "File change detected...",
            "Found 1 error. Watching for file changes.",
            "",
            &format!("a.py:1:1: {NMF001}"),
        ]
    );
    // A file that is not Python changes nothing.
    tree.write("notes.txt", "x\n");
    tree.write("b.py", "x = 1\n");
    let third = watch.read_until(|line| line.starts_with("a.py:"));
    assert_eq!(third[0], "File change detected...");
}

/// A file named on the command line is still watched after an editor replaced it (saved by
/// writing a new file and renaming it over the old one).
#[test]
fn watch_follows_a_named_file_replaced_by_a_rename() {
    let tree = Tree::new();
    tree.write("a.py", "x = 1\n");
    let watch = WatchMode::start(&tree, &["a.py"]);
    watch.read_until(|line| line.ends_with("Watching for file changes."));
    for round in 1..=2 {
        tree.write("a.py.new", format!("m.forward({round})\n"));
        std::fs::rename(tree.join("a.py.new"), tree.join("a.py")).expect("rename");
        let seen = watch.read_until(|line| line.starts_with("a.py:"));
        assert_eq!(
            seen.last().map(String::as_str),
            Some(&*format!("a.py:1:1: {NMF001}"))
        );
        tree.write("a.py.new", "x = 1\n");
        std::fs::rename(tree.join("a.py.new"), tree.join("a.py")).expect("rename");
        watch.read_until(|line| line == "Found 0 errors. Watching for file changes.");
    }
}

/// `--add-noqa`: one directive per line run where flake8 reads it, an existing one extended
/// whatever its case, written as `--fix` writes (line endings kept), a second run adds nothing,
/// and a finding no directive can silence is named with the reason.
#[test]
fn add_noqa_silences_every_finding_where_flake8_reads_it() {
    let tree = Tree::new();
    let source = "import torch.nn as nn\nm = nn.Linear(1, 1)\nm.forward(1)\n\
                  m.forward(2)  # NOQA:E501\nx = m.forward(3) + \\\n    m.forward(4)\n\
                  s = \"\"\"\nm.forward(5)\n\"\"\" + str(m.forward(6))\n\
                  f(m.forward(7),\n  m.forward(8))\nm.forward(9)  # noqa: NMF001\n\
                  y = \"# noqa:E501\" + str(m.forward(10))\nm.forward(11)  # type: ignore\n";
    tree.write("a.py", source)
        .write("crlf.py", "m.forward(1)\r\nm.forward(2)\r\n")
        .write("clean.py", "x = 1\n");
    let run = tree.run(&["check", "--isolated", "--add-noqa"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "nmf: warning: a.py:13:25: NMF001 not silenced: the line's first `# noqa` is inside a \
         string, where it cannot be extended\nAdded 9 noqa directives.\n"
    );
    assert_eq!(
        String::from_utf8(tree.read("a.py")).expect("UTF-8"),
        "import torch.nn as nn\nm = nn.Linear(1, 1)\nm.forward(1)  # noqa: NMF001\n\
         m.forward(2)  # NOQA:E501, NMF001\nx = m.forward(3) + \\\n    m.forward(4)  # noqa: NMF001\n\
         s = \"\"\"\nm.forward(5)\n\"\"\" + str(m.forward(6))  # noqa: NMF001\n\
         f(m.forward(7),  # noqa: NMF001\n  m.forward(8))  # noqa: NMF001\nm.forward(9)  # noqa: NMF001\n\
         y = \"# noqa:E501\" + str(m.forward(10))\nm.forward(11)  # type: ignore  # noqa: NMF001\n"
    );
    assert_eq!(
        tree.read("crlf.py"),
        b"m.forward(1)  # noqa: NMF001\r\nm.forward(2)  # noqa: NMF001\r\n"
    );
    assert_eq!(tree.read("clean.py"), b"x = 1\n");
    // Only the finding that could not be silenced is left, and a second run adds nothing.
    let after = tree.run(&["check", "--isolated"]);
    assert_eq!(after.locations(), ["a.py:13:25: NMF001"]);
    let again = tree.run(&["check", "--isolated", "--add-noqa"]);
    assert_eq!(again.status, 0);
    assert!(!again.stderr.contains("Added"), "{}", again.stderr);
    // Not with fixes, and not on standard input.
    assert_eq!(tree.run(&["check", "--add-noqa", "--fix"]).status, 2);
    let stdin = tree.run_with_stdin(&["check", "--add-noqa", "-"], "m.forward(1)\n");
    assert_eq!(stdin.status, 2);
    assert!(
        stdin.stderr.contains("cannot read standard input"),
        "{}",
        stdin.stderr
    );
}

/// In a notebook, directives go into the cells' `source` strings, written as fixes are: every
/// other byte of the file stays.
#[test]
fn add_noqa_in_notebooks_edits_only_the_source_strings() {
    let tree = Tree::new();
    let notebook = "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"execution_count\": null,\n   \"metadata\": {},\n   \"outputs\": [],\n   \"source\": [\n    \"pip install torch\\n\",\n    \"m.forward(1)\\n\",\n    \"m.forward(2)  # noqa: E501\"\n   ]\n  },\n  {\n   \"cell_type\": \"code\",\n   \"execution_count\": null,\n   \"metadata\": {},\n   \"outputs\": [],\n   \"source\": \"%time m.forward(3)\"\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}";
    tree.write("nb.ipynb", notebook);
    let run = tree.run(&["check", "--isolated", "--add-noqa"]);
    assert_eq!(
        (run.status, run.stderr.as_str()),
        (0, "Added 3 noqa directives.\n")
    );
    assert_eq!(
        String::from_utf8(tree.read("nb.ipynb")).expect("UTF-8"),
        notebook
            .replace("m.forward(1)\\n", "m.forward(1)  # noqa: NMF001\\n")
            .replace("# noqa: E501\"", "# noqa: E501, NMF001\"")
            .replace(
                "%time m.forward(3)\"",
                "%time m.forward(3)  # noqa: NMF001\""
            )
    );
    let after = tree.run(&["check", "--isolated", "-q"]);
    assert_eq!((after.status, after.stdout.as_str()), (0, ""));
}
