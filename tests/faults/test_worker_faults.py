"""A worker process dies mid-run: its chunk runs again on a fresh worker and each item counts once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from stepmap.functions import FunctionRegistry
from stepmap.service.runner import StepmapService
from tests.faults.maps import jsonl_map, result_records

pytestmark = pytest.mark.faults

N = 3000


def _definition() -> dict:
    return jsonl_map("faults", "slow_echo")


def test_killing_workers_during_a_map_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    functions = FunctionRegistry({"slow_echo": "tests.faults.fault_handlers:slow_echo"})
    service = StepmapService(
        functions=functions, store=str(tmp_path / "s3"), state_dir=str(tmp_path / "state"), max_workers=2
    )
    service.store.create_bucket("faults")
    lines = "".join(json.dumps({"id": i}) + "\n" for i in range(N)).encode()
    service.store.put("faults", "items.jsonl", lines)
    pool = service.executor
    kills: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.4)
            pids = pool.worker_pids()  # type: ignore[attr-defined]
            if pids and len(kills) < 4:
                try:
                    os.kill(pids[0], signal.SIGKILL)
                    kills.append(pids[0])
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        execution = service.start_execution(_definition(), {})
    finally:
        stop.set()
        thread.join()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert kills, "the test must actually kill workers"
    records = result_records(service.store, "faults", execution.output["ResultWriterDetails"]["Key"])
    ids = [record["id"] for record in records]
    assert ids == list(range(N))  # every item once, in order
    (map_run,) = service.map_runs
    assert map_run.items.succeeded == N and map_run.items.total == N and map_run.items.results_written == N
    assert map_run.executions.failed == 0 and map_run.items.running == 0


def test_a_handler_that_kills_its_worker_fails_with_runtime_exit_error_and_can_be_retried(
    tmp_path: Path,
) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "exit_unless_retried",
                "Parameters": {"attempt.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["Runtime.ExitError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    functions = FunctionRegistry({"exit_unless_retried": "tests.faults.fault_handlers:exit_unless_retried"})
    from stepmap.interpreter.clock import ManualClock

    service = StepmapService(functions=functions, state_dir=str(tmp_path / "state"), clock=ManualClock())
    execution = service.start_execution(definition, {})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output == {"survived_on_attempt": 1}
    failed = [e for e in execution.history if e["type"] == "LambdaFunctionFailed"]
    assert failed and failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "Runtime.ExitError"
