"""The state of a running execution, as the interpreter keeps it.

:class:`Run` is one execution (identity, clock, history, logs, deadline, journal); :class:`Frame` is one
thread of control in it (the execution itself, a Parallel branch, a Map iteration: its history cursor, its
variable scope, its Map item); :class:`StateCall` is one attempt at one state, which builds references and
the context object lazily. The exceptions here end an execution without any Catch seeing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from stepmap.asl import jsontext, model
from stepmap.asl.payload import References
from stepmap.asl.timestamps import format_timestamp
from stepmap.errors import StatesError
from stepmap.interpreter.clock import Clock
from stepmap.interpreter.history import Cursor, History
from stepmap.interpreter.ports import RunJournal
from stepmap.interpreter.tasks import HandlerInvoker

__all__ = [
    "PAYLOAD_LIMIT",
    "DistributedMapRunner",
    "ExecutionAborted",
    "ExecutionTimedOut",
    "Frame",
    "Run",
    "Scope",
    "StateCall",
    "deadline_after",
]

PAYLOAD_LIMIT = 262_144  # bytes of UTF-8 JSON, AWS's quota for state input/output and task results
MAX_LOG_CHARS = 8 << 20  # of captured handler output kept per execution (the most recent)


class LogTail(list[str]):
    """An execution's captured handler output: appends keep only the most recent ``MAX_LOG_CHARS``
    characters (each invocation's output is capped by the runtime already; a loop of them must not add up
    to GBs in the coordinator). A note at the front says how much was dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        self.dropped = 0

    def append(self, text: str) -> None:
        super().append(text)
        self.size += len(text)
        if self.size <= MAX_LOG_CHARS:
            return
        first = 1 if self.dropped else 0  # index 0 holds the note once something was dropped
        while self.size > MAX_LOG_CHARS and len(self) > first + 1:
            old = self.pop(first)
            self.size -= len(old)
            self.dropped += len(old)
        note = f"[stepmap: {self.dropped} characters of earlier handler output dropped]\n"
        if first:
            self[0] = note
        else:
            self.insert(0, note)


class ExecutionTimedOut(Exception):
    """The execution's TimeoutSeconds passed. Not a StatesError: no Catch can see it."""


class ExecutionAborted(Exception):
    """Someone stopped the execution (``stepmap stop``). Not a StatesError: no Catch can see it."""


class DistributedMapRunner(Protocol):
    async def run(self, state: model.Map, effective_input: Any, call: StateCall) -> Any: ...


@dataclass
class Run:
    """One execution's identity and shared state."""

    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    input: Any
    clock: Clock
    invoker: HandlerInvoker
    history: History
    start_time: datetime
    deadline: datetime | None = None
    role_arn: str = "arn:aws:iam::123456789012:role/stepmap"
    redrive_count: int = 0
    distributed_map: DistributedMapRunner | None = None
    journal: RunJournal | None = None  # durable progress (checkpoints, stop requests), when journaled
    logs: list[str] = field(default_factory=LogTail)
    child_timeout: float | None = None  # children of a Distributed Map: the ItemProcessor's TimeoutSeconds
    mock_counts: dict[str, int] = field(default_factory=dict)  # invocations of each mocked Task state
    _execution_context: dict[str, Any] | None = None

    def start_child(self, arn: str, name: str, input_json: str, start: datetime) -> None:
        """Reuse this Run for the next child execution of a chunk (children of a chunk run in turn)."""
        self.execution_arn, self.name, self.start_time = arn, name, start
        self.input = jsontext.loads(input_json)
        self._execution_context = None
        self.mock_counts = {}
        if self.child_timeout is not None:
            self.deadline = start + timedelta(seconds=self.child_timeout)

    def execution_context(self) -> dict[str, Any]:
        if self._execution_context is None:
            self._execution_context = {
                "Id": self.execution_arn,
                "Input": self.input,
                "Name": self.name,
                "RoleArn": self.role_arn,
                "StartTime": format_timestamp(self.start_time),
            }
            if ":express:" not in self.execution_arn:  # Express workflows cannot be redriven: no count
                self._execution_context["RedriveCount"] = self.redrive_count
        return self._execution_context

    def check_deadline(self) -> None:
        if self.deadline is not None and self.clock.now() >= self.deadline:
            raise ExecutionTimedOut()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the run's clock, but never past the execution's deadline."""
        if self.deadline is not None:
            remaining = (self.deadline - self.clock.now()).total_seconds()
            if seconds >= remaining:
                await self.clock.sleep(max(remaining, 0.0))
                raise ExecutionTimedOut()
        await self.clock.sleep(seconds)


class Scope:
    """Workflow variables of one scope; inner scopes read outer ones and write only their own."""

    __slots__ = ("parent", "values")

    def __init__(self, parent: Scope | None = None) -> None:
        self.values: dict[str, Any] = {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            scope = scope.parent
        raise StatesError("States.Runtime", f"The variable '${name}' is not defined")


@dataclass
class Frame:
    """One thread of control: its history cursor, its variables, its Map item (if any)."""

    cursor: Cursor
    scope: Scope
    map_item: dict[str, Any] | None = None
    top: bool = False  # the execution's own thread (not a branch or an iteration): it checkpoints

    def child(self, map_item: dict[str, Any] | None = None) -> Frame:
        return Frame(self.cursor.fork(), Scope(self.scope), map_item)


class StateCall:
    """What one attempt at a state knows: used to build references and the context object lazily."""

    __slots__ = ("entered", "frame", "retry_count", "run", "state", "task_token")

    def __init__(self, run: Run, frame: Frame, state: model.State, entered: datetime, retry_count: int):
        self.run = run
        self.frame = frame
        self.state = state
        self.entered = entered
        self.retry_count = retry_count
        self.task_token: str | None = None  # $$.Task.Token of a .waitForTaskToken Task

    def context(self, map_item: dict[str, Any] | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "Execution": self.run.execution_context(),
            "State": {
                "EnteredTime": format_timestamp(self.entered),
                "Name": self.state.name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": {"Id": self.run.state_machine_arn, "Name": self.run.state_machine_name},
        }
        if self.task_token is not None:  # AWS gives $$.Task only to callback tasks (.waitForTaskToken)
            ctx["Task"] = {"Token": self.task_token}
        item = map_item if map_item is not None else self.frame.map_item
        if item is not None:
            ctx["Map"] = {"Item": item}
        return ctx

    def refs(self, document: Any) -> References:
        return References(document, self.context, self.frame.scope)


def deadline_after(start: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else start + timedelta(seconds=seconds)
