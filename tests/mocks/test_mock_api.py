"""StartExecution on "<stateMachineArn>#<TestCase>" runs that test case of serve's MockConfigFile, as
Step Functions Local does; the same machine started on its plain ARN runs for real."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from stepmap.endpoints import EndpointContext, EndpointServer
from stepmap.endpoints.stepfunctions import StepFunctionsEndpoint
from stepmap.functions import FunctionRegistry
from stepmap.integrations.mock import load_mock_config
from tests.mocks.test_mock_config import ATHENA_BEDROCK, AWS_EXAMPLE, LAMBDA_SQS

ROLE = "arn:aws:iam::123456789012:role/test"
# the API's executions sleep for real: retry after 1 s, not the 2-4-8 s of the documentation's example
FAST = json.loads(json.dumps(LAMBDA_SQS))
FAST["States"]["LambdaState"]["Retry"][0].update(IntervalSeconds=1, BackoffRate=1)


@pytest.fixture
def sfn(tmp_path: Any) -> Iterator[Any]:
    ctx = EndpointContext.from_options(
        store=str(tmp_path / "state" / "s3"), state_dir=str(tmp_path / "state")
    )
    ctx.run_options = {
        "executor": "sync",
        "functions": FunctionRegistry(),
        "mock_config": load_mock_config(AWS_EXAMPLE),
    }
    service = StepFunctionsEndpoint(ctx)
    server = EndpointServer(json_services={"AWSStepFunctions": service}).start()
    try:
        yield boto3.client(
            "stepfunctions",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    finally:
        server.stop()
        service.close()


def finished(sfn: Any, arn: str) -> dict[str, Any]:
    for _ in range(500):  # bounded: the executions here take milliseconds
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError(f"{arn} did not finish")


def test_start_execution_with_a_test_case(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="LambdaSQSIntegration", definition=json.dumps(FAST), roleArn=ROLE)[
        "stateMachineArn"
    ]
    started = sfn.start_execution(stateMachineArn=f"{arn}#RetryPath", input='{"x": 1}')
    described = finished(sfn, started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert (
        json.loads(described["output"]) == AWS_EXAMPLE["MockedResponses"]["MockedSQSSuccess"]["0"]["Return"]
    )
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in history].count("TaskFailed") == 3  # 0, then the range 1-2

    # HybridPath mocks the Lambda only: the SQS task really sends (to stepmap's local queue)
    hybrid = finished(sfn, sfn.start_execution(stateMachineArn=f"{arn}#HybridPath")["executionArn"])
    assert hybrid["status"] == "SUCCEEDED"
    output = json.loads(hybrid["output"])
    assert (
        output["MessageId"] != AWS_EXAMPLE["MockedResponses"]["MockedSQSSuccess"]["0"]["Return"]["MessageId"]
    )
    assert "SdkHttpMetadata" in output


def test_unknown_test_case_is_a_validation_error(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="LambdaSQSIntegration", definition=json.dumps(FAST), roleArn=ROLE)[
        "stateMachineArn"
    ]
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=f"{arn}#Nope")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "no test case 'Nope'" in info.value.response["Error"]["Message"]


def test_unmocked_machines_are_still_refused_at_creation(sfn: Any) -> None:
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name="Other", definition=json.dumps(ATHENA_BEDROCK), roleArn=ROLE)
    assert info.value.response["Error"]["Code"] == "InvalidDefinition"
