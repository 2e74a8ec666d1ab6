import helper


def lambda_handler(event, context):
    subtotal = sum(helper.PRICES[item] * count for item, count in event["items"].items())
    return {"subtotal": subtotal, "rule": helper.RULE}
