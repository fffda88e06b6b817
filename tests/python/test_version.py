"""One version everywhere: Cargo.toml, the `nmf` binary, the package and the changelog."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata

import flake8_no_model_forward_call as package

from conftest import ROOT


def cargo_version() -> str:
    with (ROOT / "Cargo.toml").open("rb") as file:
        return tomllib.load(file)["workspace"]["package"]["version"]


def test_the_package_the_script_and_the_binary_say_the_cargo_version(nmf, tmp_path):
    version = cargo_version()
    assert package.__version__ == version
    assert metadata.version("flake8-no-model-forward-call") == version
    assert nmf("--version", cwd=tmp_path).stdout.split() == ["nmf", version]
    # The standalone binary, built by the Rust tests from the same workspace (`--bin`, not `-p nmf`,
    # whose features of dependencies differ from the workspace's and would build them again).
    built = subprocess.run(["cargo", "run", "--quiet", "--bin", "nmf", "--", "--version"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert built.stdout.split() == ["nmf", version]


def test_the_changelog_has_the_version_as_its_newest_release():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d[^\]]*)\]", text, flags=re.MULTILINE)
    assert releases and releases[0] == cargo_version()
    assert "## [Unreleased]" in text
