"""The integrations port: resources parsed, refused at validation naming the service, dispatched by the
interpreter through the table the service passes in, with AWS's Task* history events."""

from __future__ import annotations

from typing import Any

import pytest

import stepmap
from stepmap.asl.resources import parse_resource
from stepmap.errors import StatesError
from stepmap.integrations import IntegrationTable, default_integrations
from stepmap.integrations.aws_sdk import error_name


def _machine(resource: str, parameters: Any = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **extra}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "T", "States": {"T": state}}


def test_resources_parse_into_history_fields() -> None:
    sdk = parse_resource("arn:aws:states:::aws-sdk:s3:listObjectsV2")
    assert sdk is not None and (sdk.resource_type, sdk.resource, sdk.sdk_service) == (
        "aws-sdk:s3",
        "listObjectsV2",
        "s3",
    )
    sync = parse_resource("arn:aws:states:::states:startExecution.sync:2")
    assert sync is not None and (sync.service, sync.resource) == ("states", "startExecution.sync:2")
    assert parse_resource("arn:aws:states:::lambda:invoke") is None  # the Lambda path
    assert parse_resource("arn:aws:lambda:us-east-1:123456789012:function:f") is None


@pytest.mark.parametrize(
    ("resource", "named"),
    [
        ("arn:aws:states:::ecs:runTask", "'ecs'"),  # sns:publish runs locally since i12
        ("arn:aws:states:::aws-sdk:ec2:describeInstances", "'aws-sdk:ec2'"),
        ("arn:aws:states:::dynamodb:query", "'dynamodb:query'"),
        ("arn:aws:states:::dynamodb:putItem.sync", "'.sync'"),
    ],
)
def test_unsupported_services_are_refused_naming_them(resource: str, named: str) -> None:
    problems = stepmap.validate(_machine(resource, {"A": 1}))
    assert len(problems) == 1
    assert problems[0].code == "INVALID_RESOURCE" and named in problems[0].message
    assert problems[0].location == "/States/T/Resource"


def test_supported_services_validate() -> None:
    for resource in (
        "arn:aws:states:::dynamodb:putItem",
        "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        "arn:aws:states:::aws-sdk:dynamodb:createTable",
    ):
        assert stepmap.validate(_machine(resource, {"A": 1})) == []


def test_error_names_follow_step_functions() -> None:
    assert error_name("S3", "NoSuchKey") == "S3.NoSuchKeyException"
    assert error_name("S3", "NoSuchBucket") == "S3.NoSuchBucketException"
    assert (
        error_name("DynamoDb", "ConditionalCheckFailedException")
        == "DynamoDb.ConditionalCheckFailedException"
    )
    assert error_name("S3", "404") == "S3.S3Exception"


class _Echo:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def invoke(self, resource: Any, parameters: Any, ctx: Any) -> Any:
        self.calls.append((resource.resource, parameters))
        if parameters.get("fail"):
            raise StatesError("Echo.BoomException", "it failed")
        return {"echo": parameters, "state": ctx.state_name}


def _run_with(table: IntegrationTable, definition: dict[str, Any], input: Any) -> stepmap.Execution:
    from stepmap.service.runner import StepmapService

    service = StepmapService(executor="sync")
    service._integrations = table
    return service.start_execution(definition, input)


def test_interpreter_dispatches_through_the_port_with_task_events() -> None:
    echo = _Echo()
    table = IntegrationTable()
    table.register("aws-sdk:s3:*", echo)
    definition = _machine(
        "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        {"Bucket.$": "$.b"},
        ResultSelector={"n.$": "$.echo.Bucket"},
    )
    execution = _run_with(table, definition, {"b": "data"})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"n": "data"}
    assert echo.calls == [("listObjectsV2", {"Bucket": "data"})]
    types = [e["type"] for e in execution.history]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = execution.history[2]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "aws-sdk:s3" and scheduled["resource"] == "listObjectsV2"
    assert scheduled["parameters"] == '{"Bucket":"data"}' and scheduled["region"] == "us-east-1"


def test_integration_errors_reach_catch_and_history() -> None:
    table = IntegrationTable()
    table.register("aws-sdk:s3:*", _Echo())
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"fail": True},
                "Catch": [{"ErrorEquals": ["Echo.BoomException"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    execution = _run_with(table, definition, {})
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"Error": "Echo.BoomException", "Cause": "it failed"}
    failed = next(e for e in execution.history if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert failed == {
        "resourceType": "aws-sdk:s3",
        "resource": "getObject",
        "error": "Echo.BoomException",
        "cause": "it failed",
    }


def test_integrations_reach_an_endpoint_over_the_services_own_store(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from stepmap.service.runner import StepmapService

    service = StepmapService(executor="sync", state_dir=str(tmp_path / "state"))
    execution = service.start_execution(
        _machine("arn:aws:states:::dynamodb:getItem", {"TableName": "nope", "Key": {"k": {"S": "1"}}}), {}
    )
    assert execution.status == "FAILED" and execution.error == "DynamoDB.ResourceNotFoundException"
    assert service.aws_endpoint_url().startswith("http://127.0.0.1:")
    service.close()


def test_integrations_go_where_handlers_go(tmp_path, monkeypatch) -> None:
    from stepmap.service.runner import StepmapService

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the user's own endpoint: handlers use it
    assert StepmapService(executor="sync", state_dir=str(tmp_path)).aws_endpoint_url() == "http://127.0.0.1:9"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    service = StepmapService(executor="sync", state_dir=str(tmp_path), endpoint=True)
    try:
        assert service.endpoint is not None and service.aws_endpoint_url() == service.endpoint.url
    finally:
        service.close()


def test_default_table_finds_each_family() -> None:
    table = default_integrations("http://127.0.0.1:1")
    assert table.find_arn("arn:aws:states:::dynamodb:putItem") is not None
    assert table.find_arn("arn:aws:states:::aws-sdk:s3:copyObject") is not None
    assert table.find_arn("arn:aws:states:::sns:publish") is None
    assert table.find_arn("arn:aws:states:::lambda:invoke") is None
