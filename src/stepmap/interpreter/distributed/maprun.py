"""The Map Run resource: identity, settings, status and live counters, shaped after AWS's DescribeMapRun."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["Counters", "MapRun", "MapRunStatus"]

MapRunStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "ABORTED"]


@dataclass
class Counters:
    """Item or child-execution counters of a Map Run (AWS's MapRunItemCounts / MapRunExecutionCounts)."""

    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    aborted: int = 0
    total: int = 0
    results_written: int = 0
    failures_not_redrivable: int = 0
    pending_redrive: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "timedOut": self.timed_out,
            "aborted": self.aborted,
            "total": self.total,
            "resultsWritten": self.results_written,
            "failuresNotRedrivable": self.failures_not_redrivable,
            "pendingRedrive": self.pending_redrive,
        }

    def add(self, status: str, n: int) -> None:
        """Count ``n`` more as ``status`` (and in the total)."""
        self.total += n
        self.running += n
        self.finish(status, n)

    def finish(self, status: str, n: int) -> None:
        """Move ``n`` from running to the counter of ``status``."""
        self.running -= n
        if status == "SUCCEEDED":
            self.succeeded += n
        elif status == "TIMED_OUT":
            self.timed_out += n
        elif status == "ABORTED":
            self.aborted += n
        else:
            self.failed += n


@dataclass
class MapRun:
    map_run_arn: str
    map_run_id: str
    execution_arn: str
    state_machine_arn: str  # the child state machine: <parent>/<Label>
    label: str
    start_date: datetime
    max_concurrency: int
    tolerated_failure_count: int | None
    tolerated_failure_percentage: float | None
    status: MapRunStatus = "RUNNING"
    stop_date: datetime | None = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    items: Counters = field(default_factory=Counters)
    executions: Counters = field(default_factory=Counters)

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mapRunArn": self.map_run_arn,
            "executionArn": self.execution_arn,
            "status": self.status,
            "startDate": self.start_date.isoformat(),
            "maxConcurrency": self.max_concurrency,
            "toleratedFailurePercentage": self.tolerated_failure_percentage or 0.0,
            "toleratedFailureCount": self.tolerated_failure_count or 0,
            "itemCounts": self.items.to_json(),
            "executionCounts": self.executions.to_json(),
            "redriveCount": self.redrive_count,
        }
        if self.stop_date is not None:  # AWS omits stopDate while RUNNING
            out["stopDate"] = self.stop_date.isoformat()
        if self.error is not None:
            out["error"] = self.error
            out["cause"] = self.cause or ""
        return out
