"""The S3 adapter: the contract against a real S3-protocol server (moto) on loopback, listings
longer than one page, and retries against a tiny loopback server that throttles on purpose."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from stepmap.storage import NoSuchKey, StoreError, StoreUnavailable
from stepmap.storage.retry import RetryPolicy
from stepmap.storage.s3 import S3ObjectStore
from tests.storage.conftest import dummy_client, unique_name
from tests.storage.store_contract import ObjectStoreContract


class TestS3Store(ObjectStoreContract):
    @pytest.fixture
    def store(self, aws_clients: dict[str, Any]) -> S3ObjectStore:
        # A small page makes every listing in the contract cross several ListObjectsV2 pages.
        return S3ObjectStore(aws_clients["s3"], page_size=7)


def test_listing_reads_every_page_of_1000(aws_clients: dict[str, Any]) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    store = S3ObjectStore(aws_clients["s3"])
    bucket = unique_name("pages")
    store.create_bucket(bucket)
    # Seed the server's own backend directly: 1,500 PUTs over HTTP would take seconds.
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    keys = [f"items/{i:05d}.json" for i in range(1500)]
    for k in keys:
        backend.put_object(bucket, k, b"{}")
    pages = []
    store.client.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: pages.append(1))
    listed = [o.key for o in store.list(bucket, "items/")]
    assert listed == keys
    assert len(pages) == 2


# -- retries against a server that throttles ------------------------------------------------
class _Throttler(BaseHTTPRequestHandler):
    """Answers ``failures`` requests with an S3 error, then serves a 5-byte object."""

    server: _ThrottlingServer

    def _answer(self, body: bool) -> None:
        self.server.requests += 1
        if self.server.failures > 0:
            self.server.failures -= 1
            status, code = self.server.error
            payload = f"<Error><Code>{code}</Code><Message>try later</Message></Error>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.send_header("ETag", '"5d41402abc4b2a76b9719d911017c592"')
        self.send_header("Last-Modified", "Sat, 21 Nov 2026 10:00:00 GMT")
        self.end_headers()
        if body:
            self.wfile.write(b"hello")

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ThrottlingServer(ThreadingHTTPServer):
    failures = 0
    requests = 0
    error = (503, "SlowDown")


@pytest.fixture(scope="module")
def throttling_server() -> Iterator[tuple[_ThrottlingServer, Any]]:
    server = _ThrottlingServer(("127.0.0.1", 0), _Throttler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, dummy_client("s3", f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def throttler(throttling_server: tuple[_ThrottlingServer, Any]) -> _ThrottlingServer:
    server, _ = throttling_server
    server.failures, server.requests, server.error = 0, 0, (503, "SlowDown")
    return server


@pytest.fixture
def client(throttling_server: tuple[_ThrottlingServer, Any]) -> Any:
    return throttling_server[1]


def _store(client: Any, sleeps: list[float], attempts: int = 5) -> S3ObjectStore:
    policy = RetryPolicy(max_attempts=attempts, base=0.1, cap=0.3)
    return S3ObjectStore(client, retry=policy, sleep=sleeps.append, rng=random.Random(7))


@pytest.mark.parametrize(
    "error", [(503, "SlowDown"), (500, "InternalError"), (400, "RequestTimeout"), (503, "ServiceUnavailable")]
)
def test_transient_errors_are_retried(
    throttler: _ThrottlingServer, client: Any, error: tuple[int, str]
) -> None:
    throttler.failures, throttler.error = 3, error
    sleeps: list[float] = []
    store = _store(client, sleeps)
    assert store.get("bkt", "k") == b"hello"
    assert throttler.requests == 4
    assert store.retries == 3
    assert len(sleeps) == 3
    for n, delay in enumerate(sleeps):
        assert 0 <= delay <= min(0.3, 0.1 * 2**n)


def test_head_is_retried_too(throttler: _ThrottlingServer, client: Any) -> None:
    throttler.failures = 2
    store = _store(client, [])
    assert store.head("bkt", "k").size == 5
    assert store.retries == 2


def test_gives_up_after_bounded_attempts(throttler: _ThrottlingServer, client: Any) -> None:
    throttler.failures = 100
    sleeps: list[float] = []
    store = _store(client, sleeps, attempts=4)
    with pytest.raises(StoreUnavailable, match=r"after 4 attempts.*SlowDown") as raised:
        store.get("bkt", "k")
    assert "s3://bkt/k" in str(raised.value)
    assert raised.value.__cause__ is not None
    assert throttler.requests == 4
    assert store.retries == 3 and len(sleeps) == 3


def test_errors_that_are_not_transient_are_not_retried(throttler: _ThrottlingServer, client: Any) -> None:
    throttler.failures, throttler.error = 1, (403, "AccessDenied")
    store = _store(client, [])
    with pytest.raises(StoreError, match="AccessDenied"):
        store.get("bkt", "k")
    assert throttler.requests == 1 and store.retries == 0


def test_a_missing_key_is_not_retried(throttler: _ThrottlingServer, client: Any) -> None:
    throttler.failures, throttler.error = 1, (404, "NoSuchKey")
    store = _store(client, [])
    with pytest.raises(NoSuchKey):
        store.get("bkt", "k")
    assert store.retries == 0


def test_connection_refused_is_retried_then_unavailable() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    store = _store(dummy_client("s3", f"http://127.0.0.1:{port}"), sleeps, attempts=3)
    with pytest.raises(StoreUnavailable, match="after 3 attempts"):
        store.get("bkt", "k")
    assert store.retries == 2 and len(sleeps) == 2
