"""Liveness of an execution's owner: who owns it (host, pid, process start time), the heartbeat thread
that refreshes it whatever the state does, and how a stop request or a lost ownership interrupts a run."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from stepmap.journal import Journal
from stepmap.journal.sqlite import owner_alive, owner_id
from stepmap.service import journaled
from stepmap.service.journaled import JournalRun

ARN = "arn:aws:states:us-east-1:123456789012:execution:m:e"


def _journal(tmp_path: Path) -> Journal:
    journal = Journal(str(tmp_path / "journal.sqlite"))
    record = {"executionArn": ARN, "name": "e", "status": "RUNNING", "startDate": "2026-01-01T00:00:00"}
    assert journal.create_execution(record, "m", {}, {}, {})
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        db.execute("UPDATE executions SET heartbeat=0")
    return journal


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.01)
    pytest.fail(f"never: {what}")


def test_the_owner_is_this_process_by_pid_and_start_time() -> None:
    host, pid, started = owner_id().rsplit(":", 2)
    assert int(pid) == os.getpid()
    assert owner_alive(owner_id(), None)
    assert owner_alive(f"{host}:{os.getppid()}", None)  # written before start times were kept: the pid
    assert not owner_alive(f"{host}:{pid}:{int(started or 0) + 12345}", time.time())  # a reused pid
    assert not owner_alive(f"{host}:999999999:1", time.time())  # no such process
    assert not owner_alive(None, time.time())


def test_an_owner_on_another_host_is_judged_by_its_heartbeat() -> None:
    assert owner_alive("elsewhere:1:1", time.time())
    assert not owner_alive("elsewhere:1:1", time.time() - 3600)
    assert not owner_alive("elsewhere:1:1", None)


def test_the_heartbeat_thread_refreshes_the_row_and_turns_a_stop_into_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journaled, "HEARTBEAT_SECONDS", 0.0)
    monkeypatch.setattr(journaled, "STOP_POLL_SECONDS", 0.01)
    journal = _journal(tmp_path)
    run = JournalRun(journal, ARN)
    interrupted = threading.Event()
    run.start_heartbeat(interrupted.set)
    try:
        _until(lambda: (journal.find(ARN) or {})["heartbeat"] > 1000, "a heartbeat")
        assert not interrupted.is_set()
        journal.request_stop(ARN)
        assert interrupted.wait(20)
        assert run.should_stop() and not run.lost
    finally:
        run.stop_heartbeat()


def test_a_run_whose_execution_another_process_took_writes_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journaled, "HEARTBEAT_SECONDS", 0.0)
    monkeypatch.setattr(journaled, "STOP_POLL_SECONDS", 0.01)
    journal = _journal(tmp_path)
    run = JournalRun(journal, ARN)
    interrupted = threading.Event()
    run.start_heartbeat(interrupted.set)
    try:
        with sqlite3.connect(tmp_path / "journal.sqlite") as db:
            db.execute("UPDATE executions SET owner='elsewhere:1:1'")
        assert interrupted.wait(20)
        assert run.lost
        with pytest.raises(Exception, match="taken over"):
            run.checkpoint("State", {}, {})
    finally:
        run.stop_heartbeat()


def test_release_lets_another_process_resume_at_once(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    row = journal.find(ARN)
    assert row is not None and owner_alive(row["owner"], row["heartbeat"])
    journal.release(ARN)
    row = journal.find(ARN)
    assert row is not None and row["owner"] is None and not owner_alive(row["owner"], row["heartbeat"])
    assert journal.claim(ARN, None)
