#!/usr/bin/env python3
"""Times `nmf check` against `ruff check` on the same real tree, alternating the two.

    python3 scripts/bench.py [--pairs 11] [--package transformers==5.24.0]
    python3 scripts/bench.py --generated    # generated code: many calls in one file
    python3 scripts/bench.py --notebooks 500   # the package's modules as 500 notebooks
    python3 scripts/bench.py --warm [--copies 16]   # reruns with both caches warm
    python3 scripts/bench.py --fill [--copies 16]   # nmf filling its cache against --no-cache

Fetches the package's sdist from PyPI and ruff 0.17.6 into `.bench/` (ignored by git), builds
nmf in release mode, then runs the two tools in turn on the package's `src/` (or its root when it
has none), taking wall time and peak memory of each run from `wait4`. Prints the medians, the
ratio nmf/ruff, and nmf's findings. These machines are shared and noisy: quote the ratio, not the
absolute times.

By default both tools run without their caches. `--warm` fills each tool's cache once and then
times reruns on the unchanged tree; `--fill` times nmf filling an empty cache against nmf with
`--no-cache` (the cache's cost on a cold run). `--copies N` checks N hard-linked copies of the
tree side by side.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
RUFF_VERSION = "0.17.6"


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def fetch_corpus(requirement: str) -> Path:
    """Downloads and extracts an sdist; returns the tree to check."""
    name, _, version = requirement.partition("==")
    extracted = BENCH / f"{name}-{version}"
    if not extracted.exists():
        BENCH.mkdir(exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", requirement, "-d", str(BENCH)])
        archive = next(BENCH.glob(f"{name}-{version}.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(BENCH, filter="data")
    source = extracted / "src"
    return source if source.is_dir() else extracted


def ruff_binary() -> Path:
    environment = BENCH / "ruff-venv"
    binary = environment / "bin" / "ruff"
    if not binary.exists():
        venv.create(environment, with_pip=True)
        run([str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet",
             f"ruff=={RUFF_VERSION}"])
    return binary


def nmf_binary() -> Path:
    run(["cargo", "build", "--release", "--quiet", "-p", "nmf"], cwd=ROOT)
    return ROOT / "target" / "release" / "nmf"


def timed(command: list[str], cwd: Path) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS in KiB, and stdout of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{command[0]} failed with exit status {code}")
    return elapsed, usage.ru_maxrss, output


GENERATED = {
    # One call per line, as generated and minified code have them.
    "lines-64000.py": "model.forward(x)\n" * 64_000,
    "lines-256000.py": "model.forward(x)\n" * 256_000,
    # One chain of calls on one line (ruff 0.17.6 overflows its stack on it).
    "chain-32000.py": "y = m" + ".forward()" * 32_000 + "\n",
    "chain-100000.py": "y = m" + ".forward()" * 100_000 + "\n",
}


def generated(nmf: Path, ruff: Path) -> None:
    """Times both tools on each generated file, so that time growing faster than the input
    shows: 4x the calls must take about 4x the time."""
    folder = BENCH / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in GENERATED.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for name in GENERATED:
        row = [f"{name:>16}"]
        for tool, command in (
            ("nmf", [str(nmf), "check", "--isolated", name]),
            ("ruff", [str(ruff), "check", "--isolated", "--no-cache", "--select", "T201", name]),
        ):
            start = time.perf_counter()
            process = subprocess.run(command, cwd=folder, capture_output=True, check=False)
            elapsed = time.perf_counter() - start
            outcome = "ok" if process.returncode in (0, 1) else f"failed ({process.returncode})"
            row.append(f"{tool} {elapsed * 1000:7.0f} ms {outcome}")
        print("  ".join(row))


def as_notebook(text: str) -> str:
    """A module as a notebook, in nbformat's layout: a code cell per top-level statement (with
    the comments before it), a markdown cell before each class."""
    lines = text.splitlines(keepends=True)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    starts = sorted({0} | {min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
                           for node in tree.body})
    cells = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        source = lines[start:end]
        if source and any(line.lstrip().startswith("class ") for line in source[:3]):
            cells.append({"cell_type": "markdown", "id": f"c{len(cells)}", "metadata": {},
                          "source": ["A class"]})
        if source:
            source[-1] = source[-1].rstrip("\n")
        cells.append({"cell_type": "code", "execution_count": None, "id": f"c{len(cells)}",
                      "metadata": {}, "outputs": [], "source": source})
    notebook = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3",
                "language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebooks(tree: Path, count: int) -> Path:
    """A folder of `count` notebooks made from the tree's modules, spread over the tree."""
    modules = sorted(tree.rglob("*.py"))
    step = max(1, len(modules) // count)
    chosen = modules[::step][:count]
    folder = BENCH / f"notebooks-{tree.parent.name if tree.name == 'src' else tree.name}-{count}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for index, module in enumerate(chosen):
            text = module.read_text(encoding="utf-8", errors="replace")
            (folder / f"{index:04}_{module.stem}.ipynb").write_text(as_notebook(text),
                                                                     encoding="utf-8")
    return folder


def copies(tree: Path, count: int) -> Path:
    """`count` copies of the tree side by side, hard-linked so they cost no disk."""
    folder = BENCH / f"{tree.parent.name if tree.name == 'src' else tree.name}-x{count}"
    if not folder.exists():
        staging = folder.with_suffix(".partial")
        for index in range(count):
            for path in tree.rglob("*"):
                if path.is_dir() or path.name.startswith(".") or ".nmf_cache" in path.parts \
                        or ".ruff_cache" in path.parts:
                    continue
                target = staging / f"copy{index:02}" / path.relative_to(tree)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
        staging.rename(folder)
    return folder


def clear_caches(tree: Path) -> None:
    for name in (".nmf_cache", ".ruff_cache"):
        run(["rm", "-rf", str(tree / name)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=11, help="alternating runs of each tool")
    parser.add_argument("--package", default="transformers==5.24.0", help="the sdist to check")
    parser.add_argument("--generated", action="store_true",
                        help="time generated files with thousands of calls instead")
    parser.add_argument("--notebooks", type=int, metavar="N",
                        help="time a folder of N notebooks made from the package's modules")
    parser.add_argument("--copies", type=int, metavar="N", help="check N copies of the tree")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--warm", action="store_true",
                      help="time reruns with both tools' caches filled")
    mode.add_argument("--fill", action="store_true",
                      help="time nmf filling an empty cache against nmf --no-cache")
    args = parser.parse_args()
    if args.generated:
        generated(nmf_binary(), ruff_binary())
        return

    tree = fetch_corpus(args.package)
    if args.notebooks:
        tree = notebooks(tree, args.notebooks)
    if args.copies:
        tree = copies(tree, args.copies)
    ruff = ruff_binary()
    nmf = nmf_binary()
    clear_caches(tree)
    nmf_check = [str(nmf), "check", "--isolated", str(tree)]
    ruff_check = [str(ruff), "check", "--isolated", "--select", "T201", str(tree)]
    if args.warm:
        names = ("nmf", "ruff")
        commands = {"nmf": nmf_check, "ruff": ruff_check}
        before = {}
    elif args.fill:
        # Both are nmf; the filling run starts from an empty cache every time.
        names = ("nmf", "no-cache")
        commands = {"nmf": nmf_check, "no-cache": nmf_check + ["--no-cache"]}
        before = {"nmf": lambda: clear_caches(tree)}
    else:
        names = ("nmf", "ruff")
        commands = {"nmf": nmf_check + ["--no-cache"], "ruff": ruff_check + ["--no-cache"]}
        before = {}
    files = sum(1 for _ in tree.rglob("*.py")) + sum(1 for _ in tree.rglob("*.ipynb"))
    print(f"tree: {tree} ({files} Python files and notebooks)")
    print(f"pairs: {args.pairs}, alternating; first run of each discarded as warm-up")

    print("caches: " + ("filled before timing" if args.warm else
                        "nmf's emptied before each nmf run" if args.fill else "off"))

    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
    findings = b""
    for index in range(args.pairs + 1):
        order = list(names) if index % 2 == 0 else list(reversed(names))
        for tool in order:
            if tool in before:
                before[tool]()
            seconds, peak, output = timed(commands[tool], tree)
            if index > 0:
                samples[tool].append((seconds, peak))
            elif args.warm:
                # nmf trusts a stat only once it is 2 s older than the cache (as git treats
                # "racily clean" files); reruns seconds apart are what users do.
                time.sleep(2.5)
            if tool == "nmf":
                findings = output

    medians = {tool: statistics.median(s for s, _ in runs) for tool, runs in samples.items()}
    peaks = {tool: max(p for _, p in runs) for tool, runs in samples.items()}
    other = names[1]
    for tool in names:
        times = ", ".join(f"{s * 1000:.0f}" for s, _ in samples[tool])
        print(f"{tool:>8}: median {medians[tool] * 1000:.0f} ms, peak RSS "
              f"{peaks[tool] / 1024:.1f} MiB  [{times}]")
    print(f"ratio nmf/{other} (median wall time): {medians['nmf'] / medians[other]:.2f}")
    print(f"ratio nmf/{other} (peak memory):      {peaks['nmf'] / peaks[other]:.2f}")
    lines = findings.decode().splitlines()
    print(f"nmf findings: {len(lines)}")


if __name__ == "__main__":
    main()
