"""The worker's cost per child, in-process: ``python benchmarks/child_cost.py [N] [ROUNDS]``.

Runs :func:`stepmap.worker.run_children` on chunks of a one-Pass ItemProcessor with ResultWriter NONE
records (what a Distributed Map worker does per message), with the system clock, and reports the median
microseconds per child over ROUNDS. ``digest`` is the SHA-256 of the records of a run on a fixed virtual
clock: equal digests mean byte-identical results (compare across versions of the code).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from datetime import UTC, datetime

from stepmap.functions import FunctionRegistry
from stepmap.interpreter.distributed.writer import RecordFormat
from stepmap.worker import ChildJob, run_children

PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def job(manual: datetime | None = None) -> ChildJob:
    return ChildJob(
        key=f"bench-{manual is not None}",
        processor=PROCESSOR,
        functions=FunctionRegistry(),
        state_machine_name="bench/Map",
        map_run_id="4977ded7-b097-3bee-81e1-7863c5660f29",
        execution_type="EXPRESS",
        region="us-east-1",
        account="123456789012",
        manual_clock_start=manual,
        record_format=RecordFormat("NONE", "JSON", 0),
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    children = [(i, f'{{"id":{i},"name":"item-{i}"}}', 1) for i in range(n)]
    fixed = run_children(job(datetime(2024, 1, 1, tzinfo=UTC)), children)
    digest = hashlib.sha256(fixed.succeeded).hexdigest()
    real = job()
    run_children(real, children[:1000])  # warm the parse cache
    per_child = []
    for _ in range(rounds):
        started = time.perf_counter()
        for first in range(0, n, 256):  # chunks as the scheduler ships them
            run_children(real, children[first : first + 256])
        per_child.append((time.perf_counter() - started) / n * 1e6)
    print(json.dumps({"children": n, "us_per_child": statistics.median(per_child), "digest": digest}))


if __name__ == "__main__":
    main()
