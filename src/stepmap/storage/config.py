"""The one place that turns configuration into a storage adapter.

``StoreConfig`` says where objects live (a directory, or ``s3://`` plus an optional endpoint);
``TableConfig`` says where tables live (SQLite in the state directory, or DynamoDB). Both are
frozen and picklable, so the coordinator can hand them to worker processes, which open their own
adapters with :func:`open_store` / :func:`open_table`. Nowhere else in stepmap chooses a backend.

Environment (read by ``from_env``):

====================================  ==================================================
``STEPMAP_STORE``                     a directory, or ``s3://`` (default ``<state>/s3``)
``STEPMAP_S3_ENDPOINT``               S3-compatible endpoint URL (default: AWS)
``STEPMAP_STATE_DIR``                 the state directory (default ``.stepmap``)
``STEPMAP_TABLES``                    ``sqlite`` (default) or ``dynamodb``
``STEPMAP_DYNAMODB_ENDPOINT``         DynamoDB-compatible endpoint URL (default: AWS)
``AWS_REGION`` / ``AWS_DEFAULT_REGION``  the region; credentials come from boto3's usual chain
====================================  ==================================================

The S3 and DynamoDB adapters import boto3, an optional extra; without it, opening them fails
with a one-line install hint.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stepmap.errors import InputError
from stepmap.storage.local import LocalObjectStore
from stepmap.storage.objects import ObjectStore
from stepmap.storage.sqlite_table import SQLiteTable
from stepmap.storage.tables import Table, TableSchema

__all__ = ["StoreConfig", "TableConfig", "open_store", "open_table"]

DEFAULT_STATE_DIR = ".stepmap"
_BOTO_HINT = "{what} needs boto3, which is not installed: pip install stepmap[s3]"


def _state_dir(env: Mapping[str, str]) -> str:
    return os.path.abspath(env.get("STEPMAP_STATE_DIR") or DEFAULT_STATE_DIR)


def _region(env: Mapping[str, str]) -> str | None:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


@dataclass(frozen=True)
class StoreConfig:
    """Where objects live: ``url`` is a directory (or ``file://`` path) or ``s3://``."""

    url: str = os.path.join(DEFAULT_STATE_DIR, "s3")
    endpoint_url: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreConfig:
        env = os.environ if env is None else env
        url = env.get("STEPMAP_STORE") or os.path.join(_state_dir(env), "s3")
        if "://" not in url:
            url = os.path.abspath(url)  # a worker with another working directory finds the same store
        return cls(url=url, endpoint_url=env.get("STEPMAP_S3_ENDPOINT") or None, region=_region(env))

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower() if "://" in self.url else "file"


@dataclass(frozen=True)
class TableConfig:
    """Where tables live: ``backend`` is ``sqlite`` (the file ``path``) or ``dynamodb``."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    path: str = os.path.join(DEFAULT_STATE_DIR, "tables.sqlite")
    endpoint_url: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TableConfig:
        env = os.environ if env is None else env
        backend = (env.get("STEPMAP_TABLES") or "sqlite").strip().lower()
        if backend not in _TABLE_OPENERS:
            raise InputError(
                f"STEPMAP_TABLES={backend!r} is not a table backend: use one of {sorted(_TABLE_OPENERS)}"
            )
        return cls(
            backend=backend,  # type: ignore[arg-type]  # checked against the openers above
            path=os.path.join(_state_dir(env), "tables.sqlite"),
            endpoint_url=env.get("STEPMAP_DYNAMODB_ENDPOINT") or None,
            region=_region(env),
        )


def open_store(config: StoreConfig) -> ObjectStore:
    """The object store adapter that ``config`` names."""
    opener = _STORE_OPENERS.get(config.scheme)
    if opener is None:
        raise InputError(f"unsupported store {config.url!r}: use a directory or s3://")
    return opener(config)


def open_table(config: TableConfig, name: str, schema: TableSchema | None = None) -> Table:
    """The table ``name`` in the backend that ``config`` names (created if missing)."""
    opener = _TABLE_OPENERS.get(config.backend)
    if opener is None:
        raise InputError(f"unsupported table backend {config.backend!r}: use one of {sorted(_TABLE_OPENERS)}")
    return opener(config, name, schema or TableSchema())


def _open_local(config: StoreConfig) -> ObjectStore:
    path = config.url[len("file://") :] if config.url.lower().startswith("file://") else config.url
    return LocalObjectStore(path)


def _open_s3(config: StoreConfig) -> ObjectStore:
    if config.url.lower().rstrip("/") != "s3:":
        raise InputError(
            f"store {config.url!r}: the S3 store serves every bucket, so give just s3:// "
            "(each workflow names its buckets)"
        )
    s3 = _boto_module("stepmap.storage.s3", "the S3 store")
    return s3.S3ObjectStore(endpoint_url=config.endpoint_url, region=config.region)


def _open_sqlite(config: TableConfig, name: str, schema: TableSchema) -> Table:
    return SQLiteTable(config.path, name, schema)


def _open_dynamodb(config: TableConfig, name: str, schema: TableSchema) -> Table:
    dynamodb = _boto_module("stepmap.storage.dynamodb", "DynamoDB tables")
    return dynamodb.DynamoDBTable(name, schema, endpoint_url=config.endpoint_url, region=config.region)


def _boto_module(module: str, what: str) -> Any:
    """Import an adapter module that needs boto3, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in ("boto3", "botocore"):
            raise InputError(_BOTO_HINT.format(what=what)) from None
        raise


_STORE_OPENERS: dict[str, Callable[[StoreConfig], ObjectStore]] = {
    "file": _open_local,
    "s3": _open_s3,
}
_TABLE_OPENERS: dict[str, Callable[[TableConfig, str, TableSchema], Table]] = {
    "sqlite": _open_sqlite,
    "dynamodb": _open_dynamodb,
}
