"""The Step Functions API as an AWS JSON 1.0 service (``X-Amz-Target: AWSStepFunctions.<Operation>``).

This module is protocol only: it decodes the request body, checks it against the operation's input shape in
botocore's own service model (required members, types, enums, lengths: AWS's ``ValidationException``),
calls :class:`~stepmap.service.stepfunctions.StepFunctions`, and turns its :class:`ApiError` into the AWS
error document. It never reaches into the interpreter.

State: the facade, built on the first request (so an endpoint that never sees a Step Functions call, like
the one ``stepmap run`` starts for its handlers, starts no executor), from the endpoint's context.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from stepmap.endpoints.protocol import AwsJsonError, JsonRequest
from stepmap.service.machines import ApiError

__all__ = ["TARGET_PREFIX", "StepFunctionsEndpoint", "service_model"]

TARGET_PREFIX = "AWSStepFunctions"

_model: Any = None


def service_model() -> Any:
    """botocore's model of the Step Functions API (the shapes every request and response follow)."""
    global _model
    if _model is None:
        try:
            import botocore.session
        except ImportError:  # pragma: no cover - botocore comes with the s3 extra (boto3)
            raise AwsJsonError(
                "InternalFailure", "the Step Functions API needs botocore: pip install 'stepmap[s3]'", 500
            ) from None
        _model = botocore.session.get_session().get_service_model("stepfunctions")
    return _model


def _check(operation: str, document: Any) -> None:
    from botocore.validate import ParamValidator

    try:
        shape = service_model().operation_model(operation).input_shape
    except Exception:
        raise AwsJsonError("UnknownOperationException", f"Unknown operation: {operation}") from None
    if not isinstance(document, dict):
        raise AwsJsonError("SerializationException", "the request body must be a JSON object")
    if shape is None:
        return
    report = ParamValidator().validate(document, shape)
    if report.has_errors():
        raise AwsJsonError("ValidationException", report.generate_report())


class StepFunctionsEndpoint:
    """A JsonService: Step Functions requests in, response documents out."""

    def __init__(self, ctx: Any, factory: Any = None) -> None:
        self.ctx = ctx
        self._factory = factory
        self._facade: Any = None
        self._lock = threading.Lock()

    @property
    def facade(self) -> Any:
        if self._facade is None:
            with self._lock:
                if self._facade is None:
                    self._facade = (self._factory or _facade_for)(self.ctx)
        return self._facade

    def close(self) -> None:
        if self._facade is not None:
            self._facade.close()

    def __call__(self, request: JsonRequest) -> Mapping[str, Any]:
        try:
            document = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise AwsJsonError("SerializationException", "the request body is not valid JSON") from None
        _check(request.operation, document)
        try:
            result: Mapping[str, Any] = self.facade.call(request.operation, document)
        except ApiError as exc:
            raise AwsJsonError(exc.code, exc.message) from None
        return result


def _facade_for(ctx: Any) -> Any:
    """The facade over a StepmapService configured as ``stepmap serve`` was told (functions, executor)."""
    from stepmap.functions import FunctionRegistry, add_code_paths
    from stepmap.service.runner import StepmapService
    from stepmap.service.stepfunctions import LiveMapRuns, StepFunctions

    options: dict[str, Any] = dict(getattr(ctx, "run_options", None) or {})
    functions = options.get("functions")
    if functions is None:
        functions = FunctionRegistry()
    code_paths = tuple(options.get("code_paths", ()))
    add_code_paths(code_paths)
    live = LiveMapRuns()  # Map Runs running here, for UpdateMapRun
    service = StepmapService(
        functions=functions,
        executor=options.get("executor", "local"),
        code_paths=code_paths,
        max_workers=options.get("max_workers"),
        store=ctx.env.get("STEPMAP_STORE"),
        s3_endpoint=ctx.env.get("STEPMAP_S3_ENDPOINT"),
        state_dir=ctx.state_dir,
        journal=True,
        observer=live,
        mock_config=options.get("mock_config"),  # serve --mock-config: StartExecution "<arn>#<TestCase>"
    )
    return StepFunctions(service, live)
