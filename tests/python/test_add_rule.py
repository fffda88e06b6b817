"""The contributor path: `scripts/add_rule.py` writes a rule that builds and passes the whole
suite once its snapshot is accepted, and the suite catches a rule that was never registered.

Runs in a copy of the repository (the files git tracks or would track), sharing this
checkout's target dir (`CARGO_TARGET_DIR` if set, else `target/`) so that only nmf's own crates
are rebuilt. Every cargo command selects the whole workspace (and filters targets), as
`cargo test --workspace` does: cargo resolves the features of dependencies for the packages
selected, so `-p nmf_driver` or `--exclude nmf_python` would build many dependencies again with
other features.

Cargo hashes a path package by its path relative to the workspace root, so the copy's crates get
the file names of this checkout's and are rebuilt over them: while this test runs, no other test
may build or run anything from that target dir (test_version.py asks `cargo metadata` instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs a Rust toolchain")

# The target dir the Rust tests built into: cargo takes a relative CARGO_TARGET_DIR from the
# working directory, which is the copy below.
TARGET_DIR = str((ROOT / os.environ.get("CARGO_TARGET_DIR", "target")).resolve())


def copy_repository(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for relative in filter(None, listed):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def cargo(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CARGO_TARGET_DIR": TARGET_DIR, "CI": "1", **env}
    # pytest-xdist's workers set COLUMNS=80 and LINES=24; clap would wrap `nmf --help` at 80
    # columns instead of its 100, which the suite's `--help` test does not expect.
    environment.pop("COLUMNS", None)
    environment.pop("LINES", None)
    return subprocess.run(["cargo", *args], cwd=repo, env=environment, capture_output=True,
                          text=True, check=False)


def test_a_generated_rule_passes_the_suite_and_an_unregistered_one_fails(tmp_path: Path) -> None:
    repo = copy_repository(tmp_path / "repo")
    generated = subprocess.run(
        [sys.executable, "scripts/add_rule.py", "--code", "NMF099", "--name", "toy-rule"],
        cwd=repo, capture_output=True, text=True, check=False,
        env={**os.environ, "CARGO_TARGET_DIR": TARGET_DIR},
    )
    assert generated.returncode == 0, generated.stderr
    assert "Next steps" in generated.stdout
    assert (repo / "crates/nmf_linter/src/rules/nmf099_toy_rule.rs").is_file()
    registry = repo / "crates/nmf_linter/src/rules/mod.rs"
    assert "pub mod nmf099_toy_rule;\n" in registry.read_text()
    assert "    &nmf099_toy_rule::RULE,\n" in registry.read_text()
    assert "NMF099" in (repo / "README.md").read_text(), "the README's table is regenerated"

    # The new fixture's snapshot does not exist yet: the suite says so, until it is accepted.
    first = cargo(repo, "test", "--workspace", "--test", "fixtures")
    assert first.returncode != 0
    accepted = cargo(repo, "test", "--workspace", "--test", "fixtures", INSTA_UPDATE="always")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    suite = cargo(repo, "test", "--workspace")
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-3000:]

    # The generated files are formatted as `cargo fmt` formats them.
    formatted = cargo(repo, "fmt", "--all", "--check")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr

    # Forgetting the rule's entry in `ALL_RULES` is not silent (its module still compiles).
    registry.write_text(registry.read_text().replace("    &nmf099_toy_rule::RULE,\n", ""))
    unregistered = cargo(repo, "test", "--workspace", "--no-fail-fast", "--lib",
                         "--test", "fixtures", "--test", "layout", "--test", "prefilter_spellings")
    assert unregistered.returncode != 0
    output = unregistered.stdout + unregistered.stderr
    assert "nmf099_toy_rule.rs is not registered" in output
    assert "add `&nmf099_toy_rule::RULE,` to `ALL_RULES`" in output
