"""The handler of the fault-schedule test: one item, or a batch (``{"Items": [...]}``) of them."""

from __future__ import annotations

import os
import time
from typing import Any


def work(event: Any, context: Any) -> Any:
    """Fail while ``<dir>/fail-<id>`` exists for one of the items; kill the worker process while
    ``<dir>/die-<id>`` exists (a crashing native library); else sleep a little and return the id(s)."""
    items = event["Items"] if isinstance(event, dict) and "Items" in event else [event]
    directory = items[0]["dir"]
    for item in items:
        if os.path.exists(os.path.join(directory, f"die-{item['id']}")):
            os._exit(9)
        if os.path.exists(os.path.join(directory, f"fail-{item['id']}")):
            raise RuntimeError(f"item {item['id']} is marked to fail")
    time.sleep(items[0].get("sleep", 0.0) * len(items))
    ids = [{"id": item["id"]} for item in items]
    return ids if "Items" in event else ids[0]
