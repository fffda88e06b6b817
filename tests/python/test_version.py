"""One version everywhere: Cargo.toml, the crates and so the `nmf` binary, the package and the
changelog."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from importlib import metadata

import flake8_no_model_forward_call as package

from conftest import ROOT


def cargo_version() -> str:
    with (ROOT / "Cargo.toml").open("rb") as file:
        return tomllib.load(file)["workspace"]["package"]["version"]


def test_the_package_and_its_script_say_the_cargo_version(nmf, tmp_path):
    version = cargo_version()
    assert package.__version__ == version
    assert metadata.version("flake8-no-model-forward-call") == version
    assert nmf("--version", cwd=tmp_path).stdout.split() == ["nmf", version]


def test_every_crate_has_the_cargo_version():
    """The standalone binary prints its crate's version (`--version` in crates/nmf/tests/check.rs),
    so every crate must have the workspace's. Asked of `cargo metadata`, which builds nothing:
    running the binary here would need a build in the target dir that test_add_rule.py's copy
    of the repository rebuilds nmf's crates into, on the other pytest worker."""
    listed = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1", "--locked"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    versions = {crate["name"]: crate["version"] for crate in json.loads(listed.stdout)["packages"]}
    assert "nmf" in versions
    assert versions == dict.fromkeys(versions, cargo_version())


def test_the_changelog_has_the_version_as_its_newest_release():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d[^\]]*)\]", text, flags=re.MULTILINE)
    assert releases and releases[0] == cargo_version()
    assert "## [Unreleased]" in text
