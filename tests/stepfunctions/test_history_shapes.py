"""Every event the interpreter records fits botocore's HistoryEvent shape (checked by the fixture)."""

from __future__ import annotations

import json

from tests.stepfunctions.conftest import ROLE
from tests.stepfunctions.test_machines import wait

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
INVOKE = "arn:aws:states:::lambda:invoke"


def task(name: str, resource: str, parameters: dict[str, object]) -> dict[str, object]:
    return {"StartAt": name, "States": {name: {"Type": "Task", "Resource": resource, "Parameters": parameters,
                                             "End": True}}}  # fmt: skip


EVERYTHING = {
    "StartAt": "Choose",
    "States": {
        "Choose": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Both"}],
                   "Default": "Stop"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0, "End": True}}},
                task("Plain", LAMBDA + "double", {"value": 1}),
                task("Invoke", INVOKE, {"FunctionName": "double", "Payload": {"value": 2}}),
            ],
            "ResultSelector": {"list": [1, 2, 3]},
            "ResultPath": "$.both",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.both.list",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "ResultPath": "$.each",
            "Next": "Broken",
        },
        "Broken": {"Type": "Task", "Resource": LAMBDA + "fail", "Retry": [{"ErrorEquals": ["Nope"]}],
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Stop"}], "End": True},
        "Stop": {"Type": "Fail", "Error": "Done", "Cause": "all states ran"},
    },
}  # fmt: skip


def test_history_of_every_state_type_fits_the_model(sfn):
    arn = sfn.create_state_machine(name="all", definition=json.dumps(EVERYTHING), roleArn=ROLE)[
        "stateMachineArn"
    ]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"go": True}))["executionArn"]
    done = wait(sfn, run)
    assert (done["status"], done["error"]) == ("FAILED", "Done")
    types = {e["type"] for e in sfn.get_execution_history(executionArn=run, maxResults=1000)["events"]}
    expected = {"ParallelStateStarted", "WaitStateEntered", "LambdaFunctionSucceeded", "TaskSucceeded",
                "MapStateStarted", "MapIterationStarted", "LambdaFunctionFailed", "FailStateEntered",
                "ChoiceStateExited", "ExecutionFailed"}  # fmt: skip
    assert expected <= types, expected - types
