"""A Distributed Map in JSONata mode: every setting AWS lets an expression compute, evaluated once per Map Run
(ItemReader Arguments and ReaderConfig.MaxItems, ItemBatcher, ItemSelector, ResultWriter Arguments and
WriterConfig, tolerated failures), and JSONata child executions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stepmap
from stepmap.storage import LocalObjectStore

BUCKET = "data"


def _run(tmp_path: Path, definition: dict[str, Any], input: Any, executor: str) -> stepmap.Execution:
    return stepmap.run(
        definition, input, executor=executor, store=str(tmp_path / "s3"), state_dir=str(tmp_path / "state")
    )


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_every_jsonata_setting_of_a_distributed_map(tmp_path: Path, executor: str) -> None:
    store = LocalObjectStore(str(tmp_path / "s3"))
    store.create_bucket(BUCKET)
    store.put(BUCKET, "in/items.jsonl", "".join(json.dumps({"n": i}) + "\n" for i in range(10)).encode())
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "{% $states.input.key %}"},
                    "ReaderConfig": {"InputType": "JSONL", "MaxItems": "{% $states.input.max %}"},
                },
                "ItemSelector": {"n": "{% $states.context.Map.Item.Value.n %}", "k": "{% $factor %}"},
                "ItemBatcher": {
                    "MaxItemsPerBatch": "{% $states.input.batch %}",
                    "BatchInput": {"tag": "{% $uppercase($states.input.tag) %}"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Sum",
                    "States": {
                        "Sum": {
                            "Type": "Pass",
                            "Output": {
                                "tag": "{% $states.input.BatchInput.tag %}",
                                "sum": "{% $sum($states.input.Items.(n * k)) %}",
                            },
                            "End": True,
                        }
                    },
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Arguments": {
                        "Bucket": "{% $states.input.bucket %}",
                        "Prefix": "{% 'out/' & $states.input.tag %}",
                    },
                    "WriterConfig": {"OutputType": "JSON", "Transformation": "COMPACT"},
                },
                "ToleratedFailurePercentage": "{% 0 %}",
                "Output": {"written": "{% $exists($states.result.ResultWriterDetails) %}"},
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    definition["States"] = {
        "Init": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "M"},
        **definition["States"],
    }
    definition["StartAt"] = "Init"
    execution = _run(
        tmp_path,
        definition,
        {"bucket": BUCKET, "key": "in/items.jsonl", "max": 7, "batch": 3, "tag": "run"},
        executor,
    )
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output == {"written": True}
    results = [info.key for info in store.list(BUCKET, "out/run/") if info.key.endswith(".json")]
    outputs = []
    for key in results:
        if key.endswith("manifest.json"):
            continue
        outputs.extend(json.loads(store.get(BUCKET, key)))
    # MaxItems 7 -> items 0..6, batches of 3: [0,1,2] [3,4,5] [6], each summed n * factor
    assert sorted(outputs, key=lambda o: o["sum"]) == [
        {"tag": "RUN", "sum": 30},
        {"tag": "RUN", "sum": 60},
        {"tag": "RUN", "sum": 120},
    ]


def test_a_failing_item_selector_fails_the_map_with_the_field(tmp_path: Path) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value.missing %}"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    execution = _run(tmp_path, definition, {"xs": [{"a": 1}]}, "sync")
    assert execution.status == "FAILED"
    assert execution.error == "States.QueryEvaluationError"
    assert "specified for the field 'ItemSelector/v' returned nothing (undefined)" in (execution.cause or "")
