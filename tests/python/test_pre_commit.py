"""pre-commit, run for real: the mirror repository that `pre-commit/render.py` renders installs
the hook from a wheel without compiling Rust, and the `repo: local` recipes of the README work.

The wheel is the one `scripts/build_wheels` built, served from a folder index with pip offline
(`local_index`, `offline_environment` in conftest.py): the same install as from PyPI after a
release, with nothing fetched and no Rust tool on PATH.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, EXAMPLE_FINDING, ROOT, assert_no_rust_tool_ran, run

TEMPLATE = ROOT / "pre-commit"
README = ROOT / "README.md"


def load_render():
    """pre-commit/render.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("render", TEMPLATE / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = load_render()


def wheel_version(local_index: Path) -> str:
    """The version in the built wheel's file name (`name-VERSION-tags.whl`)."""
    (wheel,) = local_index.glob("flake8_no_model_forward_call-*.whl")
    return wheel.name.split("-")[1]


def git(*args: str, cwd: Path, environment: dict[str, str]) -> None:
    result = run(["git", *args], cwd, env={**environment, "GIT_AUTHOR_NAME": "nmf tests",
                                           "GIT_AUTHOR_EMAIL": "tests@nmf.invalid",
                                           "GIT_COMMITTER_NAME": "nmf tests",
                                           "GIT_COMMITTER_EMAIL": "tests@nmf.invalid"})
    assert result.returncode == 0, result.stderr


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {},
            "outputs": [], "source": source}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def project(tmp_path, offline_environment) -> Path:
    """A git repository with a finding in a .py file and in a notebook, and a clean file."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "example.py")
    (folder / "clean.py").write_text("import torch\n\nmodel = torch.nn.Linear(2, 2)\nmodel(x)\n")
    (folder / "notebook.ipynb").write_text(notebook("model.forward(x)\n"))
    git("init", "--quiet", cwd=folder, environment=offline_environment)
    git("add", "--all", cwd=folder, environment=offline_environment)
    return folder


def pre_commit(*args: str, cwd: Path, environment: dict[str, str]):
    return run([sys.executable, "-m", "pre_commit", *args], cwd,
               env={**environment, "PRE_COMMIT_HOME": str(cwd.parent / "pre-commit-home")})


def readme_recipe(name: str) -> str:
    """The YAML block of README.md that follows `<!-- recipe: NAME -->`."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\s*```yaml\n(.*?)```", text, re.DOTALL)
    assert match, f"README.md has no ```yaml block after <!-- recipe: {name} -->"
    return match.group(1)


# The mirror, rendered.

def test_the_mirror_pins_the_version_and_shares_the_hook_definition(tmp_path):
    written = render.render(tmp_path, "1.2.3rc1")
    assert sorted(path.name for path in written) == [
        ".pre-commit-hooks.yaml", "LICENSE", "README.md", "pyproject.toml"]
    with (tmp_path / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    assert project["dependencies"] == ["flake8-no-model-forward-call==1.2.3rc1"]
    assert project["version"] == "1.2.3rc1"
    assert (tmp_path / ".pre-commit-hooks.yaml").read_bytes() == \
        (ROOT / ".pre-commit-hooks.yaml").read_bytes()
    assert "rev: v1.2.3rc1" in (tmp_path / "README.md").read_text()
    for path in written:
        assert "${" not in path.read_text(), f"{path.name} keeps a placeholder"


def test_the_mirror_takes_the_workspace_version_and_refuses_other_text(tmp_path):
    with (ROOT / "Cargo.toml").open("rb") as file:
        cargo_version = tomllib.load(file)["workspace"]["package"]["version"]
    printed = run([sys.executable, str(TEMPLATE / "render.py"), "--print-version"], ROOT)
    assert printed.stdout.strip() == cargo_version
    for bad in ("", "v0.2.0", "0.2.0; rm -rf /", "0.2.0\n", ">=0.2"):
        result = run([sys.executable, str(TEMPLATE / "render.py"), str(tmp_path / "out"),
                      "--version", bad], ROOT)
        assert result.returncode == 2, bad
        assert "not a release version" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_misspelt_placeholder_is_an_error_and_writes_nothing(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "a.toml").write_text('version = "${version}"\n')
    (templates / "b.toml").write_text('pin = "==${versoin}"\n')
    monkeypatch.setattr(render, "TEMPLATES", templates)
    with pytest.raises(ValueError, match="b.toml: a placeholder other than"):
        render.render(tmp_path / "out", "0.2.0")
    assert not (tmp_path / "out").exists()


def test_the_hook_declares_what_the_readme_says():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "nmf"
    assert hook["entry"] == "nmf check --force-exclude"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "pyi", "jupyter"]


# The mirror, installed by real pre-commit.

def test_the_mirror_installs_from_the_wheel_without_rust_and_reports(
        tmp_path, project, offline_environment, local_index):
    mirror = tmp_path / "mirror"
    render.render(mirror, wheel_version(local_index))
    git("init", "--quiet", cwd=mirror, environment=offline_environment)
    git("add", "--all", cwd=mirror, environment=offline_environment)
    git("commit", "--quiet", "--message", "Mirror", cwd=mirror, environment=offline_environment)

    started = time.perf_counter()
    found = pre_commit("try-repo", str(mirror), "nmf", "--files", "example.py", "notebook.ipynb",
                       cwd=project, environment=offline_environment)
    print(f"\npre-commit try-repo: hook installed and run in {time.perf_counter() - started:.1f} s")
    assert found.returncode == 1, found.stdout + found.stderr
    assert "nmf...." in found.stdout and "Failed" in found.stdout
    assert EXAMPLE_FINDING in found.stdout.splitlines()
    assert "notebook.ipynb:cell 1:1:1: NMF001" in found.stdout

    clean = pre_commit("try-repo", str(mirror), "nmf", "--files", "clean.py",
                       cwd=project, environment=offline_environment)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"^nmf\.+Passed$", clean.stdout, re.MULTILINE), clean.stdout
    assert_no_rust_tool_ran(offline_environment)


# The README's `repo: local` recipes.

def test_the_readme_local_recipe_installs_the_pinned_wheel(project, offline_environment,
                                                           local_index):
    recipe = readme_recipe("local-python")
    pinned = re.findall(r"flake8-no-model-forward-call==([^\]\s,]+)", recipe)
    assert pinned == [wheel_version(local_index)], \
        "the README's recipe pins another version than the workspace's: update README.md"
    (project / ".pre-commit-config.yaml").write_text(recipe)

    found = pre_commit("run", "--files", "example.py", "notebook.ipynb", "clean.py",
                       cwd=project, environment=offline_environment)
    assert found.returncode == 1, found.stdout + found.stderr
    assert EXAMPLE_FINDING in found.stdout.splitlines()
    assert "notebook.ipynb:cell 1:1:1: NMF001" in found.stdout
    assert "clean.py" not in found.stdout
    clean = pre_commit("run", "--files", "clean.py", cwd=project, environment=offline_environment)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert_no_rust_tool_ran(offline_environment)


def test_the_readme_system_recipe_runs_the_nmf_on_path(project, offline_environment):
    """`language: system` installs nothing: it runs the `nmf` of the team's own environment,
    here the one the package installed next to this interpreter."""
    (project / ".pre-commit-config.yaml").write_text(readme_recipe("local-system"))
    scripts = str(Path(sys.executable).parent)
    environment = {**offline_environment,
                   "PATH": os.pathsep.join([scripts, offline_environment["PATH"]])}
    found = pre_commit("run", "--files", "example.py", "clean.py", cwd=project,
                       environment=environment)
    assert found.returncode == 1, found.stdout + found.stderr
    assert EXAMPLE_FINDING in found.stdout.splitlines()
    no_nmf_path = os.pathsep.join(folder for folder in offline_environment["PATH"].split(os.pathsep)
                                  if not Path(folder, "nmf").exists())
    without_nmf = pre_commit("run", "--files", "example.py", cwd=project,
                             environment={**offline_environment, "PATH": no_nmf_path})
    assert without_nmf.returncode != 0
    assert "Executable `nmf` not found" in without_nmf.stdout
