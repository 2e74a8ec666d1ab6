"""A Step Functions endpoint on loopback per test, and boto3 clients whose every response is checked
against botocore's output shape for its operation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from stepmap.endpoints import EndpointContext, EndpointServer
from stepmap.endpoints.stepfunctions import StepFunctionsEndpoint
from stepmap.functions import FunctionRegistry
from tests.stepfunctions.shapes import problems

ROLE = "arn:aws:iam::123456789012:role/test"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


class Endpoint:
    def __init__(self, state_dir: str, executor: str = "sync") -> None:
        self.state_dir = state_dir
        ctx = EndpointContext.from_options(state_dir=state_dir)
        functions = FunctionRegistry()
        for name in ("double", "fail", "slow", "hand_out_token", "answer_token", "fail_while_flagged"):
            functions.register(name, f"tests.stepfunctions.handlers:{name}")
        ctx.run_options = {"executor": executor, "functions": functions}
        self.service = StepFunctionsEndpoint(ctx)
        self.server = EndpointServer(json_services={"AWSStepFunctions": self.service}).start()
        self.url = self.server.url
        self.shape_problems: list[str] = []

    def client(self) -> Any:
        client = boto3.client(
            "stepfunctions",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            # StartSyncExecution's host is sync-<endpoint>: a loopback address cannot take that prefix
            config=Config(inject_host_prefix=False),
        )
        client.meta.events.register("after-call", self._check)
        return client

    def _check(self, http_response: Any, model: Any, **kwargs: Any) -> None:
        if http_response.status_code == 200 and model.output_shape is not None:
            found = problems(json.loads(http_response.content or b"{}"), model.output_shape)
            self.shape_problems.extend(f"{model.name}: {p}" for p in found)

    def close(self) -> None:
        self.server.stop()
        self.service.close()


@pytest.fixture
def endpoint(tmp_path: Any) -> Iterator[Endpoint]:
    ep = Endpoint(str(tmp_path / "state"))
    yield ep
    ep.close()
    assert ep.shape_problems == []


@pytest.fixture
def sfn(endpoint: Endpoint) -> Any:
    return endpoint.client()
