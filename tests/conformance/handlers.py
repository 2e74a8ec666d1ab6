"""Lambda-style handlers the conformance cases call, each ``def f(event, context)``.

They run in worker processes under the ``local`` executor, so every one is a module-level
function with no shared state: whatever a handler needs to know (which attempt this is, how
long to sleep, how big a payload to return) arrives in its event. Error classes are module
level too, so that the error name AWS would report (the exception's class name) is stable.
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = [
    "CustomError",
    "ErrorA",
    "ErrorB",
    "ErrorC",
    "TransientError",
    "add",
    "big",
    "client_context_custom",
    "context_info",
    "echo",
    "fail_until",
    "log_and_echo",
    "make_string",
    "raise_custom",
    "raise_sequence",
    "raise_value_error",
    "raw_bytes",
    "sleep",
    "times_two",
]

_log = logging.getLogger(__name__)


class CustomError(Exception):
    """A user-defined error: AWS reports the class name as the error."""


class TransientError(Exception):
    """Raised by ``fail_until`` until enough attempts have been made."""


class ErrorA(Exception):
    pass


class ErrorB(Exception):
    pass


class ErrorC(Exception):
    pass


_NAMED_ERRORS: dict[str, type[Exception]] = {
    "CustomError": CustomError,
    "TransientError": TransientError,
    "ErrorA": ErrorA,
    "ErrorB": ErrorB,
    "ErrorC": ErrorC,
    "ValueError": ValueError,
}


def echo(event: Any, context: Any) -> Any:
    """Return the event unchanged."""
    return event


def add(event: dict[str, Any], context: Any) -> Any:
    """Return ``event["a"] + event["b"]``."""
    return event["a"] + event["b"]


def times_two(event: Any, context: Any) -> Any:
    """Double a number (used as a Map iteration body)."""
    return event * 2


def raise_custom(event: Any, context: Any) -> Any:
    """Always fail with :class:`CustomError`; the message comes from ``event["message"]``."""
    message = event.get("message", "custom failure") if isinstance(event, dict) else "custom failure"
    raise CustomError(message)


def raise_value_error(event: Any, context: Any) -> Any:
    """Always fail with a built-in exception (error name ``ValueError``)."""
    raise ValueError("bad value")


def fail_until(event: dict[str, Any], context: Any) -> Any:
    """Fail with :class:`TransientError` while ``event["attempt"] < event["succeed_at"]``.

    Cases pass ``"attempt.$": "$$.State.RetryCount"`` so the handler needs no memory.
    """
    attempt = int(event["attempt"])
    if attempt < int(event["succeed_at"]):
        raise TransientError(f"attempt {attempt} failed")
    return {"succeeded_on_attempt": attempt}


def raise_sequence(event: dict[str, Any], context: Any) -> Any:
    """Raise the error named ``event["errors"][attempt]``; succeed once the list is used up."""
    attempt = int(event["attempt"])
    errors = event["errors"]
    if attempt < len(errors):
        raise _NAMED_ERRORS[errors[attempt]](f"attempt {attempt}")
    return "done"


def sleep(event: dict[str, Any], context: Any) -> Any:
    """Really sleep ``event["seconds"]`` (only Task timeout cases use this, and briefly)."""
    seconds = float(event["seconds"])
    time.sleep(seconds)
    return {"slept": seconds}


def big(event: dict[str, Any], context: Any) -> Any:
    """Return ``{"data": "x" * size, "tag": tag}``: a payload of a chosen size."""
    return {"data": "x" * int(event["size"]), "tag": event.get("tag")}


def make_string(event: dict[str, Any], context: Any) -> Any:
    """Return ``event["text"]`` repeated ``event["times"]`` times (long intrinsic arguments)."""
    return str(event["text"]) * int(event["times"])


def log_and_echo(event: Any, context: Any) -> Any:
    """Print and log something, then return the event (output capture must not alter results)."""
    print("handler says hello")
    _log.warning("handler logs a warning")
    return event


def context_info(event: Any, context: Any) -> Any:
    """Report what a Lambda-like context exposes, as booleans and the function name."""
    return {
        "function_name": context.function_name,
        "has_request_id": isinstance(context.aws_request_id, str) and bool(context.aws_request_id),
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
    }


def raw_bytes(event: dict[str, Any], context: Any) -> Any:
    """Return ``event["text"]`` encoded as UTF-8 bytes (Lambda's runtime passes bytes through raw)."""
    return str(event["text"]).encode("utf-8")


def client_context_custom(event: Any, context: Any) -> Any:
    """Return ``context.client_context.custom`` (None without a ClientContext)."""
    return None if context.client_context is None else context.client_context.custom
