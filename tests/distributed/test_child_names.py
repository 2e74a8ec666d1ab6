"""Children's names in the records a worker renders are those :func:`stepmap.worker.child_name` gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from stepmap.functions import FunctionRegistry
from stepmap.interpreter.distributed.writer import RecordFormat
from stepmap.worker import ChildJob, child_name, run_children

MAP_RUN_ID = "4977ded7-b097-3bee-81e1-7863c5660f29"


def test_worker_names_children_as_child_name_does() -> None:
    job = ChildJob(
        key="names",
        processor={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        functions=FunctionRegistry(),
        state_machine_name="m/Map",
        map_run_id=MAP_RUN_ID,
        execution_type="EXPRESS",
        region="us-east-1",
        account="123456789012",
        manual_clock_start=datetime(2024, 1, 1, tzinfo=UTC),
        record_format=RecordFormat("NONE", "JSON", 0),
    )
    indexes = [0, 1, 255, 4096, 2**40 + 7, 2**48 - 1, 2**48, 2**52 + 3]
    chunk = run_children(job, [(i, "{}", 1) for i in indexes])
    records = json.loads(b"[" + chunk.succeeded + b"]")
    assert [r["Name"] for r in records] == [child_name(MAP_RUN_ID, i) for i in indexes]
    assert all(r["ExecutionArn"].endswith(":" + r["Name"]) for r in records)
    assert records[0]["StartDate"] == "2024-01-01T00:00:00.000Z"
