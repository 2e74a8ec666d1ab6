"""One HTTP endpoint on loopback that speaks the AWS protocols stepmap serves locally.

Routing, in order:

1. ``X-Amz-Target: <Prefix>.<Operation>`` -> the JSON 1.0 service registered for ``<Prefix>``
   (``DynamoDB_20120810``, ``AWSStepFunctions``, ...); an unknown prefix or a missing operation is
   AWS's ``UnknownOperationException``.
2. no AWS auth and a GET of ``/`` or ``/ui/...`` -> the dashboard, when one is set (:mod:`stepmap.dashboard`).
3. everything else -> the REST service (S3, path-style or virtual-host style).

Auth: on loopback any credentials (or none) are accepted, as local emulators do. Bound to another
address the server needs a token, and a request is served only when its SigV4 access key id equals
the token (``InvalidAccessKeyId`` / ``UnrecognizedClientException`` otherwise).

Limits: request line and header lines at most 64 KiB and 100 headers (the standard library), all
header fields together at most :data:`MAX_HEADER_BYTES`; JSON bodies at most
:data:`MAX_JSON_BODY`; REST bodies at most :data:`MAX_REST_BODY`, streamed to the service, never
read whole by the server. At most :data:`MAX_CONNECTIONS` connections are served at once, and an idle
connection is closed after :data:`IDLE_TIMEOUT` seconds.

State: the registered services and the listening socket. :meth:`EndpointServer.start` serves from a
daemon thread; :meth:`EndpointServer.stop` stops accepting, lets running requests end, and closes.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import secrets
import socket
import sys
import threading
import traceback
from collections.abc import Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs

from stepmap.endpoints.bodies import AwsChunked, Body, HttpChunked, Limited, send_file
from stepmap.endpoints.protocol import (
    JSON_CONTENT_TYPE,
    AwsJsonError,
    Headers,
    HttpRequest,
    HttpResponse,
    JsonRequest,
    JsonService,
    RestError,
    RestService,
)
from stepmap.errors import InputError

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_HEADER_BYTES",
    "MAX_JSON_BODY",
    "MAX_REST_BODY",
    "EndpointServer",
    "is_loopback",
]

MAX_HEADER_BYTES = 64 * 1024
MAX_JSON_BODY = 16 * 1024 * 1024  # DynamoDB's largest request (BatchWriteItem) is 16 MB
MAX_REST_BODY = 5 * 1024**3  # S3's largest single PUT
MAX_CONNECTIONS = 64
IDLE_TIMEOUT = 60.0
_DRAIN_LIMIT = 1 << 20  # unread request bytes we still read to keep a connection alive
_INLINE_FILE = 64 * 1024  # file bodies up to this size leave with the headers in one write
_MSG_MORE = getattr(socket, "MSG_MORE", 0)  # Linux: hold the headers for the body's first packet


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """Is ``host`` a loopback name or address (``localhost``, ``127.x``, ``::1``)? (Cached: every S3
    request asks it of its Host header, and parsing an address costs more than serving a small GET.)"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class EndpointServer:
    """The endpoint: register services, then :meth:`start` (background) or :meth:`serve_forever`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        rest_service: RestService | None = None,
        json_services: Mapping[str, JsonService] | None = None,
        log: bool = False,
    ) -> None:
        if not is_loopback(host) and not token:
            raise InputError(
                f"refusing to listen on {host!r} without a token: only loopback is open to any caller "
                "(pass --token, and give it to clients as their access key id)"
            )
        self.token = token or None
        self.rest_service = rest_service
        self.json_services: dict[str, JsonService] = dict(json_services or {})
        self.dashboard: RestService | None = None  # set_dashboard (stepmap.dashboard)
        self.log = log
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("_Server", (_Server,), {"address_family": family})
        self._httpd: _Server = server_class((host, port), _Handler)
        self._httpd.endpoint = self
        self._thread: threading.Thread | None = None

    # -- configuration ---------------------------------------------------------------------
    def register_json_service(self, target_prefix: str, service: JsonService) -> None:
        """Serve requests whose ``X-Amz-Target`` starts with ``<target_prefix>.`` with ``service``."""
        self.json_services[target_prefix] = service

    def set_rest_service(self, service: RestService) -> None:
        """Serve every request without ``X-Amz-Target`` (S3) with ``service``."""
        self.rest_service = service

    def set_dashboard(self, dashboard: RestService) -> None:
        """Serve unsigned ``GET /`` and ``GET /ui/...`` with the dashboard (see CONTRACT.md)."""
        self.dashboard = dashboard

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> EndpointServer:
        """Serve from a daemon thread; returns at once."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="stepmap-endpoint"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`shutdown` is called from another thread."""
        self._httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        """End :meth:`serve_forever` (call from another thread), then :meth:`close`."""
        self._httpd.shutdown()

    def close(self) -> None:
        self._httpd.server_close()

    def stop(self) -> None:
        """Stop accepting, wait for the serving loop to end, close the socket. Idempotent."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> EndpointServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a client holding a keep-alive connection must not block shutdown
    endpoint: EndpointServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _access_key(headers: Message, query: Mapping[str, list[str]]) -> str | None:
    """The access key id of a SigV4 (header or presigned) or SigV2 request, if it has one."""
    auth = headers.get("Authorization") or ""
    if auth.startswith("AWS4-"):
        for part in auth.split(" ", 1)[-1].split(","):
            name, _, value = part.strip().partition("=")
            if name == "Credential":
                return value.split("/", 1)[0]
    elif auth.startswith("AWS "):
        return auth[4:].split(":", 1)[0]
    if "X-Amz-Credential" in query:
        return query["X-Amz-Credential"][0].split("/", 1)[0]
    if "AWSAccessKeyId" in query:
        return query["AWSAccessKeyId"][0]
    return None


def is_dashboard_request(method: str, path: str, headers: Any, query: Mapping[str, list[str]]) -> bool:
    """CONTRACT.md: a request without AWS auth whose path is ``/`` or under ``/ui/`` is the dashboard's."""
    auth = headers.get("Authorization") or ""
    if auth.startswith(("AWS4-HMAC-SHA256", "AWS ")) or any(
        name in query for name in ("X-Amz-Signature", "X-Amz-Credential", "AWSAccessKeyId")
    ):
        return False  # signed (SigV4, or SigV2 by older clients): S3's
    host = (headers.get("Host") or "").rsplit(":", 1)[0].lower()
    if _VIRTUAL_HOST.match(host):
        return False  # an unsigned virtual-host style request (bucket.localhost/...): S3's
    if path == "/" and any(name != "token" for name in query):
        return False  # GET /?list-type=2 and the like: S3's
    return method in ("GET", "HEAD") and (path == "/" or path.startswith("/ui/"))


# virtual-host style S3 addressing as stepmap.endpoints.s3 reads it: bucket.localhost, bucket.s3.amazonaws.com
_VIRTUAL_HOST = re.compile(r"^.+?\.(?:localhost|s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: SDKs reuse connections
    # headers and body leave in two writes: without TCP_NODELAY, Nagle holds the body back until the
    # client's delayed ACK (40 ms per request on Linux)
    disable_nagle_algorithm = True
    server_version = "stepmap"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _Server

    def version_string(self) -> str:
        return "stepmap"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.endpoint.log:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def _serve(self) -> None:
        endpoint = self.server.endpoint
        request_id = secrets.token_hex(8).upper()
        self._request_id = request_id
        size = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        target = self.headers.get("X-Amz-Target")
        target_path = self.path
        if "://" in target_path.split("?", 1)[0]:  # absolute-form request target
            target_path = "/" + target_path.split("://", 1)[1].partition("/")[2]
        # Not urlsplit: a path starting "//" (a key starting "/") is not an authority here.
        path, _, query_string = target_path.partition("?")
        query = parse_qs(query_string, keep_blank_values=True)
        key = _access_key(self.headers, query)
        if target is not None:
            self._serve_json(endpoint, target, key, size)
            return
        if endpoint.dashboard is not None and is_dashboard_request(self.command, path, self.headers, query):
            self._serve_dashboard(endpoint.dashboard, path, query_string)
            return
        if size > MAX_HEADER_BYTES:
            self._rest_error(
                RestError(
                    "RequestHeaderSectionTooLarge",
                    "Your request header section exceeds the maximum "
                    f"allowed size ({MAX_HEADER_BYTES} bytes).",
                )
            )
            return
        if endpoint.token and key != endpoint.token:
            self._rest_error(
                RestError(
                    "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.",
                    403,
                )
            )
            return
        if endpoint.rest_service is None:
            self._rest_error(RestError("NotImplemented", "This endpoint serves no REST API.", 501))
            return
        try:
            body, length = self._body_reader()
        except RestError as exc:
            self._rest_error(exc)
            return
        request = HttpRequest(
            method=self.command,
            path=path,
            query=query_string,
            headers=Headers(self.headers.items()),
            body=cast(BinaryIO, body),
            content_length=length,
            host=self.headers.get("Host") or "",
            access_key=key,
        )
        try:
            response = endpoint.rest_service(request)
        except RestError as exc:
            self._rest_error(exc)
            return
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._rest_error(
                RestError("InternalError", "We encountered an internal error. Please try again.", 500)
            )
            return
        self._finish_body(body)
        self._send(response)

    def _serve_dashboard(self, dashboard: RestService, path: str, query: str) -> None:
        """The dashboard (CONTRACT.md: unsigned GETs of ``/`` and ``/ui/...``); it checks its own token."""
        request = HttpRequest(
            method=self.command,
            path=path,
            query=query,
            headers=Headers(self.headers.items()),
            body=cast(BinaryIO, None),
            content_length=0,
            host=self.headers.get("Host") or "",
        )
        try:
            response = dashboard(request)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = HttpResponse(500, [("Content-Type", "text/plain")], b"500: dashboard error\n")
        self._send(response)

    # -- JSON 1.0 -----------------------------------------------------------------------------
    def _serve_json(self, endpoint: EndpointServer, target: str, key: str | None, size: int) -> None:
        prefix, _, operation = target.partition(".")
        try:
            if size > MAX_HEADER_BYTES:
                raise AwsJsonError("ValidationException", "the request's headers are too large", 400)
            if endpoint.token and key != endpoint.token:
                raise AwsJsonError(
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                    400,
                )
            service = endpoint.json_services.get(prefix)
            if service is None or not operation or self.command != "POST":
                raise AwsJsonError("UnknownOperationException", f"unknown operation {target!r}", 400)
            length = self._json_length()
            body = self.rfile.read(length) if length else b""
            result = service(
                JsonRequest(operation=operation, body=body, headers=Headers(self.headers.items()))
            )
            payload = json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
        except AwsJsonError as exc:
            # extra members of the error shape, e.g. DynamoDB's CancellationReasons
            document = {"__type": exc.code, "message": exc.message, **getattr(exc, "fields", {})}
            self._send_bytes(
                exc.status,
                json.dumps(document).encode(),
                [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-ErrorType", exc.code)],
            )
            return
        except Exception:
            traceback.print_exc(file=sys.stderr)
            document = {"__type": "InternalFailure", "message": "the endpoint failed; see its log"}
            self._send_bytes(
                500,
                json.dumps(document).encode(),
                [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-ErrorType", "InternalFailure")],
            )
            return
        self._send_bytes(200, payload, [("Content-Type", JSON_CONTENT_TYPE)])

    def _json_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise AwsJsonError("SerializationException", "chunked JSON requests are not supported", 400)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise AwsJsonError("SerializationException", "invalid Content-Length", 400) from None
        if length < 0 or length > MAX_JSON_BODY:
            self.close_connection = True
            raise AwsJsonError(
                "RequestEntityTooLarge",
                f"the request body is {length} bytes; this endpoint accepts at most {MAX_JSON_BODY}",
                413,
            )
        return length

    # -- REST bodies ----------------------------------------------------------------------------
    def _body_reader(self) -> tuple[Body, int | None]:
        headers = self.headers
        if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            raw: Any = HttpChunked(self.rfile)
            declared = None
        else:
            try:
                declared = int(headers.get("Content-Length") or 0)
            except ValueError:
                self.close_connection = True
                raise RestError("InvalidArgument", "invalid Content-Length", 400) from None
            if declared < 0:
                self.close_connection = True
                raise RestError("InvalidArgument", "invalid Content-Length", 400)
            raw = Limited(self.rfile, declared)
        length = declared
        if "aws-chunked" in (headers.get("Content-Encoding") or "").lower() or (
            (headers.get("x-amz-content-sha256") or "").startswith("STREAMING-")
        ):
            raw = AwsChunked(raw)
            try:
                length = int(headers.get("x-amz-decoded-content-length") or "")
            except ValueError:
                length = None
        if length is not None and length > MAX_REST_BODY:
            self.close_connection = True
            raise RestError(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", 400
            )
        return Body(raw, MAX_REST_BODY), length

    def _finish_body(self, body: Body) -> None:
        """Read what the service left of the body, so the connection can serve the next request."""
        try:
            left = body.drain(_DRAIN_LIMIT)
        except (OSError, RestError, ValueError):
            left = True
        if left:
            self.close_connection = True

    # -- responses -------------------------------------------------------------------------------
    def _rest_error(self, exc: RestError) -> None:
        from xml.sax.saxutils import escape

        fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in exc.fields.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(exc.code)}</Code><Message>{escape(exc.message)}</Message>{fields}"
            f"<RequestId>{self._request_id}</RequestId></Error>"
        ).encode()
        # The body we did not read may still be on the wire: do not reuse the connection.
        if self.command in ("PUT", "POST") and (
            self.headers.get("Content-Length") not in (None, "0") or self.headers.get("Transfer-Encoding")
        ):
            self.close_connection = True
        self._send_bytes(exc.status, body, [("Content-Type", "application/xml")])

    def _send_bytes(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self._send(HttpResponse(status=status, headers=headers, body=body))

    def _send(self, response: HttpResponse) -> None:
        body = response.body
        try:
            self.send_response(response.status)
            names = set()
            for name, value in response.headers:
                self.send_header(name, value)
                names.add(name.lower())
            self.send_header("x-amz-request-id", self._request_id)
            self.send_header("x-amzn-RequestId", self._request_id)
            if isinstance(body, bytes | bytearray):
                length = len(body)
            else:
                length = response.length if response.length is not None else 0
            if "content-length" not in names:
                self.send_header("Content-Length", str(length))
            if self.close_connection:
                self.send_header("Connection", "close")
            self._write_headers_and_body(
                b"" if self.command == "HEAD" or response.status in (204, 304) else body, length
            )
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        finally:
            if not isinstance(body, bytes | bytearray):
                body.close()

    def _write_headers_and_body(self, body: bytes | bytearray | BinaryIO, length: int) -> None:
        """The header block and the body in as few writes as possible: a bytes body or a small file goes
        out with the headers in one ``sendall``; a larger file follows the headers (sent with
        ``MSG_MORE``, so they share the first packet) by ``sendfile``, never through Python buffers."""
        buffered: list[bytes] = getattr(self, "_headers_buffer", [])
        if self.request_version != "HTTP/0.9":  # (a 0.9 response has no header block)
            buffered.append(b"\r\n")
        head = b"".join(buffered)
        buffered.clear()
        if isinstance(body, bytes | bytearray):
            self.connection.sendall(head + body if body else head)
        elif length <= _INLINE_FILE:
            data = bytearray(head)
            while len(data) < len(head) + length:  # a stream may return less than asked, until its end
                chunk = body.read(len(head) + length - len(data))
                if not chunk:
                    raise ConnectionResetError("the object ended early")
                data += chunk
            self.connection.sendall(data)
        else:
            self.connection.sendall(head, _MSG_MORE)
            send_file(self.connection, body, length)
