import helper


def lambda_handler(event, context):
    return {"tax": event["subtotal"] * helper.RATE_PERCENT // 100, "rule": helper.RULE}
