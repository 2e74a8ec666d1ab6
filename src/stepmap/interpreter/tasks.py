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
import base64
import json
import secrets
import time
import uuid
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from stepmap.asl.payload import dumps
from stepmap.errors import EngineError, StatesError, WorkerDied
from stepmap.functions import FunctionRegistry, function_name_of
from stepmap.interpreter.ports import TaskIntegrations, TaskMocks
from stepmap.runtime import CallResult, Invocation, call_handler

__all__ = [
    "LAMBDA_INVOKE",
    "HandlerInvoker",
    "LambdaResponse",
    "TaskTarget",
    "client_context",
    "compact_cause",
    "invocation_type",
    "lambda_envelope",
    "resolve_task",
]

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
        if isinstance(parameters.get("Qualifier"), str):  # Lambda's Invoke parameter, like NAME:QUALIFIER
            qualifier = parameters["Qualifier"]
        return TaskTarget(name, qualifier, parameters.get("Payload", {}), optimized=True)
    parsed = function_name_of(resource)
    if parsed is None:
        raise StatesError("States.Runtime", f"Resource {resource!r} is not supported by stepmap")
    name, qualifier = parsed
    return TaskTarget(name, qualifier, parameters, optimized=False)


@dataclass(frozen=True)
class LambdaResponse:
    """One Lambda invocation's response: the parsed payload, its JSON text, and what the envelope shows."""

    payload: Any
    body: str
    request_id: str
    size: int = 0  # bytes of the payload as Lambda returned it (Content-Length)
    content_type: str = "application/json"
    logs: str = ""


INVOCATION_STATUS = {"RequestResponse": 200, "Event": 202, "DryRun": 204}
LOG_RESULT_BYTES = 4096  # Lambda's LogResult: the last 4 KB of the execution log, base64-encoded


def invocation_type(parameters: Any) -> str:
    """``InvocationType`` of a lambda:invoke Task (default RequestResponse); anything else is refused as
    Lambda refuses it."""
    kind = parameters.get("InvocationType", "RequestResponse") if isinstance(parameters, dict) else None
    if kind not in INVOCATION_STATUS:
        raise StatesError(
            "Lambda.InvalidParameterValueException",
            f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        )
    return str(kind)


def client_context(parameters: Any) -> Any:
    """The ``ClientContext`` of a lambda:invoke Task decoded (base64 of a JSON object), or None; Lambda
    refuses anything else."""
    raw = parameters.get("ClientContext") if isinstance(parameters, dict) else None
    if raw is None:
        return None
    try:
        value = json.loads(base64.b64decode(raw, validate=True)) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise StatesError(
            "Lambda.InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.",
        )
    return value


def _log_result(response: LambdaResponse, version: str) -> str:
    """The execution log as Lambda frames it (START / output / END / REPORT), its last 4 KB in base64."""
    rid = response.request_id
    text = (
        f"START RequestId: {rid} Version: {version}\n{response.logs}"
        f"END RequestId: {rid}\nREPORT RequestId: {rid}\n"
    ).encode()
    return base64.b64encode(text[-LOG_RESULT_BYTES:]).decode("ascii")


def _trace_id() -> str:
    return f"root=1-{int(time.time()):08x}-{secrets.token_hex(12)};sampled=0;lineage=0"


def lambda_envelope(
    payload: Any,
    request_id: str,
    qualifier: str | None,
    response: LambdaResponse | None = None,
    parameters: Any = None,
) -> dict[str, Any]:
    """The result of ``lambda:invoke``, shaped as AWS returns it: the SDK's HTTP metadata with Lambda's
    response headers (every header also in ``AllHttpHeaders`` as a one-element list), ``StatusCode``
    200/202/204 by ``InvocationType`` (Event and DryRun: an empty ``Payload`` and no executed version),
    and ``LogResult`` when ``LogType`` is ``Tail``."""
    params = parameters if isinstance(parameters, dict) else {}
    kind = invocation_type(params)
    status = INVOCATION_STATUS[kind]
    version = qualifier if qualifier and qualifier.isdigit() else "$LATEST"
    synchronous = kind == "RequestResponse"
    size = response.size if response is not None and synchronous else 0
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(size if synchronous else 0),
        "Content-Type": response.content_type if response is not None and synchronous else "application/json",
        "Date": formatdate(usegmt=True),
        **({"X-Amz-Executed-Version": version} if synchronous else {}),
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": _trace_id(),
    }
    log_result = None
    if synchronous and params.get("LogType") == "Tail" and response is not None:
        log_result = _log_result(response, version)
        headers["X-Amz-Log-Result"] = log_result
    envelope: dict[str, Any] = {}
    if synchronous:
        envelope["ExecutedVersion"] = version
    if log_result is not None:
        envelope["LogResult"] = log_result
    envelope["Payload"] = payload if synchronous else ""
    envelope["SdkHttpMetadata"] = {
        "AllHttpHeaders": {k: [v] for k, v in headers.items()},
        "HttpHeaders": headers,
        "HttpStatusCode": status,
    }
    envelope["SdkResponseMetadata"] = {"RequestId": request_id}
    envelope["StatusCode"] = status
    return envelope


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
        integrations: TaskIntegrations | None = None,
        mocks: TaskMocks | None = None,
    ) -> None:
        self.integrations = integrations  # non-Lambda Task resources (see service_tasks.py)
        self.mocks = mocks  # mocked Task results (a MockConfigFile test case), for every kind of Task
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
        response = await self.invoke_lambda(name, payload_json, timeout, logs)
        return response.payload, response.body, response.request_id

    async def invoke_lambda(
        self,
        name: str,
        payload_json: str,
        timeout: float | None,
        logs: list[str],
        client_context: Any = None,
    ) -> LambdaResponse:
        """Call function ``name``; return its response (raises StatesError for its failure).
        ``client_context`` is the decoded ClientContext object the handler sees as
        ``context.client_context``."""
        spec = self.functions.get(name)
        arn = self.function_arn(name)
        if spec is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (register it with --function {name}=module:attr)",
            )
        request_id = str(uuid.uuid4())
        invocation = Invocation(
            spec.name, arn, request_id, timeout, self.capture_logs, self.region, client_context
        )
        try:
            future = self.executor.submit(call_handler, spec, payload_json, invocation)
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
        return LambdaResponse(
            json.loads(result.body), result.body, request_id, result.size, result.content_type, result.logs
        )


def compact_cause(cause: str | None) -> str | None:
    """A Lambda error as the lambda:invoke integration reports it: Step Functions reads the function's
    error payload and writes it back as compact JSON (the plain function ARN passes the runtime's
    spaced text through unchanged)."""
    if not cause or not cause.startswith("{"):
        return cause
    try:
        value = json.loads(cause)
    except ValueError:
        return cause
    if not isinstance(value, dict):
        return cause
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_text(payload: Any) -> str:
    return dumps(payload)
