//! Configuration discovery, precedence, flags and errors, through the built binary.

mod common;

use common::Tree;

const AUTOGRAD: &str = "import torch\n\nclass Exp(torch.autograd.Function):\n    pass\n\nExp.forward(ctx, x)\nmodel.forward(x)\n";

#[test]
fn pyproject_tool_nmf_applies_to_files_below_it() {
    let tree = Tree::new();
    tree.write(
        "pyproject.toml",
        "[project]\nname = \"demo\"\n\n[tool.nmf]\nselect = [\"NMF002\"]\n",
    )
    .write("src/train.py", AUTOGRAD);
    let run = tree.run(&["check"]);
    assert_eq!(run.locations(), ["src/train.py:6:1: NMF002"]);
    // Run from a sub-folder: the configuration is found upwards.
    let run = tree.run_in("src", &["check", "train.py"], None);
    assert_eq!(run.locations(), ["train.py:6:1: NMF002"]);
}

#[test]
fn the_closest_configuration_wins_and_they_do_not_merge() {
    let tree = Tree::new();
    tree.write("nmf.toml", "select = [\"NMF002\"]\n")
        .write("a.py", AUTOGRAD)
        .write("sub/nmf.toml", "ignore = [\"NMF002\"]\n")
        .write("sub/b.py", AUTOGRAD)
        // A pyproject.toml without [tool.nmf] is not a configuration: keep looking upwards.
        .write("other/pyproject.toml", "[tool.black]\nline-length = 100\n")
        .write("other/c.py", AUTOGRAD);
    let run = tree.run(&["check"]);
    assert_eq!(
        run.locations(),
        [
            "a.py:6:1: NMF002",
            "other/c.py:6:1: NMF002",
            "sub/b.py:7:1: NMF001"
        ]
    );
}

#[test]
fn dot_nmf_toml_is_preferred_over_nmf_toml_and_pyproject() {
    let tree = Tree::new();
    tree.write(".nmf.toml", "select = [\"NMF001\"]\n")
        .write("nmf.toml", "select = [\"NMF002\"]\n")
        .write("pyproject.toml", "[tool.nmf]\nselect = [\"NMF002\"]\n")
        .write("a.py", AUTOGRAD);
    assert_eq!(tree.run(&["check"]).locations(), ["a.py:7:1: NMF001"]);
}

#[test]
fn config_flag_and_isolated() {
    let tree = Tree::new();
    tree.write("nmf.toml", "select = [\"NMF002\"]\n")
        .write("alt.toml", "ignore = [\"NMF002\"]\n")
        .write("sub/nmf.toml", "select = [\"NMF002\"]\n")
        .write("sub/a.py", AUTOGRAD);
    assert_eq!(
        tree.run(&["check", "--config", "alt.toml"]).locations(),
        ["sub/a.py:7:1: NMF001"]
    );
    assert_eq!(
        tree.run(&["check", "--isolated"]).locations(),
        ["sub/a.py:6:1: NMF002", "sub/a.py:7:1: NMF001"]
    );
}

#[test]
fn flags_override_configuration() {
    let tree = Tree::new();
    tree.write("nmf.toml", "select = [\"NMF002\"]\n")
        .write("a.py", AUTOGRAD);
    assert_eq!(
        tree.run(&["check", "--select", "NMF001"]).locations(),
        ["a.py:7:1: NMF001"]
    );
    assert_eq!(
        tree.run(&["check", "--extend-select", "NMF001", "--ignore", "NMF002"])
            .locations(),
        ["a.py:7:1: NMF001"]
    );
}

#[test]
fn exclude_and_per_file_ignores_are_relative_to_the_configuration() {
    let tree = Tree::new();
    tree.write(
        "proj/pyproject.toml",
        "[tool.nmf]\nextend-exclude = [\"generated\"]\n\n[tool.nmf.per-file-ignores]\n\"tests/*.py\" = [\"NMF001\"]\n\"conftest.py\" = [\"NMF\"]\n",
    )
    .write("proj/generated/g.py", "model.forward(x)\n")
    .write("proj/tests/test_a.py", AUTOGRAD)
    .write("proj/tests/conftest.py", AUTOGRAD)
    .write("proj/src/a.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(
        run.locations(),
        [
            "proj/src/a.py:1:1: NMF001",
            "proj/tests/test_a.py:6:1: NMF002"
        ]
    );
    let run = tree.run(&["check", "--per-file-ignores", "proj/src/*.py:NMF001"]);
    assert_eq!(run.locations(), ["proj/tests/test_a.py:6:1: NMF002"]);
}

#[test]
fn output_format_from_configuration() {
    let tree = Tree::new();
    tree.write("nmf.toml", "output-format = \"github\"\n")
        .write("a.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert!(
        run.stdout
            .starts_with("::error title=nmf (NMF001),file=a.py,line=1,col=1,"),
        "{}",
        run.stdout
    );
}

#[test]
fn unknown_keys_and_codes_are_errors_naming_them() {
    let tree = Tree::new();
    tree.write(
        "pyproject.toml",
        "[tool.nmf]\nselect = [\"NMF001\"]\nextend-ignore = [\"NMF002\"]\n",
    )
    .write("a.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("pyproject.toml"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown field `extend-ignore`"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    let tree = Tree::new();
    tree.write("nmf.toml", "ignore = [\"NMF00\", \"F401\"]\n")
        .write("a.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("nmf.toml: key `ignore` (line 1): unknown rule selector `F401`"),
        "{}",
        run.stderr
    );

    let tree = Tree::new();
    tree.write("nmf.toml", "select = \"NMF001\"\n")
        .write("a.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains(
            "nmf.toml: key `select` (line 1): expected an array, found string \"NMF001\""
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_wrong_type_names_the_file_table_key_line_and_expected_type() {
    let tree = Tree::new();
    tree.write(
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.nmf]\nfix = false\nknown-modules-only = \"yes\"\n",
    )
    .write("a.py", "x = 1\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 2);
    assert_eq!(
        run.stderr,
        format!(
            "nmf: error: {}: `[tool.nmf]`, key `known-modules-only` (line 6): expected a boolean, found string \"yes\"\n",
            tree.join("pyproject.toml").display()
        )
    );
    let tree = Tree::new();
    tree.write("nmf.toml", "[per-file-ignores]\n\"tests/*\" = \"NMF001\"\n")
        .write("a.py", "x = 1\n");
    let run = tree.run(&["check"]);
    assert!(
        run.stderr
            .contains("key `per-file-ignores.tests/*` (line 2): expected an array, found string"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_configuration_error_below_the_working_folder_is_found_while_walking() {
    let tree = Tree::new();
    tree.write("a.py", "model.forward(x)\n")
        .write("sub/nmf.toml", "selekt = []\n")
        .write("sub/b.py", "model.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("unknown field `selekt`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_flag_without_a_table_is_an_error() {
    let tree = Tree::new();
    tree.write("pyproject.toml", "[project]\nname = \"x\"\n")
        .write("a.py", "x = 1\n");
    let run = tree.run(&["check", "--config", "pyproject.toml"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("has no `[tool.nmf]` table"),
        "{}",
        run.stderr
    );
    let run = tree.run(&["check", "--config", "missing.toml"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("invalid value 'missing.toml' for '--config <PATH | KEY=VALUE>': no such configuration file"),
        "{}",
        run.stderr
    );
}

/// `extra-paths` and `python` let nmf follow imports into installed packages; off, a class
/// from outside the project stays unknown.
#[cfg(unix)]
#[test]
fn imports_are_followed_into_extra_paths_and_an_interpreters_site_packages() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new();
    let site = tree.join("venv/lib/python3.11/site-packages");
    tree.write(
        "venv/lib/python3.11/site-packages/vendorlib/__init__.py",
        "class Base:\n    def forward(self, x):\n        return x\n",
    )
    .write(
        "app.py",
        "from vendorlib import Base\n\n\nclass Mine(Base):\n    def go(self, x):\n        return self.forward(x)\n",
    );
    let unknown = tree.run(&["check", "--show-receivers", "app.py"]);
    assert!(
        unknown
            .stdout
            .contains("of unknown type: reported as NMF001"),
        "{}",
        unknown.stdout
    );
    tree.write(
        "nmf.toml",
        "extra-paths = [\"venv/lib/python3.11/site-packages\"]\n",
    );
    let followed = tree.run(&["check", "--show-receivers", "app.py"]);
    assert!(
        followed
            .stdout
            .starts_with("app.py:6:16: receiver `self`: `app.Mine`, not an nn.Module"),
        "{}",
        followed.stdout
    );
    assert_eq!(followed.status, 0);
    // An interpreter says where its packages are.
    tree.write(
        "fake-python",
        format!(
            "#!/bin/sh\necho '[\"\", \"/usr/lib/python3.11\", \"{}\"]'\n",
            site.display()
        ),
    );
    std::fs::set_permissions(
        tree.join("fake-python"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    tree.write("nmf.toml", "python = \"fake-python\"\n");
    let through_python = tree.run(&["check", "app.py"]);
    assert_eq!(
        (through_python.status, through_python.findings().as_str()),
        (0, "")
    );
    // `active` needs an active virtual environment.
    tree.write("nmf.toml", "python = \"active\"\n");
    let inactive = Tree::run_in_env(&tree, &["check", "app.py"], &[("VIRTUAL_ENV", None)]);
    assert_eq!(inactive.status, 2);
    assert!(
        inactive
            .stderr
            .contains("nmf.toml: `python`: \"active\": no virtual environment is active"),
        "{}",
        inactive.stderr
    );
}
