import os


def greet(event, context):
    return {
        "text": f"{os.environ['GREETING']}, {event['customer']}",
        "stage": os.environ["STAGE"],
        "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "memory": context.memory_limit_in_mb,
    }


def price(event, context):
    discount = int(os.environ["DISCOUNT_PERCENT"])
    total = event["amount"] * (100 - discount) // 100
    return {
        "greeting": event["greeting"]["text"],
        "total": total,
        "stage": os.environ["STAGE"],
        "greetingSeenHere": os.environ["GREETING"],
        "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
        "function": context.function_name,
    }
