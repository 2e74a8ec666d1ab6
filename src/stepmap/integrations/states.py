"""``states:startExecution``: a Task starts an execution of another state machine (a nested workflow).

* request-response: the result is StartExecution's response, ``{ExecutionArn, StartDate}``;
* ``.sync``: the Task waits for the child to end; the result is DescribeExecution's response with
  PascalCase keys, ``Input``/``Output`` as JSON text; a child that does not succeed fails the Task with
  ``States.TaskFailed`` whose cause is that same document;
* ``.sync:2``: as ``.sync``, with ``Input`` and ``Output`` as JSON values.

Dates are epoch milliseconds, as AWS's own service-integration results carry them. The executions are
started and watched through the Step Functions facade (``api``), never by touching the journal.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Protocol

from stepmap.asl.payload import dumps
from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.interpreter.ports import TaskContext

__all__ = ["StartExecutionIntegration"]

POLL_SECONDS = 0.02


class ExecutionsApi(Protocol):
    """What this integration needs of the Step Functions facade (``StepFunctions.call``)."""

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: _pascal(v) for k, v in value.items()}
    return value


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def result_of(description: dict[str, Any], version: int) -> dict[str, Any]:
    """A DescribeExecution response as a ``.sync`` (1) or ``.sync:2`` (2) Task returns it."""
    out = {k: v for k, v in description.items() if k not in ("redriveStatusReason",)}
    out = _pascal(out)
    for key in ("StartDate", "StopDate", "RedriveDate"):
        if key in out:
            out[key] = _millis(out[key])
    if version == 2:
        for key in ("Input", "Output"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
    return out


class StartExecutionIntegration:
    def __init__(self, api: ExecutionsApi, error_type: type[Exception]) -> None:
        self.api = api
        self.error_type = error_type  # the facade's API error (code, message)

    def _start(self, parameters: Any, ctx: TaskContext, wait: bool) -> dict[str, Any]:
        if not isinstance(parameters, dict) or not isinstance(parameters.get("StateMachineArn"), str):
            raise StatesError("States.Runtime", "states:startExecution needs Parameters.StateMachineArn")
        request: dict[str, Any] = {"stateMachineArn": parameters["StateMachineArn"]}
        if "Input" in parameters:
            value = parameters["Input"]
            request["input"] = value if isinstance(value, str) else dumps(value)
        if "Name" in parameters:
            request["name"] = parameters["Name"]
        elif ctx.attempt_id:  # a resumed parent finds the child it started, rather than a second one
            request["name"] = str(uuid.uuid5(uuid.NAMESPACE_URL, ctx.attempt_id))
        if "TraceHeader" in parameters:
            request["traceHeader"] = parameters["TraceHeader"]
        request["parentExecutionArn"] = ctx.execution_arn
        request["wait"] = wait
        try:
            return self.api.call("StartExecutionFromTask", request)
        except self.error_type as exc:
            code: str = getattr(exc, "code", "ServiceException")
            name = code if code.endswith("Exception") else f"{code}Exception"
            raise StatesError(f"StepFunctions.{name}", getattr(exc, "message", str(exc))) from None

    def __reduce__(self) -> tuple[Any, ...]:
        from stepmap.integrations.callbacks import _in_process_only

        return _in_process_only, ("states:startExecution",)

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        started = self._start(parameters, ctx, wait=resource.pattern is not None)
        if resource.pattern is None:
            return {"ExecutionArn": started["executionArn"], "StartDate": _millis(started["startDate"])}
        version = 2 if resource.pattern == "sync:2" else 1
        if "sync" in started:  # an EXPRESS child ran to its end already
            return self._finish(started["sync"], version)
        return self._wait(started["executionArn"], version)

    async def _wait(self, arn: str, version: int) -> Any:
        while True:
            description = self.api.call("DescribeExecution", {"executionArn": arn})
            if description["status"] != "RUNNING":
                return self._finish(description, version)
            await asyncio.sleep(POLL_SECONDS)

    @staticmethod
    def _finish(description: dict[str, Any], version: int) -> Any:
        result = result_of(description, version)
        if description["status"] != "SUCCEEDED":
            raise StatesError("States.TaskFailed", dumps(result))
        return result
