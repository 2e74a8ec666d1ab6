"""Handlers used by the CLI tests (imported by module name in worker processes)."""


class PaymentDeclined(Exception):
    pass


def double(event, context):
    print("doubling", event["value"])
    return {"value": event["value"] * 2}


def decline(event, context):
    raise PaymentDeclined("card 4242 declined")


def _private(event, context):  # not registered by --functions
    return None
