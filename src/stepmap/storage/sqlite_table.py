"""The SQLite adapter of the table port: every table in one file of the state directory.

One file (``.stepmap/tables.sqlite`` by default) holds all tables in two SQLite tables::

    stepmap_tables(name PRIMARY KEY, schema)          the key schema each table was created with
    stepmap_items(tbl, pk, sk, item, PRIMARY KEY (tbl, pk, sk)) WITHOUT ROWID

``item`` is the whole item as JSON; ``pk`` and ``sk`` repeat its key values (``sk`` is ``''``
without a sort key) in columns without a declared type, so SQLite orders numbers by value and
text by its UTF-8 bytes (the BINARY collation), the order DynamoDB uses.

Several processes may write at once: the file is in WAL mode, every write is one autocommit
statement, and a busy writer waits up to ``timeout`` seconds before ``StoreUnavailable``.
Reads page through the table by key (``LIMIT`` after the last key seen) rather than holding a
cursor open between the items a caller consumes.

State: one connection per process, shared by threads under a lock. A connection is never used
across ``fork``: a child process notices the new pid and opens its own.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from stepmap.storage.errors import StoreError, StoreUnavailable
from stepmap.storage.tables import Table, TableSchema, check_item, check_table_name

__all__ = ["SQLiteTable"]

_PAGE = 500
_SCHEMA = """
CREATE TABLE IF NOT EXISTS stepmap_tables (name TEXT PRIMARY KEY, schema TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stepmap_items (
    tbl TEXT NOT NULL, pk NOT NULL, sk NOT NULL, item TEXT NOT NULL, PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
"""
_inherited: list[sqlite3.Connection] = []  # connections of a parent process: kept, never closed


class SQLiteTable(Table):
    """A table stored in the SQLite file at ``path`` (created, with its folder, if missing)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str,
        schema: TableSchema | None = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        check_table_name(name)
        self.path = os.path.abspath(path)
        self.name = name
        self.schema = schema or TableSchema()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._register()

    def __repr__(self) -> str:
        return f"SQLiteTable({self.path!r}, {self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A table travels to a worker process as its address; the worker opens its own connection.
        return (SQLiteTable, (self.path, self.name, self.schema), {"timeout": self.timeout})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.timeout = state["timeout"]

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                if self._conn is not None:
                    # Closing a connection inherited through fork could disturb the parent's locks.
                    _inherited.append(self._conn)
                self._conn = self._connect()
                self._pid = os.getpid()
            try:
                yield self._conn
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StoreUnavailable(f"table {self.name!r} in {self.path}: {exc}") from exc
                raise StoreError(f"table {self.name!r} in {self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StoreError(f"table {self.name!r} in {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        # Switching a new file to WAL takes a lock that the busy timeout does not wait for: when several
        # processes open a fresh database at once, all but one see "database is locked". Try again.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                return conn
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    conn.close()
                    raise StoreUnavailable(f"cannot open the table database {self.path!r}: {exc}") from exc
                time.sleep(0.01 + random.random() * 0.05)

    def _register(self) -> None:
        wanted = json.dumps(asdict(self.schema), sort_keys=True)
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO stepmap_tables VALUES (?, ?)", (self.name, wanted))
            (found,) = db.execute("SELECT schema FROM stepmap_tables WHERE name = ?", (self.name,)).fetchone()
        if found != wanted:
            raise StoreError(f"table {self.name!r} exists with key schema {found}, not {wanted}")

    def _key_values(self, key: Mapping[str, Any]) -> tuple[Any, Any]:
        pk = key[self.schema.partition_key]
        sk = key[self.schema.sort_key] if self.schema.sort_key is not None else ""
        return pk, sk

    def put_item(self, item: Mapping[str, Any]) -> None:
        check_item(item)
        pk, sk = self._key_values(self.schema.key_of(item))
        text = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO stepmap_items VALUES (?, ?, ?, ?)", (self.name, pk, sk, text))

    def get_item(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        pk, sk = self._key_values(self.schema.check_key(key))
        with self._db() as db:
            row = db.execute(
                "SELECT item FROM stepmap_items WHERE tbl = ? AND pk = ? AND sk = ?", (self.name, pk, sk)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def delete_item(self, key: Mapping[str, Any]) -> None:
        pk, sk = self._key_values(self.schema.check_key(key))
        with self._db() as db:
            db.execute("DELETE FROM stepmap_items WHERE tbl = ? AND pk = ? AND sk = ?", (self.name, pk, sk))

    def query(
        self, partition_key_value: Any, *, descending: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        pk = self.schema.partition_value(partition_key_value)
        op, order = ("<", "DESC") if descending else (">", "ASC")
        select = "SELECT sk, item FROM stepmap_items WHERE tbl = ? AND pk = ?"
        first = f"{select} ORDER BY sk {order} LIMIT ?"
        more = f"{select} AND sk {op} ? ORDER BY sk {order} LIMIT ?"
        return self._pages(first, more, (self.name, pk), limit)

    def scan(self) -> Iterator[dict[str, Any]]:
        select = "SELECT pk, sk, item FROM stepmap_items WHERE tbl = ?"
        first = f"{select} ORDER BY pk, sk LIMIT ?"
        more = f"{select} AND (pk, sk) > (?, ?) ORDER BY pk, sk LIMIT ?"
        return self._pages(first, more, (self.name,), None)

    def _pages(
        self, first: str, more: str, args: tuple[Any, ...], limit: int | None
    ) -> Iterator[dict[str, Any]]:
        """Rows are ``(*key columns, item JSON)``; each page after the first starts past the last key."""
        last: tuple[Any, ...] | None = None
        left = limit
        while left is None or left > 0:
            page = _PAGE if left is None else min(_PAGE, left)
            with self._db() as db:
                if last is None:
                    rows = db.execute(first, (*args, page)).fetchall()
                else:
                    rows = db.execute(more, (*args, *last, page)).fetchall()
            for row in rows:
                yield json.loads(row[-1])
            if left is not None:
                left -= len(rows)
            if len(rows) < page:
                return
            last = tuple(rows[-1][:-1])
