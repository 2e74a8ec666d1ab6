"""Dashboard benchmarks: ``python benchmarks/dashboard.py [--quick] [--out F]``.

D1 cost to a run: a Distributed Map (N JSONL items, one-Pass ItemProcessor with 1% of items failing,
ResultWriter on, ``local`` executor, journal on) run by a separate process, alternately with nobody watching
and with the dashboard open in headless Chromium (served from this process): the executions page is open
when the run starts, and follows to the Map Run page (polling every second) as soon as the Map Run exists.
Ratio = items/s with the page open / items/s without (target >= 0.95). On a busy machine that ratio is
noisy, so D1 also prints the CPU time the open dashboard (Chromium's processes and the server) used during a
run, as a share of the run's own CPU time (the run and its worker processes): the slow-down it can cause.
D2 page load: a fresh load of the Map Run page of a 100,000-item Map Run until its counters are drawn
(target <= 1 s), and of the executions page over a journal of 100,000 executions; the API's own times too.

Without /usr/bin/chromium and chromedriver, D1 polls the same API the page reads (say so in the output) and
D2 reports the API times only. Every figure comes from one run on one machine, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent)]

ONE_PASS = {"StartAt": "Check", "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Fail"}],
              "Default": "P"},
    "P": {"Type": "Pass", "End": True},
    "Fail": {"Type": "Fail", "Error": "ItemFailed", "Cause": "this item is marked to fail"},
}}  # fmt: skip


def _definition(key: str) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSONL"},
                    "Parameters": {"Bucket": "bench", "Key": key},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    **ONE_PASS,
                },
                "ToleratedFailurePercentage": 100,
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "bench", "Prefix": "out"},
                },
                "End": True,
            }
        },
    }


def one_run(state_dir: str, name: str, n: int) -> None:
    """In a child process: run the Distributed Map once, print its items/s as JSON."""
    from stepmap.service.runner import StepmapService
    from stepmap.storage import LocalObjectStore

    root = os.path.join(state_dir, "s3")
    store = LocalObjectStore(root)
    if not store.bucket_exists("bench"):
        store.create_bucket("bench")
    key = f"items-{n}.jsonl"
    path = os.path.join(state_dir, key)
    if not os.path.exists(path):
        with open(path, "w") as fh:
            for i in range(n):
                fh.write(json.dumps({"id": i, "fail": i % 100 == 7}) + "\n")
        store.put_file("bench", key, path)
    service = StepmapService(executor="local", state_dir=state_dir, journal=True)
    service.start_execution({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {})  # warm up
    started = time.perf_counter()
    execution = service.start_execution(_definition(key), {}, name=name)
    seconds = time.perf_counter() - started
    if execution.status != "SUCCEEDED":
        raise SystemExit(f"benchmark run failed: {execution.error}: {execution.cause}")
    print(json.dumps({"items": n, "seconds": seconds, "items_per_s": n / seconds}))


def _run(state_dir: str, name: str, n: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--one-run", state_dir, name, str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"run {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (a run and its worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its descendants (headless Chromium), from /proc."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _map_run_arn(url: str, name: str, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        try:
            runs = _get(f"{url}/ui/api/execution?arn={quote(name)}")["mapRuns"]
            if runs:
                return str(runs[0]["mapRunArn"])
        except Exception:  # not journaled yet
            pass
        time.sleep(0.2)
    return None


class Watcher:
    """What has the Map Run page open: headless Chromium, or (without it) a poller of the page's API."""

    def __init__(self) -> None:
        self.driver: Any = None
        if os.access("/usr/bin/chromium", os.X_OK) and os.access("/usr/bin/chromedriver", os.X_OK):
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service

            from tests.dashboard.browser import FLAGS

            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for flag in FLAGS:
                options.add_argument(flag)
            self.profile = tempfile.TemporaryDirectory(prefix="stepmap-bench-chromium-")
            options.add_argument(f"--user-data-dir={self.profile.name}")
            self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.kind = "headless Chromium" if self.driver else "an HTTP poller (no chromium)"

    def watch(self, url: str, name: str) -> threading.Thread:
        """Open the execution's Map Run page as soon as it exists; keep it open (polling) until it ends."""

        def follow() -> None:
            arn = _map_run_arn(url, name, time.monotonic() + 120)
            if arn is None:
                return
            if self.driver is not None:  # the user clicks through to the Map Run (no page reload)
                self.driver.execute_script("location.hash = arguments[0]", f"#/map-run/{quote(arn, safe='')}")
                return
            while _get(f"{url}/ui/api/map-run?arn={quote(arn, safe='')}")["record"]["status"] == "RUNNING":
                time.sleep(1.0)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        return thread

    def open(self, url: str) -> None:
        """The dashboard's executions page, open before the run starts (its load is not the run's cost)."""
        if self.driver is not None:
            self.driver.get(url + "/#/")

    def blank(self) -> None:
        if self.driver is not None:
            self.driver.get("about:blank")

    def load_time(self, page: str, ready_script: str) -> float | None:
        """Seconds from navigation to ``ready_script`` returning true (median of 3 fresh loads)."""
        if self.driver is None:
            return None
        times = []
        for _ in range(3):
            self.driver.get("about:blank")
            started = time.perf_counter()
            self.driver.get(page)
            deadline = time.monotonic() + 30
            while not self.driver.execute_script(ready_script):
                if time.monotonic() > deadline:
                    raise SystemExit(f"page {page} never got ready")
                time.sleep(0.005)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def cpu(self) -> float:
        """CPU seconds the watcher has used so far: Chromium's processes, and this process (the server)."""
        browser = _tree_cpu(self.driver.service.process.pid) if self.driver is not None else 0.0
        return browser + time.process_time()

    def close(self) -> None:
        if self.driver is not None:
            self.driver.quit()
            self.profile.cleanup()


def _api_time(url: str, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get(url)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _many_executions(state_dir: str, n: int) -> None:
    from stepmap.journal import Journal

    Journal(os.path.join(state_dir, "journal.sqlite")).close()
    db = sqlite3.connect(os.path.join(state_dir, "journal.sqlite"))
    rows = []
    for i in range(n):
        arn = f"arn:aws:states:us-east-1:123456789012:execution:many:e{i:06}"
        start = f"2026-01-01T{i // 3600 % 24:02}:{i // 60 % 60:02}:{i % 60:02}.{i:06}+00:00"
        status = "FAILED" if i % 50 == 0 else "SUCCEEDED"
        record = {"executionArn": arn, "name": f"e{i:06}", "status": status, "startDate": start,
                  "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:many"}  # fmt: skip
        rows.append((arn, f"e{i:06}", "many", status, start, json.dumps(record)))
    with db:
        db.executemany(
            "INSERT INTO executions(arn, name, state_machine, status, start_date, record) "
            "VALUES (?,?,?,?,?,?)",
            rows,
        )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (a smoke run)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=300_000, help="items per D1 run")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--one-run", nargs=3, metavar=("STATE_DIR", "NAME", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        one_run(args.one_run[0], args.one_run[1], int(args.one_run[2]))
        return
    from stepmap.endpoints import EndpointContext, build_server

    rounds, items, big = (1, 20_000, 20_000) if args.quick else (args.rounds, args.items, 100_000)
    work = tempfile.mkdtemp(prefix="stepmap-bench-dashboard-")
    state_dir = os.path.join(work, "state")
    server = build_server(EndpointContext.from_options(state_dir=state_dir)).start()
    watcher = Watcher()
    results: dict[str, Any] = {
        "watcher": watcher.kind,
        "items": items,
        "closed": [],
        "open": [],
        "dashboard_cpu_share": [],
    }
    try:
        print(f"D1: {items:,} items per run, {rounds} round(s), page open in {watcher.kind}", flush=True)
        for r in range(rounds):
            for mode in ("closed", "open"):
                name = f"{mode}-{r}"
                if mode == "open":
                    watcher.open(server.url)
                    follower = watcher.watch(server.url, name)
                else:
                    watcher.blank()
                run_cpu, dashboard_cpu = _children_cpu(), watcher.cpu()
                figures = _run(state_dir, name, items)
                run_cpu, dashboard_cpu = _children_cpu() - run_cpu, watcher.cpu() - dashboard_cpu
                if mode == "open":
                    follower.join(timeout=30)
                    results["dashboard_cpu_share"].append(dashboard_cpu / run_cpu)
                results[mode].append(figures["items_per_s"])
                print(
                    f"  {name}: {figures['items_per_s']:,.0f} items/s; run {run_cpu:.2f} CPU s, "
                    f"dashboard {dashboard_cpu:.2f} CPU s",
                    flush=True,
                )
        closed, opened = statistics.median(results["closed"]), statistics.median(results["open"])
        results["ratio"] = opened / closed
        share = statistics.median(results["dashboard_cpu_share"])
        print(
            f"  median: closed {closed:,.0f}/s, open {opened:,.0f}/s, ratio {results['ratio']:.3f}; the open "
            f"dashboard (browser + server) used {share:.1%} of the run's CPU time",
            flush=True,
        )

        # D2: a 100,000-item Map Run and 100,000 executions
        _run(state_dir, "page-load", big)
        arn = _map_run_arn(server.url, "page-load", time.monotonic() + 10)
        assert arn is not None
        api = f"{server.url}/ui/api/map-run?arn={quote(arn, safe='')}"
        total = _get(api)["record"]["itemCounts"]["total"]
        results["map_run_api_s"] = _api_time(api)
        ready = (
            "const n = document.querySelector('[data-counter=\"total\"] .n'); "
            f"return !!n && n.textContent === '{total}'"
        )
        results["map_run_page_s"] = watcher.load_time(f"{server.url}/#/map-run/{quote(arn, safe='')}", ready)
        many_dir = os.path.join(work, "many")
        os.makedirs(many_dir)
        _many_executions(many_dir, big)
        with build_server(EndpointContext.from_options(state_dir=many_dir)) as many:
            results["executions_api_s"] = _api_time(f"{many.url}/ui/api/executions")
            listing = f"{many.url}/ui/api/executions?limit=500"
            deep = _get(listing)
            for _ in range(big // 500 - 2):  # follow the cursors to the end of the list
                deep = _get(f"{listing}&cursor={deep['nextCursor']}")
            results["executions_deep_page_api_s"] = _api_time(f"{listing}&cursor={deep['nextCursor']}")
            results["executions_name_filter_api_s"] = _api_time(f"{many.url}/ui/api/executions?name=e0999")
            results["state_machines_api_s"] = _api_time(f"{many.url}/ui/api/state-machines")
            rows = "return document.querySelectorAll('#executions tr').length > 50"
            results["executions_page_s"] = watcher.load_time(f"{many.url}/#/", rows)
        page = results["map_run_page_s"]
        print(
            f"D2: Map Run of {total:,} items: API {results['map_run_api_s'] * 1000:.0f} ms, page "
            + (f"{page * 1000:.0f} ms" if page is not None else "not measured (no chromium)")
        )
        page = results["executions_page_s"]
        print(f"    {big:,} executions: first page API {results['executions_api_s'] * 1000:.1f} ms, "
              f"last page {results['executions_deep_page_api_s'] * 1000:.1f} ms, name filter "
              f"{results['executions_name_filter_api_s'] * 1000:.1f} ms, state machines "
              f"{results['state_machines_api_s'] * 1000:.1f} ms, page "
              + (f"{page * 1000:.0f} ms" if page is not None else "not measured (no chromium)"))  # fmt: skip
    finally:
        watcher.close()
        server.stop()
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
