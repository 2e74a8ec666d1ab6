"""Task resources that name an AWS service integration: parsing, and which ones stepmap runs.

A service integration Resource is ``arn:<partition>:states:::<service>:<action>[.<pattern>]``:

* optimized integrations: ``arn:aws:states:::dynamodb:putItem``, ``arn:aws:states:::sns:publish``;
* AWS SDK integrations: ``arn:aws:states:::aws-sdk:s3:listObjectsV2`` (the service is ``aws-sdk:s3``);
* a pattern suffix: ``.sync``, ``.sync:2``, ``.waitForTaskToken``.

:func:`parse_resource` turns the ARN into a :class:`ParsedResource` whose ``resource_type`` and ``resource``
are the two fields AWS puts in the ``Task*`` history events (``resourceType: "aws-sdk:s3"``,
``resource: "listObjectsV2"``). :data:`SUPPORTED` says which (service, action, pattern) stepmap can run;
validation refuses the others naming the service, so a definition never starts and then fails half-way.
The Lambda resources (``lambda:invoke``, function ARNs, bare names) are not handled here: they keep their
own path in :mod:`stepmap.interpreter.tasks`. Pure data; no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SUPPORTED",
    "ParsedResource",
    "is_supported",
    "parse_resource",
    "unsupported_reason",
    "uses_service_integrations",
]

_SERVICE_ARN = re.compile(
    r"arn:aws[a-z-]*:states:::(?P<service>aws-sdk:[A-Za-z0-9-]+|[A-Za-z0-9-]+):"
    r"(?P<action>[A-Za-z0-9_-]+)(?:\.(?P<pattern>sync(?::2)?|waitForTaskToken))?"
)

_ACTIVITY_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:(?P<name>[^:/\s]{1,80})")


@dataclass(frozen=True)
class ParsedResource:
    arn: str
    service: str  # "dynamodb", "aws-sdk:s3", "states", "lambda"
    action: str  # "putItem", "listObjectsV2", "startExecution"
    pattern: str | None = None  # None (request-response), "sync", "sync:2", "waitForTaskToken"

    @property
    def resource_type(self) -> str:
        """The ``resourceType`` of the Task* history events."""
        return self.service

    @property
    def resource(self) -> str:
        """The ``resource`` of the Task* history events: the action with its pattern suffix."""
        return self.action if self.pattern is None else f"{self.action}.{self.pattern}"

    @property
    def sdk_service(self) -> str | None:
        """``s3`` for ``aws-sdk:s3``; None for optimized integrations."""
        return self.service[len("aws-sdk:") :] if self.service.startswith("aws-sdk:") else None


def parse_resource(arn: str) -> ParsedResource | None:
    """The service integration ``arn`` names, or None when it is not a ``states:::`` service ARN (or is
    the request-response ``lambda:invoke``, which the Lambda path runs)."""
    activity = _ACTIVITY_ARN.fullmatch(arn)
    if activity is not None:  # an activity: workers poll GetActivityTask for its tasks
        return ParsedResource(arn, "activity", activity["name"])
    m = _SERVICE_ARN.fullmatch(arn)
    if m is None or (m["service"] == "lambda" and m["action"] == "invoke" and m["pattern"] is None):
        return None  # plain lambda:invoke keeps the Lambda path
    return ParsedResource(arn, m["service"], m["action"], m["pattern"])


# service -> (actions, or None for "any action of the service's API"; patterns allowed).
# Integrations register here what they run; other engineers add their families (states, activities).
SUPPORTED: dict[str, tuple[frozenset[str] | None, frozenset[str | None]]] = {
    "dynamodb": (frozenset({"getItem", "putItem", "updateItem", "deleteItem"}), frozenset({None})),
    "aws-sdk:s3": (None, frozenset({None})),
    "aws-sdk:dynamodb": (None, frozenset({None})),
    # the Step Functions API (stepmap serve): callbacks
    "lambda": (frozenset({"invoke"}), frozenset({"waitForTaskToken"})),
    "states": (frozenset({"startExecution"}), frozenset({None, "sync", "sync:2"})),
    "activity": (None, frozenset({None})),
    # SNS, SQS, EventBridge over the state directory's message store (stepmap.integrations.messaging)
    "sns": (frozenset({"publish"}), frozenset({None, "waitForTaskToken"})),
    "sqs": (frozenset({"sendMessage"}), frozenset({None, "waitForTaskToken"})),
    "events": (frozenset({"putEvents"}), frozenset({None, "waitForTaskToken"})),
    "aws-sdk:sns": (frozenset({"publish"}), frozenset({None})),
    "aws-sdk:sqs": (frozenset({"sendMessage"}), frozenset({None})),
    "aws-sdk:eventbridge": (frozenset({"putEvents"}), frozenset({None})),
}


def unsupported_reason(parsed: ParsedResource) -> str | None:
    """Why stepmap cannot run ``parsed`` (a sentence naming the service), or None when it can."""
    entry = SUPPORTED.get(parsed.service)
    if entry is None:
        local = ", ".join(sorted(SUPPORTED))
        return (
            f"the service integration '{parsed.service}' is not supported by stepmap yet "
            f"(supported: lambda, {local}); three ways forward: run a supported service locally, mock this "
            "state (--mock-config FILE --test-case NAME), or send it to AWS (--aws passthrough)"
        )
    actions, patterns = entry
    if actions is not None and parsed.action not in actions:
        return (
            f"'{parsed.service}:{parsed.action}' is not an action stepmap supports for '{parsed.service}' "
            f"(supported: {', '.join(sorted(actions))})"
        )
    if parsed.pattern not in patterns:
        return (
            f"the integration pattern '.{parsed.pattern}' is not supported for '{parsed.service}' "
            "(only request-response)"
        )
    return None


def is_supported(arn: str) -> bool:
    parsed = parse_resource(arn)
    return parsed is not None and unsupported_reason(parsed) is None


def uses_service_integrations(definition: Any) -> bool:
    """Whether any Task in ``definition`` (raw JSON, nested states included) names a service integration."""
    stack = [definition]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            resource = node.get("Resource")
            if node.get("Type") == "Task" and isinstance(resource, str) and parse_resource(resource):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
