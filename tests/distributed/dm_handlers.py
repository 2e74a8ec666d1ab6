"""Lambda-style handlers for the Distributed Map end-to-end tests, each ``def f(event, context)``.

They run in worker processes under the ``local`` executor, so each is a module-level function with no shared
state: what a handler needs (which items fail, where to record timings) arrives in its event. The error class
is module level so that the error name AWS reports (the exception's class name) is stable.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

__all__ = ["ItemFailed", "echo", "fail_marked", "pair", "record_interval", "square"]


class ItemFailed(Exception):
    """Raised for items marked ``"fail": true``; AWS reports the class name as the error."""


def echo(event: Any, context: Any) -> Any:
    return event


def square(event: Any, context: Any) -> Any:
    return event["n"] * event["n"]


def pair(event: Any, context: Any) -> Any:
    """An array output, for the FLATTEN transformation."""
    return [event["n"], -event["n"]]


def _marked(value: Any) -> bool:
    return isinstance(value, dict) and value.get("fail") is True


def fail_marked(event: Any, context: Any) -> Any:
    """Fail when the item (or any item of a batch) is marked ``"fail": true``; otherwise echo the event."""
    items = event["Items"] if isinstance(event, dict) and "Items" in event else [event]
    for item in items:
        if _marked(item):
            raise ItemFailed(f"item {json.dumps(item, sort_keys=True)} is marked to fail")
    return event


def record_interval(event: Any, context: Any) -> Any:
    """Record start and end (ns, a system-wide monotonic clock) of this child in ``<dir>/<index>.json``.

    The child stays busy for a few milliseconds so that two children running at once would overlap.
    """
    start = time.monotonic_ns()
    time.sleep(0.015)
    end = time.monotonic_ns()
    path = os.path.join(event["dir"], f"{event['index']}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"index": event["index"], "start": start, "end": end, "pid": os.getpid()}, f)
    return event["index"]
