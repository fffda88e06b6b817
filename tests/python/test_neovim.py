"""A real editor: headless Neovim's built-in LSP client runs `nmf server`, waits for the
diagnostic on the file it opened, and applies the quick fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# The installed script; NMF_BINARY points at a development build instead.
NMF = os.environ.get("NMF_BINARY") or shutil.which("nmf", path=str(Path(sys.executable).parent))
SCRIPT = Path(__file__).parent / "neovim" / "quickfix.lua"


def test_neovim_shows_the_finding_and_applies_the_quick_fix(tmp_path):
    nvim = shutil.which("nvim")
    assert nvim, "Neovim is needed (scripts/test installs Debian's `neovim` when it is absent)"
    (tmp_path / "pyproject.toml").write_text("[tool.nmf]\n")
    train = tmp_path / "train.py"
    train.write_text(
        "import torch.nn as nn\n\n"
        "model = nn.Linear(2, 2)\n"
        'label = "\u00e9t\u00e9 \U0001F600"; out = model.forward(x)\n'
    )
    result = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", f"luafile {SCRIPT}", str(train)],
        cwd=tmp_path,
        env={**os.environ, "NMF": NMF},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The server speaks UTF-16 to Neovim 0.7; Neovim shows byte columns: `model` is byte 29.
    assert (
        "diagnostic 4:29 NMF001 Do not call .forward() directly; "
        "use model(inputs) instead so DDP backward hooks run"
    ) in output, output
    assert "applying: Call `model(...)` instead, so that its hooks run" in output, output
    # Neovim sends incremental changes: the fix, a line added, the line removed.
    assert "cleared\nadded 5:9\nremoved\n" in output, output
    assert train.read_text().endswith('label = "\u00e9t\u00e9 \U0001F600"; out = model(x)\n')
