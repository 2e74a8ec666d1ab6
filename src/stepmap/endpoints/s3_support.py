"""What the S3 operations share: AWS-shaped errors, stored and returned headers, byte ranges, conditional
requests, copy sources, presigned-URL expiry, and request bodies checked against the client's digests
(``Content-MD5``, ``x-amz-checksum-*`` headers or trailers) before a store commits them."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, BinaryIO, cast
from urllib.parse import unquote

from stepmap.endpoints import s3xml
from stepmap.endpoints.protocol import HttpRequest, HttpResponse, RestError
from stepmap.endpoints.s3xml import iso
from stepmap.storage import NoSuchBucket, ObjectInfo, ObjectStore, StoreError
from stepmap.storage.objects import check_bucket_name

__all__ = [
    "STORED_HEADERS",
    "CheckedBody",
    "Crc32",
    "Slice",
    "bad",
    "check_presigned",
    "checked_body",
    "copy_preconditions",
    "copy_range",
    "copy_source",
    "etags",
    "http_date",
    "int_param",
    "invalid_range",
    "not_implemented",
    "object_headers",
    "parse_range",
    "preconditions",
    "read_small",
    "require_bucket",
    "stored_headers",
    "xml_response",
]


STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)


def bad(message: str, code: str = "InvalidArgument", status: int = 400, **fields: str) -> RestError:
    return RestError(code, message, status, **fields)


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise bad(f"Provided {name} not an integer or within integer range") from None
    if value < 0:
        raise bad(f"Argument {name} must be an integer between 0 and 2147483647")
    return value


def not_implemented(method: str, what: str) -> RestError:
    return bad(f"stepmap's S3 endpoint does not implement {method} on {what}", "NotImplemented", 501)


def require_bucket(store: ObjectStore, bucket: str) -> None:
    if not store.bucket_exists(bucket):
        raise NoSuchBucket(bucket)


def xml_response(root: str, parts: list[str]) -> HttpResponse:
    return HttpResponse(200, [("Content-Type", "application/xml")], s3xml.document(root, parts))


def object_headers(info: ObjectInfo) -> list[tuple[str, str]]:
    stored = dict(info.metadata)
    content_type = (
        stored.pop("content-type", None) or mimetypes.guess_type(info.key)[0] or "binary/octet-stream"
    )
    headers = [
        ("Content-Type", content_type),
        ("ETag", info.etag),
        ("Last-Modified", format_datetime(info.last_modified.replace(microsecond=0), usegmt=True)),
        ("Accept-Ranges", "bytes"),
    ]
    headers.extend((name, value) for name, value in stored.items())
    return headers


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers S3 keeps with an object. Without a Content-Type S3 stores binary/octet-stream (only
    files that came into the store by other ways get a type guessed from their name)."""
    kept = {name: headers[name] for name in STORED_HEADERS if headers.get(name)}
    kept.setdefault("content-type", "binary/octet-stream")
    kept.update(
        (name.lower(), value) for name, value in headers.items() if name.lower().startswith("x-amz-meta-")
    )
    if sum(len(k) + len(v) for k, v in kept.items() if k.startswith("x-amz-meta-")) > 2048:
        raise bad("Your metadata headers exceed the maximum allowed metadata size.", "MetadataTooLarge")
    return kept


def parse_range(spec: str, size: int) -> tuple[int, int] | None:
    """Inclusive ``(first, last)`` of a single ``bytes=`` range; None: serve the whole object (as S3
    does for a syntax it ignores); InvalidRange when it starts past the end."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", spec)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise invalid_range(size)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise invalid_range(size)
    return start, min(end, size - 1)


def invalid_range(size: int) -> RestError:
    return bad("The requested range is not satisfiable", "InvalidRange", 416, ActualObjectSize=str(size))


def http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def etags(value: str) -> set[str]:
    return {v.strip().strip('"') for v in value.split(",")}


def preconditions(headers: Mapping[str, str], info: ObjectInfo) -> int:
    """412 or 304 when a conditional GET/HEAD header says so, else 0 (RFC 7232 order, as S3)."""
    etag = info.etag.strip('"')
    modified = info.last_modified.replace(microsecond=0)
    if_match = headers.get("If-Match")
    if if_match and etag not in etags(if_match) and "*" not in etags(if_match):
        return 412
    since = http_date(headers.get("If-Unmodified-Since"))
    if not if_match and since is not None and modified > since:
        return 412
    none_match = headers.get("If-None-Match")
    if none_match and (etag in etags(none_match) or "*" in etags(none_match)):
        return 304
    since = http_date(headers.get("If-Modified-Since"))
    if not none_match and since is not None and modified <= since:
        return 304
    return 0


def copy_preconditions(headers: Mapping[str, str], info: ObjectInfo) -> int:
    renamed = {
        name.removeprefix("x-amz-copy-source-if-").replace("-", " ").title().replace(" ", "-"): value
        for name, value in headers.items()
        if name.lower().startswith("x-amz-copy-source-if-")
    }
    mapped = {f"If-{k}": v for k, v in renamed.items()}
    status = preconditions(mapped, info)
    return 412 if status else 0


def copy_source(value: str) -> tuple[str, str]:
    source = unquote(value.split("?", 1)[0]).lstrip("/")
    bucket, sep, key = source.partition("/")
    if not sep or not key:
        raise bad("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
    try:
        check_bucket_name(bucket)
    except StoreError:
        raise bad("The specified bucket is not valid.", "InvalidBucketName", BucketName=bucket) from None
    return bucket, key


def copy_range(store: ObjectStore, source_header: str, headers: Mapping[str, str]) -> BinaryIO:
    bucket, key = copy_source(source_header)
    stream, info = store.open_with_info(bucket, key)
    spec = headers.get("x-amz-copy-source-range")
    if not spec:
        return stream
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", spec.strip())
    if not match or int(match.group(2)) < int(match.group(1)) or int(match.group(2)) >= info.size:
        stream.close()
        raise bad(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            "InvalidArgument",
        )
    start, end = int(match.group(1)), int(match.group(2))
    stream.seek(start)
    return cast(BinaryIO, Slice(stream, end - start + 1))


def check_presigned(query: Mapping[str, str]) -> None:
    """A presigned URL past its expiry is refused, as on AWS (the signature itself is not checked)."""
    if "X-Amz-Expires" not in query:
        return
    try:
        signed = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise bad(
            "Invalid presigned URL: X-Amz-Date or X-Amz-Expires is malformed",
            "AuthorizationQueryParametersError",
        ) from None
    if datetime.now(UTC) > signed + timedelta(seconds=expires):
        raise bad(
            "Request has expired", "AccessDenied", 403, Expires=iso(signed + timedelta(seconds=expires))
        )


def read_small(request: HttpRequest, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise bad(f"The request body is larger than {limit} bytes.", "MaxMessageLengthExceeded")
    data = request.body.read(limit + 1)
    if len(data) > limit:
        raise bad(f"The request body is larger than {limit} bytes.", "MaxMessageLengthExceeded")
    return data


class CheckedBody:
    """The request body as the store reads it, checked at its end against ``Content-MD5`` and any
    ``x-amz-checksum-*`` header or trailer: a mismatch raises before the store commits the object."""

    _CHECKSUMS: dict[str, Callable[[], Any]] = {
        "x-amz-checksum-crc32": lambda: Crc32(),
        "x-amz-checksum-sha1": lambda: hashlib.sha1(usedforsecurity=False),
        "x-amz-checksum-sha256": hashlib.sha256,
    }

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.body = request.body
        self.length = request.content_length
        self.seen = 0
        self.md5 = hashlib.md5(usedforsecurity=False) if request.headers.get("Content-MD5") else None
        # Only the checksums the client sends (as a header, or announced as a trailer) are computed.
        wanted = {name.lower() for name in request.headers if name.lower().startswith("x-amz-checksum-")}
        wanted.update(t.strip().lower() for t in (request.headers.get("x-amz-trailer") or "").split(","))
        self.hashes = {name: make() for name, make in self._CHECKSUMS.items() if name in wanted}
        self.results: dict[str, str] = {}

    def read(self, n: int = -1) -> bytes:
        data = self.body.read(n)
        if data:
            self.seen += len(data)
            if self.md5 is not None:
                self.md5.update(data)
            for h in self.hashes.values():
                h.update(data)
            return data
        self._finish()
        return data

    def _finish(self) -> None:
        if self.length is not None and self.seen != self.length:
            raise bad(
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                "IncompleteBody",
            )
        headers = self.request.headers
        digest = None if self.md5 is None else base64.b64encode(self.md5.digest()).decode()
        if digest is not None and digest != headers.get("Content-MD5", "").strip():
            raise bad("The Content-MD5 you specified did not match what we received.", "BadDigest")
        trailers = getattr(self.body, "trailers", {})
        computed = {name: base64.b64encode(h.digest()).decode() for name, h in self.hashes.items()}
        for name, value in computed.items():
            given = headers.get(name) or trailers.get(name)
            if given is not None:
                if given.strip() != value:
                    raise bad(f"The {name} you specified did not match what we received.", "BadDigest")
                self.results[name] = value

    def checksum_headers(self) -> list[tuple[str, str]]:
        return list(self.results.items())

    def close(self) -> None:
        pass

    def __enter__(self) -> CheckedBody:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def checked_body(request: HttpRequest) -> CheckedBody:
    if (
        request.content_length is None
        and "chunked" not in (request.headers.get("Transfer-Encoding") or "").lower()
    ):
        raise bad("You must provide the Content-Length HTTP header.", "MissingContentLength", 411)
    return CheckedBody(request)


class Crc32:
    """CRC32 with hashlib's update/digest interface."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


class Slice:
    """``length`` bytes of a stream from its position; closes the stream."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self.stream = stream
        self.left = length

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.stream.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> Slice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
