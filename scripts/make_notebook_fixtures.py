"""Writes the notebooks of resources/test/notebooks/ with nbformat, as Jupyter saves them.

The fixtures are committed; this script says how each was made, and remakes them:
    .venv/bin/python scripts/make_notebook_fixtures.py
`training.ipynb` is in nbformat's own layout (one-space indent, final newline); `two_spaces.ipynb`
in the two-space layout some front ends write, with ASCII escapes and no final newline.
"""

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell
from nbformat.v4.rwbase import split_lines

HERE = Path(__file__).resolve().parent.parent / "resources" / "test" / "notebooks"
PYTHON = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def cells_with_ids(cells):
    for number, cell in enumerate(cells, 1):
        cell["id"] = f"cell-{number}"
    return cells


def training():
    notebook = new_notebook(metadata=PYTHON)
    notebook.cells = cells_with_ids([
        new_markdown_cell("# Training a small net"),
        new_code_cell("import torch\nimport torch.nn as nn"),
        new_code_cell(
            "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = nn.Linear(4, 2)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return self.fc.forward(x)"
        ),
        new_code_cell("!pip install torch\nx = torch.randn(1, 4)\nnet = Net()\n%time net(x)\nnet?"),
        new_markdown_cell("A cell magic that runs Python: checked."),
        new_code_cell("%%time\ny = net.forward(x)"),
        new_code_cell("%%bash\necho 'net.forward(x) is shell text here'"),
        new_code_cell("out = net.forward(x)  # noqa: NMF001\nlogits = net(x)"),
        new_code_cell(
            "class Wrapped(Net):\n"
            "    def forward(self, x):\n"
            "        return super().forward(x)\n"
            "\n"
            "\n"
            "Wrapped().forward(x)"
        ),
        new_raw_cell("net.forward(x) in a raw cell is not code"),
    ])
    nbformat.write(notebook, HERE / "training.ipynb")


def two_spaces():
    notebook = new_notebook(metadata=PYTHON)
    first = new_code_cell("# Modèle d'encodeur\nimport torch.nn as nn\n\nencoder = nn.Linear(2, 2)")
    second = new_code_cell("h = encoder.forward(x)  # état caché\nh2 = encoder.forward(h)")
    second.outputs = [nbformat.v4.new_output("stream", name="stdout", text="tensor([[0.1, 0.2]])\n")]
    second.execution_count = 2
    notebook.cells = cells_with_ids([first, second])
    # Sources as lists of lines, as Jupyter saves them.
    text = json.dumps(split_lines(notebook), indent=2, sort_keys=True, ensure_ascii=True)
    (HERE / "two_spaces.ipynb").write_text(text)  # no final newline


def broken_cell():
    notebook = new_notebook(metadata=PYTHON)
    notebook.cells = cells_with_ids([
        new_code_cell("import torch.nn as nn\nmodel = nn.Linear(2, 2)"),
        new_code_cell("a = model.forward(x)"),
        new_code_cell("def f(:\n    return model.forward(x)"),
        new_code_cell("b = model.forward(a)"),
    ])
    nbformat.write(notebook, HERE / "broken_cell.ipynb")


def r_kernel():
    notebook = new_notebook(metadata={
        "kernelspec": {"display_name": "R", "language": "R", "name": "ir"},
        "language_info": {"name": "R"},
    })
    notebook.cells = cells_with_ids([new_code_cell("model.forward(x)")])
    nbformat.write(notebook, HERE / "r_kernel.ipynb")


def flake8_noqa():
    notebook = new_notebook(metadata=PYTHON)
    notebook.cells = cells_with_ids([
        new_code_cell("import torch.nn as nn\nmodel = nn.Linear(2, 2)"),
        new_code_cell("model.forward(x)"),
        new_code_cell("# flake8: noqa"),
    ])
    nbformat.write(notebook, HERE / "flake8_noqa.ipynb")


def bad():
    folder = HERE / "bad"
    folder.mkdir(exist_ok=True)
    (folder / "invalid_json.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x"\n')
    (folder / "nbformat3.ipynb").write_text(json.dumps(
        {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}, indent=1
    ) + "\n")
    (folder / "source_not_text.ipynb").write_text(json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
         "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                    "source": 42}]}, indent=1
    ) + "\n")
    (folder / "no_cells.ipynb").write_text(json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}}, indent=1
    ) + "\n")

    def code(source):
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": source}

    def notebook(cells, major=4):
        return {"cells": cells, "metadata": {"language_info": {"name": "python"}},
                "nbformat": major, "nbformat_minor": 5 if major == 4 else 0}

    calls = ["import torch\n", "model = torch.nn.Linear(2, 2)\n", "model.forward(x)"]
    # Jupyter (Python's json) refuses a byte-order mark: "Unexpected UTF-8 BOM".
    (folder / "bom.ipynb").write_bytes(
        b"\xef\xbb\xbf" + (json.dumps(notebook([code(calls)]), indent=1) + "\n").encode())
    # No such major version (yet): 4 is the current one.
    (folder / "nbformat5.ipynb").write_text(
        json.dumps(notebook([code(calls)], major=5), indent=1) + "\n")
    # `json.dumps` escapes the lone surrogate as `\ud800`, which `json.loads` reads back.
    (folder / "lone_surrogate.ipynb").write_text(json.dumps(
        notebook([code([*calls[:2], calls[2] + "\n"]), code(["s = '\ud800'\n"])]), indent=1
    ) + "\n")


if __name__ == "__main__":
    training()
    two_spaces()
    broken_cell()
    r_kernel()
    flake8_noqa()
    bad()
