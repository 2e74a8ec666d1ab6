"""boto3 clients for the integrations, pointed at stepmap's local AWS endpoints.

A :class:`Clients` holds where the endpoints are (a URL, or a function that starts the endpoint server
on first use and returns its URL), a region and dummy credentials, and makes one boto3 client per service
per process, lazily. It travels to worker processes (Distributed Map children) as its resolved URL; the
clients are rebuilt there. stepmap never sends an integration's call to real AWS by accident: with no local
endpoint configured, the call fails with a clear :class:`~stepmap.errors.EngineError`.

State: the resolved endpoint URL and the per-process client cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from stepmap.errors import EngineError

__all__ = ["Clients"]

_PROCESS_CLIENTS: dict[tuple[str, str, str, int], Any] = {}  # boto3 clients are thread-safe


class Clients:
    def __init__(
        self,
        endpoint: str | Callable[[], str] | None = None,
        *,
        region: str = "us-east-1",
    ) -> None:
        self._endpoint = endpoint
        self.region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def endpoint_url(self) -> str:
        endpoint = self._endpoint
        if callable(endpoint):
            endpoint = self._endpoint = endpoint()
        if endpoint is None:
            endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise EngineError(
                "service integrations need stepmap's local AWS endpoints, and none is configured: run "
                "through `stepmap run` (which starts them) or give the endpoint URL (AWS_ENDPOINT_URL)"
            )
        return endpoint

    def client(self, service: str) -> Any:
        with self._lock:
            found = self._clients.get(service)
            if found is not None:
                return found
            shared = (self.endpoint_url(), self.region, service, os.getpid())
            found = _PROCESS_CLIENTS.get(shared)
            if found is not None:  # a worker unpickles a Clients per chunk: reuse the process's client
                self._clients[service] = found
                return found
            import boto3
            from botocore.config import Config

            session: Any = boto3.session.Session()
            client = session.client(
                service,
                endpoint_url=self.endpoint_url(),
                region_name=self.region,
                aws_access_key_id="stepmap",
                aws_secret_access_key="stepmap",
                config=Config(
                    retries={"max_attempts": 1, "mode": "standard"},  # Retry is the state's business
                    s3={"addressing_style": "path"},
                    connect_timeout=10,
                    read_timeout=300,
                ),
            )
            self._clients[service] = _PROCESS_CLIENTS[shared] = client
            return client

    def __getstate__(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint_url(), "region": self.region}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["endpoint"], region=state["region"])  # type: ignore[misc]
