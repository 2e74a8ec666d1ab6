"""DynamoDB PutItem/GetItem rates through stepmap's endpoint, side by side with the same calls on the
table port directly (``stepmap.table()`` on SQLite, no HTTP) and with moto's DynamoDB server (a peer
emulator), all in one run: ``python benchmarks/bench_dynamodb.py [--items N] [--threads T]``.

Servers run in this process on loopback threads and the boto3 client too, so every column pays the same
GIL sharing; compare the ratios. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config


def _client(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=32),
    )


def _rate(n: int, threads: int, call: Any) -> float:
    started = time.perf_counter()
    if threads == 1:
        for i in range(n):
            call(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(call, range(n)))
    return n / (time.perf_counter() - started)


def _endpoint_rates(url: str, n: int, threads: int, table: str) -> dict[str, float]:
    client = _client(url)
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    payload = {"S": "x" * 200}

    def put(i: int) -> None:
        client.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": payload, "n": {"N": str(i)}})

    def get(i: int) -> None:
        assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": f"k{i}"}})

    return {"put": _rate(n, threads, put), "get": _rate(n, threads, get)}


def _direct_rates(state_dir: str, n: int, threads: int) -> dict[str, float]:
    from stepmap.storage.sqlite_table import SQLiteTable

    table = SQLiteTable(f"{state_dir}/direct.sqlite", "direct")

    def put(i: int) -> None:
        table.put_item({"pk": f"k{i}", "v": "x" * 200, "n": i})

    def get(i: int) -> None:
        assert table.get_item({"pk": f"k{i}"}) is not None

    return {"put": _rate(n, threads, put), "get": _rate(n, threads, get)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from stepmap.endpoints import EndpointContext, build_server

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as state:
        results["stepmap.table() direct (SQLite)"] = _direct_rates(state, args.items, args.threads)
        with build_server(EndpointContext({"STEPMAP_STATE_DIR": state})) as server:
            results["stepmap endpoint (boto3)"] = _endpoint_rates(
                server.url, args.items, args.threads, "bench"
            )
    try:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        try:
            results["moto server (boto3)"] = _endpoint_rates(
                f"http://{host}:{port}", args.items, args.threads, "bench"
            )
        finally:
            moto.stop()
    except ImportError:
        pass
    endpoint = results["stepmap endpoint (boto3)"]
    print(f"{args.items} items of ~220 bytes, {args.threads} client thread(s)")
    print(f"{'':34} {'PutItem/s':>10} {'GetItem/s':>10} {'put ratio':>10} {'get ratio':>10}")
    for name, r in results.items():
        print(
            f"{name:34} {r['put']:10.0f} {r['get']:10.0f} "
            f"{r['put'] / endpoint['put']:10.2f} {r['get'] / endpoint['get']:10.2f}"
        )
    print(json.dumps({"items": args.items, "threads": args.threads, "rates": results}))


if __name__ == "__main__":
    main()
