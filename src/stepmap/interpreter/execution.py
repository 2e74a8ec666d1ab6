"""One execution from start to end: identity, status, output, history, logs.

:func:`execute` wraps the state loop with what belongs to an execution as a whole: the ExecutionStarted /
Succeeded / Failed / TimedOut events, the payload limit on input and output, the execution TimeoutSeconds
(on the injected clock, and on real time when the clock is the system clock).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from stepmap.asl.model import StateMachine
from stepmap.asl.payload import dumps
from stepmap.errors import StatesError
from stepmap.interpreter.clock import Clock, SystemClock
from stepmap.interpreter.distributed.records import ChildStatus
from stepmap.interpreter.engine import run_machine
from stepmap.interpreter.history import NO_HISTORY, History
from stepmap.interpreter.ports import RunJournal
from stepmap.interpreter.run import (
    PAYLOAD_LIMIT,
    DistributedMapRunner,
    ExecutionAborted,
    ExecutionTimedOut,
    Frame,
    Run,
    Scope,
    deadline_after,
)
from stepmap.interpreter.tasks import HandlerInvoker

__all__ = [
    "Execution",
    "ExecutionStatus",
    "ResumePoint",
    "child_run",
    "execute",
    "execution_arn",
    "run_child",
    "state_machine_arn",
]

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass
class Execution:
    """The record of one execution, shaped after AWS's DescribeExecution."""

    execution_arn: str
    name: str
    state_machine_arn: str
    status: ExecutionStatus
    input: Any
    start_date: datetime
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stop_date: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    logs: str = ""
    redrive_count: int = 0

    @property
    def arn(self) -> str:
        return self.execution_arn

    @classmethod
    def from_record(cls, record: dict[str, Any], history: list[dict[str, Any]] | None = None) -> Execution:
        """An Execution from its DescribeExecution-shaped record (as the journal keeps it)."""
        stop = record.get("stopDate")
        return cls(
            execution_arn=record["executionArn"],
            name=record["name"],
            state_machine_arn=record["stateMachineArn"],
            status=record["status"],
            input=json.loads(record["input"]) if "input" in record else None,
            start_date=datetime.fromisoformat(record["startDate"]),
            output=json.loads(record["output"]) if "output" in record else None,
            error=record.get("error"),
            cause=record.get("cause"),
            stop_date=datetime.fromisoformat(stop) if stop else None,
            history=history or [],
            redrive_count=record.get("redriveCount", 0),
        )

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "executionArn": self.execution_arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start_date.isoformat(),
            "input": dumps(self.input),
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date.isoformat()
        if self.status == "SUCCEEDED":
            out["output"] = dumps(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        out["redriveCount"] = self.redrive_count
        if self.status in ("FAILED", "TIMED_OUT", "ABORTED"):
            out["redriveStatus"] = "REDRIVABLE"
        elif self.status != "RUNNING":
            out["redriveStatus"] = "NOT_REDRIVABLE"
        return out


def state_machine_arn(name: str, region: str = "us-east-1", account: str = "123456789012") -> str:
    return f"arn:aws:states:{region}:{account}:stateMachine:{name}"


def execution_arn(
    machine_name: str, name: str, region: str = "us-east-1", account: str = "123456789012"
) -> str:
    return f"arn:aws:states:{region}:{account}:execution:{machine_name}:{name}"


@dataclass(frozen=True)
class ResumePoint:
    """Where a journaled execution goes on from: after a crash (resume) or a failure (redrive)."""

    state: str  # the top-level state to run next (the one that was running, or that failed)
    input: Any  # that state's input
    variables: dict[str, Any]  # the workflow variables of the top-level scope
    events: list[dict[str, Any]]  # the history so far
    start_time: datetime
    redrive_count: int = 0
    redriven: bool = False  # True for a redrive: an ExecutionRedriven event starts the new attempt


async def execute(
    machine: StateMachine,
    input: Any,
    *,
    invoker: HandlerInvoker,
    clock: Clock | None = None,
    name: str | None = None,
    state_machine_name: str = "stepmap",
    record_history: bool = True,
    distributed_map: DistributedMapRunner | None = None,
    journal: RunJournal | None = None,
    resume: ResumePoint | None = None,
    on_start: Callable[[Execution, Run], None] | None = None,
) -> Execution:
    """Run ``machine`` on ``input`` to completion (or from ``resume``) and return its record.

    ``on_start`` sees the record and the Run before the first state runs (the service journals it)."""
    clock = clock or SystemClock()
    name = name or str(uuid.uuid4())
    region, account = invoker.region, invoker.account
    start = resume.start_time if resume is not None else clock.now()
    history = History(clock.now, enabled=record_history)
    run = Run(
        execution_arn=execution_arn(state_machine_name, name, region, account),
        name=name,
        state_machine_arn=state_machine_arn(state_machine_name, region, account),
        state_machine_name=state_machine_name,
        input=input,
        clock=clock,
        invoker=invoker,
        history=history,
        start_time=start,
        deadline=deadline_after(start, machine.timeout_seconds),
        role_arn=f"arn:aws:iam::{account}:role/stepmap",
        distributed_map=distributed_map,
        journal=journal,
        redrive_count=resume.redrive_count if resume is not None else 0,
    )
    record = Execution(run.execution_arn, name, run.state_machine_arn, "RUNNING", input, start)
    frame = Frame(history.cursor(), Scope(), top=True)
    input_text = dumps(input)
    start_at: str | None = None
    value = input
    if resume is not None:
        history.events.extend(resume.events)
        frame.cursor.last = resume.events[-1]["id"] if resume.events else 0
        frame.scope.values.update(resume.variables)
        start_at, value = resume.state, resume.input
    if resume is None or not resume.events:  # also a resume of a run that died before its first event
        frame.cursor.add(
            "ExecutionStarted",
            {"input": input_text, "inputDetails": {"truncated": False}, "roleArn": run.role_arn},
        )
    elif resume.redriven:
        frame.cursor.add("ExecutionRedriven", {"redriveCount": resume.redrive_count})
    if on_start is not None:
        on_start(record, run)
    try:
        if len(input_text.encode()) > PAYLOAD_LIMIT:
            raise StatesError("States.DataLimitExceeded", "The execution input exceeds 262144 bytes")
        coro = run_machine(machine, value, run, frame, start_at)
        remaining = None
        if machine.timeout_seconds is not None and isinstance(clock, SystemClock):
            remaining = machine.timeout_seconds - (clock.now() - start).total_seconds()
        output = await (asyncio.wait_for(coro, max(remaining, 0.001)) if remaining is not None else coro)
        output_text = dumps(output)
        if len(output_text.encode()) > PAYLOAD_LIMIT:
            raise StatesError("States.DataLimitExceeded", "The execution output exceeds 262144 bytes")
        record.status, record.output = "SUCCEEDED", output
        frame.cursor.add("ExecutionSucceeded", {"output": output_text, "outputDetails": {"truncated": False}})
    except StatesError as exc:
        record.status, record.error, record.cause = "FAILED", exc.error, exc.cause
        frame.cursor.add("ExecutionFailed", {"error": exc.error, "cause": exc.cause or ""})
    except (ExecutionTimedOut, TimeoutError):
        record.status, record.error = "TIMED_OUT", "States.Timeout"
        record.cause = f"The execution timed out after {machine.timeout_seconds:g} seconds"
        frame.cursor.add("ExecutionTimedOut", {"error": record.error, "cause": record.cause})
    except RecursionError:
        record.status, record.error = "FAILED", "States.Runtime"
        record.cause = "The execution's data is nested too deeply to be represented as JSON"
        frame.cursor.add("ExecutionFailed", {"error": record.error, "cause": record.cause})
    except ExecutionAborted:
        record.status, record.error, record.cause = "ABORTED", "States.Aborted", "The execution was stopped"
        frame.cursor.add("ExecutionAborted", {"error": record.error, "cause": record.cause})
    except asyncio.CancelledError:
        # The journal's heartbeat thread interrupts a run that was asked to stop in the middle of a long
        # state (a Wait, a Task); any other cancellation is not ours to swallow.
        if journal is None or not journal.should_stop():
            raise
        record.status, record.error, record.cause = "ABORTED", "States.Aborted", "The execution was stopped"
        frame.cursor.add("ExecutionAborted", {"error": record.error, "cause": record.cause})
    record.stop_date = clock.now()
    record.history = history.events
    record.logs = "".join(run.logs)
    record.redrive_count = run.redrive_count
    return record


def child_run(
    machine: StateMachine,
    state_machine_arn: str,
    state_machine_name: str,
    clock: Clock,
    invoker: HandlerInvoker,
) -> Run:
    """A Run reused for each child of a chunk in turn (see :meth:`Run.start_child`); no history."""
    return Run(
        execution_arn="",
        name="",
        state_machine_arn=state_machine_arn,
        state_machine_name=state_machine_name,
        input=None,
        clock=clock,
        invoker=invoker,
        history=NO_HISTORY,
        start_time=clock.now(),
        role_arn=f"arn:aws:iam::{invoker.account}:role/stepmap",
        child_timeout=machine.timeout_seconds,
    )


async def run_child(
    machine: StateMachine, run: Run
) -> tuple[ChildStatus, str | None, str | None, str | None]:
    """Run one child execution to its end: (status, output JSON, error, cause). Lean: no history."""
    frame = Frame(NO_HISTORY.cursor(), Scope())
    try:
        output = await run_machine(machine, run.input, run, frame)
        text = dumps(output)
        if len(text) > PAYLOAD_LIMIT // 4 and len(text.encode()) > PAYLOAD_LIMIT:
            raise StatesError("States.DataLimitExceeded", "The execution output exceeds 262144 bytes")
        return "SUCCEEDED", text, None, None
    except StatesError as exc:
        return "FAILED", None, exc.error, exc.cause
    except ExecutionTimedOut:
        return (
            "TIMED_OUT",
            None,
            "States.Timeout",
            f"The execution timed out after {machine.timeout_seconds:g} seconds",
        )
    except RecursionError:
        return "FAILED", None, "States.Runtime", "The execution's data is nested too deeply for JSON"
