"""flake8 plugin: report PyTorch code that calls ``.forward()`` on an ``nn.Module`` directly.

The checks run in nmf's Rust engine (``_nmf``); this module only adapts it to flake8's plugin
interface. flake8 applies ``--select``, ``--ignore``, ``per-file-ignores`` and ``# noqa`` to what
the plugin reports. The rules it reports:

.. begin rules: generated

- ``NMF001`` (module-forward-call): Checks for calls of `forward()` on a PyTorch `nn.Module`, which run the module without the hooks that `nn.Module.__call__` fires.
- ``NMF002`` (autograd-function-forward-call): Checks for calls of `forward()` on a subclass of `torch.autograd.Function`, which run the computation outside autograd.
- ``NMF003`` (module-call-override): Checks for `nn.Module` subclasses that define `__call__`, which replaces `nn.Module.__call__` and with it every hook, for every caller of the module.
- ``NMF004`` (forward-passed-as-callable): Checks for a module's bound `forward` handed to a function that calls it later (`checkpoint`, `functools.partial`, `map`, `torch.func` transforms, torch.fx's `call_module`) or stored and called later, which skips the module's hooks just as calling it directly does.
- ``NMF005`` (unwrapped-module-after-wrap): Checks for calls of a module after it was wrapped (`ddp = DDP(model)`) in a function that trains, which run the bare module instead of the wrapper.

.. end rules
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any, Iterator

from flake8_no_model_forward_call import _nmf

if TYPE_CHECKING:
    from flake8.options.manager import OptionManager

__version__: str = _nmf.__version__
__all__ = ["NoModelForwardCallChecker", "__version__"]


class NoModelForwardCallChecker:
    """Reports every nmf rule listed in this module's docstring."""

    name = "flake8-no-model-forward-call"
    version = __version__

    known_modules_only = False

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        # flake8 sorts plugins by the parameters they ask for: asking for `tree` makes this an
        # AST plugin, run once per file that parsed. The engine parses the text itself, so the
        # tree is not used.
        del tree
        self._lines = lines
        self._filename = filename

    @classmethod
    def add_options(cls, option_manager: OptionManager) -> None:
        option_manager.add_option(
            "--nmf-known-modules-only",
            action="store_true",
            default=False,
            parse_from_config=True,
            help="NMF001: report .forward() calls only on receivers known to be nn.Modules, "
            "not on receivers whose type cannot be told (default: report them).",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls.known_modules_only = bool(options.nmf_known_modules_only)

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        source = "".join(self._lines)
        for line, column, text in _nmf.check(source, self._filename, self.known_modules_only):
            yield line, column, text, type(self)
