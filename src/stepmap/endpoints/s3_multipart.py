"""Multipart upload on the S3 endpoint: CreateMultipartUpload, UploadPart(Copy), CompleteMultipartUpload,
AbortMultipartUpload, ListParts, ListMultipartUploads.

State: ``<state dir>/s3-uploads/<upload id>/`` holds ``upload.json`` (bucket, key, the headers to store)
and one file per part (``00001``) with its ETag beside it (``00001.etag``). Completing checks the parts as
AWS does (ascending numbers, ETags, 5 MiB minimum but for the last), streams them into the store as one
object, and removes the folder.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast
from urllib.parse import quote

from stepmap.endpoints import s3xml
from stepmap.endpoints.protocol import HttpRequest, HttpResponse, RestError
from stepmap.endpoints.s3_support import (
    bad,
    checked_body,
    copy_range,
    int_param,
    read_small,
    require_bucket,
    stored_headers,
    xml_response,
)
from stepmap.endpoints.s3xml import element, iso
from stepmap.storage import ObjectStore

__all__ = ["MultipartUploads"]

MAX_PARTS = 10_000
MIN_PART_SIZE = 5 * 1024 * 1024


def _no_upload(upload_id: str) -> RestError:
    return bad(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        "NoSuchUpload",
        404,
        UploadId=upload_id,
    )


def _invalid_part() -> RestError:
    return bad(
        "One or more of the specified parts could not be found. The part may not have been uploaded, or "
        "the specified entity tag may not match the part's entity tag.",
        "InvalidPart",
    )


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


class MultipartUploads:
    """The multipart uploads of one endpoint, kept under ``uploads_dir`` (None: multipart is refused)."""

    def __init__(self, store: Callable[[], ObjectStore], uploads_dir: str | None) -> None:
        self._store = store
        self.uploads_dir = uploads_dir

    @property
    def store(self) -> ObjectStore:
        return self._store()

    def _uploads(self) -> str:
        if self.uploads_dir is None:
            raise bad("This endpoint has no state directory for multipart uploads.", "NotImplemented", 501)
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
        require_bucket(self.store, bucket)
        upload_id = secrets.token_hex(16)
        folder = os.path.join(self._uploads(), upload_id)
        os.makedirs(folder)
        record = {"bucket": bucket, "key": key, "headers": stored_headers(request.headers)}
        with open(os.path.join(folder, "upload.json"), "w", encoding="utf-8") as f:
            json.dump(record, f)
        parts = [element("Bucket", bucket), element("Key", key), element("UploadId", upload_id)]
        return xml_response("InitiateMultipartUploadResult", parts)

    def upload_part(
        self, request: HttpRequest, bucket: str, key: str, query: Mapping[str, str]
    ) -> HttpResponse:
        folder, _ = self._upload(bucket, key, query["uploadId"])
        try:
            number = int(query["partNumber"])
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_PARTS:
            raise bad("Part number must be an integer between 1 and 10000, inclusive")
        copy_source = request.headers.get("x-amz-copy-source")
        tmp = os.path.join(folder, f".part-{secrets.token_hex(8)}")
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with open(tmp, "wb") as out:
                if copy_source:
                    source: BinaryIO = copy_range(self.store, copy_source, request.headers)
                else:
                    source = checked_body(request)  # type: ignore[assignment]
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
            return xml_response("CopyPartResult", [element("LastModified", now), element("ETag", etag)])
        return HttpResponse(200, [("ETag", etag)])

    def complete_upload(self, request: HttpRequest, bucket: str, key: str, upload_id: str) -> HttpResponse:
        folder, record = self._upload(bucket, key, upload_id)
        tree = s3xml.parse(read_small(request, s3xml.MAX_XML_BODY), "CompleteMultipartUpload")
        listed = tree.findall("Part")
        if not listed:
            raise bad("You must specify at least one part", "MalformedXML")
        numbers = []
        for part in listed:
            try:
                numbers.append(int(part.findtext("PartNumber") or ""))
            except ValueError:
                raise bad("The XML you provided was not well-formed (PartNumber).", "MalformedXML") from None
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise bad("The list of parts was not in ascending order.", "InvalidPartOrder")
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
                raise bad(
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
        return xml_response("CompleteMultipartUploadResult", parts)

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> HttpResponse:
        folder, _ = self._upload(bucket, key, upload_id)
        shutil.rmtree(folder, ignore_errors=True)
        return HttpResponse(204)

    def list_parts(self, bucket: str, key: str, query: Mapping[str, str]) -> HttpResponse:
        folder, _ = self._upload(bucket, key, query["uploadId"])
        marker = int_param(query, "part-number-marker", 0)
        limit = min(int_param(query, "max-parts", 1000), 1000)
        numbers = sorted(int(n) for n in os.listdir(folder) if n.isdigit() and int(n) > marker)
        page, truncated = numbers[:limit], len(numbers) > limit
        parts = [element("Bucket", bucket), element("Key", key), element("UploadId", query["uploadId"])]
        parts += [element("PartNumberMarker", marker), element("MaxParts", limit)]
        parts.append(element("IsTruncated", "true" if truncated else "false"))
        if truncated:
            parts.append(element("NextPartNumberMarker", page[-1]))
        for number in page:
            path = os.path.join(folder, f"{number:05d}")
            with open(path + ".etag", encoding="ascii") as f:
                etag = f.read()
            st = os.stat(path)
            modified = iso(datetime.fromtimestamp(st.st_mtime, UTC))
            parts.append(
                f"<Part>{element('PartNumber', number)}{element('LastModified', modified)}"
                f"{element('ETag', etag)}{element('Size', st.st_size)}</Part>"
            )
        return xml_response("ListPartsResult", parts)

    def list_uploads(self, bucket: str, query: Mapping[str, str]) -> HttpResponse:
        require_bucket(self.store, bucket)
        prefix = query.get("prefix", "")
        key_marker, id_marker = query.get("key-marker", ""), query.get("upload-id-marker", "")
        limit = min(int_param(query, "max-uploads", 1000), 1000)
        found = []
        top = self.uploads_dir or ""
        for upload_id in sorted(os.listdir(top)) if top and os.path.isdir(top) else []:
            try:
                with open(os.path.join(top, upload_id, "upload.json"), encoding="utf-8") as f:
                    record = json.load(f)
                initiated = os.stat(os.path.join(top, upload_id, "upload.json")).st_mtime
            except (OSError, ValueError):
                continue
            key = record.get("key", "")
            after = (key, upload_id) > (key_marker, id_marker if key_marker else "")
            if record.get("bucket") == bucket and key.startswith(prefix) and after:
                found.append((key, upload_id, initiated))
        found.sort()
        page, truncated = found[:limit], len(found) > limit
        parts = [
            element("Bucket", bucket),
            element("KeyMarker", key_marker),
            element("UploadIdMarker", id_marker),
        ]
        if truncated:
            parts += [element("NextKeyMarker", page[-1][0]), element("NextUploadIdMarker", page[-1][1])]
        parts += [element("Prefix", prefix), element("MaxUploads", limit)]
        parts.append(element("IsTruncated", "true" if truncated else "false"))
        who = "<ID>stepmap</ID><DisplayName>stepmap</DisplayName>"
        for key, upload_id, initiated in page:
            when = iso(datetime.fromtimestamp(initiated, UTC))
            parts.append(
                f"<Upload>{element('Key', key)}{element('UploadId', upload_id)}"
                f"<Initiator>{who}</Initiator><Owner>{who}</Owner><StorageClass>STANDARD</StorageClass>"
                f"{element('Initiated', when)}</Upload>"
            )
        return xml_response("ListMultipartUploadsResult", parts)
