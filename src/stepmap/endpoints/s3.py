"""The S3 REST API over an :class:`~stepmap.storage.ObjectStore` (the embedded directory by default).

Served: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning;
ListObjectsV2 and ListObjects (prefix, delimiter, pagination, start-after/marker, ``encoding-type=url``);
GetObject (ranges, conditional headers, ``response-*`` overrides), HeadObject, PutObject (``Content-MD5``
and CRC32/SHA checksums verified before anything is stored; ``aws-chunked`` bodies), CopyObject,
DeleteObject, DeleteObjects; multipart upload (Create, UploadPart, UploadPartCopy, Complete, Abort).
Path-style (``/bucket/key``) and virtual-host style (``bucket.localhost``, ``bucket.s3.amazonaws.com``)
addressing; presigned URLs (their expiry is enforced, signatures are not checked, as for every request
on loopback). Anything else is ``NotImplemented`` (501), never a wrong answer.

Deviations, all documented in docs/endpoints.md: the ETag of a multipart object is the MD5 of its content
(AWS: MD5 of the part MD5s and ``-N``); no versioning, ACLs, tagging or object lock.

State: in-progress multipart uploads live under ``<state dir>/s3-uploads/<upload id>/`` (a JSON file
naming bucket, key and headers, and one file per part); everything else is the store.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import mimetypes
import os
import re
import secrets
import shutil
import zlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qsl, quote, unquote

from stepmap.endpoints import s3xml
from stepmap.endpoints.protocol import HttpRequest, HttpResponse, RestError
from stepmap.endpoints.s3xml import element, iso
from stepmap.endpoints.server import is_loopback
from stepmap.storage import BucketNotEmpty, NoSuchBucket, NoSuchKey, ObjectInfo, ObjectStore, StoreError
from stepmap.storage.errors import StoreUnavailable
from stepmap.storage.objects import MAX_KEY_BYTES, check_bucket_name

__all__ = ["S3Service"]

MAX_KEYS = 1000
MAX_PARTS = 10_000
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_DELETE_KEYS = 1000
_STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
# Past every key with this prefix: UTF-8 bytes are at most 0xF4, and a key is at most 1024 bytes.
_PAST = "\U0010ffff" * (MAX_KEY_BYTES // 4)
_SKIP_BEFORE_RESTART = 256  # keys of one common prefix walked past before listing again from past it
_VHOST = re.compile(r"^(?P<bucket>.+?)\.(?:localhost|s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com)$")


def _bad(message: str, code: str = "InvalidArgument", status: int = 400, **fields: str) -> RestError:
    return RestError(code, message, status, **fields)


class S3Service:
    """Callable REST service: ``S3Service(store)(request) -> response``."""

    def __init__(self, store: Callable[[], ObjectStore], uploads_dir: str | None = None) -> None:
        self._store = store
        self.uploads_dir = uploads_dir

    @property
    def store(self) -> ObjectStore:
        return self._store()

    # -- routing -------------------------------------------------------------------------------
    def __call__(self, request: HttpRequest) -> HttpResponse:
        bucket, key = self._address(request)
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        _check_presigned(query)
        try:
            return self._route(request, bucket, key, query)
        except NoSuchBucket as exc:
            raise _bad(
                "The specified bucket does not exist", "NoSuchBucket", 404, BucketName=exc.bucket
            ) from None
        except NoSuchKey as exc:
            raise _bad("The specified key does not exist.", "NoSuchKey", 404, Key=exc.key) from None
        except BucketNotEmpty as exc:
            raise _bad(
                "The bucket you tried to delete is not empty", "BucketNotEmpty", 409, BucketName=exc.bucket
            ) from None
        except StoreUnavailable as exc:
            raise _bad(f"The store is unavailable: {exc}", "ServiceUnavailable", 503) from None
        except StoreError as exc:
            message = str(exc)
            if "symbolic link" in message:
                raise _bad(message, "AccessDenied", 403) from None
            raise _bad(message, "InvalidRequest") from None

    def _address(self, request: HttpRequest) -> tuple[str | None, str | None]:
        """(bucket, key) from virtual-host style or path-style addressing."""
        path = request.path
        host = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else ""
        match = None if not host or is_loopback(host) else _VHOST.match(host.lower())
        if match:
            bucket: str | None = match.group("bucket")
            rest = path[1:] if path.startswith("/") else path
            key = unquote(rest) if rest else None
        else:
            rest = path[1:] if path.startswith("/") else path
            if not rest:
                return None, None
            raw_bucket, sep, raw_key = rest.partition("/")
            bucket = unquote(raw_bucket)
            key = unquote(raw_key) if sep and raw_key else None
        if bucket is not None:
            try:
                check_bucket_name(bucket)
            except StoreError:
                raise _bad(
                    "The specified bucket is not valid.", "InvalidBucketName", BucketName=bucket
                ) from None
        if key is not None:
            try:
                raw = key.encode("utf-8")
            except UnicodeEncodeError:
                raise _bad("Object key is not valid UTF-8.") from None
            if len(raw) > MAX_KEY_BYTES:
                raise _bad("Your key is too long", "KeyTooLongError")
        return bucket, key

    def _route(
        self, request: HttpRequest, bucket: str | None, key: str | None, query: dict[str, str]
    ) -> HttpResponse:
        method = request.method
        if bucket is None:
            if method == "GET":
                return self.list_buckets()
            raise _not_implemented(method, "the service")
        if key is None:
            return self._bucket_operation(request, bucket, query)
        if "uploadId" in query:
            if method == "PUT" and "partNumber" in query:
                return self.upload_part(request, bucket, key, query)
            if method == "POST":
                return self.complete_upload(request, bucket, key, query["uploadId"])
            if method == "DELETE":
                return self.abort_upload(bucket, key, query["uploadId"])
            raise _not_implemented(method, "uploadId (ListParts)")
        if method == "POST" and "uploads" in query:
            return self.create_upload(request, bucket, key)
        subresources = sorted(set(query) & _OBJECT_SUBRESOURCES)
        if subresources:
            raise _not_implemented(method, f"?{subresources[0]}")
        if method in ("GET", "HEAD"):
            return self.get_object(request, bucket, key, query, head=method == "HEAD")
        if method == "PUT":
            if request.headers.get("x-amz-copy-source"):
                return self.copy_object(request, bucket, key)
            return self.put_object(request, bucket, key)
        if method == "DELETE":
            self.store.delete(bucket, key)
            return HttpResponse(204)
        raise _not_implemented(method, "an object")

    def _bucket_operation(self, request: HttpRequest, bucket: str, query: dict[str, str]) -> HttpResponse:
        method = request.method
        store = self.store
        if method == "GET" and "location" in query:
            _require_bucket(store, bucket)
            return _xml("LocationConstraint", [])
        if method == "GET" and "versioning" in query:
            _require_bucket(store, bucket)
            return _xml("VersioningConfiguration", [])
        if method == "POST" and "delete" in query:
            return self.delete_objects(request, bucket)
        subresources = sorted(set(query) & _BUCKET_SUBRESOURCES)
        if subresources:
            raise _not_implemented(method, f"?{subresources[0]}")
        if method == "GET":
            return self.list_objects(bucket, query, v2=query.get("list-type") == "2")
        if method == "HEAD":
            _require_bucket(store, bucket)
            return HttpResponse(200, [("x-amz-bucket-region", "us-east-1")])
        if method == "PUT":
            body = _read_small(request, s3xml.MAX_XML_BODY)
            if body.strip():
                s3xml.parse(body, "CreateBucketConfiguration")
            store.create_bucket(bucket)
            return HttpResponse(200, [("Location", f"/{bucket}")])
        if method == "DELETE":
            store.delete_bucket(bucket)
            return HttpResponse(204)
        raise _not_implemented(method, "a bucket")

    # -- buckets --------------------------------------------------------------------------------
    def list_buckets(self) -> HttpResponse:
        names = self.store.list_buckets()
        epoch = iso(datetime(2024, 1, 1, tzinfo=UTC))
        buckets = "".join(
            f"<Bucket>{element('Name', name)}{element('CreationDate', epoch)}</Bucket>" for name in names
        )
        owner = "<Owner><ID>stepmap</ID><DisplayName>stepmap</DisplayName></Owner>"
        return _xml("ListAllMyBucketsResult", [owner, f"<Buckets>{buckets}</Buckets>"])

    # -- listing --------------------------------------------------------------------------------
    def list_objects(self, bucket: str, query: Mapping[str, str], *, v2: bool) -> HttpResponse:
        store = self.store
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        try:
            max_keys = min(int(query.get("max-keys", MAX_KEYS)), MAX_KEYS)
        except ValueError:
            raise _bad("Provided max-keys not an integer or within integer range") from None
        if max_keys < 0:
            raise _bad("Argument maxKeys must be an integer between 0 and 2147483647")
        encoding = query.get("encoding-type")
        if encoding not in (None, "url"):
            raise _bad("Invalid Encoding Method specified in Request")
        token = query.get("continuation-token")
        if v2:
            start_after = query.get("start-after", "")
            after = _decode_token(token) if token is not None else start_after
        else:
            after = query.get("marker", "")
        _require_bucket(store, bucket)

        def enc(value: str) -> str:
            return quote(value, safe="/") if encoding == "url" else value

        contents: list[str] = []
        prefixes: list[str] = []
        truncated = False
        last = ""  # the listing position after the last entry returned
        count = 0
        position = after or None
        skipping = None  # the common prefix whose keys are being passed over
        skipped = 0
        while True:
            restart = None
            for info in store.list(bucket, prefix, start_after=position):
                if skipping is not None:
                    if info.key.startswith(skipping):
                        skipped += 1
                        if skipped >= _SKIP_BEFORE_RESTART:
                            # a big folder: list again from past it rather than walking all of it
                            restart = skipping + _PAST
                            break
                        continue
                    skipping = None
                if count >= max_keys:
                    truncated = True
                    break
                rest = info.key[len(prefix) :]
                cut = rest.find(delimiter) if delimiter else -1
                if cut >= 0:
                    common = prefix + rest[: cut + len(delimiter)]
                    prefixes.append(f"<CommonPrefixes>{element('Prefix', enc(common))}</CommonPrefixes>")
                    count += 1
                    last = common + _PAST  # past every key under this prefix
                    skipping, skipped = common, 0
                    continue
                contents.append(_contents(info, enc, owner=not v2))
                count += 1
                last = info.key
            if restart is None:
                break
            position, skipping = restart, None
        parts = [element("Name", bucket), element("Prefix", enc(prefix))]
        if v2:
            if token is not None:
                parts.append(element("ContinuationToken", token))
            if query.get("start-after"):
                parts.append(element("StartAfter", enc(query["start-after"])))
            parts.append(element("KeyCount", count))
        else:
            parts.append(element("Marker", enc(after)))
            if truncated and delimiter:
                parts.append(
                    element("NextMarker", enc(last[: -len(_PAST)] if last.endswith(_PAST) else last))
                )
        parts.append(element("MaxKeys", max_keys))
        if delimiter:
            parts.append(element("Delimiter", enc(delimiter)))
        if encoding:
            parts.append(element("EncodingType", encoding))
        parts.append(element("IsTruncated", "true" if truncated else "false"))
        if v2 and truncated:
            parts.append(element("NextContinuationToken", _encode_token(last)))
        return _xml("ListBucketResult", parts + contents + prefixes)

    # -- objects --------------------------------------------------------------------------------
    def get_object(
        self, request: HttpRequest, bucket: str, key: str, query: Mapping[str, str], *, head: bool
    ) -> HttpResponse:
        stream, info = self.store.open_with_info(bucket, key)
        try:
            headers = _object_headers(info)
            status = _preconditions(request.headers, info)
            if status:
                stream.close()
                return HttpResponse(status, [h for h in headers if h[0] in ("ETag", "Last-Modified")])
            for name, header in _RESPONSE_OVERRIDES.items():
                if name in query:
                    headers = [h for h in headers if h[0].lower() != header.lower()] + [(header, query[name])]
            start, length, status = 0, info.size, 200
            spec = request.headers.get("Range")
            if spec:
                span = _parse_range(spec, info.size)
                if span is not None:
                    start, end = span
                    length, status = end - start + 1, 206
                    headers.append(("Content-Range", f"bytes {start}-{end}/{info.size}"))
            headers.append(("Content-Length", str(length)))
            if head:
                stream.close()
                return HttpResponse(status, headers)
            stream.seek(start)
            return HttpResponse(status, headers, stream, length)
        except BaseException:
            stream.close()
            raise

    def put_object(self, request: HttpRequest, bucket: str, key: str) -> HttpResponse:
        _require_bucket(self.store, bucket)
        body = _checked_body(request)
        info = self.store.put_stream(bucket, key, cast(BinaryIO, body), _stored_headers(request.headers))
        return HttpResponse(200, [("ETag", info.etag), *body.checksum_headers()])

    def copy_object(self, request: HttpRequest, bucket: str, key: str) -> HttpResponse:
        source_bucket, source_key = _copy_source(request.headers["x-amz-copy-source"])
        directive = (request.headers.get("x-amz-metadata-directive") or "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise _bad("Unknown metadata directive.")
        _require_bucket(self.store, bucket)
        stream, info = self.store.open_with_info(source_bucket, source_key)
        with stream:
            status = _copy_preconditions(request.headers, info)
            if status:
                raise _bad(
                    "At least one of the pre-conditions you specified did not hold", "PreconditionFailed", 412
                )
            if (source_bucket, source_key) == (bucket, key) and directive == "COPY":
                raise _bad(
                    "This copy request is illegal because it is trying to copy an object to itself without "
                    "changing the object's metadata, storage class, website redirect location or encryption "
                    "attributes.",
                    "InvalidRequest",
                )
            metadata = dict(info.metadata) if directive == "COPY" else _stored_headers(request.headers)
            copied = self.store.put_stream(bucket, key, stream, metadata)
        result = [element("LastModified", iso(copied.last_modified)), element("ETag", copied.etag)]
        return _xml("CopyObjectResult", result)

    def delete_objects(self, request: HttpRequest, bucket: str) -> HttpResponse:
        tree = s3xml.parse(_read_small(request, s3xml.MAX_XML_BODY), "Delete")
        quiet = (tree.findtext("Quiet") or "").strip().lower() == "true"
        objects = tree.findall("Object")
        if len(objects) > MAX_DELETE_KEYS or not objects:
            raise _bad(
                "The XML you provided was not well-formed or did not validate against our published schema.",
                "MalformedXML",
            )
        _require_bucket(self.store, bucket)
        results = []
        for obj in objects:
            key = obj.findtext("Key")
            if key is None:
                raise _bad(
                    "The XML you provided was not well-formed (an Object without a Key).", "MalformedXML"
                )
            try:
                self.store.delete(bucket, key)
            except StoreError as exc:
                code = "AccessDenied" if "symbolic link" in str(exc) else "InvalidArgument"
                results.append(
                    f"<Error>{element('Key', key)}{element('Code', code)}{element('Message', exc)}</Error>"
                )
                continue
            if not quiet:
                results.append(f"<Deleted>{element('Key', key)}</Deleted>")
        return _xml("DeleteResult", results)

    # -- multipart upload -------------------------------------------------------------------------
    def _uploads(self) -> str:
        if self.uploads_dir is None:
            raise _bad("This endpoint has no state directory for multipart uploads.", "NotImplemented", 501)
        return self.uploads_dir

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[str, dict[str, Any]]:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise _no_upload(upload_id)
        folder = os.path.join(self._uploads(), upload_id)
        try:
            with open(os.path.join(folder, "upload.json"), encoding="utf-8") as f:
                record: dict[str, Any] = json.load(f)
        except (OSError, ValueError):
            raise _no_upload(upload_id) from None
        if (record.get("bucket"), record.get("key")) != (bucket, key):
            raise _no_upload(upload_id)
        return folder, record

    def create_upload(self, request: HttpRequest, bucket: str, key: str) -> HttpResponse:
        _require_bucket(self.store, bucket)
        upload_id = secrets.token_hex(16)
        folder = os.path.join(self._uploads(), upload_id)
        os.makedirs(folder)
        record = {"bucket": bucket, "key": key, "headers": _stored_headers(request.headers)}
        with open(os.path.join(folder, "upload.json"), "w", encoding="utf-8") as f:
            json.dump(record, f)
        parts = [element("Bucket", bucket), element("Key", key), element("UploadId", upload_id)]
        return _xml("InitiateMultipartUploadResult", parts)

    def upload_part(
        self, request: HttpRequest, bucket: str, key: str, query: Mapping[str, str]
    ) -> HttpResponse:
        folder, _ = self._upload(bucket, key, query["uploadId"])
        try:
            number = int(query["partNumber"])
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_PARTS:
            raise _bad("Part number must be an integer between 1 and 10000, inclusive")
        copy_source = request.headers.get("x-amz-copy-source")
        tmp = os.path.join(folder, f".part-{secrets.token_hex(8)}")
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with open(tmp, "wb") as out:
                if copy_source:
                    source: BinaryIO = _copy_range(self.store, copy_source, request.headers)
                else:
                    source = _checked_body(request)  # type: ignore[assignment]
                with source:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
            os.replace(tmp, os.path.join(folder, f"{number:05d}"))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        etag = f'"{digest.hexdigest()}"'
        with open(os.path.join(folder, f"{number:05d}.etag"), "w", encoding="ascii") as f:
            f.write(etag)
        if copy_source:
            now = iso(datetime.now(UTC))
            return _xml("CopyPartResult", [element("LastModified", now), element("ETag", etag)])
        return HttpResponse(200, [("ETag", etag)])

    def complete_upload(self, request: HttpRequest, bucket: str, key: str, upload_id: str) -> HttpResponse:
        folder, record = self._upload(bucket, key, upload_id)
        tree = s3xml.parse(_read_small(request, s3xml.MAX_XML_BODY), "CompleteMultipartUpload")
        listed = tree.findall("Part")
        if not listed:
            raise _bad("You must specify at least one part", "MalformedXML")
        numbers = []
        for part in listed:
            try:
                numbers.append(int(part.findtext("PartNumber") or ""))
            except ValueError:
                raise _bad("The XML you provided was not well-formed (PartNumber).", "MalformedXML") from None
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise _bad("The list of parts was not in ascending order.", "InvalidPartOrder")
        paths = []
        for i, (number, part) in enumerate(zip(numbers, listed)):
            path = os.path.join(folder, f"{number:05d}")
            try:
                with open(path + ".etag", encoding="ascii") as f:
                    etag = f.read()
            except OSError:
                raise _invalid_part() from None
            if (part.findtext("ETag") or "").strip().strip('"') != etag.strip('"'):
                raise _invalid_part()
            if i < len(listed) - 1 and os.path.getsize(path) < MIN_PART_SIZE:
                raise _bad(
                    "Your proposed upload is smaller than the minimum allowed object size.", "EntityTooSmall"
                )
            paths.append(path)
        with _Concatenated(paths) as stream:
            info = self.store.put_stream(bucket, key, cast(BinaryIO, stream), record.get("headers") or {})
        shutil.rmtree(folder, ignore_errors=True)
        parts = [
            element("Location", f"/{bucket}/{quote(key)}"),
            element("Bucket", bucket),
            element("Key", key),
            element("ETag", info.etag),
        ]
        return _xml("CompleteMultipartUploadResult", parts)

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> HttpResponse:
        folder, _ = self._upload(bucket, key, upload_id)
        shutil.rmtree(folder, ignore_errors=True)
        return HttpResponse(204)


_OBJECT_SUBRESOURCES = {
    "acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select", "attributes", "versionId",
    "partNumber", "uploads",
}  # fmt: skip
_BUCKET_SUBRESOURCES = {
    "acl", "policy", "cors", "lifecycle", "tagging", "website", "logging", "notification", "replication",
    "encryption", "uploads", "versions", "versioning", "location", "ownershipControls", "publicAccessBlock",
    "object-lock", "accelerate", "requestPayment", "analytics", "metrics", "inventory", "intelligent-tiering",
    "policyStatus",
}  # fmt: skip


def _not_implemented(method: str, what: str) -> RestError:
    return _bad(f"stepmap's S3 endpoint does not implement {method} on {what}", "NotImplemented", 501)


def _no_upload(upload_id: str) -> RestError:
    return _bad(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        "NoSuchUpload",
        404,
        UploadId=upload_id,
    )


def _invalid_part() -> RestError:
    return _bad(
        "One or more of the specified parts could not be found. The part may not have been uploaded, or "
        "the specified entity tag may not match the part's entity tag.",
        "InvalidPart",
    )


def _require_bucket(store: ObjectStore, bucket: str) -> None:
    if not store.bucket_exists(bucket):
        raise NoSuchBucket(bucket)


def _xml(root: str, parts: list[str]) -> HttpResponse:
    return HttpResponse(200, [("Content-Type", "application/xml")], s3xml.document(root, parts))


def _contents(info: ObjectInfo, enc: Callable[[str], str], *, owner: bool) -> str:
    fields = [
        element("Key", enc(info.key)),
        element("LastModified", iso(info.last_modified)),
        element("ETag", info.etag),
        element("Size", info.size),
        element("StorageClass", info.storage_class),
    ]
    if owner:
        fields.append("<Owner><ID>stepmap</ID><DisplayName>stepmap</DisplayName></Owner>")
    return f"<Contents>{''.join(fields)}</Contents>"


def _encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        raise _bad("The continuation token provided is incorrect") from None


def _object_headers(info: ObjectInfo) -> list[tuple[str, str]]:
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


def _stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers S3 keeps with an object. Without a Content-Type S3 stores binary/octet-stream (only
    files that came into the store by other ways get a type guessed from their name)."""
    kept = {name: headers[name] for name in _STORED_HEADERS if headers.get(name)}
    kept.setdefault("content-type", "binary/octet-stream")
    kept.update(
        (name.lower(), value) for name, value in headers.items() if name.lower().startswith("x-amz-meta-")
    )
    if sum(len(k) + len(v) for k, v in kept.items() if k.startswith("x-amz-meta-")) > 2048:
        raise _bad("Your metadata headers exceed the maximum allowed metadata size.", "MetadataTooLarge")
    return kept


def _parse_range(spec: str, size: int) -> tuple[int, int] | None:
    """Inclusive ``(first, last)`` of a single ``bytes=`` range; None: serve the whole object (as S3
    does for a syntax it ignores); InvalidRange when it starts past the end."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", spec)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise _invalid_range(size)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _invalid_range(size)
    return start, min(end, size - 1)


def _invalid_range(size: int) -> RestError:
    return _bad("The requested range is not satisfiable", "InvalidRange", 416, ActualObjectSize=str(size))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _etags(value: str) -> set[str]:
    return {v.strip().strip('"') for v in value.split(",")}


def _preconditions(headers: Mapping[str, str], info: ObjectInfo) -> int:
    """412 or 304 when a conditional GET/HEAD header says so, else 0 (RFC 7232 order, as S3)."""
    etag = info.etag.strip('"')
    modified = info.last_modified.replace(microsecond=0)
    if_match = headers.get("If-Match")
    if if_match and etag not in _etags(if_match) and "*" not in _etags(if_match):
        return 412
    since = _http_date(headers.get("If-Unmodified-Since"))
    if not if_match and since is not None and modified > since:
        return 412
    none_match = headers.get("If-None-Match")
    if none_match and (etag in _etags(none_match) or "*" in _etags(none_match)):
        return 304
    since = _http_date(headers.get("If-Modified-Since"))
    if not none_match and since is not None and modified <= since:
        return 304
    return 0


def _copy_preconditions(headers: Mapping[str, str], info: ObjectInfo) -> int:
    renamed = {
        name.removeprefix("x-amz-copy-source-if-").replace("-", " ").title().replace(" ", "-"): value
        for name, value in headers.items()
        if name.lower().startswith("x-amz-copy-source-if-")
    }
    mapped = {f"If-{k}": v for k, v in renamed.items()}
    status = _preconditions(mapped, info)
    return 412 if status else 0


def _copy_source(value: str) -> tuple[str, str]:
    source = unquote(value.split("?", 1)[0]).lstrip("/")
    bucket, sep, key = source.partition("/")
    if not sep or not key:
        raise _bad("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
    try:
        check_bucket_name(bucket)
    except StoreError:
        raise _bad("The specified bucket is not valid.", "InvalidBucketName", BucketName=bucket) from None
    return bucket, key


def _copy_range(store: ObjectStore, copy_source: str, headers: Mapping[str, str]) -> BinaryIO:
    bucket, key = _copy_source(copy_source)
    stream, info = store.open_with_info(bucket, key)
    spec = headers.get("x-amz-copy-source-range")
    if not spec:
        return stream
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", spec.strip())
    if not match or int(match.group(2)) < int(match.group(1)) or int(match.group(2)) >= info.size:
        stream.close()
        raise _bad(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            "InvalidArgument",
        )
    start, end = int(match.group(1)), int(match.group(2))
    stream.seek(start)
    return cast(BinaryIO, _Slice(stream, end - start + 1))


def _check_presigned(query: Mapping[str, str]) -> None:
    """A presigned URL past its expiry is refused, as on AWS (the signature itself is not checked)."""
    if "X-Amz-Expires" not in query:
        return
    try:
        signed = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise _bad(
            "Invalid presigned URL: X-Amz-Date or X-Amz-Expires is malformed",
            "AuthorizationQueryParametersError",
        ) from None
    if datetime.now(UTC) > signed + timedelta(seconds=expires):
        raise _bad(
            "Request has expired", "AccessDenied", 403, Expires=iso(signed + timedelta(seconds=expires))
        )


def _read_small(request: HttpRequest, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise _bad(f"The request body is larger than {limit} bytes.", "MaxMessageLengthExceeded")
    data = request.body.read(limit + 1)
    if len(data) > limit:
        raise _bad(f"The request body is larger than {limit} bytes.", "MaxMessageLengthExceeded")
    return data


class _CheckedBody:
    """The request body as the store reads it, checked at its end against ``Content-MD5`` and any
    ``x-amz-checksum-*`` header or trailer: a mismatch raises before the store commits the object."""

    _CHECKSUMS: dict[str, Callable[[], Any]] = {
        "x-amz-checksum-crc32": lambda: _Crc32(),
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
            raise _bad(
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                "IncompleteBody",
            )
        headers = self.request.headers
        digest = None if self.md5 is None else base64.b64encode(self.md5.digest()).decode()
        if digest is not None and digest != headers.get("Content-MD5", "").strip():
            raise _bad("The Content-MD5 you specified did not match what we received.", "BadDigest")
        trailers = getattr(self.body, "trailers", {})
        computed = {name: base64.b64encode(h.digest()).decode() for name, h in self.hashes.items()}
        for name, value in computed.items():
            given = headers.get(name) or trailers.get(name)
            if given is not None:
                if given.strip() != value:
                    raise _bad(f"The {name} you specified did not match what we received.", "BadDigest")
                self.results[name] = value

    def checksum_headers(self) -> list[tuple[str, str]]:
        return list(self.results.items())

    def close(self) -> None:
        pass

    def __enter__(self) -> _CheckedBody:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _checked_body(request: HttpRequest) -> _CheckedBody:
    if (
        request.content_length is None
        and "chunked" not in (request.headers.get("Transfer-Encoding") or "").lower()
    ):
        raise _bad("You must provide the Content-Length HTTP header.", "MissingContentLength", 411)
    return _CheckedBody(request)


class _Crc32:
    """CRC32 with hashlib's update/digest interface."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


class _Slice:
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

    def __enter__(self) -> _Slice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Concatenated:
    """The parts of a multipart upload read one after another as one stream."""

    def __init__(self, paths: list[str]) -> None:
        self.paths: Iterator[str] = iter(paths)
        self.current: BinaryIO | None = None

    def read(self, n: int = -1) -> bytes:
        while True:
            if self.current is None:
                path = next(self.paths, None)
                if path is None:
                    return b""
                self.current = open(path, "rb")  # noqa: SIM115 - closed when exhausted or in close()
            data = self.current.read(n)
            if data:
                return data
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None

    def __enter__(self) -> _Concatenated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
