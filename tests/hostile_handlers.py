"""Lambda-style handlers for the hostile-input tests (tests/test_hostile_input.py), ``f(event, context)``.

They return what a careless or malicious handler could return (data nested too deeply for ``json``, a
reference cycle, a tiny object graph whose JSON text is huge, results just under and over 256 KiB) and
drive the configured object store with hostile bucket names and keys. They are module level, keep no state
and run in worker processes under the ``local`` executor; what they need arrives in the event.
"""

from __future__ import annotations

from typing import Any

import stepmap

__all__ = ["circular", "dag", "deep", "probe_store", "sized_string", "unserializable"]


def deep(event: Any, context: Any) -> Any:
    """A list nested ``event["depth"]`` levels deep, built without recursion."""
    value: list[Any] = []
    for _ in range(event["depth"]):
        value = [value]
    return value


def circular(event: Any, context: Any) -> Any:
    """A dict that contains itself: no JSON text exists for it."""
    value: dict[str, Any] = {"name": "loop"}
    value["self"] = value
    return value


def unserializable(event: Any, context: Any) -> Any:
    return {"set": {1, 2, 3}}


def dag(event: Any, context: Any) -> Any:
    """``event["levels"]`` levels of ``[x, x]``: a few objects whose JSON text has 2**levels leaves."""
    value: Any = 1
    for _ in range(event["levels"]):
        value = [value, value]
    return value


def sized_string(event: Any, context: Any) -> Any:
    """A string whose JSON text (quotes included) is exactly ``event["bytes"]`` bytes."""
    return "x" * (event["bytes"] - 2)


def _outcome(call: Any) -> dict[str, Any]:
    try:
        value = call()
    except Exception as exc:
        return {"ok": False, "type": type(exc).__name__, "message": str(exc), "store_error": _is_ours(exc)}
    return {"ok": True, "value": value}


def _is_ours(exc: BaseException) -> bool:
    return isinstance(exc, stepmap.StepmapError)


def probe_store(event: Any, context: Any) -> Any:
    """Put, get back and list each ``[bucket, key]`` of ``event["puts"]``; get each one of ``event["gets"]``.

    Reports, per operation, the value (latin-1 text of the bytes) or the exception's type and message, so the
    test decides what is right. Nothing is raised: a hostile key must not fail the whole execution.
    """
    store = stepmap.objects()
    payload = event.get("payload", "written-by-handler").encode()
    puts = []
    for bucket, key in event.get("puts", []):
        put = _outcome(lambda b=bucket, k=key: (store.put(b, k, payload), "stored")[1])
        got = _outcome(lambda b=bucket, k=key: store.get(b, k).decode("latin-1")) if put["ok"] else None
        listed = (
            _outcome(lambda b=bucket, k=key: [o.key for o in store.list(b, k)][:5]) if put["ok"] else None
        )
        puts.append({"bucket": bucket, "key": key, "put": put, "get": got, "list": listed})
    gets = []
    for bucket, key in event.get("gets", []):
        gets.append(
            {"bucket": bucket, "key": key, "get": _outcome(lambda b=bucket, k=key: store.get(b, k).decode())}
        )
    return {"puts": puts, "gets": gets}


class _Escape(BaseException):
    """A BaseException subclass of the handler's own (not an Exception)."""


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ failed")


def raise_named(event: Any, context: Any) -> Any:
    """Raise what ``event["raise"]`` names: a BaseException subclass, GeneratorExit, KeyboardInterrupt, an
    exception whose ``__str__`` raises, or an exception with a message of ``event["size"]`` characters."""
    kind = event["raise"]
    if kind == "base":
        raise _Escape("out of the handler")
    if kind == "generator-exit":
        raise GeneratorExit("closed")
    if kind == "keyboard-interrupt":
        raise KeyboardInterrupt
    if kind == "unprintable":
        raise _Unprintable
    if kind == "huge":
        raise ValueError("m" * event["size"] + "END")
    raise AssertionError(kind)


def chatty(event: Any, context: Any) -> Any:
    """Print ``event["mb"]`` MB in 1 KB lines, then a last line; return a small result."""
    line = "x" * 1023 + "\n"
    for _ in range(event["mb"] * 1024):
        print(line, end="")
    print("THE-LAST-LINE")
    return {"done": True}


def lone_surrogate(event: Any, context: Any) -> Any:
    return {"text": "\udc80"}
