"""Real notebooks, made by nbformat and jupytext: a module split into cells gives the same
findings at the same places as the module itself, in both common JSON layouts; fixing a
notebook changes only the edited source strings; jupytext's IPython syntax is read; the flake8
plugin does not see notebooks (flake8 reads no `.ipynb`)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbformat.v4.rwbase import split_lines

from conftest import FIXTURES

FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))


def cell_starts(text: str) -> list[int]:
    """The first line (0-based) of each top-level statement, decorators and leading comments
    included: each starts a cell."""
    tree = ast.parse(text)
    starts = []
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        starts.append(first - 1)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts


def as_cells(text: str) -> list[tuple[int, str]]:
    """The module as cells: (first line, source without the final line break)."""
    lines = text.splitlines(keepends=True)
    starts = cell_starts(text)
    cells = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        source = "".join(lines[start:end])
        if source.endswith("\n"):
            source = source[:-1]
        cells.append((start, source))
    return cells


def write_notebook(path: Path, cells: list[tuple[int, str]], layout: str) -> None:
    notebook = new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                     "display_name": "Python 3"}})
    # A markdown cell first: cell numbers count every cell.
    notebook.cells = [new_markdown_cell("Converted module")] + [
        new_code_cell(source) for _, source in cells
    ]
    if layout == "nbformat":
        nbformat.write(notebook, path)
    else:
        path.write_text(json.dumps(split_lines(notebook), indent=2, ensure_ascii=True))


def findings(nmf, path: Path, *args: str) -> list[dict]:
    result = nmf("check", "--isolated", "--output-format", "json", *args, path.name,
                 cwd=path.parent)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("layout", ["nbformat", "two-space"])
@pytest.mark.parametrize("module", FIXTURE_FILES, ids=lambda path: path.name)
def test_a_module_split_into_cells_gives_the_same_findings(nmf, tmp_path, module, layout):
    text = module.read_text(encoding="utf-8")
    cells = as_cells(text)
    script = tmp_path / "module.py"
    script.write_text(text, encoding="utf-8")
    notebook = tmp_path / "module.ipynb"
    write_notebook(notebook, cells, layout)

    starts = [start for start, _ in cells]
    expected = []
    for finding in findings(nmf, script):
        row = finding["location"]["row"] - 1
        cell = max(index for index, start in enumerate(starts) if start <= row)
        expected.append((cell + 2, row - starts[cell] + 1, finding["location"]["column"],
                         finding["code"]))
    got = [(f["cell"], f["location"]["row"], f["location"]["column"], f["code"])
           for f in findings(nmf, notebook)]
    assert sorted(got) == sorted(expected)
    # Fixtures of look-alikes (`*_not_reported.py`) and a file-wide noqa have no findings.
    quiet = module.name.endswith("_not_reported.py") or module.name == "flake8_noqa_file.py"
    assert bool(expected) != quiet, "the fixture's findings are compared"


@pytest.mark.parametrize("layout", ["nbformat", "two-space"])
def test_fixing_a_notebook_changes_only_its_edited_source_strings(nmf, tmp_path, layout):
    module = FIXTURES / "NMF001_fix.py"
    text = module.read_text(encoding="utf-8")
    cells = as_cells(text)
    script = tmp_path / "module.py"
    script.write_text(text, encoding="utf-8")
    notebook = tmp_path / "module.ipynb"
    write_notebook(notebook, cells, layout)
    before = notebook.read_text(encoding="utf-8")

    for path in (script, notebook):
        result = nmf("check", "--isolated", "--fix", "--unsafe-fixes", path.name, cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
    fixed_module = script.read_text(encoding="utf-8")
    assert fixed_module != text, "the fixture has fixes"
    after = notebook.read_text(encoding="utf-8")

    # The cells hold the fixed module.
    fixed_cells = [cell.source for cell in nbformat.reads(after, as_version=4).cells[1:]]
    assert "\n".join(fixed_cells) + "\n" == fixed_module
    # Everything but the sources is as it was, byte for byte: the lines that differ are
    # source lines, as many as the module's changed lines.
    changed = [(old, new) for old, new in zip(before.splitlines(), after.splitlines())
               if old != new]
    module_changed = [1 for old, new in zip(text.splitlines(), fixed_module.splitlines())
                      if old != new]
    assert len(before.splitlines()) == len(after.splitlines())
    assert len(changed) == len(module_changed)
    assert after.endswith("\n") == before.endswith("\n")
    without_sources = [json.loads(document) for document in (before, after)]
    for document in without_sources:
        for cell in document["cells"]:
            cell.pop("source")
    assert without_sources[0] == without_sources[1]


PERCENT_SCRIPT = """\
# %% [markdown]
# Fine-tuning, written as a percent script and converted by jupytext.

# %%
# !pip install torch
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())

# %%
# %time out = model(torch.randn(2, 4))
# model?

# %%
# %%time
logits = model.forward(torch.randn(2, 4))

# %%
# %%bash
# echo "model.forward(x) in a shell cell"

# %%
def f(:
    return model.forward(x)

# %%
hidden = model[0].forward(torch.randn(1, 4))
"""


def test_jupytext_notebooks_with_magics_and_a_broken_cell(nmf, tmp_path):
    notebook = jupytext.reads(PERCENT_SCRIPT, fmt="py:percent")
    path = tmp_path / "finetune.ipynb"
    jupytext.write(notebook, path, fmt="ipynb")
    written = nbformat.read(path, as_version=4)
    # jupytext turned the commented magics into IPython syntax.
    assert written.cells[1].source.startswith("!pip install torch")
    assert written.cells[4].source.startswith("%%bash")

    got = [(f["cell"], f["location"]["row"], f["code"]) for f in findings(nmf, path)]
    assert got == [(4, 2, "NMF001"), (6, 1, "E999"), (7, 1, "NMF001")]


def test_the_flake8_plugin_does_not_see_notebooks(flake8, tmp_path):
    path = tmp_path / "nb.ipynb"
    write_notebook(path, [(0, "import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.forward(x)")],
                   "nbformat")
    result = flake8("--select", "NMF", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "NMF001" not in result.stdout
