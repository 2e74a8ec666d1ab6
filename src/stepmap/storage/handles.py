"""What a handler calls to reach the object store and the results tables.

    from stepmap.storage.handles import objects, table

    def handler(event, context):
        data = objects().get("my-bucket", event["Key"])
        table("monthly-max", partition_key="month").put_item({"month": "2020-01", "temp": 99.1})

Both read their configuration from the environment (see :mod:`stepmap.storage.config`), which
the engine sets for its worker processes, and open each adapter once per process: later calls
with the same configuration return the same object. The lead re-exports them as
``stepmap.objects()`` and ``stepmap.table()``.

State: a per-process cache of opened adapters, keyed by configuration; a forked child starts
with an empty cache (a connection must not be shared across ``fork``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from stepmap.storage.config import StoreConfig, TableConfig, open_store, open_table
from stepmap.storage.objects import ObjectStore
from stepmap.storage.tables import KeyType, Table, TableSchema

__all__ = ["clear_cache", "objects", "table"]

_lock = threading.Lock()
_cache: dict[Any, Any] = {}
_pid = os.getpid()
_inherited: list[Any] = []  # adapters opened by a parent process: kept alive, never used or closed


def _cached(key: Any, opener: Any) -> Any:
    global _pid
    with _lock:
        if _pid != os.getpid():
            _inherited.extend(_cache.values())
            _cache.clear()
            _pid = os.getpid()
        if key not in _cache:
            _cache[key] = opener()
        return _cache[key]


def objects() -> ObjectStore:
    """The configured object store (``STEPMAP_STORE``, ``STEPMAP_S3_ENDPOINT``)."""
    config = StoreConfig.from_env()
    store: ObjectStore = _cached(("store", config), lambda: open_store(config))
    return store


def table(
    name: str,
    *,
    partition_key: str = "pk",
    sort_key: str | None = None,
    partition_key_type: KeyType = "S",
    sort_key_type: KeyType = "S",
) -> Table:
    """The results table ``name`` with this key schema, created on first use.

    Configured by ``STEPMAP_TABLES`` (``sqlite`` or ``dynamodb``), ``STEPMAP_STATE_DIR`` and
    ``STEPMAP_DYNAMODB_ENDPOINT``. Key types are ``"S"`` (string) or ``"N"`` (number).
    """
    config = TableConfig.from_env()
    schema = TableSchema(partition_key, sort_key, partition_key_type, sort_key_type)
    opened: Table = _cached(("table", config, name, schema), lambda: open_table(config, name, schema))
    return opened


def clear_cache() -> None:
    """Forget every opened adapter (tests; a change of configuration needs no call)."""
    with _lock:
        _cache.clear()
