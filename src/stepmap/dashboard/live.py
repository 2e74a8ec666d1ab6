"""``stepmap run --open``: the dashboard of one run, on an ephemeral loopback port, while it runs.

:func:`dashboard_for_run` uses the run's endpoint server (which serves the dashboard beside the AWS
endpoints its handlers call), or starts one over the run's state directory; it prints the URL of the
execution's page on stderr and opens a browser only when there is a display to show it on. When the run
ends it keeps serving until Ctrl-C if stdin is a terminal (someone is looking); otherwise it stops with
the run.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

__all__ = ["dashboard_for_run", "has_display"]


def has_display() -> bool:
    """Is there a screen a browser could open on (X11, Wayland, macOS, Windows)?"""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextmanager
def dashboard_for_run(
    execution_name: str,
    *,
    endpoint: Any = None,
    store: str | None = None,
    s3_endpoint: str | None = None,
    state_dir: str | None = None,
) -> Iterator[str]:
    """Serve the dashboard during a run; yields the URL of the execution's page. ``endpoint``: the run's
    own endpoint server (the one its handlers' boto3 reaches), which serves the dashboard too; without it
    a server is started here."""
    from stepmap.endpoints import EndpointContext, build_server

    if endpoint is not None:
        server = endpoint
    else:
        ctx = EndpointContext.from_options(store, s3_endpoint, state_dir)
        os.makedirs(ctx.state_dir, exist_ok=True)
        server = build_server(ctx, "127.0.0.1", 0).start()
    url = f"{server.url}/#/execution/{quote(execution_name, safe='')}"
    print(f"stepmap: dashboard at {url}", file=sys.stderr, flush=True)
    if has_display():
        webbrowser.open(url)
    try:
        yield url
        if sys.stdin.isatty():
            print("stepmap: the run ended; the dashboard stays up until Ctrl-C", file=sys.stderr, flush=True)
            forever = threading.Event()
            try:
                while not forever.wait(3600):
                    pass
            except KeyboardInterrupt:
                pass
    finally:
        if endpoint is None:
            server.stop()
