"""AWS endpoints on loopback over stepmap's embedded state: S3 (REST) over the object store, and the
JSON 1.0 services (DynamoDB, Step Functions) registered in :mod:`stepmap.endpoints.services`.

``stepmap serve`` runs one :class:`EndpointServer` in the foreground; ``stepmap run`` starts one on an
ephemeral loopback port and points handlers' boto3 at it (:func:`handler_env`).
"""

from stepmap.endpoints.protocol import AwsJsonError, HttpRequest, HttpResponse, JsonRequest, RestError
from stepmap.endpoints.server import EndpointServer, is_loopback
from stepmap.endpoints.services import EndpointContext, build_json_services, build_rest_service

__all__ = [
    "AwsJsonError",
    "EndpointContext",
    "EndpointServer",
    "HttpRequest",
    "HttpResponse",
    "JsonRequest",
    "RestError",
    "build_json_services",
    "build_rest_service",
    "build_server",
    "is_loopback",
]


def build_server(
    ctx: EndpointContext,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str | None = None,
    log: bool = False,
) -> EndpointServer:
    """An endpoint serving S3 and every JSON service over ``ctx`` (not started yet)."""
    server = EndpointServer(
        host,
        port,
        token=token,
        rest_service=build_rest_service(ctx),
        json_services=build_json_services(ctx),
        log=log,
    )
    from stepmap.dashboard import DashboardApp

    server.set_dashboard(DashboardApp(ctx.state_dir, store=lambda: ctx.store, token=token))
    return server
