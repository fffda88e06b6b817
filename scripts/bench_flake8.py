#!/usr/bin/env python3
"""Times the flake8 plugin's checker itself, summed over every file of a real tree.

    .venv/bin/python scripts/bench_flake8.py [--package transformers==5.24.0] [--rounds 3]

Run it with the interpreter the package is installed in (`./scripts/test` makes `.venv`). For
each file it builds exactly what flake8 hands a plugin (flake8's own `FileProcessor`: decoded
lines with the BOM stripped, the parsed tree, the file name), then times only the checker:
construction plus `run()`, for nmf's plugin and for the original pure-Python checker (an
`ast.walk` over the tree flake8 already parsed, reproduced below for comparison). Whole-flake8
timings swing by ±10 % here; this measures what the plugin costs.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
from pathlib import Path

from flake8.api import legacy
from flake8.processor import FileProcessor

from flake8_no_model_forward_call import NoModelForwardCallChecker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import fetch_corpus  # noqa: E402


class OriginalChecker:
    """The original plugin's checker (flake8-no-model-forward-call 0.1.0), for comparison."""

    name = "flake8-no-module-forward-call"
    version = "0.1.0"

    def __init__(self, tree: ast.AST) -> None:
        self.tree = tree

    def run(self):
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr == "forward":
                    yield (node.lineno, node.col_offset, "NMF001 ...", type(self))


def flake8_inputs(tree: Path) -> list[tuple[str, list[str], ast.AST]]:
    """What flake8 gives an AST plugin for each file that parses."""
    options = legacy.get_style_guide(isolated=True).options
    inputs = []
    for path in sorted(tree.rglob("*.py")):
        processor = FileProcessor(str(path), options)
        try:
            syntax_tree = processor.build_ast()
        except (SyntaxError, ValueError):
            continue  # flake8 reports E999 and runs no AST plugin
        inputs.append((str(path), processor.lines, syntax_tree))
    return inputs


def time_checker(inputs, make_checker) -> tuple[float, int]:
    total = 0.0
    findings = 0
    for filename, lines, syntax_tree in inputs:
        start = time.perf_counter()
        checker = make_checker(syntax_tree, lines, filename)
        findings += sum(1 for _ in checker.run())
        total += time.perf_counter() - start
    return total, findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="transformers==5.24.0")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    tree = fetch_corpus(args.package)
    inputs = flake8_inputs(tree)
    print(f"tree: {tree} ({len(inputs)} files flake8 parses)")
    checkers = {
        "nmf plugin": lambda syntax_tree, lines, filename: NoModelForwardCallChecker(
            syntax_tree, lines, filename
        ),
        "original": lambda syntax_tree, lines, filename: OriginalChecker(syntax_tree),
    }
    results: dict[str, list[float]] = {name: [] for name in checkers}
    counts: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, make in checkers.items():
            seconds, found = time_checker(inputs, make)
            results[name].append(seconds)
            counts[name] = found
    for name, times in results.items():
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name:>10}: median {statistics.median(times):.3f} s over all files "
              f"[{runs}], {counts[name]} findings")
    ratio = statistics.median(results["nmf plugin"]) / statistics.median(results["original"])
    print(f"ratio nmf plugin / original checker: {ratio:.3f}")


if __name__ == "__main__":
    main()
