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


def crash_on(event: Any, context: Any) -> Any:
    """Kill the worker (as a segfault in a C extension would) for the items marked ``crash``; echo the rest.
    With ``dir``, each run of an item is logged (one line per run in <dir>/runs-<pid>.log)."""
    if event.get("dir"):
        with open(os.path.join(event["dir"], f"runs-{os.getpid()}.log"), "a") as fh:
            fh.write(f"{event['id']}\n")
    if event.get("crash") == "segv":
        import ctypes
        import faulthandler

        faulthandler.disable()  # pytest enables it; its dump would only be noise here
        ctypes.string_at(0)  # a real segmentation fault
    if event.get("crash"):
        os._exit(13)
    return {"id": event["id"]}


def stubborn(event: Any, context: Any) -> Any:
    """A handler that does not let go: swallows every BaseException (the timeout's too) and blocks
    SIGALRM, then sleeps far past its Task's timeout."""
    import signal

    if event.get("block_alarm"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    end = time.monotonic() + event.get("seconds", 60)
    while time.monotonic() < end:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
    return {"woke": True}


def nap_while_marked(event: Any, context: Any) -> Any:
    """Sleep while the file ``event["marker"]`` exists (bounded by ``seconds``), then echo the event."""
    end = time.monotonic() + event.get("seconds", 60)
    while os.path.exists(event["marker"]) and time.monotonic() < end:
        time.sleep(0.05)
    return event
