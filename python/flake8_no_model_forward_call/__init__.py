"""flake8 plugin: report PyTorch code that calls ``.forward()`` on an ``nn.Module`` directly.

The checks run in nmf's Rust engine (``_nmf``); this module only adapts it to flake8's plugin
interface. flake8 applies ``--select``, ``--ignore``, ``per-file-ignores`` and ``# noqa`` to what
the plugin reports. The rules it reports:

.. begin rules: generated

- ``NMF001`` (module-forward-call): Checks for calls of `forward()` on a PyTorch `nn.Module`, which run the module without the hooks that `nn.Module.__call__` fires.
- ``NMF002`` (autograd-function-forward-call): Checks for calls of `forward()` on a subclass of `torch.autograd.Function`, which run the computation outside autograd.
- ``NMF003`` (module-call-override): Checks for `nn.Module` subclasses that define `__call__`, which replaces `nn.Module.__call__` and with it every hook, for every caller of the module.
- ``NMF004`` (forward-passed-as-callable): Checks for a module's bound `forward` handed to a function that calls it later (`checkpoint`, `functools.partial`, `map`, `torch.func` transforms, torch.fx's `call_module`) or stored and called later, which skips the module's hooks just as calling it directly does.
- ``NMF005`` (unwrapped-module-after-wrap): Checks for training code that calls the module inside a wrapper (`ddp.module`, `accelerator.unwrap_model(model)`, the name a module had before it was wrapped), or a submodule or method of it, instead of the wrapper.
- ``NMF006`` (forward-outside-no-sync): Checks for a `with W.no_sync():` block (also `accelerator.no_sync(W)`, `fabric.no_backward_sync(W)`) that holds a backward pass but not the forward of `W`, and for `W.require_backward_grad_sync = ...` set between `W`'s forward and the backward.
- ``NMF007`` (fsdp-non-forward-method): Checks for calls of a method other than `forward` (or of a submodule) on a module wrapped with `FullyShardedDataParallel` or sharded with FSDP2's `fully_shard`, and on an FSDP wrapper's `.module`.
- ``NMF008`` (discarded-wrapper): Checks for a statement that makes a wrapper (`torch.compile(model)`, `DDP(model)`, `accelerator.prepare(model)`, `fabric.setup(model)`, ...) and drops it.

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
