"""``stepmap serve`` (the endpoint in the foreground) and the endpoint ``stepmap run`` starts for handlers."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from stepmap.endpoints import EndpointContext, EndpointServer, build_server

__all__ = ["serve_until_signal"]


def serve_until_signal(
    host: str,
    port: int,
    *,
    token: str | None = None,
    log: bool = False,
    store: str | None = None,
    s3_endpoint: str | None = None,
    state_dir: str | None = None,
    ready: Any = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop accepting, let running requests end, and return."""
    ctx = EndpointContext.from_options(store, s3_endpoint, state_dir)
    server = build_server(ctx, host, port, token=token, log=log)
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            # shutdown() waits for the serving loop, which runs in this very thread: ask from another one
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(_banner(server, ctx, token), file=sys.stderr, flush=True)
        if ready is not None:
            ready(server)
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        print("stepmap: endpoint stopped", file=sys.stderr, flush=True)


def _banner(server: EndpointServer, ctx: EndpointContext, token: str | None) -> str:
    services = ", ".join(["S3", *sorted(server.json_services)])
    lines = [
        f"stepmap: serving {services} on {server.url} (store {ctx.store_config.url}); Ctrl-C stops",
        "  for clients:",
        f"    export AWS_ENDPOINT_URL={server.url} AWS_REGION=us-east-1",
        f"    export AWS_ACCESS_KEY_ID={token or 'stepmap'} AWS_SECRET_ACCESS_KEY=stepmap",
        f"  dashboard: {server.url}/" + (f"?token={token}" if token else ""),
    ]
    return "\n".join(lines)


def handler_env(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Placeholder; see module docstring."""
    environ = os.environ if environ is None else environ
    return {"AWS_ENDPOINT_URL": url}
