"""Helpers to run real flake8 and the installed `nmf` script on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "resources" / "test" / "fixtures"
EXAMPLE = ROOT / "resources" / "example.py"
# The finding `nmf check` prints for EXAMPLE.
EXAMPLE_FINDING = ("example.py:9:1: NMF001 Do not call .forward() directly; use model(inputs) "
                   "instead so DDP backward hooks run")
RUST_TOOLS = ("cargo", "rustc", "rustup", "maturin")


def run(command: list[str], cwd: Path, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, check=False,
                          env=env)


@pytest.fixture
def flake8():
    """Runs `python -m flake8 ARGS` in a folder."""

    def flake8(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run([sys.executable, "-m", "flake8", *args], cwd, stdin)

    return flake8


@pytest.fixture
def nmf(tmp_path_factory):
    """Runs the `nmf` console script the package installed, its cache in a temporary folder
    (not in the repository's fixture folders)."""
    script = shutil.which("nmf", path=str(Path(sys.executable).parent))
    assert script, "the package installs an `nmf` script next to the interpreter"
    environment = {**os.environ, "NMF_CACHE_DIR": str(tmp_path_factory.mktemp("nmf-cache"))}

    def nmf(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run([script, *args], cwd, stdin, environment)

    return nmf


def built_wheel() -> Path:
    """The wheel `scripts/build_wheels` left in dist/ (scripts/test builds it first)."""
    wheels = sorted((ROOT / "dist").glob("*manylinux*.whl"))
    assert wheels, "no wheel in dist/: run scripts/build_wheels (scripts/test does) first"
    return wheels[-1]


def without_rust(path: str) -> str:
    """PATH without any folder that holds a Rust tool or maturin."""
    kept = [folder for folder in path.split(os.pathsep)
            if folder and not any(Path(folder, tool).exists() for tool in RUST_TOOLS)]
    return os.pathsep.join(kept)


@pytest.fixture(scope="session")
def local_index(tmp_path_factory) -> Path:
    """A folder index (pip's `--find-links`) with the built wheel and what installing it takes:
    flake8 and its dependencies, and setuptools to build the pre-commit mirror's empty package
    and pre-commit's placeholder for `repo: local`. Installs with `PIP_NO_INDEX=1` then take nmf
    from this build, never from PyPI. The wheels besides nmf come from PyPI once, through pip's
    cache."""
    index = tmp_path_factory.mktemp("local-index")
    shutil.copy(built_wheel(), index)
    download = run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--only-binary", ":all:", "--dest", str(index), "flake8>=5", "setuptools>=77"],
                   cwd=index)
    assert download.returncode == 0, f"pip could not fetch flake8 and setuptools:\n{download.stderr}"
    return index


@pytest.fixture
def offline_environment(local_index, tmp_path) -> dict[str, str]:
    """The environment of an install that may use nothing but `local_index` and must not build
    Rust: pip is offline (PIP_NO_INDEX) and takes nmf only as a wheel; the Rust tools are off
    PATH, and stand-ins that log any call to `rust-trap.log` come first on it (see
    `assert_no_rust_tool_ran`)."""
    traps = tmp_path / "rust-traps"
    traps.mkdir()
    log = tmp_path / "rust-trap.log"
    for tool in RUST_TOOLS:
        trap = traps / tool
        trap.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexit 97\n')
        trap.chmod(0o755)
    environment = {
        **os.environ,
        "PATH": os.pathsep.join([str(traps), without_rust(os.environ.get("PATH", ""))]),
        "CARGO_HOME": str(tmp_path / "no-cargo"),
        "RUSTUP_HOME": str(tmp_path / "no-rustup"),
        "PIP_FIND_LINKS": str(local_index),
        "PIP_NO_INDEX": "1",
        "PIP_ONLY_BINARY": "flake8-no-model-forward-call",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "NMF_CACHE_DIR": str(tmp_path / "nmf-cache"),
    }
    environment.pop("VIRTUAL_ENV", None)
    return environment


def assert_no_rust_tool_ran(environment: dict[str, str]) -> None:
    """No cargo, rustc, rustup or maturin was started under `offline_environment`, except
    `rustc --version`: pip asks it for its User-Agent header on every run (and copes with the
    stand-in's failure), which compiles nothing."""
    traps = Path(environment["PATH"].split(os.pathsep)[0])
    log = traps.parent / "rust-trap.log"
    calls = log.read_text().splitlines() if log.exists() else []
    builds = [call for call in calls if call != "rustc --version"]
    assert not builds, "a Rust tool ran:\n" + "\n".join(builds)
