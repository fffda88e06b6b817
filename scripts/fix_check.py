#!/usr/bin/env python3
"""Runs `nmf check --fix --unsafe-fixes` on copies of real projects and checks the result.

    python3 scripts/fix_check.py [transformers==5.24.0 peft==0.21.2 ...]

For each sdist (fetched from PyPI into `.bench/`), a copy of the whole tree is fixed, then:
every changed file must parse with CPython's `ast`, no file without a finding may change, a
second `--fix` must change nothing, and no fixable finding may be left. Prints the counts.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import BENCH, fetch_corpus, nmf_binary  # noqa: E402


def digests(root: Path) -> dict[Path, str]:
    return {
        path.relative_to(root): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def findings(nmf: Path, root: Path) -> list[dict]:
    result = subprocess.run(
        [str(nmf), "check", "--isolated", "--no-cache", "--unsafe-fixes", "--output-format", "json", "."],
        cwd=root, capture_output=True, text=True, check=False,
    )
    return json.loads(result.stdout)


def check_package(nmf: Path, requirement: str) -> bool:
    source = fetch_corpus(requirement)
    source = source.parent if source.name == "src" else source
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / source.name
        shutil.copytree(source, root, symlinks=True)
        before = digests(root)
        found = findings(nmf, root)
        with_finding = {Path(f["filename"]) for f in found if f["code"].startswith("NMF")}
        fixable = [f for f in found if f["fix"] is not None]

        subprocess.run([str(nmf), "check", "--isolated", "--no-cache", "--fix", "--unsafe-fixes", "--quiet", "."],
                       cwd=root, capture_output=True, check=False)
        after = digests(root)
        changed = sorted(path for path in before if before[path] != after.get(path))
        unparseable = []
        for path in changed:
            try:
                ast.parse((root / path).read_bytes(), filename=str(path))
            except SyntaxError as error:
                unparseable.append(f"{path}: {error}")
        changed_without_finding = [path for path in changed if path not in with_finding]

        subprocess.run([str(nmf), "check", "--isolated", "--no-cache", "--fix", "--unsafe-fixes", "--quiet", "."],
                       cwd=root, capture_output=True, check=False)
        second_changes = [path for path, digest in digests(root).items() if after.get(path) != digest]
        left = [f for f in findings(nmf, root) if f["fix"] is not None]

        print(f"{requirement}: {len(found)} findings in {len(with_finding)} files, "
              f"{len(fixable)} fixable; --fix --unsafe-fixes changed {len(changed)} files")
        print(f"  changed files CPython cannot parse: {len(unparseable)}")
        print(f"  changed files without a finding:    {len(changed_without_finding)}")
        print(f"  files a second --fix changed:       {len(second_changes)}")
        print(f"  fixable findings left:              {len(left)}")
        for problem in unparseable + [str(p) for p in changed_without_finding + second_changes]:
            print(f"    {problem}")
        return not (unparseable or changed_without_finding or second_changes or left)


def main() -> None:
    packages = sys.argv[1:] or ["transformers==5.24.0", "peft==0.21.2"]
    BENCH.mkdir(exist_ok=True)
    nmf = nmf_binary()
    results = [check_package(nmf, requirement) for requirement in packages]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
