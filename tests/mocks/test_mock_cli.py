"""`stepmap run --mock-config FILE --test-case NAME`: results, and exit code 2 (no traceback) for every
mistake in the mock file or the test case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import stepmap
from tests.mocks.test_mock_config import ATHENA_BEDROCK, ATHENA_BEDROCK_MOCKS


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "Report.asl.json").write_text(json.dumps(ATHENA_BEDROCK))
    (tmp_path / "MockConfigFile.json").write_text(json.dumps(ATHENA_BEDROCK_MOCKS))
    return tmp_path


def test_run_with_a_mock_test_case(workdir: Path) -> None:
    result = stepmap(
        "run",
        "Report.asl.json",
        "--mock-config",
        "MockConfigFile.json",
        "--test-case",
        "HappyPath",
        "--executor",
        "sync",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"text": "one row"}


def test_without_a_mock_the_athena_task_is_refused(workdir: Path) -> None:
    result = stepmap("run", "Report.asl.json", "--executor", "sync", cwd=workdir)
    assert result.returncode == 2
    assert "athena" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "config", "expected"),
    [
        (["--test-case", "Nope"], ATHENA_BEDROCK_MOCKS, "no test case 'Nope'"),
        (["--test-case", "HappyPath"], {"StateMachines": {}, "MockedResponses": []}, "/MockedResponses"),
        (
            ["--test-case", "T"],
            {
                "StateMachines": {"Report": {"TestCases": {"T": {"Typo": "R"}}}},
                "MockedResponses": {"R": {"0": {"Return": 1}}},
            },
            "no state 'Typo'",
        ),
        ([], ATHENA_BEDROCK_MOCKS, "needs the test case"),
    ],
)
def test_mock_mistakes_exit_2_with_a_clear_message(
    workdir: Path, args: list[str], config: object, expected: str
) -> None:
    (workdir / "bad.json").write_text(json.dumps(config))
    result = stepmap(
        "run", "Report.asl.json", "--mock-config", "bad.json", *args, "--executor", "sync", cwd=workdir
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_mock_file_that_is_not_json_or_missing_exits_2(workdir: Path) -> None:
    (workdir / "broken.json").write_text("{")
    for name, expected in (("broken.json", "not JSON"), ("missing.json", "cannot read")):
        result = stepmap(
            "run",
            "Report.asl.json",
            "--mock-config",
            name,
            "--test-case",
            "T",
            "--executor",
            "sync",
            cwd=workdir,
        )
        assert result.returncode == 2 and expected in result.stderr, result.stderr
