"""A 1,000,000-item Distributed Map soak: the coordinator's memory does not grow with the items done.

The Map Run streams its items from a JSONL object in the local store through one-Pass child executions to
a ResultWriter, in-process (StepmapService), on the local worker pool. An observer samples the coordinator's
resident set size (VmRSS of this process) each time the Map Run reports progress, and takes the samples at
the 10 % and 100 % marks of succeeded items: what the scheduler, reader and writer hold must be bounded by
their windows and chunk sizes, so RSS may grow by less than 10 % between the two marks. Figures go to
stdout and to ``benchmarks/out/soak.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from stepmap.service.runner import StepmapService
from tests.faults.maps import jsonl_map

pytestmark = [pytest.mark.faults, pytest.mark.slow]

N = 1_000_000
OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "out" / "soak.json"


def rss_bytes() -> int:
    """This process's resident set size, from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class RssAtMarks:
    """A MapRunObserver that samples RSS at every progress report, keeping the 10 % and 100 % marks.

    ``items.total`` only counts the items read so far (the reader streams), so the marks are taken against
    the known item count."""

    def __init__(self, items: int) -> None:
        self.items = items
        self.at_10: tuple[int, int] | None = None  # (succeeded items, RSS) at the first sample past 10 %
        self.at_100: tuple[int, int] | None = None
        self.peak = 0
        self.samples = 0
        self.started = self.finished = 0.0

    def _sample(self, map_run: Any) -> None:
        rss = rss_bytes()
        self.samples += 1
        self.peak = max(self.peak, rss)
        done = map_run.items.succeeded
        if self.at_10 is None and done >= self.items // 10:
            self.at_10 = (done, rss)
        if self.at_100 is None and done >= self.items:
            self.at_100 = (done, rss)

    def map_run_started(self, map_run: Any) -> None:
        self.started = time.perf_counter()

    def map_run_progress(self, map_run: Any) -> None:
        self._sample(map_run)

    def map_run_finished(self, map_run: Any) -> None:
        self.finished = time.perf_counter()
        self._sample(map_run)  # progress reports are throttled: the last one may precede the last item


def _definition() -> dict[str, Any]:
    return jsonl_map("soak", None)


def test_a_million_item_map_run_holds_its_memory_steady(tmp_path: Path) -> None:
    observer = RssAtMarks(N)
    service = StepmapService(
        store=str(tmp_path / "s3"), state_dir=str(tmp_path / "state"), max_workers=2, observer=observer
    )
    try:
        service.store.create_bucket("soak")
        items = tmp_path / "items.jsonl"
        with open(items, "w", encoding="ascii") as out:
            for i in range(N):
                out.write(f'{{"id":{i}}}\n')
        service.store.put_file("soak", "items.jsonl", str(items))
        items.unlink()
        started = time.perf_counter()
        execution = service.start_execution(_definition(), {})
        seconds = time.perf_counter() - started
    finally:
        service.executor.shutdown()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    (map_run,) = service.map_runs
    assert map_run.items.succeeded == N and map_run.items.results_written == N
    # The results are all there, each once: ids in order (checked in one streaming pass).
    manifest = json.loads(service.store.get("soak", execution.output["ResultWriterDetails"]["Key"]))
    expected = 0
    for entry in manifest["ResultFiles"]["SUCCEEDED"]:
        with service.store.open("soak", entry["Key"]) as results:
            for line in results:
                assert json.loads(line)["id"] == expected
                expected += 1
    assert expected == N

    assert observer.at_10 is not None and observer.at_100 is not None, observer.samples
    (done_10, rss_10), (done_100, rss_100) = observer.at_10, observer.at_100
    growth = (rss_100 - rss_10) / rss_10
    figures = {
        "items": N,
        "seconds": round(seconds, 1),
        "items_per_second": round(N / seconds),
        "rss_10_mib": round(rss_10 / 2**20, 1),
        "rss_100_mib": round(rss_100 / 2**20, 1),
        "rss_peak_mib": round(observer.peak / 2**20, 1),
        "growth_percent": round(100 * growth, 2),
        "succeeded_at_10_mark": done_10,
        "samples": observer.samples,
    }
    print(f"\n[soak] {json.dumps(figures)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    assert done_100 == N
    assert growth < 0.10, figures
