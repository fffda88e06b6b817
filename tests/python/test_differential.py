"""Every fixture gives the same findings through flake8 and through `nmf check`.

Both read the same `# noqa` comments, positions and messages: a difference is a bug in one of
the two front doors to the same engine.
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES

FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))
PROJECTS = sorted(path for path in (FIXTURES.parent / "projects").iterdir() if path.is_dir())


def flake8_findings(flake8, path) -> set[tuple[int, int, str]]:
    result = flake8("--isolated", "--select=NMF", "--format=%(row)d|%(col)d|%(code)s %(text)s",
                    path.name, cwd=path.parent)
    assert result.returncode in (0, 1), result.stderr
    assert "E999" not in result.stdout, f"CPython cannot parse {path.name}: {result.stdout}"
    findings = set()
    for line in result.stdout.splitlines():
        row, col, text = line.split("|", 2)
        findings.add((int(row), int(col), text))
    return findings


def nmf_findings(nmf, path) -> set[tuple[int, int, str]]:
    result = nmf("check", "--isolated", "--select=NMF", "--output-format=json-lines", path.name,
                 cwd=path.parent)
    assert result.returncode in (0, 1), result.stderr
    findings = set()
    for line in result.stdout.splitlines():
        message = json.loads(line)
        location = message["location"]
        findings.add((location["row"], location["column"], f"{message['code']} {message['message']}"))
    return findings


def test_there_are_fixtures_and_projects():
    assert len(FIXTURE_FILES) >= 5
    assert PROJECTS


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[path.name for path in FIXTURE_FILES])
def test_flake8_and_nmf_agree(flake8, nmf, path):
    assert flake8_findings(flake8, path) == nmf_findings(nmf, path)


@pytest.mark.parametrize("project", PROJECTS, ids=[path.name for path in PROJECTS])
def test_flake8_and_nmf_agree_on_whole_projects(flake8, nmf, project):
    """Type inference across files gives the same answers through both front doors."""
    flake8_result = flake8("--isolated", "--select=NMF", "--format=%(path)s|%(row)d|%(col)d|%(code)s",
                           ".", cwd=project)
    nmf_result = nmf("check", "--isolated", "--select=NMF", "--output-format=json-lines", ".",
                     cwd=project)
    from_flake8 = set()
    for line in flake8_result.stdout.splitlines():
        path, row, col, code = line.split("|")
        from_flake8.add((path.removeprefix("./"), int(row), int(col), code))
    from_nmf = set()
    for line in nmf_result.stdout.splitlines():
        message = json.loads(line)
        from_nmf.add((message["filename"], message["location"]["row"], message["location"]["column"],
                      message["code"]))
    assert from_nmf, "the project has findings"
    assert from_flake8 == from_nmf
