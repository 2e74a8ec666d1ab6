"""Task states whose Resource is a service integration (``arn:aws:states:::dynamodb:putItem``, ``aws-sdk:*``).

The interpreter knows no service: it finds the integration in the :class:`~stepmap.interpreter.ports.
TaskIntegrations` port the service handed it (``run.invoker.integrations``), calls it, and records the
history AWS records for service integrations: ``TaskScheduled`` (resourceType, resource, region,
parameters), ``TaskStarted``, then ``TaskSucceeded`` / ``TaskFailed`` / ``TaskTimedOut``, all carrying
``resourceType`` (``dynamodb``, ``aws-sdk:s3``) and ``resource`` (``putItem``, ``listObjectsV2``).

A synchronous integration runs on a helper thread when an event loop drives the execution (so Parallel
branches and Map iterations overlap their calls), and inline when a worker drives loop-free children.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
from typing import Any

from stepmap.asl import model
from stepmap.asl.payload import dumps
from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.interpreter.ports import TaskContext
from stepmap.interpreter.run import PAYLOAD_LIMIT, StateCall

__all__ = ["invoke_service_task", "task_token"]

_TIMEOUTS = ("States.Timeout", "States.HeartbeatTimeout")


async def invoke_service_task(
    resource: ParsedResource,
    state: model.Task,
    parameters: Any,
    call: StateCall,
    timeout: float | None,
    heartbeat: float | None,
    integration: Any = None,
) -> Any:
    """Call the integration for ``resource`` (or ``integration``, a mock); return its result or raise the
    state's error."""
    run, cursor = call.run, call.frame.cursor
    common = {"resourceType": resource.resource_type, "resource": resource.resource}
    if integration is None:
        integrations = getattr(run.invoker, "integrations", None)
        integration = integrations.find(resource) if integrations is not None else None
    if integration is None:
        raise StatesError(
            "States.Runtime", f"Resource {resource.arn!r}: no integration for '{resource.service}' configured"
        )
    parameters_json = dumps(parameters)
    limits = {
        **({"timeoutInSeconds": int(timeout)} if timeout else {}),
        **({"heartbeatInSeconds": int(heartbeat)} if heartbeat else {}),
    }
    activity = resource.service == "activity"  # Activity* events, as AWS records activity tasks
    if activity:
        common = {}
        details = {"resource": resource.arn, "input": parameters_json, "inputDetails": {"truncated": False}}
        cursor.add("ActivityScheduled", {**details, **limits})
        cursor.add("ActivityStarted", None)
    else:
        details = {**common, "region": run.invoker.region, "parameters": parameters_json}
        cursor.add("TaskScheduled", {**details, **limits})
        cursor.add("TaskStarted", common)
    prefix = "Activity" if activity else "Task"
    ctx = TaskContext(
        state_name=state.name,
        execution_arn=run.execution_arn,
        region=run.invoker.region,
        account=run.invoker.account,
        context=call.context(),
        timeout=timeout,
        heartbeat=heartbeat,
        attempt_id=call.task_token or task_token(call),
    )
    try:
        result = await _call(integration, resource, parameters, ctx, timeout)
        result_json = dumps(result)
        if len(result_json) > PAYLOAD_LIMIT // 4 and len(result_json.encode()) > PAYLOAD_LIMIT:
            raise StatesError(
                "States.DataLimitExceeded",
                f"The state/task '{state.name}' returned a result with a size exceeding the maximum number "
                "of bytes service limit.",
            )
    except StatesError as exc:
        kind = "TimedOut" if exc.error in _TIMEOUTS else "Failed"
        cursor.add(prefix + kind, {**common, "error": exc.error, "cause": exc.cause or ""})
        raise exc from None
    cursor.add(prefix + "Succeeded", {**common, "output": result_json, "outputDetails": {"truncated": False}})
    return result


def task_token(call: StateCall) -> str:
    """The task token of one attempt at a ``.waitForTaskToken`` Task.

    Derived from where the attempt is (execution, redrive, the id of its StateEntered event, state, retry,
    Map item), not drawn at random, so that an execution resumed after its process died runs the same
    attempt with the same token, and an answer sent meanwhile still reaches it."""
    run, item = call.run, call.frame.map_item
    seed = "|".join(
        str(part)
        for part in (
            run.execution_arn,
            run.redrive_count,
            call.frame.cursor.last,
            call.state.name,
            call.retry_count,
            item.get("Index", "") if item else "",
        )
    )
    digest = hashlib.sha256(seed.encode()).digest()
    return "AQ" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def _call(
    integration: Any, resource: ParsedResource, parameters: Any, ctx: TaskContext, timeout: float | None
) -> Any:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # loop-free children in a worker: call inline
        result = integration.invoke(resource, parameters, ctx)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def attempt() -> Any:
        value = await loop.run_in_executor(None, integration.invoke, resource, parameters, ctx)
        if inspect.isawaitable(value):
            value = await value
        return value

    if timeout is None:
        return await attempt()
    try:
        return await asyncio.wait_for(attempt(), timeout)
    except TimeoutError:
        raise StatesError("States.Timeout", f"Task timed out after {timeout:g} seconds") from None
