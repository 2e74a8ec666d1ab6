"""The Step Functions API of `stepmap serve`, measured with boto3 as users call it.

``python benchmarks/api.py [--quick]`` starts `stepmap serve` (a child process, loopback, ephemeral port,
its own temporary state directory) and prints, in one run:

* latency: StartExecution -> DescribeExecution(SUCCEEDED) of a 1-state (Pass) STANDARD machine, polling
  DescribeExecution until SUCCEEDED (p50 and p90 over N executions, one client, sequential);
* throughput: 1,000 StartExecution calls of an EXPRESS machine from 32 client threads (calls/s), and
  1,000 StartSyncExecution calls (executions that ran to their end per second).

AWS's published figures beside them are quotas, not measurements: StartExecution is throttled at a bucket of
1,300 with 300 refills/s (Standard) and 6,000/6,000 (Express) in us-east-1 (Step Functions quotas page,
2022 table); AWS publishes no StartExecution-to-completion latency.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/bench"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def serve(state_dir: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stepmap.cli", "serve", "--port", "0", "--state-dir", state_dir,
         "--executor", "sync"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"on (http://\S+)", line)
        if found:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            return proc, found.group(1)
    raise SystemExit(f"stepmap serve did not start ({proc.wait()})")


def client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(inject_host_prefix=False, max_pool_connections=64, retries={"max_attempts": 1}),
    )


def latency(url: str, n: int) -> dict[str, float]:
    sfn = client(url)
    arn = sfn.create_state_machine(name="latency", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    for _ in range(20):  # warm up connections and caches
        run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        while sfn.describe_execution(executionArn=run)["status"] == "RUNNING":
            pass
    times, polls = [], []
    for _ in range(n):
        start = time.perf_counter()
        run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        count = 1
        while sfn.describe_execution(executionArn=run)["status"] == "RUNNING":
            count += 1
        times.append(time.perf_counter() - start)
        polls.append(count)
    times.sort()
    # what the client itself costs: one boto3 call that the server answers from memory
    start = time.perf_counter()
    for _ in range(n):
        sfn.describe_state_machine(stateMachineArn=arn)
    call = (time.perf_counter() - start) / n
    return {
        "p50_ms": 1000 * statistics.median(times),
        "p90_ms": 1000 * times[int(0.9 * (len(times) - 1))],
        "mean_describe_calls": statistics.mean(polls),
        "one_boto3_call_ms": 1000 * call,
    }


def throughput(url: str, n: int, threads: int) -> dict[str, float]:
    sfn = client(url)
    arn = sfn.create_state_machine(name="express", definition=PASS, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    clients = [client(url) for _ in range(threads)]
    local = threading.local()
    counter = iter(range(10**9))
    lock = threading.Lock()

    def mine() -> Any:
        if not hasattr(local, "client"):
            with lock:
                local.client = clients[next(counter) % threads]
        return local.client

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: mine().start_execution(stateMachineArn=arn), range(threads * 2)))  # warm up
        start = time.perf_counter()
        list(pool.map(lambda _: mine().start_execution(stateMachineArn=arn), range(n)))
        started = n / (time.perf_counter() - start)
        start = time.perf_counter()
        results = list(pool.map(lambda _: mine().start_sync_execution(stateMachineArn=arn), range(n)))
        synced = n / (time.perf_counter() - start)
    assert all(r["status"] == "SUCCEEDED" for r in results)
    return {"start_execution_per_s": started, "start_sync_execution_per_s": synced}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke test)")
    args = parser.parse_args()
    n_latency, n_calls = (50, 200) if args.quick else (500, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = serve(os.path.join(tmp, "state"))
        try:
            lat = latency(url, n_latency)
            thr = throughput(url, n_calls, 32)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"StartExecution -> DescribeExecution(SUCCEEDED), 1-state STANDARD, n={n_latency}:")
    print(f"  p50 {lat['p50_ms']:.2f} ms (target <= 5 ms), p90 {lat['p90_ms']:.2f} ms, "
          f"{lat['mean_describe_calls']:.2f} DescribeExecution calls on average; one boto3 call alone "
          f"{lat['one_boto3_call_ms']:.2f} ms")  # fmt: skip
    print(f"{n_calls} StartExecution calls of an EXPRESS machine, 32 client threads:")
    print(f"  {thr['start_execution_per_s']:,.0f} calls/s (target >= 1,000/s; AWS quota: 6,000/s Express)")
    print(f"  StartSyncExecution: {thr['start_sync_execution_per_s']:,.0f} completed executions/s")
    print(json.dumps({"latency": lat, "throughput": thr}))


if __name__ == "__main__":
    main()
