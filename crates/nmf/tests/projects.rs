//! Multi-file projects under `resources/test/projects/`: what is reported across files, and
//! what nmf concluded about every receiver (`--show-receivers`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn projects() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../resources/test/projects"
    ))
    .to_path_buf()
}

fn nmf_in(folder: &Path, args: &[&str]) -> String {
    // The cache goes to a temporary folder, not into the repository.
    let cache = tempfile::tempdir().expect("a temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(args)
        .env("NMF_CACHE_DIR", cache.path())
        .current_dir(folder)
        .output()
        .expect("nmf runs");
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "{output:?}"
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn receivers_project_full_output_and_receivers() {
    let folder = projects().join("receivers");
    let output = nmf_in(
        &folder,
        &[
            "check",
            "--isolated",
            "--output-format",
            "full",
            "--show-receivers",
            ".",
        ],
    );
    insta::assert_snapshot!(output);
}

#[test]
fn receivers_project_known_modules_only() {
    let folder = projects().join("receivers");
    let output = nmf_in(
        &folder,
        &["check", "--isolated", "--known-modules-only", "."],
    );
    insta::assert_snapshot!(output);
}

#[test]
fn each_project_gives_the_same_findings_from_any_working_folder() {
    for entry in std::fs::read_dir(projects()).expect("projects") {
        let folder = entry.expect("entry").path();
        let name = folder
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let inside = nmf_in(&folder, &["check", "--isolated", "-q", "."]);
        let outside = nmf_in(&projects(), &["check", "--isolated", "-q", &name]);
        let prefixed: String = inside
            .lines()
            .map(|line| format!("{name}/{line}\n"))
            .collect();
        assert_eq!(outside, prefixed, "{name}");
    }
}

/// Receivers, round two, across files: a mixin whose subclass in another file is a module, a
/// subclass found through a renaming import, a function installed as a forward by another
/// file, a package configured in `not-module-packages`, a lazy package.
#[test]
fn round_two_project_receivers_across_files() {
    let folder = projects().join("round_two");
    let output = nmf_in(&folder, &["check", "--show-receivers", "."]);
    insta::assert_snapshot!(output);
}

/// Wrap states across files: helpers of another file of the project that return the module
/// inside a wrapper (`get_model_or_module`, a list comprehension over `x.module if ... else x`)
/// make their callers' training calls NMF005 findings.
#[test]
fn wrappers_project_inner_modules_from_other_files() {
    let folder = projects().join("wrappers");
    let output = nmf_in(
        &folder,
        &["check", "--isolated", "--output-format", "full", "."],
    );
    insta::assert_snapshot!(output);
}

/// Helpers whose model comes from callers in other files: a module-level function of a file that
/// mentions a wrapper is reported where another file that imports it passes the module inside a
/// wrapper and trains after the call (directly, or through a caller in the helper's file), with
/// the look-alikes: callers that pass the wrapper, a caller under `torch.no_grad()`, a caller
/// that does not train, a caller that also runs the wrapper for the same backward, and a
/// function of the same name in another module.
#[test]
fn helpers_across_files_project_parameters_from_other_files() {
    let folder = projects().join("helpers_across_files");
    let output = nmf_in(
        &folder,
        &["check", "--isolated", "--output-format", "full", "."],
    );
    insta::assert_snapshot!(output);
}

/// Receivers, round three: what unannotated functions and methods return (factories, fluent
/// `return self`, classmethods, `functools.partial`), and pytest fixtures found in the test's
/// class, module and the `conftest.py` files above it, with the look-alikes that stay
/// reported (a factory that may return a module, a fixture yielding one, a module's fluent
/// method).
#[test]
fn round_three_project_returns_and_fixtures() {
    let folder = projects().join("round_three");
    let output = nmf_in(&folder, &["check", "--show-receivers", "."]);
    insta::assert_snapshot!(output);
}

/// SpeechBrain recipes: `self.hparams.X` in a `Brain` subclass is the module inside
/// `self.modules.X` when every YAML of the recipe's `hparams/` folder that defines `X` lists it
/// in `modules:`; look-alikes (parameter-free and frozen objects, a YAML that does not list it,
/// evaluation stages, `torch.no_grad()`, Lightning's `self.hparams`, no YAML) are quiet.
#[test]
fn speechbrain_recipes_project_hparams_aliases() {
    let folder = projects().join("speechbrain_recipes");
    let output = nmf_in(
        &folder,
        &["check", "--isolated", "--output-format", "full", "."],
    );
    insta::assert_snapshot!(output);
}

/// Projects that import each other (each lists the other in `extra-paths`), checked in one
/// run: a class of one project is known in the other, and what the index forgets of a
/// project once its files are checked is never what the other still asks for.
#[test]
fn importing_each_other_projects_resolve_each_others_classes() {
    let folder = projects().join("importing_each_other");
    let output = nmf_in(&folder, &["check", "--show-receivers", "."]);
    insta::assert_snapshot!(output);
}
