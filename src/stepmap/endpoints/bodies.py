"""Request and response bodies on the wire: a bounded ``Content-Length`` body, HTTP/1.1 chunked transfer,
AWS's ``aws-chunked`` content encoding (chunk signatures and checksum trailers), the size limit every REST
body is read under, and ``sendfile`` for responses that are files. No state beyond each stream's position.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Mapping
from typing import Any, BinaryIO, cast

from stepmap.endpoints.protocol import RestError

__all__ = ["AwsChunked", "Body", "HttpChunked", "Limited", "send_file"]


def send_file(sock: socket.socket, f: BinaryIO, length: int) -> None:
    """Send ``length`` bytes of ``f`` from its position: ``sendfile`` for real files (the kernel moves the
    pages; no copy through Python), else a copy in 1 MiB pieces."""
    try:
        fd = f.fileno()
    except (OSError, AttributeError, ValueError):
        while length > 0:
            chunk = f.read(min(length, 1 << 20))
            if not chunk:
                raise ConnectionResetError("the object ended early") from None
            sock.sendall(chunk)
            length -= len(chunk)
        return
    offset = f.tell()
    end = offset + length
    out = sock.fileno()
    timeout = sock.gettimeout()
    if timeout is not None:
        # A socket with a timeout is non-blocking underneath: sendfile would return each time the send
        # buffer fills, and Python would poll and call again (many wake-ups per MiB). Block instead,
        # with the same timeout kept by the kernel (SO_SNDTIMEO: no progress for that long -> EAGAIN).
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(timeout), int(timeout % 1 * 1e6))
        )
        sock.settimeout(None)
    try:
        while offset < end:
            try:
                sent = os.sendfile(out, fd, offset, end - offset)
            except BlockingIOError:
                raise TimeoutError("the client stopped reading the object") from None
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.ENOSYS):  # no sendfile for this file or socket
                    f.seek(offset)
                    send_file(sock, cast(BinaryIO, _NoFileno(f)), end - offset)
                    return
                raise
            if sent == 0:
                raise ConnectionResetError("the object ended early")
            offset += sent
    finally:
        if timeout is not None:
            sock.settimeout(timeout)


class _NoFileno:
    """``f`` without its ``fileno``: read through Python."""

    def __init__(self, f: BinaryIO) -> None:
        self.read = f.read


class Limited:
    """At most ``length`` bytes of a stream."""

    def __init__(self, raw: Any, length: int) -> None:
        self.raw = raw
        self.left = length

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.raw.read(n)
        if len(data) < n:
            raise RestError(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                400,
            )
        self.left -= len(data)
        return data


class HttpChunked:
    """The payload of an HTTP/1.1 ``Transfer-Encoding: chunked`` body."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.chunk_left = 0
        self.done = False

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while not self.done and (n < 0 or len(out) < n):
            if self.chunk_left == 0:
                line = self.raw.readline(4096)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise RestError("IncompleteBody", "malformed chunked request body", 400) from None
                if size == 0:
                    while self.raw.readline(4096) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.done = True
                    break
                self.chunk_left = size
            want = self.chunk_left if n < 0 else min(self.chunk_left, n - len(out))
            data = self.raw.read(want)
            if len(data) < want:
                raise RestError("IncompleteBody", "the chunked request body ended early", 400)
            out += data
            self.chunk_left -= len(data)
            if self.chunk_left == 0:
                self.raw.readline(4096)  # CRLF after the chunk
        return bytes(out)


class AwsChunked:
    """The payload of an ``aws-chunked`` body: ``<hex size>[;chunk-signature=...]\\r\\n<data>\\r\\n``
    chunks, a zero-size chunk, then optional trailers (``x-amz-checksum-*``)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.chunk_left = 0
        self.done = False
        self.trailers: dict[str, str] = {}

    def _line(self) -> bytes:
        line = bytearray()
        while not line.endswith(b"\n"):
            c = self.raw.read(1)
            if not c:
                break
            line += c
            if len(line) > 8192:
                raise RestError("IncompleteBody", "malformed aws-chunked request body", 400)
        return bytes(line)

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while not self.done and (n < 0 or len(out) < n):
            if self.chunk_left == 0:
                line = self._line()
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise RestError("IncompleteBody", "malformed aws-chunked request body", 400) from None
                if size == 0:
                    while True:
                        trailer = self._line().strip()
                        if not trailer:
                            break
                        name, _, value = trailer.decode("latin-1").partition(":")
                        self.trailers[name.strip().lower()] = value.strip()
                    self.done = True
                    break
                self.chunk_left = size
            want = self.chunk_left if n < 0 else min(self.chunk_left, n - len(out))
            data = self.raw.read(want)
            if len(data) < want:
                raise RestError("IncompleteBody", "the aws-chunked request body ended early", 400)
            out += data
            self.chunk_left -= len(data)
            if self.chunk_left == 0:
                self._line()  # CRLF after the chunk
        return bytes(out)


class Body:
    """The body a REST service reads: a binary stream of the decoded payload, at most ``limit`` bytes."""

    def __init__(self, raw: Any, limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self.seen = 0

    @property
    def trailers(self) -> Mapping[str, str]:
        return getattr(self.raw, "trailers", {})

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n)
        self.seen += len(data)
        if self.seen > self.limit:
            raise RestError(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", 400
            )
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self, limit: int) -> bool:
        """Read and drop up to ``limit`` more bytes; True when some are still left."""
        while limit > 0:
            data = self.raw.read(min(limit, 1 << 16))
            if not data:
                return False
            limit -= len(data)
        return bool(self.raw.read(1))

    def close(self) -> None:
        pass

    def readable(self) -> bool:
        return True
