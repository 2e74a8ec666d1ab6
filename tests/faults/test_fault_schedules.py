"""The fault-schedule test: the invariant of tests/faults/invariant.py under random schedules of faults.

A seeded generator picks a workflow shape (a Distributed Map with or without ResultWriter, COMPACT or
NONE records, ItemBatcher or not, an inline Map nested in each child, items that fail with or without
enough tolerated failures) and a sequence of events (SIGKILL of the coordinator or of a worker at a
random moment, ``stepmap stop``, a store fault: the ResultWriter's bucket missing or its disk full, a
child that kills its worker).
The schedule runs through the CLI: after a kill the execution is resumed; an ABORTED or FAILED one has
its causes fixed (markers removed, bucket created, disk grown) and is redriven, until it SUCCEEDS.

After every attempt that ends the results are checked (each item at most once; all of them, but the
tolerated failures, once SUCCEEDED; in item order without a ResultWriter), and at the end the journal:
event ids 1..n, one ExecutionStarted, one ExecutionRedriven per redrive, one terminal event per attempt
(so exactly one ExecutionAborted per stop that took effect), the last one ExecutionSucceeded, and the
Map Run SUCCEEDED. A failure names its seed; rerun it alone with ``STEPMAP_FAULT_SEED=<seed>``.

The short run (a few seeds) is part of the fast suite; the long one is marked ``faults`` and ``slow``:
``STEPMAP_FAULT_SEEDS=500 pytest tests/faults/test_fault_schedules.py -m slow`` (figures in
docs/reliability.md). One schedule in five has a child that kills its worker (``os._exit``): it must fail
alone, with ``Runtime.ExitError``, like a handler that raises.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stepmap.journal import Journal
from stepmap.storage import LocalObjectStore
from tests.faults.invariant import check, exported_ids, failed_ids, record_ids

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "work=tests.faults.schedule_handlers:work"
TERMINAL = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
PROCESS_TIMEOUT = 180.0


@dataclass
class Schedule:
    seed: int
    n: int
    sleep: float
    writer: str | None  # None, "COMPACT" (JSON Lines) or "NONE" (JSON)
    batch: int | None  # MaxItemsPerBatch
    nested: bool  # an inline Map in each child
    failing: set[int]  # items marked to fail from the start
    tolerated: int | None  # ToleratedFailureCount
    store_fault: str | None  # "missing_bucket" or "disk_full" (ResultWriter only)
    dying: int | None  # an item whose child kills its worker
    inline: bool = False  # an inline Map over the execution input instead (no writer, batching, tolerance)
    events: list[tuple[str, float]] = field(default_factory=list)  # (kind, seconds after an attempt starts)

    def describe(self) -> str:
        return (
            f"seed {self.seed}: {self.n} items, writer={self.writer}, batch={self.batch}, "
            f"nested={self.nested}, failing={sorted(self.failing)}, tolerated={self.tolerated}, "
            f"store_fault={self.store_fault}, dying={self.dying}, inline={self.inline}, events={self.events}"
        )


def make_schedule(seed: int, *, can_mount: bool) -> Schedule:
    rng = random.Random(seed)
    writer = rng.choice([None, "COMPACT", "NONE"])
    batch = rng.choice([None, None, rng.randint(2, 7)])
    failing = set(rng.sample(range(60), rng.choice([0, 0, 1, 2, 3])))
    tolerated = rng.choice([None, len(failing), len(failing) + 1, max(0, len(failing) - 1)])
    faults = [None, None, "missing_bucket"] + (["disk_full"] if can_mount and writer == "NONE" else [])
    kinds = ["kill", "kill", "kill_worker", "stop", "kill_stop"]
    events = [(rng.choice(kinds), round(rng.uniform(0.3, 2.0), 2)) for _ in range(rng.randint(0, 3))]
    dying = rng.randrange(60) if rng.random() < 0.2 else None
    schedule = Schedule(
        seed=seed,
        n=rng.randint(60, 400),
        sleep=rng.choice([0.005, 0.01, 0.02]),
        writer=writer,
        batch=batch,
        nested=batch is None and rng.random() < 0.3,
        failing=failing,
        tolerated=tolerated,
        store_fault=rng.choice(faults) if writer is not None else None,
        dying=dying,
        events=events,
    )
    if rng.random() < 0.15:
        schedule.inline = True
        schedule.writer = schedule.batch = schedule.tolerated = schedule.store_fault = None
        schedule.nested = False
    return schedule


def definition(s: Schedule) -> dict[str, Any]:
    selector: dict[str, Any] = {"id.$": "$$.Map.Item.Value.id", "dir.$": "$.dir", "sleep.$": "$.sleep"}
    work: dict[str, Any] = {"Type": "Task", "Resource": "work", "End": True}
    states: dict[str, Any] = {"Work": work}
    start = "Work"
    if s.nested:
        selector["parts.$"] = "States.Array($$.Map.Item.Value.id)"
        inner_selector = {"id.$": "$$.Map.Item.Value", "dir.$": "$.dir", "sleep.$": "$.sleep"}
        inline = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "W", "States": {"W": work}}
        states = {
            "Inner": {
                "Type": "Map", "ItemsPath": "$.parts", "ItemSelector": inner_selector,
                "ItemProcessor": inline, "Next": "One",
            },
            "One": {"Type": "Pass", "Parameters": {"id.$": "$[0].id"}, "End": True},
        }  # fmt: skip
        start = "Inner"
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": "items", "Key": "items.jsonl"},
        },
        "ItemSelector": selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": start,
            "States": states,
        },
        "Next": "Done",
    }
    if s.inline:
        del state["ItemReader"]
        state["ItemsPath"] = "$.items"
        state["MaxConcurrency"] = 8
        state["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
    if s.batch is not None:
        state["ItemBatcher"] = {"MaxItemsPerBatch": s.batch}
    if s.tolerated is not None:
        state["ToleratedFailureCount"] = s.tolerated
    if s.writer is not None:
        state["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "results", "Prefix": "out"},
            "WriterConfig": {
                "OutputType": "JSONL" if s.writer == "COMPACT" else "JSON",
                "Transformation": s.writer,
            },
        }
    return {
        "StartAt": "Map",
        "States": {"Map": state, "Done": {"Type": "Pass", "Parameters": {"map.$": "$"}, "End": True}},
    }


def _mount(path: Path, options: str) -> bool:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def _ended_since(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """Did an attempt end between two looks at the journal (a run, a resume or a redrive)?"""
    if after is None or after["status"] == "RUNNING":
        return False
    if before is None or before["status"] == "RUNNING":
        return True
    return bool(after["redrive_count"] > before["redrive_count"])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class Runner:
    """Runs one schedule through the CLI and checks it (see the module docstring)."""

    def __init__(self, s: Schedule, tmp: Path) -> None:
        self.s, self.tmp = s, tmp
        self.store_dir, self.state_dir, self.runs = tmp / "s3", tmp / "state", tmp / "runs"
        self.runs.mkdir()
        self.store = LocalObjectStore(str(self.store_dir))
        self.store.create_bucket("items")
        lines = "".join(json.dumps({"id": i}) + "\n" for i in range(s.n))
        self.store.put("items", "items.jsonl", lines.encode())
        self.mounted: Path | None = None
        if s.store_fault == "disk_full":
            self.mounted = self.store_dir / "results"
            self.mounted.mkdir()
            assert _mount(self.mounted, "size=4k")
        elif s.store_fault is None:
            self.store.create_bucket("results")
        for i in s.failing:
            (self.runs / f"fail-{i}").write_text("")
        if s.dying is not None:
            (self.runs / f"die-{s.dying}").write_text("")
        (tmp / "flow.json").write_text(json.dumps(definition(s)))
        self.failing = set(s.failing)
        self.redrives = 0
        self.attempts_ended = 0  # attempts that ended with a terminal event
        self.log: list[str] = []
        self.happened: Counter[str] = Counter()  # the events that took effect, and what followed

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "stepmap.cli", *args, "--state-dir", str(self.state_dir)]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}

    def popen(self, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.tmp / "out", "wb") as out, open(self.tmp / "err", "ab") as err:
            return subprocess.Popen(args, cwd=self.tmp, env=self.env(), stdout=out, stderr=err)

    def fix_causes(self) -> None:
        for i in self.failing:
            (self.runs / f"fail-{i}").unlink(missing_ok=True)
        self.failing = set()
        if self.s.dying is not None:
            (self.runs / f"die-{self.s.dying}").unlink(missing_ok=True)
        if self.s.store_fault == "missing_bucket":
            self.store.create_bucket("results")
        if self.mounted is not None:
            assert _mount(self.mounted, "remount,size=64m")

    def still_failing(self) -> set[int]:
        """The items that fail while the markers are there: marked ones, the dying one, and (batched)
        every item that shares a batch with one of them."""
        marked = set(self.failing)
        if self.s.dying is not None and (self.runs / f"die-{self.s.dying}").exists():
            marked.add(self.s.dying)
        if self.s.batch is None:
            return marked
        size = self.s.batch
        return {j for i in marked for j in range(i // size * size, min(self.s.n, (i // size + 1) * size))}

    def status(self) -> dict[str, Any]:
        """The execution's record (the journal exists: an attempt ended by itself)."""
        row = Journal(str(self.state_dir / "journal.sqlite")).find("sched")
        assert row is not None
        record: dict[str, Any] = row["record"]
        return record

    def run(self) -> None:
        input_value: dict[str, Any] = {"dir": str(self.runs), "sleep": self.s.sleep}
        if self.s.inline:
            input_value["items"] = [{"id": i} for i in range(self.s.n)]
        input_text = json.dumps(input_value)
        command = self.cli(
            "run", "flow.json", "--name", "sched", "--function", HANDLER, "--store", str(self.store_dir),
            "--input", input_text, "--quiet",
        )  # fmt: skip
        events = list(self.s.events)
        for _ in range(30):
            before = Journal(str(self.state_dir / "journal.sqlite")).find("sched")
            process = self.popen(command)
            self.log.append(" ".join(command[3:5]))
            kind, delay = events.pop(0) if events else ("none", 0.0)
            ended = False
            if kind != "none":
                try:
                    process.wait(timeout=delay)
                    ended = True
                except subprocess.TimeoutExpired:
                    pass
            if not ended and kind == "kill_stop":  # the coordinator dies, then the execution is stopped
                process.send_signal(signal.SIGKILL)
                process.wait()
                self.log.append(f"kill -9 at {delay}s")
                found = Journal(str(self.state_dir / "journal.sqlite")).find("sched")
                # a stop of an execution whose owner is gone (stop records the abort); too early: a kill
                kind = "stop" if found is not None and found["status"] == "RUNNING" else "kill"
                if kind == "stop":
                    self.happened["kill, then stop"] += 1
            if not ended and kind == "kill":
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    self.log.append(f"kill -9 at {delay}s")
                self.happened["kill"] += 1
                found = Journal(str(self.state_dir / "journal.sqlite")).find("sched")
                if found is not None and found["status"] == "RUNNING":
                    self.happened["resume"] += 1
                    command = self.cli("resume", "sched", "--quiet")
                    continue
                if not _ended_since(before, found):
                    continue  # killed before its run or redrive was journaled: the same command again
                # else the attempt had ended before the kill: as if the process had exited
            if not ended and kind == "kill_worker":
                workers = _children(process.pid)
                if workers:
                    os.kill(random.Random(self.s.seed).choice(workers), signal.SIGKILL)
                    self.log.append(f"kill -9 of a worker at {delay}s")
                    self.happened["kill_worker"] += 1
            if not ended and kind == "stop":
                stopped = subprocess.run(
                    self.cli("stop", "sched"), cwd=self.tmp, env=self.env(), capture_output=True,
                    text=True, timeout=PROCESS_TIMEOUT,
                )  # fmt: skip
                self.log.append(f"stop at {delay}s -> {stopped.returncode}")
                self.happened["stop"] += stopped.returncode == 0
                assert stopped.returncode == 0 or "not RUNNING" in stopped.stderr, stopped.stderr
            try:
                process.wait(timeout=PROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"an attempt did not end in {PROCESS_TIMEOUT:g} s") from None
            record = self.status()
            self.log.append(f"-> exit {process.returncode}, {record['status']}")
            if record["status"] == "RUNNING":  # the engine failed (e.g. the state directory's disk)
                self.happened["resume"] += 1
                command = self.cli("resume", "sched", "--quiet")
                continue
            self.attempts_ended += 1
            self.check_results(record)
            if record["status"] == "SUCCEEDED":
                return
            self.happened[f"ended {record['status']}"] += 1
            if record["status"] == "FAILED" or not events:
                self.fix_causes()
            self.redrives += 1
            self.happened["redrive"] += 1
            command = self.cli("redrive", "sched", "--quiet")
        raise AssertionError("the execution did not succeed in 30 attempts")

    def check_results(self, record: dict[str, Any]) -> None:
        status, n = record["status"], self.s.n
        tolerated = self.still_failing()  # a Map Run may succeed without them
        if self.s.writer is not None:
            if not self.store.bucket_exists("results"):
                assert status != "SUCCEEDED"
                return
            jsonl = self.s.writer == "COMPACT"
            check(exported_ids(self.store, "results", jsonl=jsonl), n, status, tolerated=tolerated)
            if status == "SUCCEEDED":
                failed = failed_ids(self.store, "results", jsonl=jsonl)
                assert tolerated <= failed, "a tolerated failure is not recorded"
        elif status == "SUCCEEDED":
            ids = [i for child in json.loads(record["output"])["map"] for i in record_ids(child)]
            check(ids, n, status, ordered=True, tolerated=tolerated)

    def check_journal(self) -> None:
        journal = Journal(str(self.state_dir / "journal.sqlite"))
        events = journal.history("sched")
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), "history event ids"
        types = Counter(e["type"] for e in events)
        assert types["ExecutionStarted"] == 1
        row = journal.find("sched")
        assert row is not None
        assert types["ExecutionRedriven"] == row["redrive_count"] <= self.redrives, (types, self.redrives)
        assert sum(types[t] for t in TERMINAL) == self.attempts_ended, (types, self.attempts_ended)
        assert events[-1]["type"] == "ExecutionSucceeded"
        if not self.s.inline:
            (map_run,) = journal.map_runs("sched")
            assert map_run["status"] == "SUCCEEDED", map_run

    def close(self) -> None:
        if self.mounted is not None:
            subprocess.run(["umount", "-l", str(self.mounted)], capture_output=True)


def can_mount(tmp: Path) -> bool:
    probe = tmp / "mount-probe"
    probe.mkdir()
    ok = _mount(probe, "size=4k")
    if ok:
        subprocess.run(["umount", "-l", str(probe)], capture_output=True)
    return ok


def run_seed(seed: int, tmp: Path, mountable: bool) -> Counter[str]:
    s = make_schedule(seed, can_mount=mountable)
    runner = Runner(s, tmp)
    try:
        runner.run()
        runner.check_journal()
        runner.happened["ended SUCCEEDED"] += 1
        return runner.happened
    except Exception as exc:
        err = (tmp / "err").read_text()[-3000:] if (tmp / "err").exists() else ""
        raise AssertionError(
            f"fault schedule failed: {s.describe()}\nsteps: {runner.log}\n{exc}\nstderr tail:\n{err}\n"
            f"rerun it with STEPMAP_FAULT_SEED={seed}"
        ) from exc
    finally:
        runner.close()


def seeds(default: int) -> list[int]:
    if os.environ.get("STEPMAP_FAULT_SEED"):
        return [int(os.environ["STEPMAP_FAULT_SEED"])]
    count = int(os.environ.get("STEPMAP_FAULT_SEEDS", default))
    first = int(os.environ.get("STEPMAP_FAULT_FIRST_SEED", 0))
    return list(range(first, first + count))


@pytest.mark.parametrize("seed", [11, 13, 14])
def test_fault_schedules_short(seed: int, tmp_path: Path) -> None:
    run_seed(seed, tmp_path, can_mount(tmp_path))


@pytest.mark.faults
@pytest.mark.slow
def test_fault_schedules_long(tmp_path: Path) -> None:
    chosen = seeds(500)
    mountable = can_mount(tmp_path)
    started = time.monotonic()
    failures: list[str] = []
    tally: Counter[str] = Counter()
    for seed in chosen:
        tmp = tmp_path / f"seed-{seed}"
        tmp.mkdir()
        s = make_schedule(seed, can_mount=mountable)
        tally.update([f"writer={s.writer}", f"store_fault={s.store_fault}", f"batch={s.batch is not None}"])
        tally.update([f"nested={s.nested}", f"failing items={bool(s.failing)}", f"inline={s.inline}"])
        tally.update([f"dying child={s.dying is not None}"])
        try:
            tally.update(run_seed(seed, tmp, mountable))
            tally["passed"] += 1
        except AssertionError as exc:
            failures.append(str(exc))
            print(f"\nFAILED {exc}", flush=True)
    print(f"\n{len(chosen)} schedules in {time.monotonic() - started:.0f} s: {dict(tally)}")
    assert not failures, f"{len(failures)} of {len(chosen)} schedules failed; first:\n{failures[0]}"
