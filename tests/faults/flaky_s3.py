"""A fault-injecting HTTP proxy on loopback, in front of an S3 protocol server (moto), for fault tests.

    with FlakyS3(upstream="http://127.0.0.1:5000", rate=0.05, seed=7) as proxy:
        service = StepmapService(store="s3://", s3_endpoint=proxy.url, ...)
        ...
    print(proxy.stats())

Each request the proxy receives draws its fate from one ``random.Random(seed)``, in arrival order: with
probability ``rate`` it is a fault, otherwise it is forwarded unchanged (method, path, query, headers and
body) and the upstream's answer is sent back. A fault is either S3's ``503 SlowDown`` (with S3's XML error
body) or a dropped connection (the request is read, then the socket is reset without an answer);
``drop_share`` is the fraction of faults that are drops. The fault of the *n*-th request is therefore the
same from run to run; which client sent the *n*-th request depends on scheduling.

The proxy speaks HTTP/1.1 with keep-alive, as S3 does, so a client's pooled connection is only ever closed by
an injected drop (a connection the proxy closed on its own would show up as a spurious fault in the
client). It is bounded: at most ``max_connections`` client connections are served at once (the accept loop
waits for a free slot), an idle connection is closed after ``idle_timeout`` seconds, and the whole proxy
stops itself after ``lifetime`` seconds if nobody stopped it. Counters (requests, faults by kind, upstream
failures) are read with :meth:`FlakyS3.stats`.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FlakyS3", "ProxyStats"]

SLOW_DOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
    b"<RequestId>FLAKYS3</RequestId><HostId>flaky-s3</HostId></Error>"
)
# Hop-by-hop headers (RFC 9110 section 7.6.1) are the proxy's own business, never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",  # the proxy answered 100-continue itself and has the whole body
        "proxy-authenticate",
        "proxy-authorization",
    }
)


@dataclass(frozen=True)
class ProxyStats:
    """What the proxy saw: requests received, faults injected by kind, and upstream failures."""

    requests: int
    slowdowns: int
    drops: int
    upstream_errors: int

    @property
    def faults(self) -> int:
        return self.slowdowns + self.drops

    def to_json(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "faults": self.faults,
            "slowdowns": self.slowdowns,
            "drops": self.drops,
            "upstream_errors": self.upstream_errors,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, proxy: FlakyS3) -> None:
        self.proxy = proxy
        self.slots = threading.BoundedSemaphore(proxy.max_connections)
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Backpressure instead of an unbounded number of threads: wait here for a free slot.
        self.slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: see the module docstring
    disable_nagle_algorithm = True  # headers and body go out in separate writes; do not wait on delayed ACKs
    server: _Server
    upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.proxy.idle_timeout)

    def finish(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request otherwise

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline(1 << 16).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1 << 16)  # the CRLF after each chunk

    def _relay(self) -> None:
        proxy = self.server.proxy
        body = self._body()  # read in full first, so a fault never leaves half a request unread
        fate = proxy.draw(self.command, self.path)
        if fate == "drop":
            # An abrupt reset (SO_LINGER 0), as a load balancer that gives up on a connection sends.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fate == "slowdown":
            self._answer(503, [("Content-Type", "application/xml")], SLOW_DOWN_BODY)
            return
        # The length is set again on forwarding: a chunked request goes upstream with a length.
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
        }
        try:
            status, reason, out_headers, data = self._forward(body, headers)
        except (OSError, http.client.HTTPException) as exc:
            proxy.count_upstream_error()
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None
            self._answer(502, [("Content-Type", "text/plain")], f"flaky-s3 upstream failed: {exc}".encode())
            return
        self._answer(status, out_headers, data, reason)

    def _forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        if self.upstream is None:
            self.upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
            self.upstream.connect()
            self.upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        self.upstream.request(self.command, self.path, body=body or None, headers=headers)
        response = self.upstream.getresponse()
        data = response.read()
        if response.will_close:
            self.upstream.close()
            self.upstream = None
        out = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        return response.status, response.reason, out, data

    def _answer(
        self, status: int, headers: list[tuple[str, str]], data: bytes, reason: str | None = None
    ) -> None:
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        # A HEAD answer keeps the upstream's Content-Length (the object's size) and has no body.
        if self.command == "HEAD":
            length = next((v for k, v in headers if k.lower() == "content-length"), "0")
            self.send_header("Content-Length", length)
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay


class FlakyS3:
    """The proxy (see the module docstring); start it with ``with`` or :meth:`start`, reach it at ``url``."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float,
        seed: int = 0,
        drop_share: float = 0.5,
        max_connections: int = 128,
        idle_timeout: float = 30.0,
        lifetime: float = 600.0,
    ) -> None:
        if not 0.0 <= rate <= 1.0 or not 0.0 <= drop_share <= 1.0:
            raise ValueError(f"rate {rate} and drop_share {drop_share} must be within [0, 1]")
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
            raise ValueError(f"upstream {upstream!r} must be http://host:port")
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self.rate = rate
        self.drop_share = drop_share
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.lifetime = lifetime
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._requests = self._slowdowns = self._drops = self._upstream_errors = 0
        self._only: Callable[[str, str], bool] | None = None
        self._forced: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set_rate(self, rate: float, *, only: Callable[[str, str], bool] | None = None) -> None:
        """From the next request on, fault ``rate`` of the requests for which ``only(method, path)`` holds
        (all requests when ``only`` is None); the others are forwarded."""
        with self._lock:
            self.rate = rate
            self._only = only

    def fail_next(self, count: int, kind: str) -> None:
        """Fault the next ``count`` requests with ``kind`` (``"slowdown"`` or ``"drop"``)."""
        if kind not in ("slowdown", "drop"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._forced.extend([kind] * count)

    def draw(self, method: str, path: str) -> str:
        """The fate of the next request: ``"forward"``, ``"slowdown"`` or ``"drop"``; counted."""
        with self._lock:
            self._requests += 1
            # Two draws per request whatever the outcome, so the n-th request's fate depends only on n.
            fault, kind = self._rng.random(), self._rng.random()
            if self._forced:
                fate = self._forced.pop(0)
            elif fault < self.rate and (self._only is None or self._only(method, path)):
                fate = "drop" if kind < self.drop_share else "slowdown"
            else:
                return "forward"
            if fate == "drop":
                self._drops += 1
            else:
                self._slowdowns += 1
            return fate

    def count_upstream_error(self) -> None:
        with self._lock:
            self._upstream_errors += 1

    def stats(self) -> ProxyStats:
        with self._lock:
            return ProxyStats(self._requests, self._slowdowns, self._drops, self._upstream_errors)

    def start(self) -> FlakyS3:
        if self._server is not None:
            raise RuntimeError("the proxy is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="flaky-s3", daemon=True)
        self._thread.start()
        # A test that dies without stopping the proxy must not leave it serving for the rest of the session.
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def __enter__(self) -> FlakyS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
