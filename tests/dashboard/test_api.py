"""The dashboard's JSON API, routing, security and report, without a browser."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from stepmap.cli import main
from stepmap.dashboard.data import DashboardData
from stepmap.dashboard.report import render_report
from stepmap.dashboard.states import derive_states
from stepmap.endpoints import EndpointContext, build_server
from stepmap.journal import Journal
from stepmap.service.runner import StepmapService
from tests.dashboard.workflows import (
    HOSTILE_TEXT,
    distributed_map,
    functions,
    hostile_execution,
    items,
    where,
)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _api(url: str, path: str) -> Any:
    status, _, body = _get(url + path)
    assert status == 200, body
    return json.loads(body)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory with one finished Distributed Map execution (30 items, 3 fail) and a hostile one."""
    state_dir = tmp_path_factory.mktemp("state")
    (state_dir / "s3" / "results").mkdir(parents=True)
    service = StepmapService(functions=functions(), executor="sync", journal=True, **where(state_dir))
    execution = service.start_execution(distributed_map(), items(30), name="dmap")
    assert execution.status == "FAILED" and execution.error == "ReportFailed"
    hostile_execution(state_dir)
    return state_dir


@pytest.fixture(scope="module")
def url(ran: Path) -> Any:
    ctx = EndpointContext.from_options(**where(ran))
    with build_server(ctx) as server:
        yield server.url


# -- per-state status ---------------------------------------------------------------------------------------
def _event(i: int, prev: int, kind: str, **details: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": i,
        "previousEventId": prev,
        "timestamp": f"2026-01-01T00:00:{i:02}",
        "type": kind,
    }
    if details:
        event["details" + "EventDetails"] = details
    return event


def test_states_caught_retried_failed_and_not_run() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "f",
                "Catch": [{"ErrorEquals": ["X"], "Next": "B"}],
                "Next": "C",
            },
            "B": {"Type": "Task", "Resource": "f", "Retry": [{"ErrorEquals": ["Y"]}], "Next": "D"},
            "C": {"Type": "Pass", "End": True},
            "D": {"Type": "Task", "Resource": "f", "End": True},
        },
    }
    events = [
        _event(1, 0, "ExecutionStarted"),
        _event(2, 1, "TaskStateEntered", name="A", input="{}"),
        _event(3, 2, "TaskScheduled"),
        _event(4, 3, "TaskFailed", error="X", cause="boom"),
        _event(5, 4, "TaskStateExited", name="A", output='{"caught":1}'),
        _event(6, 5, "TaskStateEntered", name="B", input="{}"),
        _event(7, 6, "TaskScheduled"),
        _event(8, 7, "TaskFailed", error="Y", cause="flaky"),
        _event(9, 8, "TaskScheduled"),
        _event(10, 9, "TaskSucceeded", output="1"),
        _event(11, 10, "TaskStateExited", name="B", output="1", assignedVariables={"v": "1"}),
        _event(12, 11, "TaskStateEntered", name="D", input="1"),
        _event(13, 12, "TaskScheduled"),
        _event(14, 13, "TaskFailed", error="Z", cause="fatal"),
        _event(15, 14, "ExecutionFailed", error="Z", cause="fatal"),
    ]
    states = derive_states(definition, events, "FAILED")
    assert {name: s["status"] for name, s in states.items()} == {
        "A": "caught",
        "B": "retried",
        "C": "not_run",
        "D": "failed",
    }
    assert states["A"]["details"][0]["errors"][0]["cause"] == "boom"
    assert states["B"]["details"][0]["retries"] == 1
    assert states["B"]["details"][0]["variables"] == {"v": "1"}
    assert states["D"]["details"][0]["errors"][0]["error"] == "Z"
    # the same history while the execution runs: D is running, not failed, until the execution ends
    running = derive_states(definition, events[:13], "RUNNING")
    assert running["D"]["status"] == "running"


def test_states_of_parallel_branches_and_map_iterations_are_their_own() -> None:
    events = [
        _event(1, 0, "ExecutionStarted"),
        _event(2, 1, "MapStateEntered", name="M", input="[1,2]"),
        _event(3, 2, "MapStateStarted"),
        _event(4, 3, "MapIterationStarted", name="M", index=0),
        _event(5, 3, "MapIterationStarted", name="M", index=1),
        _event(6, 4, "PassStateEntered", name="P", input="1"),
        _event(7, 5, "PassStateEntered", name="P", input="2"),
        _event(8, 7, "PassStateExited", name="P", output="2"),
        _event(9, 6, "PassStateExited", name="P", output="1"),
    ]
    states = derive_states(None, events, "RUNNING")
    assert states["M"]["status"] == "running"
    visits = states["P"]["details"]
    assert [(v["iteration"], v["output"]) for v in visits] == [([0], "1"), ([1], "2")]
    assert states["P"]["status"] == "succeeded"


# -- the API ------------------------------------------------------------------------------------------------
def test_executions_are_newest_first_paginated_and_filtered(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "journal.sqlite"))
    for i in range(1203):
        record = {
            "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:m{i % 3}:e{i:05}",
            "stateMachineArn": f"arn:aws:states:us-east-1:123456789012:stateMachine:m{i % 3}",
            "name": f"e{i:05}",
            "status": "RUNNING" if i % 2 else "SUCCEEDED",
            "startDate": f"2026-01-01T00:{i // 60:02}:{i % 60:02}+00:00",
        }
        journal.create_execution(record, f"m{i % 3}", None, {}, {})
    data = DashboardData(str(tmp_path))
    seen: list[str] = []
    cursor = None
    while True:
        page = data.executions(cursor=cursor, limit="500")
        seen.extend(x["name"] for x in page["executions"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"e{i:05}" for i in reversed(range(1203))]
    running = data.executions(status="RUNNING", limit="500")["executions"]
    assert running and all(x["status"] == "RUNNING" for x in running)
    assert [x["name"] for x in data.executions(name="e0120")["executions"]] == ["e01202", "e01201", "e01200"]
    machine = data.executions(state_machine="m1", limit="5")["executions"]
    assert [x["stateMachine"] for x in machine] == ["m1"] * 5
    machines = {m["name"]: m["executions"] for m in data.state_machines()["stateMachines"]}
    assert machines == {"m0": 401, "m1": 401, "m2": 401}
    with pytest.raises(Exception, match="limit"):
        data.executions(limit="100000")


def test_execution_map_run_and_result_files(url: str) -> None:
    listing = _api(url, "/ui/api/executions?name=dmap")
    assert [x["name"] for x in listing["executions"]] == ["dmap"]
    doc = _api(url, "/ui/api/execution?arn=dmap")
    assert doc["record"]["status"] == "FAILED"
    assert doc["states"]["Fanout"]["status"] == "succeeded"
    assert doc["states"]["Work"]["status"] == "not_run"  # children run without history
    report = doc["states"]["Report"]
    assert report["status"] == "failed"
    assert "the report found failed items" in report["details"][0]["errors"][0]["cause"]
    assert {n["id"] for n in doc["graph"]["nodes"]} >= {"s:Fanout", "s:Work", "s:Report"}
    (map_run,) = doc["mapRuns"]
    run = _api(url, "/ui/api/map-run?arn=" + quote(map_run["mapRunArn"], safe=""))
    counts = run["record"]["itemCounts"]
    assert (counts["total"], counts["succeeded"], counts["failed"]) == (30, 27, 3)
    assert [f["index"] for f in run["failures"]] == [3, 13, 23] and run["failureCount"] == 3
    assert run["failures"][0]["error"] == "ItemFailed"
    assert "item 3 is bad" in run["failures"][0]["cause"]
    assert run["samples"] and run["samples"][-1]["succeeded"] == 27
    assert run["execution"]["name"] == "dmap"
    files = run["resultWriter"]["files"]
    assert {f["category"] for f in files} == {"SUCCEEDED", "FAILED"}
    failed_file = next(f["key"] for f in files if f["category"] == "FAILED")
    status, _, body = _get(
        url
        + "/ui/api/result-file?"
        + f"mapRun={quote(map_run['mapRunArn'], safe='')}&key={quote(failed_file)}"
    )
    assert status == 200 and len(json.loads(body)) == 3
    status, _, _ = _get(
        url + f"/ui/api/result-file?mapRun={quote(map_run['mapRunArn'], safe='')}&key=../../x"
    )
    assert status == 404
    page = _api(url, "/ui/api/map-run-failures?arn=" + quote(map_run["mapRunArn"], safe="") + "&limit=2")
    assert [f["index"] for f in page["failures"]] == [3, 13] and page["next"] == "13"


def test_hostile_content_is_truncated(url: str) -> None:
    doc = _api(url, "/ui/api/execution?arn=hostile")
    assert len(doc["record"]["output"]) < 70_000 and "truncated" in doc["record"]["output"]
    (name,) = doc["states"]
    assert len(doc["states"][name]["details"][0]["output"]) < 70_000
    events = _api(url, "/ui/api/history?arn=hostile")["events"]
    assert all(len(json.dumps(e)) < 150_000 for e in events)


def test_routing_security_headers_and_static_files(url: str) -> None:
    status, headers, body = _get(url + "/")
    assert status == 200 and b"/ui/static/app.js" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b"http" not in body.replace(b"http://www.w3.org", b"")  # nothing from the network
    # a signed request to / is S3's (ListBuckets), not the dashboard's
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/s3/aws4_request, x"}
    status, headers, body = _get(url + "/", signed)
    assert b"ListAllMyBucketsResult" in body or b"<Error>" in body
    assert _get(url + "/ui/static/../app.py")[0] == 404
    assert _get(url + "/ui/static/%2e%2e/app.py")[0] == 404
    assert _get(url + "/ui/api/nope")[0] == 404
    assert _get(url + "/ui/api/execution?arn=missing")[0] == 404
    assert _get(url + "/ui/api/executions?cursor=!!")[0] == 400
    status, _, js = _get(url + "/ui/static/app.js")
    # data reaches the page only through textContent and setAttribute: no HTML is ever parsed from a string
    unsafe = rb"(inner|outer)HTML\s*[+]?=|insertAdjacentHTML|document\.write|eval\("
    assert status == 200 and not re.search(unsafe, js)
    assert _get(url + "/ui/static/vendor/dagre.min.js")[0] == 200
    presigned = "/?X-Amz-Credential=k%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00"
    assert b"stepmap dashboard" not in _get(url + presigned)[2]


def test_state_machines_with_their_definitions(url: str) -> None:
    machines = {m["name"]: m for m in _api(url, "/ui/api/state-machines")["stateMachines"]}
    assert machines["stepmap"]["executions"] == 1 and machines["stepmap"]["failed"] == 1
    machine = _api(url, "/ui/api/state-machine?name=stepmap")
    assert machine["definition"]["StartAt"] == "Fanout"
    nodes = {n["id"]: n for n in machine["graph"]["nodes"]}
    assert nodes["s:Work"]["parent"] == "g:/Fanout" and nodes["s:Fanout"]["mode"] == "DISTRIBUTED"
    assert {"from": "s:Fanout", "to": "s:Report", "label": ""} in machine["graph"]["edges"]


def test_a_token_guards_the_dashboard(ran: Path) -> None:
    ctx = EndpointContext.from_options(**where(ran))
    with build_server(ctx, token="s3cret") as server:
        assert _get(server.url + "/ui/api/executions")[0] == 403
        status, headers, _ = _get(server.url + "/?token=s3cret")
        assert status == 200 and "HttpOnly" in headers["Set-Cookie"]
        cookie = headers["Set-Cookie"].split(";")[0]
        assert _get(server.url + "/ui/api/executions", {"Cookie": cookie})[0] == 200
        assert _get(server.url + "/ui/api/executions", {"Cookie": "stepmap_token=wrong"})[0] == 403


def test_report_is_one_self_contained_file(ran: Path, tmp_path: Path) -> None:
    html = render_report(DashboardData(str(ran)), "hostile")
    assert "<script>window.__pwned" not in html  # the JSON is escaped inside its script element
    assert "\\u003cscript\\u003ewindow.__pwned=3" in html
    assert 'src="' not in html and "<link" not in html  # nothing fetched
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "dmap", "-o", str(out), "--state-dir", str(ran)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "stepmap-report" in text and "dagre" in text and "ItemFailed" in text
    missing = CliRunner().invoke(main, ["report", "nope", "-o", str(out), "--state-dir", str(ran)])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert HOSTILE_TEXT not in text
