#!/usr/bin/env python3
"""Times `nmf check` against `ruff check` on the same real tree, alternating the two.

    python3 scripts/bench.py [--pairs 11] [--package transformers==5.24.0]
    python3 scripts/bench.py --generated    # generated code: many calls in one file
    python3 scripts/bench.py --notebooks 500   # the package's modules as 500 notebooks
    python3 scripts/bench.py --warm [--copies 16]   # reruns with both caches warm
    python3 scripts/bench.py --fill [--copies 16]   # nmf filling its cache against --no-cache
    python3 scripts/bench.py --all [--copies 16]    # all of the above on 1 and 16 copies: one table

Fetches the package's sdist from PyPI and ruff 0.17.6 into `.bench/` (ignored by git), builds
nmf in release mode, then runs the two tools in turn on the package's `src/` (or its root when it
has none), taking wall time, CPU time (user + system) and peak memory of each run from `wait4`. Prints the
medians, the ratios nmf/ruff, nmf's findings and the machine's load. These machines are shared
and noisy: quote the ratios (CPU time is the steadier one under load), not the absolute times.
`--nmf PATH` times a binary already built (an older one, to compare) instead of building.

By default both tools run without their caches. `--warm` fills each tool's cache once and then
times reruns on the unchanged tree; `--fill` times nmf filling an empty cache against nmf with
`--no-cache` (the cache's cost on a cold run). `--copies N` checks N hard-linked copies of the
tree side by side, each with the package's `pyproject.toml` (a project of its own, as in a
monorepo); `--bare-copies` leaves the marker out, as this script made them before (no project index is built then).
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
# The files that make a folder a project root for nmf (and ruff).
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py")


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


# GNU time, to take a tool's peak memory. `ru_maxrss` from `wait4` alone would count this
# Python process too: Linux carries the high-water mark of the forked copy of it across `exec`,
# so a tool smaller than the script (tens of MiB after walking 46,592 files) would read as large
# as the script. Through GNU time the tool is forked from a process of a few hundred KiB.
GNU_TIME = Path("/usr/bin/time")


def timed(command: list[str], cwd: Path) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds (user + system), peak RSS in KiB, and stdout of one run."""
    peak_file = None
    if GNU_TIME.exists():
        peak_file = BENCH / "peak-rss.txt"
        command = [str(GNU_TIME), "-f", "%M", "-o", str(peak_file)] + command
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{command[0]} failed with exit status {code}")
    peak = usage.ru_maxrss
    if peak_file is not None:
        peak = int(peak_file.read_text().split()[-1])
    return elapsed, usage.ru_utime + usage.ru_stime, peak, output


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


def copies(tree: Path, count: int, bare: bool = False) -> Path:
    """`count` copies of the tree side by side, hard-linked so they cost no disk.

    Each copy is a project of its own, as packages sit in a monorepo: when the tree is a
    package's `src/`, the package's marker files are linked into every copy too, so nmf builds
    each copy's project index as it does for one copy. `bare` leaves them out, as copies were
    made before: no copy is then inside a project nmf can index, which hides the index's cost.
    """
    suffix = f"-x{count}" if bare else f"-x{count}p"
    folder = BENCH / f"{tree.parent.name if tree.name == 'src' else tree.name}{suffix}"
    if not folder.exists():
        staging = folder.with_suffix(".partial")
        markers = [] if bare or tree.name != "src" else [
            tree.parent / name for name in PROJECT_MARKERS if (tree.parent / name).is_file()]
        for index in range(count):
            copy = staging / f"copy{index:02}"
            for path in tree.rglob("*"):
                if path.is_dir() or path.name.startswith(".") or ".nmf_cache" in path.parts \
                        or ".ruff_cache" in path.parts:
                    continue
                target = copy / path.relative_to(tree)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
            for marker in markers:
                os.link(marker, copy / marker.name)
        staging.rename(folder)
    return folder


def clear_caches(tree: Path) -> None:
    for name in (".nmf_cache", ".ruff_cache"):
        run(["rm", "-rf", str(tree / name)])


def load() -> str:
    """The machine's load averages, to print next to the figures."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


class Row:
    """One comparison: medians of wall and CPU time and the peak memory of each side."""

    def __init__(self, label: str, names: tuple[str, str],
                 samples: dict[str, list[tuple[float, float, int]]], findings: int) -> None:
        self.label = label
        self.names = names
        self.samples = samples
        self.findings = findings
        self.wall = {tool: statistics.median(s[0] for s in runs) for tool, runs in samples.items()}
        self.cpu = {tool: statistics.median(s[1] for s in runs) for tool, runs in samples.items()}
        self.peak = {tool: statistics.median(s[2] for s in runs) / 1024
                     for tool, runs in samples.items()}

    def ratio(self, measure: dict[str, float]) -> float:
        ours, theirs = self.names
        return measure[ours] / measure[theirs]

    def details(self) -> str:
        lines = []
        for tool in self.names:
            times = ", ".join(f"{s[0] * 1000:.0f}" for s in self.samples[tool])
            lines.append(f"{tool:>8}: median {self.wall[tool] * 1000:.0f} ms wall, "
                         f"{self.cpu[tool] * 1000:.0f} ms cpu, peak RSS {self.peak[tool]:.1f} MiB"
                         f"  [{times}]")
        lines.append(f"ratio {self.names[0]}/{self.names[1]}: wall {self.ratio(self.wall):.2f}, "
                     f"cpu {self.ratio(self.cpu):.2f}, peak memory {self.ratio(self.peak):.2f}")
        lines.append(f"nmf findings: {self.findings}")
        return "\n".join(lines)


def compare(mode: str, tree: Path, nmf: Path, ruff: Path, pairs: int) -> Row:
    """Runs the two sides of `mode` (cold, warm or fill) in turn on `tree`, `pairs` times each
    after one discarded warm-up pair, and returns their medians."""
    clear_caches(tree)
    # Every rule, whatever the defaults become.
    nmf_check = [str(nmf), "check", "--isolated", "--select", "ALL", str(tree)]
    ruff_check = [str(ruff), "check", "--isolated", "--select", "T201", str(tree)]
    before = {}
    if mode == "warm":
        names = ("nmf", "ruff")
        commands = {"nmf": nmf_check, "ruff": ruff_check}
    elif mode == "fill":
        # Both are nmf; the filling run starts from an empty cache every time.
        names = ("nmf", "no-cache")
        commands = {"nmf": nmf_check, "no-cache": nmf_check + ["--no-cache"]}
        before = {"nmf": lambda: clear_caches(tree)}
    else:
        names = ("nmf", "ruff")
        commands = {"nmf": nmf_check + ["--no-cache"], "ruff": ruff_check + ["--no-cache"]}
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in names}
    findings = b""
    for index in range(pairs + 1):
        order = list(names) if index % 2 == 0 else list(reversed(names))
        for tool in order:
            if tool in before:
                before[tool]()
            seconds, cpu, peak, output = timed(commands[tool], tree)
            if index > 0:
                samples[tool].append((seconds, cpu, peak))
            elif mode == "warm":
                # nmf trusts a stat only once it is 2 s older than the cache (as git treats
                # "racily clean" files); reruns seconds apart are what users do.
                time.sleep(2.5)
            if tool == "nmf":
                findings = output
    clear_caches(tree)
    return Row(mode, names, samples, len(findings.decode().splitlines()))


def describe(tree: Path) -> str:
    files = sum(1 for _ in tree.rglob("*.py")) + sum(1 for _ in tree.rglob("*.ipynb"))
    return f"{tree} ({files} Python files and notebooks)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, help="alternating runs of each tool "
                        "(default 11; with --all, 7 on one copy and 3 on the copies)")
    parser.add_argument("--package", default="transformers==5.24.0", help="the sdist to check")
    parser.add_argument("--nmf", type=Path, help="time this nmf binary instead of building one")
    parser.add_argument("--generated", action="store_true",
                        help="time generated files with thousands of calls instead")
    parser.add_argument("--notebooks", type=int, metavar="N",
                        help="time a folder of N notebooks made from the package's modules")
    parser.add_argument("--copies", type=int, metavar="N", help="check N copies of the tree "
                        "(with --all: the larger size, default 16), each a project of its own")
    parser.add_argument("--bare-copies", action="store_true",
                        help="copies without the package's project marker (no project index: "
                        "as copies were made before, to compare with older figures)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--warm", action="store_true",
                      help="time reruns with both tools' caches filled")
    mode.add_argument("--fill", action="store_true",
                      help="time nmf filling an empty cache against nmf --no-cache")
    mode.add_argument("--all", action="store_true",
                      help="the whole table: cold, warm and fill, on one copy and on --copies")
    args = parser.parse_args()
    if args.generated:
        generated(args.nmf or nmf_binary(), ruff_binary())
        return

    tree = fetch_corpus(args.package)
    if args.notebooks:
        tree = notebooks(tree, args.notebooks)
    ruff = ruff_binary()
    nmf = args.nmf.resolve() if args.nmf else nmf_binary()
    if args.all:
        count = args.copies or 16
        large = copies(tree, count, args.bare_copies)
        runs = [("cold", tree, "1x"), ("cold", large, f"{count}x"), ("warm", tree, "1x"),
                ("warm", large, f"{count}x"), ("fill", tree, "1x"), ("fill", large, f"{count}x")]
        print(f"trees: {describe(tree)}; {describe(large)}")
        rows = []
        for mode, where, size in runs:
            pairs = args.pairs or (7 if where == tree else 3)
            print(f"\n{mode} {size}, {pairs} pairs, alternating, first pair discarded; {load()}")
            row = compare(mode, where, nmf, ruff, pairs)
            row.label = f"{mode} {size}"
            print(row.details(), flush=True)
            rows.append(row)
        print(f"\n{'':>9}  {'wall':>13}  {'cpu':>13}  {'peak MiB':>13}  ratio to")
        for row in rows:
            ours, theirs = row.names
            print(f"{row.label:>9}  {row.wall[ours]:5.2f}s {row.ratio(row.wall):5.2f}x  "
                  f"{row.cpu[ours]:5.2f}s {row.ratio(row.cpu):5.2f}x  "
                  f"{row.peak[ours]:5.1f} {row.ratio(row.peak):5.2f}x  {theirs} "
                  f"({row.wall[theirs]:.2f}s, {row.cpu[theirs]:.2f}s cpu, "
                  f"{row.peak[theirs]:.1f} MiB)")
        print(load())
        return

    if args.copies:
        tree = copies(tree, args.copies, args.bare_copies)
    mode = "warm" if args.warm else "fill" if args.fill else "cold"
    pairs = args.pairs or 11
    print(f"tree: {describe(tree)}")
    print(f"pairs: {pairs}, alternating; first run of each discarded as warm-up; {load()}")
    print("caches: " + ("filled before timing" if mode == "warm" else
                        "nmf's emptied before each nmf run" if mode == "fill" else "off"))
    print(compare(mode, tree, nmf, ruff, pairs).details())
    print(load())


if __name__ == "__main__":
    main()
