"""SNS, SQS and EventBridge Tasks run locally: AWS's result shapes, SNS -> SQS fan-out, the messages and
events recorded in the state directory and listed by the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from stepmap.interpreter.clock import ManualClock
from stepmap.service.runner import StepmapService
from stepmap.storage.messages import MessageStore
from tests.cli.test_cli import stepmap

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/work"

NOTIFY = {
    "StartAt": "Publish",
    "States": {
        "Publish": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": TOPIC, "Message.$": "$.order", "Subject": "new order"},
            "ResultPath": "$.published",
            "Next": "Enqueue",
        },
        "Enqueue": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": QUEUE_URL, "MessageBody.$": "$.order"},
            "ResultPath": "$.sent",
            "Next": "Announce",
        },
        "Announce": {
            "Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail.$": "$.order"},
                    {"Source": "shop.orders", "DetailType": "Broken", "Detail": "not json"},
                ]
            },
            "ResultPath": "$.announced",
            "Next": "SdkPublish",
        },
        "SdkPublish": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sns:publish",
            "Parameters": {"TopicArn": TOPIC, "Message": "plain"},
            "ResultPath": "$.sdk",
            "End": True,
        },
    },
}


def run(tmp_path: Path, definition: dict[str, Any], value: Any) -> Any:
    service = StepmapService(executor="sync", clock=ManualClock(), state_dir=str(tmp_path / "state"))
    try:
        return service.start_execution(definition, value)
    finally:
        service.close()


def test_sns_sqs_and_eventbridge_tasks_return_aws_shapes_and_are_recorded(tmp_path: Path) -> None:
    store = MessageStore(str(tmp_path / "state"))
    store.subscribe(TOPIC, "sqs", "arn:aws:sqs:us-east-1:123456789012:audit")
    store.subscribe(TOPIC, "sqs", "arn:aws:sqs:us-east-1:123456789012:raw", raw=True)
    execution = run(tmp_path, NOTIFY, {"order": {"id": 7}})
    assert execution.status == "SUCCEEDED", execution.cause
    out = execution.output
    assert set(out["published"]) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert out["sent"]["MD5OfMessageBody"] == hashlib.md5(b'{"id":7}').hexdigest()
    assert set(out["sent"]) == {"MD5OfMessageBody", "MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert out["announced"]["FailedEntryCount"] == 1
    assert "EventId" in out["announced"]["Entries"][0] and out["announced"]["Entries"][1]["ErrorCode"]
    assert set(out["sdk"]) == {"MessageId"}  # the aws-sdk form: the bare API response

    work = store.messages("work")
    assert [m["body"] for m in work] == ['{"id":7}']  # an object MessageBody is sent as its JSON text
    audit, second = store.messages("audit")  # SNS -> SQS (both publications), in SNS's envelope
    envelope = json.loads(audit["body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == TOPIC
    assert envelope["Message"] == '{"id":7}' and envelope["Subject"] == "new order"
    assert envelope["MessageId"] == out["published"]["MessageId"]
    assert json.loads(second["body"])["Message"] == "plain"
    assert [m["body"] for m in store.messages("raw")] == ['{"id":7}', "plain"]  # RawMessageDelivery
    [event] = store.events()
    assert event["detail-type"] == "OrderPlaced" and event["source"] == "shop.orders"
    assert event["detail"] == {"id": 7} and event["account"] == "123456789012" and event["bus"] == "default"
    assert event["id"] == out["announced"]["Entries"][0]["EventId"]


def test_parameters_that_do_not_fit_the_api_fail_the_task(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"MessageBody": "x"},
                "End": True,
            }
        },
    }
    execution = run(tmp_path, definition, {})
    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed" and "QueueUrl" in (execution.cause or "")


def test_receive_and_delete_hide_and_remove_messages(tmp_path: Path) -> None:
    store = MessageStore(str(tmp_path))
    store.send_message("q", "a")
    store.send_message("q", "b")
    first = store.receive("q", 1, visibility_timeout=60)
    assert [m["Body"] for m in first] == ["a"]
    assert [m["Body"] for m in store.receive("q", 10)] == ["b"]  # "a" is invisible while being worked on
    assert store.receive("q", 10) == []
    assert store.delete("q", first[0]["ReceiptHandle"])
    assert [m["deleted"] for m in store.messages("q")] == [True, False]


def test_the_cli_lists_messages_and_events(tmp_path: Path) -> None:
    (tmp_path / "notify.asl.json").write_text(json.dumps(NOTIFY))
    subscribed = stepmap("subscribe", TOPIC, "audit", "--raw", "--state-dir", "st", cwd=tmp_path)
    assert subscribed.returncode == 0, subscribed.stderr
    bad = stepmap("subscribe", "not-a-topic", "audit", "--state-dir", "st", cwd=tmp_path)
    assert bad.returncode == 2 and "not an SNS topic ARN" in bad.stderr
    result = stepmap(
        "run",
        "notify.asl.json",
        "--input",
        '{"order": {"id": 1}}',
        "--executor",
        "sync",
        "--state-dir",
        "st",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    listed = stepmap("messages", "--state-dir", "st", cwd=tmp_path)
    assert [(m["queue"], m["body"]) for m in json.loads(listed.stdout)] == [
        ("audit", '{"id":1}'),  # the topic's raw subscription
        ("work", '{"id":1}'),
        ("audit", "plain"),
    ]
    topics = json.loads(stepmap("messages", "--topics", "--state-dir", "st", cwd=tmp_path).stdout)
    assert [t["message"] for t in topics] == ['{"id":1}', "plain"]
    events = json.loads(stepmap("events", "--state-dir", "st", cwd=tmp_path).stdout)
    assert [e["detail-type"] for e in events] == ["OrderPlaced"]
    empty = stepmap("events", "--state-dir", "nowhere", cwd=tmp_path)
    assert empty.returncode == 2 and "no messages" in empty.stderr


@pytest.mark.parametrize(
    "resource", ["arn:aws:states:::sqs:receiveMessage", "arn:aws:states:::sns:createTopic"]
)
def test_actions_stepmap_does_not_run_are_refused_by_validation(tmp_path: Path, resource: str) -> None:
    from stepmap.errors import DefinitionError

    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    with pytest.raises(DefinitionError):
        run(tmp_path, definition, {})


def test_send_message_wait_for_task_token(tmp_path: Path) -> None:
    import threading
    import time

    from stepmap.journal.registry import Registry
    from stepmap.service.callbacks import send_to_registry

    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": QUEUE_URL,
                    "MessageBody": {"token.$": "$$.Task.Token", "q.$": "$.q"},
                },
                "End": True,
            }
        },
    }
    state_dir = tmp_path / "state"
    service = StepmapService(executor="sync", state_dir=str(state_dir), journal=True)  # as `stepmap run`
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(e=service.start_execution(definition, {"q": 1})))
    runner.start()
    store = MessageStore(str(state_dir))
    for _ in range(600):  # bounded: a worker answering the queue
        messages = store.receive("work", 1) if (state_dir / "messages.sqlite").exists() else []
        if messages:
            break
        time.sleep(0.05)
    body = json.loads(messages[0]["Body"])
    assert body["q"] == 1
    send_to_registry(
        Registry(str(state_dir / "journal.sqlite")),
        body["token"],
        {"status": "SUCCEEDED", "output": '{"a": 2}'},
    )
    runner.join(timeout=60)
    service.close()
    assert result["e"].status == "SUCCEEDED", result["e"].cause
    assert result["e"].output == {"a": 2}


def test_distributed_map_children_in_worker_processes_send_to_the_same_queue(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Send",
                    "States": {
                        "Send": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {
                                "QueueUrl": QUEUE_URL,
                                "MessageBody.$": "States.Format('item {}', $)",
                            },
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    service = StepmapService(executor="local", max_workers=2, state_dir=str(tmp_path / "state"))
    try:
        execution = service.start_execution(definition, {"items": list(range(20))})
    finally:
        service.close()
    assert execution.status == "SUCCEEDED", execution.cause
    bodies = sorted(m["body"] for m in MessageStore(str(tmp_path / "state")).messages("work"))
    assert bodies == sorted(f"item {i}" for i in range(20))
