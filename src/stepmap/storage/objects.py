"""The object store port: what stepmap needs from S3, and nothing more.

Distributed Map lists keys (``ItemReader`` with ``s3:listObjectsV2``), reads objects whole, by
byte range or as a stream (``s3:getObject`` readers), and writes result files (``ResultWriter``).
Handlers reach the same store through :func:`stepmap.storage.handles.objects`.

Adapters: :class:`~stepmap.storage.local.LocalObjectStore` (a directory, the embedded default)
and :class:`~stepmap.storage.s3.S3ObjectStore` (boto3, any S3-compatible endpoint). Which one
runs is decided in exactly one place, :func:`stepmap.storage.config.open_store`.

Keys are compared the way S3 compares them: by their UTF-8 bytes. For valid Python strings that
is the same as comparing code points, so ``sorted(keys)`` is S3's order.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from stepmap.storage.errors import StoreError

__all__ = ["MAX_KEY_BYTES", "ObjectInfo", "ObjectStore", "check_bucket_name", "key_bytes"]

MAX_KEY_BYTES = 1024  # S3's limit on the UTF-8 length of a key


_Names = list[str]  # inside ObjectStore, ``list`` is the listing method


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or a HEAD says about one object (the fields of a listObjectsV2 item)."""

    key: str
    size: int
    etag: str  # quoted, as S3 sends it: '"<md5 hex>"' for a single-part upload
    last_modified: datetime  # timezone-aware, UTC
    storage_class: str = "STANDARD"
    # HTTP headers stored with the object (content-type, x-amz-meta-*, ...), lower-case names; filled by
    # head() and open_with_info() of stores that keep them, empty in listings
    metadata: tuple[tuple[str, str], ...] = ()


class ObjectStore(ABC):
    """A bucket-agnostic object store. Every method may raise :class:`StoreError` (or a subclass);
    adapters that talk to a network raise ``StoreUnavailable`` after their retries run out."""

    @abstractmethod
    def list(self, bucket: str, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` and sorts after ``start_after``, in S3's
        order, fetched page by page as the caller iterates (never all keys in memory)."""

    @abstractmethod
    def get(self, bucket: str, key: str) -> bytes:
        """The whole object."""

    @abstractmethod
    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object, clipped at its size (empty past the end)."""

    @abstractmethod
    def open(self, bucket: str, key: str) -> BinaryIO:
        """A binary stream over the object, for objects too big to hold in memory. Close it."""

    @abstractmethod
    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        """Write (or replace) an object. Readers see the old or the new object, never a mix."""

    def put_file(self, bucket: str, key: str, path: str) -> ObjectInfo:
        """Store the contents of a local file (adapters stream it; this default reads it whole)."""
        with open(path, "rb") as f:
            return self.put(bucket, key, f.read())

    def move_file(self, bucket: str, key: str, path: str, md5: str | None = None) -> ObjectInfo:
        """Store the local file at ``path`` and take it: on success ``path`` is gone (or left for the caller
        to delete). ``md5``: the hex MD5 of its contents, when the caller computed it while writing.
        Adapters that can move the file (a rename on the same file system) do; this default copies it
        with :meth:`put_file` and removes it."""
        info = self.put_file(bucket, key, path)
        try:
            os.unlink(path)
        except OSError:
            pass
        return info

    def put_stream(
        self, bucket: str, key: str, stream: BinaryIO, metadata: Mapping[str, str] | None = None
    ) -> ObjectInfo:
        """Store what ``stream`` reads until its end, with ``metadata`` (headers such as content-type
        and x-amz-meta-*). Adapters stream it; this default reads it whole and keeps no metadata."""
        if metadata:
            raise StoreError(f"{type(self).__name__} cannot keep object metadata ({', '.join(metadata)})")
        return self.put(bucket, key, stream.read())

    def open_with_info(self, bucket: str, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """:meth:`open` and :meth:`head` of the same version (this default may race a concurrent put)."""
        info = self.head(bucket, key)
        return self.open(bucket, key), info

    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectInfo:
        """What :meth:`list` would say about one object."""

    @abstractmethod
    def delete(self, bucket: str, key: str) -> None:
        """Remove an object; deleting a missing key is not an error (as in S3)."""

    @abstractmethod
    def create_bucket(self, bucket: str) -> None:
        """Create a bucket; creating one that exists is not an error."""

    @abstractmethod
    def bucket_exists(self, bucket: str) -> bool:
        """Does the bucket exist?"""

    def list_buckets(self) -> _Names:
        """The names of every bucket, sorted."""
        raise StoreError(f"{type(self).__name__} cannot list buckets")

    def delete_bucket(self, bucket: str) -> None:
        """Remove an empty bucket (``BucketNotEmpty`` otherwise)."""
        raise StoreError(f"{type(self).__name__} cannot delete buckets")


def key_bytes(key: str) -> bytes:
    """The UTF-8 form of a valid S3 key, or :class:`StoreError` saying why the key is invalid."""
    if not isinstance(key, str) or not key:
        raise StoreError(f"invalid object key {key!r}: a key is a non-empty string")
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StoreError(f"invalid object key {key!r}: not valid Unicode ({exc.reason})") from None
    if len(raw) > MAX_KEY_BYTES:
        raise StoreError(
            f"invalid object key {key[:40]!r}...: {len(raw)} bytes of UTF-8, S3 allows {MAX_KEY_BYTES}"
        )
    return raw


_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_RE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(bucket: str) -> None:
    """Raise :class:`StoreError` unless ``bucket`` follows S3's general purpose bucket naming rules."""
    why = None
    if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket):
        why = (
            "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
        )
    elif ".." in bucket:
        why = "without two adjacent periods"
    elif _IP_RE.fullmatch(bucket):
        why = "not formatted as an IP address"
    elif bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        why = "not a reserved prefix or suffix (xn--, sthree-, -s3alias, --ol-s3, ...)"
    if why:
        raise StoreError(f"invalid bucket name {bucket!r}: S3 bucket names are {why}")
