"""The state types: one small async function per ``Type``, in :data:`STATE_TYPES`.

Each takes the state, its raw input and the :class:`~stepmap.interpreter.run.StateCall`, does the state's
own input/output processing (InputPath, Parameters, ResultSelector, ResultPath, OutputPath, Assign) and its
work, and returns an :class:`Outcome` (output, next state, variables to assign). Retry and Catch are not
here: :func:`stepmap.interpreter.engine.run_state` applies them, the same way for every type.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stepmap.asl import model
from stepmap.asl.jsonata import EvaluationContext, JsonataTemplate, require
from stepmap.asl.jsonpath import JsonPath, PathNotFound
from stepmap.asl.payload import References, dumps
from stepmap.asl.resources import parse_resource
from stepmap.asl.timestamps import parse_timestamp
from stepmap.errors import StatesError
from stepmap.interpreter.run import PAYLOAD_LIMIT, Frame, StateCall
from stepmap.interpreter.service_tasks import invoke_service_task, task_token
from stepmap.interpreter.tasks import (
    LambdaResponse,
    client_context,
    compact_cause,
    invocation_type,
    lambda_envelope,
    resolve_task,
)

__all__ = [
    "INLINE_MAP_CONCURRENCY",
    "STATE_TYPES",
    "Outcome",
    "apply_result_path",
    "assign_variables",
    "jsonata_outcome",
    "jsonata_refs",
    "map_items",
    "resolve_int",
    "select_item",
    "size_check",
]

INLINE_MAP_CONCURRENCY = 40  # AWS's ceiling for inline Map iterations
MAX_WAIT_SECONDS = 99_999_999  # AWS: Seconds is "an integer value from 0 up to 99999999"


def size_check(state: model.State, text: str) -> None:
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


def apply_result_path(path: JsonPath | None, raw_input: Any, result: Any) -> Any:
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


def assign_variables(
    template: Any, call: StateCall, document: Any, refs: Any = None
) -> dict[str, Any] | None:
    if template is None:
        return None
    values = template.evaluate(refs if refs is not None else call.refs(document))
    if not isinstance(values, dict):  # a JSONata Assign given as one expression
        raise StatesError(
            "States.QueryEvaluationError",
            f"The Assign of state '{call.state.name}' must evaluate to a JSON object, "
            f"got {dumps(values)[:200]}",
        )
    if len(dumps(values).encode()) > PAYLOAD_LIMIT:
        raise StatesError(
            "States.DataLimitExceeded", f"The Assign of state '{call.state.name}' exceeds 256 KiB"
        )
    return values


@dataclass
class Outcome:
    output: Any
    next: str | None
    assigned: dict[str, Any] | None = None
    caught: bool = False  # a Catcher handled an error: go to its Next even from an End state


async def _pass(state: model.Pass, raw: Any, call: StateCall) -> Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    if state.has_result:
        result = state.result
    elif state.parameters is not None:
        result = state.parameters.evaluate(call.refs(effective))
    else:
        result = effective
    assigned = assign_variables(state.assign, call, result)
    output = apply_result_path(state.result_path, raw, result)
    return Outcome(_apply_path(state.output_path, call, output, "OutputPath"), state.next, assigned)


def _number_from_path(call: StateCall, path: JsonPath, document: Any, what: str) -> float:
    value = _apply_path(path, call, document, what)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise StatesError(
            "States.Runtime", f"The value of {what} '{path.text}' must be a non-negative number"
        )
    return float(value)


_TIMEOUTS = ("States.Timeout", "States.HeartbeatTimeout")


async def _task(state: model.Task, raw: Any, call: StateCall) -> Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    service = parse_resource(state.resource)
    callback = service is not None and (
        service.pattern == "waitForTaskToken" or service.service == "activity"
    )
    if callback:  # $$.Task.Token is there for Parameters to pass on
        call.task_token = task_token(call)
    parameters = (
        state.parameters.evaluate(call.refs(effective)) if state.parameters is not None else effective
    )
    target = resolve_task(state.resource, parameters) if service is None else None
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
    mock = _mocked(state, call)
    if target is None:  # a service integration: dynamodb:putItem, aws-sdk:s3:listObjectsV2, ...
        assert service is not None
        # a callback's heartbeat is renewed by SendTaskHeartbeat: the integration watches it, not a timer
        bound = timeout if callback else limit
        result = await invoke_service_task(service, state, parameters, call, bound, heartbeat, mock)
        return _task_output(state, raw, call, result)
    payload_json = dumps(target.payload)
    size_check(state, payload_json)

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
        if mock is not None:  # the mocked result is the task's whole result (lambda:invoke: the envelope)
            result = mock.invoke(None, parameters, None)
            result_json, request_id = dumps(result), ""
        else:
            kind = invocation_type(parameters) if target.optimized else "RequestResponse"
            if kind == "DryRun":  # Lambda checks the call without running the function
                response = LambdaResponse(None, "null", str(uuid.uuid4()))
            else:
                client = client_context(parameters) if target.optimized else None
                try:
                    response = await run.invoker.invoke_lambda(
                        target.function_name, payload_json, limit, run.logs, client
                    )
                except StatesError:
                    if kind != "Event":
                        raise
                    # an asynchronous invocation was accepted (202): the function's own failure is
                    # Lambda's to retry, not the Task's
                    response = LambdaResponse(None, "null", str(uuid.uuid4()))
            result, result_json, request_id = response.payload, response.body, response.request_id
        size_check(state, result_json)
    except StatesError as exc:
        if exc.error == "States.Timeout" and heartbeat_bound:
            exc = StatesError("States.HeartbeatTimeout", f"Task sent no heartbeat for {heartbeat:g} seconds")
        if target.optimized:
            exc = StatesError(exc.error, compact_cause(exc.cause))
            kind = "TaskTimedOut" if exc.error in _TIMEOUTS else "TaskFailed"
            cursor.add(kind, {**common, "error": exc.error, "cause": exc.cause or ""})
        else:
            kind = "LambdaFunctionTimedOut" if exc.error in _TIMEOUTS else "LambdaFunctionFailed"
            cursor.add(kind, {"error": exc.error, "cause": exc.cause or ""})
        raise exc from None
    if target.optimized:
        if mock is None:
            result = lambda_envelope(result, request_id, target.qualifier, response, parameters)
        cursor.add(
            "TaskSucceeded", {**common, "output": dumps(result), "outputDetails": {"truncated": False}}
        )
    else:
        cursor.add("LambdaFunctionSucceeded", {"output": result_json, "outputDetails": {"truncated": False}})
    return _task_output(state, raw, call, result)


class _MockedTask:
    """One attempt at a mocked Task, shaped as an integration so both Task paths record it alike."""

    def __init__(self, mocks: Any, state_name: str, invocation: int) -> None:
        self.mocks, self.state_name, self.invocation = mocks, state_name, invocation

    def invoke(self, resource: Any, parameters: Any, ctx: Any) -> Any:
        return self.mocks.respond(self.state_name, self.invocation)


def _mocked(state: model.Task, call: StateCall) -> _MockedTask | None:
    """This attempt's mock when the run's mock test case names the state (counting the attempt)."""
    run = call.run
    mocks = getattr(run.invoker, "mocks", None)
    if mocks is None or not mocks.mocks(state.name):
        return None
    invocation = run.mock_counts.get(state.name, 0)
    run.mock_counts[state.name] = invocation + 1
    return _MockedTask(mocks, state.name, invocation)


def _task_output(state: model.Task, raw: Any, call: StateCall, result: Any) -> Outcome:
    if state.result_selector is not None:
        result = state.result_selector.evaluate(call.refs(result))
    assigned = assign_variables(state.assign, call, result)
    output = apply_result_path(state.result_path, raw, result)
    return Outcome(_apply_path(state.output_path, call, output, "OutputPath"), state.next, assigned)


async def _choice(state: model.Choice, raw: Any, call: StateCall) -> Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    refs = call.refs(effective)
    output = _apply_path(state.output_path, call, effective, "OutputPath")
    for rule in state.choices:
        assert rule.predicate is not None  # JSONata rules run in jsonata_states
        if rule.predicate(refs):
            return Outcome(output, rule.next, assign_variables(rule.assign, call, effective))
    if state.default is None:
        raise StatesError(
            "States.NoChoiceMatched",
            f"No Matches! for state '{state.name}' and no Default in the Choice state",
        )
    return Outcome(output, state.default, assign_variables(state.assign, call, effective))


async def _wait(state: model.Wait, raw: Any, call: StateCall) -> Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    run = call.run
    seconds: float
    assert not isinstance(state.seconds, JsonataTemplate) and not isinstance(state.timestamp, JsonataTemplate)
    if state.seconds is not None:
        seconds = float(state.seconds)
    elif state.seconds_path is not None:
        value = _apply_path(state.seconds_path, call, effective, "SecondsPath")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StatesError(
                "States.Runtime",
                f"The SecondsPath parameter does not reference a valid non-negative integer: {dumps(value)}",
            )
        if value > MAX_WAIT_SECONDS:  # a 10**400 must not reach float(), let alone the clock
            shown = dumps(value) if value < 10**40 else f"an integer of {len(str(value))} digits"
            raise StatesError(
                "States.Runtime",
                f"The SecondsPath parameter references {shown}, more than the "
                f"{MAX_WAIT_SECONDS} seconds a Wait may last",
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
    return Outcome(output, state.next, assign_variables(state.assign, call, effective))


async def _succeed(state: model.Succeed, raw: Any, call: StateCall) -> Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath")
    return Outcome(_apply_path(state.output_path, call, effective, "OutputPath"), None)


async def _fail(state: model.Fail, raw: Any, call: StateCall) -> Outcome:
    refs = call.refs(raw)
    error = state.error_ref(refs) if state.error_ref is not None else state.error
    cause = state.cause_ref(refs) if state.cause_ref is not None else state.cause
    for what, value in (("ErrorPath", error), ("CausePath", cause)):
        if value is not None and not isinstance(value, str):  # (JSONata Error/Cause run in jsonata_states)
            raise StatesError(
                "States.Runtime", f"The {what} of state '{state.name}' must resolve to a string"
            )
    raise StatesError(error or "", cause)  # type: ignore[arg-type]


async def _parallel(state: model.Parallel, raw: Any, call: StateCall) -> Outcome:
    if state.jsonata:
        payload = state.arguments.evaluate(jsonata_refs(call, raw)) if state.arguments is not None else raw
    else:
        effective = _apply_path(state.input_path, call, raw, "InputPath")
        payload = (
            state.parameters.evaluate(call.refs(effective)) if state.parameters is not None else effective
        )
    frame = call.frame
    frame.cursor.add("ParallelStateStarted", None)
    children = [frame.child() for _ in state.branches]
    tasks = [
        asyncio.ensure_future(_run_machine(branch, payload, call.run, child))
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


def jsonata_outcome(state: model.State, call: StateCall, raw: Any, result: Any, default: Any) -> Outcome:
    """A JSONata state's Output and Assign, both evaluated with the variables as they were at entry."""
    refs = jsonata_refs(call, raw, result=result)
    output = state.output.evaluate(refs) if state.output is not None else default
    assigned = assign_variables(state.assign, call, None, refs)
    return Outcome(output, state.next, assigned)


def _finish_result(state: model.State, raw: Any, call: StateCall, result: Any) -> Outcome:
    if state.jsonata:
        size_check(state, dumps(result))
        return jsonata_outcome(state, call, raw, result, result)
    if state.result_selector is not None:
        result = state.result_selector.evaluate(call.refs(result))
    size_check(state, dumps(result))
    assigned = assign_variables(state.assign, call, result)
    output = apply_result_path(state.result_path, raw, result)
    return Outcome(_apply_path(state.output_path, call, output, "OutputPath"), state.next, assigned)


def resolve_int(call: StateCall, document: Any, value: Any, path: JsonPath | None, what: str) -> Any:
    """A Map setting given either as a constant or through its ``...Path`` twin (or a JSONata expression)."""
    if isinstance(value, JsonataTemplate):
        refs = jsonata_refs(call, document)
        return require(
            value.evaluate(refs),
            refs,
            value,
            lambda v: not isinstance(v, bool) and isinstance(v, int | float) and v >= 0,
            "a non-negative number",
        )
    if path is None:
        return value
    return _apply_path(path, call, document, what)


def map_items(state: model.Map, call: StateCall, effective: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The inline items of a Map with their ``$$.Map.Item`` contexts (JSON arrays, or objects' entries)."""
    if state.jsonata:
        items = state.items.evaluate(jsonata_refs(call, effective)) if state.items is not None else effective
        if not isinstance(items, list | dict):
            raise StatesError(
                "States.QueryEvaluationError",
                f"The Items field of state '{state.name}' must evaluate to a JSON array or object, "
                f"got {dumps(items)[:200]}",
            )
    else:
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
    if state.jsonata:
        return state.item_selector.evaluate(jsonata_refs(call, effective, item))  # type: ignore[arg-type]
    refs = References(effective, lambda: call.context(item), call.frame.scope)
    return state.item_selector.evaluate(refs)


def jsonata_refs(
    call: StateCall, document: Any, map_item: dict[str, Any] | None = None, **extra: Any
) -> EvaluationContext:
    """What a JSONata expression of this state attempt sees (``$states``, the variables)."""
    return EvaluationContext(
        document,
        (lambda: call.context(map_item)),
        call.frame.scope,
        state_label=f"An error occurred while executing the state '{call.state.name}' "
        f"(entered at the event id #{getattr(call, 'entered_event', 0)}).",
        **extra,
    )


async def _map(state: model.Map, raw: Any, call: StateCall) -> Outcome:
    effective = _apply_path(state.input_path, call, raw, "InputPath") if not state.jsonata else raw
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
                results[index] = await _run_machine(state.processor, inputs[index], run, child)
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


StateFunction = Callable[[Any, Any, StateCall], Awaitable[Outcome]]

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


async def _run_machine(machine: model.StateMachine, input: Any, run: Any, frame: Frame) -> Any:
    """The engine's state loop, for Parallel branches and Map iterations (imported late: it imports us)."""
    from stepmap.interpreter.engine import run_machine

    return await run_machine(machine, input, run, frame)
