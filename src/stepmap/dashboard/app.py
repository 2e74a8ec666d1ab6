"""The dashboard as an HTTP service: the page, its static files, and the JSON read API.

Routes (GET only; the endpoint server sends here requests without AWS auth whose path is ``/`` or starts
with ``/ui/``)::

    /                                   the page (a single page: views are chosen by the URL's #fragment)
    /ui/static/<file>                   its script, style sheet and the vendored dagre (no CDN)
    /ui/api/state-machines              state machines, with counts of executions
    /ui/api/state-machine?name=         one state machine: definition and graph
    /ui/api/executions?status=&name=&stateMachine=&cursor=&limit=
    /ui/api/execution?arn=              one execution: record, graph, per-state status, Map Runs, children
    /ui/api/history?arn=&after=&limit=  its events
    /ui/api/map-run?arn=                one Map Run: record, samples, failed items, ResultWriter manifest
    /ui/api/map-run-failures?arn=&after=&limit=
    /ui/api/result-file?mapRun=&key=    a result file the Map Run's manifest lists

Security: responses carry a Content-Security-Policy that allows only this origin's scripts (user data can
never run as script), ``nosniff`` and ``no-referrer``. With a token (the server bound off loopback) every
request needs it: ``?token=`` once, which sets an HttpOnly, SameSite=Strict cookie.

State: the read model (:class:`~stepmap.dashboard.data.DashboardData`) and the token.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import os
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from stepmap.dashboard.data import DashboardData
from stepmap.endpoints.protocol import HttpRequest, HttpResponse
from stepmap.errors import InputError

__all__ = ["STATIC_DIR", "DashboardApp"]

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_COOKIE = "stepmap_token"


class DashboardApp:
    """``HttpRequest -> HttpResponse`` for the dashboard over one state directory."""

    def __init__(
        self, state_dir: str, *, store: Callable[[], Any] | None = None, token: str | None = None
    ) -> None:
        self.data = DashboardData(state_dir, store)
        self.token = token
        self._api: dict[str, Callable[[dict[str, str]], Any]] = {
            "state-machines": lambda q: self.data.state_machines(),
            "state-machine": lambda q: self.data.state_machine(_need(q, "name")),
            "executions": lambda q: self.data.executions(
                status=q.get("status"),
                name=q.get("name"),
                state_machine=q.get("stateMachine"),
                cursor=q.get("cursor"),
                limit=q.get("limit"),
            ),
            "execution": lambda q: self.data.execution(_need(q, "arn")),
            "history": lambda q: self.data.history(
                _need(q, "arn"), after=q.get("after"), limit=q.get("limit")
            ),
            "map-run": lambda q: self.data.map_run(_need(q, "arn")),
            "map-run-failures": lambda q: self.data.map_run_failures(
                _need(q, "arn"), after=q.get("after"), limit=q.get("limit")
            ),
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = {k: v[0] for k, v in parse_qs(request.query, keep_blank_values=True).items()}
        extra: list[tuple[str, str]] = []
        if self.token:
            cookie = SimpleCookie(request.headers.get("Cookie") or "")
            given = query.get("token") or (cookie[_COOKIE].value if _COOKIE in cookie else "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _text(403, "403: this dashboard needs its token: open it once with ?token=TOKEN\n")
            if "token" in query:
                extra.append(("Set-Cookie", f"{_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"))
        if request.method not in ("GET", "HEAD"):
            return _text(405, "405: the dashboard is read-only\n")
        path = request.path
        if path in ("/", "/ui/", "/ui"):
            response = self._static("index.html")
        elif path.startswith("/ui/static/"):
            response = self._static(path[len("/ui/static/") :])
        elif path.startswith("/ui/api/"):
            response = self._json(path[len("/ui/api/") :], query)
        else:
            response = _text(404, "404: not found\n")
        response.headers.extend(extra)
        return response

    def _static(self, name: str) -> HttpResponse:
        parts = [p for p in name.split("/") if p]
        if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
            return _text(404, "404: not found\n")
        path = os.path.join(STATIC_DIR, *parts)
        if not os.path.isfile(path):
            return _text(404, "404: not found\n")
        with open(path, "rb") as fh:
            body = fh.read()
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        return HttpResponse(200, [("Content-Type", kind), ("Cache-Control", "no-cache"), *_security()], body)

    def _json(self, route: str, query: dict[str, str]) -> HttpResponse:
        if route == "result-file":
            return self._result_file(query)
        handler = self._api.get(route)
        if handler is None:
            return _json(404, {"error": f"unknown API {route!r}"})
        try:
            return _json(200, handler(query))
        except InputError as exc:
            return _json(400, {"error": str(exc)})
        except LookupError as exc:
            return _json(404, {"error": str(exc.args[0] if exc.args else exc)})

    def _result_file(self, query: dict[str, str]) -> HttpResponse:
        try:
            bucket, key = self.data.result_file(_need(query, "mapRun"), _need(query, "key"))
            info = self.data.store().head(bucket, key)
            body = self.data.store().open(bucket, key)
        except InputError as exc:
            return _json(400, {"error": str(exc)})
        except LookupError as exc:
            return _json(404, {"error": str(exc.args[0] if exc.args else exc)})
        except Exception as exc:
            return _json(502, {"error": f"cannot read the result file: {exc}"})
        filename = key.rsplit("/", 1)[-1].replace('"', "")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Disposition", f'inline; filename="{filename}"'),
            *_security(),
        ]
        return HttpResponse(200, headers, body, length=int(info.size))


def _need(query: dict[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise InputError(f"the query parameter {name!r} is required")
    return value


def _security() -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]


def _json(status: int, value: Any) -> HttpResponse:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Cache-Control", "no-store"),
        *_security(),
    ]
    return HttpResponse(status, headers, body)


def _text(status: int, text: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8"), *_security()], text.encode())
