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


def counted(event: Any, context: Any) -> Any:
    """Record each run of an item (one line per run in <dir>/<id>), then echo it; fail while <dir>/fail-<id>
    exists. Sleeps a little so a run can be interrupted in the middle."""
    directory = event["dir"]
    with open(os.path.join(directory, f"runs-{event['id']}"), "a") as fh:
        fh.write("run\n")
    time.sleep(event.get("sleep", 0.0))
    if os.path.exists(os.path.join(directory, f"fail-{event['id']}")):
        raise RuntimeError(f"item {event['id']} is marked to fail")
    return {"id": event["id"]}


_run_log: Any = None


def log_run(event: Any, context: Any) -> Any:
    """Append this item's id to a per-process log (cheap enough for 100k children), then echo it."""
    global _run_log
    if _run_log is None:
        _run_log = open(os.path.join(event["dir"], f"runs-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
    _run_log.write(f"{event['id']}\n")
    time.sleep(event.get("sleep", 0.0))
    return {"id": event["id"]}


def hang(event: Any, context: Any) -> Any:
    """A handler that never returns in time (a stuck network call)."""
    time.sleep(event.get("seconds", 60))
    return {"woke": True}
