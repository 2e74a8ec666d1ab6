"""EventBridge rules start workflows: S3 Object Created events for files dropped into the store, two rules
on one pattern start two workflows, InputPath/InputTransformer shape the input, and every file starts each
target exactly once across a restart of the loop (and a replay of events already handled)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepmap.endpoints import EndpointContext, EndpointServer
from stepmap.endpoints.services import build_json_services
from stepmap.events.loop import EventLoop
from stepmap.events.rules import check_rule, target_input
from stepmap.storage.messages import MessageStore
from tests.cli.test_cli import stepmap

ROLE = "arn:aws:iam::123456789012:role/r"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": ["inbox"]}, "object": {"key": [{"prefix": "in/"}]}},
}


class Serve:
    def __init__(self, state_dir: Path) -> None:
        # the store named explicitly: a STEPMAP_STORE another test left in os.environ must not be used
        self.ctx = EndpointContext.from_options(store=str(state_dir / "s3"), state_dir=str(state_dir))
        self.ctx.run_options = {"executor": "sync"}
        self.services = build_json_services(self.ctx)
        self.server = EndpointServer(json_services=self.services).start()
        self.sfn = boto3.client(
            "stepfunctions",
            endpoint_url=self.server.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )

    def loop(self) -> EventLoop:  # what serve starts, driven by hand here (no timing)
        return EventLoop(self.ctx, self.services["AWSStepFunctions"])

    def close(self) -> None:
        self.server.stop()
        self.services["AWSStepFunctions"].close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    s = Serve(tmp_path / "state")
    yield s
    s.close()


def executions(sfn: Any, arn: str, expected: int) -> list[dict[str, Any]]:
    for _ in range(600):  # bounded: each execution is one Pass state
        found = sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
        if len(found) >= expected and all(e["status"] != "RUNNING" for e in found):
            return found  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{len(found)} executions of {arn}, expected {expected}")


def drop(inbox: Path, names: range) -> None:
    (inbox / "in").mkdir(parents=True, exist_ok=True)
    for i in names:
        (inbox / "in" / f"f{i}.txt").write_text(f"file {i}")


def test_files_dropped_into_a_bucket_start_each_rules_target_once_across_restarts(
    serve: Serve, tmp_path: Path
) -> None:
    a = serve.sfn.create_state_machine(name="A", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    b = serve.sfn.create_state_machine(name="B", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    store = MessageStore(serve.ctx.state_dir)
    transformer = {"InputPathsMap": {"key": "$.detail.object.key"}, "InputTemplate": '{"file": "<key>"}'}
    store.put_rule(
        "to-a", "default", {"EventPattern": PATTERN, "Targets": [{"Arn": a, "InputTransformer": transformer}]}
    )
    store.put_rule(
        "to-b", "default", {"EventPattern": PATTERN, "Targets": [{"Arn": b, "InputPath": "$.detail.object"}]}
    )
    inbox = Path(serve.ctx.store_config.url) / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "old.txt").write_text("there before")

    loop = serve.loop()
    loop.step()  # the first scan learns what is there
    drop(inbox, range(0, 60))
    (inbox / "other.txt").write_text("not under in/")
    loop.step()  # seen once
    loop.step()  # unchanged: announced, and the rules start their targets
    drop(inbox, range(60, 120))
    loop.step()  # seen once ... and the process dies here

    restarted = serve.loop()
    restarted.step()
    store.set_cursor("rules", 0)  # a restart that lost its cursor replays every event
    restarted.step()
    restarted.step()

    for arn in (a, b):
        found = executions(serve.sfn, arn, 120)
        assert len(found) == 120 and len({e["name"] for e in found}) == 120
    events = store.events()
    assert len(events) == 121  # 120 files under in/, other.txt; old.txt was there before
    assert {e["detail"]["object"]["key"] for e in events} == {f"in/f{i}.txt" for i in range(120)} | {
        "other.txt"
    }
    one = executions(serve.sfn, a, 120)[0]
    output = json.loads(serve.sfn.describe_execution(executionArn=one["executionArn"])["output"])
    assert output["file"].startswith("in/f")
    one_b = executions(serve.sfn, b, 120)[0]
    output_b = json.loads(serve.sfn.describe_execution(executionArn=one_b["executionArn"])["output"])
    assert set(output_b) == {"key", "size", "etag", "sequencer"}


def test_events_put_by_a_workflow_start_a_rules_target(serve: Serve) -> None:
    target = serve.sfn.create_state_machine(name="T", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    emit = json.dumps(
        {
            "StartAt": "E",
            "States": {
                "E": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::events:putEvents",
                    "Parameters": {
                        "Entries": [{"Source": "shop", "DetailType": "Order", "Detail": {"total": 120}}]
                    },
                    "End": True,
                }
            },
        }
    )
    source = serve.sfn.create_state_machine(name="S", definition=emit, roleArn=ROLE)["stateMachineArn"]
    pattern = {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
    MessageStore(serve.ctx.state_dir).put_rule(
        "big", "default", {"EventPattern": pattern, "Targets": [{"Arn": target}]}
    )
    loop = serve.loop()
    loop.step()
    serve.sfn.start_execution(stateMachineArn=source)
    executions(serve.sfn, source, 1)
    loop.step()
    [started] = executions(serve.sfn, target, 1)
    output = json.loads(serve.sfn.describe_execution(executionArn=started["executionArn"])["output"])
    assert output["detail"] == {"total": 120} and output["source"] == "shop"


def test_input_transformer_fills_strings_and_values() -> None:
    event = {"id": "1", "time": "t", "detail": {"key": 'a"b', "size": 3}}
    target = {
        "InputTransformer": {
            "InputPathsMap": {"key": "$.detail.key", "size": "$.detail.size"},
            "InputTemplate": '{"k": "<key>", "n": <size>, "text": "size <size>", '
            '"rule": "<aws.events.rule-name>"}',
        }
    }
    assert target_input(target, event, "r") == {"k": 'a"b', "n": 3, "text": "size 3", "rule": "r"}
    assert target_input({"InputPath": "$.detail.size"}, event, "r") == 3
    assert target_input({}, event, "r") == event


def test_bad_rules_are_refused() -> None:
    problems = check_rule(
        "bad name!", {"source": "x"}, [{"Arn": "arn:aws:lambda:us-east-1:1:function:f", "InputPath": "x"}]
    )
    text = "; ".join(problems)
    assert "rule name" in text and "/source" in text and "state machine ARN" in text and "JSONPath" in text


def test_rules_from_the_cli(tmp_path: Path) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:A"
    ok = stepmap(
        "rules",
        "put",
        "r1",
        "--pattern",
        json.dumps(PATTERN),
        "--target",
        arn,
        "--state-dir",
        "s",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    listed = json.loads(stepmap("rules", "list", "--state-dir", "s", cwd=tmp_path).stdout)
    assert listed[0]["Name"] == "r1" and listed[0]["EventPattern"] == PATTERN
    bad = stepmap(
        "rules",
        "put",
        "r2",
        "--pattern",
        '{"detail": {"n": [{"numeric": [">"]}]}}',
        "--target",
        arn,
        "--state-dir",
        "s",
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "numeric" in bad.stderr and "Traceback" not in bad.stderr
    not_json = stepmap(
        "rules", "put", "r3", "--pattern", "{", "--target", arn, "--state-dir", "s", cwd=tmp_path
    )
    assert not_json.returncode == 2 and "not JSON" in not_json.stderr
    assert stepmap("rules", "delete", "r1", "--state-dir", "s", cwd=tmp_path).returncode == 0
    assert stepmap("rules", "delete", "r1", "--state-dir", "s", cwd=tmp_path).returncode == 2
