"""TestState (November 2025 shape): one attempt of one state, mocks, retries, catches, inspection data."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.test_machines import code

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


def test_pass_state_debug(sfn):
    state = {
        "Type": "Pass",
        "InputPath": "$.in",
        "Parameters": {"doubled.$": "States.MathAdd($.v, $.v)"},
        "ResultPath": "$.out",
        "Next": "After",
    }
    out = sfn.test_state(
        definition=json.dumps(state), input=json.dumps({"in": {"v": 2}}), inspectionLevel="DEBUG"
    )
    assert out["status"] == "SUCCEEDED" and out["nextState"] == "After"
    assert json.loads(out["output"]) == {"in": {"v": 2}, "out": {"doubled": 4}}
    data = out["inspectionData"]
    assert json.loads(data["afterInputPath"]) == {"v": 2}
    assert json.loads(data["afterParameters"]) == {"doubled": 4}
    assert json.loads(data["afterResultPath"]) == {"in": {"v": 2}, "out": {"doubled": 4}}


def test_task_calls_the_handler(sfn):
    state = {"Type": "Task", "Resource": LAMBDA + "double", "ResultSelector": {"r.$": "$.value"}, "End": True}
    out = sfn.test_state(
        definition=json.dumps(state), input=json.dumps({"value": 3}), inspectionLevel="DEBUG"
    )
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"r": 6} and "nextState" not in out
    assert json.loads(out["inspectionData"]["result"]) == {"value": 6}


def test_state_in_a_machine_with_mock_and_variables(sfn):
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "x", "Payload": {"t.$": "$$.Task.Token"}},
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    with pytest.raises(ClientError) as exc:
        sfn.test_state(definition=json.dumps(machine), stateName="Call")
    assert code(exc) == "ValidationException"  # a callback needs a mock
    out = sfn.test_state(definition=json.dumps(machine), stateName="Call", mock={"result": '{"ok": true}'})
    assert (
        out["status"] == "SUCCEEDED"
        and json.loads(out["output"]) == {"ok": True}
        and out["nextState"] == "Done"
    )
    with pytest.raises(ClientError) as exc:
        sfn.test_state(definition=json.dumps(machine))
    assert code(exc) == "ValidationException"


def test_retriable_caught_and_failed(sfn):
    state = {
        "Type": "Task",
        "Resource": LAMBDA + "fail",
        "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 2, "IntervalSeconds": 3}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handle"}],
        "End": True,
    }
    first = sfn.test_state(definition=json.dumps(state), input="{}")
    assert first["status"] == "RETRIABLE" and first["error"] == "ValueError"
    assert first["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 3}
    last = sfn.test_state(
        definition=json.dumps(state), input="{}", stateConfiguration={"retrierRetryCount": 2}
    )
    assert last["status"] == "CAUGHT_ERROR" and last["nextState"] == "Handle"
    assert json.loads(last["output"])["err"]["Error"] == "ValueError"
    mocked = sfn.test_state(
        definition=json.dumps({"Type": "Task", "Resource": LAMBDA + "double", "End": True}),
        mock={"errorOutput": {"error": "Custom", "cause": "mocked"}},
    )
    assert (mocked["status"], mocked["error"], mocked["cause"]) == ("FAILED", "Custom", "mocked")


def test_invalid_definition(sfn):
    with pytest.raises(ClientError) as exc:
        sfn.test_state(definition=json.dumps({"Type": "Pass", "Next": 3}))
    assert code(exc) == "InvalidDefinition"
    with pytest.raises(ClientError) as exc:
        sfn.test_state(definition="[1]")
    assert code(exc) == "InvalidDefinition"


def test_mocked_map_and_parallel(sfn):
    dmap = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ResultPath": "$.results",
        "End": True,
    }
    with pytest.raises(ClientError) as exc:
        sfn.test_state(definition=json.dumps(dmap), input="{}")
    assert code(exc) == "ValidationException"
    out = sfn.test_state(definition=json.dumps(dmap), input='{"a": 1}', mock={"result": "[1, 2]"})
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"a": 1, "results": [1, 2]}
    parallel = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}}],
        "ResultSelector": {"first.$": "$[0]"},
        "Next": "After",
    }
    out = sfn.test_state(definition=json.dumps(parallel), mock={"result": '[{"x": 1}]'})
    assert json.loads(out["output"]) == {"first": {"x": 1}} and out["nextState"] == "After"
