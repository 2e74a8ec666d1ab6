"""Definitions and journal fixtures the dashboard tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepmap.functions import FunctionRegistry
from stepmap.journal import Journal

HOSTILE_NAME = '<img src=x onerror="window.__pwned=2">State'
HOSTILE_TEXT = "<script>window.__pwned=3</script><b>not bold</b>"
BIG = 10 * 1024 * 1024


def where(state_dir: Path) -> dict[str, str]:
    """The state directory and its store, given explicitly: other tests in the same worker may have left
    ``STEPMAP_STORE`` or ``STEPMAP_S3_ENDPOINT`` in the environment, which the service would read."""
    return {"state_dir": str(state_dir), "store": str(state_dir / "s3")}


def functions() -> FunctionRegistry:
    return FunctionRegistry(
        {"work": "tests.dashboard.handlers:work", "report": "tests.dashboard.handlers:report"}
    )


def distributed_map(bucket: str = "results") -> dict[str, Any]:
    return {
        "StartAt": "Fanout",
        "States": {
            "Fanout": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ToleratedFailurePercentage": 100,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": "work", "End": True}},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": bucket, "Prefix": "out"},
                },
                "ResultPath": "$.map",
                "Next": "Report",
            },
            "Report": {"Type": "Task", "Resource": "report", "End": True},
        },
    }


def items(n: int, sleep: float = 0.0) -> dict[str, Any]:
    return {"items": [{"n": i, "sleep": sleep} for i in range(n)]}


def hostile_execution(state_dir: Path, name: str = "hostile") -> str:
    """Journal an execution whose state name and output are hostile HTML, with a 10 MB output."""
    journal = Journal(str(state_dir / "journal.sqlite"))
    arn = f"arn:aws:states:us-east-1:123456789012:execution:evil:{name}"
    definition = {"StartAt": HOSTILE_NAME, "States": {HOSTILE_NAME: {"Type": "Pass", "End": True}}}
    big = json.dumps({"html": HOSTILE_TEXT, "big": "x" * BIG})
    record = {
        "executionArn": arn,
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:evil",
        "name": name,
        "status": "RUNNING",
        "startDate": "2026-01-01T00:00:00+00:00",
        "input": json.dumps({"html": HOSTILE_TEXT}),
    }
    journal.create_execution(record, "evil", definition, {"html": HOSTILE_TEXT}, {})
    events = [
        {"id": 1, "previousEventId": 0, "timestamp": "2026-01-01T00:00:00+00:00", "type": "ExecutionStarted",
         "executionStartedEventDetails": {"input": record["input"]}},
        {"id": 2, "previousEventId": 1, "timestamp": "2026-01-01T00:00:01+00:00", "type": "PassStateEntered",
         "stateEnteredEventDetails": {"name": HOSTILE_NAME, "input": record["input"]}},
        {"id": 3, "previousEventId": 2, "timestamp": "2026-01-01T00:00:02+00:00", "type": "PassStateExited",
         "stateExitedEventDetails": {"name": HOSTILE_NAME, "output": big}},
        {"id": 4, "previousEventId": 3, "timestamp": "2026-01-01T00:00:03+00:00",
         "type": "ExecutionSucceeded",
         "executionSucceededEventDetails": {"output": big}},
    ]  # fmt: skip
    done = {**record, "status": "SUCCEEDED", "stopDate": "2026-01-01T00:00:03+00:00", "output": big}
    journal.record_execution(done, events)
    journal.close()
    return arn
