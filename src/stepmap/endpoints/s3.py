"""The S3 REST API over an :class:`~stepmap.storage.ObjectStore` (being built: answers NotImplemented)."""

from __future__ import annotations

from collections.abc import Callable

from stepmap.endpoints.protocol import HttpRequest, HttpResponse, RestError
from stepmap.storage import ObjectStore

__all__ = ["S3Service"]


class S3Service:
    def __init__(self, store: Callable[[], ObjectStore]) -> None:
        self._store = store

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raise RestError("NotImplemented", "the S3 API is not implemented yet", 501)
