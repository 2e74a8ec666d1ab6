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


def hand_out_token(event: Any, context: Any) -> Any:
    """Store the task token where the test (another process) finds it."""
    with open(event["path"], "w") as fh:
        fh.write(event["token"])
    return {"stored": True}


def answer_token(event: Any, context: Any) -> Any:
    """Answer the task token from inside the handler with boto3, as callback workers do."""
    import boto3
    from botocore.config import Config

    client = boto3.client("stepfunctions", config=Config(inject_host_prefix=False))
    client.send_task_success(taskToken=event["token"], output='{"answered": true}')
    return {}


def fail_while_flagged(event: Any, context: Any) -> Any:
    """Fails while the file named by the event exists (to make a Map Run fail, then redrive it)."""
    import os

    if event.get("flag") and os.path.exists(event["flag"]):
        raise RuntimeError(f"flagged item {event.get('i')}")
    return event
