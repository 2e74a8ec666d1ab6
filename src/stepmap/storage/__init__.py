"""Storage for stepmap: object stores (a local directory, S3) and results tables (SQLite, DynamoDB).

Two ports, each with one contract test suite that every adapter passes:

* :class:`ObjectStore` - list / get / get_range / open / put / head / delete over buckets;
  adapters :class:`~stepmap.storage.local.LocalObjectStore` and ``stepmap.storage.s3.S3ObjectStore``.
* :class:`Table` - put_item / get_item / query / scan / delete_item; adapters
  :class:`~stepmap.storage.sqlite_table.SQLiteTable` and ``stepmap.storage.dynamodb.DynamoDBTable``.

:func:`open_store` and :func:`open_table` are the only places that pick an adapter; the boto3
adapters are imported there, lazily, so boto3 stays optional. Handlers use
:mod:`stepmap.storage.handles`.
"""

from stepmap.storage.config import StoreConfig, TableConfig, open_store, open_table
from stepmap.storage.errors import BucketNotEmpty, NoSuchBucket, NoSuchKey, StoreError, StoreUnavailable
from stepmap.storage.local import LocalObjectStore
from stepmap.storage.objects import ObjectInfo, ObjectStore
from stepmap.storage.retry import RetryPolicy
from stepmap.storage.sqlite_table import SQLiteTable
from stepmap.storage.tables import Table, TableSchema

__all__ = [
    "BucketNotEmpty",
    "LocalObjectStore",
    "NoSuchBucket",
    "NoSuchKey",
    "ObjectInfo",
    "ObjectStore",
    "RetryPolicy",
    "SQLiteTable",
    "StoreConfig",
    "StoreError",
    "StoreUnavailable",
    "Table",
    "TableConfig",
    "TableSchema",
    "open_store",
    "open_table",
]
