"""The parsed form of a state machine: frozen dataclasses with paths and templates compiled once.

:func:`parse_machine` expects a definition that :func:`stepmap.asl.validate.validate` accepted; it does not
re-check what the validator checks. Each state type is one dataclass; fields that many types share live
on :class:`State`. Raw sub-documents the interpreter reads as data (ItemReader, ItemBatcher, ResultWriter)
stay plain mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepmap.asl.choice import Predicate, compile_rule
from stepmap.asl.jsonpath import JsonPath, compile_path
from stepmap.asl.payload import Evaluator, Template, compile_template, compile_value_ref

__all__ = [
    "Catcher",
    "Choice",
    "ChoiceRule",
    "Fail",
    "Map",
    "Parallel",
    "Pass",
    "Retrier",
    "State",
    "StateMachine",
    "Succeed",
    "Task",
    "Wait",
    "parse_machine",
]

ROOT = compile_path("$")


@dataclass(frozen=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: JsonPath | None  # None: ResultPath null, discard the error output
    assign: Template | None = None


@dataclass(frozen=True, kw_only=True)
class State:
    name: str
    type: str
    raw: Mapping[str, Any]
    next: str | None = None
    end: bool = False
    input_path: JsonPath | None = ROOT  # None: InputPath null -> {}
    output_path: JsonPath | None = ROOT  # None: OutputPath null -> {}
    parameters: Template | None = None
    result_selector: Template | None = None
    result_path: JsonPath | None = ROOT  # None: ResultPath null -> keep the raw input
    assign: Template | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Pass(State):
    result: Any = None
    has_result: bool = False


@dataclass(frozen=True, kw_only=True)
class Task(State):
    resource: str
    timeout_seconds: float | None = None
    timeout_seconds_path: JsonPath | None = None
    heartbeat_seconds: float | None = None
    heartbeat_seconds_path: JsonPath | None = None


@dataclass(frozen=True)
class ChoiceRule:
    predicate: Predicate
    next: str
    assign: Template | None = None


@dataclass(frozen=True, kw_only=True)
class Choice(State):
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None


@dataclass(frozen=True, kw_only=True)
class Wait(State):
    seconds: float | None = None
    timestamp: str | None = None
    seconds_path: JsonPath | None = None
    timestamp_path: JsonPath | None = None


@dataclass(frozen=True, kw_only=True)
class Succeed(State):
    pass


@dataclass(frozen=True, kw_only=True)
class Fail(State):
    error: str | None = None
    cause: str | None = None
    error_ref: Evaluator | None = None  # ErrorPath: a path or an intrinsic
    cause_ref: Evaluator | None = None  # CausePath


@dataclass(frozen=True, kw_only=True)
class Parallel(State):
    branches: tuple[StateMachine, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Map(State):
    processor: StateMachine
    distributed: bool = False
    execution_type: str = "STANDARD"
    items_path: JsonPath = ROOT
    item_selector: Template | None = None
    max_concurrency: int = 0
    max_concurrency_path: JsonPath | None = None
    item_reader: Mapping[str, Any] | None = None
    item_batcher: Mapping[str, Any] | None = None
    result_writer: Mapping[str, Any] | None = None
    label: str | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_count_path: JsonPath | None = None
    tolerated_failure_percentage: float | None = None
    tolerated_failure_percentage_path: JsonPath | None = None


@dataclass(frozen=True)
class StateMachine:
    start_at: str
    states: Mapping[str, State]
    raw: Mapping[str, Any] = field(repr=False)
    timeout_seconds: float | None = None
    comment: str | None = None


def _path(raw: Mapping[str, Any], key: str, default: JsonPath | None = ROOT) -> JsonPath | None:
    if key not in raw:
        return default
    value = raw[key]
    return None if value is None else compile_path(value)


def _opt_path(raw: Mapping[str, Any], key: str) -> JsonPath | None:
    return compile_path(raw[key]) if raw.get(key) is not None else None


def _template(raw: Mapping[str, Any], key: str) -> Template | None:
    return compile_template(raw[key]) if key in raw else None


def _retrier(raw: Mapping[str, Any]) -> Retrier:
    return Retrier(
        error_equals=tuple(raw["ErrorEquals"]),
        interval_seconds=raw.get("IntervalSeconds", 1),
        max_attempts=raw.get("MaxAttempts", 3),
        backoff_rate=raw.get("BackoffRate", 2.0),
        max_delay_seconds=raw.get("MaxDelaySeconds"),
        jitter=raw.get("JitterStrategy", "NONE"),
    )


def _catcher(raw: Mapping[str, Any]) -> Catcher:
    return Catcher(
        error_equals=tuple(raw["ErrorEquals"]),
        next=raw["Next"],
        result_path=_path(raw, "ResultPath"),
        assign=_template(raw, "Assign"),
    )


def _common(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": raw["Type"],
        "raw": raw,
        "next": raw.get("Next"),
        "end": bool(raw.get("End", False)),
        "input_path": _path(raw, "InputPath"),
        "output_path": _path(raw, "OutputPath"),
        "parameters": _template(raw, "Parameters"),
        "result_selector": _template(raw, "ResultSelector"),
        "result_path": _path(raw, "ResultPath"),
        "assign": _template(raw, "Assign"),
        "retry": tuple(_retrier(r) for r in raw.get("Retry", ())),
        "catch": tuple(_catcher(c) for c in raw.get("Catch", ())),
    }


def _parse_state(name: str, raw: Mapping[str, Any]) -> State:
    kind = raw["Type"]
    common = _common(name, raw)
    if kind == "Pass":
        return Pass(**common, result=raw.get("Result"), has_result="Result" in raw)
    if kind == "Task":
        return Task(
            **common,
            resource=raw["Resource"],
            timeout_seconds=raw.get("TimeoutSeconds"),
            timeout_seconds_path=_opt_path(raw, "TimeoutSecondsPath"),
            heartbeat_seconds=raw.get("HeartbeatSeconds"),
            heartbeat_seconds_path=_opt_path(raw, "HeartbeatSecondsPath"),
        )
    if kind == "Choice":
        rules = tuple(
            ChoiceRule(compile_rule(r), r["Next"], _template(r, "Assign")) for r in raw.get("Choices", ())
        )
        return Choice(**common, choices=rules, default=raw.get("Default"))
    if kind == "Wait":
        return Wait(
            **common,
            seconds=raw.get("Seconds"),
            timestamp=raw.get("Timestamp"),
            seconds_path=_opt_path(raw, "SecondsPath"),
            timestamp_path=_opt_path(raw, "TimestampPath"),
        )
    if kind == "Succeed":
        return Succeed(**common)
    if kind == "Fail":
        return Fail(
            **common,
            error=raw.get("Error"),
            cause=raw.get("Cause"),
            error_ref=compile_value_ref(raw["ErrorPath"], "ErrorPath") if "ErrorPath" in raw else None,
            cause_ref=compile_value_ref(raw["CausePath"], "CausePath") if "CausePath" in raw else None,
        )
    if kind == "Parallel":
        return Parallel(**common, branches=tuple(parse_machine(b) for b in raw["Branches"]))
    if kind == "Map":
        processor_raw = raw.get("ItemProcessor") or raw["Iterator"]
        config = processor_raw.get("ProcessorConfig", {})
        # Legacy Map: "Parameters" plays the role of ItemSelector, not of the state's Parameters.
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        common["parameters"] = None
        return Map(
            **common,
            processor=parse_machine(processor_raw),
            distributed=config.get("Mode") == "DISTRIBUTED",
            execution_type=config.get("ExecutionType", "STANDARD"),
            items_path=_path(raw, "ItemsPath") or ROOT,
            item_selector=compile_template(selector) if selector is not None else None,
            max_concurrency=raw.get("MaxConcurrency", 0),
            max_concurrency_path=_opt_path(raw, "MaxConcurrencyPath"),
            item_reader=raw.get("ItemReader"),
            item_batcher=raw.get("ItemBatcher"),
            result_writer=raw.get("ResultWriter"),
            label=raw.get("Label"),
            tolerated_failure_count=raw.get("ToleratedFailureCount"),
            tolerated_failure_count_path=_opt_path(raw, "ToleratedFailureCountPath"),
            tolerated_failure_percentage=raw.get("ToleratedFailurePercentage"),
            tolerated_failure_percentage_path=_opt_path(raw, "ToleratedFailurePercentagePath"),
        )
    raise ValueError(f"unknown state type {kind!r}")  # the validator rejects these first


def parse_machine(definition: Mapping[str, Any]) -> StateMachine:
    """Build the parsed model of a validated definition (or of a branch / item processor)."""
    states = {name: _parse_state(name, raw) for name, raw in definition["States"].items()}
    return StateMachine(
        start_at=definition["StartAt"],
        states=states,
        raw=definition,
        timeout_seconds=definition.get("TimeoutSeconds"),
        comment=definition.get("Comment"),
    )
