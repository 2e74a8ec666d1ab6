"""Distributed Map definitions and result reading shared by the fault and cluster tests."""

from __future__ import annotations

import json
from typing import Any


def processor(resource: str | None) -> dict[str, Any]:
    """An EXPRESS ItemProcessor of one Task calling ``resource``, or of one Pass when it is None."""
    state: dict[str, Any] = {"Type": "Pass", "End": True}
    if resource is not None:
        state = {"Type": "Task", "Resource": resource, "End": True}
    return {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Child",
        "States": {"Child": state},
    }


def jsonl_map(bucket: str, resource: str | None, **fields: Any) -> dict[str, Any]:
    """A one-state machine: a Distributed Map over ``bucket/items.jsonl`` whose ResultWriter writes
    COMPACT JSON Lines under ``out/``; ``fields`` add to (or replace) the Map state's fields."""
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": bucket, "Key": "items.jsonl"},
        },
        "ItemProcessor": processor(resource),
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": "out"},
            "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"},
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "M", "States": {"M": state}}


def result_records(store: Any, bucket: str, manifest_key: str) -> list[Any]:
    """Every SUCCEEDED record of a JSON Lines ResultWriter export, in file order."""
    manifest = json.loads(store.get(bucket, manifest_key))
    return [
        json.loads(line)
        for entry in manifest["ResultFiles"]["SUCCEEDED"]
        for line in store.get(bucket, entry["Key"]).splitlines()
        if line.strip()
    ]
