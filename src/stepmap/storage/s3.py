"""The S3 adapter of the object store port, through boto3 and any S3-compatible endpoint.

Every request runs under one :class:`~stepmap.storage.retry.Backoff`: throttling (503 SlowDown),
5xx errors and broken connections are retried with exponential backoff and full jitter, then
surface as :class:`~stepmap.storage.errors.StoreUnavailable`; :attr:`S3ObjectStore.retries` counts
the retries. S3's "not found" answers become ``NoSuchBucket`` / ``NoSuchKey``.

State: the boto3 client (thread-safe, not picklable; worker processes open their own through
:func:`stepmap.storage.config.open_store`) and the retry counter.
"""

from __future__ import annotations

import functools
import io
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, TypeVar, cast

from stepmap.storage.aws import ClientError, cause_code, error_code, is_transient, make_client
from stepmap.storage.errors import NoSuchBucket, NoSuchKey, StoreError, StoreUnavailable
from stepmap.storage.objects import ObjectInfo, ObjectStore, key_bytes
from stepmap.storage.retry import Backoff, RetryPolicy

__all__ = ["S3ObjectStore"]

T = TypeVar("T")
_NOT_FOUND = frozenset({"404", "NotFound", "NoSuchKey", "NoSuchBucket"})


class S3ObjectStore(ObjectStore):
    """Objects in S3 (or an S3-compatible server at ``endpoint_url``), for any bucket."""

    def __init__(
        self,
        client: Any = None,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        page_size: int = 1000,
    ) -> None:
        if client is None:
            # Path-style addressing: S3-compatible servers rarely serve bucket subdomains.
            path_style = {"s3": {"addressing_style": "path"}} if endpoint_url else {}
            client = make_client("s3", endpoint_url=endpoint_url, region=region, **path_style)
        self.client = client
        self.backoff = Backoff(retry, sleep=sleep, rng=rng)
        self.page_size = page_size  # MaxKeys per ListObjectsV2 page (S3's maximum is 1000)

    def __repr__(self) -> str:
        return f"S3ObjectStore(endpoint={self.client.meta.endpoint_url!r})"

    @property
    def retries(self) -> int:
        """Retries made so far because S3 throttled, failed or dropped the connection."""
        return self.backoff.retries

    def _call(self, request: Callable[[], T], what: str, bucket: str, key: str | None = None) -> T:
        if key is not None:
            key_bytes(key)  # the same key errors as the local store, before any request
        where = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
        try:
            return self.backoff.run(request, transient=is_transient, what=f"S3 {what} {where}")
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                raise NoSuchBucket(bucket) from None
            if code == "NoSuchKey" and key is not None:
                raise NoSuchKey(bucket, key) from None
            if code in _NOT_FOUND:
                # A HEAD's 404 has no body to say which is missing.
                if key is None or not self.bucket_exists(bucket):
                    raise NoSuchBucket(bucket) from None
                raise NoSuchKey(bucket, key) from None
            message = exc.response.get("Error", {}).get("Message", "")
            raise StoreError(f"S3 {what} {where} failed: {code}: {message}") from exc

    # -- buckets ----------------------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        region = self.client.meta.region_name
        extra = (
            {}
            if region in (None, "us-east-1")
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        try:
            self._call(lambda: self.client.create_bucket(Bucket=bucket, **extra), "CreateBucket", bucket)
        except StoreError as exc:
            if cause_code(exc) != "BucketAlreadyOwnedByYou":
                raise

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.backoff.run(
                lambda: self.client.head_bucket(Bucket=bucket), transient=is_transient, what="S3 HeadBucket"
            )
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return False
            raise StoreError(f"S3 HeadBucket s3://{bucket} failed: {error_code(exc)}") from exc
        return True

    # -- reads ------------------------------------------------------------------------------
    def list(self, bucket: str, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": self.page_size}
        if start_after:
            args["StartAfter"] = start_after
        first = self._call(lambda: self.client.list_objects_v2(**args), "ListObjectsV2", bucket)
        return self._pages(first, args)

    def _pages(self, page: dict[str, Any], args: dict[str, Any]) -> Iterator[ObjectInfo]:
        while True:
            for obj in page.get("Contents", []):
                yield ObjectInfo(
                    key=obj["Key"],
                    size=obj["Size"],
                    etag=obj["ETag"],
                    last_modified=obj["LastModified"].astimezone(UTC),
                    storage_class=obj.get("StorageClass") or "STANDARD",
                )
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")
            if not token:
                raise StoreError(f"S3 ListObjectsV2 s3://{args['Bucket']}: truncated page without a token")
            request = functools.partial(self.client.list_objects_v2, **args, ContinuationToken=token)
            page = self._call(request, "ListObjectsV2", args["Bucket"])

    def get(self, bucket: str, key: str) -> bytes:
        # Reading the body is inside the retried request: a connection cut mid-body is retried too.
        return self._call(
            lambda: self.client.get_object(Bucket=bucket, Key=key)["Body"].read(), "GetObject", bucket, key
        )

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        if start < 0 or end < start:
            raise ValueError(f"invalid byte range [{start}, {end})")
        if start == end:
            self.head(bucket, key)  # same errors as a real read
            return b""
        try:
            return self._call(
                lambda: self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")[
                    "Body"
                ].read(),
                "GetObject",
                bucket,
                key,
            )
        except StoreError as exc:
            # 416 InvalidRange: start is at or past the end of the object; clip to nothing.
            if cause_code(exc) == "InvalidRange":
                return b""
            raise

    def open(self, bucket: str, key: str) -> BinaryIO:
        response = self._call(
            lambda: self.client.get_object(Bucket=bucket, Key=key), "GetObject", bucket, key
        )
        return cast(BinaryIO, io.BufferedReader(_Body(response["Body"], f"s3://{bucket}/{key}"), 1 << 20))

    def head(self, bucket: str, key: str) -> ObjectInfo:
        r = self._call(lambda: self.client.head_object(Bucket=bucket, Key=key), "HeadObject", bucket, key)
        return ObjectInfo(
            key=key,
            size=r["ContentLength"],
            etag=r["ETag"],
            last_modified=r["LastModified"].astimezone(UTC),
            storage_class=r.get("StorageClass") or "STANDARD",
        )

    # -- writes -----------------------------------------------------------------------------
    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        r = self._call(
            lambda: self.client.put_object(Bucket=bucket, Key=key, Body=data), "PutObject", bucket, key
        )
        # PutObject does not return LastModified; the server's Date header is the closest thing.
        date = r.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        modified = parsedate_to_datetime(date).astimezone(UTC) if date else datetime.now(UTC)
        return ObjectInfo(key=key, size=len(data), etag=r["ETag"], last_modified=modified)

    def put_file(self, bucket: str, key: str, path: str) -> ObjectInfo:
        """Upload a local file, streaming it (multipart above boto3's threshold)."""
        from boto3.exceptions import S3UploadFailedError

        def upload() -> None:
            try:
                self.client.upload_file(path, bucket, key)
            except S3UploadFailedError as exc:
                # upload_file wraps the service's error: hand the retry policy the real one
                if isinstance(exc.__context__, ClientError):
                    raise exc.__context__ from None
                raise

        try:
            self._call(upload, "PutObject", bucket, key)
        except S3UploadFailedError as exc:
            if not self.bucket_exists(bucket):
                raise NoSuchBucket(bucket) from None
            raise StoreError(f"S3 PutObject s3://{bucket}/{key} failed: {exc}") from exc
        return self.head(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        self._call(lambda: self.client.delete_object(Bucket=bucket, Key=key), "DeleteObject", bucket, key)


class _Body(io.RawIOBase):
    """A GetObject body as a raw stream whose mid-transfer failures are ``StoreUnavailable``."""

    def __init__(self, body: Any, where: str) -> None:
        self._body = body
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            chunk = self._body.read(len(buffer))
        except Exception as exc:
            if is_transient(exc):
                raise StoreUnavailable(
                    f"S3 GetObject {self._where}: connection lost mid-read: {exc}"
                ) from exc
            raise
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
