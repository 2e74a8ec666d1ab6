"""What the API refuses: file paths as definitions, oversized inputs, other access keys with a token."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from stepmap.endpoints import EndpointContext, EndpointServer
from stepmap.endpoints.stepfunctions import StepFunctionsEndpoint
from tests.stepfunctions.conftest import ROLE
from tests.stepfunctions.test_machines import code


def test_a_definition_is_never_read_from_a_file(sfn, tmp_path):
    secret = tmp_path / "machine.json"
    secret.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    for text in (str(secret), f"file://{secret}", "/etc/passwd"):
        with pytest.raises(ClientError) as exc:
            sfn.create_state_machine(name="file", definition=text, roleArn=ROLE)
        assert code(exc) == "InvalidDefinition"
        assert sfn.validate_state_machine_definition(definition=text)["result"] == "FAIL"
        with pytest.raises(ClientError) as exc:
            sfn.test_state(definition=text)
        assert code(exc) == "InvalidDefinition"


def test_oversized_input_and_output(sfn):
    arn = sfn.create_state_machine(
        name="cb",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps(["x" * 300_000]))
    assert code(exc) == "ValidationException"


def test_token_required_off_loopback_and_checked(tmp_path: Any):
    ctx = EndpointContext.from_options(state_dir=str(tmp_path / "state"))
    ctx.run_options = {"executor": "sync"}
    service = StepFunctionsEndpoint(ctx)
    server = EndpointServer(token="s3cret", json_services={"AWSStepFunctions": service}).start()
    try:

        def client(key: str) -> Any:
            return boto3.client(
                "stepfunctions",
                endpoint_url=server.url,
                region_name="us-east-1",
                aws_access_key_id=key,
                aws_secret_access_key="x",
                config=Config(retries={"max_attempts": 1}),
            )

        with pytest.raises(ClientError) as exc:
            client("other").list_state_machines()
        assert code(exc) == "UnrecognizedClientException"
        assert client("s3cret").list_state_machines()["stateMachines"] == []
    finally:
        server.stop()
        service.close()
