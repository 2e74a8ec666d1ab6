"""A child that kills its worker (``os._exit``, a segfault in a C extension) or hangs past its timeout
without letting go fails alone, and the Map Run goes on (issue 9, items 5 and 6).

The Map Run finds the culprit by splitting the chunk whose worker died into halves that run again; every
other child's result is kept exactly once, and the culprit fails with ``Runtime.ExitError`` (or
``States.Timeout``), which ToleratedFailure* then judges like any child failure. Resuming such a run does
not meet the crash again: the culprit's failure is in the checkpoint like any other.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stepmap.functions import FunctionRegistry
from stepmap.service.runner import StepmapService
from tests.faults.maps import jsonl_map

pytestmark = pytest.mark.faults

FUNCTIONS = {
    "crash_on": "tests.faults.fault_handlers:crash_on",
    "stubborn": "tests.faults.fault_handlers:stubborn",
}
N = 200


def _service(tmp_path: Path, **kwargs: Any) -> StepmapService:
    service = StepmapService(
        functions=FunctionRegistry(FUNCTIONS),
        store=str(tmp_path / "s3"),
        state_dir=str(tmp_path / "state"),
        max_workers=2,
        **kwargs,
    )
    service.store.create_bucket("crash")
    return service


def _items(service: StepmapService, items: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(item) + "\n" for item in items).encode()
    service.store.put("crash", "items.jsonl", lines)


def _files(service: StepmapService, manifest_key: str) -> dict[str, list[Any]]:
    manifest = json.loads(service.store.get("crash", manifest_key))
    out: dict[str, list[Any]] = {}
    for status, entries in manifest["ResultFiles"].items():
        out[status] = [
            json.loads(line)
            for entry in entries
            for line in service.store.get("crash", entry["Key"]).splitlines()
            if line.strip()
        ]
    return out


@pytest.mark.parametrize("crash", ["exit", "segv"])
def test_a_child_that_kills_its_worker_fails_alone_with_runtime_exit_error(
    tmp_path: Path, crash: str
) -> None:
    service = _service(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    culprit = 137
    _items(
        service, [{"id": i, "dir": str(runs), **({"crash": crash} if i == culprit else {})} for i in range(N)]
    )
    definition = jsonl_map("crash", "crash_on", ToleratedFailurePercentage=100)
    execution = service.start_execution(definition, {})

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    files = _files(service, execution.output["ResultWriterDetails"]["Key"])
    assert [r["id"] for r in files["SUCCEEDED"]] == [i for i in range(N) if i != culprit]
    (failed,) = files["FAILED"]
    assert failed["Error"] == "Runtime.ExitError"
    signal_words = "exit status 13" if crash == "exit" else "signal: segmentation fault"
    assert signal_words in failed["Cause"]
    assert json.loads(failed["Input"])["id"] == culprit
    (map_run,) = service.map_runs
    assert map_run.items.succeeded == N - 1 and map_run.items.failed == 1 and map_run.items.total == N
    assert map_run.items.results_written == N and map_run.items.running == 0
    # the culprit was isolated by re-running: it ran more than once, and never on its own with a result
    counts = Counter(line for log in runs.glob("runs-*.log") for line in log.read_text().split())
    assert counts[str(culprit)] >= 2


def test_a_crashing_child_beyond_the_tolerated_failures_fails_the_map_run_not_the_engine(
    tmp_path: Path,
) -> None:
    service = _service(tmp_path)
    _items(service, [{"id": i, **({"crash": "exit"} if i == 50 else {})} for i in range(N)])
    execution = service.start_execution(jsonl_map("crash", "crash_on"), {})
    assert execution.status == "FAILED"
    assert execution.error == "States.ExceedToleratedFailureThreshold", (execution.error, execution.cause)
    (map_run,) = service.map_runs
    assert map_run.status == "FAILED" and map_run.items.failed == 1


def test_two_crashing_children_within_the_tolerated_count_let_the_run_succeed(tmp_path: Path) -> None:
    # Before: the Map Run stopped with an engine error and stayed RUNNING, and every resume met the same
    # crash. Now each crash is one FAILED child in the checkpoint, so there is nothing to resume.
    service = _service(tmp_path)
    _items(service, [{"id": i, **({"crash": "exit"} if i in (3, 150) else {})} for i in range(N)])
    definition = jsonl_map("crash", "crash_on", ToleratedFailureCount=5)
    first = service.start_execution(definition, {})
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    (map_run,) = service.map_runs
    assert map_run.status == "SUCCEEDED" and map_run.items.failed == 2 and map_run.items.succeeded == N - 2


def test_a_plain_task_whose_handler_kills_its_worker_fails_only_that_call(tmp_path: Path) -> None:
    def branch(i: int, **fields: Any) -> dict[str, Any]:
        task = {"Type": "Task", "Resource": "crash_on", "Parameters": {"id": i, **fields}, "End": True}
        return {"StartAt": f"T{i}", "States": {f"T{i}": task}}

    crashing = branch(9, crash="exit")
    crashing["States"]["T9"].pop("End")
    crashing["States"]["T9"]["Next"] = "Done"
    crashing["States"]["Done"] = {"Type": "Succeed"}
    crashing["States"]["T9"]["Catch"] = [{"ErrorEquals": ["Runtime.ExitError"], "Next": "Caught"}]
    crashing["States"]["Caught"] = {"Type": "Pass", "End": True}
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [branch(i) for i in range(4)] + [crashing], "End": True}
        },
    }
    service = _service(tmp_path)
    execution = service.start_execution(definition, {})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    *innocent, caught = execution.output
    assert innocent == [{"id": i} for i in range(4)]  # the calls in flight beside it were not broken
    assert caught["Error"] == "Runtime.ExitError" and "exit status 13" in caught["Cause"]
    again = service.start_execution(branch(7), {})  # the pool is usable at once
    assert again.status == "SUCCEEDED" and again.output == {"id": 7}


def _task(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "stubborn", "End": True, **fields}}}


@pytest.mark.parametrize("block_alarm", [False, True], ids=["swallows", "blocks-sigalrm"])
def test_a_handler_that_does_not_let_go_is_ended_after_a_grace_period(
    tmp_path: Path, block_alarm: bool
) -> None:
    service = _service(tmp_path)
    started = time.monotonic()
    hung = service.start_execution(_task(TimeoutSeconds=1), {"seconds": 120, "block_alarm": block_alarm})
    assert hung.status == "FAILED" and hung.error == "States.Timeout", (hung.error, hung.cause)
    # both workers stay usable: the stubborn one was ended and replaced, not left running for 120 s
    for _ in range(3):
        ok = service.start_execution(
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "crash_on", "End": True}}},
            {"id": 1},
        )
        assert ok.status == "SUCCEEDED"
    service.executor.shutdown(wait=True)  # would wait for the stubborn handler if it still ran
    assert time.monotonic() - started < 60


def test_children_that_do_not_let_go_time_out_and_the_map_run_finishes(tmp_path: Path) -> None:
    service = _service(tmp_path)
    items = [{"id": i} for i in range(20)]
    items[5] = {"id": 5, "seconds": 120, "block_alarm": True}
    _items(service, items)
    processor_task = {"Type": "Task", "Resource": "stubborn", "TimeoutSeconds": 1, "End": True}
    definition = jsonl_map("crash", "stubborn", ToleratedFailureCount=1)
    definition["States"]["M"]["ItemProcessor"]["States"]["Child"] = processor_task
    for item in items:
        item.setdefault("seconds", 0)
    _items(service, items)
    started = time.monotonic()
    execution = service.start_execution(definition, {})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    files = _files(service, execution.output["ResultWriterDetails"]["Key"])
    assert len(files["SUCCEEDED"]) == 19
    (failed,) = files["FAILED"]
    assert failed["Error"] == "States.Timeout" and json.loads(failed["Input"])["id"] == 5
    assert time.monotonic() - started < 60
