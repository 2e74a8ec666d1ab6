"""Which services the endpoint serves, built from one :class:`EndpointContext`.

:func:`build_json_services` is the one place JSON 1.0 services are registered: each service adds ONE line
(``services["<X-Amz-Target prefix>"] = <its JsonService>``), so branches that add services merge cleanly.
:func:`build_rest_service` gives the S3 REST API over the configured object store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stepmap.endpoints.protocol import JsonService, RestService

if TYPE_CHECKING:
    from stepmap.storage import ObjectStore, StoreConfig, TableConfig

__all__ = ["EndpointContext", "build_json_services", "build_rest_service"]


class EndpointContext:
    """Where the endpoint's services find stepmap's state: the same environment ``stepmap run`` gives
    handlers (``STEPMAP_STATE_DIR``, ``STEPMAP_STORE``, ``STEPMAP_TABLES``, ...). The object store is
    opened on first use and shared by every request."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.state_dir = os.path.abspath(self.env.get("STEPMAP_STATE_DIR") or ".stepmap")
        self._store: ObjectStore | None = None
        self.run_options: dict[str, Any] = {}  # how Step Functions runs executions: functions, executor

    @classmethod
    def from_options(
        cls, store: str | None = None, s3_endpoint: str | None = None, state_dir: str | None = None
    ) -> EndpointContext:
        """The context for ``--store``, ``--s3-endpoint``, ``--state-dir`` as ``stepmap run`` reads them."""
        from stepmap.service.runner import storage_env

        return cls(storage_env(store, s3_endpoint, state_dir))

    @property
    def store_config(self) -> StoreConfig:
        from stepmap.storage import StoreConfig

        return StoreConfig.from_env(self.env)

    @property
    def table_config(self) -> TableConfig:
        from stepmap.storage import TableConfig

        return TableConfig.from_env(self.env)

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            from stepmap.storage import open_store

            self._store = open_store(self.store_config)
        return self._store


def build_json_services(ctx: EndpointContext) -> dict[str, JsonService]:
    """The JSON 1.0 services by ``X-Amz-Target`` prefix."""
    services: dict[str, JsonService] = {}

    # DynamoDB (branch i11b): its one registration line goes below.
    services.update(_dynamodb(ctx))

    # SQS and EventBridge (branch i12): over the state directory's message store.
    services.update(_messaging(ctx))

    # Step Functions (branch i13): its one registration line goes below.
    services["AWSStepFunctions"] = _stepfunctions(ctx)

    return services


def _messaging(ctx: EndpointContext) -> dict[str, JsonService]:
    from stepmap.endpoints.sqs import EVENTS_TARGET_PREFIX, SQS_TARGET_PREFIX, EventsService, SqsService
    from stepmap.storage.messages import MessageStore

    store = MessageStore(ctx.state_dir)
    return {SQS_TARGET_PREFIX: SqsService(store), EVENTS_TARGET_PREFIX: EventsService(store)}


def _stepfunctions(ctx: EndpointContext) -> JsonService:
    from stepmap.endpoints.stepfunctions import StepFunctionsEndpoint

    return StepFunctionsEndpoint(ctx)


def _dynamodb(ctx: EndpointContext) -> dict[str, JsonService]:
    """DynamoDB over the embedded SQLite tables (none when tables are on a real DynamoDB)."""
    from stepmap.endpoints.dynamodb import TARGET_PREFIX, dynamodb_service

    service = dynamodb_service(ctx)
    return {} if service is None else {TARGET_PREFIX: service}


def build_rest_service(ctx: EndpointContext) -> RestService | None:
    """The REST service (S3 over the configured object store)."""
    from stepmap.endpoints.s3 import S3Service

    return S3Service(lambda: ctx.store, uploads_dir=os.path.join(ctx.state_dir, "s3-uploads"))
