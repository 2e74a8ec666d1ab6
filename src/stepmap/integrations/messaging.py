"""SNS, SQS and EventBridge Tasks, run locally over the state directory's
:class:`~stepmap.storage.messages.MessageStore`:

* ``arn:aws:states:::sns:publish`` and ``aws-sdk:sns:publish``: recorded, and delivered to the topic's SQS
  subscriptions (in SNS's JSON envelope unless RawMessageDelivery); result ``{"MessageId"}``;
* ``arn:aws:states:::sqs:sendMessage`` and ``aws-sdk:sqs:sendMessage``: enqueued, readable by handlers
  through the endpoint's SQS API; result ``{"MD5OfMessageBody", "MessageId"}``;
* ``arn:aws:states:::events:putEvents`` and ``aws-sdk:eventbridge:putEvents``: recorded as EventBridge
  delivers events (``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``,
  ``resources``, ``detail``); result ``{"Entries": [{"EventId"}], "FailedEntryCount"}``.

Parameters are checked against botocore's model of the API (a missing ``TopicArn``, an unknown member:
``States.TaskFailed``, as the aws-sdk integrations say it). The optimized forms accept a JSON value where the
API wants a string (``Message``, ``MessageBody``, ``Detail``) and send its JSON text, as Step Functions does,
and add ``SdkHttpMetadata``/``SdkResponseMetadata`` to SNS's and SQS's results as the optimized integrations
do; the ``aws-sdk:`` forms return the bare API response.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.interpreter.ports import TaskContext
from stepmap.storage.messages import MessageStore

__all__ = ["MessagingIntegration", "register_messaging"]

# (service in the Resource, action) -> (botocore service, operation)
_ACTIONS = {
    ("sns", "publish"): ("sns", "Publish"),
    ("aws-sdk:sns", "publish"): ("sns", "Publish"),
    ("sqs", "sendMessage"): ("sqs", "SendMessage"),
    ("aws-sdk:sqs", "sendMessage"): ("sqs", "SendMessage"),
    ("events", "putEvents"): ("events", "PutEvents"),
    ("aws-sdk:eventbridge", "putEvents"): ("events", "PutEvents"),
}
_CONTENT_TYPE = {"sns": "text/xml", "sqs": "application/x-amz-json-1.0"}


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@functools.cache
def _input_shape(service: str, operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def _check(service: str, operation: str, parameters: Any) -> None:
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    if not isinstance(parameters, dict):
        raise StatesError("States.Runtime", f"The parameters of {operation} must be a JSON object")
    try:
        validate_parameters(parameters, _input_shape(service, operation))
    except ParamValidationError as exc:
        raise StatesError("States.TaskFailed", f"{operation}: {exc}") from None


class MessagingIntegration:
    def __init__(self, store: MessageStore) -> None:
        self.store = store

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        key = (resource.service, resource.action)
        if key not in _ACTIONS:
            raise StatesError("States.Runtime", f"{resource.service}:{resource.action} is not run by stepmap")
        service, operation = _ACTIONS[key]
        optimized = resource.sdk_service is None
        if optimized and isinstance(parameters, dict):
            parameters = dict(parameters)
            for name in ("Message", "MessageBody"):
                if name in parameters:
                    parameters[name] = _text(parameters[name])
            if isinstance(parameters.get("Entries"), list):
                parameters["Entries"] = [
                    {**e, "Detail": _text(e["Detail"])} if isinstance(e, dict) and "Detail" in e else e
                    for e in parameters["Entries"]
                ]
        _check(service, operation, parameters)
        result = getattr(self, operation.lower())(parameters, ctx)
        if optimized and service in _CONTENT_TYPE:
            result.update(_metadata(_CONTENT_TYPE[service]))
        return result

    def publish(self, p: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        topic = p.get("TopicArn") or p.get("TargetArn")
        if not topic:
            raise StatesError("SNS.InvalidParameterException", "Invalid parameter: TopicArn or TargetArn")
        message = p["Message"]
        if p.get("MessageStructure") == "json":
            try:
                per_protocol = json.loads(message)
                message = per_protocol.get("sqs", per_protocol["default"])
            except (ValueError, KeyError, AttributeError):
                raise StatesError(
                    "SNS.InvalidParameterException",
                    "Invalid parameter: Message Structure - JSON message body failed to parse "
                    "(it needs a 'default' key)",
                ) from None
        message_id = self.store.publish(
            topic, message, subject=p.get("Subject"), attributes=p.get("MessageAttributes")
        )
        return {"MessageId": message_id}

    def sendmessage(self, p: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        message_id, md5 = self.store.send_message(
            p["QueueUrl"],
            p["MessageBody"],
            p.get("MessageAttributes"),
            delay=float(p.get("DelaySeconds", 0)),
            source=ctx.execution_arn,
        )
        return {"MD5OfMessageBody": md5, "MessageId": message_id}

    def putevents(self, p: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        entries, failed = [], 0
        for entry in p["Entries"]:
            try:
                detail = json.loads(entry.get("Detail", ""))
            except ValueError:
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
            bus = entry.get("EventBusName") or "default"
            moment = entry.get("Time")
            if not isinstance(moment, str):
                moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            event = {
                "version": "0",
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ctx.account,
                "time": moment,
                "region": ctx.region,
                "resources": list(entry.get("Resources") or []),
                "detail": detail,
            }
            entries.append({"EventId": self.store.put_event(bus.rsplit("/", 1)[-1], event)})
        return {"Entries": entries, "FailedEntryCount": failed}


def _metadata(content_type: str) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    headers = {"Content-Type": content_type, "x-amzn-RequestId": request_id}
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


class MessagingCallback:
    """``sqs:sendMessage.waitForTaskToken`` (and ``sns:publish``, ``events:putEvents``): send, with
    ``$$.Task.Token`` in the message, then wait until SendTaskSuccess/Failure answers the token."""

    def __init__(self, tokens: Any, messaging: MessagingIntegration) -> None:
        self.tokens, self.messaging = tokens, messaging

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        token = (ctx.context.get("Task") or {}).get("Token")
        if not token:
            raise StatesError("States.Runtime", "the task has no $$.Task.Token")
        plain = ParsedResource(resource.arn, resource.service, resource.action)

        async def dispatch() -> None:
            self.messaging.invoke(plain, parameters, ctx)

        return self.tokens.wait(token, ctx.execution_arn, ctx.state_name, ctx.heartbeat, dispatch)

    def __reduce__(self) -> tuple[Any, ...]:
        from stepmap.integrations.callbacks import _in_process_only

        return _in_process_only, (".waitForTaskToken",)


def register_messaging(
    table: Any, state_dir: str, *, region: str = "us-east-1", tokens: Any = None
) -> MessageStore:
    """Add SNS, SQS and EventBridge to an integrations table, over ``state_dir``'s message store (and
    their ``.waitForTaskToken`` forms when ``tokens``, the service's task tokens, are given)."""
    store = MessageStore(state_dir, region=region)
    integration = MessagingIntegration(store)
    for pattern in ("sns:publish", "sqs:sendMessage", "events:putEvents"):
        table.register(pattern, integration)
        if tokens is not None:
            table.register(f"{pattern}.waitForTaskToken", MessagingCallback(tokens, integration))
    for pattern in ("aws-sdk:sns:publish", "aws-sdk:sqs:sendMessage", "aws-sdk:eventbridge:putEvents"):
        table.register(pattern, integration)
    return store
