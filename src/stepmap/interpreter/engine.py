"""The state loop: runs a parsed state machine with AWS's semantics.

State kept per execution lives in :class:`Run` (identity, clock, history, logs, deadline); per thread of
control (the execution, a Parallel branch, a Map iteration) in :class:`Frame` (history cursor, variable
scope, Map item context). The loop looks up each state's type in :data:`STATE_TYPES`, a table of small async
functions that return ``(output, next_state_name)``. Input/output processing and Retry/Catch live in one
place (:func:`run_state`) for every state type.

Orchestration (the loop, Parallel branches, inline Map iterations) runs as coroutines on one event loop in
the coordinator; only handler calls leave it, through the :class:`HandlerInvoker` port, and whole Distributed
Map runs go through the :class:`DistributedMapRunner` port.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from stepmap.asl import model
from stepmap.asl.jsonpath import JsonPath, PathNotFound
from stepmap.asl.payload import References, dumps
from stepmap.asl.timestamps import format_timestamp, parse_timestamp
from stepmap.errors import STATES_ERRORS, StatesError, error_matches
from stepmap.interpreter.clock import Clock
from stepmap.interpreter.history import Cursor, History
from stepmap.interpreter.ports import RunJournal
from stepmap.interpreter.tasks import HandlerInvoker, lambda_envelope, resolve_task

__all__ = [
    "PAYLOAD_LIMIT",
    "DistributedMapRunner",
    "ExecutionAborted",
    "ExecutionTimedOut",
    "Frame",
    "Run",
    "StateCall",
    "map_items",
    "resolve_int",
    "run_machine",
    "select_item",
]

PAYLOAD_LIMIT = 262_144  # bytes of UTF-8 JSON, AWS's quota for state input/output and task results
INLINE_MAP_CONCURRENCY = 40  # AWS's ceiling for inline Map iterations


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
    logs: list[str] = field(default_factory=list)
    child_timeout: float | None = None  # children of a Distributed Map: the ItemProcessor's TimeoutSeconds
    _execution_context: dict[str, Any] | None = None

    def start_child(self, arn: str, name: str, input_json: str, start: datetime) -> None:
        """Reuse this Run for the next child execution of a chunk (children of a chunk run in turn)."""
        self.execution_arn, self.name, self.start_time = arn, name, start
        self.input = json.loads(input_json)
        self._execution_context = None
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
                "RedriveCount": self.redrive_count,
            }
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

    __slots__ = ("entered", "frame", "retry_count", "run", "state")

    def __init__(self, run: Run, frame: Frame, state: model.State, entered: datetime, retry_count: int):
        self.run = run
        self.frame = frame
        self.state = state
        self.entered = entered
        self.retry_count = retry_count

    def context(self, map_item: dict[str, Any] | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "Execution": self.run.execution_context(),
            "State": {
                "EnteredTime": format_timestamp(self.entered),
                "Name": self.state.name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": {"Id": self.run.state_machine_arn, "Name": self.run.state_machine_name},
            "Task": {},
        }
        item = map_item if map_item is not None else self.frame.map_item
        if item is not None:
            ctx["Map"] = {"Item": item}
        return ctx

    def refs(self, document: Any) -> References:
        return References(document, self.context, self.frame.scope)


def _size_check(state: model.State, text: str) -> None:
    if len(text) > PAYLOAD_LIMIT // 4 and len(text.encode()) > PAYLOAD_LIMIT:
        raise StatesError(
            "States.DataLimitExceeded",
            f"The state/task '{state.name}' returned a result with a size exceeding the maximum number of "
            "bytes service limit.",
        )


def _apply_path(path: JsonPath | None, call: StateCall, document: Any, field_name: str) -> Any:
    if path is None:
        return {}
    if path.root == "$" and path.text == "$":
        return document
    refs = call.refs(document)
    try:
        return path.get(refs.document(path))
    except PathNotFound:
        raise StatesError(
            "States.Runtime",
            f"Invalid path '{path.text}' : No results for path: {path.normalized()}",
        ) from None


def _apply_result_path(path: JsonPath | None, raw_input: Any, result: Any) -> Any:
    if path is None:
        return raw_input
    if path.text == "$":
        return result
    try:
        return path.set(raw_input, result)
    except (PathNotFound, ValueError, TypeError) as exc:
        raise StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ResultPath '{path.text}' to input '{dumps(raw_input)}': {exc}",
        ) from None


def _assign(template: Any, call: StateCall, document: Any) -> dict[str, Any] | None:
    if template is None:
        return None
    values = template.evaluate(call.refs(document))
    if len(dumps(values).encode()) > PAYLOAD_LIMIT:
        raise StatesError(
            "States.DataLimitExceeded", f"The Assign of state '{call.state.name}' exceeds 256 KiB"
        )
    return values


@dataclass
class _Outcome:
    output: Any
    next: str | None
    assigned: dict[str, Any] | None = None
    caught: bool = False  # a Catcher handled an error: go to its Next even from an End state


async def _pass(state: model.Pass, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    if state.has_result:
        result = state.result
    elif state.parameters is not None:
        result = state.parameters.evaluate(call.refs(effective))
    else:
        result = effective
    assigned = _assign(state.assign, call, result)
    output = _apply_result_path(state.result_path, raw, result)
    return _Outcome(_apply_path(state.output_path, call, output, "OutputPath"), state.next, assigned)


def _number_from_path(call: StateCall, path: JsonPath, document: Any, what: str) -> float:
    value = _apply_path(path, call, document, what)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise StatesError(
            "States.Runtime", f"The value of {what} '{path.text}' must be a non-negative number"
        )
    return float(value)


_TIMEOUTS = ("States.Timeout", "States.HeartbeatTimeout")


async def _task(state: model.Task, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    parameters = (
        state.parameters.evaluate(call.refs(effective)) if state.parameters is not None else effective
    )
    target = resolve_task(state.resource, parameters)
    timeout = state.timeout_seconds
    if state.timeout_seconds_path is not None:
        timeout = _number_from_path(call, state.timeout_seconds_path, effective, "TimeoutSecondsPath")
    heartbeat = state.heartbeat_seconds
    if state.heartbeat_seconds_path is not None:
        heartbeat = _number_from_path(call, state.heartbeat_seconds_path, effective, "HeartbeatSecondsPath")
    # A Lambda handler cannot send heartbeats, so the heartbeat bounds the whole call like a timeout;
    # when it is the tighter bound, its expiry is States.HeartbeatTimeout.
    limit = min((t for t in (timeout, heartbeat) if t is not None), default=None)
    heartbeat_bound = heartbeat is not None and (timeout is None or heartbeat < timeout)
    payload_json = dumps(target.payload)
    _size_check(state, payload_json)

    cursor, run = call.frame.cursor, call.run
    arn = run.invoker.function_arn(target.function_name)
    if target.optimized:
        common = {"resourceType": "lambda", "resource": "invoke"}
        cursor.add(
            "TaskScheduled",
            {
                **common,
                "region": run.invoker.region,
                "parameters": dumps(parameters),
                **({"timeoutInSeconds": int(timeout)} if timeout else {}),
            },
        )
        cursor.add("TaskStarted", common)
    else:
        cursor.add(
            "LambdaFunctionScheduled",
            {
                "resource": arn,
                "input": payload_json,
                "inputDetails": {"truncated": False},
                **({"timeoutInSeconds": int(timeout)} if timeout else {}),
            },
        )
        cursor.add("LambdaFunctionStarted", None)
    try:
        result, result_json, request_id = await run.invoker.invoke(
            target.function_name, payload_json, limit, run.logs
        )
        _size_check(state, result_json)
    except StatesError as exc:
        if exc.error == "States.Timeout" and heartbeat_bound:
            exc = StatesError("States.HeartbeatTimeout", f"Task sent no heartbeat for {heartbeat:g} seconds")
        if target.optimized:
            kind = "TaskTimedOut" if exc.error in _TIMEOUTS else "TaskFailed"
            cursor.add(kind, {**common, "error": exc.error, "cause": exc.cause or ""})
        else:
            kind = "LambdaFunctionTimedOut" if exc.error in _TIMEOUTS else "LambdaFunctionFailed"
            cursor.add(kind, {"error": exc.error, "cause": exc.cause or ""})
        raise exc from None
    if target.optimized:
        result = lambda_envelope(result, request_id, target.qualifier)
        cursor.add(
            "TaskSucceeded", {**common, "output": dumps(result), "outputDetails": {"truncated": False}}
        )
    else:
        cursor.add("LambdaFunctionSucceeded", {"output": result_json, "outputDetails": {"truncated": False}})
    if state.result_selector is not None:
        result = state.result_selector.evaluate(call.refs(result))
    assigned = _assign(state.assign, call, result)
    output = _apply_result_path(state.result_path, raw, result)
    return _Outcome(_apply_path(state.output_path, call, output, "OutputPath"), state.next, assigned)


async def _choice(state: model.Choice, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    refs = call.refs(effective)
    output = _apply_path(state.output_path, call, effective, "OutputPath")
    for rule in state.choices:
        if rule.predicate(refs):
            return _Outcome(output, rule.next, _assign(rule.assign, call, effective))
    if state.default is None:
        raise StatesError(
            "States.NoChoiceMatched",
            f"No Matches! for state '{state.name}' and no Default in the Choice state",
        )
    return _Outcome(output, state.default, _assign(state.assign, call, effective))


async def _wait(state: model.Wait, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    run = call.run
    seconds: float
    if state.seconds is not None:
        seconds = float(state.seconds)
    elif state.seconds_path is not None:
        value = _apply_path(state.seconds_path, call, effective, "SecondsPath")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StatesError(
                "States.Runtime",
                f"The SecondsPath parameter does not reference a valid non-negative integer: {dumps(value)}",
            )
        seconds = float(value)
    else:
        text = state.timestamp
        if state.timestamp_path is not None:
            text = _apply_path(state.timestamp_path, call, effective, "TimestampPath")
        moment = parse_timestamp(text)
        if moment is None:
            raise StatesError(
                "States.Runtime",
                f"The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
                f"format string: {dumps(text)}",
            )
        seconds = max(0.0, (moment - run.clock.now()).total_seconds())
    await run.sleep(seconds)
    output = _apply_path(state.output_path, call, effective, "OutputPath")
    return _Outcome(output, state.next, _assign(state.assign, call, effective))


async def _succeed(state: model.Succeed, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    return _Outcome(_apply_path(state.output_path, call, effective, "OutputPath"), None)


async def _fail(state: model.Fail, raw: Any, call: StateCall) -> _Outcome:
    refs = call.refs(raw)
    error = state.error_ref(refs) if state.error_ref is not None else state.error
    cause = state.cause_ref(refs) if state.cause_ref is not None else state.cause
    for what, value in (("ErrorPath", error), ("CausePath", cause)):
        if value is not None and not isinstance(value, str):
            raise StatesError(
                "States.Runtime", f"The {what} of state '{state.name}' must resolve to a string"
            )
    raise StatesError(error or "", cause)


async def _parallel(state: model.Parallel, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    payload = state.parameters.evaluate(call.refs(effective)) if state.parameters is not None else effective
    frame = call.frame
    frame.cursor.add("ParallelStateStarted", None)
    children = [frame.child() for _ in state.branches]
    tasks = [
        asyncio.ensure_future(run_machine(branch, payload, call.run, child))
        for branch, child in zip(state.branches, children)
    ]
    try:
        results = await _gather_fail_fast(tasks)
    except StatesError:
        frame.cursor.last = max(c.cursor.last for c in children)
        frame.cursor.add("ParallelStateFailed", None)
        raise
    frame.cursor.last = max([frame.cursor.last, *(c.cursor.last for c in children)])
    frame.cursor.add("ParallelStateSucceeded", None)
    return _finish_result(state, raw, call, results)


async def _gather_fail_fast(tasks: Sequence[asyncio.Future[Any]]) -> list[Any]:
    """Await all; on the first failure cancel the rest and raise that failure."""
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return [t.result() for t in tasks]
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _finish_result(state: model.State, raw: Any, call: StateCall, result: Any) -> _Outcome:
    if state.result_selector is not None:
        result = state.result_selector.evaluate(call.refs(result))
    _size_check(state, dumps(result))
    assigned = _assign(state.assign, call, result)
    output = _apply_result_path(state.result_path, raw, result)
    return _Outcome(_apply_path(state.output_path, call, output, "OutputPath"), state.next, assigned)


def resolve_int(call: StateCall, document: Any, value: Any, path: JsonPath | None, what: str) -> Any:
    """A Map setting given either as a constant or through its ``...Path`` twin."""
    if path is None:
        return value
    return _apply_path(path, call, document, what)


def map_items(state: model.Map, call: StateCall, effective: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The inline items of a Map with their ``$$.Map.Item`` contexts (JSON arrays, or objects' entries)."""
    items = _apply_path(state.items_path, call, effective, "ItemsPath")
    if isinstance(items, list):
        return [(value, {"Index": i, "Value": value}) for i, value in enumerate(items)]
    if isinstance(items, dict):
        return [(v, {"Index": i, "Key": k, "Value": v}) for i, (k, v) in enumerate(items.items())]
    raise StatesError(
        "States.Runtime",
        f"Invalid path '{state.items_path.text}': The ItemsPath must reference a JSON array or object, "
        f"got {dumps(items)[:200]}",
    )


def select_item(state: model.Map, call: StateCall, effective: Any, value: Any, item: dict[str, Any]) -> Any:
    if state.item_selector is None:
        return value
    refs = References(effective, lambda: call.context(item), call.frame.scope)
    return state.item_selector.evaluate(refs)


async def _map(state: model.Map, raw: Any, call: StateCall) -> _Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    run, frame = call.run, call.frame
    if state.distributed:
        if run.distributed_map is None:
            raise StatesError("States.Runtime", "Distributed Map needs a DistributedMapRunner")
        try:
            output = await run.distributed_map.run(state, effective, call)
        except StatesError:
            frame.cursor.add("MapStateFailed", None)
            raise
        frame.cursor.add("MapStateSucceeded", None)
        return _finish_result(state, raw, call, output)

    items = map_items(state, call, effective)
    limit = resolve_int(
        call, effective, state.max_concurrency, state.max_concurrency_path, "MaxConcurrencyPath"
    )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise StatesError(
            "States.Runtime", f"MaxConcurrency must be a non-negative integer, got {dumps(limit)}"
        )
    inputs = [select_item(state, call, effective, value, item) for value, item in items]
    frame.cursor.add("MapStateStarted", {"length": len(inputs)})
    results: list[Any] = [None] * len(inputs)
    children: list[Frame] = []
    next_index = 0
    workers = min(len(inputs), limit or INLINE_MAP_CONCURRENCY)

    async def iterate() -> None:
        nonlocal next_index
        while next_index < len(inputs):
            index = next_index
            next_index += 1
            child = frame.child()
            children.append(child)
            child.cursor.add("MapIterationStarted", {"name": state.name, "index": index})
            try:
                results[index] = await run_machine(state.processor, inputs[index], run, child)
            except StatesError:
                child.cursor.add("MapIterationFailed", {"name": state.name, "index": index})
                raise
            except asyncio.CancelledError:
                child.cursor.add("MapIterationAborted", {"name": state.name, "index": index})
                raise
            child.cursor.add("MapIterationSucceeded", {"name": state.name, "index": index})

    try:
        await _gather_fail_fast([asyncio.ensure_future(iterate()) for _ in range(workers)])
    except StatesError:
        frame.cursor.last = max([frame.cursor.last, *(c.cursor.last for c in children)])
        frame.cursor.add("MapStateFailed", None)
        raise
    frame.cursor.last = max([frame.cursor.last, *(c.cursor.last for c in children)])
    frame.cursor.add("MapStateSucceeded", None)
    return _finish_result(state, raw, call, results)


StateFunction = Callable[[Any, Any, StateCall], Awaitable[_Outcome]]

STATE_TYPES: dict[str, StateFunction] = {
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}


def _retry_delay(retrier: model.Retrier, attempt: int) -> float:
    delay = retrier.interval_seconds * (retrier.backoff_rate**attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter == "FULL":
        delay = random.uniform(0, delay)
    return delay


def _retryable(error: str) -> bool:
    info = STATES_ERRORS.get(error)
    return info is None or info.retryable


def _too_deep(state: model.State) -> StatesError:
    return StatesError(
        "States.Runtime",
        f"The state '{state.name}' produced data nested too deeply to be represented as JSON",
    )


async def run_state(state: model.State, raw: Any, run: Run, frame: Frame) -> tuple[Any, str | None]:
    """Run one state with its Retry and Catch; return (output, next state or None at the end)."""
    cursor = frame.cursor
    entered = run.clock.now()
    history_on = cursor.enabled
    if history_on:
        cursor.add(
            f"{state.type}StateEntered",
            {"name": state.name, "input": dumps(raw), "inputDetails": {"truncated": False}},
        )
    # Per retrier: attempts so far (the back-off grows with them) and attempts per error name (what
    # MaxAttempts bounds, as AWS's "complex retry scenarios" example shows).
    attempts = [0] * len(state.retry)
    per_error: list[dict[str, int]] = [{} for _ in state.retry]
    retry_count = 0
    execute = STATE_TYPES[state.type]
    while True:
        call = StateCall(run, frame, state, entered, retry_count)
        try:
            try:
                outcome = await execute(state, raw, call)
            except RecursionError:
                raise _too_deep(state) from None
            break
        except StatesError as exc:
            if state.type == "Fail":
                raise
            retrier_index = next(
                (i for i, r in enumerate(state.retry) if error_matches(r.error_equals, exc.error)), None
            )
            if retrier_index is not None and _retryable(exc.error):
                retrier = state.retry[retrier_index]
                seen = per_error[retrier_index]
                if seen.get(exc.error, 0) < retrier.max_attempts:
                    delay = _retry_delay(retrier, attempts[retrier_index])
                    attempts[retrier_index] += 1
                    seen[exc.error] = seen.get(exc.error, 0) + 1
                    retry_count += 1
                    await run.sleep(delay)
                    run.check_deadline()
                    continue
            catcher = next((c for c in state.catch if error_matches(c.error_equals, exc.error)), None)
            if catcher is None:
                raise
            error_output = exc.to_json()
            if "Cause" not in error_output:
                error_output["Cause"] = ""
            assigned = _assign(catcher.assign, call, error_output)
            output = _apply_result_path(catcher.result_path, raw, error_output)
            outcome = _Outcome(output, catcher.next, assigned, caught=True)
            break
    if outcome.assigned:
        frame.scope.values.update(outcome.assigned)
    if history_on:
        try:
            text = dumps(outcome.output)
        except RecursionError:
            raise _too_deep(state) from None
        _size_check(state, text)
        details: dict[str, Any] = {"name": state.name, "output": text, "outputDetails": {"truncated": False}}
        if outcome.assigned:
            details["assignedVariables"] = {k: dumps(v) for k, v in outcome.assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        cursor.add(f"{state.type}StateExited", details)
    if not outcome.caught and (state.type == "Succeed" or state.end):
        return outcome.output, None
    return outcome.output, outcome.next


async def run_machine(
    machine: model.StateMachine, input: Any, run: Run, frame: Frame, start_at: str | None = None
) -> Any:
    """Run states from StartAt (or ``start_at``, when resuming) until one ends the machine."""
    name: str | None = start_at or machine.start_at
    value = input
    states = machine.states
    journal = run.journal if frame.top else None
    while name is not None:
        run.check_deadline()
        if journal is not None:
            journal.checkpoint(name, value, frame.scope.values)
            if journal.should_stop():
                raise ExecutionAborted()
        value, name = await run_state(states[name], value, run, frame)
    return value


def deadline_after(start: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else start + timedelta(seconds=seconds)
