"""Running the interpreter's coroutines to completion from synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_to_completion"]

T = TypeVar("T")


def run_to_completion(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(factory())``, also from a thread that already runs an event loop (a notebook, or the
    in-process executor running a chunk of children from inside the coordinator's loop): then the
    coroutine gets a loop of its own on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="stepmap-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["value"]
    return result
