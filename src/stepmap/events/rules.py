"""EventBridge rules that start workflows, and the S3 "Object Created" events that often trigger them.

A rule (kept in the state directory's message store, ``stepmap rules put``) has a bus, an event pattern
(:mod:`.patterns`) and targets: Step Functions state machines (their ARN, as created through ``stepmap
serve``'s API), each with an optional ``InputPath`` or ``InputTransformer`` (``InputPathsMap`` +
``InputTemplate``), as ``AWS::Events::Rule`` targets have.

:class:`RuleEngine` reads the events put since its cursor (by workflows' ``events:putEvents``, handlers'
``PutEvents``, and :class:`ObjectWatcher`), and for each rule that matches starts an execution of each
target. The guarantee: every event starts each matching target once -- none lost, none twice -- across
restarts of ``serve`` (kill -9 included): the execution's name is derived from (rule, target, event id),
so a restart that reads an event again asks StartExecution for a name that already exists, which starts
nothing new; the cursor moves only after the starts were asked for.

:class:`ObjectWatcher` lists the object store's buckets (any write path ends there: the S3 endpoint,
``stepmap objects put``, ResultWriter, files dropped into the store directory) and puts one EventBridge
"Object Created" event (``source: aws.s3``, EventBridge's shape) per new or changed object, once the object
has been seen unchanged by two scans (a file still being copied is not announced half-written). The first
scan of a store only learns what is there. State: the cursors and the objects' ETags, in the message store.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from stepmap.events.patterns import matches, pattern_problems
from stepmap.storage.messages import MessageStore

__all__ = ["ObjectWatcher", "RuleEngine", "check_rule", "object_created_event", "target_input"]

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")
_NAME = re.compile(r"[.\-_A-Za-z0-9]{1,64}")


def check_rule(name: str, pattern: Any, targets: Any) -> list[str]:
    """Every problem of a rule (an empty list when it is fine)."""
    problems = (
        [] if _NAME.fullmatch(name) else [f"rule name {name!r}: 1-64 of letters, digits, '.', '-', '_'"]
    )
    problems += pattern_problems(pattern)
    if not isinstance(targets, list) or not targets:
        return [*problems, "a rule needs at least one target"]
    for i, target in enumerate(targets):
        at = f"target {i}"
        arn = target.get("Arn") if isinstance(target, Mapping) else None
        if not isinstance(arn, str) or ":states:" not in arn or ":stateMachine:" not in arn:
            problems.append(
                f"{at}: Arn must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)"
            )
        given = [
            k
            for k in ("Input", "InputPath", "InputTransformer")
            if isinstance(target, Mapping) and k in target
        ]
        if len(given) > 1:
            problems.append(
                f"{at}: {' and '.join(given)} are exclusive (one of Input, InputPath, InputTransformer)"
            )
        paths = [target.get("InputPath")] if isinstance(target, Mapping) else []
        transformer = target.get("InputTransformer") if isinstance(target, Mapping) else None
        if isinstance(transformer, Mapping) and isinstance(transformer.get("InputPathsMap"), Mapping):
            paths += list(transformer["InputPathsMap"].values())
        for path in paths:
            if path is not None and not _path_ok(path):
                problems.append(f"{at}: {path!r} is not a JSONPath such as $.detail.object.key")
        if transformer is not None and (
            not isinstance(transformer, Mapping) or not isinstance(transformer.get("InputTemplate"), str)
        ):
            problems.append(f"{at}: InputTransformer needs an InputTemplate string (and an InputPathsMap)")
    return problems


def _path_ok(path: Any) -> bool:
    from stepmap.asl.jsonpath import JsonPathError, compile_path

    try:
        return isinstance(path, str) and compile_path(path) is not None
    except JsonPathError:
        return False


def _path(event: Any, path: str) -> Any:
    from stepmap.asl.jsonpath import PathNotFound, compile_path

    try:
        return compile_path(path).get(event)
    except PathNotFound:
        return None


def target_input(target: Mapping[str, Any], event: dict[str, Any], rule_name: str) -> Any:
    """The execution input for ``target``: the event, its constant ``Input`` (JSON text), its ``InputPath``,
    or its ``InputTransformer``."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return _path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer is None:
        return event
    values = {name: _path(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
    values.update(
        {
            "aws.events.event": event,
            "aws.events.event.json": event,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": event.get("time"),
        }
    )
    template: str = transformer["InputTemplate"]

    def fill(m: re.Match[str]) -> str:
        if m[1] not in values:
            return m[0]
        value = values[m[1]]
        quoted = m.start() > 0 and template[m.start() - 1] == '"' and template[m.end() : m.end() + 1] == '"'
        if quoted:  # inside a JSON string: the text, escaped for the string
            text = value if isinstance(value, str) else json.dumps(value)
            return json.dumps(text)[1:-1]
        return json.dumps(value)

    text = _PLACEHOLDER.sub(fill, template)
    try:
        return json.loads(text)
    except ValueError:
        return text  # a text template: the execution gets it as a JSON string


def execution_name(rule: str, target: str, event_id: str) -> str:
    digest = hashlib.sha256(f"{rule}|{target}|{event_id}".encode()).hexdigest()[:32]
    return f"{rule[:40]}-{digest}"


class RuleEngine:
    """Starts the targets of the rules events match; ``start(arn, name, input_json)`` asks StartExecution
    (returning normally when the execution exists already)."""

    def __init__(
        self, store: MessageStore, start: Callable[[str, str, str], None], *, cursor: str = "rules"
    ) -> None:
        self.store, self.start, self.cursor_name = store, start, cursor

    def step(self) -> int:
        """Handle the events put since the cursor; return how many executions were asked for."""
        started = 0
        rules = self.store.rules()
        for seq, bus, event in self.store.events_after(self.store.cursor(self.cursor_name)):
            for rule in rules:
                if rule["EventBusName"] != bus or not matches(rule["EventPattern"], event):
                    continue
                for target in rule["Targets"]:
                    payload = json.dumps(target_input(target, event, rule["Name"]))
                    self.start(
                        target["Arn"], execution_name(rule["Name"], target["Arn"], event["id"]), payload
                    )
                    started += 1
            self.store.set_cursor(self.cursor_name, seq)
        return started


def object_created_event(
    bucket: str, key: str, size: int, etag: str, *, region: str, account: str
) -> dict[str, Any]:
    """EventBridge's "Object Created" event for an S3 object (``id`` is added when it is put)."""
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag.strip('"'), "sequencer": f"{time.time_ns():X}"},
            "request-id": hashlib.md5(f"{bucket}/{key}/{etag}".encode(), usedforsecurity=False)
            .hexdigest()[:16]
            .upper(),
            "requester": account,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }


class ObjectWatcher:
    def __init__(self, objects: Any, store: MessageStore) -> None:
        self.objects, self.store = objects, store

    def scan(self) -> int:
        """List every bucket once; put the Object Created events due; return how many."""
        known = self.store.known_objects()
        first = self.store.cursor("objects-scanned") == 0
        pending: list[tuple[str, str, str]] = []
        emitted: list[tuple[str, str, str, dict[str, Any]]] = []
        for bucket in self.objects.list_buckets():
            for info in self.objects.list(bucket):
                previous = known.get((bucket, info.key))
                if first:  # the first scan learns what is there: nothing was created "now"
                    pending.append((bucket, info.key, info.etag))
                elif previous == (info.etag, False):  # unchanged since the last scan: announce it
                    event = object_created_event(
                        bucket,
                        info.key,
                        info.size,
                        info.etag,
                        region=self.store.region,
                        account=self.store.account,
                    )
                    emitted.append((bucket, info.key, info.etag, event))
                elif previous != (info.etag, True):
                    pending.append((bucket, info.key, info.etag))
        if first:
            self.store.note_objects([], [], baseline=pending)
            self.store.set_cursor("objects-scanned", 1)
            return 0
        self.store.note_objects(pending, emitted)
        return len(emitted)
