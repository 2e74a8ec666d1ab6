"""`stepmap run --open`, and links from a parent execution to the executions it started."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from stepmap.dashboard.data import DashboardData
from stepmap.dashboard.live import dashboard_for_run
from stepmap.journal import Journal

ROOT = Path(__file__).resolve().parents[2]


def test_run_open_prints_the_execution_page_and_exits_with_the_run(tmp_path: Path) -> None:
    definition = tmp_path / "pass.asl.json"
    definition.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    done = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "run", str(definition), "--open", "--name", "seen",
         "--state-dir", str(tmp_path / "state"), "--input", '{"a": 1}'],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"a": 1}
    assert "stepmap: dashboard at http://127.0.0.1:" in done.stderr
    assert done.stderr.rstrip().endswith("/#/execution/seen")


def test_the_run_dashboard_serves_the_state_directory(tmp_path: Path) -> None:
    with dashboard_for_run("some name", state_dir=str(tmp_path)) as url:
        assert url.endswith("/#/execution/some%20name")
        base = url.split("/#/")[0]
        with urllib.request.urlopen(base + "/") as response:
            assert b"stepmap dashboard" in response.read()
        with urllib.request.urlopen(base + "/ui/api/executions") as response:
            assert json.loads(response.read())["executions"] == []


def test_a_parent_links_to_the_executions_it_started(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "journal.sqlite"))
    child = "arn:aws:states:us-east-1:123456789012:execution:child:kid-1"
    parent = "arn:aws:states:us-east-1:123456789012:execution:parent:p-1"
    for arn, machine, name in ((parent, "parent", "p-1"), (child, "child", "kid-1")):
        record = {
            "executionArn": arn,
            "stateMachineArn": f"arn:aws:states:us-east-1:123456789012:stateMachine:{machine}",
            "name": name,
            "status": "SUCCEEDED",
            "startDate": "2026-01-01T00:00:00+00:00",
        }
        journal.create_execution(record, machine, None, {}, {})
    output = json.dumps({"ExecutionArn": child, "StartDate": "2026-01-01T00:00:00+00:00"})
    events = [
        {"id": 1, "previousEventId": 0, "timestamp": "t", "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Start", "input": "{}"}},
        {"id": 2, "previousEventId": 1, "timestamp": "t", "type": "TaskSucceeded",
         "taskSucceededEventDetails": {"resourceType": "states", "resource": "startExecution",
                                       "output": output}},
    ]  # fmt: skip
    journal.checkpoint(parent, {"state": "Start"}, events, None)
    doc = DashboardData(str(tmp_path)).execution("p-1")
    assert doc["children"] == [{"executionArn": child, "name": "kid-1", "status": "SUCCEEDED"}]
