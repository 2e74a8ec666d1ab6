"""Topics, queues, subscriptions and EventBridge rules read from a template (stepmap.templates.wiring):
what a deployment would create, and a clear error or note for what stepmap does not run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepmap.errors import InputError
from stepmap.events.rules import target_input
from stepmap.service.apps import open_app

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
SM = "arn:aws:states:us-east-1:123456789012:stateMachine:"


def load(tmp_path: Path, resources: dict[str, Any]) -> Any:
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"Resources": resources}))
    return open_app(str(path))


def machine(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": PASS, **props}}


def test_queues_topics_and_subscriptions(tmp_path: Path) -> None:
    app = load(
        tmp_path,
        {
            "Q": {"Type": "AWS::SQS::Queue"},
            "Named": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
            "T": {
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": "alerts",
                    "Subscription": [
                        {"Protocol": "sqs", "Endpoint": {"Fn::GetAtt": ["Q", "Arn"]}},
                        {"Protocol": "email", "Endpoint": "ops@example.com"},
                    ],
                },
            },
            "S": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "T"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Named", "Arn"]},
                    "RawMessageDelivery": "true",
                },
            },
            "P": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Q"}]}},
        },
    )
    w = app.wiring
    assert w.queues == ("Q", "jobs")
    assert w.topics == ("arn:aws:sns:us-east-1:123456789012:alerts",)
    assert [(s.queue_arn.rsplit(":", 1)[-1], s.raw) for s in w.subscriptions] == [
        ("Q", False),
        ("jobs", True),
    ]
    assert any("protocol 'email' is not delivered locally" in n for n in app.notes)
    assert not any("not run locally: AWS::SQS" in n or "AWS::SNS::Topic" in n for n in app.notes)


def test_events_rule_and_sam_events_become_rules(tmp_path: Path) -> None:
    transformer = {"InputPathsMap": {"k": "$.detail.object.key"}, "InputTemplate": '{"key": "<k>"}'}
    app = load(
        tmp_path,
        {
            "M": machine(
                Events={
                    "Upload": {
                        "Type": "EventBridgeRule",
                        "Properties": {"Pattern": {"source": ["aws.s3"]}, "InputPath": "$.detail"},
                    },
                    "Legacy": {
                        "Type": "CloudWatchEvent",
                        "Properties": {
                            "Pattern": {"source": ["custom"]},
                            "EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/orders",
                            "Input": '{"fixed": 1}',
                        },
                    },
                    "Cron": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}},
                }
            ),
            "R": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "on-upload",
                    "EventPattern": json.dumps({"detail-type": ["Object Created"]}),
                    "Targets": [
                        {"Id": "a", "Arn": {"Ref": "M"}, "InputTransformer": transformer},
                        {"Id": "b", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
                    ],
                },
            },
            "Off": {
                "Type": "AWS::Events::Rule",
                "Properties": {"State": "DISABLED", "EventPattern": {"source": ["x"]}, "Targets": []},
            },
        },
    )
    rules = {r.name: r for r in app.wiring.rules}
    assert sorted(rules) == ["MLegacy", "MUpload", "on-upload"]
    assert rules["MUpload"].targets[0]["Arn"] == SM + "M" and rules["MUpload"].bus == "default"
    assert rules["MLegacy"].bus == "orders"
    assert rules["on-upload"].pattern == {"detail-type": ["Object Created"]}  # JSON text parsed
    assert [t["Id"] for t in rules["on-upload"].targets] == ["a"]  # the Lambda target is noted, not run
    event = {"id": "e", "detail": {"object": {"key": "k.csv"}}}
    assert target_input(rules["on-upload"].targets[0], event, "on-upload") == {"key": "k.csv"}
    assert target_input(rules["MUpload"].targets[0], event, "MUpload") == {"object": {"key": "k.csv"}}
    assert target_input(rules["MLegacy"].targets[0], event, "MLegacy") == {"fixed": 1}
    notes = "\n".join(app.notes)
    assert "event Cron of type Schedule does not start anything" in notes
    assert "function:f" in notes and "rule Off: DISABLED" in notes
    assert "Events ignored" not in notes


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"EventPattern": {"source": "aws.s3"}, "Targets": [{"Id": "t", "Arn": SM + "M"}]}, "/source"),
        (
            {
                "EventPattern": {"source": ["a"]},
                "Targets": [{"Id": "t", "Arn": SM + "M", "InputPath": "$.a", "Input": "{}"}],
            },
            "exclusive",
        ),
        ({"EventPattern": "{not json", "Targets": [{"Id": "t", "Arn": SM + "M"}]}, "not JSON"),
    ],
)
def test_a_rule_eventbridge_would_refuse_is_an_error_naming_it(
    tmp_path: Path, rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message) as info:
        load(tmp_path, {"M": machine(), "Bad": {"Type": "AWS::Events::Rule", "Properties": rule}})
    assert "resource Bad" in str(info.value)


def test_an_s3_event_on_a_state_machine_is_refused_as_sam_refuses_it(tmp_path: Path) -> None:
    events = {"Up": {"Type": "S3", "Properties": {"Bucket": "b", "Events": "s3:ObjectCreated:*"}}}
    with pytest.raises(InputError, match=r"S3 is not a SAM state machine event type.*EventBridgeRule"):
        load(tmp_path, {"M": machine(Events=events)})


def test_run_template_fans_out_to_the_templates_subscriptions(tmp_path: Path) -> None:
    from tests.templates.test_apps import stepmap

    publish = {
        "StartAt": "Tell",
        "States": {
            "Tell": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": "${Topic}", "Message.$": "$.text"},
                "End": True,
            }
        },
    }
    resources = {
        "Q": {"Type": "AWS::SQS::Queue"},
        "T": {"Type": "AWS::SNS::Topic"},
        "S": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "T"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["Q", "Arn"]},
                "RawMessageDelivery": True,
            },
        },
        "M": machine(Definition=publish, DefinitionSubstitutions={"Topic": {"Ref": "T"}}),
    }
    (tmp_path / "template.json").write_text(json.dumps({"Resources": resources}))
    state = tmp_path / "state"
    ran = stepmap(
        "run", "--template", "template.json", "--input", '{"text": "hi"}', cwd=tmp_path, state=state
    )
    assert ran.returncode == 0, ran.stderr
    listed = stepmap("messages", "--queue", "Q", "--state-dir", str(state), cwd=tmp_path, state=state)
    assert listed.returncode == 0, listed.stderr
    assert [m["body"] for m in json.loads(listed.stdout)] == ["hi"]
