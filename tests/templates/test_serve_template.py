"""`stepmap serve --template`: the template's state machines appear in the Step Functions API under their
template names and run with the template's functions, buckets and tables; its SNS -> SQS subscriptions fan
out; its EventBridge rules (AWS::Events::Rule, a SAM state machine's EventBridgeRule event) start state
machines when an object is put through the S3 endpoint. Driven with boto3 against a real `stepmap serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepmap.storage.messages import MessageStore

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "examples" / "apps"


def wait_for(what: str, check: Any, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds  # bounded; only a cap on waiting, no timed assertion
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


class Served:
    def __init__(self, args: list[str], cwd: Path, tmp_path: Path) -> None:
        self.log = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STEPMAP_", "AWS_"))}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
        command = [sys.executable, "-m", "stepmap.cli", "serve", "--port", "0", "--executor", "sync"]
        command += ["--state-dir", str(tmp_path / "state"), *args]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=out, env=env)
        self.url = wait_for("serve's banner", self._url, 60)

    def _url(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}: {self.log.read_text()}")
        for line in self.log.read_text().splitlines():
            if "stepmap: serving" in line:
                return line.split(" on ", 1)[1].split(" ", 1)[0]
        return None

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="stepmap",
            aws_secret_access_key="stepmap",
        )

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(*args: str, cwd: Path) -> Served:
        served = Served(list(args), cwd, tmp_path)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


def finished(sfn: Any, arn: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        out = sfn.describe_execution(executionArn=arn)
        return None if out["status"] == "RUNNING" else out

    result: dict[str, Any] = wait_for(f"execution {arn}", done)
    return result


def test_serve_template_creates_its_state_machines_buckets_and_tables(serve: Any) -> None:
    served = serve(
        "--template", "template.yaml", "--parameter-overrides", "Files=3", cwd=APPS / "word-count-s3"
    )
    sfn = served.client("stepfunctions")
    machines = {m["name"]: m for m in sfn.list_state_machines()["stateMachines"]}
    assert list(machines) == ["WordCountStateMachine"]
    arn = machines["WordCountStateMachine"]["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:WordCountStateMachine"
    assert "textbucket" in [b["Name"] for b in served.client("s3").list_buckets()["Buckets"]]
    assert "CountsTable" in served.client("dynamodb").list_tables()["TableNames"]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert "${" not in json.dumps(definition)  # substitutions filled, parameter override applied
    out = finished(sfn, sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"])
    assert out["status"] == "SUCCEEDED", out
    result = json.loads(out["output"])
    assert result["files"] == 3 and result["words"] == 1 + 2 + 3


def test_serve_template_runs_each_function_from_its_own_folder(serve: Any) -> None:
    app = APPS / "colliding-handlers"
    served = serve("--template", "template.yaml", cwd=app)
    sfn = served.client("stepfunctions")
    arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=arn, input=(app / "input.json").read_text())
    out = finished(sfn, started["executionArn"])
    assert out["status"] == "SUCCEEDED", out
    result = json.loads(out["output"])
    assert result["priced"] == {"subtotal": 3 * 40 + 2 * 55, "rule": "price list v1"}
    assert result["taxed"] == {"tax": 230 * 8 // 100, "rule": "flat 8%"}


def test_serve_template_refuses_a_bad_template_with_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n"
        "      EventPattern: {source: aws.s3}\n      Targets: [{Id: t, Arn: !GetAtt M.Arn}]\n"
        "  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPMAP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    result = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "serve", "--port", "0", "--template", "template.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "resource R" in result.stderr and "/source" in result.stderr
    assert "Traceback" not in result.stderr


EVENTS_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Inbox:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: inbox
      NotificationConfiguration:
        EventBridgeConfiguration:
          EventBridgeEnabled: true

  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - Protocol: sqs
          Endpoint: !GetAtt AuditQueue.Arn

  AuditQueue:
    Type: AWS::SQS::Queue

  RawQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: raw-alerts

  RawSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt RawQueue.Arn
      RawMessageDelivery: true

  Ingest:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Announce
        States:
          Announce:
            Type: Task
            Resource: arn:aws:states:::sns:publish
            Parameters:
              TopicArn: ${AlertsTopic}
              Message.$: $.key
            ResultPath: null
            End: true
      DefinitionSubstitutions:
        AlertsTopic: !Ref Alerts

  OnUpload:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.s3]
        detail-type: [Object Created]
        detail:
          bucket:
            name: [!Ref Inbox]
          object:
            key: [{prefix: "in/"}]
      Targets:
        - Id: ingest
          Arn: !GetAtt Ingest.Arn
          RoleArn: arn:aws:iam::123456789012:role/events
          InputTransformer:
            InputPathsMap: {key: $.detail.object.key, bucket: $.detail.bucket.name}
            InputTemplate: '{"bucket": "<bucket>", "key": "<key>"}'

  Catalog:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Keep
        States:
          Keep: {Type: Pass, End: true}
      Events:
        CsvUploaded:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.s3]
              detail-type: [Object Created]
              detail:
                object:
                  key: [{suffix: ".csv"}]
            InputPath: $.detail.object
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
"""


def test_template_rules_start_state_machines_when_a_file_is_put_and_topics_fan_out(
    serve: Any, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "template.yaml").write_text(EVENTS_TEMPLATE)
    served = serve("--template", "template.yaml", cwd=app)
    log = served.log.read_text()
    assert "event Nightly of type Schedule does not start anything" in log
    sfn = served.client("stepfunctions")
    names = sorted(m["name"] for m in sfn.list_state_machines()["stateMachines"])
    assert names == ["Catalog", "Ingest"]
    prefix = "arn:aws:states:us-east-1:123456789012:stateMachine:"

    served.client("s3").put_object(Bucket="inbox", Key="in/report.csv", Body=b"a,b\n1,2\n")

    def runs(name: str) -> list[dict[str, Any]]:
        found = sfn.list_executions(stateMachineArn=prefix + name)["executions"]
        return [e for e in found if e["status"] != "RUNNING"]

    ingest = wait_for("the Ingest execution", lambda: runs("Ingest"))
    catalog = wait_for("the Catalog execution", lambda: runs("Catalog"))
    assert len(ingest) == 1 and len(catalog) == 1  # one object, one start per rule
    ingest_run = sfn.describe_execution(executionArn=ingest[0]["executionArn"])
    assert ingest_run["status"] == "SUCCEEDED", ingest_run
    assert json.loads(ingest_run["input"]) == {"bucket": "inbox", "key": "in/report.csv"}
    catalog_run = sfn.describe_execution(executionArn=catalog[0]["executionArn"])
    assert json.loads(catalog_run["output"])["key"] == "in/report.csv"  # InputPath: $.detail.object

    # sns:publish in Ingest reached both of the topic's queues, as subscribed in the template
    sqs = served.client("sqs")
    audit = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="AuditQueue")["QueueUrl"])["Messages"]
    assert json.loads(audit[0]["Body"])["Message"] == "in/report.csv"  # SNS's envelope
    raw = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="raw-alerts")["QueueUrl"])["Messages"]
    assert raw[0]["Body"] == "in/report.csv"  # RawMessageDelivery

    # a file outside both patterns starts nothing (the rules filter, they do not fire on everything)
    served.client("s3").put_object(Bucket="inbox", Key="other/notes.txt", Body=b"x")
    served.client("s3").put_object(Bucket="inbox", Key="in/second.txt", Body=b"x")
    wait_for("the second Ingest execution", lambda: len(runs("Ingest")) == 2)
    assert len(runs("Catalog")) == 1


CHANGING = """\
Parameters:
  Greeting: {Type: String, Default: hello}
  WithRule: {Type: String, Default: "yes", AllowedValues: ["yes", "no"]}
Conditions:
  HasRule: !Equals [!Ref WithRule, "yes"]
Resources:
  Greeter:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: greeter
      Definition:
        StartAt: Say
        States:
          Say: {Type: Pass, Result: {said: !Ref Greeting}, End: true}
  OnEvent:
    Type: AWS::Events::Rule
    Condition: HasRule
    Properties:
      EventPattern: {source: [my.app]}
      Targets: [{Id: g, Arn: !Ref Greeter}]
"""


def test_serving_a_changed_template_again_updates_its_machine_and_drops_its_removed_rules(
    serve: Any, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "template.yaml").write_text(CHANGING)
    first = serve("--template", "template.yaml", cwd=app)
    first.close()
    assert [r["Name"] for r in MessageStore(str(tmp_path / "state")).rules()] == ["OnEvent"]
    second = serve("--template", "template.yaml", "--parameter-overrides", "Greeting=hi WithRule=no", cwd=app)
    assert MessageStore(str(tmp_path / "state")).rules() == []
    sfn = second.client("stepfunctions")
    arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    out = finished(sfn, sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"])
    assert json.loads(out["output"]) == {"said": "hi"}
