"""The aws-sdk and optimized DynamoDB integrations against a real S3/DynamoDB protocol server (moto):
AWS's parameter and response shapes, and AWS's error names, whatever server answers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from stepmap import ManualClock
from stepmap.service.runner import StepmapService


def _run(endpoint: str, definition: dict[str, Any], input: Any = None) -> Any:
    service = StepmapService(executor="sync", clock=ManualClock())
    service.aws_endpoint_url = lambda: endpoint  # type: ignore[method-assign]
    return service.start_execution(definition, input or {})


def _task(resource: str, parameters: dict[str, Any], nxt: str | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::{resource}",
        "Parameters": parameters,
    }
    state.update({"Next": nxt} if nxt else {"End": True})
    state.update(extra)
    return state


def test_s3_and_dynamodb_through_moto(aws_endpoint: str, aws_env: None) -> None:
    bucket, table = f"b-{uuid.uuid4().hex[:10]}", f"t-{uuid.uuid4().hex[:10]}"
    definition = {
        "StartAt": "MakeBucket",
        "States": {
            "MakeBucket": _task("aws-sdk:s3:createBucket", {"Bucket": bucket}, "Put", ResultPath=None),
            "Put": _task(
                "aws-sdk:s3:putObject",
                {"Bucket": bucket, "Key": "a.txt", "Body": "hello"},
                "List",
                ResultPath=None,
            ),
            "List": _task("aws-sdk:s3:listObjectsV2", {"Bucket": bucket}, "Get", ResultPath="$.listed"),
            "Get": _task(
                "aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "a.txt"}, "Table", ResultPath="$.got"
            ),
            "Table": _task(
                "aws-sdk:dynamodb:createTable",
                {
                    "TableName": table,
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
                "PutItem",
                ResultPath=None,
            ),
            "PutItem": _task(
                "dynamodb:putItem",
                {"TableName": table, "Item": {"id": {"S": "1"}, "n": {"N": "5"}}},
                "GetItem",
                ResultPath="$.put",
            ),
            "GetItem": _task(
                "dynamodb:getItem", {"TableName": table, "Key": {"id": {"S": "1"}}}, ResultPath="$.item"
            ),
        },
    }
    execution = _run(aws_endpoint, definition)
    assert execution.status == "SUCCEEDED", execution.cause
    out = execution.output
    assert [c["Key"] for c in out["listed"]["Contents"]] == ["a.txt"]
    assert out["listed"]["KeyCount"] == 1 and "ResponseMetadata" not in out["listed"]
    assert out["listed"]["Contents"][0]["LastModified"].endswith("Z")
    assert out["got"]["Body"] == "hello" and out["got"]["ContentLength"] == 5
    assert out["item"]["Item"] == {"id": {"S": "1"}, "n": {"N": "5"}}
    assert out["item"]["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert set(out["put"]) == {"SdkHttpMetadata", "SdkResponseMetadata"}


@pytest.mark.parametrize(
    ("resource", "parameters", "error"),
    [
        ("aws-sdk:s3:getObject", {"Bucket": "no-such-bucket-here", "Key": "k"}, "S3.NoSuchBucketException"),
        (
            "dynamodb:getItem",
            {"TableName": "nope", "Key": {"id": {"S": "1"}}},
            "DynamoDB.ResourceNotFoundException",
        ),
        (
            "aws-sdk:dynamodb:getItem",
            {"TableName": "nope", "Key": {"id": {"S": "1"}}},
            "DynamoDb.ResourceNotFoundException",
        ),
        ("aws-sdk:s3:getObject", {"Bucket": "b", "Nope": 1}, "States.TaskFailed"),
    ],
)
def test_errors_are_named_as_step_functions_names_them(
    aws_endpoint: str, aws_env: None, resource: str, parameters: dict[str, Any], error: str
) -> None:
    execution = _run(aws_endpoint, {"StartAt": "T", "States": {"T": _task(resource, parameters)}})
    assert execution.status == "FAILED"
    assert execution.error == error, execution.cause


def test_unreachable_endpoint_is_sdk_client_exception(aws_env: None) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": _task(
                "aws-sdk:s3:listObjectsV2",
                {"Bucket": "b"},
                Retry=[{"ErrorEquals": ["S3.SdkClientException"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            )
        },
    }
    execution = _run("http://127.0.0.1:9", definition)
    assert execution.status == "FAILED" and execution.error == "S3.SdkClientException"
    assert sum(e["type"] == "TaskFailed" for e in execution.history) == 2  # retried once
