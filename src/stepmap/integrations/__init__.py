"""Service integrations: what a Task whose Resource is not a Lambda function calls.

The interpreter sees one port, :class:`~stepmap.interpreter.ports.TaskIntegrations`; this package fills it
with an :class:`IntegrationTable` from Resource pattern to integration. Each family lives in its own module
and may import boto3 (the interpreter never does):

* :mod:`~stepmap.integrations.aws_sdk` -- ``arn:aws:states:::aws-sdk:s3:*`` and ``aws-sdk:dynamodb:*``,
  generically through boto3 against stepmap's local endpoints;
* :mod:`~stepmap.integrations.dynamodb` -- the optimized ``dynamodb:getItem|putItem|updateItem|deleteItem``.

Which services and actions validation accepts is :data:`stepmap.asl.resources.SUPPORTED`; keep the two in
step when adding a family (``states:startExecution``, activities, callbacks, ...): register the family here
with :meth:`IntegrationTable.register` and its service in ``SUPPORTED``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from stepmap.asl.resources import ParsedResource, parse_resource
from stepmap.integrations.clients import Clients
from stepmap.interpreter.ports import TaskContext, TaskIntegration

__all__ = [
    "Clients",
    "Integration",
    "IntegrationTable",
    "ParsedResource",
    "TaskContext",
    "default_integrations",
    "find_integration",
]

Integration = TaskIntegration


class IntegrationTable:
    """Resource patterns (``fnmatch`` over ``<service>:<action>[.<pattern>]``) -> integrations; the first
    match wins. Picklable when its integrations are, so Distributed Map children use the same table."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, TaskIntegration]] = []
        self.fallback: TaskIntegration | None = None  # what no pattern matches (--aws passthrough)

    def register(self, pattern: str, integration: TaskIntegration) -> None:
        """``pattern`` like ``dynamodb:putItem``, ``aws-sdk:s3:*``, ``states:startExecution.sync*``."""
        self._entries.append((pattern, integration))

    def find(self, resource: ParsedResource) -> TaskIntegration | None:
        name = f"{resource.service}:{resource.resource}"
        for pattern, integration in self._entries:
            if fnmatch.fnmatchcase(name, pattern):
                return integration
        return self.fallback

    def find_arn(self, resource_arn: str) -> TaskIntegration | None:
        parsed = parse_resource(resource_arn)
        return None if parsed is None else self.find(parsed)


def default_integrations(
    endpoint: str | Callable[[], str] | None = None, *, region: str = "us-east-1"
) -> IntegrationTable:
    """The integrations stepmap runs locally, reaching the endpoints at ``endpoint`` (a URL, or a
    function that starts the endpoint server and returns its URL; None: ``AWS_ENDPOINT_URL``)."""
    from stepmap.integrations.aws_sdk import AwsSdkIntegration
    from stepmap.integrations.dynamodb import DynamoDbIntegration

    clients = Clients(endpoint, region=region)
    table = IntegrationTable()
    table.register("dynamodb:*", DynamoDbIntegration(clients))
    table.register("aws-sdk:s3:*", AwsSdkIntegration(clients))
    table.register("aws-sdk:dynamodb:*", AwsSdkIntegration(clients))
    return table


def find_integration(resource_arn: str, table: IntegrationTable | None = None) -> Any:
    """The integration for ``resource_arn`` in ``table`` (default: :func:`default_integrations`), or None
    for a Lambda resource (the interpreter's own path) or an unsupported one."""
    return (table or default_integrations()).find_arn(resource_arn)
