"""S3 through the endpoint beside direct file access, measured side by side in one run.

    python benchmarks/bench_endpoints.py            # 200 objects of 1 MiB and 16 of 16 MiB, best of 5
    python benchmarks/bench_endpoints.py --quick    # a smoke run (CI)

The endpoint runs in its own process (as for handlers, which are other processes than ``stepmap run``'s
endpoint), so server and client do not share a GIL. GetObject rows, for the same objects:

* direct file read (``open().read()``, page cache warm): the raw read rate the goal is measured against;
* a bare ``sendfile`` server (a loopback socket that answers every request with the object's file and
  nothing else; its own process): the ceiling of any HTTP server on this machine's loopback TCP;
* the endpoint with a lean keep-alive client (``http.client``): the server's cost without an SDK's;
* the endpoint with boto3 ``get_object`` (signing, event hooks, parsing per call);
* ``--clients`` concurrent client processes (``http.client``, then boto3) beside as many concurrent
  direct readers.

PutObject: boto3 ``put_object`` beside ``LocalObjectStore.put`` (the same atomic write, no HTTP). Ratios are
endpoint / direct; the goal in issue 11 is GetObject >= 0.5 of the raw read rate at 1 MiB.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

MIB = 1024 * 1024
GOAL = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few objects, one round (smoke test)")
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    args = parser.parse_args()
    count, rounds = (10, 1) if args.quick else (args.objects, 5)
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    results = [measure(1, count, rounds, args.clients)]
    if not args.quick:
        results.append(measure(16, max(4, count // 12), rounds, args.clients))
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("Ratios (endpoint / direct), goal: GetObject >= 0.5 of the raw read rate at 1 MiB")
    for size, ratios in results:
        for label, value in ratios.items():
            mark = "  (goal >= 0.5)" if size == 1 and label.startswith("GetObject boto3 /") else ""
            print(f"  {size:>2} MiB  {label:<52} {value:6.3f}{mark}")


# -- processes: the endpoint, a bare sendfile server, concurrent clients --------------------------
def _serve_endpoint(root: str, state: str, port_out: Any) -> None:
    from stepmap.endpoints import EndpointContext, build_server

    server = build_server(EndpointContext.from_options(store=root, state_dir=state))
    port_out.send(server.port)
    server.serve_forever()


def _serve_bare(paths: list[str], size: int, port_out: Any) -> None:
    """Answer each request on a connection with the next object's file: headers, then ``sendfile``."""
    listener = socket.create_server(("127.0.0.1", 0))
    port_out.send(listener.getsockname()[1])
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (size * MIB)

    def connection(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = conn.makefile("rb")
        i = 0
        while lines.readline():
            while lines.readline() not in (b"\r\n", b""):
                pass
            with open(paths[i % len(paths)], "rb") as f:
                conn.sendall(head, getattr(socket, "MSG_MORE", 0))
                conn.sendfile(f)
            i += 1

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=connection, args=(conn,), daemon=True).start()


def _start(target: Callable[..., None], *args: Any) -> tuple[Any, int]:
    ours, theirs = mp.Pipe()
    process = mp.Process(target=target, args=(*args, theirs), daemon=True)
    process.start()
    return process, int(ours.recv())


def _s3_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )


def _reader(kind: str, port: int, keys: list[str], paths: list[str], size: int) -> Callable[[], None]:
    """One client's loop over its objects: ``direct``, ``http`` (http.client, keep-alive) or ``boto3``."""
    want = size * MIB
    if kind == "direct":

        def direct() -> None:
            for path in paths:
                with open(path, "rb") as f:
                    assert len(f.read()) == want

        return direct
    if kind == "boto3":
        s3 = _s3_client(f"http://127.0.0.1:{port}")
        s3.get_object(Bucket="bench", Key=keys[0])["Body"].read()  # connect, warm up

        def sdk() -> None:
            for key in keys:
                assert len(s3.get_object(Bucket="bench", Key=key)["Body"].read()) == want

        return sdk
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def lean() -> None:
        for key in keys:
            conn.request("GET", f"/bench/{key}")
            assert len(conn.getresponse().read()) == want

    lean()  # connect, warm up
    return lean


def _concurrent_worker(
    kind: str, port: int, keys: list[str], paths: list[str], size: int, gate: Any, out: Any
):
    run = _reader(kind, port, keys, paths, size)
    gate.wait()
    start = time.perf_counter()
    run()
    out.put((start, time.perf_counter()))


def concurrent_rate(
    kind: str, port: int, keys: list[str], paths: list[str], size: int, clients: int
) -> float:
    """MB/s of ``clients`` processes reading all the objects between them (CLOCK_MONOTONIC spans)."""
    gate, out = mp.Barrier(clients), mp.Queue()
    shares = [(keys[i::clients], paths[i::clients]) for i in range(clients)]
    workers = [
        mp.Process(target=_concurrent_worker, args=(kind, port, k, p, size, gate, out)) for k, p in shares
    ]
    for worker in workers:
        worker.start()
    spans = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return len(keys) * size * MIB / seconds / 1e6


def best_rate(label: str, count: int, rounds: int, fn: Callable[[], Any], size: int = 1) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    rate = count * size * MIB / best / 1e6
    print(f"  {label:<52} {rate:9.1f} MB/s  ({count / best:8.1f} objects/s)")
    return rate


def interleaved(rows: list[tuple[str, Callable[[], Any]]], count: int, rounds: int, size: int) -> list[float]:
    """Best rate of each row over ``rounds``, the rows run one after another in every round (so a busy
    moment on a shared machine falls on all of them, not on one)."""
    best = [float("inf")] * len(rows)
    for _ in range(rounds):
        for i, (_, fn) in enumerate(rows):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    rates = []
    for (label, _), seconds in zip(rows, best, strict=True):
        rates.append(count * size * MIB / seconds / 1e6)
        print(f"  {label:<52} {rates[-1]:9.1f} MB/s  ({count / seconds:8.1f} objects/s)")
    return rates


def best_of(label: str, count: int, rounds: int, fn: Callable[[], float], size: int = 1) -> float:
    rate = max(fn() for _ in range(rounds))
    print(f"  {label:<52} {rate:9.1f} MB/s  ({rate * 1e6 / (size * MIB):8.1f} objects/s)")
    return rate


def measure(size: int, count: int, rounds: int, clients: int) -> tuple[int, dict[str, float]]:
    """Rates for ``count`` objects of ``size`` MiB; returns the ratios."""
    from stepmap.storage import LocalObjectStore

    payload = os.urandom(size * MIB)
    with tempfile.TemporaryDirectory(prefix="stepmap-bench-") as state:
        root = os.path.join(state, "s3")
        store = LocalObjectStore(root)
        store.create_bucket("bench")
        keys = [f"objects/{i:05d}.bin" for i in range(count)]
        for key in keys:
            store.put("bench", key, payload)
        paths = [os.path.join(root, "bench", *key.split("/")) for key in keys]
        endpoint, port = _start(_serve_endpoint, root, state)
        bare, bare_port = _start(_serve_bare, paths, size)
        try:
            print(
                f"{count} objects of {size} MiB, best of {rounds}; endpoint and bare server in own processes"
            )
            print("GetObject, one client (the four rows interleaved, round by round)")
            raw, ceiling, lean, sdk = interleaved(
                [
                    ("direct file read (open().read())", _reader("direct", 0, keys, paths, size)),
                    (
                        "bare sendfile server, http.client (TCP ceiling)",
                        _reader("http", bare_port, keys, paths, size),
                    ),
                    ("endpoint, keep-alive http.client GET", _reader("http", port, keys, paths, size)),
                    ("endpoint, boto3 get_object", _reader("boto3", port, keys, paths, size)),
                ],
                count,
                rounds,
                size,
            )
            print(f"GetObject, {clients} concurrent client processes (all the objects between them)")
            raw_n = best_of(
                f"direct file read x{clients}",
                count,
                rounds,
                lambda: concurrent_rate("direct", 0, keys, paths, size, clients),
                size,
            )
            lean_n = best_of(
                f"endpoint, http.client x{clients}",
                count,
                rounds,
                lambda: concurrent_rate("http", port, keys, paths, size, clients),
                size,
            )
            sdk_n = best_of(
                f"endpoint, boto3 x{clients}",
                count,
                rounds,
                lambda: concurrent_rate("boto3", port, keys, paths, size, clients),
                size,
            )
            print("PutObject, one client")
            s3 = _s3_client(f"http://127.0.0.1:{port}")

            def direct_put() -> None:
                for key in keys:
                    store.put("bench", key, payload)

            def sdk_put() -> None:
                for key in keys:
                    s3.put_object(Bucket="bench", Key=key, Body=payload)

            direct = best_rate("LocalObjectStore.put (atomic write)", count, rounds, direct_put, size)
            sdk_w = best_rate("endpoint, boto3 put_object", count, rounds, sdk_put, size)
        finally:
            for process in (endpoint, bare):
                process.terminate()
                process.join()
    return size, {
        "GetObject boto3 / raw read": sdk / raw,
        "GetObject http.client / raw read": lean / raw,
        "bare sendfile server / raw read (TCP ceiling)": ceiling / raw,
        "GetObject http.client / bare sendfile server": lean / ceiling,
        f"GetObject boto3 x{clients} / raw read x{clients}": sdk_n / raw_n,
        f"GetObject http.client x{clients} / raw read x{clients}": lean_n / raw_n,
        "PutObject boto3 / store.put": sdk_w / direct,
    }


if __name__ == "__main__":
    main()
