"""A handler written the way AWS samples write it: a module-level boto3 resource, no endpoint, no keys."""

from decimal import Decimal

import boto3

orders = boto3.resource("dynamodb").Table("orders")


def record(event, context):
    with orders.batch_writer() as batch:
        for i in range(event["count"]):
            batch.put_item(Item={"customer": "c1", "n": i, "total": Decimal("9.99") * i, "tags": {"new"}})
    orders.update_item(
        Key={"customer": "c1", "n": 0},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "first"},
    )
    return {"written": event["count"]}
