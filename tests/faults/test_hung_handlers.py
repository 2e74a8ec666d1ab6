"""A handler that hangs is stopped at its Task's TimeoutSeconds, and its worker is free again at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stepmap.functions import FunctionRegistry
from stepmap.service.runner import StepmapService

pytestmark = pytest.mark.faults

FUNCTIONS = {"hang": "tests.faults.fault_handlers:hang", "slow_echo": "tests.faults.fault_handlers:slow_echo"}


def task(resource: str, **fields: object) -> dict:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}


@pytest.mark.parametrize("executor", ["local", "sync"])
def test_a_hung_handler_times_out_and_frees_its_worker(tmp_path: Path, executor: str) -> None:
    service = StepmapService(
        functions=FunctionRegistry(FUNCTIONS), executor=executor, max_workers=1, state_dir=str(tmp_path)
    )
    started = time.monotonic()
    hung = service.start_execution(task("hang", TimeoutSeconds=1), {"seconds": 60})
    assert hung.status == "FAILED" and hung.error == "States.Timeout"
    # the only worker is usable right away: the hung call was interrupted, not left running
    after = service.start_execution(task("slow_echo"), {"x": 1})
    assert after.status == "SUCCEEDED" and after.output == {"x": 1}
    assert time.monotonic() - started < 30


def test_hung_children_of_a_map_run_time_out_instead_of_blocking_it(tmp_path: Path) -> None:
    processor = task("hang", TimeoutSeconds=1)
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    **processor,
                },
                "ToleratedFailurePercentage": 100,
                "End": True,
            }
        },
    }
    service = StepmapService(functions=FunctionRegistry(FUNCTIONS), max_workers=2, state_dir=str(tmp_path))
    started = time.monotonic()
    execution = service.start_execution(definition, {"items": [{"seconds": 60}] * 4})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    (map_run,) = service.map_runs
    assert map_run.items.failed == 4
    assert time.monotonic() - started < 30  # 4 children x 1 s on 2 workers, not 4 x 60 s
