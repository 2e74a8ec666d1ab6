"""The state types in JSONata mode: the data flow of ``QueryLanguage: "JSONata"`` states.

A JSONata state has no InputPath, Parameters, ResultSelector, ResultPath or OutputPath. It reads
``$states.input`` (its raw input), builds a Task's payload from ``Arguments``, and makes its output from
``Output`` (by default the result for Task, Map and Parallel, the input for the others); ``Assign`` sees the
same values as ``Output`` (the variables as they were when the state was entered). Choice rules are
``Condition`` expressions, each with its own ``Output`` and ``Assign``. Numbers and strings that AWS lets a
JSONata state compute (Wait Seconds/Timestamp, Task TimeoutSeconds/HeartbeatSeconds, Fail Error/Cause) are
evaluated here and checked for their kind.

Map and Parallel share their orchestration with JSONPath mode (:mod:`stepmap.interpreter.states` asks
``state.jsonata`` at the few places the data flow differs); this table holds the other six types.
The catchers' Output/Assign (with ``$states.errorOutput``) are applied by :func:`catch_outcome`, which the
engine calls for a JSONata state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stepmap.asl import model
from stepmap.asl.jsonata import MISSING, JsonataTemplate, require
from stepmap.asl.timestamps import parse_timestamp
from stepmap.errors import StatesError
from stepmap.interpreter.run import StateCall
from stepmap.interpreter.states import (
    STATE_TYPES,
    Outcome,
    StateFunction,
    assign_variables,
    jsonata_outcome,
    jsonata_refs,
)

__all__ = ["JSONATA_STATE_TYPES", "JsonataCall", "catch_outcome"]


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value == int(value)


def _setting(value: Any, call: StateCall, raw: Any, check: Any, want: str) -> Any:
    if isinstance(value, JsonataTemplate):
        refs = jsonata_refs(call, raw)
        return require(value.evaluate(refs), refs, value, check, want)
    return value


async def _pass(state: model.Pass, raw: Any, call: StateCall) -> Outcome:
    return jsonata_outcome(state, call, raw, MISSING, raw)


async def _task(state: model.Task, raw: Any, call: StateCall) -> Outcome:
    refs = jsonata_refs(call, raw)
    arguments = state.arguments.evaluate(refs) if state.arguments is not None else raw
    positive = "a positive integer"
    timeout = _setting(state.timeout_expression, call, raw, lambda v: _is_int(v) and v > 0, positive)
    heartbeat = _setting(state.heartbeat_expression, call, raw, lambda v: _is_int(v) and v > 0, positive)
    # The JSONPath Task runs the call; with Parameters = the evaluated Arguments and every path at its
    # default, its output is the task's result.
    plain = replace(
        state,
        parameters=_Constant(arguments),  # type: ignore[arg-type]
        assign=None,
        timeout_seconds=timeout if timeout is not None else state.timeout_seconds,
        heartbeat_seconds=heartbeat if heartbeat is not None else state.heartbeat_seconds,
        query_language="JSONPath",
    )
    result = (await STATE_TYPES["Task"](plain, raw, call)).output
    return jsonata_outcome(state, call, raw, result, result)


class _Constant:
    """A payload template that is already evaluated (a JSONata Task's Arguments)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, refs: Any) -> Any:
        return self.value


class JsonataCall(StateCall):
    """A StateCall that also knows the id of its StateEntered event, which JSONata's error causes name."""

    __slots__ = ("entered_event",)
    entered_event: int


async def _choice(state: model.Choice, raw: Any, call: StateCall) -> Outcome:
    refs = jsonata_refs(call, raw)
    for rule in state.choices:
        assert rule.condition is not None
        matched = require(
            rule.condition.evaluate(refs), refs, rule.condition, lambda v: isinstance(v, bool), "a boolean"
        )
        if matched:
            output_template = rule.output or state.output
            output = output_template.evaluate(refs) if output_template is not None else raw
            return Outcome(output, rule.next, assign_variables(rule.assign, call, None, refs))
    if state.default is None:
        raise StatesError(
            "States.NoChoiceMatched",
            f"No Matches! for state '{state.name}' and no Default in the Choice state",
        )
    outcome = jsonata_outcome(state, call, raw, MISSING, raw)
    outcome.next = state.default
    return outcome


async def _wait(state: model.Wait, raw: Any, call: StateCall) -> Outcome:
    run = call.run
    if state.seconds is not None:
        seconds = float(
            _setting(state.seconds, call, raw, lambda v: _is_int(v) and v >= 0, "a non-negative integer")
        )
    else:
        text = _setting(
            state.timestamp,
            call,
            raw,
            lambda v: isinstance(v, str) and parse_timestamp(v) is not None,
            "an RFC 3339 timestamp string",
        )
        moment = parse_timestamp(text)
        assert moment is not None
        seconds = max(0.0, (moment - run.clock.now()).total_seconds())
    await run.sleep(seconds)
    return jsonata_outcome(state, call, raw, MISSING, raw)


async def _succeed(state: model.Succeed, raw: Any, call: StateCall) -> Outcome:
    output = state.output.evaluate(jsonata_refs(call, raw)) if state.output is not None else raw
    return Outcome(output, None)


async def _fail(state: model.Fail, raw: Any, call: StateCall) -> Outcome:
    error = _setting(state.error, call, raw, lambda v: isinstance(v, str), "a string")
    cause = _setting(state.cause, call, raw, lambda v: isinstance(v, str), "a string")
    raise StatesError(error or "", cause)


def catch_outcome(catcher: model.Catcher, call: StateCall, raw: Any, error_output: dict[str, Any]) -> Outcome:
    """A JSONata Catcher: its Output (default: the error output) and Assign, with ``$states.errorOutput``."""
    refs = jsonata_refs(call, raw, error_output=error_output)
    output = catcher.output.evaluate(refs) if catcher.output is not None else error_output
    assigned = assign_variables(catcher.assign, call, None, refs)
    return Outcome(output, catcher.next, assigned, caught=True)


JSONATA_STATE_TYPES: dict[str, StateFunction] = {
    **STATE_TYPES,
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
}
