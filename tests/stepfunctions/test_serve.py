"""`stepmap serve` driven by boto3 and by the AWS CLI, as users do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.stepfunctions.conftest import ROLE
from tests.stepfunctions.server import ServeProcess

DOUBLE = json.dumps(
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


@pytest.fixture
def served(tmp_path: Any) -> Iterator[ServeProcess]:
    server = ServeProcess(str(tmp_path / "state")).start()
    yield server
    server.kill()


def wait(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if out["status"] != "RUNNING":
            return out
        time.sleep(0.02)
    raise AssertionError(f"{arn} still RUNNING")


def test_boto3_against_stepmap_serve(served):
    sfn = served.client()
    arn = sfn.create_state_machine(name="double", definition=DOUBLE, roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"value": 4}))
    out = wait(sfn, run["executionArn"])
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"value": 8}


def test_aws_cli_against_stepmap_serve(served, tmp_path):
    definition = tmp_path / "def.json"
    definition.write_text(DOUBLE)
    created = served.aws(
        "create-state-machine", "--name", "cli", "--definition", f"file://{definition}", "--role-arn", ROLE
    )
    assert created.returncode == 0, created.stderr
    arn = json.loads(created.stdout)["stateMachineArn"]
    listed = json.loads(served.aws("list-state-machines").stdout)
    assert [m["name"] for m in listed["stateMachines"]] == ["cli"]
    started = served.aws("start-execution", "--state-machine-arn", arn, "--input", '{"value": 5}')
    assert started.returncode == 0, started.stderr
    execution = json.loads(started.stdout)["executionArn"]
    wait(served.client(), execution)
    described = json.loads(served.aws("describe-execution", "--execution-arn", execution).stdout)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"value": 10}
    history = json.loads(served.aws("get-execution-history", "--execution-arn", execution).stdout)
    assert history["events"][-1]["type"] == "ExecutionSucceeded"
    missing = served.aws("describe-execution", "--execution-arn", execution + "x")
    assert missing.returncode != 0 and "ExecutionDoesNotExist" in missing.stderr
    bad = served.aws("create-state-machine", "--name", "bad", "--definition", "{}", "--role-arn", ROLE)
    assert bad.returncode != 0 and "InvalidDefinition" in bad.stderr


@pytest.mark.slow
def test_callback_survives_kill_9_of_the_server(tmp_path):
    import subprocess
    import sys

    from tests.stepfunctions.server import ROOT
    from tests.stepfunctions.test_callbacks import callback_machine, read_token

    state = str(tmp_path / "state")
    first = ServeProcess(state).start()
    try:
        sfn = first.client()
        arn = sfn.create_state_machine(name="cb", definition=callback_machine(), roleArn=ROLE)[
            "stateMachineArn"
        ]
        token_file = tmp_path / "token"
        run = sfn.start_execution(
            stateMachineArn=arn, name="waits", input=json.dumps({"path": str(token_file)})
        )
        token = read_token(str(token_file))
        first.kill()  # SIGKILL while the execution waits for its token
    finally:
        first.kill()
    token_file.unlink()
    second = ServeProcess(state).start()
    try:
        sfn = second.client()
        assert sfn.describe_execution(executionArn=run["executionArn"])["status"] == "RUNNING"
        # the answer comes from another process, through the state directory
        answer = '{"late": true}'
        sent = subprocess.run(
            [sys.executable, "-m", "stepmap.cli", "send-task-success", token, answer, "--state-dir", state],
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        done = wait(sfn, run["executionArn"])
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"])["answer"] == {"late": True}
        assert not token_file.exists()  # the handler was not called again: the token had been handed out
        again = subprocess.run(
            [sys.executable, "-m", "stepmap.cli", "send-task-success", token, "{}", "--state-dir", state],
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
        assert again.returncode == 2 and "TaskTimedOut" in again.stderr
    finally:
        second.kill()


@pytest.mark.slow
def test_parent_sync_2_with_waiting_child_survives_kill_9(tmp_path):
    from tests.stepfunctions.test_callbacks import callback_machine, read_token
    from tests.stepfunctions.test_nested import parent

    state = str(tmp_path / "state")
    token_file = tmp_path / "token"
    first = ServeProcess(state).start()
    try:
        sfn = first.client()
        child = sfn.create_state_machine(name="child", definition=callback_machine(), roleArn=ROLE)[
            "stateMachineArn"
        ]
        definition = json.loads(parent("startExecution.sync:2", child))
        definition["States"]["Child"]["Parameters"]["Input"] = {"path": str(token_file)}
        arn = sfn.create_state_machine(name="parent", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
        run = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        token = read_token(str(token_file))
    finally:
        first.kill()
    second = ServeProcess(state).start()
    try:
        sfn = second.client()
        sfn.send_task_success(taskToken=token, output='{"from": "after the restart"}')
        done = wait(sfn, run)
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        assert output["Output"]["answer"] == {"from": "after the restart"}
        assert len(sfn.list_executions(stateMachineArn=child)["executions"]) == 1  # no second child
    finally:
        second.kill()


@pytest.mark.slow
def test_parent_with_distributed_map_child_survives_kill_9(tmp_path):
    from tests.stepfunctions.test_map_runs import DMAP
    from tests.stepfunctions.test_nested import parent

    state = str(tmp_path / "state")
    first = ServeProcess(state).start()
    try:
        sfn = first.client()
        child = sfn.create_state_machine(name="fan", definition=DMAP, roleArn=ROLE)["stateMachineArn"]
        definition = json.loads(parent("startExecution.sync:2", child))
        definition["States"]["Child"]["Parameters"]["Input"] = {"items.$": "$.items"}
        arn = sfn.create_state_machine(name="parent", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
        items = [{"seconds": 0.2, "i": i} for i in range(20)]
        run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": items}))["executionArn"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill the server once the child's Map Run is under way
            children = sfn.list_executions(stateMachineArn=child)["executions"]
            runs = sfn.list_map_runs(executionArn=children[0]["executionArn"])["mapRuns"] if children else []
            if (
                runs
                and sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])["executionCounts"]["succeeded"] > 2
            ):
                break
            time.sleep(0.05)
    finally:
        first.kill()
    second = ServeProcess(state).start()
    try:
        sfn = second.client()
        done = wait(sfn, run)
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        assert output["Output"] == items  # every item, in order, once
        assert len(sfn.list_executions(stateMachineArn=child)["executions"]) == 1
    finally:
        second.kill()
