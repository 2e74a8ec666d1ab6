"""A Distributed Map inside a Distributed Map's children (nested Map Runs), with the local object store:
the inner Map Run reads its items with an ItemReader and exports with a ResultWriter, under both executors.

Source: Step Functions Developer Guide, "Distributed Map state" (a child workflow may contain a Distributed
Map; each Map state in distributed mode starts its own Map Run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stepmap
from stepmap.storage import LocalObjectStore

BUCKET = "bkt"


def _inner(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **fields,
    }


def _outer(inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Map",
                "ItemsPath": "$.keys",
                "ItemSelector": {"key.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Inner",
                    "States": {"Inner": inner},
                },
                "End": True,
            }
        },
    }


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    s = LocalObjectStore(str(tmp_path / "s3"))
    s.create_bucket(BUCKET)
    return s


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_nested_map_run_reads_items_with_an_item_reader(
    store: LocalObjectStore, tmp_path: Path, executor: str
) -> None:
    store.put(BUCKET, "a.json", json.dumps([1, 2]).encode())
    store.put(BUCKET, "b.json", json.dumps([3]).encode())
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": BUCKET, "Key.$": "$.key"},
    }
    ex = stepmap.run(
        _outer(_inner(ItemReader=reader)),
        {"keys": ["a.json", "b.json"]},
        executor=executor,
        store=str(tmp_path / "s3"),
        state_dir=str(tmp_path / "state"),
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [[1, 2], [3]]


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_nested_map_run_exports_with_a_result_writer(
    store: LocalObjectStore, tmp_path: Path, executor: str
) -> None:
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.key"},
    }
    definition = _outer(_inner(ItemsPath="$.items", ResultWriter=writer))
    definition["States"]["Outer"]["ItemSelector"]["items"] = [10, 20]
    ex = stepmap.run(
        definition,
        {"keys": ["out1", "out2"]},
        executor=executor,
        store=str(tmp_path / "s3"),
        state_dir=str(tmp_path / "state"),
    )
    assert ex.status == "SUCCEEDED", ex.cause
    for prefix, result in zip(["out1", "out2"], ex.output, strict=True):
        details = result["ResultWriterDetails"]
        assert details["Bucket"] == BUCKET and details["Key"].startswith(prefix + "/")
        manifest = json.loads(store.get(BUCKET, details["Key"]))
        assert manifest["ResultFiles"]["SUCCEEDED"][0]["Size"] > 0
