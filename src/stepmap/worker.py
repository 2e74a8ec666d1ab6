"""What runs in a worker process: whole child executions of a Distributed Map, many per message, and
single handler calls (:func:`call_handler`, from :mod:`stepmap.runtime`).

:func:`run_children` is what the Map Run submits to the executor: one :class:`ChildJob` (the ItemProcessor
and everything its children share) plus a chunk of child inputs. It runs each child to completion with an
in-process executor for handler calls and returns one :class:`ChildResult` per child. It never raises: a
child's failure is data. The parsed ItemProcessor is cached per process and job, so a worker parses it once.

Children are driven without an event loop when their state machine cannot suspend (no Parallel and no
inline Map inside, clocks that block instead of awaiting); that keeps a child of a one-state machine to a
few microseconds of engine overhead.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stepmap.asl.model import Map, Parallel, StateMachine, parse_machine
from stepmap.backends.sync import SyncExecutor
from stepmap.errors import EngineError
from stepmap.functions import FunctionRegistry
from stepmap.interpreter.clock import BlockingClock, Clock, ManualClock
from stepmap.interpreter.distributed.records import ChildResult
from stepmap.interpreter.execution import execute
from stepmap.interpreter.tasks import HandlerInvoker
from stepmap.runtime import call_handler

__all__ = ["ChildJob", "ChunkResult", "call_handler", "child_name", "run_children"]

LOG_LIMIT = 1 << 20  # bytes of handler output kept per chunk


@dataclass(frozen=True)
class ChildJob:
    """What every child of one Map Run shares; pickled with each chunk (it is small)."""

    key: str  # unique per Map Run: the worker's parse cache key
    processor: Mapping[str, Any]  # the ItemProcessor definition
    functions: FunctionRegistry
    state_machine_name: str  # <parent>/<Label>
    map_run_id: str
    execution_type: str
    region: str
    account: str
    manual_clock_start: datetime | None = None  # set when the parent runs on a ManualClock (tests)


@dataclass(frozen=True)
class ChunkResult:
    results: list[ChildResult]
    duration: float
    logs: str = ""


_machines: dict[str, tuple[StateMachine, bool]] = {}


def _loop_free(machine: StateMachine) -> bool:
    return not any(isinstance(s, Parallel | Map) for s in machine.states.values())


def _machine(job: ChildJob) -> tuple[StateMachine, bool]:
    cached = _machines.get(job.key)
    if cached is None:
        if len(_machines) > 64:
            _machines.clear()
        machine = parse_machine(job.processor)
        cached = _machines[job.key] = (machine, _loop_free(machine))
    return cached


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends, without an event loop."""
    try:
        while True:
            if coro.send(None) is not None:
                raise EngineError("a loop-free child execution tried to suspend")
    except StopIteration as stop:
        return stop.value


def _run_in_loop(coro_factory: Any) -> Any:
    """asyncio.run, also from a thread that already runs a loop (the sync executor)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def child_name(map_run_id: str, index: int) -> str:
    """A child's name: stable for a (Map Run, index), so a re-run child keeps its identity."""
    return str(uuid.uuid5(uuid.UUID(map_run_id), str(index)))


def run_children(job: ChildJob, children: list[tuple[int, str, int]]) -> ChunkResult:
    """Run each ``(index, input_json, item_count)`` child to completion; never raises."""
    started = time.monotonic()
    machine, loop_free = _machine(job)
    invoker = HandlerInvoker(SyncExecutor(), job.functions, region=job.region, account=job.account)
    start = job.manual_clock_start
    clock: Clock = ManualClock(start) if start is not None else BlockingClock()
    logs: list[str] = []
    log_size = 0

    async def one(index: int, input_json: str, item_count: int) -> ChildResult:
        nonlocal log_size
        name = child_name(job.map_run_id, index)
        record = await execute(
            machine,
            json.loads(input_json),
            invoker=invoker,
            clock=clock,
            name=name,
            state_machine_name=job.state_machine_name,
            record_history=False,
        )
        if record.logs and log_size < LOG_LIMIT:
            logs.append(record.logs)
            log_size += len(record.logs)
        status = record.status if record.status != "RUNNING" else "FAILED"
        return ChildResult(
            index=index,
            execution_arn=record.execution_arn,
            name=name,
            state_machine_arn=record.state_machine_arn,
            status=status,
            input_json=input_json,
            output_json=json.dumps(record.output, separators=(",", ":"), ensure_ascii=False)
            if status == "SUCCEEDED"
            else None,
            error=record.error,
            cause=record.cause,
            start_date=record.start_date,
            stop_date=record.stop_date,
            item_count=item_count,
        )

    results: list[ChildResult] = []
    if loop_free:
        for index, input_json, count in children:
            results.append(_drive(one(index, input_json, count)))
    else:

        async def all_children() -> list[ChildResult]:
            return [await one(i, text, n) for i, text, n in children]

        results = _run_in_loop(all_children)
    return ChunkResult(results, time.monotonic() - started, "".join(logs))


def manual_start(clock: Clock) -> datetime | None:
    """The virtual time children should start from when the parent runs on a ManualClock."""
    return clock.now() + timedelta(0) if isinstance(clock, ManualClock) else None
