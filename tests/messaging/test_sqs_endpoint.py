"""SQS (AWS JSON 1.0, AmazonSQS) and EventBridge PutEvents on the endpoint, through boto3: a handler reads
the queue a workflow sent to."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepmap.endpoints import EndpointContext, EndpointServer
from stepmap.endpoints.services import build_json_services
from stepmap.interpreter.clock import ManualClock
from stepmap.service.runner import StepmapService
from stepmap.storage.messages import MessageStore


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[str, str]]:
    state_dir = str(tmp_path / "state")
    ctx = EndpointContext.from_options(store=os.path.join(state_dir, "s3"), state_dir=state_dir)
    services = {k: v for k, v in build_json_services(ctx).items() if k in ("AmazonSQS", "AWSEvents")}
    server = EndpointServer(json_services=services).start()
    try:
        yield server.url, state_dir
    finally:
        server.stop()


def client(url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_a_handler_receives_and_deletes_what_a_workflow_sent(endpoint: tuple[str, str]) -> None:
    url, state_dir = endpoint
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {
                    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
                    "MessageBody.$": "$",
                    "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "job"}},
                },
                "End": True,
            }
        },
    }
    service = StepmapService(executor="sync", clock=ManualClock(), state_dir=state_dir)
    try:
        sent = service.start_execution(definition, {"job": 1})
    finally:
        service.close()
    assert sent.status == "SUCCEEDED", sent.cause

    sqs = client(url, "sqs")
    queue = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    [message] = got["Messages"]
    assert json.loads(message["Body"]) == {"job": 1}
    assert message["MessageId"] == sent.output["MessageId"]
    assert message["MessageAttributes"]["kind"]["StringValue"] == "job"
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []  # in flight: invisible
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert MessageStore(state_dir).messages("jobs")[0]["deleted"] is True


def test_queues_through_the_api(endpoint: tuple[str, str]) -> None:
    sqs = client(endpoint[0], "sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="missing")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/missing", MessageBody="x")
    queue = sqs.create_queue(QueueName="made")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert sqs.list_queues()["QueueUrls"] == [queue]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello"  # visible again
    sqs.purge_queue(QueueUrl=queue)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def test_put_events_from_a_handler(endpoint: tuple[str, str]) -> None:
    url, state_dir = endpoint
    events = client(url, "events")
    out = events.put_events(
        Entries=[
            {"Source": "app", "DetailType": "Done", "Detail": json.dumps({"n": 1})},
            {"Source": "app", "DetailType": "Bad", "Detail": "[1]"},
        ]
    )
    assert out["FailedEntryCount"] == 1
    [event] = MessageStore(state_dir).events()
    assert event["id"] == out["Entries"][0]["EventId"] and event["detail"] == {"n": 1}
