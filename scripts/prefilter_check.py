#!/usr/bin/env python3
"""Checks that the prefilter loses no finding: every rule on, with and without it.

    python3 scripts/prefilter_check.py NMF_BINARY [FOLDER ...]

Runs `nmf check --no-cache --select ALL --output-format json` twice in each project folder,
once with `--no-prefilter` (every file parsed, every rule run) and once with the default
prefilter, and demands the same rule findings (code, file, position, message, fix). Syntax
errors (E999) are left out of the comparison: only a parsed file reports them, and the
prefilter exists to leave files unparsed.

Without FOLDERs it checks the repository's fixtures, notebooks and projects and, when present, the corpora of
`/work/corpus` (each package of `sdists/` and of `nmf001-unseen/src/`, each project of
`nmf005/files/` and `nmf006-8/files/`), each folder as its own project so that its imports
resolve inside it. Exits 1 and prints the differences when a finding is lost or gained.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/corpus")


def default_folders() -> list[Path]:
    projects = ROOT / "resources" / "test" / "projects"
    folders = [ROOT / "resources" / "test" / "fixtures", ROOT / "resources" / "test" / "notebooks"]
    folders.extend(sorted(path for path in projects.iterdir() if path.is_dir()))
    for parent in ["sdists", "nmf001-unseen/src", "nmf005/files", "nmf006-8/files"]:
        base = CORPUS / parent
        if base.is_dir():
            folders.extend(sorted(path for path in base.iterdir() if path.is_dir()))
    return [folder for folder in folders if folder.is_dir()]


def findings(nmf: str, folder: Path, prefilter: bool) -> set[str]:
    command = [nmf, "check", "--no-cache", "--select", "ALL", "--output-format", "json",
               "--exit-zero"]
    if not prefilter:
        command.append("--no-prefilter")
    run = subprocess.run([*command, "."], cwd=folder, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"nmf failed in {folder} (exit {run.returncode}): {run.stderr}")
    found = set()
    for finding in json.loads(run.stdout or "[]"):
        if finding["code"] == "E999":
            continue
        found.add(json.dumps(finding, sort_keys=True))
    return found


def main() -> int:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    nmf = str(Path(sys.argv[1]).resolve())
    folders = [Path(folder) for folder in sys.argv[2:]] or default_folders()
    failed = False
    total = 0
    for folder in folders:
        every_file = findings(nmf, folder, prefilter=False)
        prefiltered = findings(nmf, folder, prefilter=True)
        total += len(every_file)
        lost, gained = every_file - prefiltered, prefiltered - every_file
        status = "ok" if not lost and not gained else "DIFFERENT"
        print(f"{status:9} {len(every_file):6} findings  {folder}")
        for label, differences in [("lost", lost), ("gained", gained)]:
            for difference in sorted(differences):
                failed = True
                print(f"  {label}: {difference}")
    print(f"{len(folders)} folders, {total} findings without the prefilter")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
