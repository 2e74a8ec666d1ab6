"""The command line: exit codes, stdout/stderr discipline, and clear messages for every input mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

DOUBLE = {
    "StartAt": "Double",
    "States": {"Double": {"Type": "Task", "Resource": "double", "End": True}},
}


def stepmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "stepmap.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "double.asl.json").write_text(json.dumps(DOUBLE))
    return tmp_path


def test_run_prints_output_on_stdout_and_exits_0(workdir: Path) -> None:
    result = stepmap(
        "run",
        "double.asl.json",
        "--function",
        "double=tests.cli.handlers_for_cli:double",
        "--input",
        '{"value": 21}',
        "--executor",
        "sync",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"value": 42}
    assert "doubling 21" in result.stderr  # handler output is captured and shown on stderr


def test_functions_registers_every_public_function_and_input_from_file(workdir: Path) -> None:
    (workdir / "in.json").write_text('{"value": 5}')
    result = stepmap(
        "run",
        "double.asl.json",
        "--functions",
        "tests.cli.handlers_for_cli",
        "--input",
        "@in.json",
        "--quiet",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"value": 10}
    assert "doubling" not in result.stderr  # --quiet


def test_failed_execution_exits_1_with_error_and_cause_on_stderr(workdir: Path) -> None:
    result = stepmap(
        "run",
        "double.asl.json",
        "--function",
        "double=tests.cli.handlers_for_cli:decline",
        "--executor",
        "sync",
        cwd=workdir,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    failure = json.loads(result.stderr.strip().splitlines()[-1])
    assert failure["error"] == "PaymentDeclined"
    cause = json.loads(failure["cause"])
    assert cause["errorMessage"] == "card 4242 declined" and cause["errorType"] == "PaymentDeclined"


def test_history_flag_prints_events(workdir: Path) -> None:
    result = stepmap(
        "run",
        "double.asl.json",
        "--function",
        "double=tests.cli.handlers_for_cli:double",
        "--input",
        '{"value": 1}',
        "--executor",
        "sync",
        "--history",
        "--quiet",
        cwd=workdir,
    )
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert events[0]["type"] == "ExecutionStarted"
    assert [e["type"] for e in events][-1] == "ExecutionSucceeded"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.json"], "does not exist"),
        (["run", "double.asl.json", "--input", "{not json"], "--input is not valid JSON"),
        (["run", "double.asl.json", "--input", "@nowhere.json"], "cannot read input file"),
        (["run", "double.asl.json"], "function 'double' is not registered"),
        (["run", "double.asl.json", "--function", "double"], "must look like NAME=module:attr"),
        (["run", "double.asl.json", "--function", "double=nomodule_xyz:f"], "cannot import module"),
        (["run", "double.asl.json", "--functions", "nomodule_xyz"], "cannot import module"),
        (["run", "bad.json"], "not valid JSON"),
        (["run", "invalid.json"], "MISSING_TRANSITION_TARGET"),
        (["validate", "invalid.json"], "MISSING_TRANSITION_TARGET"),
    ],
)
def test_user_mistakes_exit_2_with_a_clear_message_and_no_traceback(
    workdir: Path, args: list[str], message: str
) -> None:
    (workdir / "bad.json").write_text('{"StartAt": ')
    (workdir / "invalid.json").write_text(
        json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    )
    result = stepmap(*args, cwd=workdir)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_ok_and_json_diagnostics(workdir: Path) -> None:
    ok = stepmap("validate", "double.asl.json", cwd=workdir)
    assert ok.returncode == 0 and "OK" in ok.stdout
    (workdir / "invalid.json").write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}))
    bad = stepmap("validate", "invalid.json", "--json", cwd=workdir)
    assert bad.returncode == 2
    report = json.loads(bad.stdout)
    assert report["result"] == "FAIL"
    assert all({"severity", "code", "message", "location"} <= set(d) for d in report["diagnostics"])


def test_journal_commands_show_the_execution(workdir: Path) -> None:
    run = stepmap(
        "run",
        "double.asl.json",
        "--function",
        "double=tests.cli.handlers_for_cli:double",
        "--input",
        '{"value": 2}',
        "--name",
        "my-run",
        "--executor",
        "sync",
        cwd=workdir,
    )
    assert run.returncode == 0, run.stderr
    listing = stepmap("executions", cwd=workdir)
    assert "my-run" in listing.stdout and "SUCCEEDED" in listing.stdout
    described = json.loads(stepmap("describe", "my-run", cwd=workdir).stdout)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"value": 4}
    history = json.loads(stepmap("history", "my-run", cwd=workdir).stdout)
    assert history[0]["type"] == "ExecutionStarted"
    missing = stepmap("describe", "nope", cwd=workdir)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
