"""The callback pattern through the API: .waitForTaskToken, SendTaskSuccess/Failure/Heartbeat, timeouts."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.conftest import ROLE
from tests.stepfunctions.test_machines import code, wait


def callback_machine(timeout: int | None = None, heartbeat: int | None = None, catch: bool = False) -> str:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "hand_out_token",
            "Payload": {"token.$": "$$.Task.Token", "path.$": "$.path"},
        },
        "ResultPath": "$.answer",
        "End": True,
    }
    if timeout:
        state["TimeoutSeconds"] = timeout
    if heartbeat:
        state["HeartbeatSeconds"] = heartbeat
    if catch:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
        state.pop("End")
        state["Next"] = "Caught"
        return json.dumps(
            {"StartAt": "Wait", "States": {"Wait": state, "Caught": {"Type": "Pass", "End": True}}}
        )
    return json.dumps({"StartAt": "Wait", "States": {"Wait": state}})


def read_token(path: str, deadline: float = 30) -> str:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path):
            with open(path) as fh:
                return fh.read()
        time.sleep(0.01)
    raise AssertionError("the handler did not store the token")


def start(sfn, definition, path, name="cb"):
    arn = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=arn, input=json.dumps({"path": str(path)}))["executionArn"]


def test_send_task_success(sfn, tmp_path):
    run = start(sfn, callback_machine(), tmp_path / "token")
    token = read_token(str(tmp_path / "token"))
    assert sfn.describe_execution(executionArn=run)["status"] == "RUNNING"
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output=json.dumps({"ok": 1}))
    done = wait(sfn, run)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"path": str(tmp_path / "token"), "answer": {"ok": 1}}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]]
    assert types[:4] == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted"]
    assert "TaskSucceeded" in types
    # the task is over: its token now times out, a made-up one is invalid
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{}")
    assert code(exc) == "TaskTimedOut"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken="AQnotatoken", output="{}")
    assert code(exc) == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_heartbeat(taskToken="AQnotatoken")
    assert code(exc) == "InvalidToken"


def test_send_task_failure_is_caught(sfn, tmp_path):
    run = start(sfn, callback_machine(catch=True), tmp_path / "token")
    token = read_token(str(tmp_path / "token"))
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="not json")
    assert code(exc) == "InvalidOutput"
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="no stock")
    done = wait(sfn, run)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["error"] == {"Error": "Rejected", "Cause": "no stock"}


def test_heartbeat_timeout(sfn, tmp_path):
    run = start(sfn, callback_machine(heartbeat=1), tmp_path / "token")
    token = read_token(str(tmp_path / "token"))
    done = wait(sfn, run)
    assert (done["status"], done["error"]) == ("FAILED", "States.HeartbeatTimeout")
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{}")
    assert code(exc) == "TaskTimedOut"


def test_task_timeout(sfn, tmp_path):
    run = start(sfn, callback_machine(timeout=1), tmp_path / "token")
    token = read_token(str(tmp_path / "token"))
    done = wait(sfn, run)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    with pytest.raises(ClientError) as exc:
        sfn.send_task_heartbeat(taskToken=token)
    assert code(exc) == "TaskTimedOut"


def test_handler_answers_with_boto3(endpoint, sfn, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    definition = json.dumps(
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "answer_token", "Payload": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )
    arn = sfn.create_state_machine(name="self", definition=definition, roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    done = wait(sfn, run)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"answered": True}
