"""Lambda-style handlers of the orders example: plain ``def handler(event, context)`` functions."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

PRICES = {"apple": 0.5, "pear": 0.75, "melon": 3.0, "cherry": 0.1}


class InvalidOrder(Exception):
    """An order that cannot be priced; the workflow catches it and rejects the order."""


def validate_order(event, context):
    unknown = [line["item"] for line in event["lines"] if line["item"] not in PRICES]
    if unknown:
        raise InvalidOrder(f"order {event['id']}: unknown items {unknown}")
    if any(line["qty"] <= 0 for line in event["lines"]):
        raise InvalidOrder(f"order {event['id']}: quantities must be positive")
    return {"id": event["id"], "lines": event["lines"], "customer": event["customer"]}


def subtotal(event, context):
    return round(sum(PRICES[line["item"]] * line["qty"] for line in event["lines"]), 2)


def shipping(event, context):
    weight = sum(line["qty"] for line in event["lines"])
    return 4.99 if weight < 20 else 9.99


def reserve_stock(event, context):
    # The warehouse service is flaky: the first attempt of every order times out.
    if event["attempt"] == 0:
        raise ConnectionError(f"warehouse did not answer for order {event['id']}")
    print(f"reserved stock for order {event['id']} on attempt {event['attempt'] + 1}")
    return {"reserved": True}


def summarize(event, context):
    accepted = [o for o in event if o.get("status") == "ACCEPTED"]
    rejected = [o for o in event if o.get("status") == "REJECTED"]
    review = [o["id"] for o in accepted if o["review"]]
    logger.warning("%d orders need a manual review", len(review))
    return {
        "accepted": len(accepted),
        "rejected": [o["id"] for o in rejected],
        "needs_review": review,
        "revenue": round(sum(o["price"]["subtotal"] + o["price"]["shipping"] for o in accepted), 2),
    }
