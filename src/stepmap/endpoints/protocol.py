"""What a service on the endpoint sees and returns: the two AWS wire protocols stepmap serves.

* **AWS JSON 1.0** (DynamoDB, Step Functions): a ``POST /`` whose ``X-Amz-Target`` header reads
  ``<Prefix>.<Operation>``. A :data:`JsonService` takes a :class:`JsonRequest` and returns the
  response document (HTTP 200), or raises :class:`AwsJsonError`, which the server renders as AWS does:
  HTTP ``status``, body ``{"__type": code, "message": message}`` and header ``x-amzn-ErrorType``.
* **REST** (S3): any other request. A :data:`RestService` takes an :class:`HttpRequest` (the body as
  a bounded stream, never read whole by the server) and returns an :class:`HttpResponse` whose body is
  bytes or an open file the server streams and closes.

Nothing here holds state. No pickle crosses these types: bodies are bytes, JSON or XML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

__all__ = [
    "JSON_CONTENT_TYPE",
    "AwsJsonError",
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "JsonRequest",
    "JsonService",
    "RestError",
    "RestService",
]

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


class Headers(Mapping[str, str]):
    """Request headers with case-insensitive lookup; iterating gives the lower-case names."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, str] = {}
        for name, value in items:
            name = name.lower()
            self._items[name] = f"{self._items[name]},{value}" if name in self._items else value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class JsonRequest:
    """An AWS JSON 1.0 request (DynamoDB, Step Functions)."""

    operation: str  # from X-Amz-Target "<Prefix>.<Operation>", e.g. "PutItem"
    body: bytes  # raw request body (the server enforced its size limit before this)
    headers: Mapping[str, str]  # case-insensitive lookup


class AwsJsonError(Exception):
    """An error a JSON service returns to its client, e.g. ``AwsJsonError("ValidationException", ...)``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


JsonService = Callable[[JsonRequest], Mapping[str, Any]]


@dataclass
class HttpRequest:
    """One REST request. ``path`` is still percent-encoded (S3 keys may hold ``%2F``); ``body`` reads
    at most the request's (decoded) length and then returns ``b""``."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # case-insensitive lookup
    body: BinaryIO
    content_length: int | None  # the decoded length when known (None: read ``body`` to its end)
    host: str = ""
    access_key: str | None = None  # from the SigV4 credential, when the request is signed


@dataclass
class HttpResponse:
    """A REST response. ``body`` is bytes, or an open binary file the server sends ``length`` bytes of
    (from its current position) and then closes."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | BinaryIO = b""
    length: int | None = None  # for a file body; bytes bodies use their own length


class RestError(Exception):
    """An error a REST service returns, rendered as S3 does: ``<Error><Code>...`` XML (no body for HEAD).
    ``fields`` are extra elements of the error document, e.g. ``{"Key": key}`` or ``{"BucketName": b}``."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


RestService = Callable[[HttpRequest], HttpResponse]
