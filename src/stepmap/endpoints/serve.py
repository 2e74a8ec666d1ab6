"""``stepmap serve`` (the endpoint in the foreground) and the endpoint ``stepmap run`` starts for handlers.

What handlers get (:func:`handler_env`), when ``stepmap run`` serves the endpoint for them:

* ``AWS_ENDPOINT_URL`` = the endpoint (``http://127.0.0.1:<ephemeral port>``), so an unmodified
  ``boto3.client("s3")`` reads and writes the store that ItemReader, ResultWriter and
  ``stepmap.objects()`` use;
* ``AWS_REGION`` and ``AWS_DEFAULT_REGION``: the user's region if one of them is set, else ``us-east-1``;
* ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` = ``stepmap``, unless the user set
  ``AWS_ACCESS_KEY_ID`` (the endpoint accepts any credentials on loopback, and boto3 needs some).

The endpoint is not started, and nothing is set, when the user points the SDK somewhere themselves
(``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` set: their endpoint wins), when the store is not a
local directory (``--store s3://``: handlers talk to the real S3 with the user's configuration), or when
``STEPMAP_ENDPOINTS=off``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from stepmap.endpoints import EndpointContext, EndpointServer, build_server

__all__ = ["export_handler_endpoint", "handler_env", "serve_until_signal", "start_handler_endpoint"]


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
    run_options: dict[str, Any] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop accepting, let running requests end, and return."""
    ctx = EndpointContext.from_options(store, s3_endpoint, state_dir)
    ctx.run_options = run_options or {}  # Step Functions: functions, code paths, executor
    server = build_server(ctx, host, port, token=token, log=log)
    _start_step_functions(server)
    _install_template(server, ctx.run_options.get("app"))  # serve --template
    events = _start_event_rules(server, ctx)  # EventBridge rules, S3 Object Created events (branch i12)
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
        if events is not None:
            events.stop()
        server.close()
        print("stepmap: endpoint stopped", file=sys.stderr, flush=True)


def _start_step_functions(server: EndpointServer) -> None:
    """Build the Step Functions facade now (not on the first request), so that executions a previous
    server left running (or waiting for a task token) resume at once."""
    from stepmap.endpoints.stepfunctions import StepFunctionsEndpoint

    service = server.json_services.get("AWSStepFunctions")
    if isinstance(service, StepFunctionsEndpoint):
        # handlers (in worker processes too) reach this endpoint with boto3: to send task tokens back
        os.environ.setdefault("AWS_ENDPOINT_URL", server.url)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        os.environ.setdefault("AWS_REGION", "us-east-1")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", server.token or "stepmap")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "stepmap")
        # executions a previous server left running (or waiting for a token) go on here; only
        # `stepmap serve` adopts them, not the endpoint `stepmap run` starts for its handlers
        service.facade.executions.resume_orphans()


def _install_template(server: EndpointServer, app: Any) -> None:
    """The template's state machines, buckets, tables, queues, subscriptions and rules, before serving."""
    if app is None:
        return
    from stepmap.service.apps import install_app

    service: Any = server.json_services.get("AWSStepFunctions")
    arns = install_app(service.facade, app)
    for arn in arns:
        print(f"stepmap: state machine {arn}", file=sys.stderr, flush=True)


def _start_event_rules(server: EndpointServer, ctx: EndpointContext) -> Any:
    """Rules start workflows while serve runs: the watcher and rule engine of stepmap.events."""
    from stepmap.events.loop import EventLoop

    step_functions = server.json_services.get("AWSStepFunctions")
    return None if step_functions is None else EventLoop(ctx, step_functions).start()


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
    """The variables that point a handler's AWS SDK at the endpoint ``url`` (see the module docstring)."""
    environ = os.environ if environ is None else environ
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    env = {"AWS_ENDPOINT_URL": url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if not environ.get("AWS_ACCESS_KEY_ID"):
        env.update(AWS_ACCESS_KEY_ID="stepmap", AWS_SECRET_ACCESS_KEY="stepmap")
    return env


def start_handler_endpoint(
    storage_env: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> tuple[EndpointServer | None, dict[str, str]]:
    """Start an endpoint on an ephemeral loopback port over the store of ``storage_env`` and return it
    with the variables for handlers; ``(None, {})`` when the module docstring says not to."""
    from stepmap.storage import StoreConfig

    environ = os.environ if environ is None else environ
    if (environ.get("STEPMAP_ENDPOINTS") or "").strip().lower() in ("0", "off", "false", "no"):
        return None, {}
    if environ.get("AWS_ENDPOINT_URL") or environ.get("AWS_ENDPOINT_URL_S3"):
        return None, {}
    if StoreConfig.from_env(storage_env).scheme != "file":
        return None, {}
    server = build_server(EndpointContext(storage_env)).start()
    return server, handler_env(server.url, environ)


def export_handler_endpoint(storage_env: Mapping[str, str]) -> EndpointServer | None:
    """:func:`start_handler_endpoint`, and set its variables in this process's environment too: a
    handler module imported here (``s3 = boto3.client("s3")`` at module level) and worker processes
    forked from this one must see them, not only workers that start after."""
    server, env = start_handler_endpoint(storage_env)
    os.environ.update(env)
    return server
