"""The Lambda runtime, emulated: calls one handler the way AWS Lambda's Python runtime does.

Functions here never raise: they return plain data that says what happened, and the coordinator decides.
Payloads cross the boundary as JSON text, as they would to a real Lambda, so a handler can neither mutate the
engine's documents nor return something that is not JSON. A handler's exception becomes AWS Lambda's error
shape ``{errorMessage, errorType, requestId, stackTrace}``. Per process, handlers are imported once and
cached.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import logging
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stepmap.environments import environment_for
from stepmap.functions import FunctionSpec, HandlerRef

__all__ = ["CallResult", "Invocation", "LambdaContext", "call_handler"]

_handlers: dict[HandlerRef, Any] = {}


@dataclass(frozen=True)
class Invocation:
    """Everything a handler call needs besides the function and its payload.

    ``timeout_seconds`` is the Task's ``TimeoutSeconds`` (the function's own Timeout is in its spec)."""

    function_name: str
    function_arn: str
    request_id: str
    timeout_seconds: float | None = None
    capture_logs: bool = True
    region: str = "us-east-1"


@dataclass(frozen=True)
class CallResult:
    """The outcome of one handler call: ``body`` is the result JSON when ``ok``, else the error JSON."""

    ok: bool
    body: str
    error_type: str | None = None
    logs: str = ""
    duration: float = 0.0


class LambdaContext:
    """The ``context`` argument of a handler, shaped like AWS Lambda's Python context object."""

    def __init__(self, invocation: Invocation, started: float, spec: FunctionSpec | None = None) -> None:
        self.function_name = invocation.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invocation.function_arn
        self.memory_limit_in_mb = str(spec.memory if spec is not None else 128)
        self.aws_request_id = invocation.request_id
        self.log_group_name = f"/aws/lambda/{invocation.function_name}"
        self.log_stream_name = f"stepmap/[$LATEST]{invocation.request_id.replace('-', '')}"
        self.identity = None
        self.client_context = None
        timeout = spec.timeout if spec is not None and spec.timeout is not None else None
        if timeout is None:
            timeout = invocation.timeout_seconds if invocation.timeout_seconds is not None else 900.0
        self._deadline = started + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _InitError(Exception):
    """A handler module that could not be loaded, as Lambda's Python runtime reports it."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.trace = trace or []


def _lambda_load(ref: HandlerRef) -> Any:
    """Import a handler as Lambda's Python runtime does, with its error names and messages."""
    module_text = ref.module
    try:
        obj: Any = importlib.import_module(ref.module)
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_text}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_text}': {exc}", trace
        ) from None
    for part in ref.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise _InitError(
                "Runtime.HandlerNotFound", f"Handler '{ref.attr}' missing on module '{module_text}'"
            ) from None
    return obj


def _load(spec: FunctionSpec, env: Any) -> Any:
    target = spec.handler
    if not isinstance(target, HandlerRef):
        return target
    if spec.code_root is None and not spec.layers:
        handler = _handlers.get(target)
        if handler is None:
            handler = _handlers[target] = _lambda_load(target)
        return handler
    if env.handler is None:
        env.handler = _lambda_load(target)
    return env.handler


def _error_body(exc: BaseException, request_id: str, skip_frames: int = 1) -> tuple[str, str]:
    error_type = type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    body = {
        "errorMessage": str(exc),
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }
    return error_type, json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class _Capture(logging.Handler):
    def __init__(self, sink: io.StringIO, request_id: str) -> None:
        super().__init__()
        self.sink = sink
        self.request_id = request_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.write(f"[{record.levelname}]\t{self.request_id}\t{record.getMessage()}\n")
        except Exception:  # a broken log record must not fail the handler
            pass


class HandlerTimedOut(BaseException):
    """Raised inside a handler that outlived its Task's TimeoutSeconds (a BaseException, so that the
    handler's own ``except Exception`` cannot swallow it)."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the handler after ``seconds``, as Lambda stops a function that outlives its timeout.

    Only in a process's main thread (a pool worker, or the coordinator with the in-process executor),
    where SIGALRM can be used; elsewhere the caller's own timeout applies and the result is discarded."""
    main_thread = threading.current_thread() is threading.main_thread()
    if seconds is None or seconds <= 0 or not hasattr(signal, "setitimer") or not main_thread:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise HandlerTimedOut()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timed_out(
    spec: FunctionSpec, invocation: Invocation, seconds: float, logs: str, took: float
) -> CallResult:
    if seconds == invocation.timeout_seconds and (spec.timeout is None or seconds < spec.timeout):
        return CallResult(False, f"Task timed out after {seconds:g} seconds", "States.Timeout", logs, took)
    # The function's own Timeout: Lambda stops it and returns a payload without an error type, which Step
    # Functions reports as Lambda.Unknown.
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    payload = json.dumps(
        {"errorMessage": f"{stamp} {invocation.request_id} Task timed out after {seconds:.2f} seconds"},
        separators=(",", ":"),
    )
    cause = (
        "The cause could not be determined because Lambda did not return an error type. "
        f"Returned payload: {payload}"
    )
    return CallResult(False, cause, "Lambda.Unknown", logs, took)


def _effective_timeout(spec: FunctionSpec, invocation: Invocation) -> float | None:
    limits = [t for t in (invocation.timeout_seconds, spec.timeout) if t is not None and t > 0]
    return min(limits) if limits else None


_loops = threading.local()


@contextmanager
def _lambda_event_loop() -> Iterator[None]:
    """Let a handler use asyncio as it would on Lambda, where its thread has no running loop and
    ``asyncio.get_event_loop()`` gives a usable one: with the in-process executor the handler is called
    from inside the coordinator's running loop, which is set aside for the duration of the call."""
    running = asyncio._get_running_loop()
    if running is not None:
        asyncio._set_running_loop(None)
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        if running is not None:
            asyncio._set_running_loop(running)
            asyncio.set_event_loop(running)


def call_handler(spec: FunctionSpec, payload_json: str, invocation: Invocation) -> CallResult:
    """Call one function with a JSON payload, in its own execution environment; never raises."""
    started = time.monotonic()
    request_id = invocation.request_id
    sink = io.StringIO()
    root = logging.getLogger()
    capture = _Capture(sink, request_id) if invocation.capture_logs else None
    seconds = _effective_timeout(spec, invocation)
    env = environment_for(spec, invocation.region)
    try:
        event = json.loads(payload_json)
        context = LambdaContext(invocation, started, spec)
        with env.active(), _deadline(seconds), _lambda_event_loop():
            if capture is not None:
                root.addHandler(capture)
                with redirect_stdout(sink), redirect_stderr(sink):
                    handler = _load(spec, env)
                    result = handler(event, context)
            else:
                handler = _load(spec, env)
                result = handler(event, context)
        took = time.monotonic() - started
        if seconds is not None and took > seconds:
            # no interrupt was possible (not the main thread): the late result is discarded, as
            # Lambda would have stopped the function
            return _timed_out(spec, invocation, seconds, sink.getvalue(), took)
        try:
            body = json.dumps(result, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            reason = "the result is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            message = f"Unable to marshal response: {reason}"
            err = {"errorMessage": message, "errorType": "Runtime.MarshalError", "requestId": request_id}
            return CallResult(
                False,
                json.dumps(err, separators=(",", ":")),
                "Runtime.MarshalError",
                sink.getvalue(),
                time.monotonic() - started,
            )
        return CallResult(True, body, None, sink.getvalue(), took)
    except HandlerTimedOut:
        return _timed_out(spec, invocation, seconds or 0, sink.getvalue(), time.monotonic() - started)
    except _InitError as exc:
        fault: dict[str, Any] = {
            "errorMessage": str(exc),
            "errorType": exc.error_type,
            "requestId": "",
            "stackTrace": exc.trace,
        }
        body = json.dumps(fault, separators=(",", ":"), ensure_ascii=False)
        return CallResult(False, body, exc.error_type, sink.getvalue(), time.monotonic() - started)
    except (Exception, SystemExit) as exc:  # a handler's sys.exit() is its own failure too
        error_type, body = _error_body(exc, request_id)
        return CallResult(False, body, error_type, sink.getvalue(), time.monotonic() - started)
    finally:
        if capture is not None:
            root.removeHandler(capture)
