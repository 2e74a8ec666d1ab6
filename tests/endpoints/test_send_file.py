"""Object bodies on the wire: small ones leave with the headers in one write, larger ones by ``sendfile``
(headers first with MSG_MORE); whole, ranged and HEAD responses on one keep-alive connection."""

from __future__ import annotations

import http.client
import io
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from stepmap.endpoints import EndpointServer
from stepmap.endpoints.bodies import send_file
from stepmap.endpoints.server import _INLINE_FILE


def _receive(sock: socket.socket, into: bytearray) -> threading.Thread:
    def run() -> None:
        while chunk := sock.recv(1 << 16):
            into.extend(chunk)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("timeout", [None, 10.0])  # blocking, and non-blocking underneath (a timeout)
def test_send_file_sends_the_span_from_the_file_position(tmp_path: Path, timeout: float | None) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "object"
    path.write_bytes(data)
    left, right = socket.socketpair()
    left.settimeout(timeout)
    got = bytearray()
    reader = _receive(right, got)
    with open(path, "rb") as f:
        f.seek(12345)
        send_file(left, f, len(data) - 12345 - 99)
    left.close()
    reader.join(10)
    right.close()
    assert bytes(got) == data[12345:-99]


def test_send_file_copies_a_stream_without_a_file(tmp_path: Path) -> None:
    left, right = socket.socketpair()
    got = bytearray()
    reader = _receive(right, got)
    send_file(left, io.BytesIO(b"abcdef"), 4)
    left.close()
    reader.join(10)
    right.close()
    assert bytes(got) == b"abcd"


def test_a_file_ending_early_is_not_padded(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"x" * 10)
    left, right = socket.socketpair()
    with open(path, "rb") as f, pytest.raises(ConnectionResetError):
        send_file(left, f, 20)
    left.close()
    right.close()


def test_small_and_large_objects_whole_ranged_and_head_on_one_connection(
    endpoint: EndpointServer, s3: Any
) -> None:
    s3.create_bucket(Bucket="bodies")
    small = os.urandom(_INLINE_FILE)  # the largest body sent with the headers
    large = os.urandom(_INLINE_FILE + 1 + 2 * 1024 * 1024)
    s3.put_object(Bucket="bodies", Key="small", Body=small)
    s3.put_object(Bucket="bodies", Key="large", Body=large)
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        cases: list[tuple[str, str, dict[str, str], int, bytes]] = [
            ("GET", "large", {}, 200, large),
            ("GET", "small", {}, 200, small),
            ("GET", "large", {"Range": "bytes=70000-1500000"}, 206, large[70000:1500001]),
            ("HEAD", "large", {}, 200, b""),
            ("GET", "large", {"Range": "bytes=-100"}, 206, large[-100:]),
            ("GET", "small", {"Range": "bytes=10-19"}, 206, small[10:20]),
            ("GET", "large", {"If-None-Match": "*"}, 304, b""),
            ("GET", "large", {}, 200, large),
        ]
        for method, key, headers, status, body in cases:
            conn.request(method, f"/bodies/{key}", headers=headers)
            response = conn.getresponse()
            assert (response.status, response.read()) == (status, body), (method, key, headers)
            if method == "HEAD":
                assert response.getheader("Content-Length") == str(len(large))
    finally:
        conn.close()


def test_a_client_that_stops_reading_times_out(tmp_path: Path) -> None:
    path = tmp_path / "object"
    path.write_bytes(os.urandom(8 * 1024 * 1024))  # far more than the socket buffers hold
    left, right = socket.socketpair()
    left.settimeout(0.3)
    try:
        with open(path, "rb") as f, pytest.raises(TimeoutError):
            send_file(left, f, 8 * 1024 * 1024)
        assert left.gettimeout() == 0.3  # the socket's timeout is back for the next request
    finally:
        left.close()
        right.close()


class _Trickle(io.RawIOBase):
    """A stream without a file that returns at most 3 bytes a read."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        chunk, self.data = self.data[: min(n, 3)], self.data[min(n, 3) :]
        return chunk


@pytest.mark.parametrize("size", [10, _INLINE_FILE + 10])
def test_a_stream_body_that_returns_short_reads_is_sent_whole(size: int) -> None:
    from stepmap.endpoints.protocol import HttpResponse, RestService

    data = os.urandom(size)

    def service(request: Any) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", "binary/octet-stream")], _Trickle(data), length=size)

    rest: RestService = service
    with EndpointServer(rest_service=rest) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            for _ in range(2):  # and the connection stays usable
                conn.request("GET", "/any/thing")
                response = conn.getresponse()
                assert (response.status, response.read()) == (200, data)
        finally:
            conn.close()
