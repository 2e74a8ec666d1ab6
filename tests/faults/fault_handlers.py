"""Handlers for the fault-injection tests."""

from __future__ import annotations

import os
import time
from typing import Any


def slow_echo(event: Any, context: Any) -> Any:
    time.sleep(0.002)
    return event


def exit_unless_retried(event: Any, context: Any) -> Any:
    """Kill the worker process on the first attempt, as a crashing native library would."""
    if event["attempt"] == 0:
        os._exit(13)
    return {"survived_on_attempt": event["attempt"]}
