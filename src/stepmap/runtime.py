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
import os
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
from stepmap.errors import MAX_CAUSE_CHARS, Interrupted, WorkerDied
from stepmap.functions import FunctionSpec, HandlerRef

__all__ = ["CallResult", "Invocation", "LambdaContext", "call_handler"]

_handlers: dict[HandlerRef, Any] = {}
MAX_MESSAGE_CHARS = (
    16_384  # of a handler's exception message; the whole error body stays under the cause limit
)
LOG_TAIL_CHARS = 256 * 1024  # of one invocation's captured output: the tail is kept


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
    client_context: Any = None  # the decoded ClientContext of a lambda:invoke Task (a JSON object)


@dataclass(frozen=True)
class CallResult:
    """The outcome of one handler call: ``body`` is the result JSON when ``ok``, else the error JSON."""

    ok: bool
    body: str
    error_type: str | None = None
    logs: str = ""
    duration: float = 0.0
    # the response as Lambda returns it: its Content-Type (``application/unknown`` for a handler's raw
    # bytes) and its length in bytes as the runtime encoded it (spaced JSON), for the envelope's headers
    content_type: str = "application/json"
    size: int = 0


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
        self.client_context = _client_context(invocation.client_context)
        timeout = spec.timeout if spec is not None and spec.timeout is not None else None
        if timeout is None:
            timeout = invocation.timeout_seconds if invocation.timeout_seconds is not None else 900.0
        self._deadline = started + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Fields:
    """An object whose attributes are the named fields of a JSON object (None when absent), as Lambda's
    Python runtime builds ``context.client_context`` and its ``client``."""

    def __init__(self, names: tuple[str, ...], values: Any) -> None:
        for name in names:
            setattr(self, name, values.get(name) if isinstance(values, dict) else None)


_CLIENT_FIELDS = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")


def _client_context(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    context = _Fields(("custom", "env", "client"), value)
    context.client = _Fields(_CLIENT_FIELDS, value.get("client"))  # type: ignore[attr-defined]
    return context


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


def _message(exc: BaseException) -> str:
    """``str(exc)``, which is user code: it may raise, be huge, or hold lone surrogates."""
    try:
        message = str(exc)
    except BaseException as failure:  # whatever __str__ does, the call fails cleanly
        try:
            reason = f"{type(failure).__name__}"
        except BaseException:
            reason = "an exception"
        message = f"<str() of the {type(exc).__name__} raised {reason}>"
    if not isinstance(message, str):  # a C extension's __str__ can return anything
        message = f"<str() of the {type(exc).__name__} returned no string>"
    if len(message) > MAX_MESSAGE_CHARS:
        dropped = len(message) - MAX_MESSAGE_CHARS
        message = f"{message[:MAX_MESSAGE_CHARS]}... [truncated {dropped} characters]"
    return message.encode("utf-8", "replace").decode("utf-8")


TASK_ROOT = "/var/task"  # where Lambda unpacks a function's code; stack frames show paths under it


def _lambda_path(filename: str, roots: tuple[str, ...]) -> str:
    """A frame's file as Lambda's runtime shows it: under /var/task when it is the function's own code."""
    for root in roots:
        prefix = root.rstrip(os.sep) + os.sep
        if filename.startswith(prefix):
            return f"{TASK_ROOT}/{filename[len(prefix) :].replace(os.sep, '/')}"
    return filename


def _code_roots(spec: FunctionSpec | None) -> tuple[str, ...]:
    roots = [os.path.realpath(spec.code_root)] if spec is not None and spec.code_root else []
    roots.append(os.getcwd())  # a handler on the import path: the project directory stands for the task root
    return tuple(roots)


def runtime_json(value: Any, spec: FunctionSpec | None = None) -> str:
    """JSON as Lambda's Python runtime writes it (``json.JSONEncoder`` defaults: ``", "`` and ``": "``;
    non-ASCII escaped except on the python3.12 runtime, whose encoder sets ``ensure_ascii=False``)."""
    return json.dumps(value, ensure_ascii=spec is None or spec.runtime != "python3.12")


def _error_body(
    exc: BaseException, request_id: str, skip_frames: int = 1, spec: FunctionSpec | None = None
) -> tuple[str, str]:
    """Lambda's error shape as the Python runtime posts it (``{"errorMessage": ..., "errorType": ...,
    "requestId": ..., "stackTrace": [...]}``, spaced JSON, frames from ``traceback.format_list`` with the
    function's files under /var/task), kept under AWS's 32,768-character cause: the message is cut first,
    then the oldest frames of the stack trace."""
    error_type = type(exc).__name__
    roots = _code_roots(spec)
    entries = [
        traceback.FrameSummary(_lambda_path(f.filename, roots), f.lineno, f.name, line=f.line)
        for f in traceback.extract_tb(exc.__traceback__)[skip_frames:]
    ]
    frames = traceback.format_list(entries)
    body = {"errorMessage": _message(exc), "errorType": error_type, "requestId": request_id}
    while True:
        text = runtime_json({**body, "stackTrace": frames}, spec)
        if len(text) <= MAX_CAUSE_CHARS or not frames:
            return error_type, text.encode("utf-8", "replace").decode("utf-8")
        frames = frames[len(frames) // 2 + 1 :] if len(frames) > 1 else []


class _Tail(io.StringIO):
    """A text sink that keeps only the last ``limit`` characters written to it (a handler printing 1 GB
    costs the worker ``limit`` characters, not 1 GB), as Lambda's LogResult keeps a log's tail. A StringIO
    whose own buffer stays empty, so that it goes wherever a StringIO sink goes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.parts.append(text)
        self.size += len(text)
        if self.size > 2 * self.limit:
            self._compact()
        return len(text)

    def _compact(self) -> None:
        joined = "".join(self.parts)
        keep = joined[-self.limit :]
        self.dropped += len(joined) - len(keep)
        self.parts, self.size = [keep], len(keep)

    def getvalue(self) -> str:
        if self.size > self.limit:
            self._compact()
        text = "".join(self.parts)
        if self.dropped:
            text = (
                f"[stepmap: {self.dropped} characters of output dropped; the last {self.limit} kept]\n" + text
            )
        return text.encode("utf-8", "replace").decode("utf-8")


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


GRACE_SECONDS = 2.0  # a handler past its timeout gets this long to let go before its worker is ended


class _Watchdog:
    """A thread that ends the worker process when a handler call outlives its deadline: for handlers that
    swallow ``HandlerTimedOut`` (``except BaseException``) or block SIGALRM, which the signal cannot stop.
    One per worker process; it holds the deadline of the call in progress (None: no call is timed)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        threading.Thread(target=self._run, daemon=True, name="stepmap-handler-watchdog").start()

    def set(self, deadline: float | None) -> None:
        with self._cond:
            self._deadline = deadline
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    # The exit code tells the coordinator that this was a timeout, not a crash.
                    os._exit(WorkerDied.TIMED_OUT_EXIT)
                self._cond.wait(remaining)


_watchdog: _Watchdog | None = None


def arm_watchdog() -> None:
    """Called once in each worker process (never in the coordinator: the in-process executor must not
    end the process that runs the workflow): from now on, a handler still running ``GRACE_SECONDS``
    after its timeout ends this process, which the executor reports as ``WorkerDied`` with exit code
    ``WorkerDied.TIMED_OUT_EXIT``, and replaces."""
    global _watchdog
    if _watchdog is None:
        _watchdog = _Watchdog()


class HandlerTimedOut(BaseException):
    """Raised inside a handler that outlived its Task's TimeoutSeconds (a BaseException, so that the
    handler's own ``except Exception`` cannot swallow it)."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the handler after ``seconds``, as Lambda stops a function that outlives its timeout.

    Only in a process's main thread (a pool worker, or the coordinator with the in-process executor),
    where SIGALRM can be used; elsewhere the caller's own timeout applies and the result is discarded."""
    watchdog = _watchdog if seconds is not None and seconds > 0 else None
    if watchdog is not None:
        watchdog.set(time.monotonic() + float(seconds or 0) + GRACE_SECONDS)
    try:
        with _alarm(seconds):
            yield
    finally:
        if watchdog is not None:
            watchdog.set(None)


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
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


def _raw_result(raw: bytes, logs: str, took: float) -> CallResult:
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return CallResult(True, body, None, logs, took, content_type="application/unknown", size=len(raw))


def call_handler(spec: FunctionSpec, payload_json: str, invocation: Invocation) -> CallResult:
    """Call one function with a JSON payload, in its own execution environment; never raises."""
    started = time.monotonic()
    request_id = invocation.request_id
    sink = _Tail(LOG_TAIL_CHARS)
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
        if isinstance(result, bytes | bytearray):
            # Lambda's runtime sends raw bytes as they are (Content-Type application/unknown); Step
            # Functions reads them as JSON when they are JSON, else as a string
            return _raw_result(bytes(result), sink.getvalue(), took)
        try:
            body = json.dumps(result, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            body.encode("utf-8")  # a lone surrogate has no UTF-8 form: not JSON text
            size = len(runtime_json(result, spec).encode("utf-8"))
        except (TypeError, ValueError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                reason = "the result is nested too deeply"
            elif isinstance(exc, UnicodeEncodeError):
                reason = f"the result holds a lone surrogate ({exc.object[exc.start]!r}), not valid Unicode"
            else:
                reason = str(exc)
            message = f"Unable to marshal response: {reason}"
            err = {"errorMessage": message, "errorType": "Runtime.MarshalError", "requestId": request_id}
            return CallResult(
                False,
                json.dumps(err, separators=(",", ":")),
                "Runtime.MarshalError",
                sink.getvalue(),
                time.monotonic() - started,
            )
        return CallResult(True, body, None, sink.getvalue(), took, size=size)
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
    except Interrupted:
        raise  # the coordinator itself was interrupted (in-process executor): not the handler's failure
    except BaseException as exc:  # sys.exit(), KeyboardInterrupt, GeneratorExit and any
        # BaseException subclass a handler raises are that handler's failure, never the engine's
        error_type, body = _error_body(exc, request_id, spec=spec)
        return CallResult(False, body, error_type, sink.getvalue(), time.monotonic() - started)
    finally:
        if capture is not None:
            root.removeHandler(capture)
