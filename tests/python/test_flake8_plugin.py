"""The flake8 plugin, through real flake8 on real files, as users run it."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import flake8_no_model_forward_call
from conftest import EXAMPLE

NMF001 = "NMF001 Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run"
README_LINE = f"example.py:9:1: {NMF001}"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_readme_example_prints_the_original_line(flake8, tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "example.py")
    only_nmf = flake8("--select=NMF", "example.py", cwd=tmp_path)
    assert only_nmf.stdout == README_LINE + "\n"
    assert only_nmf.returncode == 1
    # As the README says: extend flake8's default selection. pyflakes and pycodestyle report
    # the example's own issues (undefined `x`, blank lines) next to ours.
    extended = flake8("--extend-select=NMF001", "example.py", cwd=tmp_path)
    assert README_LINE in extended.stdout.splitlines()


def test_plugin_is_listed_by_flake8_version(flake8, tmp_path):
    version = flake8("--version", cwd=tmp_path)
    assert f"flake8-no-model-forward-call: {flake8_no_model_forward_call.__version__}" in version.stdout


def test_noqa_per_file_ignores_and_extend_ignore(flake8, tmp_path):
    write(tmp_path, "a.py", """\
        model.forward(1)  # noqa
        model.forward(2)  # noqa: NMF001
        model.forward(3)  # noqa: E501
        model.forward(4)
        """)
    write(tmp_path, "tests/test_a.py", "model.forward(1)\n")
    result = flake8("--select=NMF", "--per-file-ignores=tests/*:NMF001", ".", cwd=tmp_path)
    assert result.stdout.splitlines() == [f"./a.py:3:1: {NMF001}", f"./a.py:4:1: {NMF001}"]
    ignored = flake8("--select=NMF", "--extend-ignore=NMF001", ".", cwd=tmp_path)
    assert ignored.stdout == ""
    assert ignored.returncode == 0


def test_standard_input(flake8, tmp_path):
    result = flake8("--select=NMF", "--stdin-display-name=train.py", "-", cwd=tmp_path,
                    stdin="x = 1\nmodel.forward(x)\n")
    assert result.stdout == f"train.py:2:1: {NMF001}\n"


def test_config_files_flake8_reads(flake8, tmp_path):
    """`.flake8`, `setup.cfg` and `tox.ini` work; plain flake8 ignores `pyproject.toml`."""
    write(tmp_path, "a.py", "model.forward(x)\n")
    for name in (".flake8", "setup.cfg", "tox.ini"):
        config = write(tmp_path, name, "[flake8]\nselect = E999\n")
        assert flake8("a.py", cwd=tmp_path).stdout == ""
        config.write_text("[flake8]\nselect = E999\nextend-select = NMF001\n")
        assert flake8("a.py", cwd=tmp_path).stdout == f"a.py:1:1: {NMF001}\n", name
        config.unlink()
    write(tmp_path, "pyproject.toml", '[tool.flake8]\nextend-ignore = ["NMF001"]\n')
    result = flake8("--select=NMF", "a.py", cwd=tmp_path)
    assert result.stdout == f"a.py:1:1: {NMF001}\n", "flake8 itself does not read pyproject.toml"


def test_known_modules_only_option(flake8, tmp_path):
    write(tmp_path, "a.py", """\
        import torch.nn as nn

        layer = nn.Linear(2, 2)
        layer.forward(x)
        unknown.forward(x)
        """)
    everything = flake8("--select=NMF", "a.py", cwd=tmp_path)
    assert [line.split(":")[1] for line in everything.stdout.splitlines()] == ["4", "5"]
    known = flake8("--select=NMF", "--nmf-known-modules-only", "a.py", cwd=tmp_path)
    assert known.stdout == f"a.py:4:1: {NMF001}\n"
    write(tmp_path, "setup.cfg", "[flake8]\nnmf-known-modules-only = true\n")
    assert flake8("--select=NMF", "a.py", cwd=tmp_path).stdout == f"a.py:4:1: {NMF001}\n"


def test_nmf_console_script_runs_the_same_cli(nmf, tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "example.py")
    result = nmf("check", "example.py", cwd=tmp_path)
    summary = "Found 1 error.\n[*] 1 fixable with `--fix`.\n"
    assert (result.returncode, result.stdout, result.stderr) == (1, README_LINE + "\n" + summary, "")
    version = nmf("--version", cwd=tmp_path)
    assert version.stdout == f"nmf {flake8_no_model_forward_call.__version__}\n"
    assert nmf("check", "--select", "NMF999", cwd=tmp_path).returncode == 2
