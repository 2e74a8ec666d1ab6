"""states:startExecution from a Task: plain, .sync, .sync:2, failures, EXPRESS children."""

from __future__ import annotations

import json

from tests.stepfunctions.conftest import ROLE
from tests.stepfunctions.test_executions import FAILING, TASK
from tests.stepfunctions.test_machines import wait


def parent(resource: str, child_arn: str, catch: bool = False) -> str:
    task = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:{resource}",
        "Parameters": {
            "StateMachineArn": child_arn,
            "Input": {
                "value.$": "$.value",
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
            },
        },
        "End": True,
    }
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
        task.pop("End")
        task["Next"] = "Caught"
        return json.dumps(
            {"StartAt": "Child", "States": {"Child": task, "Caught": {"Type": "Pass", "End": True}}}
        )
    return json.dumps({"StartAt": "Child", "States": {"Child": task}})


def run_parent(sfn, name, resource, child_arn, catch=False):
    arn = sfn.create_state_machine(name=name, definition=parent(resource, child_arn, catch), roleArn=ROLE)[
        "stateMachineArn"
    ]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"value": 5}))["executionArn"]
    return wait(sfn, run)


def test_sync_2_returns_json_output(sfn):
    child = sfn.create_state_machine(name="child", definition=TASK, roleArn=ROLE)["stateMachineArn"]
    done = run_parent(sfn, "p2", "startExecution.sync:2", child)
    assert done["status"] == "SUCCEEDED", done
    out = json.loads(done["output"])
    assert out["Output"] == {"value": 10} and out["Status"] == "SUCCEEDED"
    assert out["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == done["executionArn"]
    assert out["StateMachineArn"] == child and isinstance(out["StartDate"], int)
    assert out["ExecutionArn"].startswith("arn:aws:states:us-east-1:123456789012:execution:child:")
    # the child is an execution of its own, listed under its state machine
    assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=child)["executions"]] == [
        out["ExecutionArn"]
    ]
    types = [e["type"] for e in sfn.get_execution_history(executionArn=done["executionArn"])["events"]]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_sync_returns_json_text(sfn):
    child = sfn.create_state_machine(name="child1", definition=TASK, roleArn=ROLE)["stateMachineArn"]
    out = json.loads(run_parent(sfn, "p1", "startExecution.sync", child)["output"])
    assert json.loads(out["Output"]) == {"value": 10} and isinstance(out["Input"], str)


def test_plain_start_does_not_wait(sfn):
    child = sfn.create_state_machine(name="child0", definition=TASK, roleArn=ROLE)["stateMachineArn"]
    out = json.loads(run_parent(sfn, "p0", "startExecution", child)["output"])
    assert set(out) == {"ExecutionArn", "StartDate"}
    assert wait(sfn, out["ExecutionArn"])["status"] == "SUCCEEDED"


def test_failed_child_fails_the_task(sfn):
    child = sfn.create_state_machine(name="bad", definition=FAILING, roleArn=ROLE)["stateMachineArn"]
    done = run_parent(sfn, "pf", "startExecution.sync:2", child, catch=True)
    assert done["status"] == "SUCCEEDED"
    caught = json.loads(done["output"])
    assert caught["Error"] == "States.TaskFailed"
    assert json.loads(caught["Cause"])["Status"] == "FAILED"
    missing = run_parent(sfn, "pm", "startExecution.sync:2", child + "nope")
    assert (missing["status"], missing["error"]) == (
        "FAILED",
        "StepFunctions.StateMachineDoesNotExistException",
    )


def test_express_child(sfn):
    child = sfn.create_state_machine(name="fastchild", definition=TASK, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    out = json.loads(run_parent(sfn, "pe", "startExecution.sync:2", child)["output"])
    assert out["Output"] == {"value": 10} and ":express:fastchild:" in out["ExecutionArn"]
