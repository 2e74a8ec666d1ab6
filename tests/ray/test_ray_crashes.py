"""On Ray too, a child that kills its worker fails alone with ``Runtime.ExitError`` (issue 9, item 5):
Ray re-runs the task on a fresh worker, then reports ``WorkerCrashedError``, which the Ray executor turns
into ``WorkerDied`` so that the Map Run splits the chunk and isolates the child."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepmap.functions import FunctionRegistry
from stepmap.service.runner import StepmapService
from stepmap.storage.handles import clear_cache
from tests.faults.maps import jsonl_map

pytestmark = pytest.mark.ray


def test_a_child_that_kills_its_ray_worker_fails_alone(
    ray_cluster: str, aws_endpoint: str, aws_env: None, tmp_path: Path
) -> None:
    clear_cache()
    functions = FunctionRegistry({"crash_on": "tests.faults.fault_handlers:crash_on"})
    service = StepmapService(
        functions=functions,
        executor="ray",
        store="s3://",
        s3_endpoint=aws_endpoint,
        state_dir=str(tmp_path / "state"),
        ray_address=ray_cluster,
    )
    bucket, n, culprit = "ray-crash", 40, 23
    service.store.create_bucket(bucket)
    items = [{"id": i, **({"crash": "exit"} if i == culprit else {})} for i in range(n)]
    service.store.put(bucket, "items.jsonl", "".join(json.dumps(item) + "\n" for item in items).encode())
    execution = service.start_execution(jsonl_map(bucket, "crash_on", ToleratedFailureCount=1), {})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    manifest = json.loads(service.store.get(bucket, execution.output["ResultWriterDetails"]["Key"]))
    lines = {
        status: [
            json.loads(line)
            for entry in entries
            for line in service.store.get(bucket, entry["Key"]).splitlines()
            if line.strip()
        ]
        for status, entries in manifest["ResultFiles"].items()
    }
    assert [r["id"] for r in lines["SUCCEEDED"]] == [i for i in range(n) if i != culprit]
    (failed,) = lines["FAILED"]
    assert failed["Error"] == "Runtime.ExitError" and json.loads(failed["Input"])["id"] == culprit
