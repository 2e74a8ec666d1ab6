"""What connects a template's resources: SNS topics, SQS queues, their subscriptions, and EventBridge rules
(``AWS::Events::Rule``, a SAM state machine's ``EventBridgeRule``/``CloudWatchEvent`` events). Pure data.

Read as a deployment would create them:

* ``AWS::SQS::Queue`` -> a queue (``QueueName``, else the logical id, as ``Ref`` gives);
* ``AWS::SNS::Topic`` -> a topic; its inline ``Subscription`` list and every ``AWS::SNS::Subscription``
  (``TopicArn``, ``Protocol``, ``Endpoint``, ``RawMessageDelivery``) -> SQS subscriptions (other
  protocols get a note: nothing local receives e-mail or HTTP);
* ``AWS::Events::Rule`` with an ``EventPattern`` (object or JSON text), ``EventBusName`` (name or ARN),
  ``State`` and ``Targets`` (``Arn`` of a state machine, ``Input``, ``InputPath``, ``InputTransformer``);
  a rule that is ``DISABLED``, has only a ``ScheduleExpression``, or whose targets are not state machines
  gets a note and starts nothing;
* ``Events`` of an ``AWS::Serverless::StateMachine``: ``EventBridgeRule`` and ``CloudWatchEvent`` become
  rules whose target is that state machine (``Pattern``, ``EventBusName``, ``Input``, ``InputPath``,
  ``InputTransformer``, ``RuleName``, ``State``); other types (``Schedule``, ``Api``, ...) get a note.

A rule that EventBridge would refuse (a bad pattern, ``InputPath`` with ``InputTransformer``) is an
InputError naming the logical id, raised by :func:`stepmap.service.apps.open_app`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stepmap.errors import InputError

__all__ = ["TemplateRule", "TemplateSubscription", "Wiring", "read_wiring"]

_TARGET_KEYS = ("Input", "InputPath", "InputTransformer")


@dataclass(frozen=True)
class TemplateSubscription:
    logical_id: str
    topic_arn: str
    queue_arn: str
    raw: bool = False


@dataclass(frozen=True)
class TemplateRule:
    logical_id: str
    name: str
    bus: str
    pattern: dict[str, Any]
    targets: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Wiring:
    queues: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()  # ARNs
    subscriptions: tuple[TemplateSubscription, ...] = ()
    rules: tuple[TemplateRule, ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        return {
            "queues": list(self.queues),
            "topics": list(self.topics),
            "subscriptions": [
                {"topicArn": s.topic_arn, "endpoint": s.queue_arn, "raw": s.raw} for s in self.subscriptions
            ],
            "rules": [{"logicalId": r.logical_id, "name": r.name, "bus": r.bus} for r in self.rules],
        }


def _bus_name(value: Any) -> str:
    text = str(value or "default")
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class _WiringReader:
    def __init__(self, reader: Any) -> None:
        self.reader = reader  # stepmap.templates.loader._Reader
        self.queues: list[str] = []
        self.topics: list[str] = []
        self.subscriptions: list[TemplateSubscription] = []
        self.rules: list[TemplateRule] = []

    def note(self, text: str) -> None:
        self.reader.notes.append(text)

    def props(self, logical_id: str, resource: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.reader._props(logical_id, resource, None)
        return out

    def subscription(self, logical_id: str, topic: Any, protocol: Any, endpoint: Any, raw: Any) -> None:
        if str(protocol).lower() != "sqs":
            self.note(f"subscription {logical_id}: protocol {protocol!r} is not delivered locally (sqs only)")
            return
        if not isinstance(topic, str) or not isinstance(endpoint, str) or ":sqs:" not in endpoint:
            raise InputError(
                f"resource {logical_id}: an SQS subscription needs a TopicArn and the queue's ARN as "
                f"Endpoint (e.g. !GetAtt Queue.Arn), not {json.dumps(endpoint)[:80]}"
            )
        self.subscriptions.append(TemplateSubscription(logical_id, topic, endpoint, _true(raw)))

    def rule(self, logical_id: str, name: str, bus: Any, pattern: Any, targets: list[dict[str, Any]]) -> None:
        where = f"resource {logical_id}"
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern)
            except ValueError:
                raise InputError(f"{where}: EventPattern is not JSON") from None
        machines = []
        for target in targets:
            arn = target.get("Arn") if isinstance(target, dict) else None
            if isinstance(arn, str) and ":states:" in arn and ":stateMachine:" in arn:
                machines.append(target)
            else:
                self.note(f"rule {logical_id}: target {json.dumps(arn)[:100]} is not run locally")
        if not machines:
            self.note(f"rule {logical_id}: no state machine target; nothing starts locally")
            return
        kept = []
        for i, target in enumerate(machines):
            entry = {"Id": str(target.get("Id", i)), "Arn": target["Arn"]}
            entry.update({k: target[k] for k in _TARGET_KEYS if k in target})
            if "Input" in entry and not isinstance(entry["Input"], str):
                entry["Input"] = json.dumps(entry["Input"])  # SAM accepts an object; AWS sends its JSON
            if "Input" in entry:
                try:
                    json.loads(entry["Input"])
                except ValueError:
                    raise InputError(f"{where}: target Input must be JSON text") from None
            kept.append(entry)
        rule_name = name if len(name) <= 64 else name[:64]
        # the pattern and targets are checked by stepmap.service.apps.open_app (EventBridge's rules live in
        # stepmap.events, which this pure package does not import)
        self.rules.append(TemplateRule(logical_id, rule_name, _bus_name(bus), pattern, tuple(kept)))

    def events_rule(self, logical_id: str, resource: Any) -> None:
        props = self.props(logical_id, resource)
        if str(props.get("State", "ENABLED")).upper() != "ENABLED":
            self.note(f"rule {logical_id}: {props.get('State')} (starts nothing)")
            return
        if "EventPattern" not in props:
            what = (
                "ScheduleExpression (schedules do not run locally)" if "ScheduleExpression" in props else ""
            )
            self.note(f"rule {logical_id}: no EventPattern {what}".rstrip())
            return
        if "ScheduleExpression" in props:
            self.note(f"rule {logical_id}: ScheduleExpression ignored locally (the pattern still applies)")
        name = str(props.get("Name") or logical_id)
        self.rule(
            logical_id, name, props.get("EventBusName"), props["EventPattern"], props.get("Targets") or []
        )

    def machine_events(self, logical_id: str, resource: Any, arn: str) -> None:
        raw = (resource.get("Properties") or {}).get("Events") or {}
        events = self.reader.stack.resolve(raw, f"resource {logical_id}")
        if not isinstance(events, dict):
            raise InputError(f"resource {logical_id}: Events must be a mapping")
        for event_id, event in events.items():
            kind = event.get("Type") if isinstance(event, dict) else None
            props = (event.get("Properties") or {}) if isinstance(event, dict) else {}
            if kind == "S3":  # a Function event type in SAM; a state machine hears S3 through EventBridge
                raise InputError(
                    f"resource {logical_id}: event {event_id}: S3 is not a SAM state machine event type "
                    "(SAM refuses it); use Type: EventBridgeRule with Pattern {source: [aws.s3], "
                    "detail-type: [Object Created], detail: {bucket: {name: [BUCKET]}}}"
                )
            if kind not in ("EventBridgeRule", "CloudWatchEvent"):
                self.note(
                    f"state machine {logical_id}: event {event_id} of type {kind} does not start anything "
                    "locally (EventBridgeRule and CloudWatchEvent do)"
                )
                continue
            if str(props.get("State", "ENABLED")).upper() != "ENABLED":
                self.note(f"state machine {logical_id}: event {event_id} is {props.get('State')}")
                continue
            if "Pattern" not in props:
                raise InputError(f"resource {logical_id}: event {event_id} needs a Pattern")
            target = {"Id": f"{logical_id}{event_id}StepFunctionsTarget", "Arn": arn}
            target.update({k: props[k] for k in _TARGET_KEYS if k in props})
            rule_id = f"{logical_id}{event_id}"  # the AWS::Events::Rule SAM generates
            name = str(props.get("RuleName") or rule_id)
            self.rule(rule_id, name, props.get("EventBusName"), props["Pattern"], [target])

    def read(self) -> Wiring:
        reader = self.reader
        for logical_id, resource in reader.resources.items():
            kind = resource["Type"]
            if not reader.active(logical_id, resource):
                continue
            if kind == "AWS::SQS::Queue":
                self.queues.append(reader.stack.get_att(logical_id, "QueueName", logical_id))
            elif kind == "AWS::SNS::Topic":
                topic = reader.stack.ref(logical_id, logical_id)
                self.topics.append(topic)
                for sub in self.props(logical_id, resource).get("Subscription") or []:
                    if isinstance(sub, dict):
                        self.subscription(logical_id, topic, sub.get("Protocol"), sub.get("Endpoint"), False)
            elif kind == "AWS::SNS::Subscription":
                p = self.props(logical_id, resource)
                self.subscription(
                    logical_id,
                    p.get("TopicArn"),
                    p.get("Protocol"),
                    p.get("Endpoint"),
                    p.get("RawMessageDelivery"),
                )
            elif kind == "AWS::Events::Rule":
                self.events_rule(logical_id, resource)
            elif kind == "AWS::Serverless::StateMachine":
                self.machine_events(logical_id, resource, reader.stack.ref(logical_id, logical_id))
        return Wiring(tuple(self.queues), tuple(self.topics), tuple(self.subscriptions), tuple(self.rules))


# the types this module reads (the loader gives them no "not run locally" note)
WIRED = ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::Events::Rule")


def read_wiring(reader: Any) -> Wiring:
    return _WiringReader(reader).read()
