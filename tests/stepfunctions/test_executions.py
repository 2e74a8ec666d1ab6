"""Executions through boto3: start, describe, list, history, stop, redrive, EXPRESS and sync."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.conftest import PASS, ROLE
from tests.stepfunctions.test_machines import code, wait

TASK = json.dumps(
    {
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                "End": True,
            }
        },
    }
)
FAILING = json.dumps(
    {
        "StartAt": "Fail",
        "States": {
            "Fail": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
                "End": True,
            }
        },
    }
)
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}})


def machine(sfn, name, definition=PASS, kind="STANDARD"):
    return sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=kind)[
        "stateMachineArn"
    ]


def test_start_describe_history(sfn):
    arn = machine(sfn, "double", TASK)
    started = sfn.start_execution(stateMachineArn=arn, name="e1", input=json.dumps({"value": 21}))
    assert started["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:double:e1"
    done = wait(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"value": 42}
    assert done["stateMachineArn"] == arn and done["name"] == "e1"
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    meta = sfn.describe_execution(executionArn=started["executionArn"], includedData="METADATA_ONLY")
    assert "input" not in meta and "output" not in meta
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    types = [e["type"] for e in events]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 8))
    reverse = sfn.get_execution_history(executionArn=started["executionArn"], reverseOrder=True)["events"]
    assert [e["id"] for e in reverse] == list(range(7, 0, -1))
    page = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=3)
    assert [e["id"] for e in page["events"]] == [1, 2, 3]
    rest = sfn.get_execution_history(
        executionArn=started["executionArn"], maxResults=3, nextToken=page["nextToken"]
    )
    assert [e["id"] for e in rest["events"]] == [4, 5, 6]
    paginator = sfn.get_paginator("get_execution_history")
    assert (
        sum(len(p["events"]) for p in paginator.paginate(executionArn=started["executionArn"], maxResults=2))
        == 7
    )
    no_data = sfn.get_execution_history(executionArn=started["executionArn"], includeExecutionData=False)[
        "events"
    ]
    assert "input" not in no_data[0]["executionStartedEventDetails"]
    described = sfn.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert described["definition"] == TASK and described["name"] == "double"


def test_execution_errors(sfn):
    arn = machine(sfn, "errs")
    missing = "arn:aws:states:us-east-1:123456789012:execution:errs:nope"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=missing)
    assert code(exc) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.get_execution_history(executionArn=missing)
    assert code(exc) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn + "x")
    assert code(exc) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn="arn:aws:states:us-east-1:123456789012:activity:x")
    assert code(exc) == "InvalidArn"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    assert code(exc) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": "y" * 262_144}))
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="has space")
    assert code(exc) == "InvalidName"
    done = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    wait(sfn, done["executionArn"])
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    assert code(exc) == "ExecutionAlreadyExists"


def test_same_name_and_input_while_running_is_idempotent(sfn):
    arn = machine(sfn, "waits", WAIT)
    first = sfn.start_execution(stateMachineArn=arn, name="w", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="w", input="{}")
    assert again["executionArn"] == first["executionArn"] and again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="w", input='{"other": 1}')
    assert code(exc) == "ExecutionAlreadyExists"
    stopped = sfn.stop_execution(executionArn=first["executionArn"], error="Mine", cause="because")
    assert stopped["stopDate"]
    done = sfn.describe_execution(executionArn=first["executionArn"])
    assert (done["status"], done["error"], done["cause"]) == ("ABORTED", "Mine", "because")
    assert done["redriveStatus"] == "REDRIVABLE"
    events = sfn.get_execution_history(executionArn=first["executionArn"])["events"]
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Mine", "cause": "because"}


def test_list_executions_filters_and_pages(sfn):
    arn = machine(sfn, "many")
    fails = machine(sfn, "fails", FAILING)
    arns = [sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"] for i in range(5)]
    for a in arns:
        wait(sfn, a)
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == arns[::-1]  # newest first
    page = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    assert len(page["executions"]) == 2 and "nextToken" in page
    everything = [
        e
        for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, maxResults=2)
        for e in p["executions"]
    ]
    assert len(everything) == 5
    failed = sfn.start_execution(stateMachineArn=fails, name="f")["executionArn"]
    out = wait(sfn, failed)
    assert (out["status"], out["error"]) == ("FAILED", "ValueError")
    assert sfn.list_executions(stateMachineArn=fails, statusFilter="SUCCEEDED")["executions"] == []
    assert [
        e["name"] for e in sfn.list_executions(stateMachineArn=fails, statusFilter="FAILED")["executions"]
    ] == ["f"]
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, nextToken="garbage")
    assert code(exc) == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn + "nope")
    assert code(exc) == "StateMachineDoesNotExist"


def test_redrive(sfn, tmp_path):
    flag = tmp_path / "flag"
    definition = json.dumps(
        {
            "StartAt": "First",
            "States": {
                "First": {"Type": "Pass", "Result": {"value": 1}, "Next": "Choose"},
                "Choose": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
                    "End": True,
                },
            },
        }
    )
    arn = machine(sfn, "redrive", definition)
    run = sfn.start_execution(stateMachineArn=arn, name="r")["executionArn"]
    assert wait(sfn, run)["status"] == "FAILED"
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=arn.replace("stateMachine", "execution") + ":missing")
    assert code(exc) == "ExecutionDoesNotExist"
    out = sfn.redrive_execution(executionArn=run)
    assert out["redriveDate"]
    done = wait(sfn, run)
    assert done["status"] == "FAILED" and done["redriveCount"] == 1
    types = [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]]
    assert "ExecutionRedriven" in types and types.count("PassStateEntered") == 1
    assert [
        e["name"] for e in sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    ] == ["r"]
    ok = machine(sfn, "ok")
    succeeded = sfn.start_execution(stateMachineArn=ok)["executionArn"]
    wait(sfn, succeeded)
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=succeeded)
    assert code(exc) == "ExecutionNotRedrivable"
    del flag


def test_express_and_sync(sfn):
    express = machine(sfn, "fast", TASK, "EXPRESS")
    out = sfn.start_sync_execution(stateMachineArn=express, input=json.dumps({"value": 2}))
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"value": 4}
    assert out["executionArn"].startswith("arn:aws:states:us-east-1:123456789012:express:fast:")
    failing = machine(sfn, "fastfail", FAILING, "EXPRESS")
    out = sfn.start_sync_execution(stateMachineArn=failing)
    assert (out["status"], out["error"]) == ("FAILED", "ValueError")
    started = sfn.start_execution(stateMachineArn=express, input=json.dumps({"value": 1}))
    assert ":express:fast:" in started["executionArn"]
    with pytest.raises(ClientError) as exc:
        sfn.start_sync_execution(stateMachineArn=machine(sfn, "std"))
    assert code(exc) == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=express)
    assert code(exc) == "StateMachineTypeNotSupported"


def test_stop_errors(sfn):
    arn = machine(sfn, "stops")
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    wait(sfn, run)
    with pytest.raises(ClientError) as exc:
        sfn.stop_execution(executionArn=run.replace(":stops:", ":stops:x"))
    assert code(exc) == "ExecutionDoesNotExist"
