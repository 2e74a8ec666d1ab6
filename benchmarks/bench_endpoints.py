"""S3 through the endpoint beside direct file access, for 1 MiB objects, measured side by side in one run.

    python benchmarks/bench_endpoints.py            # 200 objects of 1 MiB and 16 of 16 MiB, best of 3
    python benchmarks/bench_endpoints.py --quick    # a smoke run (CI)

Rows: reading the objects' files directly (``open().read()``, page cache warm), GetObject through the
endpoint with boto3 and with a bare keep-alive HTTP client (``http.client``: the server's share without the
SDK's), PutObject with boto3 beside ``LocalObjectStore.put`` (the same atomic write, no HTTP). Ratios are
endpoint / direct. The goal in issue 11 is GetObject >= 0.5 of the raw read rate.
"""

from __future__ import annotations

import argparse
import http.client
import os
import tempfile
import time
from collections.abc import Callable

import boto3
from botocore.config import Config

from stepmap.endpoints import EndpointContext, build_server
from stepmap.storage import LocalObjectStore

MIB = 1024 * 1024


def best_rate(label: str, count: int, rounds: int, fn: Callable[[], None], size: int = 1) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    rate = count * size * MIB / best / 1e6
    print(f"  {label:<44} {rate:9.1f} MB/s  ({count / best:8.1f} objects/s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few objects, one round (smoke test)")
    parser.add_argument("--objects", type=int, default=200)
    args = parser.parse_args()
    count, rounds = (10, 1) if args.quick else (args.objects, 3)
    ratios = [measure(1, count, rounds)]
    if not args.quick:
        ratios.append(measure(16, max(4, count // 12), rounds))
    print("Ratios (endpoint / direct)")
    for size, (get_sdk, get_http, put_sdk) in ratios:
        print(f"  {size:>2} MiB  GetObject boto3 / raw read        {get_sdk:6.3f}   (goal >= 0.5 at 1 MiB)")
        print(f"  {size:>2} MiB  GetObject http.client / raw read  {get_http:6.3f}")
        print(f"  {size:>2} MiB  PutObject boto3 / store.put       {put_sdk:6.3f}")


def measure(size: int, count: int, rounds: int) -> tuple[int, tuple[float, float, float]]:
    """Rates for ``count`` objects of ``size`` MiB; returns the three ratios."""
    payload = os.urandom(size * MIB)
    with tempfile.TemporaryDirectory(prefix="stepmap-bench-") as state:
        root = os.path.join(state, "s3")
        store = LocalObjectStore(root)
        store.create_bucket("bench")
        keys = [f"objects/{i:05d}.bin" for i in range(count)]
        for key in keys:
            store.put("bench", key, payload)
        paths = [os.path.join(root, "bench", *key.split("/")) for key in keys]
        ctx = EndpointContext.from_options(store=root, state_dir=state)
        with build_server(ctx) as server:
            s3 = boto3.client(
                "s3",
                endpoint_url=server.url,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
                config=Config(retries={"max_attempts": 1}),
            )
            s3.get_object(Bucket="bench", Key=keys[0])["Body"].read()  # connect, warm up
            conn = http.client.HTTPConnection("127.0.0.1", server.port)

            def raw_read() -> None:
                for path in paths:
                    with open(path, "rb") as f:
                        assert len(f.read()) == size * MIB

            def sdk_get() -> None:
                for key in keys:
                    assert len(s3.get_object(Bucket="bench", Key=key)["Body"].read()) == size * MIB

            def http_get() -> None:
                for key in keys:
                    conn.request("GET", f"/bench/{key}")
                    assert len(conn.getresponse().read()) == size * MIB

            def direct_put() -> None:
                for key in keys:
                    store.put("bench", key, payload)

            def sdk_put() -> None:
                for key in keys:
                    s3.put_object(Bucket="bench", Key=key, Body=payload)

            print(f"{count} objects of {size} MiB, best of {rounds}; endpoint {server.url}")
            print("GetObject")
            raw = best_rate("direct file read (open().read())", count, rounds, raw_read, size)
            sdk = best_rate("endpoint, boto3 get_object", count, rounds, sdk_get, size)
            bare = best_rate("endpoint, keep-alive http.client GET", count, rounds, http_get, size)
            print("PutObject")
            direct = best_rate("LocalObjectStore.put (atomic write)", count, rounds, direct_put, size)
            sdk_w = best_rate("endpoint, boto3 put_object", count, rounds, sdk_put, size)
            conn.close()
    return size, (sdk / raw, bare / raw, sdk_w / direct)


if __name__ == "__main__":
    main()
