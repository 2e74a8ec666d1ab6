"""Clocks: what ``Wait`` states, retry back-off and execution timeouts read.

The interpreter never calls ``time`` or ``asyncio.sleep`` directly; it asks its clock. Tests inject a
:class:`ManualClock`, whose ``sleep`` moves virtual time forward at once, so nothing really sleeps.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

__all__ = ["BlockingClock", "Clock", "ManualClock", "SystemClock"]


class Clock:
    """Wall-clock time and sleeping, as the interpreter sees them."""

    def now(self) -> datetime:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class ManualClock(Clock):
    """Virtual time: ``sleep`` records the request and advances ``now`` immediately."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            self._now = self._now.replace(tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        # Never suspends: child executions in workers drive their coroutines without an event loop.
        self.slept.append(seconds)
        if seconds > 0:
            self.advance(seconds)


class BlockingClock(SystemClock):
    """System time, sleeping by blocking the thread: for child executions inside a worker process,
    whose coroutines are driven without an event loop."""

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
