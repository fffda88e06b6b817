"""The GitHub Action (action.yml): its inputs as YAML, its steps and the workflows through
actionlint (and ShellCheck), and its scripts run as a runner runs them, against the built wheel.

GitHub cannot be run here, so `run_action` plays the runner for this action: it evaluates the
few expression forms the action uses (anything else fails the test, which keeps the action
within what is tested), runs each `shell: bash` step with `bash --noprofile --norc -eo pipefail`
as GitHub does, passes step outputs through a GITHUB_OUTPUT file, and stands in for the two
actions the steps use: setup-python (the interpreter running these tests) and upload-sarif
(recorded, not run). pip installs from the folder index of conftest.py, offline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, ROOT, assert_no_rust_tool_ran, run

ACTION = ROOT / "action.yml"
WORKFLOWS = ROOT / ".github" / "workflows"
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
CONTEXT_PATH = re.compile(r"inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+")
# The `uses:` the action may have, and what the test runner does in their place.
SETUP_PYTHON = "actions/setup-python@"
UPLOAD_SARIF = "github/codeql-action/upload-sarif@"


def load_action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return load_action()["runs"]["steps"]


def tool(name: str) -> str:
    """A tool scripts/test installed into .venv next to this interpreter (actionlint and
    shellcheck come as binaries in PyPI wheels)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed next to {sys.executable}: run scripts/test"
    return found


def workspace_version() -> str:
    with (ROOT / "Cargo.toml").open("rb") as file:
        return tomllib.load(file)["workspace"]["package"]["version"]


# The action's YAML.

def test_every_input_is_optional_documented_and_has_a_string_default():
    inputs = load_action()["inputs"]
    assert set(inputs) == {"version", "args", "output-format", "sarif"}
    for name, spec in inputs.items():
        assert spec.get("required") is False, name
        assert isinstance(spec.get("default"), str), f"{name}: the default must be a string"
        assert len(spec.get("description", "")) > 20, f"{name} needs a description"


def test_the_readme_documents_every_input():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### GitHub Action"):]
    for name, spec in load_action()["inputs"].items():
        assert f"| `{name}` |" in section, f"README's table of inputs lacks {name}"
        assert spec["default"] == "" or f"`{spec['default']}`" in section, name


def test_the_default_version_is_the_workspace_version():
    """The action installs the release it is tagged with, whatever ref it is used by (a tag, a
    branch or a commit hash): the default is written in action.yml and bumped with Cargo.toml."""
    assert load_action()["inputs"]["version"]["default"] == workspace_version()


def test_steps_refer_only_to_declared_inputs_and_earlier_steps_outputs():
    action = load_action()
    declared = set(action["inputs"])
    used_inputs = set()
    known_outputs: dict[str, set[str]] = {}

    def check(value, where: str) -> None:
        for path in CONTEXT_PATH.findall(" ".join(expressions(value))):
            kind, name, *rest = path.split(".")
            if kind == "inputs":
                assert name in declared, f"{where}: {path} is not an input"
                used_inputs.add(name)
            else:
                assert rest[-1] in known_outputs.get(name, set()), \
                    f"{where}: {path} is no output of an earlier step"

    for step in steps():
        check(step, step["name"])
        if step.get("uses", "").startswith(SETUP_PYTHON):
            known_outputs[step["id"]] = {"python-path"}
        elif "run" in step and "id" in step:
            # What the script writes to GITHUB_OUTPUT: `"NAME=...` in bash or Python.
            known_outputs[step["id"]] = set(re.findall(r"[\"']([\w-]+)=", step["run"]))
    check(action["outputs"], "outputs")
    assert used_inputs == declared, f"inputs never used: {declared - used_inputs}"


def expressions(value) -> list[str]:
    """The text inside every `${{ }}` of a step (or any YAML value), and its `if:`."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "if" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(expressions(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(expressions(item))
    elif isinstance(value, str):
        found.extend(EXPRESSION.findall(value))
    return found


def test_no_expression_is_pasted_into_a_script():
    """`${{ inputs.args }}` in `run:` would be pasted into the script before bash reads it, so
    an input could run commands; the steps read inputs from `env:` instead."""
    for step in steps():
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash", step["name"]


# actionlint and ShellCheck.

def actionlint(cwd: Path, *files: str) -> subprocess.CompletedProcess:
    shellcheck = tool("shellcheck")
    return run([tool("actionlint"), "-oneline", "-shellcheck", shellcheck, "-pyflakes", "",
                *files], cwd)


def test_actionlint_accepts_the_workflows():
    result = actionlint(ROOT, *sorted(str(path) for path in WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_accepts_the_action_steps_as_a_workflow_job(tmp_path):
    """actionlint lints workflows, not action metadata: the steps are lint as the job of a
    reusable workflow whose inputs are the action's, so it checks the expressions (`inputs.*`,
    `steps.*.outputs.*`), the `uses:` and their `with:`, and ShellCheck reads every script."""
    action = load_action()
    workflow = {
        "name": "action steps",
        "on": {"workflow_call": {"inputs": {
            name: {"description": spec["description"], "type": "string",
                   "required": False, "default": spec["default"]}
            for name, spec in action["inputs"].items()}}},
        "permissions": {"contents": "read", "security-events": "write"},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    target = tmp_path / ".github" / "workflows" / "action.yml"
    target.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = actionlint(tmp_path, str(target))
    assert result.returncode == 0, result.stdout + result.stderr

    # The same lint fails on a step that reads an input the action does not declare.
    action["runs"]["steps"][1]["env"]["NMF_VERSION"] = "${{ inputs.no-such-input }}"
    workflow["jobs"]["action"]["steps"] = action["runs"]["steps"]
    target.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = actionlint(tmp_path, str(target))
    assert result.returncode == 1 and "no-such-input" in result.stdout, result.stdout


def test_actionlint_checks_a_workflow_that_uses_the_action(tmp_path):
    """A workflow using the action (`uses: ./`, as actionlint resolves local actions): every
    input is accepted, and an undeclared one is an error, so action.yml was read."""
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    shutil.copy(ACTION, tmp_path / "action.yml")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    target = tmp_path / ".github" / "workflows" / "nmf.yml"

    def workflow(with_: dict[str, str]) -> str:
        return yaml.safe_dump({
            "name": "nmf", "on": "pull_request",
            "permissions": {"contents": "read", "security-events": "write"},
            "jobs": {"nmf": {"runs-on": "ubuntu-latest", "steps": [
                {"uses": "actions/checkout@v6"},
                {"id": "nmf", "uses": "./", "with": with_},
                {"run": "echo \"$SARIF\"", "env": {"SARIF": "${{ steps.nmf.outputs.sarif-file }}"}},
            ]}}}, sort_keys=False)

    target.write_text(workflow({"version": "0.2.0", "args": "src/ 'a b.py'",
                                "output-format": "github", "sarif": "true"}))
    result = actionlint(tmp_path, str(target))
    assert result.returncode == 0, result.stdout + result.stderr
    target.write_text(workflow({"versoin": "0.2.0"}))
    result = actionlint(tmp_path, str(target))
    assert result.returncode == 1 and '"versoin" is not defined' in result.stdout, result.stdout


# The action's steps, run.

@dataclass
class ActionRun:
    """What a run of the action did: each step's result, and the uploads it asked for."""
    steps: dict[str, subprocess.CompletedProcess | None] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    uploads: list[dict[str, str]] = field(default_factory=list)
    failed_step: str | None = None

    @property
    def returncode(self) -> int:
        if self.failed_step is None:
            return 0
        return self.steps[self.failed_step].returncode

    def output(self, step: str) -> str:
        result = self.steps[step]
        assert result is not None, f"step {step} did not run"
        return result.stdout + result.stderr


def evaluate(expression: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """The value of `inputs.NAME` or `steps.ID.outputs.NAME`: the only expressions the action's
    values use (GitHub gives '' for an output a step did not set)."""
    expression = expression.strip()
    if expression.startswith("inputs."):
        return inputs[expression.removeprefix("inputs.")]
    match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
    assert match, f"the test runner does not evaluate `{expression}`"
    return outputs.get(match.group(1), {}).get(match.group(2), "")


def substitute(value: str, inputs, outputs) -> str:
    return EXPRESSION.sub(lambda match: evaluate(match.group(1), inputs, outputs), str(value))


def condition(text: str | None, failed: bool, inputs, outputs) -> bool:
    """An `if:` made of `&&`-joined terms: `!cancelled()`, `success()`, `always()`, and
    `VALUE == 'text'` / `VALUE != 'text'`. Without a status function, GitHub adds `success()`."""
    if text is None:
        return not failed
    text = text.strip()
    if text.startswith("${{"):
        text = text.removeprefix("${{").removesuffix("}}")
    terms = [term.strip() for term in text.split("&&")]
    result = True
    if not {"!cancelled()", "success()", "always()"} & set(terms):
        result = not failed
    for term in terms:
        if term in ("!cancelled()", "always()"):
            continue
        if term == "success()":
            result &= not failed
            continue
        match = re.fullmatch(r"(\S+) (==|!=) '([^']*)'", term)
        assert match, f"the test runner does not evaluate `{term}`"
        value = evaluate(match.group(1), inputs, outputs)
        result &= (value == match.group(3)) == (match.group(2) == "==")
    return result


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's `name=value` lines and `name<<DELIMITER` blocks."""
    outputs = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_action(workspace: Path, runner_temp: Path, environment: dict[str, str],
               **given: str) -> ActionRun:
    """Runs action.yml's steps in `workspace` with the inputs `given` (the others default;
    `output_format` stands for `output-format`)."""
    declared = load_action()["inputs"]
    given = {name.replace("_", "-"): value for name, value in given.items()}
    assert set(given) <= set(declared), f"no such input: {set(given) - set(declared)}"
    inputs = {name: spec["default"] for name, spec in declared.items()} | given
    result = ActionRun()
    for index, step in enumerate(steps()):
        name = step.get("id", f"step-{index}")
        if not condition(step.get("if"), result.failed_step is not None, inputs, result.outputs):
            result.steps[name] = None
            continue
        if "uses" in step:
            with_ = {key: substitute(value, inputs, result.outputs)
                     for key, value in step.get("with", {}).items()}
            if step["uses"].startswith(SETUP_PYTHON):
                base = getattr(sys, "_base_executable", sys.executable)
                result.outputs[name] = {"python-path": base}
            elif step["uses"].startswith(UPLOAD_SARIF):
                result.uploads.append(with_)
            else:
                raise AssertionError(f"the test runner cannot stand in for {step['uses']}")
            result.steps[name] = subprocess.CompletedProcess(step["uses"], 0, "", "")
            continue
        script = runner_temp / f"{name}.sh"
        script.write_text(step["run"])
        github_output = runner_temp / f"{name}.output"
        github_output.write_text("")
        env = {**environment, "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(github_output)}
        env.update({key: substitute(value, inputs, result.outputs)
                    for key, value in step.get("env", {}).items()})
        completed = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                        workspace, env=env)
        result.steps[name] = completed
        result.outputs[name] = read_outputs(github_output)
        if completed.returncode != 0 and result.failed_step is None:
            result.failed_step = name
    return result


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory) -> Path:
    """RUNNER_TEMP, kept for the module as for a job: the action's venv made by the first test
    is reused by the next ones, as when a job uses the action twice."""
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A checkout: the seed example (one NMF001) and a clean file."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "example.py")
    (folder / "clean.py").write_text("import torch\n\nmodel = torch.nn.Linear(2, 2)\nmodel(x)\n")
    return folder


GITHUB_FINDING = ("::error title=nmf (NMF001),file=example.py,line=9,col=1,endLine=9,endColumn=14::"
                  "example.py:9:1: NMF001 Do not call .forward() directly; use model(inputs) "
                  "instead so DDP backward hooks run")


def annotations(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("::error")]


def test_findings_fail_the_step_as_annotations(workspace, runner_temp, offline_environment):
    result = run_action(workspace, runner_temp, offline_environment)
    assert result.failed_step == "check", result.output(result.failed_step or "check")
    assert result.returncode == 1
    assert "nmf " + workspace_version() in result.output("install")
    assert annotations(result.steps["check"].stdout) == [GITHUB_FINDING]
    assert result.outputs["check"] == {}
    assert result.steps["upload"] is None and result.uploads == []
    assert_no_rust_tool_ran(offline_environment)


def test_a_clean_tree_passes(workspace, runner_temp, offline_environment):
    (workspace / "example.py").unlink()
    result = run_action(workspace, runner_temp, offline_environment)
    assert result.returncode == 0, result.output("check")
    assert annotations(result.output("check")) == []


def test_args_keep_quoted_spaces_and_quotes(workspace, runner_temp, offline_environment):
    folder = workspace / "src dir"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "my model.py")
    shutil.copy(EXAMPLE, folder / "it's.py")
    shutil.copy(EXAMPLE, folder / 'say "hi".py')
    # Three quoting styles, over two lines as a YAML block would give them.
    args = (""" "src dir/my model.py"  'src dir/it'"'"'s.py' \n"""
            """ src\\ dir/say\\ \\"hi\\".py  --select NMF001 """)
    result = run_action(workspace, runner_temp, offline_environment, args=args,
                        output_format="concise")
    assert result.returncode == 1, result.output("check")
    reported = sorted(line.split(":")[0] for line in result.steps["check"].stdout.splitlines()
                      if "NMF001" in line)
    assert reported == ["src dir/it's.py", "src dir/my model.py", 'src dir/say "hi".py']


def test_args_are_never_expanded_or_run(workspace, runner_temp, offline_environment):
    """Words that a shell would expand or run reach nmf as they are written (as paths that do
    not exist), and nothing runs."""
    args = "$(touch pwned-1) `touch pwned-2` $HOME *.py ;touch pwned-3"
    result = run_action(workspace, runner_temp, offline_environment, args=args)
    assert result.failed_step == "check"
    output = result.output("check")
    for word in ("$(touch", "`touch", "$HOME", "*.py", ";touch"):
        assert word in output, (word, output)
    assert os.environ["HOME"] not in output
    assert not list(workspace.glob("pwned*")) and not list(Path.cwd().glob("pwned*"))
    assert "example.py:9:1" not in output  # `*.py` was not a glob


def test_args_that_cannot_be_split_are_an_error(workspace, runner_temp, offline_environment):
    result = run_action(workspace, runner_temp, offline_environment, args='src "unclosed')
    assert result.failed_step == "check" and result.returncode == 2
    assert annotations(result.steps["check"].stdout) == [
        "::error title=nmf action::the args input cannot be split into words: No closing quotation"]


def test_sarif_is_written_and_uploaded_though_findings_fail_the_step(
        workspace, runner_temp, offline_environment):
    sarif = runner_temp / "nmf.sarif"
    sarif.unlink(missing_ok=True)
    result = run_action(workspace, runner_temp, offline_environment, sarif="true")
    assert result.failed_step == "check" and result.returncode == 1
    assert annotations(result.steps["check"].stdout) == [GITHUB_FINDING]
    assert result.outputs["check"] == {"sarif-file": str(sarif)}
    assert result.uploads == [{"sarif_file": str(sarif), "category": "nmf"}]
    log = json.loads(sarif.read_text())
    (finding,) = log["runs"][0]["results"]
    assert finding["ruleId"] == "NMF001"
    location = finding["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "example.py"
    assert location["region"]["startLine"] == 9


def test_a_clean_tree_uploads_an_empty_sarif(workspace, runner_temp, offline_environment):
    (workspace / "example.py").unlink()
    result = run_action(workspace, runner_temp, offline_environment, sarif="true")
    assert result.returncode == 0, result.output("check")
    (upload,) = result.uploads
    assert json.loads(Path(upload["sarif_file"]).read_text())["runs"][0]["results"] == []


@pytest.mark.parametrize("inputs, message", [
    ({"version": "0.2.0; rm -rf ~"}, "the version input must be a release"),
    ({"version": ""}, "the version input must be a release"),
    ({"version": ">=0.2"}, "the version input must be a release"),
    ({"sarif": "yes"}, "the sarif input must be true or false"),
])
def test_bad_inputs_are_refused_before_installing(workspace, tmp_path, offline_environment,
                                                  inputs, message):
    fresh_temp = tmp_path / "runner-temp"
    fresh_temp.mkdir()
    result = run_action(workspace, fresh_temp, offline_environment, **inputs)
    assert result.failed_step == "install" and result.returncode == 2
    (annotation,) = annotations(result.steps["install"].stdout)
    assert annotation.startswith(f"::error title=nmf action::{message}")
    assert not (fresh_temp / "nmf-action").exists()
    assert result.steps["check"] is None


def test_a_version_that_is_not_released_fails_the_install(workspace, tmp_path,
                                                          offline_environment):
    fresh_temp = tmp_path / "runner-temp"
    fresh_temp.mkdir()
    result = run_action(workspace, fresh_temp, offline_environment, version="9.9.9")
    assert result.failed_step == "install" and result.returncode != 0
    assert "flake8-no-model-forward-call==9.9.9" in result.output("install")
    assert result.steps["check"] is None


def test_latest_installs_the_newest_release(workspace, runner_temp, offline_environment):
    result = run_action(workspace, runner_temp, offline_environment, version="latest")
    assert "nmf " + workspace_version() in result.output("install")
    assert result.returncode == 1
