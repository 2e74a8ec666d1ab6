"""What one child execution of a Distributed Map produced, as it crosses back from a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["ChildResult", "ChildStatus"]

ChildStatus = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING"]


@dataclass(frozen=True)
class ChildResult:
    """One child execution (one item, or one batch of items) and its outcome.

    ``input_json`` and ``output_json`` are JSON texts, as AWS's ResultWriter records carry them.
    ``item_count`` is how many items the child carried (1 without ItemBatcher).
    """

    index: int  # position of the child in the Map Run (0-based, in item order)
    execution_arn: str
    name: str
    state_machine_arn: str
    status: ChildStatus
    input_json: str
    output_json: str | None = None
    error: str | None = None
    cause: str | None = None
    start_date: datetime | None = None
    stop_date: datetime | None = None
    item_count: int = 1
