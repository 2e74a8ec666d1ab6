"""What runs in a worker process: whole child executions of a Distributed Map, many per message, and
single handler calls (:func:`call_handler`, from :mod:`stepmap.runtime`).

:func:`run_children` is what the Map Run submits to the executor: one :class:`ChildJob` (the ItemProcessor
and everything its children share) plus a chunk of child inputs. It runs each child to completion with an
in-process executor for handler calls and returns one :class:`ChunkResult` for the chunk. It never raises: a
child's failure is data. The parsed ItemProcessor is cached per process and job, so a worker parses it once.

Children are driven without an event loop when their state machine cannot suspend (no Parallel and no
inline Map inside, clocks that block instead of awaiting); that keeps a child of a one-state machine to a
few microseconds of engine overhead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stepmap.asl.model import Map, Parallel, StateMachine, parse_machine
from stepmap.backends.sync import SyncExecutor
from stepmap.errors import EngineError
from stepmap.functions import FunctionRegistry
from stepmap.interpreter.clock import BlockingClock, Clock, ManualClock
from stepmap.interpreter.distributed.records import ChildResult, ChildStatus
from stepmap.interpreter.distributed.writer import RecordFormat, join_records, render_records
from stepmap.interpreter.execution import child_run, run_child
from stepmap.interpreter.loop import run_to_completion
from stepmap.interpreter.tasks import HandlerInvoker
from stepmap.runtime import call_handler

__all__ = ["ChildJob", "ChunkResult", "call_handler", "child_name", "lost_child", "run_children"]

LOG_LIMIT = 1 << 20  # bytes of handler output kept per chunk
_LOW_48 = (1 << 48) - 1


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
    record_format: RecordFormat | None = None  # set when a ResultWriter exports the results
    integrations: Any = None  # the TaskIntegrations port of the parent (picklable), for service Tasks
    mocks: Any = None  # the TaskMocks port of the parent (a MockConfigFile test case), picklable
    store: Any = None  # the object store, for a Distributed Map nested in the children (when picklable)


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


def child_name(map_run_id: str, index: int) -> str:
    """A child's name: a UUID stable for a (Map Run, index), so a re-run child keeps its identity.

    The index is folded into the last 48 bits of one UUID derived from the Map Run id, which keeps the
    version bits intact and costs far less than a uuid5 per child."""
    return str(uuid.UUID(int=uuid.uuid5(uuid.UUID(map_run_id), "children").int ^ index))


@dataclass
class ChunkResult:
    """What one chunk of children produced, aggregated in the worker so the coordinator pays per chunk.

    Children of a chunk are the contiguous indexes ``first .. first + count - 1``. ``succeeded`` holds the
    ResultWriter records of the successful children already joined as they sit in a result file;
    ``failed`` holds ``(index, status, error, cause, records)`` of the others; ``outputs`` the output JSON
    of each successful child in order (only without a ResultWriter).
    """

    first: int
    count: int
    items: dict[str, int] = field(default_factory=dict)  # status -> items
    executions: dict[str, int] = field(default_factory=dict)  # status -> child executions
    succeeded: bytes = b""
    succeeded_records: int = 0
    failed: list[tuple[int, str, str | None, str | None, tuple[bytes, ...]]] = field(default_factory=list)
    outputs: list[str] | None = None
    reader_error: str | None = None  # an item that was not JSON (raw JSONL items are parsed here)
    duration: float = 0.0
    logs: str = ""

    @property
    def failed_items(self) -> int:
        return sum(n for status, n in self.items.items() if status != "SUCCEEDED")

    def merged(self, later: ChunkResult, fmt: RecordFormat | None) -> ChunkResult:
        """This chunk's result followed by ``later``'s, the chunk just after it (the halves of a chunk
        that was split because a child killed its worker)."""
        out = ChunkResult(self.first, self.count + later.count)
        for mine, theirs, total in (
            (self.items, later.items, out.items),
            (self.executions, later.executions, out.executions),
        ):
            for status, n in (*mine.items(), *theirs.items()):
                total[status] = total.get(status, 0) + n
        blobs = [b for b in (self.succeeded, later.succeeded) if b]
        out.succeeded = join_records(blobs, fmt) if fmt is not None else b"".join(blobs)
        out.succeeded_records = self.succeeded_records + later.succeeded_records
        out.failed = self.failed + later.failed
        if self.outputs is not None or later.outputs is not None:
            out.outputs = (self.outputs or []) + (later.outputs or [])
        out.reader_error = self.reader_error or later.reader_error
        out.duration = self.duration + later.duration
        out.logs = self.logs + later.logs
        return out


def _identity(job: ChildJob) -> tuple[str, str]:
    """(prefix of a child's execution ARN, the children's state machine ARN)."""
    kind = "express" if job.execution_type == "EXPRESS" else "execution"
    arn_prefix = f"arn:aws:states:{job.region}:{job.account}:{kind}:{job.state_machine_name}:"
    state_machine_arn = f"arn:aws:states:{job.region}:{job.account}:stateMachine:{job.state_machine_name}"
    return arn_prefix, state_machine_arn


def lost_child(job: ChildJob, child: tuple[int, str, int], error: str, cause: str) -> ChunkResult:
    """The result of a child that never returned because its worker died under it (it killed the process
    itself, or would not stop after its timeout): FAILED with ``error``, alone in its chunk."""
    index, input_json, item_count = child
    chunk = ChunkResult(index, 1, items={"FAILED": item_count}, executions={"FAILED": 1})
    fmt = job.record_format
    records: tuple[bytes, ...] = ()
    if fmt is not None:
        arn_prefix, state_machine_arn = _identity(job)
        name = child_name(job.map_run_id, index)
        now = datetime.now(UTC)
        result = ChildResult(
            index, arn_prefix + name, name, state_machine_arn, "FAILED", input_json,
            None, error, cause, now, now, item_count,
        )  # fmt: skip
        records = tuple(render_records(result, fmt))
    else:
        chunk.outputs = []
    chunk.failed.append((index, "FAILED", error, cause, records))
    return chunk


def run_children(job: ChildJob, children: list[tuple[int, str, int]]) -> ChunkResult:
    """Run each ``(index, input_json, item_count)`` child to completion; never raises."""
    started = time.monotonic()
    machine, loop_free = _machine(job)
    invoker = HandlerInvoker(
        SyncExecutor(),
        job.functions,
        region=job.region,
        account=job.account,
        integrations=job.integrations,
        mocks=job.mocks,
    )
    start = job.manual_clock_start
    clock: Clock = ManualClock(start) if start is not None else BlockingClock()
    arn_prefix, state_machine_arn = _identity(job)
    run = child_run(machine, state_machine_arn, job.state_machine_name, clock, invoker)
    from stepmap.interpreter.distributed.runner import DistributedMap, nests_distributed_map

    if nests_distributed_map(machine):
        # A Distributed Map inside a child: its own Map Run, driven here with an in-process executor
        # (orchestration in this worker, never a wait on the pool that runs this chunk), with the
        # parent's object store when it could travel (else an ItemReader or ResultWriter there fails
        # with a clear error).
        run.distributed_map = DistributedMap(SyncExecutor(), job.functions, job.store, workers=1)
    base = uuid.uuid5(uuid.UUID(job.map_run_id), "children").int  # children's names differ from the run's
    # child_name() without a UUID object per child: the index only changes the last 48 bits (12 hex digits)
    head = str(uuid.UUID(int=base))[:-12]
    low = base & _LOW_48
    fmt = job.record_format
    chunk = ChunkResult(children[0][0] if children else 0, len(children))
    if fmt is None:
        chunk.outputs = []
    succeeded: list[bytes] = []

    async def one(index: int, input_json: str, item_count: int) -> None:
        name = head + f"{low ^ index:012x}" if index <= _LOW_48 else str(uuid.UUID(int=base ^ index))
        begun = clock.now()
        try:
            run.start_child(arn_prefix + name, name, input_json, begun)
        except (ValueError, RecursionError) as exc:
            if chunk.reader_error is None:
                reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                chunk.reader_error = f"item {index} is not valid JSON: {reason}"
            status: ChildStatus = "FAILED"
            output_json: str | None = None
            error: str | None = "States.ItemReaderFailed"
            cause: str | None = chunk.reader_error
        else:
            status, output_json, error, cause = await run_child(machine, run)
        chunk.items[status] = chunk.items.get(status, 0) + item_count
        chunk.executions[status] = chunk.executions.get(status, 0) + 1
        if fmt is not None:
            result = ChildResult(
                index, run.execution_arn, name, state_machine_arn, status, input_json,
                output_json, error, cause, begun, clock.now(), item_count,
            )  # fmt: skip
            records = render_records(result, fmt)
            if status == "SUCCEEDED":
                succeeded.extend(records)
            else:
                chunk.failed.append((index, status, error, cause, tuple(records)))
        elif status == "SUCCEEDED":
            assert chunk.outputs is not None
            chunk.outputs.append(output_json or "null")
        else:
            chunk.failed.append((index, status, error, cause, ()))

    if loop_free:
        for index, input_json, count in children:
            _drive(one(index, input_json, count))
    else:

        async def all_children() -> None:
            for i, text, n in children:
                await one(i, text, n)

        run_to_completion(all_children)
    if fmt is not None:
        chunk.succeeded = join_records(succeeded, fmt)
        chunk.succeeded_records = len(succeeded)
    logs = "".join(run.logs)
    if len(logs) > LOG_LIMIT:  # keep the tail, as Lambda's LogResult does
        logs = (
            f"[stepmap: {len(logs) - LOG_LIMIT} characters of this chunk's output dropped]\n"
            + logs[-LOG_LIMIT:]
        )
    chunk.logs = logs
    chunk.duration = time.monotonic() - started
    return chunk


def manual_start(clock: Clock) -> datetime | None:
    """The virtual time children should start from when the parent runs on a ManualClock."""
    return clock.now() + timedelta(0) if isinstance(clock, ManualClock) else None
