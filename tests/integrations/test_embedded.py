"""Integrations on the embedded store (the issue's Done-when): aws-sdk:s3:listObjectsV2 paginated with
ContinuationToken over a folder copied into the store, aws-sdk:s3:copyObject, aws-sdk:dynamodb:createTable,
dynamodb:putItem/getItem/updateItem, with nothing started or exported by the user."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import stepmap
from stepmap.service.runner import StepmapService

SDK = "arn:aws:states:::aws-sdk:"


def _definition() -> dict[str, Any]:
    copy_one = {
        "StartAt": "Copy",
        "States": {
            "Copy": {
                "Type": "Task",
                "Resource": SDK + "s3:copyObject",
                "Parameters": {
                    "Bucket": "out",
                    "CopySource.$": "States.Format('data/{}', $.Key)",
                    "Key.$": "$.Key",
                },
                "ResultSelector": {"etag.$": "$.CopyObjectResult.ETag"},
                "End": True,
            }
        },
    }
    return {
        "StartAt": "MakeOut",
        "States": {
            "MakeOut": {
                "Type": "Task",
                "Resource": SDK + "s3:createBucket",
                "Parameters": {"Bucket": "out"},
                "ResultPath": None,
                "Next": "ListFirst",
            },
            "ListFirst": {
                "Type": "Task",
                "Resource": SDK + "s3:listObjectsV2",
                "Parameters": {"Bucket": "data", "Prefix": "in/", "MaxKeys": 2},
                "ResultPath": "$.page",
                "Next": "CopyPage",
            },
            "CopyPage": {
                "Type": "Map",
                "ItemsPath": "$.page.Contents",
                "ItemProcessor": copy_one,
                "ResultPath": None,
                "Next": "Count",
            },
            "Count": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.pages.n, 1)"},
                "ResultPath": "$.pages",
                "Next": "More?",
            },
            "More?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.page.IsTruncated", "BooleanEquals": True, "Next": "ListNext"}],
                "Default": "MakeTable",
            },
            "ListNext": {
                "Type": "Task",
                "Resource": SDK + "s3:listObjectsV2",
                "Parameters": {
                    "Bucket": "data",
                    "Prefix": "in/",
                    "MaxKeys": 2,
                    "ContinuationToken.$": "$.page.NextContinuationToken",
                },
                "ResultPath": "$.page",
                "Next": "CopyPage",
            },
            "MakeTable": {
                "Type": "Task",
                "Resource": SDK + "dynamodb:createTable",
                "Parameters": {
                    "TableName": "runs",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
                "ResultSelector": {"status.$": "$.TableDescription.TableStatus"},
                "ResultPath": "$.table",
                "Next": "Put",
            },
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": "runs",
                    "Item": {"id": {"S": "run-1"}, "pages": {"N.$": "States.Format('{}', $.pages.n)"}},
                    "ConditionExpression": "attribute_not_exists(id)",
                },
                "ResultPath": "$.put",
                "Next": "Bump",
            },
            "Bump": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": "runs",
                    "Key": {"id": {"S": "run-1"}},
                    "UpdateExpression": "ADD seen :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                    "ReturnValues": "UPDATED_NEW",
                },
                "ResultSelector": {"seen.$": "$.Attributes.seen.N"},
                "ResultPath": "$.bump",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "runs", "Key": {"id": {"S": "run-1"}}},
                "ResultPath": "$.got",
                "Next": "PutAgain",
            },
            "PutAgain": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": "runs",
                    "Item": {"id": {"S": "run-1"}},
                    "ConditionExpression": "attribute_not_exists(id)",
                },
                "Catch": [
                    {
                        "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                        "ResultPath": "$.caught",
                        "Next": "Done",
                    }
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def test_workflow_on_the_embedded_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    store = tmp_path / "s3"
    folder = store / "data" / "in"
    folder.mkdir(parents=True)
    names = ["b.txt", "a.txt", "sub/c.txt", "a-1.txt", "z.txt"]  # a folder copied in by hand
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"content of {name}")
    service = StepmapService(executor="sync", store=str(store), state_dir=str(tmp_path / "state"))
    execution = service.start_execution(_definition(), {"pages": {"n": 0}})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    out = execution.output
    assert out["pages"] == {"n": 3}  # 5 keys, 2 per page
    assert out["table"] == {"status": "ACTIVE"}
    assert out["bump"] == {"seen": "1"}
    assert out["got"]["Item"] == {"id": {"S": "run-1"}, "pages": {"N": "3"}, "seen": {"N": "1"}}
    assert out["got"]["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert out["caught"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    copied = sorted(str(p.relative_to(store / "out")) for p in (store / "out").rglob("*") if p.is_file())
    assert copied == sorted(f"in/{n}" for n in names)
    assert (store / "out" / "in" / "sub" / "c.txt").read_text() == "content of sub/c.txt"
    # the listing came in S3's order (UTF-8 byte order of keys), page by page
    listed = [
        e["taskSucceededEventDetails"]["output"]
        for e in execution.history
        if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"]["resource"] == "listObjectsV2"
    ]
    import json

    keys = [c["Key"] for page in listed for c in json.loads(page)["Contents"]]
    assert keys == sorted((f"in/{n}" for n in names), key=lambda k: k.encode())
    # a handler's stepmap.table() sees the item the workflow wrote
    monkeypatch.setenv("STEPMAP_STATE_DIR", str(tmp_path / "state"))
    assert stepmap.table("runs", partition_key="id").get_item({"id": "run-1"}) == {
        "id": "run-1",
        "pages": 3,
        "seen": 1,
    }
    assert os.path.isdir(store / "out")


def test_distributed_map_children_reach_the_integrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    definition = {
        "StartAt": "Table",
        "States": {
            "Table": {
                "Type": "Task",
                "Resource": SDK + "dynamodb:createTable",
                "Parameters": {
                    "TableName": "hits",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
                "ResultPath": None,
                "Next": "Fan",
            },
            "Fan": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Put",
                    "States": {
                        "Put": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::dynamodb:putItem",
                            "Parameters": {
                                "TableName": "hits",
                                "Item": {"id": {"N.$": "States.Format('{}', $.i)"}},
                            },
                            "End": True,
                        }
                    },
                },
                "ResultPath": None,
                "Next": "Scan",
            },
            "Scan": {
                "Type": "Task",
                "Resource": SDK + "dynamodb:scan",
                "Parameters": {"TableName": "hits", "Select": "COUNT"},
                "End": True,
            },
        },
    }
    service = StepmapService(
        executor="local", max_workers=1, state_dir=str(tmp_path / "state"), store=str(tmp_path / "s3")
    )
    execution = service.start_execution(definition, [{"i": i} for i in range(20)])
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output["Count"] == 20


@pytest.mark.parametrize(
    ("resource", "parameters", "error"),
    [
        ("aws-sdk:s3:getObject", {"Bucket": "data", "Key": "missing"}, "S3.NoSuchKeyException"),
        ("aws-sdk:s3:headObject", {"Bucket": "data", "Key": "missing"}, "S3.NoSuchKeyException"),
        ("aws-sdk:s3:listObjectsV2", {"Bucket": "nope"}, "S3.NoSuchBucketException"),
        (
            "aws-sdk:dynamodb:getItem",
            {"TableName": "nope", "Key": {"k": {"S": "1"}}},
            "DynamoDb.ResourceNotFoundException",
        ),
        (
            "dynamodb:putItem",
            {"TableName": "nope", "Item": {"k": {"S": "1"}}},
            "DynamoDB.ResourceNotFoundException",
        ),
        (
            "dynamodb:getItem",
            {"TableName": "tbl", "Key": {"wrong": {"S": "1"}}},
            "DynamoDB.AmazonDynamoDBException",
        ),
        (
            "aws-sdk:dynamodb:getItem",
            {"TableName": "tbl", "Key": {"wrong": {"S": "1"}}},
            "DynamoDb.ValidationException",
        ),
        ("aws-sdk:s3:listObjectsV2", {"Bucket": "data", "NotAParameter": 1}, "States.TaskFailed"),
        ("aws-sdk:s3:noSuchAction", {}, "States.Runtime"),
    ],
)
def test_errors_on_the_embedded_store(
    tmp_path: Path, resource: str, parameters: dict[str, Any], error: str
) -> None:
    (tmp_path / "s3" / "data").mkdir(parents=True)
    service = StepmapService(executor="sync", store=str(tmp_path / "s3"), state_dir=str(tmp_path / "state"))
    monkey_table = {
        "Type": "Task",
        "Resource": SDK + "dynamodb:createTable",
        "Parameters": {
            "TableName": "tbl",
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        "ResultPath": None,
        "Next": "T",
    }
    definition = {
        "StartAt": "Make",
        "States": {
            "Make": monkey_table,
            "T": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::{resource}",
                "Parameters": parameters,
                "End": True,
            },
        },
    }
    execution = service.start_execution(definition, {})
    assert execution.status == "FAILED"
    assert execution.error == error, execution.cause
