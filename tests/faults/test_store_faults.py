"""The S3 store throttles (503 SlowDown) and drops connections: Map Runs complete, or fail cleanly.

Every store request of the run - the coordinator's ItemReader and ResultWriter, and the handlers' own reads
and writes through ``stepmap.objects()`` in the worker processes - goes through :class:`FlakyS3`, a proxy
in front of the moto server that faults a given fraction of them. Faults are counted at the proxy (retries
happen in several processes); the retries are read from each process's store: the coordinator's directly,
the workers' from the handlers' outputs. Figures go to stdout and to ``benchmarks/out/store_faults.json``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import stepmap
from stepmap.errors import EngineError
from stepmap.functions import FunctionRegistry
from stepmap.service.runner import StepmapService
from tests.faults.flaky_s3 import FlakyS3
from tests.faults.maps import jsonl_map
from tests.storage.conftest import unique_name

pytestmark = pytest.mark.faults

N = 3000  # items
BATCH = 25  # items per child execution: 120 children, each making three store requests of its own
OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "out" / "store_faults.json"
FUNCTIONS = {"touch_store": "tests.faults.test_store_faults:touch_store"}


def touch_store(event: Any, context: Any) -> Any:
    """Read a shared object, write one object per batch and read it back, through ``stepmap.objects()``."""
    store = stepmap.objects()
    bucket = event["BatchInput"]["Bucket"]
    ids = [item["id"] for item in event["Items"]]
    factor = json.loads(store.get(bucket, "factor.json"))["factor"]
    body = json.dumps([i * factor for i in ids]).encode()
    key = f"work/{ids[0]:06d}.json"
    store.put(bucket, key, body)
    if store.get(bucket, key) != body:
        raise RuntimeError(f"{key} read back differs from what was written")
    # This process's retries so far: the test sums the last value seen per worker process.
    return {"ids": ids, "pid": os.getpid(), "retries": getattr(store, "retries", 0)}


def _definition(bucket: str) -> dict[str, Any]:
    return jsonl_map(
        bucket, "touch_store", ItemBatcher={"MaxItemsPerBatch": BATCH, "BatchInput": {"Bucket": bucket}}
    )


@pytest.fixture
def make_service(
    aws_endpoint: str, aws_env: None, tmp_path: Path
) -> Iterator[Callable[[str], StepmapService]]:
    """Services on the S3 store at a proxy's URL; their worker pools are shut down after the test."""
    services: list[StepmapService] = []

    def make(endpoint: str) -> StepmapService:
        service = StepmapService(
            functions=FunctionRegistry(FUNCTIONS),
            store="s3://",
            s3_endpoint=endpoint,
            state_dir=str(tmp_path / f"state-{len(services)}"),
            max_workers=2,
        )
        services.append(service)
        return service

    yield make
    for service in services:
        service.executor.shutdown()


def _setup(service: StepmapService, items: int) -> str:
    bucket = unique_name("faults")
    service.store.create_bucket(bucket)
    service.store.put(bucket, "items.jsonl", "".join(f'{{"id": {i}}}\n' for i in range(items)).encode())
    service.store.put(bucket, "factor.json", b'{"factor": 3}')
    return bucket


def _results(service: StepmapService, bucket: str, output: Any) -> list[dict[str, Any]]:
    store = service.store
    manifest = json.loads(store.get(bucket, output["ResultWriterDetails"]["Key"]))
    assert (
        manifest["ResultFiles"].get("FAILED", []) == [] and manifest["ResultFiles"].get("PENDING", []) == []
    )
    records: list[dict[str, Any]] = []
    for entry in manifest["ResultFiles"]["SUCCEEDED"]:
        records.extend(json.loads(line) for line in store.get(bucket, entry["Key"]).splitlines())
    return records


def _retries(service: StepmapService) -> int:
    retries: int = getattr(service.store, "retries")  # noqa: B009 - only the S3 store counts retries
    return retries


def _report(name: str, figures: dict[str, Any]) -> None:
    print(f"\n[store faults] {name}: {json.dumps(figures)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    previous[name] = figures
    OUT.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.20])
def test_a_map_run_completes_through_throttling_and_dropped_connections(
    aws_endpoint: str, make_service: Callable[[str], StepmapService], rate: float
) -> None:
    with FlakyS3(aws_endpoint, rate=0.0, seed=int(rate * 1000)) as proxy:
        service = make_service(proxy.url)
        bucket = _setup(service, N)  # set up without faults; the faults are the run's
        setup_requests, setup_retries = proxy.stats().requests, _retries(service)
        proxy.set_rate(rate)
        started = time.perf_counter()
        execution = service.start_execution(_definition(bucket), {})
        seconds = time.perf_counter() - started
        stats = proxy.stats()
        proxy.set_rate(0.0)  # reading the results back is the test's business, not the run's

        assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
        records = _results(service, bucket, execution.output)
        ids = [i for record in records for i in record["ids"]]
        assert ids == list(range(N))  # every item's result written once, in item order
        written = list(service.store.list(bucket, "work/"))
        assert len(written) == N // BATCH  # every child's own write landed (once: keys are per child)
    (map_run,) = service.map_runs
    assert map_run.items.succeeded == N and map_run.items.results_written == N and map_run.items.failed == 0

    worker_retries: dict[int, int] = {}
    for record in records:
        worker_retries[record["pid"]] = max(worker_retries.get(record["pid"], 0), record["retries"])
    coordinator_retries = _retries(service) - setup_retries
    retries = coordinator_retries + sum(worker_retries.values())
    requests = stats.requests - setup_requests
    assert stats.upstream_errors == 0
    assert stats.faults > 0, "the proxy must actually inject faults"
    # No request ran out of attempts, so every injected fault was answered by exactly one retry.
    assert retries == stats.faults, (retries, stats)
    _report(
        f"rate_{rate:.2f}",
        {
            "rate": rate,
            "items": N,
            "children": N // BATCH,
            "requests": requests,
            "faults": stats.faults,
            "slowdowns": stats.slowdowns,
            "drops": stats.drops,
            "observed_fault_rate": round(stats.faults / requests, 4),
            "retries_coordinator": coordinator_retries,
            "retries_workers": sum(worker_retries.values()),
            "seconds": round(seconds, 2),
        },
    )


def test_a_put_file_that_is_throttled_is_retried(
    aws_endpoint: str, make_service: Callable[[str], StepmapService], tmp_path: Path
) -> None:
    """The ResultWriter uploads its result files with ``put_file``; one 503 must not fail the Map Run."""
    with FlakyS3(aws_endpoint, rate=0.0) as proxy:
        service = make_service(proxy.url)
        bucket = _setup(service, 1)
        source = tmp_path / "result.json"
        source.write_bytes(b"[1, 2, 3]")
        proxy.fail_next(1, "slowdown")
        service.store.put_file(bucket, "out/result.json", str(source))
        assert service.store.get(bucket, "out/result.json") == b"[1, 2, 3]"
        assert proxy.stats().slowdowns == 1
        assert _retries(service) == 1


def _only(prefix: str, method: str | None = None) -> Callable[[str, str], bool]:
    return lambda verb, path: (method is None or verb == method) and path.split("?", 1)[0].startswith(prefix)


# The store's last error must reach the user as the workflow's failure (AWS: States.ItemReaderFailed and
# States.ResultWriterFailed when S3 keeps failing), not as an exception out of the engine.
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("reader", "States.ItemReaderFailed"),
        ("handler", "States.ExceedToleratedFailureThreshold"),
        ("writer", "States.ResultWriterFailed"),
    ],
)
def test_when_retries_run_out_the_execution_fails_cleanly(
    aws_endpoint: str, make_service: Callable[[str], StepmapService], where: str, expected: str
) -> None:
    # Drops only: a 503 on the result upload fails at once (see the put_file test), not after the retries.
    with FlakyS3(aws_endpoint, rate=0.0, drop_share=1.0) as proxy:
        service = make_service(proxy.url)
        bucket = _setup(service, 2)
        paths = {
            "reader": _only(f"/{bucket}/items.jsonl", "GET"),
            "handler": _only(f"/{bucket}/work/"),
            "writer": _only(f"/{bucket}/out/", "PUT"),
        }
        proxy.set_rate(1.0, only=paths[where])
        started = time.perf_counter()
        try:
            execution = service.start_execution(_definition(bucket), {})
        except EngineError as exc:
            pytest.fail(f"the store's failure escaped as {type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        stats = proxy.stats()
        proxy.set_rate(0.0)

        assert execution.status == "FAILED"
        assert execution.error == expected, (execution.error, execution.cause)
        cause = execution.cause or ""
        if where == "handler":
            # The Map Run fails on its threshold; the child's record says why it failed.
            manifest_key = next(
                k.key for k in service.store.list(bucket, "out/") if k.key.endswith("manifest.json")
            )
            manifest = json.loads(service.store.get(bucket, manifest_key))
            (failed_file,) = manifest["ResultFiles"]["FAILED"]
            record = json.loads(service.store.get(bucket, failed_file["Key"]).splitlines()[0])
            assert record["Error"] == "StoreUnavailable", record
            cause = record["Cause"]
    assert "after 8 attempts" in cause and "Traceback" not in cause, cause
    assert stats.faults >= 8  # one request's attempts at least, all refused
    _report(
        f"exhausted_{where}", {"error": execution.error, "faults": stats.faults, "seconds": round(seconds, 2)}
    )
