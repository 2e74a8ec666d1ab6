"""``arn:aws:states:::aws-sdk:<service>:<action>``: any API action of a service stepmap serves locally,
called through boto3 against the local endpoints.

Shapes are AWS's: the parameters are the API's PascalCase members, exactly what boto3 takes; the result
is the API's response document without ``ResponseMetadata``, timestamps as ISO 8601 strings and a
streamed body (``GetObject``'s ``Body``) as text. Errors are named as Step Functions names them,
``<Service>.<ErrorCode>`` in PascalCase with an ``Exception`` suffix (``S3.NoSuchKeyException``,
``DynamoDb.ConditionalCheckFailedException``); an error the service does not model becomes
``<Service>.<Service>Exception`` (``S3.S3Exception``); a call that never reached the service (connection
refused, timeout) is ``<Service>.SdkClientException``; parameters that do not fit the API's shapes are
``States.TaskFailed``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.integrations.clients import Clients
from stepmap.interpreter.ports import TaskContext

__all__ = ["SDK_SERVICES", "AwsSdkIntegration", "error_name", "plain_response"]

# Step Functions' service name -> (boto3 service name, PascalCase error prefix).
SDK_SERVICES: dict[str, tuple[str, str]] = {
    "s3": ("s3", "S3"),
    "dynamodb": ("dynamodb", "DynamoDb"),
}


def error_name(prefix: str, code: str) -> str:
    """``S3`` + ``NoSuchKey`` -> ``S3.NoSuchKeyException``; codes that are not names (``404``) ->
    ``S3.S3Exception``, the SDK's catch-all for the service."""
    if not code or not code[0].isalpha():
        return f"{prefix}.{prefix}Exception"
    code = code[0].upper() + code[1:]
    return f"{prefix}.{code}" if code.endswith("Exception") else f"{prefix}.{code}Exception"


def plain_response(value: Any, binary: str = "text") -> Any:
    """A boto3 response as JSON: no ResponseMetadata, timestamps as ISO strings, bodies as text (or
    base64 when ``binary`` is ``"base64"``, as DynamoDB's ``B`` values are, or when not UTF-8)."""
    if isinstance(value, dict):
        return {k: plain_response(v, binary) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [plain_response(v, binary) for v in value]
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if hasattr(value, "read"):  # a StreamingBody
        value = value.read()
    if isinstance(value, bytes | bytearray):
        if binary == "base64":
            return base64.b64encode(value).decode("ascii")
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if hasattr(value, "as_tuple"):  # Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return [plain_response(v, binary) for v in sorted(value)]
    return value


def call_api(clients: Clients, service: str, prefix: str, operation: str, parameters: Any) -> dict[str, Any]:
    """Call ``operation`` of ``service``; raise StatesError named the Step Functions way."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    client = clients.client(service)
    if not isinstance(parameters, dict):
        raise StatesError("States.Runtime", f"The parameters of {operation} must be a JSON object")
    try:
        method = getattr(client, _snake(client, operation))
        response: dict[str, Any] = method(**parameters)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, message = str(err.get("Code", "")), str(err.get("Message", ""))
        meta = exc.response.get("ResponseMetadata", {})
        cause = (
            f"{message} (Service: {prefix}, Status Code: {meta.get('HTTPStatusCode', 400)}, "
            f"Request ID: {meta.get('RequestId', '')})"
        )
        if prefix == "S3" and code in ("404", "NotFound"):  # HEAD responses carry no error document
            code = "NoSuchBucket" if operation == "HeadBucket" else "NoSuchKey"
        raise StatesError(error_name(prefix, code), cause) from None
    except (ParamValidationError, TypeError) as exc:
        raise StatesError("States.TaskFailed", f"{operation}: {exc}") from None
    except BotoCoreError as exc:
        raise StatesError(f"{prefix}.SdkClientException", f"Unable to execute HTTP request: {exc}") from None
    return response


def _snake(client: Any, operation: str) -> str:
    from botocore import xform_name

    model = client.meta.service_model
    if operation not in model.operation_names:
        raise StatesError(
            "States.Runtime",
            f"'{operation}' is not an action of the {model.service_name} API "
            f"(actions are camelCase, e.g. '{_camel(model.operation_names[0])}')",
        )
    return xform_name(operation)


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


class AwsSdkIntegration:
    """``aws-sdk:<service>:<action>`` for the services in :data:`SDK_SERVICES`."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        sdk = resource.sdk_service or ""
        if sdk not in SDK_SERVICES:
            raise StatesError("States.Runtime", f"aws-sdk:{sdk} has no local endpoint in stepmap")
        service, prefix = SDK_SERVICES[sdk]
        operation = resource.action[0].upper() + resource.action[1:]
        binary = "base64" if service == "dynamodb" else "text"
        return plain_response(call_api(self.clients, service, prefix, operation, parameters), binary)
