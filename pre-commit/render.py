#!/usr/bin/env python3
"""Renders the pre-commit mirror of nmf (the repository `mrsndmn/nmf-pre-commit`) into a folder.

    python3 pre-commit/render.py OUT            # the workspace's version (Cargo.toml)
    python3 pre-commit/render.py OUT --version 0.2.0
    python3 pre-commit/render.py --print-version

The mirror is what pre-commit installs for `repo: https://github.com/mrsndmn/nmf-pre-commit`:
`mirror/*` with `${version}` replaced, this repository's `.pre-commit-hooks.yaml` (one
definition of the hook for both repositories) and its LICENSE. Files of OUT that the mirror does
not own (`.git`, …) are left alone. Standard library only: the release workflow runs it on a
bare runner.
"""

from __future__ import annotations

import argparse
import re
import shutil
import string
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATES = HERE / "mirror"
COPIED = (".pre-commit-hooks.yaml", "LICENSE")
# A public PEP 440 version as the release tags it (v0.2.0 → 0.2.0): it ends up in a `==` pin.
VERSION = re.compile(r"[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?")


def workspace_version() -> str:
    """The one place the version lives: `version` in the top-level Cargo.toml."""
    with (ROOT / "Cargo.toml").open("rb") as file:
        return tomllib.load(file)["workspace"]["package"]["version"]


def render(destination: Path, version: str) -> list[Path]:
    """Writes the mirror for `version` into `destination`; returns the files written. Every
    template is rendered before anything is written, so an error leaves `destination` as it was."""
    if not VERSION.fullmatch(version):
        raise ValueError(f"not a release version: {version!r} (expected e.g. 0.2.0 or 0.3.0rc1)")
    rendered = {}
    for template in sorted(TEMPLATES.iterdir()):
        # substitute(), not safe_substitute(): a misspelt placeholder is an error, not a
        # literal `${…}` in the published file.
        try:
            rendered[template.name] = string.Template(
                template.read_text(encoding="utf-8")).substitute(version=version)
        except (KeyError, ValueError) as error:
            raise ValueError(f"{template}: a placeholder other than ${{version}}: {error}") from None
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered.items():
        (destination / name).write_text(text, encoding="utf-8")
        written.append(destination / name)
    for name in COPIED:
        written.append(Path(shutil.copyfile(ROOT / name, destination / name)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", nargs="?", type=Path, help="the folder to render into")
    parser.add_argument("--version", default=None,
                        help="the flake8-no-model-forward-call version to pin (default: Cargo.toml's)")
    parser.add_argument("--print-version", action="store_true",
                        help="print the version that would be pinned and exit")
    arguments = parser.parse_args(argv)
    version = workspace_version() if arguments.version is None else arguments.version
    if arguments.print_version:
        print(version)
        return 0
    if arguments.destination is None:
        parser.error("the destination folder is required")
    try:
        for path in render(arguments.destination, version):
            print(path)
    except (ValueError, OSError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
