"""The wheel `scripts/build_wheels` made installs with pip alone: a fresh venv, no Rust toolchain
on PATH, and flake8 and `nmf` then work on the seed example."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile

from conftest import EXAMPLE, RUST_TOOLS, built_wheel, without_rust


def test_the_wheel_is_abi3_manylinux_and_carries_the_engine():
    wheel = built_wheel()
    assert "-cp39-abi3-" in wheel.name and "manylinux" in wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(name.startswith("flake8_no_model_forward_call/_nmf") and name.endswith(".so")
               for name in names)
    assert "flake8_no_model_forward_call/__init__.py" in names


def test_the_wheel_installs_and_runs_without_rust(tmp_path):
    wheel = built_wheel()
    environment = {
        **os.environ,
        "PATH": without_rust(os.environ.get("PATH", "")),
        # Were anything to look for a toolchain, it would find none.
        "CARGO_HOME": str(tmp_path / "no-cargo"),
        "RUSTUP_HOME": str(tmp_path / "no-rustup"),
        "NMF_CACHE_DIR": str(tmp_path / "cache"),
    }
    environment.pop("VIRTUAL_ENV", None)
    for tool in RUST_TOOLS:
        assert shutil.which(tool, path=environment["PATH"]) is None, tool

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=environment)
    python = venv / "bin" / "python"
    started = time.perf_counter()
    # --only-binary: pip must not fall back to building anything from source.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--only-binary", ":all:", str(wheel)], check=True, env=environment)
    installed_in = time.perf_counter() - started
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB, "
          f"installed (with flake8 from PyPI) in {installed_in:.1f} s")

    seed = tmp_path / "project"
    seed.mkdir()
    shutil.copy(EXAMPLE, seed / "example.py")
    expected = ("Do not call .forward() directly; use model(inputs) instead so DDP backward "
                "hooks run")
    flake8 = subprocess.run([str(venv / "bin" / "flake8"), "--extend-select=NMF001", "."],
                            cwd=seed, capture_output=True, text=True, env=environment)
    assert flake8.returncode == 1, flake8.stderr
    assert f"./example.py:9:1: NMF001 {expected}" in flake8.stdout.splitlines()
    nmf = subprocess.run([str(venv / "bin" / "nmf"), "check", "example.py"],
                         cwd=seed, capture_output=True, text=True, env=environment)
    assert nmf.returncode == 1, nmf.stderr
    assert nmf.stdout.splitlines() == [f"example.py:9:1: NMF001 {expected}", "Found 1 error.",
                                       "[*] 1 fixable with `--fix`."]
