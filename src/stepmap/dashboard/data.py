"""The dashboard's read model: JSON documents over a state directory's journal (and its object store).

Reads only. Each thread gets its own SQLite connection in ``query_only`` mode; the journal is in WAL mode,
so a reader never blocks the run that writes it (the dashboard's cost to a run is the CPU of its queries).
Lists are newest first and paginated by keyset cursors (``(start_date, arn)`` of the last row), so the
100,000th page costs what the first does. Every string a user controls (names, inputs, outputs, causes) is
truncated here; the browser escapes it (it only ever sets ``textContent``).

State: the journal path and the per-thread connections; documents of finished executions are cached by
``(arn, event count)`` so live polling of a long history does not re-derive it every second.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from stepmap.dashboard.states import derive_states, graph_of, truncate
from stepmap.errors import InputError

__all__ = ["DashboardData"]

MAX_PAGE = 500
_CHILD_ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d+:execution:[^\"\\\s]+")
_HISTORY_PAGE = 5000


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _uncursor(text: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(text.encode()))
    except ValueError:
        raise InputError("invalid cursor") from None
    if not isinstance(values, list):
        raise InputError("invalid cursor")
    return values


def _limit(value: str | None, default: int = 50) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 0 < int(value) <= MAX_PAGE:
        raise InputError(f"limit must be an integer from 1 to {MAX_PAGE}")
    return int(value)


def _trim_event(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            out[key] = {k: truncate(v) if isinstance(v, str) else v for k, v in value.items()}
        else:
            out[key] = truncate(value)
    return out


def _trim_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: truncate(v) for k, v in record.items()}


class DashboardData:
    """JSON documents for the dashboard's pages, read from ``<state_dir>/journal.sqlite``."""

    def __init__(self, state_dir: str, store: Callable[[], Any] | None = None) -> None:
        self.state_dir = os.path.abspath(state_dir)
        self.path = os.path.join(self.state_dir, "journal.sqlite")
        self._store = store
        self._local = threading.local()
        self._cache: OrderedDict[tuple[str, int, str], dict[str, Any]] = OrderedDict()  # derived states
        self._cache_lock = threading.Lock()
        self._upgraded = False

    # -- connection ---------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection | None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if not os.path.exists(self.path):
                return None
            if not self._upgraded:
                # Opening through Journal once creates the tables and indexes an older journal lacks
                # (a read-only state directory is read as it is).
                from stepmap.errors import EngineError
                from stepmap.journal import Journal

                try:
                    Journal(self.path).close()
                except EngineError:
                    pass
                self._upgraded = True
            db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            db.execute("PRAGMA query_only=1")
            self._local.db = db
        return db

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        db = self._db()
        return [] if db is None else db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    # -- state machines -----------------------------------------------------------------------------
    def state_machines(self) -> dict[str, Any]:
        rows = self._all(
            "SELECT state_machine, COUNT(*), MAX(start_date), "
            "SUM(status = 'RUNNING'), SUM(status = 'SUCCEEDED'), SUM(status != 'RUNNING' AND "
            "status != 'SUCCEEDED') FROM executions GROUP BY state_machine ORDER BY MAX(start_date) DESC"
        )
        return {
            "stateMachines": [
                {
                    "name": truncate(name, 256),
                    "executions": count,
                    "lastStart": last,
                    "running": running or 0,
                    "succeeded": succeeded or 0,
                    "failed": failed or 0,
                }
                for name, count, last, running, succeeded, failed in rows
            ]
        }

    def state_machine(self, name: str) -> dict[str, Any]:
        row = self._one(
            "SELECT definition FROM executions WHERE state_machine=? AND definition IS NOT NULL "
            "ORDER BY start_date DESC LIMIT 1",
            (name,),
        )
        if row is None:
            raise LookupError(f"state machine {name!r} has no execution with a definition")
        definition = json.loads(row[0])
        return {"name": name, "definition": definition, "graph": graph_of(definition)}

    # -- executions ---------------------------------------------------------------------------------
    def executions(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        state_machine: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
    ) -> dict[str, Any]:
        """One page of executions, newest first; ``name`` matches a substring."""
        size = _limit(limit)
        where: list[str] = []
        args: list[Any] = []
        if status:
            where.append("status = ?")
            args.append(status)
        if state_machine:
            where.append("state_machine = ?")
            args.append(state_machine)
        if name:
            where.append("instr(name, ?) > 0")
            args.append(name)
        if cursor:
            start, arn = _uncursor(cursor)
            where.append("(start_date, arn) < (?, ?)")  # a range of the (start_date, arn) index
            args.extend([start, arn])
        # the list needs no input or output: SQLite reads the stop date out of the record (no 256 KB parses)
        sql = (
            "SELECT name, start_date, arn, state_machine, status, json_extract(record, '$.stopDate') "
            "FROM executions"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_date DESC, arn DESC LIMIT ?"
        rows = self._all(sql, (*args, size + 1))
        page = rows[:size]
        out = [
            {
                "executionArn": arn,
                "name": truncate(name, 256),
                "stateMachine": truncate(machine, 256),
                "status": status,
                "startDate": start,
                "stopDate": stop,
            }
            for name, start, arn, machine, status, stop in page
        ]
        next_cursor = _cursor([page[-1][1], page[-1][2]]) if len(rows) > size else None
        return {"executions": out, "nextCursor": next_cursor}

    def _execution_row(self, arn: str) -> tuple[Any, ...]:
        row = self._one(
            "SELECT arn, name, state_machine, status, record, definition FROM executions "
            "WHERE arn=? OR name=? ORDER BY start_date DESC LIMIT 1",
            (arn, arn),
        )
        if row is None:
            raise LookupError(f"execution {arn!r} does not exist")
        return row

    def _events(self, arn: str) -> list[dict[str, Any]]:
        return [
            json.loads(r[0]) for r in self._all("SELECT event FROM history WHERE arn=? ORDER BY id", (arn,))
        ]

    def execution(self, arn: str) -> dict[str, Any]:
        """An execution with its definition, graph, per-state status, Map Runs and child executions."""
        arn, _, machine, status, record_text, definition_text = self._execution_row(arn)
        count_row = self._one("SELECT COUNT(*) FROM history WHERE arn=?", (arn,))
        count = count_row[0] if count_row else 0
        key = (arn, count, status)
        with self._cache_lock:
            derived = self._cache.get(key)
        if derived is None:  # the history changed: derive the states again
            definition = json.loads(definition_text) if definition_text else None
            if not isinstance(definition, dict):
                definition = None
            events = self._events(arn)
            derived = {
                "definition": definition,
                "graph": graph_of(definition) if definition else {"nodes": [], "edges": []},
                "states": derive_states(definition, events, status),
                "children": self._children(arn, events),
            }
            with self._cache_lock:
                self._cache[key] = derived
                while len(self._cache) > 32:
                    self._cache.popitem(last=False)
        return {
            "record": _trim_record(json.loads(record_text)),
            "stateMachine": machine,
            "eventCount": count,
            "mapRuns": self.map_runs_of(arn),
            **derived,
        }

    def _children(self, arn: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Executions this one started (``states:startExecution``) that the journal knows."""
        found: dict[str, None] = {}
        for event in events:
            kind = event.get("type", "")
            if kind in ("TaskSubmitted", "TaskSucceeded", "TaskScheduled"):
                for match in _CHILD_ARN.findall(json.dumps(event)):
                    if match != arn:
                        found.setdefault(match.replace("\\", ""), None)
        children = []
        for child in list(found)[:200]:
            row = self._one("SELECT arn, name, status FROM executions WHERE arn=?", (child,))
            if row is not None:
                children.append({"executionArn": row[0], "name": truncate(row[1], 256), "status": row[2]})
        return children

    def history(self, arn: str, *, after: str | None = None, limit: str | None = None) -> dict[str, Any]:
        arn = self._execution_row(arn)[0]
        start = int(after) if after and after.isdigit() else 0
        size = _limit(limit, _HISTORY_PAGE) if limit else _HISTORY_PAGE
        rows = self._all(
            "SELECT id, event FROM history WHERE arn=? AND id > ? ORDER BY id LIMIT ?", (arn, start, size + 1)
        )
        events = [_trim_event(json.loads(r[1])) for r in rows[:size]]
        return {"events": events, "next": str(rows[size - 1][0]) if len(rows) > size else None}

    # -- map runs -----------------------------------------------------------------------------------
    def map_runs_of(self, execution_arn: str) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT record, state_name FROM map_runs WHERE execution_arn=? ORDER BY start_date",
            (execution_arn,),
        )
        return [{**json.loads(r[0]), "stateName": r[1]} for r in rows]

    def map_run(self, arn: str) -> dict[str, Any]:
        row = self._one("SELECT record, state_name, execution_arn FROM map_runs WHERE arn=?", (arn,))
        if row is None:
            raise LookupError(f"Map Run {arn!r} does not exist")
        record = json.loads(row[0])
        samples = [
            {"at": at, **json.loads(counts)}
            for at, counts in self._all(
                "SELECT at, item_counts FROM map_run_samples WHERE arn=? ORDER BY at", (arn,)
            )
        ]
        parent = self._one("SELECT name, status, state_machine FROM executions WHERE arn=?", (row[2],))
        return {
            "record": _trim_record(record),
            "stateName": row[1],
            "execution": {
                "executionArn": row[2],
                "name": parent[0] if parent else None,
                "status": parent[1] if parent else None,
                "stateMachine": parent[2] if parent else None,
            },
            "samples": _thin(samples, 600),
            "failures": self.map_run_failures(arn)["failures"],
            "failureCount": (self._one("SELECT COUNT(*) FROM map_run_failures WHERE arn=?", (arn,)) or (0,))[
                0
            ],
            "resultWriter": self._result_writer(row[2], row[1], record),
        }

    def map_run_failures(
        self, arn: str, *, after: str | None = None, limit: str | None = None
    ) -> dict[str, Any]:
        """Failed children, in item order: index, status, error, cause."""
        size = _limit(limit, 100)
        start = int(after) if after and after.lstrip("-").isdigit() else -1
        rows = self._all(
            "SELECT f.child, d.status, d.error, d.cause FROM map_run_failures f "
            "LEFT JOIN map_run_failed_items d ON d.arn = f.arn AND d.child = f.child "
            "WHERE f.arn=? AND f.child > ? ORDER BY f.child LIMIT ?",
            (arn, start, size + 1),
        )
        failures = [
            {"index": child, "status": status or "FAILED", "error": truncate(error), "cause": truncate(cause)}
            for child, status, error, cause in rows[:size]
        ]
        return {"failures": failures, "next": str(rows[size - 1][0]) if len(rows) > size else None}

    def _result_writer(self, execution_arn: str, state_name: str | None, record: dict[str, Any]) -> Any:
        """The ResultWriter manifest of this Map Run, if it wrote one: where its Map state's output says
        (``ResultWriterDetails``), else where a constant ``ResultWriter.Parameters`` puts it."""
        if not state_name or self._store is None:
            return None
        run_id = record["mapRunArn"].rsplit(":", 1)[-1]
        where = self._manifest_from_output(execution_arn, state_name, run_id)
        if where is None:
            where = self._manifest_from_definition(execution_arn, state_name, run_id, record)
        if where is None:
            return None
        bucket, key = where
        try:
            manifest = json.loads(self._store().get(bucket, key))
        except Exception as exc:
            return {"bucket": bucket, "key": key, "error": str(exc)}
        files = []
        for category, entries in sorted((manifest.get("ResultFiles") or {}).items()):
            for entry in entries or ():
                files.append({"category": category, "key": entry.get("Key"), "size": entry.get("Size")})
        return {"bucket": bucket, "key": key, "manifest": manifest, "files": files}

    def _manifest_from_output(
        self, execution_arn: str, state_name: str, run_id: str
    ) -> tuple[str, str] | None:
        for (text,) in self._all(
            "SELECT event FROM history WHERE arn=? AND event LIKE '%ResultWriterDetails%' ORDER BY id DESC",
            (execution_arn,),
        ):
            details = json.loads(text).get("stateExitedEventDetails") or {}
            if details.get("name") != state_name:
                continue
            try:
                found = _find_key(json.loads(details.get("output") or "null"), "ResultWriterDetails")
            except ValueError:
                continue
            if isinstance(found, dict) and run_id in str(found.get("Key", "")):
                return str(found.get("Bucket")), str(found.get("Key"))
        return None

    def _manifest_from_definition(
        self, execution_arn: str, state_name: str, run_id: str, record: dict[str, Any]
    ) -> tuple[str, str] | None:
        row = self._one("SELECT definition FROM executions WHERE arn=?", (execution_arn,))
        state = _find_state(json.loads(row[0]) if row and row[0] else None, state_name)
        writer = (state or {}).get("ResultWriter") or {}
        params = writer.get("Parameters") or writer.get("Arguments") or {}
        if not isinstance(params.get("Bucket"), str) or not isinstance(params.get("Prefix", ""), str):
            return None
        prefix = params.get("Prefix", "").rstrip("/")
        folder = f"{prefix}/{run_id}" if prefix else run_id
        if record.get("redriveCount"):
            folder += f"/Redrive-{record['redriveCount']}"
        return params["Bucket"], f"{folder}/manifest.json"

    def result_file(self, map_run_arn: str, key: str) -> tuple[str, Any]:
        """(bucket, key) of a result file a Map Run's manifest lists (and nothing else)."""
        doc = self.map_run(map_run_arn)
        writer = doc["resultWriter"] or {}
        keys = {f["key"] for f in writer.get("files", [])} | ({writer["key"]} if writer.get("key") else set())
        if key not in keys:
            raise LookupError(f"{key!r} is not a result file of this Map Run")
        return writer["bucket"], key

    def store(self) -> Any:
        if self._store is None:
            raise LookupError("no object store")
        return self._store()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _find_key(value: Any, key: str) -> Any:
    """The first value of ``key`` in a JSON document, searched breadth first."""
    queue = [value]
    while queue:
        node = queue.pop(0)
        if isinstance(node, dict):
            if key in node:
                return node[key]
            queue.extend(node.values())
        elif isinstance(node, list):
            queue.extend(node)
    return None


def _find_state(machine: Any, name: str) -> dict[str, Any] | None:
    if not isinstance(machine, dict):
        return None
    states = machine.get("States") or {}
    if isinstance(states.get(name), dict):
        return dict(states[name])
    for state in states.values():
        if isinstance(state, dict):
            for child in [*(state.get("Branches") or ()), state.get("ItemProcessor"), state.get("Iterator")]:
                found = _find_state(child, name)
                if found is not None:
                    return found
    return None


def _thin(samples: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """At most ``most`` samples, evenly spread, the first and last kept (a long Map Run's chart)."""
    if len(samples) <= most:
        return samples
    step = len(samples) / (most - 1)
    picked = [samples[int(i * step)] for i in range(most - 1)]
    picked.append(samples[-1])
    return picked
