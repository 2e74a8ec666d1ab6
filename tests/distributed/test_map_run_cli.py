"""The Map Run journal seen through the command line: ``stepmap run`` records each Map Run in the state
directory, ``stepmap map-runs`` lists them with their counts and ``stepmap describe-map-run`` prints AWS's
DescribeMapRun shape (itemCounts / executionCounts with pending, running, succeeded, failed, timedOut,
aborted, total, resultsWritten, ...). Expected values follow AWS's API reference (DescribeMapRun,
MapRunItemCounts, MapRunExecutionCounts) and concepts-examine-map-run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stepmap.storage import LocalObjectStore

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "bkt"
HANDLERS = "tests.distributed.dm_handlers"
COUNTER_KEYS = {
    "pending",
    "running",
    "succeeded",
    "failed",
    "timedOut",
    "aborted",
    "total",
    "resultsWritten",
    "failuresNotRedrivable",
    "pendingRedrive",
}
DESCRIBE_KEYS = {
    "mapRunArn",
    "executionArn",
    "status",
    "startDate",
    "stopDate",
    "maxConcurrency",
    "toleratedFailurePercentage",
    "toleratedFailureCount",
    "itemCounts",
    "executionCounts",
    "redriveCount",
}


@dataclass
class Cli:
    """A working directory with a store (one bucket) and a state directory, and the CLI run inside it."""

    cwd: Path

    @property
    def store(self) -> LocalObjectStore:
        return LocalObjectStore(str(self.cwd / "s3"))

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        for name in ("STEPMAP_STATE_DIR", "STEPMAP_STORE", "STEPMAP_S3_ENDPOINT"):
            env.pop(name, None)
        return subprocess.run(
            [sys.executable, "-m", "stepmap.cli", *args],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def run(self, definition: dict[str, Any], input: Any, *, name: str) -> subprocess.CompletedProcess[str]:
        path = self.cwd / f"{name}.asl.json"
        path.write_text(json.dumps(definition))
        return self(
            "run",
            str(path),
            "--input",
            json.dumps(input),
            "--name",
            name,
            "--executor",
            "sync",
            "--quiet",
            "--function",
            f"echo={HANDLERS}:echo",
            "--function",
            f"fail_marked={HANDLERS}:fail_marked",
            "--store",
            "s3",
            "--state-dir",
            "state",
        )

    def describe_map_run(self, arn: str) -> dict[str, Any]:
        result = self("describe-map-run", arn, "--state-dir", "state")
        assert result.returncode == 0, result.stderr
        described: dict[str, Any] = json.loads(result.stdout)
        return described

    def map_run_arns(self, execution: str) -> list[str]:
        result = self("history", execution, "--state-dir", "state")
        assert result.returncode == 0, result.stderr
        return [
            e["mapRunStartedEventDetails"]["mapRunArn"]
            for e in json.loads(result.stdout)
            if e["type"] == "MapRunStarted"
        ]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    LocalObjectStore(str(tmp_path / "s3")).create_bucket(BUCKET)
    return Cli(tmp_path)


def distributed(handler: str = "echo", **fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": handler, "End": True}},
    }
    state = {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": processor, "End": True, **fields}
    return {"StartAt": "Fan", "States": {"Fan": state}}


def items_of(n: int, failing: set[int] | None = None) -> list[dict[str, Any]]:
    return [{"id": i, "fail": i in (failing or set())} for i in range(n)]


def counts(**nonzero: int) -> dict[str, int]:
    return {key: nonzero.get(key, 0) for key in COUNTER_KEYS}


def test_describe_map_run_of_a_successful_run(cli: Cli) -> None:
    cli.store.put(BUCKET, "in.jsonl", b"".join(b'{"n": %d}\n' % i for i in range(5)))
    definition = distributed(
        MaxConcurrency=3,
        ToleratedFailureCount=2,
        ToleratedFailurePercentage=40,
        Label="Lbl",
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": BUCKET, "Key": "in.jsonl"},
        },
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix": "o"},
        },
    )
    del definition["States"]["Fan"]["ItemsPath"]
    result = cli.run(definition, {}, name="ok-run")
    assert result.returncode == 0, result.stderr
    arn = json.loads(result.stdout)["MapRunArn"]
    assert ":mapRun:" in arn and "/Lbl:" in arn
    assert cli.map_run_arns("ok-run") == [arn]

    described = cli.describe_map_run(arn)
    assert set(described) >= DESCRIBE_KEYS, sorted(described)
    assert described["mapRunArn"] == arn
    execution = json.loads(cli("describe", "ok-run", "--state-dir", "state").stdout)
    assert described["executionArn"] == execution["executionArn"]
    assert described["status"] == "SUCCEEDED"
    assert described["startDate"] <= described["stopDate"]
    assert described["maxConcurrency"] == 3
    assert described["toleratedFailureCount"] == 2
    assert described["toleratedFailurePercentage"] == 40
    assert described["redriveCount"] == 0
    assert described["itemCounts"] == counts(succeeded=5, total=5, resultsWritten=5)
    assert described["executionCounts"] == counts(succeeded=5, total=5, resultsWritten=5)


def test_batched_run_counts_items_and_child_executions_separately(cli: Cli) -> None:
    result = cli.run(distributed(ItemBatcher={"MaxItemsPerBatch": 2}), {"xs": items_of(5)}, name="batched")
    assert result.returncode == 0, result.stderr
    (arn,) = cli.map_run_arns("batched")
    described = cli.describe_map_run(arn)
    assert described["itemCounts"]["total"] == 5 and described["itemCounts"]["succeeded"] == 5
    assert described["executionCounts"]["total"] == 3 and described["executionCounts"]["succeeded"] == 3


def test_tolerated_failure_is_counted_and_the_run_succeeds(cli: Cli) -> None:
    definition = distributed("fail_marked", ToleratedFailureCount=5)
    result = cli.run(definition, {"xs": items_of(5, {2})}, name="tolerated")
    assert result.returncode == 0, result.stderr
    (arn,) = cli.map_run_arns("tolerated")
    described = cli.describe_map_run(arn)
    # AWS's recorded run: 5 items, 1 failure, ToleratedFailureCount 5 => SUCCEEDED, succeeded 4, failed 1
    assert described["status"] == "SUCCEEDED"
    items = described["itemCounts"]
    assert (items["succeeded"], items["failed"], items["total"]) == (4, 1, 5)
    assert (items["pending"], items["running"]) == (0, 0)


def test_failed_run_shows_failed_status_and_consistent_counts(cli: Cli) -> None:
    result = cli.run(distributed("fail_marked"), {"xs": items_of(5, {1})}, name="broken")
    assert result.returncode != 0
    assert (
        json.loads(result.stderr.strip().splitlines()[-1])["error"]
        == "States.ExceedToleratedFailureThreshold"
    )
    (arn,) = cli.map_run_arns("broken")
    described = cli.describe_map_run(arn)
    assert described["status"] == "FAILED"
    assert "stopDate" in described
    for kind in ("itemCounts", "executionCounts"):
        c = described[kind]
        assert set(c) == COUNTER_KEYS
        assert c["total"] == 5
        assert c["failed"] >= 1
        assert c["running"] == 0  # nothing is left running once the Map Run has stopped
        assert c["succeeded"] + c["failed"] + c["timedOut"] + c["aborted"] + c["pending"] == c["total"]


def test_map_runs_lists_runs_with_counts_and_filters_by_execution(cli: Cli) -> None:
    assert cli.run(distributed(), {"xs": items_of(3)}, name="first").returncode == 0
    assert (
        cli.run(
            distributed("fail_marked", ToleratedFailureCount=1), {"xs": items_of(4, {0})}, name="second"
        ).returncode
        == 0
    )
    (first,) = cli.map_run_arns("first")
    (second,) = cli.map_run_arns("second")

    listed = cli("map-runs", "--state-dir", "state")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2
    line_first = next(line for line in lines if first in line)
    line_second = next(line for line in lines if second in line)
    assert "SUCCEEDED" in line_first and "3/3" in line_first and "0 failed" in line_first
    assert "SUCCEEDED" in line_second and "3/4" in line_second and "1 failed" in line_second

    only = cli("map-runs", "--execution", "second", "--state-dir", "state")
    assert only.returncode == 0, only.stderr
    assert only.stdout.strip().splitlines() == [line_second]


def test_unknown_map_run_and_missing_journal_are_clear_errors(cli: Cli) -> None:
    missing = cli("map-runs", "--state-dir", "nowhere")
    assert missing.returncode != 0
    assert "journal" in missing.stderr and "Traceback" not in missing.stderr
    assert cli.run(distributed(), {"xs": [1]}, name="one").returncode == 0
    unknown = cli(
        "describe-map-run",
        "arn:aws:states:us-east-1:123456789012:mapRun:stepmap/Fan:00000000-0000-0000-0000-000000000000",
        "--state-dir",
        "state",
    )
    assert unknown.returncode != 0
    assert unknown.stderr.strip() and "Traceback" not in unknown.stderr
    assert unknown.stdout == ""
