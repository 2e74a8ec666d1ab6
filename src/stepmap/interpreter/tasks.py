"""Task resources: which handler a Task calls, how it is called, and the shape of its result.

Three ways to reach a handler, as on AWS:

* ``arn:aws:states:::lambda:invoke`` with ``Parameters.FunctionName`` and ``Payload``; the result is
  Lambda's envelope ``{ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode}`` and
  the history says ``Task*`` with ``resourceType: lambda``;
* ``arn:aws:lambda:REGION:ACCOUNT:function:NAME``; the result is the raw payload and the history says
  ``LambdaFunction*``;
* a bare function name (a stepmap shorthand), treated like the plain Lambda ARN.

The :class:`HandlerInvoker` sends calls to a ``concurrent.futures.Executor``: a process pool in the
coordinator, or an in-process executor inside a worker. It knows nothing else about backends.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from typing import Any

from stepmap.asl.payload import dumps
from stepmap.errors import EngineError, StatesError, WorkerDied
from stepmap.functions import FunctionRegistry, function_name_of
from stepmap.runtime import CallResult, Invocation, call_handler

__all__ = ["LAMBDA_INVOKE", "HandlerInvoker", "TaskTarget", "lambda_envelope", "resolve_task"]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


@dataclass(frozen=True)
class TaskTarget:
    """What a Task state calls, resolved from its Resource and effective parameters."""

    function_name: str
    qualifier: str | None
    payload: Any
    optimized: bool  # lambda:invoke (envelope, Task* events) vs plain ARN (raw, LambdaFunction* events)


def resolve_task(resource: str, parameters: Any) -> TaskTarget:
    """Decide which function a Task calls and with what payload."""
    if resource == LAMBDA_INVOKE:
        if not isinstance(parameters, dict) or not isinstance(parameters.get("FunctionName"), str):
            raise StatesError(
                "States.Runtime", "The lambda:invoke task needs Parameters with a string 'FunctionName'"
            )
        parsed = function_name_of(parameters["FunctionName"])
        if parsed is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {parameters['FunctionName']}",
            )
        name, qualifier = parsed
        return TaskTarget(name, qualifier, parameters.get("Payload", {}), optimized=True)
    parsed = function_name_of(resource)
    if parsed is None:
        raise StatesError("States.Runtime", f"Resource {resource!r} is not supported by stepmap")
    name, qualifier = parsed
    return TaskTarget(name, qualifier, parameters, optimized=False)


def lambda_envelope(payload: Any, request_id: str, qualifier: str | None) -> dict[str, Any]:
    """The result of ``lambda:invoke``, shaped as AWS returns it."""
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": qualifier or "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": qualifier or "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


class HandlerInvoker:
    """Calls handlers through an executor; raises StatesError for handler failures and timeouts."""

    def __init__(
        self,
        executor: Executor,
        functions: FunctionRegistry,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        capture_logs: bool = True,
    ) -> None:
        self.executor = executor
        self.functions = functions
        self.region = region
        self.account = account
        self.capture_logs = capture_logs

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    async def invoke(
        self, name: str, payload_json: str, timeout: float | None, logs: list[str]
    ) -> tuple[Any, str, str]:
        """Call function ``name``; return (parsed result, result JSON text, request id)."""
        target = self.functions.get(name)
        arn = self.function_arn(name)
        if target is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (register it with --function {name}=module:attr)",
            )
        request_id = str(uuid.uuid4())
        invocation = Invocation(name, arn, request_id, timeout, self.capture_logs)
        try:
            future = self.executor.submit(call_handler, target, payload_json, invocation)
        except RuntimeError as exc:  # executor shut down or broken
            raise EngineError(f"cannot submit handler call: {exc}") from exc
        try:
            if future.done():  # in-process executors: no need to suspend (children are driven loop-less)
                result: CallResult = future.result()
            elif timeout is None:
                result = await asyncio.wrap_future(future)
            else:
                result = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            future.cancel()
            raise StatesError("States.Timeout", f"Task timed out after {timeout:g} seconds") from None
        except BrokenExecutor as exc:
            # The process running the handler died (killed, out of memory, os._exit, a segfault): what
            # Lambda reports when its runtime exits; a Retry on the state may try again. A worker that
            # ended itself because the handler would not let go after its timeout is a timeout.
            if isinstance(exc, WorkerDied) and exc.timed_out:
                raise StatesError("States.Timeout", f"Task timed out after {timeout or 0:g} seconds") from exc
            reason = (
                exc.reason if isinstance(exc, WorkerDied) else "Runtime exited without providing a reason"
            )
            raise StatesError("Runtime.ExitError", f"RequestId: {request_id} Error: {reason}") from exc
        except Exception as exc:
            raise EngineError(f"the executor failed while running {name}: {exc!r}") from exc
        if result.logs:
            logs.append(result.logs)
        if timeout is not None and result.duration > timeout:
            # In-process executors cannot interrupt a handler; its late result is ignored.
            raise StatesError("States.Timeout", f"Task timed out after {timeout:g} seconds")
        if not result.ok:
            raise StatesError(result.error_type or "Exception", result.body)
        return json.loads(result.body), result.body, request_id


def payload_text(payload: Any) -> str:
    return dumps(payload)
