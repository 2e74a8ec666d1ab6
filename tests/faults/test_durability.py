"""Durable executions: resume after the coordinator is killed, redrive after a failure, stop, and one
execution per name under concurrent starts."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from stepmap.functions import FunctionRegistry
from stepmap.journal import Journal
from stepmap.service.runner import StepmapService

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "counted=tests.faults.fault_handlers:counted"


def dmap_definition(bucket: str, tolerated: int | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": bucket, "Key": "items.jsonl"},
        },
        "ItemSelector": {"id.$": "$$.Map.Item.Value.id", "dir.$": "$.dir", "sleep.$": "$.sleep"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Count",
            "States": {"Count": {"Type": "Task", "Resource": "counted", "End": True}},
        },
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": "out"},
            "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"},
        },
        "Next": "Done",
    }
    if tolerated is not None:
        state["ToleratedFailureCount"] = tolerated
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Assign": {"prepared": True}, "Next": "Map"},
            "Map": state,
            "Done": {"Type": "Pass", "Parameters": {"prepared.$": "$prepared", "map.$": "$"}, "End": True},
        },
    }


def setup_store(tmp_path: Path, n: int) -> tuple[Path, Path, Path]:
    from stepmap.storage import LocalObjectStore

    store_dir, state_dir, runs = tmp_path / "s3", tmp_path / "state", tmp_path / "runs"
    runs.mkdir()
    store = LocalObjectStore(str(store_dir))
    store.create_bucket("durable")
    store.put("durable", "items.jsonl", "".join(json.dumps({"id": i}) + "\n" for i in range(n)).encode())
    return store_dir, state_dir, runs


def cli(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "stepmap.cli", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def results(store_dir: Path, output: dict[str, Any]) -> list[int]:
    from stepmap.storage import LocalObjectStore

    store = LocalObjectStore(str(store_dir))
    manifest = json.loads(store.get("durable", output["map"]["ResultWriterDetails"]["Key"]))
    ids = []
    for entry in manifest["ResultFiles"]["SUCCEEDED"]:
        ids.extend(json.loads(line)["id"] for line in store.get("durable", entry["Key"]).splitlines())
    return ids


def runs_per_item(runs: Path, n: int) -> list[int]:
    counts = []
    for i in range(n):
        path = runs / f"runs-{i}"
        counts.append(len(path.read_text().splitlines()) if path.exists() else 0)
    return counts


def test_kill_the_coordinator_at_random_points_and_resume_until_done(tmp_path: Path) -> None:
    n = 4000
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    (tmp_path / "flow.json").write_text(json.dumps(dmap_definition("durable")))
    common = ["--state-dir", str(state_dir), "--quiet"]
    start = [
        *cli("run", "flow.json", cwd=tmp_path), "--name", "durable-1", "--function", HANDLER,
        "--store", str(store_dir), "--input", json.dumps({"dir": str(runs), "sleep": 0.001}), *common,
    ]  # fmt: skip
    rng = random.Random(7)
    kills = 0
    command = start
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    for _attempt in range(30):
        # output goes to files: orphaned workers of a killed coordinator must not hold our pipes open
        with open(out_path, "wb") as out_file, open(err_path, "wb") as err_file:
            process = subprocess.Popen(command, cwd=tmp_path, env=env(), stdout=out_file, stderr=err_file)
            try:
                process.wait(timeout=rng.uniform(0.8, 2.5) if kills < 12 else 600)  # then let it end
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)  # kill -9 the coordinator only
                process.wait()
                kills += 1
                command = [*cli("resume", "durable-1", cwd=tmp_path), *common]
                continue
        if process.returncode == 2 and "is SUCCEEDED" in err_path.read_text():
            # the last kill came after the execution's end was journaled, before its output was printed
            record = Journal(str(state_dir / "journal.sqlite")).execution("durable-1")
            out_path.write_text(record["output"])
            break
        assert process.returncode == 0, err_path.read_text()
        break
    else:
        pytest.fail("the execution never finished")
    assert kills >= 2, "the test must kill the coordinator mid-run"
    output = json.loads(out_path.read_text())
    assert output["prepared"] is True  # variables survive a resume
    assert results(store_dir, output) == list(range(n))  # every item written exactly once, in order
    counts = runs_per_item(runs, n)
    assert min(counts) >= 1
    rerun = sum(c - 1 for c in counts)
    # children re-run after kills are bounded by what was in flight (a window of chunks) at each kill
    assert rerun <= kills * 2000, (kills, rerun)
    record = Journal(str(state_dir / "journal.sqlite")).execution("durable-1")
    assert record["status"] == "SUCCEEDED"
    print(f"\n{kills} kills, {rerun} children run again in total")


def test_redrive_reruns_only_failed_and_pending_children(tmp_path: Path) -> None:
    n = 300
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    failing = {5, 77, 150}
    for i in failing:
        (runs / f"fail-{i}").write_text("")
    service = StepmapService(
        functions=FunctionRegistry({"counted": "tests.faults.fault_handlers:counted"}),
        store=str(store_dir),
        state_dir=str(state_dir),
        journal=True,
    )
    definition = dmap_definition("durable", tolerated=1)
    first = service.start_execution(definition, {"dir": str(runs), "sleep": 0}, name="redrive-me")
    assert first.status == "FAILED" and first.error == "States.ExceedToleratedFailureThreshold"
    before = runs_per_item(runs, n)
    for i in failing:
        (runs / f"fail-{i}").unlink()  # the cause is fixed

    redriven = StepmapService.for_execution("redrive-me", state_dir=str(state_dir)).redrive("redrive-me")

    assert redriven.status == "SUCCEEDED", (redriven.error, redriven.cause)
    after = runs_per_item(runs, n)
    succeeded_first = [i for i in range(n) if before[i] == 1 and i not in failing]
    assert all(after[i] == 1 for i in succeeded_first), "a succeeded child was run again"
    assert all(after[i] == before[i] + 1 for i in failing)
    assert all(after[i] == 1 for i in range(n) if before[i] == 0)  # pending ones ran once
    assert redriven.redrive_count == 1
    types = [e["type"] for e in redriven.history]
    assert "ExecutionRedriven" in types and "MapRunRedriven" in types
    key = redriven.output["map"]["ResultWriterDetails"]["Key"]
    assert "/Redrive-1/" in key
    # the redrive's results hold exactly the children it ran
    redone = sorted(results(store_dir, redriven.output))
    assert redone == sorted(i for i in range(n) if i in failing or before[i] == 0)


def test_a_top_level_redrive_does_not_run_succeeded_states_again(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "fail-2").write_text("")
    definition = {
        "StartAt": "One",
        "States": {
            "One": {
                "Type": "Task",
                "Resource": "counted",
                "Parameters": {"id": 1, "dir": str(runs)},
                "Next": "Two",
            },
            "Two": {
                "Type": "Task",
                "Resource": "counted",
                "Parameters": {"id": 2, "dir": str(runs)},
                "End": True,
            },
        },
    }
    service = StepmapService(
        functions=FunctionRegistry({"counted": "tests.faults.fault_handlers:counted"}),
        state_dir=str(tmp_path / "state"),
        journal=True,
        executor="sync",
    )
    assert service.start_execution(definition, {}, name="two-steps").status == "FAILED"
    (runs / "fail-2").unlink()
    again = StepmapService.for_execution("two-steps", state_dir=str(tmp_path / "state")).redrive("two-steps")
    assert again.status == "SUCCEEDED" and again.output == {"id": 2}
    assert runs_per_item(runs, 3)[1:] == [1, 2]


def test_stop_aborts_a_running_execution(tmp_path: Path) -> None:
    n = 5000
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    (tmp_path / "flow.json").write_text(json.dumps(dmap_definition("durable")))
    process = subprocess.Popen(
        [
            *cli("run", "flow.json", cwd=tmp_path),
            "--name",
            "to-stop",
            "--function",
            HANDLER,
            "--store",
            str(store_dir),
            "--state-dir",
            str(state_dir),
            "--quiet",
            "--input",
            json.dumps({"dir": str(runs), "sleep": 0.002}),
        ],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(2.0)
    stopped = subprocess.run(
        [*cli("stop", "to-stop", cwd=tmp_path), "--state-dir", str(state_dir)],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _, err = process.communicate(timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["status"] == "ABORTED"
    assert process.returncode == 1
    assert json.loads(err.decode().strip().splitlines()[-1])["error"] == "States.Aborted"
    journal = Journal(str(state_dir / "journal.sqlite"))
    (map_run,) = journal.map_runs("to-stop")
    assert map_run["status"] == "ABORTED"
    assert sum(runs_per_item(runs, n)) < n  # it really stopped early


def test_two_hundred_concurrent_starts_with_one_name_make_one_execution(tmp_path: Path) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "End": True}},
    }
    state_dir = str(tmp_path / "state")
    arns: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            service = StepmapService(state_dir=state_dir, journal=True, executor="sync")
            arns.append(service.start_execution(definition, {"k": 1}, name="only-one").execution_arn)
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert len(arns) == 200 and len(set(arns)) == 1
    assert [e["name"] for e in Journal(str(Path(state_dir) / "journal.sqlite")).executions()] == ["only-one"]
    with pytest.raises(Exception, match="ExecutionAlreadyExists"):
        StepmapService(state_dir=state_dir, journal=True, executor="sync").start_execution(
            definition, {"k": 2}, name="only-one"
        )


@pytest.mark.slow
def test_twenty_kills_of_a_100k_item_map_run_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    n = 100_000
    store_dir, state_dir, runs = setup_store(tmp_path, n)
    definition = dmap_definition("durable")
    processor = definition["States"]["Map"]["ItemProcessor"]["States"]["Count"]
    processor["Resource"] = "log_run"
    (tmp_path / "flow.json").write_text(json.dumps(definition))
    common = ["--state-dir", str(state_dir), "--quiet"]
    command = [
        *cli("run", "flow.json", cwd=tmp_path), "--name", "big", "--function",
        "log_run=tests.faults.fault_handlers:log_run", "--store", str(store_dir),
        "--input", json.dumps({"dir": str(runs), "sleep": 0.0003}), *common,
    ]  # fmt: skip
    rng = random.Random(20)
    kills = 0
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    while True:
        with open(out_path, "wb") as out_file, open(err_path, "wb") as err_file:
            process = subprocess.Popen(command, cwd=tmp_path, env=env(), stdout=out_file, stderr=err_file)
            try:
                process.wait(timeout=rng.uniform(0.7, 1.4) if kills < 20 else 600)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                command = [*cli("resume", "big", cwd=tmp_path), *common]
                continue
        assert process.returncode == 0, err_path.read_text()
        break
    output = json.loads(out_path.read_text())
    assert results(store_dir, output) == list(range(n))
    ran = [int(line) for log in runs.glob("runs-*.log") for line in log.read_text().split()]
    assert set(ran) == set(range(n))
    rerun = len(ran) - n
    window = (2 * (os.cpu_count() or 1) + 2) * 4096  # chunks in flight x the largest chunk
    assert rerun <= kills * window, (kills, rerun, window)
    figures = {"items": n, "kills": kills, "children_run_again": rerun, "in_flight_window": window}
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "kill_resume.json").write_text(json.dumps(figures))
    print(f"\n{figures}")
