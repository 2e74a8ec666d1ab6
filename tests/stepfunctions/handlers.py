"""Handlers the Step Functions API tests register (importable by worker processes)."""

from __future__ import annotations

import time
from typing import Any


def double(event: Any, context: Any) -> Any:
    return {"value": event["value"] * 2}


def fail(event: Any, context: Any) -> Any:
    raise ValueError("no good")


def slow(event: Any, context: Any) -> Any:
    time.sleep(float(event.get("seconds", 0.2)) if isinstance(event, dict) else 0.2)
    return event
