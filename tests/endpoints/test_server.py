"""The endpoint server: JSON 1.0 routing by X-Amz-Target, error rendering, limits, auth, loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config

from stepmap.endpoints import AwsJsonError, EndpointServer, JsonRequest
from stepmap.endpoints.server import MAX_JSON_BODY
from stepmap.errors import InputError


def echo_service(request: JsonRequest):
    if request.operation == "ListTables":
        return {"TableNames": ["t1"], "Seen": json.loads(request.body or b"{}")}
    if request.operation == "Boom":
        raise RuntimeError("bug")
    raise AwsJsonError("ValidationException", f"no {request.operation}")


@pytest.fixture
def server():
    with EndpointServer(json_services={"DynamoDB_20120810": echo_service}) as srv:
        yield srv


def raw(server, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def client(server, service="dynamodb", key="anything"):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


def test_binds_loopback_on_an_ephemeral_port_by_default(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert server.port != 0


def test_a_real_client_reaches_the_service_registered_for_its_target_prefix(server):
    assert client(server).list_tables()["TableNames"] == ["t1"]


def test_service_errors_render_as_aws_json_errors(server):
    with pytest.raises(client(server).exceptions.ClientError) as info:
        client(server).describe_table(TableName="x")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == "no DescribeTable"
    status, headers, body = raw(server, "POST", "/", b"{}", {"X-Amz-Target": "DynamoDB_20120810.Nope"})
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "ValidationException"
    assert json.loads(body) == {"__type": "ValidationException", "message": "no Nope"}


@pytest.mark.parametrize("target", ["Nobody_2020.Op", "DynamoDB_20120810", "DynamoDB_20120810."])
def test_unknown_target_is_unknown_operation(server, target):
    status, _, body = raw(server, "POST", "/", b"{}", {"X-Amz-Target": target})
    assert status == 400
    assert json.loads(body)["__type"] == "UnknownOperationException"


def test_a_service_bug_is_an_internal_failure_not_a_dropped_connection(server, capsys):
    status, _, body = raw(server, "POST", "/", b"{}", {"X-Amz-Target": "DynamoDB_20120810.Boom"})
    assert status == 500
    assert json.loads(body)["__type"] == "InternalFailure"


def test_oversize_json_body_is_refused_before_it_is_read(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("X-Amz-Target", "DynamoDB_20120810.ListTables")
    conn.putheader("Content-Length", str(MAX_JSON_BODY + 1))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    assert json.loads(resp.read())["__type"] == "RequestEntityTooLarge"
    conn.close()


def test_huge_headers_are_refused(server):
    headers = {f"x-pad-{i}": "v" * 8000 for i in range(20)}
    headers["X-Amz-Target"] = "DynamoDB_20120810.ListTables"
    status, _, body = raw(server, "POST", "/", b"{}", headers)
    assert status == 400
    assert json.loads(body)["__type"] == "ValidationException"
    status, _, _ = raw(server, "GET", "/", headers={"x-long": "v" * 70000})
    assert status == 431


def test_listening_beyond_loopback_needs_a_token():
    with pytest.raises(InputError, match="token"):
        EndpointServer("0.0.0.0", 0)


def test_with_a_token_the_access_key_must_equal_it():
    with EndpointServer(
        "127.0.0.1", 0, token="s3cret", json_services={"DynamoDB_20120810": echo_service}
    ) as srv:
        assert client(srv, key="s3cret").list_tables()["TableNames"] == ["t1"]
        with pytest.raises(client(srv).exceptions.ClientError) as info:
            client(srv, key="wrong").list_tables()
        assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_stop_is_prompt_even_with_an_idle_keep_alive_connection():
    srv = EndpointServer(json_services={"DynamoDB_20120810": echo_service}).start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("POST", "/", b"{}", {"X-Amz-Target": "DynamoDB_20120810.ListTables"})
    assert conn.getresponse().read()
    srv.stop()  # returns although the client keeps its connection open
    srv.stop()  # idempotent
    conn.close()


def test_stepmap_serve_prints_its_url_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stepmap.cli", "serve", "--port", "0", "--state-dir", str(tmp_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "serving S3" in line and "http://127.0.0.1:" in line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/", b"{}", {"X-Amz-Target": "Nobody.Op"})
        assert conn.getresponse().status == 400
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "endpoint stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_stepmap_serve_refuses_a_public_address_without_token(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "token" in out.stderr and "Traceback" not in out.stderr
