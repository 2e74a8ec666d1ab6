"""The disk fills up, or the state directory is read-only: a clear error, the journal intact, and (once
there is room again) a resume that finishes the job with every item written once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stepmap.storage import LocalObjectStore
from tests.faults.maps import jsonl_map, result_records

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
N = 5000


def _mount(path: Path, options: str) -> bool:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB file system of its own (tmpfs), mounted for the test and unmounted after it."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if not _mount(mount_point, "size=256k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def stepmap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "stepmap.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_disk_full_gives_a_clear_error_keeps_the_journal_and_resumes_later(
    tmp_path: Path, small_disk: Path
) -> None:
    store = LocalObjectStore(str(tmp_path / "s3"))
    store.create_bucket("disk")
    store.put("disk", "items.jsonl", "".join(json.dumps({"id": i}) + "\n" for i in range(N)).encode())
    definition = jsonl_map("disk", None)
    definition["States"]["M"]["ResultWriter"]["WriterConfig"]["Transformation"] = "NONE"  # ~500 B a record
    (tmp_path / "flow.json").write_text(json.dumps(definition))
    state = small_disk / "state"

    full = stepmap(
        "run", "flow.json", "--name", "fills-the-disk", "--store", str(tmp_path / "s3"),
        "--state-dir", str(state), "--quiet", cwd=tmp_path,
    )  # fmt: skip

    assert full.returncode == 1, full.stderr
    assert "No space left on device" in full.stderr or "database or disk is full" in full.stderr
    assert "Traceback" not in full.stderr
    with sqlite3.connect(state / "journal.sqlite") as db:  # the journal is intact and says where it was
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (status,) = db.execute("SELECT status FROM executions WHERE name='fills-the-disk'").fetchone()
    assert status == "RUNNING"

    assert _mount(small_disk, "remount,size=64m")  # room again
    resumed = stepmap("resume", "fills-the-disk", "--state-dir", str(state), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    output = json.loads(resumed.stdout)
    records = result_records(store, "disk", output["ResultWriterDetails"]["Key"])
    assert [json.loads(r["Input"])["id"] for r in records] == list(range(N))


def test_a_read_only_state_directory_gives_a_clear_error(tmp_path: Path, small_disk: Path) -> None:
    (tmp_path / "flow.json").write_text(
        json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    )
    assert _mount(small_disk, "remount,ro")
    result = stepmap("run", "flow.json", "--state-dir", str(small_disk / "state"), cwd=tmp_path)
    assert result.returncode == 1
    assert "journal" in result.stderr and "Traceback" not in result.stderr
