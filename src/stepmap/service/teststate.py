"""TestState: run one state of a definition once and report what it did (the November 2025 shape).

The state runs through the interpreter in a small machine of its own: the state (its Retry and Catch
taken off, so exactly one attempt runs) and, for each state it may go to, a Succeed stub whose entry tells
``nextState``. After the attempt:

* it succeeded: ``SUCCEEDED``, its output, ``nextState`` (none when the state ends the machine);
* it failed with an error a Retrier still has attempts for (``stateConfiguration.retrierRetryCount``
  attempts made so far): ``RETRIABLE``, with the retrier's index and back-off in ``errorDetails``;
* else, an error a Catcher takes: ``CAUGHT_ERROR``, the output the Catcher's ResultPath gives and its Next;
* else ``FAILED`` with the error and cause.

``mock`` stands in for a Task's call (``result``: the call returns it; ``errorOutput``: the call fails
with it); Map, Parallel, activity, ``.sync`` and ``.waitForTaskToken`` Tasks need a mock, as on AWS (a
mocked Map or Parallel state's result is the mock, then its ResultSelector, ResultPath and OutputPath).
``inspectionLevel`` DEBUG adds the data flow (input, after InputPath, after Parameters, result, after
ResultSelector, after ResultPath, variables); TRACE (HTTP Tasks' requests) adds nothing more in stepmap.
``mock.fieldValidationMode`` is accepted but mocks are not checked against service models (as NONE).
``context`` supplies ``$$.Execution.Name`` only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from stepmap.asl import model
from stepmap.asl.loader import parse_json
from stepmap.asl.payload import References, dumps
from stepmap.asl.resources import parse_resource
from stepmap.asl.validate import validate
from stepmap.backends.sync import SyncExecutor
from stepmap.errors import STATES_ERRORS, InputError, StatesError, error_matches
from stepmap.functions import FunctionRegistry
from stepmap.interpreter.execution import ResumePoint, execute
from stepmap.interpreter.loop import run_to_completion
from stepmap.interpreter.run import Scope
from stepmap.interpreter.states import apply_result_path
from stepmap.interpreter.tasks import HandlerInvoker
from stepmap.service.machines import ApiError

__all__ = ["test_state"]

MOCK_FUNCTION = "stepmap-teststate-mock"
NEEDS_MOCK = ("Map", "Parallel")


def _json(text: str | None, what: str, default: Any) -> Any:
    if text is None:
        return default
    try:
        return parse_json(text, what)
    except InputError as exc:
        raise ApiError("InvalidExecutionInput", str(exc)) from None


def _targets(state: dict[str, Any]) -> set[str]:
    names = {state.get("Next"), state.get("Default")}
    names.update(rule.get("Next") for rule in state.get("Choices") or [] if isinstance(rule, dict))
    names.update(c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict))
    return {n for n in names if isinstance(n, str)}


def _select(req: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    """(state name, state, query language) from a single state or a whole machine with stateName."""
    try:
        definition = parse_json(req["definition"], "the definition")
    except InputError as exc:
        raise ApiError("InvalidDefinition", f"Invalid State Machine Definition: '{exc}'") from None
    if not isinstance(definition, dict):
        raise ApiError("InvalidDefinition", "Invalid State Machine Definition: 'not a JSON object'")
    language = definition.get("QueryLanguage")
    if "States" in definition:
        name = req.get("stateName")
        if name is None:
            raise ApiError("ValidationException", "stateName is required when definition is a state machine")
        state = (definition.get("States") or {}).get(name)
        if not isinstance(state, dict):
            raise ApiError("ValidationException", f"State '{name}' is not in the definition")
        return name, state, language
    if req.get("stateName"):
        raise ApiError("ValidationException", "stateName needs a full state machine definition")
    return "TestState", definition, language


class _MockTable:
    """An integrations table whose every integration returns the mock's result."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def find(self, resource: Any) -> Any:
        return self

    def invoke(self, resource: Any, parameters: Any, ctx: Any) -> Any:
        return self.result


def _mock_handler(result: Any) -> Any:
    def handler(event: Any, context: Any) -> Any:
        return result

    return handler


def test_state(req: dict[str, Any], invoker: HandlerInvoker) -> dict[str, Any]:
    name, original, language = _select(req)
    kind = original.get("Type")
    mock = req.get("mock")
    resource = original.get("Resource", "")
    needs_mock = kind in NEEDS_MOCK or (
        kind == "Task"
        and (":activity:" in resource or ".sync" in resource or ".waitForTaskToken" in resource)
    )
    if mock is None and needs_mock:
        raise ApiError("ValidationException", f"A mock is required to test this {kind} state")
    if mock is not None and kind not in ("Task", "Map", "Parallel"):
        raise ApiError("ValidationException", f"A mock is for Task, Map and Parallel states, not {kind}")
    if mock is not None and ("result" in mock) == ("errorOutput" in mock):
        raise ApiError("ValidationException", "A mock has exactly one of result and errorOutput")
    raw_input = _json(req.get("input"), "the input", {})
    variables = _json(req.get("variables"), "the variables", {})
    context = _json(req.get("context"), "the context", {})
    config = req.get("stateConfiguration") or {}

    state = {k: v for k, v in original.items() if k not in ("Retry", "Catch")}
    if mock is not None and kind in NEEDS_MOCK:
        # the mock is the Map's or Parallel's result: a Task that returns it, with the same paths
        kept = ("InputPath", "ResultSelector", "ResultPath", "OutputPath", "Next", "End", "Assign", "Comment")
        state = {"Type": "Task", "Resource": MOCK_FUNCTION, **{k: v for k, v in state.items() if k in kept}}
    elif mock is not None and parse_resource(resource) is None:
        state["Resource"] = MOCK_FUNCTION  # a Lambda call: the "function" returns the mock's result
    states: dict[str, Any] = {name: state}
    for target in _targets(original):
        if target != name:
            states[target] = {"Type": "Succeed"}
    machine_def: dict[str, Any] = {"StartAt": name, "States": states}
    if language:
        machine_def["QueryLanguage"] = language
    full_def = {**machine_def, "States": {**states, name: original}}
    errors = [p for p in validate(full_def) if p.severity == "ERROR"]
    if errors:
        detail = "; ".join(f"{p.code} at {p.location or '/'}: {p.message}" for p in errors[:10])
        raise ApiError("InvalidDefinition", f"Invalid State Machine Definition: '{detail}'")
    parsed = model.parse_machine(full_def).states[name]

    if mock is not None and "errorOutput" in mock:
        out_error, out_cause = mock["errorOutput"].get("error") or "", mock["errorOutput"].get("cause") or ""
        events: list[dict[str, Any]] = []
        outcome: tuple[str, Any] = ("FAILED", None)
    else:
        if mock is not None:  # Lambda calls and service integrations alike return the mock's result
            value = _json(mock["result"], "the mock", None)
            functions = FunctionRegistry({MOCK_FUNCTION: _mock_handler(value)})
            invoker = HandlerInvoker(SyncExecutor(), functions, integrations=_MockTable(value))
        resume = ResumePoint(
            state=name, input=raw_input, variables=variables, events=[], start_time=datetime.now(UTC)
        )
        execution = run_to_completion(
            lambda: execute(
                model.parse_machine(machine_def),
                raw_input,
                invoker=invoker,
                name=(context.get("Execution") or {}).get("Name") if isinstance(context, dict) else None,
                state_machine_name="TestState",
                resume=resume if variables else None,
            )
        )
        events = execution.history
        outcome = ("SUCCEEDED", execution.output) if execution.status == "SUCCEEDED" else ("FAILED", None)
        out_error, out_cause = execution.error or "", execution.cause or ""

    result: dict[str, Any] = {}
    inspection: dict[str, Any] = {}
    if outcome[0] == "SUCCEEDED":
        result["status"] = "SUCCEEDED"
        result["output"] = dumps(outcome[1])
        entered = [e for e in events if e["type"].endswith("StateEntered")]
        following = [e["stateEnteredEventDetails"]["name"] for e in entered[1:]]
        if following:
            result["nextState"] = following[0]
    else:
        result.update(error=out_error, cause=out_cause)
        retry_count = config.get("retrierRetryCount", 0)
        retryable = STATES_ERRORS.get(out_error) is None or STATES_ERRORS[out_error].retryable
        retrier = next(
            (i for i, r in enumerate(parsed.retry) if error_matches(r.error_equals, out_error)), None
        )
        catcher = next(
            (i for i, c in enumerate(parsed.catch) if error_matches(c.error_equals, out_error)), None
        )
        if retryable and retrier is not None and retry_count < parsed.retry[retrier].max_attempts:
            r = parsed.retry[retrier]
            delay = r.interval_seconds * r.backoff_rate**retry_count
            if r.max_delay_seconds is not None:
                delay = min(delay, r.max_delay_seconds)
            result["status"] = "RETRIABLE"
            inspection["errorDetails"] = {"retryIndex": retrier, "retryBackoffIntervalSeconds": int(delay)}
        elif catcher is not None and kind != "Fail":
            c = parsed.catch[catcher]
            error_output = {"Error": out_error, "Cause": out_cause}
            try:
                output = apply_result_path(c.result_path, raw_input, error_output)
            except StatesError as exc:
                result.update(status="FAILED", error=exc.error, cause=exc.cause or "")
            else:
                result.update(status="CAUGHT_ERROR", output=dumps(output), nextState=c.next)
                inspection["errorDetails"] = {"catchIndex": catcher}
        else:
            result["status"] = "FAILED"
    if req.get("inspectionLevel") in ("DEBUG", "TRACE"):
        inspection.update(_data_flow(parsed, raw_input, variables, context, events, mock))
    if inspection:
        result["inspectionData"] = inspection
    return result


def _data_flow(
    state: model.State, raw: Any, variables: Any, context: Any, events: list[dict[str, Any]], mock: Any
) -> dict[str, Any]:
    """DEBUG inspection data, from the state's model and the attempt's history."""
    scope = Scope()
    if isinstance(variables, dict):
        scope.values.update(variables)
    ctx = {"Execution": {"Input": raw}, "State": {"Name": state.name, "RetryCount": 0}, "Task": {}}
    if isinstance(context, dict):
        ctx.update(context)

    def refs(document: Any) -> References:
        return References(document, lambda: ctx, scope)

    data: dict[str, Any] = {"input": dumps(raw), "variables": dumps(variables)}
    try:
        path = state.input_path
        effective = {} if path is None else path.get(refs(raw).document(path))
        data["afterInputPath"] = dumps(effective)
        parameters = state.parameters.evaluate(refs(effective)) if state.parameters is not None else effective
        data["afterParameters"] = dumps(parameters)
    except Exception:  # the attempt's own error says what went wrong
        return data
    result: Any = None
    found = False
    for event in events:
        if event["type"] in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            details = event.get("taskSucceededEventDetails") or event.get(
                "lambdaFunctionSucceededEventDetails"
            )
            if details is not None:
                result, found = json.loads(details["output"]), True
    if isinstance(state, model.Pass):
        result, found = (state.result if state.has_result else parameters), True
    if not found:
        return data
    data["result"] = dumps(result)
    try:
        selected = (
            state.result_selector.evaluate(refs(result)) if state.result_selector is not None else result
        )
        data["afterResultSelector"] = dumps(selected)
        data["afterResultPath"] = dumps(apply_result_path(state.result_path, raw, selected))
    except Exception:
        pass
    del mock
    return data
