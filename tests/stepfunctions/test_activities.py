"""Activities: Create/Describe/List/Delete, activity tasks served to GetActivityTask pollers."""

from __future__ import annotations

import json
import threading

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.conftest import ROLE
from tests.stepfunctions.test_machines import code, wait


def test_activity_lifecycle(sfn):
    created = sfn.create_activity(name="work")
    arn = created["activityArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:activity:work"
    assert sfn.create_activity(name="work")["activityArn"] == arn  # idempotent
    assert sfn.describe_activity(activityArn=arn)["name"] == "work"
    assert [a["name"] for a in sfn.list_activities()["activities"]] == ["work"]
    sfn.delete_activity(activityArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_activity(activityArn=arn)
    assert code(exc) == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.get_activity_task(activityArn=arn)
    assert code(exc) == "ActivityDoesNotExist"


def test_activity_task_served_to_a_worker(endpoint, sfn):
    endpoint.service.facade.activity_hold_seconds = 5.0
    activity = sfn.create_activity(name="double")["activityArn"]
    definition = json.dumps(
        {
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": activity,
                    "HeartbeatSeconds": 30,
                    "ResultPath": "$.r",
                    "End": True,
                }
            },
        }
    )
    arn = sfn.create_state_machine(name="act", definition=definition, roleArn=ROLE)["stateMachineArn"]
    # nothing scheduled yet: an empty answer after the hold
    endpoint.service.facade.activity_hold_seconds = 0.2
    assert "taskToken" not in sfn.get_activity_task(activityArn=activity, workerName="w")
    endpoint.service.facade.activity_hold_seconds = 10.0
    got: dict[str, str] = {}

    def worker() -> None:
        got.update(sfn.get_activity_task(activityArn=activity, workerName="w1"))

    thread = threading.Thread(target=worker)
    thread.start()  # the worker polls before the task exists: the long poll hands it over
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"value": 4}))["executionArn"]
    thread.join(timeout=30)
    assert json.loads(got["input"]) == {"value": 4}
    sfn.send_task_heartbeat(taskToken=got["taskToken"])
    sfn.send_task_success(taskToken=got["taskToken"], output=json.dumps({"doubled": 8}))
    done = wait(sfn, run)
    assert json.loads(done["output"]) == {"value": 4, "r": {"doubled": 8}}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    # the task was handed out once
    endpoint.service.facade.activity_hold_seconds = 0.2
    assert "taskToken" not in sfn.get_activity_task(activityArn=activity)


def test_activity_failure(endpoint, sfn):
    endpoint.service.facade.activity_hold_seconds = 10.0
    activity = sfn.create_activity(name="flaky")["activityArn"]
    definition = json.dumps(
        {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
    )
    arn = sfn.create_state_machine(name="act2", definition=definition, roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broken", cause="disk")
    done = wait(sfn, run)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Worker.Broken", "disk")
    events = sfn.get_execution_history(executionArn=run)["events"]
    failed = [e for e in events if e["type"] == "ActivityFailed"]
    assert failed[0]["activityFailedEventDetails"] == {"error": "Worker.Broken", "cause": "disk"}
