"""Handlers for the dashboard tests (module level: worker processes import them by name)."""

from __future__ import annotations

import time
from typing import Any


class ItemFailed(Exception):
    """Raised for every item whose ``n`` ends in 3; AWS reports the class name as the error."""


class ReportFailed(Exception):
    """Raised by the last state of the Distributed Map workflow, so the execution fails there."""


def work(event: Any, context: Any) -> Any:
    time.sleep(event.get("sleep", 0))
    if event["n"] % 10 == 3:
        raise ItemFailed(f"item {event['n']} is bad <b>bold</b><script>window.__pwned=1</script>")
    return {"n": event["n"]}


def report(event: Any, context: Any) -> Any:
    raise ReportFailed("the report found failed items; see the Map Run")
