"""The Step Functions API's resources, kept in the state directory next to the execution journal.

Tables (in ``journal.sqlite``, beside :mod:`stepmap.journal.sqlite`'s, which they never change):

* ``sfn_machines``: state machines (name, type, definition, role, revision, status) in
  DescribeStateMachine's shape; ``sfn_versions`` their published versions (immutable definitions);
  ``sfn_aliases`` aliases with their routing configuration;
* ``sfn_tags``: tags of any resource (by ARN);
* ``sfn_activities``: activities;
* ``sfn_executions``: what the API knows of an execution beyond the journal's record: the machine, version
  or alias it was started with, and its parent when another execution started it;
* ``sfn_tokens``: task tokens of callback and activity tasks: which execution waits, for what, until when,
  and the answer once it came (so a restarted server finds both the waiting task and its answer).

Every value is JSON text; each write is one short statement (readers never block writers: WAL mode).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

from stepmap.errors import EngineError

__all__ = ["Registry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sfn_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_versions (
    arn TEXT PRIMARY KEY,
    machine_arn TEXT NOT NULL,
    version INTEGER NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sfn_versions_machine ON sfn_versions(machine_arn);
CREATE TABLE IF NOT EXISTS sfn_aliases (
    arn TEXT PRIMARY KEY,
    machine_arn TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);
CREATE TABLE IF NOT EXISTS sfn_activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_executions (
    arn TEXT PRIMARY KEY,
    machine_arn TEXT NOT NULL,
    started REAL NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sfn_executions_machine ON sfn_executions(machine_arn, started);
CREATE TABLE IF NOT EXISTS sfn_tokens (
    token TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sfn_tokens_execution ON sfn_tokens(execution_arn);
"""

_TABLES = {
    "machines": "sfn_machines",
    "versions": "sfn_versions",
    "aliases": "sfn_aliases",
    "activities": "sfn_activities",
}


class Registry:
    """State machines, versions, aliases, tags, activities, API executions and task tokens (SQLite)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise EngineError(f"cannot open the registry in {path!r}: {exc}") from exc

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        try:
            with self._lock:
                return self._db.execute(sql, args).rowcount
        except sqlite3.IntegrityError:
            return 0
        except sqlite3.Error as exc:
            raise EngineError(f"cannot write {self.path!r}: {exc}") from exc

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise EngineError(f"cannot read {self.path!r}: {exc}") from exc

    # -- machines, versions, aliases, activities: one record per ARN ---------------------------------
    def insert(self, kind: str, arn: str, record: dict[str, Any], **columns: Any) -> bool:
        """Insert a record; False when the ARN exists already."""
        names = ["arn", *columns, "created", "record"]
        values = (arn, *columns.values(), time.time(), json.dumps(record))
        sql = f"INSERT INTO {_TABLES[kind]}({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        return self._exec(sql, values) == 1

    def update(self, kind: str, arn: str, record: dict[str, Any]) -> None:
        self._exec(f"UPDATE {_TABLES[kind]} SET record=? WHERE arn=?", (json.dumps(record), arn))

    def delete(self, kind: str, arn: str) -> None:
        self._exec(f"DELETE FROM {_TABLES[kind]} WHERE arn=?", (arn,))
        self._exec("DELETE FROM sfn_tags WHERE resource_arn=?", (arn,))

    def get(self, kind: str, arn: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT record FROM {_TABLES[kind]} WHERE arn=?", (arn,))
        return json.loads(rows[0][0]) if rows else None

    def records(
        self, kind: str, machine_arn: str | None = None, newest_first: bool = False
    ) -> list[dict[str, Any]]:
        order = "created DESC, rowid DESC" if newest_first else "created, rowid"
        if machine_arn is None:
            rows = self._rows(f"SELECT record FROM {_TABLES[kind]} ORDER BY {order}")
        else:
            rows = self._rows(
                f"SELECT record FROM {_TABLES[kind]} WHERE machine_arn=? ORDER BY {order}", (machine_arn,)
            )
        return [json.loads(r[0]) for r in rows]

    def next_version(self, machine_arn: str) -> int:
        rows = self._rows("SELECT MAX(version) FROM sfn_versions WHERE machine_arn=?", (machine_arn,))
        return int(rows[0][0] or 0) + 1

    def delete_machine_children(self, machine_arn: str) -> None:
        for table in ("sfn_versions", "sfn_aliases"):
            for (arn,) in self._rows(f"SELECT arn FROM {table} WHERE machine_arn=?", (machine_arn,)):
                self._exec("DELETE FROM sfn_tags WHERE resource_arn=?", (arn,))
            self._exec(f"DELETE FROM {table} WHERE machine_arn=?", (machine_arn,))

    # -- tags ----------------------------------------------------------------------------------------
    def tags(self, arn: str) -> list[dict[str, str]]:
        rows = self._rows("SELECT key, value FROM sfn_tags WHERE resource_arn=? ORDER BY rowid", (arn,))
        return [{"key": k, "value": v} for k, v in rows]

    def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        for tag in tags:
            self._exec(
                "INSERT INTO sfn_tags(resource_arn, key, value) VALUES (?,?,?) "
                "ON CONFLICT(resource_arn, key) DO UPDATE SET value=excluded.value",
                (arn, tag.get("key", ""), tag.get("value", "")),
            )

    def untag(self, arn: str, keys: list[str]) -> None:
        for key in keys:
            self._exec("DELETE FROM sfn_tags WHERE resource_arn=? AND key=?", (arn, key))

    # -- executions started through the API ----------------------------------------------------------
    def add_execution(self, arn: str, machine_arn: str, meta: dict[str, Any]) -> None:
        self._exec(
            "INSERT OR REPLACE INTO sfn_executions(arn, machine_arn, started, meta) VALUES (?,?,?,?)",
            (arn, machine_arn, time.time(), json.dumps(meta)),
        )

    def execution_meta(self, arn: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT meta FROM sfn_executions WHERE arn=?", (arn,))
        return json.loads(rows[0][0]) if rows else None

    def execution_arns(self, machine_arn: str) -> list[str]:
        """Executions of a state machine (any version or alias), newest first."""
        rows = self._rows(
            "SELECT arn FROM sfn_executions WHERE machine_arn=? ORDER BY started DESC, rowid DESC",
            (machine_arn,),
        )
        return [r[0] for r in rows]

    # -- task tokens ---------------------------------------------------------------------------------
    def add_token(self, token: str, execution_arn: str, record: dict[str, Any]) -> bool:
        """Record a waiting task's token; False when it is known already (a resumed execution)."""
        return (
            self._exec(
                "INSERT INTO sfn_tokens(token, execution_arn, status, created, record) VALUES (?,?,?,?,?)",
                (token, execution_arn, record["status"], time.time(), json.dumps(record)),
            )
            == 1
        )

    def token(self, token: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT record FROM sfn_tokens WHERE token=?", (token,))
        return json.loads(rows[0][0]) if rows else None

    def set_token(self, token: str, record: dict[str, Any], expected_status: str | None = None) -> bool:
        """Update a token's record; with ``expected_status``, only from that status (compare-and-set)."""
        sql = "UPDATE sfn_tokens SET status=?, record=? WHERE token=?"
        args: tuple[Any, ...] = (record["status"], json.dumps(record), token)
        if expected_status is not None:
            sql += " AND status=?"
            args += (expected_status,)
        return self._exec(sql, args) == 1

    def tokens(self, status: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT record FROM sfn_tokens WHERE status=? ORDER BY created", (status,))
        return [json.loads(r[0]) for r in rows]

    # -- read-only: the journal's Map Run rows (stepmap.journal.sqlite owns and writes them) -----------
    def map_run_row(self, arn: str) -> tuple[str | None, dict[str, Any] | None] | None:
        """(state name, checkpoint) of a Map Run the journal recorded, or None."""
        try:
            rows = self._rows("SELECT state_name, checkpoint FROM map_runs WHERE arn=?", (arn,))
        except EngineError:  # no map_runs table yet: no Map Run ever ran here
            return None
        if not rows:
            return None
        return rows[0][0], json.loads(rows[0][1]) if rows[0][1] else None

    def close(self) -> None:
        self._db.close()
