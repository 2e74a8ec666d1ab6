"""The storage layer's exceptions, in the hierarchy of :mod:`stepmap.errors`.

::

    StepmapError
    ├── StoreError            a request to a store or table that cannot succeed as asked
    │   ├── NoSuchBucket      the bucket does not exist
    │   ├── BucketNotEmpty    a bucket to delete still holds objects
    │   └── NoSuchKey         the object does not exist
    └── EngineError
        └── StoreUnavailable  the store kept failing after bounded retries (throttling, 5xx,
                              connection errors); ASL Catch never sees it

The Distributed Map reader and writer turn a ``StoreError`` into ``States.ItemReaderFailed`` /
``States.ResultWriterFailed``; a ``StoreUnavailable`` stops the engine instead.
"""

from __future__ import annotations

from stepmap.errors import StepmapError, StoreUnavailable

__all__ = ["BucketNotEmpty", "NoSuchBucket", "NoSuchKey", "StoreError", "StoreUnavailable"]


class StoreError(StepmapError):
    """A store or table request that cannot succeed as asked (bad name, missing object, ...)."""


class NoSuchBucket(StoreError):
    """The named bucket does not exist."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        super().__init__(f"bucket {bucket!r} does not exist")


class NoSuchKey(StoreError):
    """The named object does not exist in an existing bucket."""

    def __init__(self, bucket: str, key: str) -> None:
        self.bucket = bucket
        self.key = key
        super().__init__(f"object {key!r} does not exist in bucket {bucket!r}")


class BucketNotEmpty(StoreError):
    """A bucket cannot be deleted while it holds objects."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        super().__init__(f"bucket {bucket!r} is not empty")
