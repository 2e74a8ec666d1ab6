"""--aws passthrough: integrations stepmap does not run locally go to AWS through the generic boto3 path --
here to a stub AWS JSON endpoint on loopback, never to real AWS. Without it, validation refuses them naming
the three ways forward."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stepmap.errors import DefinitionError
from stepmap.integrations.passthrough import PassthroughClients
from stepmap.interpreter.clock import ManualClock
from stepmap.service.runner import StepmapService
from tests.cli.test_cli import stepmap

QUERY = {
    "StartAt": "Start",
    "States": {
        "Start": {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:startQueryExecution",
            "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "primary"},
            "Next": "Get",
        },
        "Get": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:athena:getQueryExecution",
            "Parameters": {"QueryExecutionId.$": "$.QueryExecutionId"},
            "Catch": [{"ErrorEquals": ["Athena.InvalidRequestException"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}


class Stub(BaseHTTPRequestHandler):
    """Athena as botocore's model speaks it (rest-json in current botocore; JSON 1.1 in older ones)."""

    seen: list[tuple[str, str, dict[str, Any]]] = []

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        Stub.seen.append((self.command, self.path, body))
        if "QueryString" in body:  # StartQueryExecution
            status, answer = 200, {"QueryExecutionId": "q-42"}
        elif self.path.rstrip("/").endswith("q-42") or body.get("QueryExecutionId") == "q-42":
            status, answer = (
                200,
                {"QueryExecution": {"QueryExecutionId": "q-42", "Status": {"State": "SUCCEEDED"}}},
            )
        else:
            status, answer = 400, {"__type": "InvalidRequestException", "message": "no such query"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status != 200:
            self.send_header("x-amzn-ErrorType", "InvalidRequestException")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("STEPMAP_AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "user")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    Stub.seen = []
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def service(tmp_path: Path, aws: str) -> StepmapService:
    return StepmapService(executor="sync", clock=ManualClock(), state_dir=str(tmp_path / "state"), aws=aws)


def test_without_passthrough_validation_names_the_three_ways_forward(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as info:
        service(tmp_path, "local").start_execution(QUERY, {})
    message = str(info.value.problems[0])
    assert "'athena'" in message
    assert "mock this state (--mock-config" in message and "--aws passthrough" in message


def test_passthrough_calls_the_api_and_returns_its_response(stub: str, tmp_path: Path) -> None:
    svc = service(tmp_path, "passthrough")
    try:
        execution = svc.start_execution(QUERY, {})
    finally:
        svc.close()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {
        "QueryExecution": {"QueryExecutionId": "q-42", "Status": {"State": "SUCCEEDED"}}
    }
    [(_, _, start), (_, get_path, get_body)] = Stub.seen
    assert start["QueryString"] == "SELECT 1" and start["WorkGroup"] == "primary"
    assert "q-42" in get_path or get_body == {"QueryExecutionId": "q-42"}


def test_service_errors_are_named_as_step_functions_names_them(stub: str, tmp_path: Path) -> None:
    definition = json.loads(json.dumps(QUERY))
    definition["StartAt"] = "Get"
    del definition["States"]["Start"]
    svc = service(tmp_path, "passthrough")
    try:
        execution = svc.start_execution(definition, {"QueryExecutionId": "nope"})
    finally:
        svc.close()
    assert execution.status == "SUCCEEDED"  # caught: Athena.InvalidRequestException
    assert [e["type"] for e in execution.history if e["type"] == "TaskFailed"] == ["TaskFailed"]


def test_sync_forms_are_still_refused(tmp_path: Path) -> None:
    definition = {
        "StartAt": "S",
        "States": {
            "S": {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync", "End": True}
        },
    }
    with pytest.raises(DefinitionError):
        service(tmp_path, "passthrough").start_execution(definition, {})


def test_passthrough_clients_never_use_the_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # stepmap's endpoint, for handlers
    monkeypatch.delenv("STEPMAP_AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = PassthroughClients().client("athena")
    assert client.meta.endpoint_url == "https://athena.eu-west-1.amazonaws.com"


def test_the_cli_option(stub: str, tmp_path: Path) -> None:
    (tmp_path / "q.asl.json").write_text(json.dumps(QUERY))
    refused = stepmap("run", "q.asl.json", "--executor", "sync", cwd=tmp_path)
    assert refused.returncode == 2 and "--aws passthrough" in refused.stderr
    ran = stepmap("run", "q.asl.json", "--executor", "sync", "--aws", "passthrough", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["QueryExecution"]["QueryExecutionId"] == "q-42"
    bad = stepmap("run", "q.asl.json", "--aws", "cloud", cwd=tmp_path)
    assert bad.returncode == 2
