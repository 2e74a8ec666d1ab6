"""`stepmap run` serves S3 to handlers: unmodified boto3 code reads and writes the embedded store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stepmap.endpoints import EndpointContext, build_server
from stepmap.endpoints.serve import handler_env, start_handler_endpoint
from stepmap.storage import LocalObjectStore
from tests.endpoints.test_s3 import aws

ROOT = Path(__file__).parent.parent.parent

WORKFLOW = {
    "StartAt": "Write",
    "States": {
        "Write": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "writer", "Payload": {"bucket": "handler-demo", "count": 5}},
            "ResultSelector": {"written.$": "$.Payload.written"},
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "handler-demo", "Prefix": "in/"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Read",
                "States": {
                    "Read": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "reader", "Payload.$": "$"},
                        "OutputPath": "$.Payload",
                        "End": True,
                    }
                },
            },
            "End": True,
        },
    },
}


def test_a_boto3_handler_runs_with_no_aws_environment(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "flow.asl.json").write_text(json.dumps(WORKFLOW))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STEPMAP_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")  # no ~/.aws
    state = tmp_path / "state"
    out = subprocess.run(
        [
            sys.executable, "-m", "stepmap.cli", "run", str(tmp_path / "flow.asl.json"),
            "--state-dir", str(state),
            "--function", "writer=tests.endpoints.sample_handlers:writer",
            "--function", "reader=tests.endpoints.sample_handlers:reader", "-q",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    squares = sorted(item["square"] for item in json.loads(out.stdout))
    assert squares == [0, 1, 4, 9, 16]
    # The same objects, seen by the store ItemReader used and by the AWS CLI through an endpoint.
    store = LocalObjectStore(state / "s3")
    keys = [o.key for o in store.list("handler-demo")]
    assert keys == [f"in/{i:03d}.json" for i in range(5)] + [f"out/{i:03d}.txt" for i in range(5)]
    assert (state / "s3" / "handler-demo" / "out" / "004.txt").read_text() == "16"
    with build_server(EndpointContext.from_options(store=str(state / "s3"), state_dir=str(state))) as server:
        listing = aws(server, cli_env, "s3", "ls", "--recursive", "s3://handler-demo/")
    assert [line.split()[-1] for line in listing.splitlines()] == keys


def test_handler_env_keeps_what_the_user_set() -> None:
    env = handler_env("http://127.0.0.1:1", {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "mine"})
    assert env == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    fresh = handler_env("http://127.0.0.1:1", {})
    assert fresh["AWS_REGION"] == "us-east-1" and fresh["AWS_ACCESS_KEY_ID"] == "stepmap"


def test_no_endpoint_when_the_user_points_the_sdk_elsewhere_or_uses_real_s3(tmp_path: Path) -> None:
    storage = {"STEPMAP_STATE_DIR": str(tmp_path), "STEPMAP_STORE": str(tmp_path / "s3")}
    assert start_handler_endpoint(storage, {"AWS_ENDPOINT_URL": "http://minio:9000"}) == (None, {})
    assert start_handler_endpoint(storage, {"STEPMAP_ENDPOINTS": "off"}) == (None, {})
    assert start_handler_endpoint({**storage, "STEPMAP_STORE": "s3://"}, {}) == (None, {})
    server, env = start_handler_endpoint(storage, {})
    assert server is not None
    try:
        assert env["AWS_ENDPOINT_URL"] == server.url and server.url.startswith("http://127.0.0.1:")
    finally:
        server.stop()


FOLDER_MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "copied", "Prefix": "data/"},
            },
            "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Pass",
                "States": {"Pass": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def test_a_folder_copied_into_the_store_is_the_map_runs_items(tmp_path: Path) -> None:
    # The issue this closes: `cp -r` into .stepmap/s3/<bucket>/ used to give a Map Run of 0 items.
    source = tmp_path / "source"
    names = ["b.csv", "a/1.csv", "a-2.csv", "Z.csv", "ü.csv"]
    for name in names:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    state = tmp_path / ".stepmap"
    (state / "s3" / "copied").mkdir(parents=True)
    subprocess.run(["cp", "-r", str(source), str(state / "s3" / "copied" / "data")], check=True)
    (tmp_path / "flow.asl.json").write_text(json.dumps(FOLDER_MAP))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPMAP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    out = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "run", "flow.asl.json", "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    expected = sorted((f"data/{n}" for n in names), key=lambda k: k.encode())
    assert json.loads(out.stdout) == [{"key": k, "size": len(k.encode()) - 5} for k in expected]
