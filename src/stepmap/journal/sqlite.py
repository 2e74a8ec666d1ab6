"""A SQLite journal of executions and Map Runs: one file in the state directory, WAL mode.

What it keeps, per execution: its identity, definition, input and run options (so another process can resume
it), status and record (AWS's DescribeExecution shape), history events as they happen, who runs it (pid and
a heartbeat), whether a stop was requested, and a checkpoint: the top-level state being run, with its input
and the workflow variables. Per Map Run: its record (DescribeMapRun shape), a checkpoint (how many children
are done and written, in item order, and the state of the ResultWriter's files), and the indexes of failed
children (what a redrive re-runs).

Every write is one short transaction; readers never block writers. An execution name is unique per state
machine: concurrent starts with one name race on that constraint, and exactly one wins.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from stepmap.errors import EngineError, InputError

__all__ = ["ExecutionRow", "Journal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state_machine TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT NOT NULL,
    record TEXT NOT NULL,
    definition TEXT,
    input TEXT,
    options TEXT,
    owner TEXT,
    heartbeat REAL,
    abort_requested INTEGER NOT NULL DEFAULT 0,
    checkpoint TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (state_machine, name)
);
CREATE INDEX IF NOT EXISTS executions_name ON executions(name);
CREATE INDEX IF NOT EXISTS executions_start ON executions(start_date, arn);
CREATE TABLE IF NOT EXISTS history (
    arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (arn, id)
);
CREATE TABLE IF NOT EXISTS map_runs (
    arn TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    state_name TEXT,
    start_date TEXT NOT NULL,
    record TEXT NOT NULL,
    checkpoint TEXT
);
CREATE INDEX IF NOT EXISTS map_runs_execution ON map_runs(execution_arn);
CREATE TABLE IF NOT EXISTS map_run_failures (
    arn TEXT NOT NULL,
    child INTEGER NOT NULL,
    PRIMARY KEY (arn, child)
);
CREATE TABLE IF NOT EXISTS map_run_failed_items (
    arn TEXT NOT NULL,
    child INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    cause TEXT,
    PRIMARY KEY (arn, child)
);
CREATE TABLE IF NOT EXISTS map_run_samples (
    arn TEXT NOT NULL,
    at REAL NOT NULL,
    item_counts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS map_run_samples_arn ON map_run_samples(arn, at);
"""

MAX_CAUSE_CHARS = 32 * 1024  # a failed item's cause as kept for the dashboard

HEARTBEAT_SECONDS = 5.0  # how often a coordinator's heartbeat thread refreshes its row
STALE_SECONDS = 30.0  # a heartbeat older than this means the owner is gone (an owner on another host)


def process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), "" where that is unknown, "Z"
    for a zombie (it is dead: only its exit status is left)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    if fields[0] in (b"Z", b"X"):
        return "Z"
    return fields[19].decode() if len(fields) > 19 else ""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:MAX_CAUSE_CHARS]


def owner_id() -> str:
    """Who runs an execution: host, pid and the process's start time (a reused pid is another owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{process_start(os.getpid())}"


def owner_alive(owner: str | None, heartbeat: float | None) -> bool:
    """Is the process that runs an execution still there?

    On this host the process itself decides, whatever its heartbeat: it is alive when its pid exists, is
    not a zombie, and (where /proc tells) started when the owner did, so a long state never passes for
    a dead owner and a reused pid never passes for a live one. An owner on another host is alive while
    its heartbeat, refreshed by a thread every HEARTBEAT_SECONDS whatever the state, is fresh."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) == 2 or not parts[1].isdigit():  # an owner written before start times were kept
        parts = [*owner.rsplit(":", 1), ""]
    host, pid, started = parts
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return not started or started == process_start(os.getpid())
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        actual = process_start(int(pid))
        if actual == "Z":
            return False
        return not (started and actual and actual != started)
    return heartbeat is not None and time.time() - heartbeat < STALE_SECONDS


class ExecutionRow(dict[str, Any]):
    """One row of the executions table, JSON columns decoded."""


class Journal:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=30000")
            for _ in range(100):  # switching a new file to WAL races with other processes doing it too
                try:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    time.sleep(0.02)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EngineError(f"cannot open the journal {path!r}: {exc}") from exc

    # -- low level -----------------------------------------------------------------------------------
    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        try:
            with self._lock:
                return self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise EngineError(f"cannot write the journal {self.path!r}: {exc}") from exc

    def _write_many(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, args in statements:
                        self._db.execute(sql, args)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise EngineError(f"cannot write the journal {self.path!r}: {exc}") from exc

    def _one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, args).fetchone()
        return row

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- executions ----------------------------------------------------------------------------------
    def create_execution(
        self,
        record: dict[str, Any],
        state_machine: str,
        definition: Any,
        input: Any,
        options: dict[str, Any],
    ) -> bool:
        """Insert a RUNNING execution owned by this process; False if the name is taken already."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO executions(arn, name, state_machine, status, start_date, record, definition,"
                    " input, options, owner, heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        record["executionArn"],
                        record["name"],
                        state_machine,
                        record["status"],
                        record["startDate"],
                        json.dumps(record),
                        json.dumps(definition),
                        json.dumps(input),
                        json.dumps(options),
                        owner_id(),
                        time.time(),
                    ),
                )
            return True
        except sqlite3.IntegrityError:
            return False
        except sqlite3.Error as exc:
            raise EngineError(f"cannot write the journal {self.path!r}: {exc}") from exc

    def claim(self, arn: str, expected_owner: str | None) -> bool:
        """Take over an execution whose owner is gone (compare-and-set on the owner column)."""
        return (
            self._write(
                "UPDATE executions SET owner=?, heartbeat=?, abort_requested=0 WHERE arn=? AND owner IS ?",
                (owner_id(), time.time(), arn, expected_owner),
            )
            == 1
        )

    def record_execution(self, record: dict[str, Any], history: list[dict[str, Any]] | None = None) -> None:
        """Write an execution's record (and append any history events not journaled yet)."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                "UPDATE executions SET status=?, record=?, heartbeat=? WHERE arn=?",
                (record["status"], json.dumps(record), time.time(), record["executionArn"]),
            )
        ]
        if history:
            statements.extend(self._history_statements(record["executionArn"], history))
        self._write_many(statements)
        if self._one("SELECT 1 FROM executions WHERE arn=?", (record["executionArn"],)) is None:
            # an execution the journal never saw start (e.g. a run without a name): keep its record
            self.create_execution(record, record["stateMachineArn"].rsplit(":", 1)[-1], None, None, {})
            if history:
                self._write_many(self._history_statements(record["executionArn"], history))

    @staticmethod
    def _history_statements(arn: str, events: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
        return [
            ("INSERT OR IGNORE INTO history(arn, id, event) VALUES (?,?,?)", (arn, e["id"], json.dumps(e)))
            for e in events
        ]

    def checkpoint(
        self,
        arn: str,
        checkpoint: dict[str, Any],
        events: list[dict[str, Any]],
        record: dict[str, Any] | None,
    ) -> None:
        """Where the execution is (top-level state, its input, the variables), new events, a heartbeat."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                "UPDATE executions SET checkpoint=?, heartbeat=? WHERE arn=?",
                (json.dumps(checkpoint), time.time(), arn),
            )
        ]
        if record is not None:
            statements.append(("UPDATE executions SET record=? WHERE arn=?", (json.dumps(record), arn)))
        statements.extend(self._history_statements(arn, events))
        self._write_many(statements)

    def heartbeat(self, arn: str) -> bool:
        """Refresh this process's heartbeat on an execution it owns; False when it owns it no more."""
        updated = self._write(
            "UPDATE executions SET heartbeat=? WHERE arn=? AND owner=?", (time.time(), arn, owner_id())
        )
        return updated == 1

    def stop_requested(self, arn: str) -> bool:
        row = self._one("SELECT abort_requested FROM executions WHERE arn=?", (arn,))
        return bool(row and row[0])

    def release(self, arn: str) -> None:
        """This process runs the execution no more (it ended, or its run failed in the engine): another
        process may resume it at once, even while this one lives on."""
        self._write("UPDATE executions SET owner=NULL WHERE arn=? AND owner=?", (arn, owner_id()))

    def record_abort(self, record: dict[str, Any], event: dict[str, Any]) -> bool:
        """Record an ABORTED execution that this process claimed; False if it is not RUNNING any more."""
        return self._guarded_update(
            "UPDATE executions SET status=?, record=?, heartbeat=? "
            "WHERE arn=? AND status='RUNNING' AND owner=?",
            (record["status"], json.dumps(record), time.time(), record["executionArn"], owner_id()),
            record["executionArn"],
            event,
        )

    def request_stop(self, arn: str) -> None:
        self._write("UPDATE executions SET abort_requested=1 WHERE arn=?", (arn,))

    def set_redrive(
        self, arn: str, redrive_count: int, record: dict[str, Any], event: dict[str, Any] | None = None
    ) -> bool:
        """Start a redrive owned by this process, with its ExecutionRedriven event, in one transaction
        (so that no later stop or resume finds the count and the history apart); False if the execution
        is not FAILED, TIMED_OUT or ABORTED any more (another process redrove it first)."""
        return self._guarded_update(
            "UPDATE executions SET redrive_count=?, status='RUNNING', record=?, owner=?, heartbeat=?, "
            "abort_requested=0 WHERE arn=? AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED')",
            (redrive_count, json.dumps(record), owner_id(), time.time(), arn),
            arn,
            event,
        )

    def _guarded_update(
        self, sql: str, args: tuple[Any, ...], arn: str, event: dict[str, Any] | None
    ) -> bool:
        """Run one conditional UPDATE of an execution and, when it changed the row, add ``event`` to its
        history, in one transaction; whether the UPDATE matched."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    updated = self._db.execute(sql, args).rowcount
                    if updated == 1 and event is not None:
                        self._db.execute(
                            "INSERT OR IGNORE INTO history(arn, id, event) VALUES (?,?,?)",
                            (arn, event["id"], json.dumps(event)),
                        )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise EngineError(f"cannot write the journal {self.path!r}: {exc}") from exc
        return updated == 1

    def find(self, name_or_arn: str, state_machine: str | None = None) -> ExecutionRow | None:
        sql = (
            "SELECT arn, name, state_machine, status, record, definition, input, options, owner, heartbeat,"
            " abort_requested, checkpoint, redrive_count FROM executions WHERE (arn=? OR name=?)"
        )
        args: tuple[Any, ...] = (name_or_arn, name_or_arn)
        if state_machine is not None:
            sql += " AND state_machine=?"
            args += (state_machine,)
        row = self._one(sql + " ORDER BY start_date DESC LIMIT 1", args)
        if row is None:
            return None
        keys = (
            "arn", "name", "state_machine", "status", "record", "definition", "input", "options", "owner",
            "heartbeat", "abort_requested", "checkpoint", "redrive_count",
        )  # fmt: skip
        found = ExecutionRow(zip(keys, row))
        for key in ("record", "definition", "input", "options", "checkpoint"):
            if found[key] is not None:
                found[key] = json.loads(found[key])
        return found

    def executions(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT record FROM executions ORDER BY start_date DESC")
        return [json.loads(r[0]) for r in rows]

    def execution(self, name_or_arn: str) -> dict[str, Any]:
        row = self.find(name_or_arn)
        if row is None:
            raise InputError(f"execution {name_or_arn!r} does not exist (see `stepmap executions`)")
        record: dict[str, Any] = row["record"]
        return record

    def history(self, name_or_arn: str) -> list[dict[str, Any]]:
        arn = self.execution(name_or_arn)["executionArn"]
        return [
            json.loads(r[0]) for r in self._all("SELECT event FROM history WHERE arn=? ORDER BY id", (arn,))
        ]

    # -- map runs ------------------------------------------------------------------------------------
    def record_map_run(
        self, record: dict[str, Any], state_name: str | None = None, checkpoint: dict[str, Any] | None = None
    ) -> None:
        self._write(
            "INSERT INTO map_runs(arn, execution_arn, state_name, start_date, record, checkpoint) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(arn) DO UPDATE SET record=excluded.record, "
            "state_name=COALESCE(excluded.state_name, map_runs.state_name), "
            "checkpoint=COALESCE(excluded.checkpoint, map_runs.checkpoint)",
            (
                record["mapRunArn"],
                record["executionArn"],
                state_name,
                record["startDate"],
                json.dumps(record),
                json.dumps(checkpoint) if checkpoint is not None else None,
            ),
        )

    def map_run_checkpoint(self, execution_arn: str, state_name: str) -> dict[str, Any] | None:
        """The newest checkpoint of the Map Run that ``state_name`` started in this execution."""
        row = self._one(
            "SELECT checkpoint FROM map_runs WHERE execution_arn=? AND state_name=? "
            "AND checkpoint IS NOT NULL ORDER BY start_date DESC LIMIT 1",
            (execution_arn, state_name),
        )
        if row is None:
            return None
        checkpoint: dict[str, Any] = json.loads(row[0])
        return checkpoint

    def add_failures(
        self, arn: str, children: list[int], details: Iterable[tuple[int, str, Any, Any]] = ()
    ) -> None:
        """Record failed children (what a redrive re-runs) and, for the dashboard, their status, error and
        cause: ``details`` holds ``(index, status, error, cause)``."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("INSERT OR IGNORE INTO map_run_failures(arn, child) VALUES (?,?)", (arn, c)) for c in children
        ]
        statements.extend(
            (
                "INSERT OR REPLACE INTO map_run_failed_items(arn, child, status, error, cause) "
                "VALUES (?,?,?,?,?)",
                (arn, index, status, _text(error), _text(cause)),
            )
            for index, status, error, cause in details
        )
        if statements:
            self._write_many(statements)

    def add_map_run_sample(self, record: dict[str, Any]) -> None:
        """A point of the Map Run's progress over time (the dashboard's items/s chart)."""
        self._write(
            "INSERT INTO map_run_samples(arn, at, item_counts) VALUES (?,?,?)",
            (record["mapRunArn"], time.time(), json.dumps(record["itemCounts"])),
        )

    def clear_failures(self, arn: str, children: list[int]) -> None:
        if children:
            self._write_many(
                ("DELETE FROM map_run_failures WHERE arn=? AND child=?", (arn, c)) for c in children
            )

    def failures(self, arn: str) -> set[int]:
        return {r[0] for r in self._all("SELECT child FROM map_run_failures WHERE arn=?", (arn,))}

    def map_runs(self, execution: str | None = None) -> list[dict[str, Any]]:
        if execution is None:
            rows = self._all("SELECT record FROM map_runs ORDER BY start_date DESC")
        else:
            arn = self.execution(execution)["executionArn"]
            rows = self._all(
                "SELECT record FROM map_runs WHERE execution_arn = ? ORDER BY start_date", (arn,)
            )
        return [json.loads(r[0]) for r in rows]

    def map_run(self, arn: str) -> dict[str, Any]:
        row = self._one("SELECT record FROM map_runs WHERE arn = ?", (arn,))
        if row is None:
            raise InputError(f"Map Run {arn!r} does not exist (see `stepmap map-runs`)")
        record: dict[str, Any] = json.loads(row[0])
        return record

    def close(self) -> None:
        self._db.close()
