"""SQS and EventBridge on the endpoint, over the state directory's message store, so handlers' boto3
reads the queues workflows send to (and puts events workflows can list).

* SQS: AWS JSON 1.0, ``X-Amz-Target: AmazonSQS.<Operation>`` (the protocol botocore's current ``sqs`` model
  speaks): CreateQueue, GetQueueUrl, ListQueues, GetQueueAttributes, SendMessage, ReceiveMessage (with a
  bounded long poll), DeleteMessage, ChangeMessageVisibility, PurgeQueue. Errors are the model's error
  shapes (``QueueDoesNotExist``, ``ReceiptHandleIsInvalid``): botocore raises ``client.exceptions.<name>``.
* EventBridge: AWS JSON 1.1, ``X-Amz-Target: AWSEvents.PutEvents``.

Unlike a Task's ``sqs:sendMessage`` (which creates the queue on first use), the API refuses a queue that was
never created, as AWS does. State: none (the store is the SQLite file).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from stepmap.endpoints.protocol import AwsJsonError, JsonRequest
from stepmap.storage.messages import MessageStore, queue_name_of

__all__ = ["EVENTS_TARGET_PREFIX", "SQS_TARGET_PREFIX", "EventsService", "SqsService"]

SQS_TARGET_PREFIX = "AmazonSQS"
EVENTS_TARGET_PREFIX = "AWSEvents"
_MAX_WAIT = 20.0  # seconds: SQS's longest long poll


def _body(request: JsonRequest) -> dict[str, Any]:
    try:
        value = json.loads(request.body or b"{}")
    except ValueError:
        raise AwsJsonError("SerializationException", "the request body is not JSON") from None
    if not isinstance(value, dict):
        raise AwsJsonError("SerializationException", "the request body is not a JSON object")
    return value


class SqsService:
    def __init__(self, store: MessageStore) -> None:
        self.store = store

    def __call__(self, request: JsonRequest) -> Mapping[str, Any]:
        method = getattr(self, "_" + request.operation, None)
        if method is None:
            raise AwsJsonError(
                "UnknownOperationException", f"SQS operation {request.operation} is not supported"
            )
        return method(_body(request))

    def _queue(self, body: dict[str, Any]) -> str:
        url = body.get("QueueUrl")
        if not isinstance(url, str) or not url:
            raise AwsJsonError("MissingParameter", "The request must contain the parameter QueueUrl.")
        name = queue_name_of(url)
        if not self.store.has_queue(name):
            raise AwsJsonError("QueueDoesNotExist", "The specified queue does not exist.")
        return name

    def _CreateQueue(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("QueueName")
        if not isinstance(name, str) or not name or len(name) > 80:
            raise AwsJsonError("InvalidParameterValue", "Queue name must be 1 to 80 characters")
        self.store.create_queue(name)
        return {"QueueUrl": self.store.queue_url(name)}

    def _GetQueueUrl(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("QueueName") or "")
        if not self.store.has_queue(name):
            raise AwsJsonError("QueueDoesNotExist", "The specified queue does not exist.")
        return {"QueueUrl": self.store.queue_url(name)}

    def _ListQueues(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = str(body.get("QueueNamePrefix") or "")
        return {"QueueUrls": [self.store.queue_url(q) for q in self.store.queues() if q.startswith(prefix)]}

    def _GetQueueAttributes(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._queue(body)
        waiting = [m for m in self.store.messages(name) if not m["deleted"]]
        return {
            "Attributes": {
                "QueueArn": f"arn:aws:sqs:{self.store.region}:{self.store.account}:{name}",
                "ApproximateNumberOfMessages": str(len(waiting)),
            }
        }

    def _SendMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._queue(body)
        text = body.get("MessageBody")
        if not isinstance(text, str) or not text:
            raise AwsJsonError("MissingParameter", "The request must contain the parameter MessageBody.")
        message_id, md5 = self.store.send_message(
            name, text, body.get("MessageAttributes"), delay=float(body.get("DelaySeconds") or 0)
        )
        return {"MessageId": message_id, "MD5OfMessageBody": md5}

    def _ReceiveMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._queue(body)
        count = int(body.get("MaxNumberOfMessages") or 1)
        if not 1 <= count <= 10:
            raise AwsJsonError("InvalidParameterValue", "MaxNumberOfMessages must be between 1 and 10")
        visibility = float(body.get("VisibilityTimeout", 30))
        deadline = time.monotonic() + min(float(body.get("WaitTimeSeconds") or 0), _MAX_WAIT)
        while True:
            found = self.store.receive(name, count, visibility)
            if found or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        wanted = body.get("MessageAttributeNames") or []
        for message in found:
            attributes = message.pop("MessageAttributes")
            if "All" in wanted or ".*" in wanted:
                message["MessageAttributes"] = attributes
            elif wanted:
                message["MessageAttributes"] = {k: v for k, v in attributes.items() if k in wanted}
        return {"Messages": found}

    def _DeleteMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._queue(body)
        receipt = str(body.get("ReceiptHandle") or "")
        if not self.store.delete(name, receipt):
            raise AwsJsonError(
                "ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not valid.'
            )
        return {}

    def _ChangeMessageVisibility(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._queue(body)
        if not self.store.change_visibility(
            name, str(body.get("ReceiptHandle") or ""), float(body["VisibilityTimeout"])
        ):
            raise AwsJsonError("ReceiptHandleIsInvalid", "The input receipt handle is not valid.")
        return {}

    def _PurgeQueue(self, body: dict[str, Any]) -> dict[str, Any]:
        self.store.purge(self._queue(body))
        return {}


class EventsService:
    """``AWSEvents.PutEvents``: handlers put events on a bus, as a workflow's events:putEvents does."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    def __call__(self, request: JsonRequest) -> Mapping[str, Any]:
        if request.operation != "PutEvents":
            raise AwsJsonError(
                "UnknownOperationException", f"EventBridge {request.operation} is not supported"
            )
        entries, failed = [], 0
        for entry in _body(request).get("Entries") or []:
            try:
                detail = json.loads(entry.get("Detail") or "")
            except (ValueError, AttributeError):
                detail = None
            if not entry.get("Source") or not entry.get("DetailType") or not isinstance(detail, dict):
                failed += 1
                entries.append(
                    {
                        "ErrorCode": "InvalidArgument",
                        "ErrorMessage": "Parameter(s) Source, DetailType or Detail is not valid.",
                    }
                )
                continue
            event = {
                "version": "0",
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": self.store.account,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.get("Time") or time.time())),
                "region": self.store.region,
                "resources": list(entry.get("Resources") or []),
                "detail": detail,
            }
            bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
            entries.append({"EventId": self.store.put_event(bus, event)})
        return {"FailedEntryCount": failed, "Entries": entries}
