"""SIGINT (Ctrl-C) and SIGTERM on ``stepmap run`` (issue 9, item 7): one line on stderr that says what state
the execution is in and how to resume or stop it, exit code 130 / 143, no traceback, and a journal that
``stepmap resume`` takes up to finish the execution."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
TASK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "nap", "End": True}}}


def _cli(*args: str, state_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "stepmap.cli", *args, "--state-dir", str(state_dir),
    ]  # fmt: skip


def _status(state_dir: Path, name: str) -> str | None:
    path = state_dir / "journal.sqlite"
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT status FROM executions WHERE name=?", (name,)).fetchone()
    except sqlite3.OperationalError:  # the schema is not there yet
        return None
    return None if row is None else str(row[0])


@pytest.mark.parametrize(
    ("signum", "code", "words"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_leaves_a_resumable_execution_and_says_so_in_one_line(
    tmp_path: Path, signum: int, code: int, words: str
) -> None:
    marker = tmp_path / "marker"
    marker.write_text("nap")
    state_dir = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    run = [
        *_cli("run", json.dumps(TASK), state_dir=state_dir),
        "--function", "nap=tests.faults.fault_handlers:nap_while_marked",
        "--input", json.dumps({"marker": str(marker), "seconds": 120}),
        "--name", "napping",
    ]  # fmt: skip
    proc = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the execution is under way (at most ~60 s)
            if _status(state_dir, "napping") == "RUNNING" or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert _status(state_dir, "napping") == "RUNNING"
        time.sleep(0.5)  # let it reach the Task
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Aborted!" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    what = "interrupted" if signum == signal.SIGINT else "stopped by SIGTERM"
    assert lines == [
        f"stepmap: {what}; execution napping is resumable: stepmap resume napping (or stepmap stop napping)"
    ]
    assert words in lines[0]
    assert _status(state_dir, "napping") == "RUNNING"
    marker.unlink()
    resumed = subprocess.run(
        _cli("resume", "napping", state_dir=state_dir),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["marker"] == str(marker)
    assert _status(state_dir, "napping") == "SUCCEEDED"
