//! Jupyter notebooks: found in folders, findings located in their cell, IPython syntax read,
//! a broken cell isolated, fixes written back changing only the edited source strings.
//! The notebooks are `resources/test/notebooks/`, made by `scripts/make_notebook_fixtures.py`.

mod common;

use std::path::{Path, PathBuf};

use common::{NMF001, Tree};

fn notebooks() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../resources/test/notebooks"
    ))
    .to_path_buf()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(notebooks().join(name)).expect("fixture notebook")
}

/// A tree holding copies of the fixture notebooks named.
fn tree_with(names: &[&str]) -> Tree {
    let tree = Tree::new();
    for name in names {
        tree.write(name, fixture(name));
    }
    tree
}

fn run_in_fixtures(args: &[&str]) -> common::Run {
    let tree = Tree::new();
    tree.run_in(notebooks().to_str().expect("UTF-8 path"), args, None)
}

#[test]
fn findings_are_located_in_their_cell() {
    let run = run_in_fixtures(&["check", "--isolated", "."]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn full_format_frames_the_cell_and_receivers_name_it() {
    let run = run_in_fixtures(&[
        "check",
        "--isolated",
        "--output-format",
        "full",
        "--show-receivers",
        "training.ipynb",
    ]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn json_adds_the_cell() {
    let run = run_in_fixtures(&[
        "check",
        "--isolated",
        "--output-format",
        "json",
        "two_spaces.ipynb",
    ]);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let cells: Vec<_> = parsed
        .as_array()
        .expect("a list")
        .iter()
        .map(|finding| finding["cell"].clone())
        .collect();
    assert_eq!(cells, [serde_json::json!(2), serde_json::json!(2)]);
    insta::assert_snapshot!(run.stdout);
}

/// `github` and `sarif` point into the notebook file: at the line of the JSON text where the
/// flagged source line is written.
#[test]
fn github_and_sarif_point_at_the_line_of_the_notebook_file() {
    for name in ["training.ipynb", "two_spaces.ipynb"] {
        let lines: Vec<String> = String::from_utf8(fixture(name))
            .expect("UTF-8")
            .lines()
            .map(str::to_string)
            .collect();
        let run = run_in_fixtures(&["check", "--isolated", "--output-format", "github", name]);
        assert_eq!(run.status, 1, "{}", run.stderr);
        for annotation in run.stdout.lines() {
            let line: usize = annotation
                .split("line=")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .and_then(|number| number.parse().ok())
                .expect("a line");
            assert!(
                lines[line - 1].contains(".forward("),
                "{name}:{line} is `{}`, not the flagged code ({annotation})",
                lines[line - 1]
            );
        }
        let sarif = run_in_fixtures(&["check", "--isolated", "--output-format", "sarif", name]);
        let parsed: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("JSON");
        for result in parsed["runs"][0]["results"].as_array().expect("results") {
            let line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .expect("a start line");
            let line = usize::try_from(line).expect("small");
            assert!(lines[line - 1].contains(".forward("), "{name}:{line}");
            assert!(result["properties"]["cell"].is_u64(), "{result}");
        }
    }
    let run = run_in_fixtures(&[
        "check",
        "--isolated",
        "--output-format",
        "github",
        "two_spaces.ipynb",
    ]);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn a_syntax_error_in_one_cell_hides_no_finding_in_the_others() {
    let run = run_in_fixtures(&["check", "--isolated", "broken_cell.ipynb"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let findings = run.findings();
    let places: Vec<&str> = findings
        .lines()
        .map(|line| line.split(" Do not").next().unwrap_or(line))
        .map(|line| line.split(" SyntaxError").next().unwrap_or(line))
        .collect();
    assert_eq!(
        places,
        [
            "broken_cell.ipynb:cell 2:1:5: NMF001",
            "broken_cell.ipynb:cell 3:1:7: E999",
            "broken_cell.ipynb:cell 4:1:5: NMF001",
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn fixing_changes_only_the_edited_source_strings() {
    let names = ["training.ipynb", "two_spaces.ipynb", "broken_cell.ipynb"];
    let tree = tree_with(&names);
    let run = tree.run(&["check", "--isolated", "--fix", "."]);
    assert_eq!(run.status, 1, "the broken cell remains: {}", run.stderr);
    let expected = |name: &str, replacements: &[(&str, &str)]| {
        let mut text = String::from_utf8(fixture(name)).expect("UTF-8");
        for (from, to) in replacements {
            assert!(text.contains(from), "{name} has `{from}`");
            text = text.replace(from, to);
        }
        text
    };
    let fixed = |name: &str| String::from_utf8(tree.read(name)).expect("UTF-8");
    // The shell cell, the raw cell, the noqa line and `super().forward` stay.
    assert_eq!(
        fixed("training.ipynb"),
        expected(
            "training.ipynb",
            &[
                ("return self.fc.forward(x)", "return self.fc(x)"),
                ("\"y = net.forward(x)\"", "\"y = net(x)\""),
                ("\"Wrapped().forward(x)\"", "\"Wrapped()(x)\""),
            ]
        )
    );
    // Two-space layout, `\u` escapes, no final newline: kept.
    assert_eq!(
        fixed("two_spaces.ipynb"),
        expected("two_spaces.ipynb", &[("encoder.forward(", "encoder(")])
    );
    assert!(!fixed("two_spaces.ipynb").ends_with('\n'));
    assert_eq!(
        fixed("broken_cell.ipynb"),
        expected(
            "broken_cell.ipynb",
            &[
                ("a = model.forward(x)", "a = model(x)"),
                ("b = model.forward(a)", "b = model(a)"),
            ]
        )
    );
    // Fixed notebooks check clean, but for the broken cell.
    let again = tree.run(&["check", "--isolated", "."]);
    assert_eq!(again.findings().lines().count(), 1, "{}", again.stdout);
    assert!(
        again
            .stdout
            .starts_with("broken_cell.ipynb:cell 3:1:7: E999 SyntaxError"),
        "{}",
        again.stdout
    );
}

#[test]
fn diff_shows_each_changed_cell() {
    let tree = tree_with(&["training.ipynb", "two_spaces.ipynb"]);
    let run = tree.run(&["check", "--isolated", "--diff", "."]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(tree.read("training.ipynb"), fixture("training.ipynb"));
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn a_notebook_of_another_language_is_skipped_with_a_word_in_verbose() {
    let run = run_in_fixtures(&["check", "--isolated", "-v", "r_kernel.ipynb"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("r_kernel.ipynb: skipped, its kernel's language is R, not Python"),
        "{}",
        run.stderr
    );
}

#[test]
fn flake8_noqa_in_any_cell_skips_the_notebook() {
    let run = run_in_fixtures(&["check", "--isolated", "flake8_noqa.ipynb"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
}

#[test]
fn bad_notebooks_are_reported_by_name_and_left_alone() {
    let tree = Tree::new();
    let names = [
        "bom.ipynb",
        "invalid_json.ipynb",
        "lone_surrogate.ipynb",
        "nbformat3.ipynb",
        "nbformat5.ipynb",
        "no_cells.ipynb",
        "source_not_text.ipynb",
    ];
    for name in names {
        tree.write(name, fixture(&format!("bad/{name}")));
    }
    tree.write(
        "good.py",
        "import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.forward(x)\n",
    );
    let run = tree.run(&["check", "--isolated", "--fix", "."]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    for name in names {
        assert_eq!(tree.read(name), fixture(&format!("bad/{name}")), "{name}");
    }
    assert!(!run.stdout.contains("good.py"), "the good file was fixed");
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn notebooks_on_standard_input() {
    let notebook = String::from_utf8(fixture("two_spaces.ipynb")).expect("UTF-8");
    let tree = Tree::new();
    let run = tree.run_with_stdin(
        &["check", "--isolated", "--stdin-filename", "nb.ipynb"],
        &notebook,
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(
        run.findings(),
        format!("nb.ipynb:cell 2:1:5: {NMF001}\nnb.ipynb:cell 2:2:6: {NMF001}\n")
    );
    let fixed = tree.run_with_stdin(
        &[
            "check",
            "--isolated",
            "--fix",
            "--stdin-filename",
            "nb.ipynb",
        ],
        &notebook,
    );
    assert_eq!(
        fixed.stdout,
        notebook.replace("encoder.forward(", "encoder(")
    );
}

#[test]
fn folders_yield_modules_stubs_and_notebooks_as_include_says() {
    let tree = Tree::new();
    let call = "import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.forward(x)\n";
    tree.write("a.py", call)
        .write("b.pyi", call)
        .write("c.ipynb", fixture("broken_cell.ipynb"))
        .write("d.txt", call)
        .write("e.pyw", call);
    let paths = |run: &common::Run| {
        let mut paths: Vec<String> = run
            .findings()
            .lines()
            .filter_map(|line| line.split(':').next())
            .map(str::to_string)
            .collect();
        paths.dedup();
        paths
    };
    let default = tree.run(&["check", "--isolated", "."]);
    assert_eq!(paths(&default), ["a.py", "b.pyi", "c.ipynb"]);

    tree.write("pyproject.toml", "[tool.nmf]\ninclude = [\"*.py\"]\n");
    let only_modules = tree.run(&["check", "."]);
    assert_eq!(paths(&only_modules), ["a.py"], "{}", only_modules.stderr);
    // A notebook named on the command line is always checked.
    let named = tree.run(&["check", "c.ipynb"]);
    assert_eq!(paths(&named), ["c.ipynb"]);

    tree.write(
        "pyproject.toml",
        "[tool.nmf]\nextend-include = [\"*.pyw\"]\n",
    );
    let extended = tree.run(&["check", "."]);
    assert_eq!(paths(&extended), ["a.py", "b.pyi", "c.ipynb", "e.pyw"]);

    tree.write("pyproject.toml", "[tool.nmf]\ninclude = \"*.py\"\n");
    let wrong = tree.run(&["check", "."]);
    assert_eq!(wrong.status, 2);
    assert!(wrong.stderr.contains("`include`"), "{}", wrong.stderr);
}

/// Cells share one namespace, and the project's modules resolve as for a module next to the
/// notebook.
#[test]
fn cells_share_a_namespace_and_import_the_project() {
    let tree = Tree::new();
    tree.write("pyproject.toml", "")
        .write(
            "models.py",
            "import torch.nn as nn\n\n\nclass Encoder(nn.Module):\n    def forward(self, x):\n        return x\n",
        )
        .write(
            "explore.ipynb",
            serde_json::to_string_pretty(&serde_json::json!({
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
                     "source": ["from models import Encoder\n", "import torch"]},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
                     "source": ["class Meter:\n", "    def forward(self, x):\n", "        return x\n",
                                "\n", "\n", "encoder = Encoder()\n", "stats = Meter()"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["Run it"]},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
                     "source": ["encoder.forward(x)\n", "stats.forward(x)"]},
                ],
            }))
            .expect("JSON"),
        );
    let run = tree.run(&["check", "--show-receivers", "explore.ipynb"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("explore.ipynb:cell 4:1:1: receiver `encoder`: `models.Encoder`"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("NMF001 Do not").count(),
        1,
        "{}",
        run.stdout
    );
}

#[test]
fn statements_run_by_time_magics_are_checked_and_fixed_in_place() {
    let tree = Tree::new();
    let cell = |source: &str| {
        serde_json::json!({"cell_type": "code", "execution_count": null, "metadata": {},
                           "outputs": [], "source": source})
    };
    let notebook = serde_json::json!({
        "cells": [
            cell("import torch\nmodel = torch.nn.Linear(2, 2)\nx = torch.ones(2)"),
            cell("%time y = model.forward(x)\n%timeit -n 10 -r 3 model.forward(x)"),
            cell("%prun -s cumulative model.forward(x)  # noqa: NMF001\n%matplotlib inline"),
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    });
    let text = serde_json::to_string_pretty(&notebook).expect("JSON") + "\n";
    tree.write("timed.ipynb", text.clone());
    let run = tree.run(&["check", "--isolated", "timed.ipynb"]);
    assert_eq!(
        run.findings(),
        format!("timed.ipynb:cell 2:1:11: {NMF001}\ntimed.ipynb:cell 2:2:20: {NMF001}\n"),
        "{}",
        run.stderr
    );
    // The fix edits the statement; the magic and its options stay.
    let fixed = tree.run(&["check", "--isolated", "--fix", "timed.ipynb"]);
    assert_eq!(fixed.status, 0, "{}{}", fixed.stdout, fixed.stderr);
    let expected = text
        .replace("%time y = model.forward(x)", "%time y = model(x)")
        .replace("-r 3 model.forward(x)", "-r 3 model(x)");
    assert_eq!(
        String::from_utf8(tree.read("timed.ipynb")).expect("UTF-8"),
        expected
    );
}

/// IPython runs `pip install torch` (no `%`) as the magic `%pip` (automagic): the line is a
/// magic, not a syntax error hiding the rest of its cell; `time …` runs its statement, which
/// is checked and fixed in place like `%time …`.
#[test]
fn automagics_are_line_magics_and_the_rest_of_their_cell_is_checked() {
    let tree = Tree::new();
    let cell = |source: &str| {
        serde_json::json!({"cell_type": "code", "execution_count": null, "metadata": {},
                           "outputs": [], "source": source})
    };
    let notebook = serde_json::json!({
        "cells": [
            cell("pip install torch\nimport torch\nmodel = torch.nn.Linear(2, 2)\nmodel.forward(x)"),
            cell("cd ..\ntime y = model.forward(x)\nls -la\nfor p in ['a']:\n    conda install -y p"),
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    });
    let text = serde_json::to_string_pretty(&notebook).expect("JSON") + "\n";
    tree.write("setup.ipynb", text.clone());
    let run = tree.run(&["check", "--isolated", "--no-prefilter", "setup.ipynb"]);
    assert_eq!(
        run.findings(),
        format!("setup.ipynb:cell 1:4:1: {NMF001}\nsetup.ipynb:cell 2:2:10: {NMF001}\n"),
        "{}",
        run.stderr
    );
    let fixed = tree.run(&["check", "--isolated", "--fix", "setup.ipynb"]);
    assert_eq!(fixed.status, 0, "{}{}", fixed.stdout, fixed.stderr);
    assert_eq!(
        String::from_utf8(tree.read("setup.ipynb")).expect("UTF-8"),
        text.replace("model.forward(x)", "model(x)")
    );
}
