"""A SQLite journal of executions and Map Runs, one file in the state directory.

Records are JSON documents shaped like AWS's Describe* responses, keyed by ARN, so that later commands
(``stepmap executions``, ``describe``, ``history``, ``map-runs``, ``describe-map-run``) can show runs that
other processes made. Writes are one transaction each; readers never block writers (WAL).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

from stepmap.errors import EngineError, InputError

__all__ = ["Journal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT NOT NULL,
    record TEXT NOT NULL,
    history TEXT
);
CREATE INDEX IF NOT EXISTS executions_name ON executions(name);
CREATE TABLE IF NOT EXISTS map_runs (
    arn TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    start_date TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS map_runs_execution ON map_runs(execution_arn);
"""


class Journal:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EngineError(f"cannot open the journal {path!r}: {exc}") from exc

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        try:
            with self._lock:
                self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise EngineError(f"cannot write the journal {self.path!r}: {exc}") from exc

    def record_execution(self, record: dict[str, Any], history: list[dict[str, Any]] | None = None) -> None:
        self._write(
            "INSERT INTO executions(arn, name, status, start_date, record, history) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(arn) DO UPDATE SET status=excluded.status, record=excluded.record, "
            "history=COALESCE(excluded.history, executions.history)",
            (
                record["executionArn"],
                record["name"],
                record["status"],
                record["startDate"],
                json.dumps(record),
                json.dumps(history) if history is not None else None,
            ),
        )

    def record_map_run(self, record: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO map_runs(arn, execution_arn, start_date, record) VALUES (?,?,?,?) "
            "ON CONFLICT(arn) DO UPDATE SET record=excluded.record",
            (record["mapRunArn"], record["executionArn"], record["startDate"], json.dumps(record)),
        )

    def executions(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT record FROM executions ORDER BY start_date DESC").fetchall()
        return [json.loads(r[0]) for r in rows]

    def _execution_row(self, name_or_arn: str) -> tuple[str, str | None]:
        row = self._db.execute(
            "SELECT record, history FROM executions WHERE arn = ? OR name = ? "
            "ORDER BY start_date DESC LIMIT 1",
            (name_or_arn, name_or_arn),
        ).fetchone()
        if row is None:
            raise InputError(f"execution {name_or_arn!r} does not exist (see `stepmap executions`)")
        return row[0], row[1]

    def execution(self, name_or_arn: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(self._execution_row(name_or_arn)[0])
        return record

    def history(self, name_or_arn: str) -> list[dict[str, Any]]:
        history = self._execution_row(name_or_arn)[1]
        return json.loads(history) if history else []

    def map_runs(self, execution: str | None = None) -> list[dict[str, Any]]:
        if execution is None:
            rows = self._db.execute("SELECT record FROM map_runs ORDER BY start_date DESC").fetchall()
        else:
            arn = self.execution(execution)["executionArn"]
            rows = self._db.execute(
                "SELECT record FROM map_runs WHERE execution_arn = ? ORDER BY start_date", (arn,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def map_run(self, arn: str) -> dict[str, Any]:
        row = self._db.execute("SELECT record FROM map_runs WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise InputError(f"Map Run {arn!r} does not exist (see `stepmap map-runs`)")
        record: dict[str, Any] = json.loads(row[0])
        return record

    def close(self) -> None:
        self._db.close()
