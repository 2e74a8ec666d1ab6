"""The S3 REST API over an :class:`~stepmap.storage.ObjectStore` (the embedded directory by default).

Served: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning;
ListObjectsV2 and ListObjects (prefix, delimiter, pagination, start-after/marker, ``encoding-type=url``);
GetObject (ranges, conditional headers, ``response-*`` overrides), HeadObject, PutObject (``Content-MD5``
and CRC32/SHA checksums verified before anything is stored; ``aws-chunked`` bodies), CopyObject,
DeleteObject, DeleteObjects; multipart upload (Create, UploadPart, UploadPartCopy, Complete, Abort,
ListParts, ListMultipartUploads); conditional PutObject (If-None-Match: *, If-Match).
Path-style (``/bucket/key``) and virtual-host style (``bucket.localhost``, ``bucket.s3.amazonaws.com``)
addressing; presigned URLs (their expiry is enforced, signatures are not checked, as for every request
on loopback). Anything else is ``NotImplemented`` (501), never a wrong answer.

Deviations, all documented in docs/endpoints.md: the ETag of a multipart object is the MD5 of its content
(AWS: MD5 of the part MD5s and ``-N``); no versioning, ACLs, tagging or object lock.

This module routes a request to its operation and serves buckets, listings and objects; multipart upload
is :mod:`stepmap.endpoints.s3_multipart`, what operations share is :mod:`stepmap.endpoints.s3_support`.
State: none here (objects are the store's; multipart uploads keep theirs in the state directory).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import BinaryIO, cast
from urllib.parse import parse_qsl, quote, unquote

from stepmap.endpoints import s3xml
from stepmap.endpoints.protocol import HttpRequest, HttpResponse
from stepmap.endpoints.s3_multipart import MultipartUploads
from stepmap.endpoints.s3_support import (
    bad,
    check_presigned,
    checked_body,
    copy_preconditions,
    copy_source,
    etags,
    not_implemented,
    object_headers,
    parse_range,
    preconditions,
    read_small,
    require_bucket,
    stored_headers,
    xml_response,
)
from stepmap.endpoints.s3xml import element, iso
from stepmap.endpoints.server import is_loopback
from stepmap.storage import BucketNotEmpty, NoSuchBucket, NoSuchKey, ObjectInfo, ObjectStore, StoreError
from stepmap.storage.errors import StoreUnavailable
from stepmap.storage.objects import MAX_KEY_BYTES, check_bucket_name

__all__ = ["S3Service"]

MAX_KEYS = 1000
MAX_DELETE_KEYS = 1000
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


class S3Service:
    """Callable REST service: ``S3Service(store)(request) -> response``."""

    def __init__(self, store: Callable[[], ObjectStore], uploads_dir: str | None = None) -> None:
        self._store = store
        self.uploads = MultipartUploads(store, uploads_dir)
        self._conditional = threading.Lock()

    @property
    def store(self) -> ObjectStore:
        return self._store()

    # -- routing -------------------------------------------------------------------------------
    def __call__(self, request: HttpRequest) -> HttpResponse:
        bucket, key = self._address(request)
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        check_presigned(query)
        try:
            return self._route(request, bucket, key, query)
        except NoSuchBucket as exc:
            raise bad(
                "The specified bucket does not exist", "NoSuchBucket", 404, BucketName=exc.bucket
            ) from None
        except NoSuchKey as exc:
            raise bad("The specified key does not exist.", "NoSuchKey", 404, Key=exc.key) from None
        except BucketNotEmpty as exc:
            raise bad(
                "The bucket you tried to delete is not empty", "BucketNotEmpty", 409, BucketName=exc.bucket
            ) from None
        except StoreUnavailable as exc:
            raise bad(f"The store is unavailable: {exc}", "ServiceUnavailable", 503) from None
        except StoreError as exc:
            message = str(exc)
            if "symbolic link" in message:
                raise bad(message, "AccessDenied", 403) from None
            raise bad(message, "InvalidRequest") from None

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
                raise bad(
                    "The specified bucket is not valid.", "InvalidBucketName", BucketName=bucket
                ) from None
        if key is not None:
            try:
                raw = key.encode("utf-8")
            except UnicodeEncodeError:
                raise bad("Object key is not valid UTF-8.") from None
            if len(raw) > MAX_KEY_BYTES:
                raise bad("Your key is too long", "KeyTooLongError")
        return bucket, key

    def _route(
        self, request: HttpRequest, bucket: str | None, key: str | None, query: dict[str, str]
    ) -> HttpResponse:
        method = request.method
        if bucket is None:
            if method == "GET":
                return self.list_buckets()
            raise not_implemented(method, "the service")
        if key is None:
            return self._bucket_operation(request, bucket, query)
        if "uploadId" in query:
            if method == "PUT" and "partNumber" in query:
                return self.uploads.upload_part(request, bucket, key, query)
            if method == "POST":
                return self.uploads.complete_upload(request, bucket, key, query["uploadId"])
            if method == "DELETE":
                return self.uploads.abort_upload(bucket, key, query["uploadId"])
            if method == "GET":
                return self.uploads.list_parts(bucket, key, query)
            raise not_implemented(method, "uploadId")
        if method == "POST" and "uploads" in query:
            return self.uploads.create_upload(request, bucket, key)
        subresources = sorted(set(query) & _OBJECT_SUBRESOURCES)
        if subresources:
            raise not_implemented(method, f"?{subresources[0]}")
        if method in ("GET", "HEAD"):
            return self.get_object(request, bucket, key, query, head=method == "HEAD")
        if method == "PUT":
            if request.headers.get("x-amz-copy-source"):
                return self.copy_object(request, bucket, key)
            return self.put_object(request, bucket, key)
        if method == "DELETE":
            self.store.delete(bucket, key)
            return HttpResponse(204)
        raise not_implemented(method, "an object")

    def _bucket_operation(self, request: HttpRequest, bucket: str, query: dict[str, str]) -> HttpResponse:
        method = request.method
        store = self.store
        if method == "GET" and "location" in query:
            require_bucket(store, bucket)
            return xml_response("LocationConstraint", [])
        if method == "GET" and "uploads" in query:
            return self.uploads.list_uploads(bucket, query)
        if method == "GET" and "versioning" in query:
            require_bucket(store, bucket)
            return xml_response("VersioningConfiguration", [])
        if method == "POST" and "delete" in query:
            return self.delete_objects(request, bucket)
        subresources = sorted(set(query) & _BUCKET_SUBRESOURCES)
        if subresources:
            raise not_implemented(method, f"?{subresources[0]}")
        if method == "GET":
            return self.list_objects(bucket, query, v2=query.get("list-type") == "2")
        if method == "HEAD":
            require_bucket(store, bucket)
            return HttpResponse(200, [("x-amz-bucket-region", "us-east-1")])
        if method == "PUT":
            body = read_small(request, s3xml.MAX_XML_BODY)
            if body.strip():
                s3xml.parse(body, "CreateBucketConfiguration")
            store.create_bucket(bucket)
            return HttpResponse(200, [("Location", f"/{bucket}")])
        if method == "DELETE":
            store.delete_bucket(bucket)
            return HttpResponse(204)
        raise not_implemented(method, "a bucket")

    # -- buckets --------------------------------------------------------------------------------
    def list_buckets(self) -> HttpResponse:
        names = self.store.list_buckets()
        epoch = iso(datetime(2024, 1, 1, tzinfo=UTC))
        buckets = "".join(
            f"<Bucket>{element('Name', name)}{element('CreationDate', epoch)}</Bucket>" for name in names
        )
        owner = "<Owner><ID>stepmap</ID><DisplayName>stepmap</DisplayName></Owner>"
        return xml_response("ListAllMyBucketsResult", [owner, f"<Buckets>{buckets}</Buckets>"])

    # -- listing --------------------------------------------------------------------------------
    def list_objects(self, bucket: str, query: Mapping[str, str], *, v2: bool) -> HttpResponse:
        store = self.store
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        try:
            max_keys = min(int(query.get("max-keys", MAX_KEYS)), MAX_KEYS)
        except ValueError:
            raise bad("Provided max-keys not an integer or within integer range") from None
        if max_keys < 0:
            raise bad("Argument maxKeys must be an integer between 0 and 2147483647")
        encoding = query.get("encoding-type")
        if encoding not in (None, "url"):
            raise bad("Invalid Encoding Method specified in Request")
        token = query.get("continuation-token")
        if v2:
            start_after = query.get("start-after", "")
            after = _decode_token(token) if token is not None else start_after
        else:
            after = query.get("marker", "")
        require_bucket(store, bucket)

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
        return xml_response("ListBucketResult", parts + contents + prefixes)

    # -- objects --------------------------------------------------------------------------------
    def get_object(
        self, request: HttpRequest, bucket: str, key: str, query: Mapping[str, str], *, head: bool
    ) -> HttpResponse:
        stream, info = self.store.open_with_info(bucket, key)
        try:
            headers = object_headers(info)
            status = preconditions(request.headers, info)
            if status:
                stream.close()
                return HttpResponse(status, [h for h in headers if h[0] in ("ETag", "Last-Modified")])
            for name, header in _RESPONSE_OVERRIDES.items():
                if name in query:
                    headers = [h for h in headers if h[0].lower() != header.lower()] + [(header, query[name])]
            start, length, status = 0, info.size, 200
            spec = request.headers.get("Range")
            if spec:
                span = parse_range(spec, info.size)
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
        require_bucket(self.store, bucket)
        body = checked_body(request)
        if_match, if_none_match = request.headers.get("If-Match"), request.headers.get("If-None-Match")
        if if_match is None and if_none_match is None:
            info = self.store.put_stream(bucket, key, cast(BinaryIO, body), stored_headers(request.headers))
            return HttpResponse(200, [("ETag", info.etag), *body.checksum_headers()])
        if if_none_match is not None and if_none_match.strip() != "*":
            raise bad("If-None-Match on PutObject supports only *", "NotImplemented", 501)
        # Conditional writes: the check and the write are one step for every writer through this endpoint
        # (a process writing the directory directly is not held back).
        with self._conditional:
            try:
                current: ObjectInfo | None = self.store.head(bucket, key)
            except NoSuchKey:
                current = None
            if if_none_match is not None and current is not None:
                raise bad(
                    "At least one of the pre-conditions you specified did not hold", "PreconditionFailed", 412
                )
            if if_match is not None:
                if current is None:
                    raise NoSuchKey(bucket, key)
                if current.etag.strip('"') not in etags(if_match):
                    raise bad(
                        "At least one of the pre-conditions you specified did not hold",
                        "PreconditionFailed",
                        412,
                    )
            info = self.store.put_stream(bucket, key, cast(BinaryIO, body), stored_headers(request.headers))
        return HttpResponse(200, [("ETag", info.etag), *body.checksum_headers()])

    def copy_object(self, request: HttpRequest, bucket: str, key: str) -> HttpResponse:
        source_bucket, source_key = copy_source(request.headers["x-amz-copy-source"])
        directive = (request.headers.get("x-amz-metadata-directive") or "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise bad("Unknown metadata directive.")
        require_bucket(self.store, bucket)
        stream, info = self.store.open_with_info(source_bucket, source_key)
        with stream:
            status = copy_preconditions(request.headers, info)
            if status:
                raise bad(
                    "At least one of the pre-conditions you specified did not hold", "PreconditionFailed", 412
                )
            if (source_bucket, source_key) == (bucket, key) and directive == "COPY":
                raise bad(
                    "This copy request is illegal because it is trying to copy an object to itself without "
                    "changing the object's metadata, storage class, website redirect location or encryption "
                    "attributes.",
                    "InvalidRequest",
                )
            metadata = dict(info.metadata) if directive == "COPY" else stored_headers(request.headers)
            copied = self.store.put_stream(bucket, key, stream, metadata)
        result = [element("LastModified", iso(copied.last_modified)), element("ETag", copied.etag)]
        return xml_response("CopyObjectResult", result)

    def delete_objects(self, request: HttpRequest, bucket: str) -> HttpResponse:
        tree = s3xml.parse(read_small(request, s3xml.MAX_XML_BODY), "Delete")
        quiet = (tree.findtext("Quiet") or "").strip().lower() == "true"
        objects = tree.findall("Object")
        if len(objects) > MAX_DELETE_KEYS or not objects:
            raise bad(
                "The XML you provided was not well-formed or did not validate against our published schema.",
                "MalformedXML",
            )
        require_bucket(self.store, bucket)
        results = []
        for obj in objects:
            key = obj.findtext("Key")
            if key is None:
                raise bad(
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
        return xml_response("DeleteResult", results)


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
        raise bad("The continuation token provided is incorrect") from None
