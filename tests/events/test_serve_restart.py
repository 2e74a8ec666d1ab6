"""The issue's bar, end to end: 1,000 files dropped into a watched bucket start 1,000 executions of each of
two rules' targets -- none lost, none twice -- across a kill -9 of `stepmap serve` in the middle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepmap.storage.messages import MessageStore
from tests.cli.test_cli import ROOT, stepmap

FILES = 1000
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def wait_for(what: str, check: Any, seconds: float = 300) -> Any:
    deadline = time.monotonic() + seconds  # bounded; no timed assertion: only a cap on waiting
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def serve(state_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPMAP_")}  # no store of another test
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stepmap.cli",
                "serve",
                "--port",
                "0",
                "--executor",
                "sync",
                "--state-dir",
                str(state_dir),
            ],
            stdout=out,
            stderr=out,
            env=env,
        )

    def url() -> str | None:
        for line in log.read_text().splitlines()[::-1]:
            if "stepmap: serving" in line:
                return line.split(" on ", 1)[1].split(" ", 1)[0]
        return None

    return proc, wait_for("serve's banner", url, 60)


def all_executions(sfn: Any, arn: str) -> list[dict[str, Any]]:
    found, token = [], None
    while True:
        page = sfn.list_executions(
            stateMachineArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        found += page["executions"]
        token = page.get("nextToken")
        if not token:
            return found


@pytest.mark.slow
def test_1000_files_start_1000_executions_per_rule_across_a_kill_9(tmp_path: Path) -> None:
    state_dir, log = tmp_path / "state", tmp_path / "serve.log"
    proc, url = serve(state_dir, log)
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    arns = [
        sfn.create_state_machine(name=n, definition=PASS, roleArn="arn:aws:iam::1:role/r")["stateMachineArn"]
        for n in ("A", "B")
    ]
    pattern = json.dumps({"source": ["aws.s3"], "detail": {"bucket": {"name": ["inbox"]}}})
    for i, arn in enumerate(arns):
        assert (
            stepmap(
                "rules",
                "put",
                f"r{i}",
                "--pattern",
                pattern,
                "--target",
                arn,
                "--state-dir",
                str(state_dir),
                cwd=tmp_path,
            ).returncode
            == 0
        )
    store = MessageStore(str(state_dir))
    wait_for("the first scan", lambda: store.cursor("objects-scanned") == 1, 60)
    inbox = state_dir / "s3" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        (inbox / f"f{i:04d}.csv").write_text(f"{i}\n")
    wait_for("some executions", lambda: len(all_executions(sfn, arns[0])) >= 100)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    print(f"killed after {len(store.events())} events, {store.cursor('rules')} handled")  # for the record

    proc, url = serve(state_dir, log)
    try:
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )

        def done() -> bool:
            lists = [all_executions(sfn, arn) for arn in arns]
            return all(len(x) >= FILES and all(e["status"] == "SUCCEEDED" for e in x) for x in lists)

        wait_for("every execution", done)
        last = max(seq for seq, _, _ in store.events_after(0, limit=10 * FILES))
        wait_for("the engine to pass the last event", lambda: store.cursor("rules") >= last, 60)
        for arn in arns:
            found = all_executions(sfn, arn)
            assert len(found) == FILES and len({e["name"] for e in found}) == FILES
        assert len(store.events()) == FILES  # one Object Created per file, none twice
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
