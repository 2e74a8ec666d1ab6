"""A Distributed Map observed through the API while it runs: ListMapRuns, DescribeMapRun,
ListExecutions(mapRunArn)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.conftest import ROLE, Endpoint
from tests.stepfunctions.test_machines import code, wait

DMAP = json.dumps(
    {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "Label": "fan",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Slow",
                    "States": {
                        "Slow": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
)


@pytest.fixture
def pooled(tmp_path: Any) -> Iterator[Endpoint]:
    ep = Endpoint(str(tmp_path / "state"), executor="local")
    yield ep
    ep.close()
    assert ep.shape_problems == []


def test_distributed_map_observed_while_it_runs(pooled):
    sfn = pooled.client()
    arn = sfn.create_state_machine(name="fan", definition=DMAP, roleArn=ROLE)["stateMachineArn"]
    items = [{"seconds": 0.15, "i": i} for i in range(16)]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": items}))["executionArn"]
    deadline = time.monotonic() + 60
    map_runs: list[dict[str, Any]] = []
    while not map_runs and time.monotonic() < deadline:
        map_runs = sfn.list_map_runs(executionArn=run)["mapRuns"]
        time.sleep(0.02)
    assert len(map_runs) == 1
    map_run_arn = map_runs[0]["mapRunArn"]
    assert map_runs[0]["stateMachineArn"] == arn + "/fan"
    seen_running = False
    while time.monotonic() < deadline:
        described = sfn.describe_map_run(mapRunArn=map_run_arn)
        if described["status"] != "RUNNING":
            break
        assert described["maxConcurrency"] == 2 and "stopDate" not in described
        children = sfn.list_executions(mapRunArn=map_run_arn)["executions"]
        if any(c["status"] == "RUNNING" for c in children):
            seen_running = True
            assert all(c["mapRunArn"] == map_run_arn for c in children)
        time.sleep(0.05)
    assert seen_running, "the Map Run ended before a running child was observed"
    assert wait(sfn, run)["status"] == "SUCCEEDED"
    types = [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]]  # shapes checked
    assert "MapRunStarted" in types and "MapRunSucceeded" in types
    final = sfn.describe_map_run(mapRunArn=map_run_arn)
    assert final["status"] == "SUCCEEDED"
    assert final["executionCounts"]["succeeded"] == final["executionCounts"]["total"] == 16
    assert final["itemCounts"]["succeeded"] == 16
    children = [
        c
        for p in sfn.get_paginator("list_executions").paginate(mapRunArn=map_run_arn)
        for c in p["executions"]
    ]
    assert len(children) == 16 and {c["status"] for c in children} == {"SUCCEEDED"}
    assert len({c["executionArn"] for c in children}) == 16
    assert all(
        c["executionArn"].startswith(arn.replace("stateMachine", "execution") + "/fan:") for c in children
    )
    with pytest.raises(ClientError) as exc:
        sfn.describe_map_run(mapRunArn=map_run_arn[:-4] + "0000")
    assert code(exc) == "ResourceNotFound"


def test_update_map_run_lowers_concurrency_mid_run(pooled):
    sfn = pooled.client()
    definition = json.loads(DMAP)
    definition["States"]["Fan"]["MaxConcurrency"] = 4
    arn = sfn.create_state_machine(name="fan2", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    items = [{"seconds": 0.15, "i": i} for i in range(30)]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": items}))["executionArn"]
    deadline = time.monotonic() + 60
    map_runs: list[dict[str, Any]] = []
    while not map_runs and time.monotonic() < deadline:
        map_runs = sfn.list_map_runs(executionArn=run)["mapRuns"]
        time.sleep(0.02)
    map_run_arn = map_runs[0]["mapRunArn"]
    while sfn.describe_map_run(mapRunArn=map_run_arn)["executionCounts"]["running"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sfn.update_map_run(mapRunArn=map_run_arn, maxConcurrency=1, toleratedFailureCount=5)
    described = sfn.describe_map_run(mapRunArn=map_run_arn)
    assert described["maxConcurrency"] == 1 and described["toleratedFailureCount"] == 5
    dropped = False
    while time.monotonic() < deadline:
        described = sfn.describe_map_run(mapRunArn=map_run_arn)
        if described["status"] != "RUNNING":
            break
        if described["executionCounts"]["running"] == 1 and described["executionCounts"]["succeeded"] > 0:
            dropped = True
        time.sleep(0.05)
    assert dropped, "the running children never dropped to the new MaxConcurrency"
    assert wait(sfn, run)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        sfn.update_map_run(mapRunArn=map_run_arn, maxConcurrency=2)
    assert code(exc) == "ValidationException"


def test_redriven_map_run_returns_every_output(sfn, tmp_path):
    flag = tmp_path / "flag"
    flag.write_text("on")
    definition = json.loads(DMAP)
    fan = definition["States"]["Fan"]
    fan["ItemProcessor"]["States"]["Slow"]["Resource"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:fail_while_flagged"
    )
    fan["ItemSelector"] = {"i.$": "$$.Map.Item.Value.i", "flag.$": "$$.Map.Item.Value.flag"}
    arn = sfn.create_state_machine(name="redo", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    items = [{"i": i, "flag": str(flag) if i % 3 == 0 else ""} for i in range(9)]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": items}))["executionArn"]
    assert wait(sfn, run)["status"] == "FAILED"
    flag.unlink()
    sfn.redrive_execution(executionArn=run)
    done = wait(sfn, run)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == items
