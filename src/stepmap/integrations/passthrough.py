"""Opt-in passthrough (``stepmap run --aws passthrough``): Task integrations stepmap does not run locally go
to real AWS, with the user's own credentials and region, through the same generic boto3 path as the local
``aws-sdk:`` integrations (:func:`~stepmap.integrations.aws_sdk.call_api`: same parameters, same result
shapes, same ``<Service>.<Code>Exception`` error names).

What passes through: ``aws-sdk:<service>:<action>`` for any service botocore knows, and the
request-response form of optimized integrations whose action is an API operation of the service
(``athena:startQueryExecution``, ``glue:startJobRun``, ``bedrock:invokeModel`` -> ``bedrock-runtime``).
The ``.sync`` and ``.waitForTaskToken`` forms do not (yet): validation still refuses them. Without the
option nothing ever reaches AWS. The clients ignore ``AWS_ENDPOINT_URL`` (which points handlers at
stepmap's endpoint) and any configured endpoint, unless ``STEPMAP_AWS_ENDPOINT_URL`` names one (a proxy,
or a stub in tests).

State: per-process boto3 clients, rebuilt after pickling (Distributed Map children in workers).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.integrations.aws_sdk import call_api, plain_response
from stepmap.interpreter.ports import TaskContext

__all__ = ["PassthroughClients", "PassthroughIntegration", "boto3_service", "passes_through"]

# Step Functions' service names (aws-sdk:<name>, optimized <name>) that differ from boto3's
_BOTO3_NAMES = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "bedrock": "bedrock-runtime",  # the optimized bedrock:invokeModel
}


def boto3_service(service: str) -> str:
    name = service[len("aws-sdk:") :] if service.startswith("aws-sdk:") else service
    return _BOTO3_NAMES.get(name, name)


def passes_through(parsed: ParsedResource) -> bool:
    """Whether passthrough can run ``parsed``: request-response, and a service botocore knows."""
    if parsed.pattern is not None or parsed.service in ("activity", "states", "lambda"):
        return False
    import botocore.session

    return boto3_service(parsed.service) in botocore.session.get_session().get_available_services()


class PassthroughClients:
    """boto3 clients for real AWS (or ``STEPMAP_AWS_ENDPOINT_URL``), never stepmap's local endpoint."""

    def __init__(self, endpoint_url: str | None = None) -> None:
        self.endpoint_url = endpoint_url or os.environ.get("STEPMAP_AWS_ENDPOINT_URL") or None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                options: dict[str, Any] = {"ignore_configured_endpoint_urls": True}  # not AWS_ENDPOINT_URL
                config = Config(retries={"max_attempts": 1, "mode": "standard"}, **options)
                session: Any = boto3.session.Session()
                self._clients[service] = session.client(
                    service, endpoint_url=self.endpoint_url, config=config
                )
            return self._clients[service]

    def __getstate__(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint_url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["endpoint_url"])  # type: ignore[misc]


class PassthroughIntegration:
    def __init__(self, clients: PassthroughClients) -> None:
        self.clients = clients

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        if not passes_through(resource):
            raise StatesError("States.Runtime", f"Resource {resource.arn!r} cannot be sent to AWS by stepmap")
        service = boto3_service(resource.service)
        prefix = "".join(part.capitalize() for part in service.split("-"))
        operation = resource.action[0].upper() + resource.action[1:]
        return plain_response(call_api(self.clients, service, prefix, operation, parameters))  # type: ignore[arg-type]
