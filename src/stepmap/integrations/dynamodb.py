"""The optimized DynamoDB integrations: ``arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem``.

The parameters are the DynamoDB API's (``TableName``, ``Key``, ``Item``, ``UpdateExpression``,
``ConditionExpression``, ``ExpressionAttributeNames/Values``, ``ReturnValues``, ...), with attribute
values in DynamoDB JSON (``{"S": "x"}``). The result is what AWS's optimized integration returns: the API
response (``Item``, ``Attributes``, ...) plus ``SdkHttpMetadata`` and ``SdkResponseMetadata``. Errors are
``DynamoDB.<ErrorCode>`` (``DynamoDB.ConditionalCheckFailedException``,
``DynamoDB.ResourceNotFoundException``); an error the SDK does not model, such as ``ValidationException``,
is ``DynamoDB.AmazonDynamoDBException``, as on AWS.
"""

from __future__ import annotations

import uuid
from typing import Any

from stepmap.asl.resources import ParsedResource
from stepmap.errors import StatesError
from stepmap.integrations.aws_sdk import call_api, plain_response
from stepmap.integrations.clients import Clients
from stepmap.interpreter.ports import TaskContext

__all__ = ["OPTIMIZED_ACTIONS", "DynamoDbIntegration"]

OPTIMIZED_ACTIONS = {
    "getItem": "GetItem",
    "putItem": "PutItem",
    "updateItem": "UpdateItem",
    "deleteItem": "DeleteItem",
}
_MODELED = {
    "ConditionalCheckFailedException",
    "ResourceNotFoundException",
    "ProvisionedThroughputExceededException",
    "ItemCollectionSizeLimitExceededException",
    "TransactionConflictException",
    "RequestLimitExceeded",
    "InternalServerErrorException",
    "SdkClientException",  # the call never reached the service (what definitions Retry on)
}


def _http_metadata(request_id: str) -> dict[str, Any]:
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/x-amz-json-1.0",
        "Server": "Server",
        "x-amzn-RequestId": request_id,
    }
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


class DynamoDbIntegration:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any:
        operation = OPTIMIZED_ACTIONS.get(resource.action)
        if operation is None:
            raise StatesError("States.Runtime", f"dynamodb:{resource.action} is not supported by stepmap")
        try:
            response = call_api(self.clients, "dynamodb", "DynamoDb", operation, parameters)
        except StatesError as exc:
            code = exc.error.split(".", 1)[1] if exc.error.startswith("DynamoDb.") else None
            if code is None:
                raise
            name = code if code in _MODELED else "AmazonDynamoDBException"
            raise StatesError(f"DynamoDB.{name}", _v1_cause(exc.cause or "", code)) from None
        request_id = response.get("ResponseMetadata", {}).get("RequestId") or str(uuid.uuid4())
        result = plain_response(response, binary="base64")
        result.update(_http_metadata(request_id))
        return result


def _v1_cause(cause: str, code: str) -> str:
    # "<message> (Service: DynamoDb, Status Code: 400, Request ID: X)" -> the SDK v1 wording AWS shows.
    message, _, rest = cause.partition(" (Service: ")
    status = rest.split("Status Code: ", 1)[-1].split(",", 1)[0] if rest else "400"
    request_id = rest.split("Request ID: ", 1)[-1].rstrip(")") if rest else ""
    return (
        f"{message} (Service: AmazonDynamoDBv2; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null)"
    )
