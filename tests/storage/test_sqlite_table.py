"""The SQLite table: the contract, and several processes writing to one file at once."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stepmap.storage import SQLiteTable, TableSchema
from tests.storage.table_contract import Opener, TableContract


class TestSQLiteTable(TableContract):
    @pytest.fixture
    def open_table(self, fast_tmp: Path) -> Opener:
        return lambda name, schema: SQLiteTable(fast_tmp / "state" / "tables.sqlite", name, schema)


def _write_rows(path: str, writer: int, count: int, start: Any) -> None:
    table = SQLiteTable(path, "shared", TableSchema("pk", "sk"))
    start.wait(30)  # both writers open, then both write at once
    for i in range(count):
        table.put_item({"pk": f"w{writer}", "sk": f"{i:04d}", "writer": writer})
        table.put_item({"pk": "both", "sk": f"{writer}-{i:04d}"})


def test_two_processes_write_at_once(fast_tmp: Path) -> None:
    path = str(fast_tmp / "tables.sqlite")
    SQLiteTable(path, "shared", TableSchema("pk", "sk"))  # the file exists before the race
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    workers = [ctx.Process(target=_write_rows, args=(path, w, 150, start)) for w in (1, 2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0, 0]
    table = SQLiteTable(path, "shared", TableSchema("pk", "sk"))
    assert len(list(table.query("w1"))) == 150
    assert len(list(table.query("w2"))) == 150
    assert len(list(table.query("both"))) == 300
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _write_through(table: SQLiteTable) -> None:
    table.put_item({"pk": "child", "sk": "1"})


def test_a_forked_child_opens_its_own_connection(fast_tmp: Path) -> None:
    table = SQLiteTable(fast_tmp / "tables.sqlite", "forked", TableSchema("pk", "sk"))
    table.put_item({"pk": "parent", "sk": "1"})
    child = multiprocessing.get_context("fork").Process(target=_write_through, args=(table,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert sorted(i["pk"] for i in table.scan()) == ["child", "parent"]


def test_a_table_pickles_as_its_address(fast_tmp: Path) -> None:
    table = SQLiteTable(fast_tmp / "tables.sqlite", "pickled", TableSchema("pk", "sk"), timeout=5.0)
    table.put_item({"pk": "a", "sk": "1"})
    copy = pickle.loads(pickle.dumps(table))
    assert (copy.path, copy.name, copy.schema, copy.timeout) == (table.path, "pickled", table.schema, 5.0)
    assert copy.get_item({"pk": "a", "sk": "1"}) == {"pk": "a", "sk": "1"}


def test_the_file_and_its_folder_are_created(fast_tmp: Path) -> None:
    path = fast_tmp / "new" / "state" / "tables.sqlite"
    SQLiteTable(path, "t-1").put_item({"pk": "x"})
    assert path.is_file()
