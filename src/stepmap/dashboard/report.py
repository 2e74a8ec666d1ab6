"""``stepmap report EXECUTION -o report.html``: one execution as a single self-contained HTML file.

The file holds the dashboard's own page (style sheet, dagre and the script inlined) and, as one JSON
document, every API answer the execution's pages read: the execution (graph, per-state status, timeline),
its event history, and each of its Map Runs (counters, items/s chart, failed items, ResultWriter manifest).
The page finds that document and reads it instead of the network, so the report opens from disk, offline,
anywhere (a CI artefact, a mail). The JSON is embedded with ``<``, ``>`` and ``&`` escaped, so no user
string can close the script element it sits in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from stepmap.dashboard.app import STATIC_DIR
from stepmap.dashboard.data import DashboardData

__all__ = ["render_report", "write_report"]

MAX_REPORT_EVENTS = 20_000


def _key(route: str, params: dict[str, str]) -> str:
    # the key the page's api() builds with URLSearchParams
    return f"{route}?{urlencode(params, quote_via=quote_plus, safe='*')}"


def _href(kind: str, value: str) -> str:
    return f"#/{kind}/{quote(value, safe=chr(33) + '~*' + chr(39) + '()')}"


def _static(name: str) -> str:
    with open(os.path.join(STATIC_DIR, *name.split("/")), encoding="utf-8") as fh:
        return fh.read()


def render_report(data: DashboardData, execution: str) -> str:
    """The report of ``execution`` (a name or ARN) as HTML text."""
    doc = data.execution(execution)
    arn = doc["record"]["executionArn"]
    api: dict[str, Any] = {_key("execution", {"arn": arn}): doc}
    events: list[Any] = []
    after: str | None = None
    while len(events) < MAX_REPORT_EVENTS:
        page = data.history(arn, after=after)
        events.extend(page["events"])
        after = page["next"]
        if after is None:
            break
    api[_key("history", {"arn": arn})] = {"events": events[:MAX_REPORT_EVENTS], "next": None}
    start = _href("execution", arn)
    pages = {start: True}
    for run in doc["mapRuns"]:
        map_run = data.map_run(run["mapRunArn"])
        api[_key("map-run", {"arn": run["mapRunArn"]})] = map_run
        pages[_href("map-run", run["mapRunArn"])] = True
        for failure in map_run["failures"]:
            pages[f"{_href('map-run', run['mapRunArn'])}/child/{failure['index']}"] = True
    payload = json.dumps({"start": start[1:], "api": api, "pages": pages}, ensure_ascii=False)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = f"stepmap report: {doc['record'].get('name', '')}"
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_escape(title)}</title>\n<style>\n{_static('app.css')}\n</style>\n</head>\n<body>\n"
        '<header><span class="brand">stepmap report</span><span id="live" class="live"></span></header>\n'
        '<main id="main"><p class="muted">Loading…</p></main>\n'
        f'<script type="application/json" id="stepmap-report">{payload}</script>\n'
        f"<script>\n{_static('vendor/dagre.min.js')}\n</script>\n<script>\n{_static('app.js')}\n</script>\n"
        "</body>\n</html>\n"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def write_report(state_dir: str, execution: str, out: str, *, store: Callable[[], Any] | None = None) -> str:
    """Write the report of ``execution`` to ``out``; return the path written."""
    data = DashboardData(state_dir, store)
    try:
        html = render_report(data, execution)
    finally:
        data.close()
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(html)
    return out
