"""Paths where results used to vanish while the run said SUCCEEDED (issue 9, items 1-4): stop then
redrive, a failed ResultWriter then redrive, a Distributed Map without ResultWriter killed and resumed or
redriven, and an execution that stays long in one state taken for dead while its process lives."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepmap.journal import Journal
from stepmap.storage import LocalObjectStore
from tests.faults.invariant import check, exported_ids
from tests.faults.test_durability import HANDLER, cli, dmap_definition, env, setup_store

pytestmark = pytest.mark.faults


def stepmap(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli(*args, cwd=cwd)], cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout
    )


def start(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """A coordinator in the background, its output in files (orphaned workers must not hold pipes)."""
    out = open(tmp_path / "run.out", "wb")  # noqa: SIM115 - closed with the process
    err = open(tmp_path / "run.err", "wb")  # noqa: SIM115
    return subprocess.Popen([*cli(*args, cwd=tmp_path)], cwd=tmp_path, env=env(), stdout=out, stderr=err)


def wait_for_progress(state_dir: Path, at_least: int, process: subprocess.Popen[bytes]) -> None:
    """Until the journal says ``at_least`` items of the Map Run are done (bounded: 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (process.returncode, (state_dir.parent / "run.err").read_text())
        path = state_dir / "journal.sqlite"
        if path.exists():
            with sqlite3.connect(path) as db:
                try:
                    rows = db.execute("SELECT record FROM map_runs").fetchall()
                except sqlite3.OperationalError:
                    rows = []
            if rows and json.loads(rows[0][0])["itemCounts"]["succeeded"] >= at_least:
                return
        time.sleep(0.05)
    pytest.fail("the Map Run made no progress")


def no_writer(definition: dict[str, Any]) -> dict[str, Any]:
    del definition["States"]["Map"]["ResultWriter"]
    return definition


def output_ids(output: dict[str, Any]) -> list[int]:
    return [child["id"] for child in output["map"]]


# -- item 1: stop, then redrive, with a ResultWriter ----------------------------------------------------
def test_stop_then_redrive_keeps_the_first_attempts_results(tmp_path: Path) -> None:
    n = 1500
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    (tmp_path / "flow.json").write_text(json.dumps(dmap_definition("durable")))
    common = ["--state-dir", str(state_dir), "--quiet"]
    process = start(
        tmp_path, "run", "flow.json", "--name", "stop-me", "--function", HANDLER, "--store", str(store_dir),
        "--input", json.dumps({"dir": str(runs), "sleep": 0.004}), *common,
    )  # fmt: skip
    wait_for_progress(state_dir, 100, process)
    stopped = stepmap("stop", "stop-me", "--state-dir", str(state_dir), cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stderr
    process.wait(timeout=60)
    redriven = stepmap("redrive", "stop-me", *common, cwd=tmp_path)
    assert redriven.returncode == 0, redriven.stderr
    ids = exported_ids(LocalObjectStore(str(store_dir)), "durable")
    check(ids, n, "SUCCEEDED")


# -- item 2: the ResultWriter fails (store full), space is freed, redrive -------------------------------
def _mount(path: Path, options: str) -> bool:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_store(tmp_path: Path) -> Iterator[Path]:
    """The object store on a 256 KiB file system of its own (tmpfs)."""
    mount_point = tmp_path / "small-store"
    mount_point.mkdir()
    if not _mount(mount_point, "size=256k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_a_failed_result_writer_then_redrive_exports_every_result(tmp_path: Path, small_store: Path) -> None:
    n = 3000
    store = LocalObjectStore(str(small_store))
    store.create_bucket("durable")
    store.put("durable", "items.jsonl", "".join(json.dumps({"id": i}) + "\n" for i in range(n)).encode())
    runs, state_dir = tmp_path / "runs", tmp_path / "state"
    runs.mkdir()
    definition = dmap_definition("durable")
    definition["States"]["Map"]["ResultWriter"]["WriterConfig"]["Transformation"] = "NONE"  # ~500 B each
    (tmp_path / "flow.json").write_text(json.dumps(definition))
    common = ["--state-dir", str(state_dir), "--quiet"]
    full = stepmap(
        "run", "flow.json", "--name", "full", "--function", HANDLER, "--store", str(small_store),
        "--input", json.dumps({"dir": str(runs), "sleep": 0}), *common, cwd=tmp_path,
    )  # fmt: skip
    assert full.returncode == 1, full.stderr
    assert json.loads(full.stderr.strip().splitlines()[-1])["error"] == "States.ResultWriterFailed"
    assert _mount(small_store, "remount,size=64m")  # room again
    redriven = stepmap("redrive", "full", *common, cwd=tmp_path)
    assert redriven.returncode == 0, redriven.stderr
    check(exported_ids(store, "durable"), n, "SUCCEEDED")


# -- item 3: a Distributed Map without ResultWriter, killed and resumed, or failed and redriven ---------
def test_a_map_without_writer_killed_and_resumed_outputs_every_item_in_order(tmp_path: Path) -> None:
    n = 1500
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    (tmp_path / "flow.json").write_text(json.dumps(no_writer(dmap_definition("durable"))))
    common = ["--state-dir", str(state_dir), "--quiet"]
    process = start(
        tmp_path, "run", "flow.json", "--name", "kill-me", "--function", HANDLER, "--store", str(store_dir),
        "--input", json.dumps({"dir": str(runs), "sleep": 0.004}), *common,
    )  # fmt: skip
    wait_for_progress(state_dir, 300, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = stepmap("resume", "kill-me", *common, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    check(output_ids(json.loads(resumed.stdout)), n, "SUCCEEDED", ordered=True)


def test_a_map_without_writer_redriven_outputs_every_item_in_order(tmp_path: Path) -> None:
    n = 300
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    (runs / "fail-150").write_text("")
    (tmp_path / "flow.json").write_text(json.dumps(no_writer(dmap_definition("durable"))))
    common = ["--state-dir", str(state_dir), "--quiet"]
    failed = stepmap(
        "run", "flow.json", "--name", "fails", "--function", HANDLER, "--store", str(store_dir),
        "--input", json.dumps({"dir": str(runs), "sleep": 0}), *common, cwd=tmp_path,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    (runs / "fail-150").unlink()
    redriven = stepmap("redrive", "fails", *common, cwd=tmp_path)
    assert redriven.returncode == 0, redriven.stderr
    check(output_ids(json.loads(redriven.stdout)), n, "SUCCEEDED", ordered=True)


# -- item 4: liveness that a long state cannot fool ------------------------------------------------------
WAIT_FLOW = {
    "StartAt": "Long",
    "States": {
        "Long": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "done", "End": True},
    },
}


def _age_heartbeat(state_dir: Path, name: str) -> None:
    """Make the execution look as if it had stayed an hour in its state without a heartbeat."""
    with sqlite3.connect(state_dir / "journal.sqlite") as db:
        db.execute("UPDATE executions SET heartbeat=? WHERE name=?", (time.time() - 3600, name))


def _wait_running(state_dir: Path, name: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (state_dir.parent / "run.err").read_text()
        if (state_dir / "journal.sqlite").exists():
            row = Journal(str(state_dir / "journal.sqlite")).find(name)
            if row is not None and row["checkpoint"] and row["checkpoint"]["state"] == "Long":
                return
        time.sleep(0.05)
    pytest.fail("the execution never reached its Wait")


def test_a_long_state_is_not_taken_for_dead(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    (tmp_path / "flow.json").write_text(json.dumps(WAIT_FLOW))
    common = ["--state-dir", str(state_dir), "--quiet"]
    process = start(tmp_path, "run", "flow.json", "--name", "long", "--input", '{"seconds": 4}', *common)
    _wait_running(state_dir, "long", process)
    _age_heartbeat(state_dir, "long")
    owner = Journal(str(state_dir / "journal.sqlite")).find("long")["owner"]  # type: ignore[index]

    resumed = stepmap("resume", "long", *common, cwd=tmp_path)
    assert resumed.returncode == 2 and "still running" in resumed.stderr, resumed.stderr
    assert Journal(str(state_dir / "journal.sqlite")).find("long")["owner"] == owner  # type: ignore[index]
    joined = stepmap("run", "flow.json", "--name", "long", "--input", '{"seconds": 4}', *common, cwd=tmp_path)
    assert joined.returncode == 0, joined.stderr
    assert json.loads(joined.stdout) == "done"
    assert process.wait(timeout=60) == 0
    journal = Journal(str(state_dir / "journal.sqlite"))
    types = [e["type"] for e in journal.history("long")]
    assert types.count("WaitStateEntered") == 1 and types.count("ExecutionSucceeded") == 1, types


def test_stop_of_a_live_execution_in_a_long_state_signals_its_owner(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    (tmp_path / "flow.json").write_text(json.dumps(WAIT_FLOW))
    common = ["--state-dir", str(state_dir), "--quiet"]
    process = start(tmp_path, "run", "flow.json", "--name", "long", "--input", '{"seconds": 600}', *common)
    _wait_running(state_dir, "long", process)
    _age_heartbeat(state_dir, "long")

    stopped = stepmap("stop", "long", "--state-dir", str(state_dir), cwd=tmp_path, timeout=90)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["status"] == "ABORTED"
    assert process.wait(timeout=30) == 1  # the owner itself ended the run
    assert "States.Aborted" in (tmp_path / "run.err").read_text()
    types = [e["type"] for e in Journal(str(state_dir / "journal.sqlite")).history("long")]
    assert types.count("ExecutionAborted") == 1, types
    assert types[-1] == "ExecutionAborted"


def test_a_resume_of_a_run_that_died_before_its_first_event_has_a_whole_history(tmp_path: Path) -> None:
    from stepmap.service.runner import StepmapService

    state_dir = tmp_path / "state"
    service = StepmapService(state_dir=str(state_dir), journal=True, executor="sync")
    flow = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    record = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:early",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "name": "early",
        "status": "RUNNING",
        "startDate": "2026-01-01T00:00:00+00:00",
    }
    assert service.journal is not None
    # what a coordinator killed right after journaling its start leaves: a row, no events, no checkpoint
    assert service.journal.create_execution(record, "m", flow, {"x": 1}, service.options())
    with sqlite3.connect(state_dir / "journal.sqlite") as db:
        db.execute("UPDATE executions SET owner='nowhere:999999999:1', heartbeat=0")
    done = StepmapService.for_execution("early", state_dir=str(state_dir)).resume("early")
    assert done.status == "SUCCEEDED" and done.output == {"x": 1}
    types = [e["type"] for e in Journal(str(state_dir / "journal.sqlite")).history("early")]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded", types


def test_a_redrive_that_dies_at_once_then_a_stop_keep_the_history_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stepmap.service.runner import StepmapService

    state_dir = tmp_path / "state"
    flow = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    service = StepmapService(state_dir=str(state_dir), journal=True, executor="sync")
    assert service.start_execution(flow, {}, name="r").status == "FAILED"

    def dies(self: StepmapService, row: Any, *, redriven: bool) -> Any:
        raise SystemExit(137)  # the process is killed right after the redrive was journaled

    with monkeypatch.context() as patch:
        patch.setattr(StepmapService, "_continue", dies)
        with pytest.raises(SystemExit):
            StepmapService.for_execution("r", state_dir=str(state_dir)).redrive("r")
    with sqlite3.connect(state_dir / "journal.sqlite") as db:
        db.execute("UPDATE executions SET owner='nowhere:999999999:1', heartbeat=0")
    stopper = StepmapService.for_execution("r", state_dir=str(state_dir))
    assert stopper.stop("r")["status"] == "ABORTED"
    again = StepmapService.for_execution("r", state_dir=str(state_dir)).redrive("r")
    assert again.status == "FAILED" and again.redrive_count == 2
    types = [e["type"] for e in Journal(str(state_dir / "journal.sqlite")).history("r")]
    assert types.count("ExecutionRedriven") == 2, types
    assert [t for t in types if t.startswith("Execution")] == [
        "ExecutionStarted", "ExecutionFailed", "ExecutionRedriven", "ExecutionAborted",
        "ExecutionRedriven", "ExecutionFailed",
    ]  # fmt: skip


def test_a_map_run_whose_coordinator_died_is_redriven_with_its_failed_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stepmap.functions import FunctionRegistry
    from stepmap.interpreter.distributed.scheduler import MapRunScheduler
    from stepmap.service.runner import StepmapService

    n = 200
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    (runs / "fail-5").write_text("")
    functions = FunctionRegistry({"counted": "tests.faults.fault_handlers:counted"})
    service = StepmapService(
        functions=functions, store=str(store_dir), state_dir=str(state_dir), journal=True, executor="sync"
    )
    finish = MapRunScheduler._finish

    def dies_past_child_ten(self: MapRunScheduler, *args: Any) -> Any:
        out = finish(self, *args)
        if self.emitted_upto > 10:
            raise SystemExit(137)  # the coordinator is killed with child 5 failed and tolerated
        return out

    with monkeypatch.context() as patch:
        patch.setattr(MapRunScheduler, "_finish", dies_past_child_ten)
        with pytest.raises(SystemExit):
            service.start_execution(
                no_writer(dmap_definition("durable", tolerated=1)), {"dir": str(runs), "sleep": 0}, name="d"
            )
    with sqlite3.connect(state_dir / "journal.sqlite") as db:
        db.execute("UPDATE executions SET owner='nowhere:999999999:1', heartbeat=0")
    assert StepmapService.for_execution("d", state_dir=str(state_dir)).stop("d")["status"] == "ABORTED"
    (runs / "fail-5").unlink()  # the cause is fixed
    done = StepmapService.for_execution("d", state_dir=str(state_dir)).redrive("d")
    assert done.status == "SUCCEEDED", (done.error, done.cause)
    check(output_ids(done.output), n, "SUCCEEDED", ordered=True)  # child 5 ran again, and succeeded
