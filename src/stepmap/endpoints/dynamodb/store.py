"""The DynamoDB endpoint's view of the SQLite table file that ``stepmap.table()`` uses.

Items live where :class:`~stepmap.storage.sqlite_table.SQLiteTable` keeps them (``stepmap_items``, one
row per item, the item as plain JSON; ``stepmap_tables``, each table's key schema), so a handler's
``stepmap.table("orders")`` and a boto3 client on the endpoint read and write the same items. Two tables of
this module's own sit beside them:

    stepmap_ddb_typed(tbl, pk, sk, typed, plain)   the exact typed item, for items that hold binaries,
                                                   sets or numbers a float cannot carry; used only while
                                                   ``plain`` still equals the row's item (a handler may
                                                   have rewritten it since)
    stepmap_ddb_tables(name, meta)                 what CreateTable was told beyond the key schema
                                                   (indexes, billing mode, creation time)

Writes that must see the current item (conditions, updates, transactions) run inside ``BEGIN IMMEDIATE``,
so they are atomic against every other writer of the file, other processes included.

State: one connection (WAL mode), used by one request at a time under a lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from stepmap.endpoints.dynamodb.values import item_from_plain, item_to_plain, to_plain
from stepmap.storage.tables import TableSchema

__all__ = ["DynamoStore", "TableInfo"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stepmap_tables (name TEXT PRIMARY KEY, schema TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stepmap_items (
    tbl TEXT NOT NULL, pk NOT NULL, sk NOT NULL, item TEXT NOT NULL, PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stepmap_ddb_typed (
    tbl TEXT NOT NULL, pk NOT NULL, sk NOT NULL, typed TEXT NOT NULL, plain TEXT NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stepmap_ddb_tables (name TEXT PRIMARY KEY, meta TEXT NOT NULL);
"""
_PAGE = 200
Item = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class TableInfo:
    name: str
    schema: TableSchema
    meta: dict[str, Any]

    def key_column(self, value: dict[str, Any]) -> Any:
        """A key attribute value as it sits in the pk/sk column (the plain value)."""
        return to_plain(value)[0]

    def key_columns(self, item: Item) -> tuple[Any, Any]:
        pk = self.key_column(item[self.schema.partition_key])
        sk = self.key_column(item[self.schema.sort_key]) if self.schema.sort_key else ""
        return pk, sk


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class DynamoStore:
    def __init__(self, path: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.path = os.path.abspath(path)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self.lock = threading.RLock()

    def db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.executescript(_SCHEMA)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic read-modify-write against every writer of the file."""
        with self.lock:
            db = self.db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- tables ------------------------------------------------------------------------------------
    def table(self, name: str) -> TableInfo | None:
        with self.lock:
            db = self.db()
            row = db.execute("SELECT schema FROM stepmap_tables WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            meta = db.execute("SELECT meta FROM stepmap_ddb_tables WHERE name = ?", (name,)).fetchone()
        return TableInfo(name, TableSchema(**json.loads(row[0])), json.loads(meta[0]) if meta else {})

    def create_table(self, name: str, schema: TableSchema, meta: dict[str, Any]) -> bool:
        """False when a table of that name exists already."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM stepmap_tables WHERE name = ?", (name,)).fetchone():
                return False
            db.execute(
                "INSERT INTO stepmap_tables VALUES (?, ?)", (name, json.dumps(asdict(schema), sort_keys=True))
            )
            db.execute("INSERT OR REPLACE INTO stepmap_ddb_tables VALUES (?, ?)", (name, _dumps(meta)))
        return True

    def update_meta(self, name: str, meta: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO stepmap_ddb_tables VALUES (?, ?)", (name, _dumps(meta)))

    def delete_table(self, name: str) -> None:
        with self.transaction() as db:
            for table, column in (
                ("stepmap_tables", "name"),
                ("stepmap_ddb_tables", "name"),
                ("stepmap_items", "tbl"),
                ("stepmap_ddb_typed", "tbl"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))

    def table_names(self) -> list[str]:
        with self.lock:
            rows = self.db().execute("SELECT name FROM stepmap_tables").fetchall()
        return sorted((r[0] for r in rows), key=lambda n: n.encode())

    def count(self, name: str) -> int:
        with self.lock:
            (n,) = self.db().execute("SELECT COUNT(*) FROM stepmap_items WHERE tbl = ?", (name,)).fetchone()
        return int(n)

    # -- items ---------------------------------------------------------------------------------------
    _SELECT = (
        "SELECT i.pk, i.sk, i.item, t.typed, t.plain FROM stepmap_items i LEFT JOIN stepmap_ddb_typed t "
        "ON t.tbl = i.tbl AND t.pk = i.pk AND t.sk = i.sk WHERE i.tbl = ?"
    )

    @staticmethod
    def _item(row: tuple[Any, ...]) -> Item:
        item_text, typed, plain = row[2], row[3], row[4]
        if typed is not None and plain == item_text:
            result: Item = json.loads(typed)
            return result
        return item_from_plain(json.loads(item_text))

    def get(self, info: TableInfo, pk: Any, sk: Any, db: sqlite3.Connection | None = None) -> Item | None:
        with self.lock:
            row = (
                (db or self.db())
                .execute(self._SELECT + " AND i.pk = ? AND i.sk = ?", (info.name, pk, sk))
                .fetchone()
            )
        return None if row is None else self._item(row)

    def put(self, db: sqlite3.Connection, info: TableInfo, item: Item) -> None:
        pk, sk = info.key_columns(item)
        plain, exact = item_to_plain(item)
        text = _dumps(plain)
        db.execute("INSERT OR REPLACE INTO stepmap_items VALUES (?, ?, ?, ?)", (info.name, pk, sk, text))
        if exact:
            db.execute(
                "DELETE FROM stepmap_ddb_typed WHERE tbl = ? AND pk = ? AND sk = ?", (info.name, pk, sk)
            )
        else:
            db.execute(
                "INSERT OR REPLACE INTO stepmap_ddb_typed VALUES (?, ?, ?, ?, ?)",
                (info.name, pk, sk, _dumps(item), text),
            )

    def delete(self, db: sqlite3.Connection, info: TableInfo, pk: Any, sk: Any) -> None:
        for table in ("stepmap_items", "stepmap_ddb_typed"):
            db.execute(f"DELETE FROM {table} WHERE tbl = ? AND pk = ? AND sk = ?", (info.name, pk, sk))

    def rows(
        self,
        info: TableInfo,
        *,
        pk: Any = None,
        where: str = "",
        args: tuple[Any, ...] = (),
        descending: bool = False,
        after: tuple[Any, ...] | None = None,
    ) -> Iterator[Item]:
        """Items in key order (one partition when ``pk`` is given), starting after the key ``after``."""
        order = "DESC" if descending else "ASC"
        if pk is not None:
            base = self._SELECT + " AND i.pk = ?" + where
            base_args: tuple[Any, ...] = (info.name, pk, *args)
            cmp = "<" if descending else ">"
            more = f" AND i.sk {cmp} ?"
            order_by = f" ORDER BY i.sk {order} LIMIT ?"
            last: tuple[Any, ...] | None = None if after is None else (after[1],)
        else:
            base = self._SELECT + where
            base_args = (info.name, *args)
            more = " AND (i.pk, i.sk) > (?, ?)"
            order_by = " ORDER BY i.pk, i.sk LIMIT ?"
            last = after
        while True:
            with self.lock:
                sql = base + (more if last is not None else "") + order_by
                rows = self.db().execute(sql, (*base_args, *(last or ()), _PAGE)).fetchall()
            for row in rows:
                yield self._item(row)
            if len(rows) < _PAGE:
                return
            last = (rows[-1][1],) if pk is not None else (rows[-1][0], rows[-1][1])
