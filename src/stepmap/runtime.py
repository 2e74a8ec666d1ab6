"""The Lambda runtime, emulated: calls one handler the way AWS Lambda's Python runtime does.

Functions here never raise: they return plain data that says what happened, and the coordinator decides.
Payloads cross the boundary as JSON text, as they would to a real Lambda, so a handler can neither mutate the
engine's documents nor return something that is not JSON. A handler's exception becomes AWS Lambda's error
shape ``{errorMessage, errorType, requestId, stackTrace}``. Per process, handlers are imported once and
cached.
"""

from __future__ import annotations

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
from typing import Any

from stepmap.functions import HandlerRef, HandlerTarget

__all__ = ["CallResult", "Invocation", "LambdaContext", "call_handler"]

_handlers: dict[HandlerRef, Any] = {}


@dataclass(frozen=True)
class Invocation:
    """Everything a handler call needs besides the handler and its payload."""

    function_name: str
    function_arn: str
    request_id: str
    timeout_seconds: float | None = None
    capture_logs: bool = True


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

    def __init__(self, invocation: Invocation, started: float) -> None:
        self.function_name = invocation.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invocation.function_arn
        self.memory_limit_in_mb = "128"
        self.aws_request_id = invocation.request_id
        self.log_group_name = f"/aws/lambda/{invocation.function_name}"
        self.log_stream_name = f"stepmap/[$LATEST]{invocation.request_id.replace('-', '')}"
        self.identity = None
        self.client_context = None
        timeout = invocation.timeout_seconds if invocation.timeout_seconds is not None else 900.0
        self._deadline = started + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load(target: HandlerTarget) -> Any:
    if not isinstance(target, HandlerRef):
        return target
    handler = _handlers.get(target)
    if handler is None:
        handler = _handlers[target] = target.load()
    return handler


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


def call_handler(target: HandlerTarget, payload_json: str, invocation: Invocation) -> CallResult:
    """Call one handler with a JSON payload; never raises."""
    started = time.monotonic()
    request_id = invocation.request_id
    try:
        handler = _load(target)
    except Exception as exc:
        error_type, body = _error_body(exc, request_id, skip_frames=0)
        return CallResult(False, body, "Lambda.ResourceNotFoundException")
    event = json.loads(payload_json)
    context = LambdaContext(invocation, started)
    sink = io.StringIO()
    root = logging.getLogger()
    capture = _Capture(sink, request_id) if invocation.capture_logs else None
    try:
        with _deadline(invocation.timeout_seconds):
            if capture is not None:
                root.addHandler(capture)
                with redirect_stdout(sink), redirect_stderr(sink):
                    result = handler(event, context)
            else:
                result = handler(event, context)
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
        return CallResult(True, body, None, sink.getvalue(), time.monotonic() - started)
    except HandlerTimedOut:
        seconds = invocation.timeout_seconds or 0
        message = f"Task timed out after {seconds:g} seconds"
        return CallResult(False, message, "States.Timeout", sink.getvalue(), time.monotonic() - started)
    except (Exception, SystemExit) as exc:  # a handler's sys.exit() is its own failure too
        error_type, body = _error_body(exc, request_id)
        return CallResult(False, body, error_type, sink.getvalue(), time.monotonic() - started)
    finally:
        if capture is not None:
            root.removeHandler(capture)
