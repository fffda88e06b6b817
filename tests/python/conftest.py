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
