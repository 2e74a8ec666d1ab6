"""The parsed form of a state machine: frozen dataclasses with paths and templates compiled once.

:func:`parse_machine` expects a definition that :func:`stepmap.asl.validate.validate` accepted; it does not
re-check what the validator checks. Each state type is one dataclass; fields that many types share live
on :class:`State`. Raw sub-documents the interpreter reads as data (ItemReader, ItemBatcher, ResultWriter)
stay plain mappings.

``QueryLanguage`` is resolved here, once: every state carries its own (``state.jsonata``), inherited from its
scope unless it sets one. A JSONata state's ``Arguments``, ``Output``, ``Assign``, Choice ``Condition``, Map
``Items``/``ItemSelector`` and its ``{% %}`` settings are compiled
:class:`~stepmap.asl.jsonata.JsonataTemplate` objects; its JSONPath fields keep their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepmap.asl.choice import Predicate, compile_rule
from stepmap.asl.jsonata import JsonataTemplate, compile_value, is_expression
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
    assign: Template | JsonataTemplate | None = None
    output: JsonataTemplate | None = None  # JSONata: the Catcher's Output


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
    assign: Template | JsonataTemplate | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    query_language: str = "JSONPath"
    arguments: JsonataTemplate | None = None  # JSONata: Task/Parallel Arguments
    output: JsonataTemplate | None = None  # JSONata: the state's Output

    @property
    def jsonata(self) -> bool:
        return self.query_language == "JSONata"


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
    timeout_expression: JsonataTemplate | None = None  # JSONata: TimeoutSeconds as an expression
    heartbeat_expression: JsonataTemplate | None = None
    heartbeat_seconds_path: JsonPath | None = None


@dataclass(frozen=True)
class ChoiceRule:
    predicate: Predicate | None  # None in JSONata: the Condition decides
    next: str
    assign: Template | JsonataTemplate | None = None
    condition: JsonataTemplate | None = None
    output: JsonataTemplate | None = None


@dataclass(frozen=True, kw_only=True)
class Choice(State):
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None


@dataclass(frozen=True, kw_only=True)
class Wait(State):
    seconds: float | JsonataTemplate | None = None
    timestamp: str | JsonataTemplate | None = None
    seconds_path: JsonPath | None = None
    timestamp_path: JsonPath | None = None


@dataclass(frozen=True, kw_only=True)
class Succeed(State):
    pass


@dataclass(frozen=True, kw_only=True)
class Fail(State):
    error: str | JsonataTemplate | None = None
    cause: str | JsonataTemplate | None = None
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
    items: JsonataTemplate | None = None  # JSONata: Items (an array, an object or an expression)
    item_selector: Template | JsonataTemplate | None = None
    max_concurrency: int | JsonataTemplate = 0
    max_concurrency_path: JsonPath | None = None
    item_reader: Mapping[str, Any] | None = None
    item_batcher: Mapping[str, Any] | None = None
    result_writer: Mapping[str, Any] | None = None
    label: str | None = None
    tolerated_failure_count: int | JsonataTemplate | None = None
    tolerated_failure_count_path: JsonPath | None = None
    tolerated_failure_percentage: float | JsonataTemplate | None = None
    tolerated_failure_percentage_path: JsonPath | None = None


@dataclass(frozen=True)
class StateMachine:
    start_at: str
    states: Mapping[str, State]
    raw: Mapping[str, Any] = field(repr=False)
    timeout_seconds: float | None = None
    comment: str | None = None
    query_language: str = "JSONPath"


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


def _catcher(raw: Mapping[str, Any], lang: str = "JSONPath", where: str = "Catch") -> Catcher:
    if lang == "JSONata":
        return Catcher(
            error_equals=tuple(raw["ErrorEquals"]),
            next=raw["Next"],
            result_path=ROOT,
            assign=_jsonata(raw, "Assign", f"{where}/Assign"),
            output=_jsonata(raw, "Output", f"{where}/Output"),
        )
    return Catcher(
        error_equals=tuple(raw["ErrorEquals"]),
        next=raw["Next"],
        result_path=_path(raw, "ResultPath"),
        assign=_template(raw, "Assign"),
    )


def _jsonata(raw: Mapping[str, Any], key: str, where: str | None = None) -> JsonataTemplate | None:
    return compile_value(raw[key], where or key) if key in raw else None


def _setting(raw: Mapping[str, Any], key: str, lang: str, default: Any = None) -> Any:
    """A constant, or in JSONata a ``{% %}`` expression compiled for evaluation at run time."""
    value = raw.get(key, default)
    if lang == "JSONata" and is_expression(value):
        return compile_value(value, key)
    return value


def _constant(raw: Mapping[str, Any], key: str, lang: str) -> Any:
    value = raw.get(key)
    return None if lang == "JSONata" and is_expression(value) else value


def _expression(raw: Mapping[str, Any], key: str, lang: str) -> JsonataTemplate | None:
    value = raw.get(key)
    return compile_value(value, key) if lang == "JSONata" and is_expression(value) else None


def _common_jsonata(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": raw["Type"],
        "raw": raw,
        "next": raw.get("Next"),
        "end": bool(raw.get("End", False)),
        "assign": _jsonata(raw, "Assign"),
        "retry": tuple(_retrier(r) for r in raw.get("Retry", ())),
        "catch": tuple(_catcher(c, "JSONata", f"Catch[{i}]") for i, c in enumerate(raw.get("Catch", ()))),
        "query_language": "JSONata",
        "arguments": _jsonata(raw, "Arguments"),
        "output": _jsonata(raw, "Output"),
    }


def _common(name: str, raw: Mapping[str, Any], lang: str = "JSONPath") -> dict[str, Any]:
    if lang == "JSONata":
        return _common_jsonata(name, raw)
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


def _parse_state(name: str, raw: Mapping[str, Any], inherited: str = "JSONPath") -> State:
    kind = raw["Type"]
    lang = raw.get("QueryLanguage", inherited)
    common = _common(name, raw, lang)
    if lang == "JSONata" and kind == "Choice":
        rules = tuple(
            ChoiceRule(
                None,
                r["Next"],
                _jsonata(r, "Assign", f"Choices[{i}]/Assign"),
                condition=compile_value(r["Condition"], f"Choices[{i}]/Condition"),
                output=_jsonata(r, "Output", f"Choices[{i}]/Output"),
            )
            for i, r in enumerate(raw.get("Choices", ()))
        )
        return Choice(**common, choices=rules, default=raw.get("Default"))
    if kind == "Pass":
        return Pass(**common, result=raw.get("Result"), has_result="Result" in raw)
    if kind == "Task":
        return Task(
            **common,
            resource=raw["Resource"],
            timeout_seconds=_constant(raw, "TimeoutSeconds", lang),
            timeout_seconds_path=_opt_path(raw, "TimeoutSecondsPath"),
            heartbeat_seconds=_constant(raw, "HeartbeatSeconds", lang),
            timeout_expression=_expression(raw, "TimeoutSeconds", lang),
            heartbeat_expression=_expression(raw, "HeartbeatSeconds", lang),
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
            seconds=_setting(raw, "Seconds", lang),
            timestamp=_setting(raw, "Timestamp", lang),
            seconds_path=_opt_path(raw, "SecondsPath"),
            timestamp_path=_opt_path(raw, "TimestampPath"),
        )
    if kind == "Succeed":
        return Succeed(**common)
    if kind == "Fail":
        return Fail(
            **common,
            error=_setting(raw, "Error", lang),
            cause=_setting(raw, "Cause", lang),
            error_ref=compile_value_ref(raw["ErrorPath"], "ErrorPath") if "ErrorPath" in raw else None,
            cause_ref=compile_value_ref(raw["CausePath"], "CausePath") if "CausePath" in raw else None,
        )
    if kind == "Parallel":
        return Parallel(**common, branches=tuple(parse_machine(b, lang) for b in raw["Branches"]))
    if kind == "Map":
        processor_raw = raw.get("ItemProcessor") or raw["Iterator"]
        config = processor_raw.get("ProcessorConfig", {})
        # Legacy Map: "Parameters" plays the role of ItemSelector, not of the state's Parameters.
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        common["parameters"] = None
        if lang == "JSONata" and "QueryLanguage" not in processor_raw:
            # The children inherit JSONata; a Distributed Map ships this raw definition to its workers.
            processor_raw = {**processor_raw, "QueryLanguage": "JSONata"}
        jsonata = lang == "JSONata"
        return Map(
            **common,
            processor=parse_machine(processor_raw, lang),
            items=_jsonata(raw, "Items") if jsonata else None,
            distributed=config.get("Mode") == "DISTRIBUTED",
            execution_type=config.get("ExecutionType", "STANDARD"),
            items_path=_path(raw, "ItemsPath") or ROOT,
            item_selector=(
                None
                if selector is None
                else compile_value(selector, "ItemSelector")
                if jsonata
                else compile_template(selector)
            ),
            max_concurrency=_setting(raw, "MaxConcurrency", lang, 0),
            max_concurrency_path=_opt_path(raw, "MaxConcurrencyPath"),
            item_reader=raw.get("ItemReader"),
            item_batcher=raw.get("ItemBatcher"),
            result_writer=raw.get("ResultWriter"),
            label=raw.get("Label"),
            tolerated_failure_count=_setting(raw, "ToleratedFailureCount", lang),
            tolerated_failure_count_path=_opt_path(raw, "ToleratedFailureCountPath"),
            tolerated_failure_percentage=_setting(raw, "ToleratedFailurePercentage", lang),
            tolerated_failure_percentage_path=_opt_path(raw, "ToleratedFailurePercentagePath"),
        )
    raise ValueError(f"unknown state type {kind!r}")  # the validator rejects these first


def parse_machine(definition: Mapping[str, Any], inherited: str = "JSONPath") -> StateMachine:
    """Build the parsed model of a validated definition (or of a branch / item processor).

    ``QueryLanguage`` is inherited from the enclosing scope (``inherited``) unless the definition or a
    state sets its own.
    """
    lang = definition.get("QueryLanguage", inherited)
    states = {name: _parse_state(name, raw, lang) for name, raw in definition["States"].items()}
    return StateMachine(
        start_at=definition["StartAt"],
        states=states,
        raw=definition,
        timeout_seconds=definition.get("TimeoutSeconds"),
        comment=definition.get("Comment"),
        query_language=lang,
    )
