from orders_common import cents_to_text


def handler(event, context):
    total = sum(line["cents"] for line in event["lines"])
    return {"lines": len(event["lines"]), "total": cents_to_text(total)}
