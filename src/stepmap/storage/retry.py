"""Retries with exponential backoff and full jitter, shared by the S3 and DynamoDB adapters.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): before retry ``n``
(0-based) wait a uniformly random time in ``[0, min(cap, base * 2**n))``. Spreading the waits
over the whole interval keeps many workers that were throttled together from retrying in step.

The clock is injected: adapters take a ``sleep`` function and a ``random.Random`` so tests run
without waiting and can check every delay. :class:`Backoff` keeps one piece of state, the number
of retries it has made, so a Map Run can report how often the store pushed back.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from stepmap.storage.errors import StoreUnavailable

__all__ = ["Backoff", "RetryPolicy"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a request gets and how long the waits between them may grow."""

    max_attempts: int = 8  # attempts in all, the first one included
    base: float = 0.1  # seconds; upper bound of the first wait
    cap: float = 20.0  # seconds; no wait is longer

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base < 0 or self.cap < 0:
            raise ValueError(f"invalid retry policy {self!r}")

    def ceiling(self, retry: int) -> float:
        """Upper bound of the wait before retry number ``retry`` (0-based)."""
        return min(self.cap, self.base * 2.0**retry)


class Backoff:
    """Runs a request, retrying transient failures under a :class:`RetryPolicy`."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._lock = threading.Lock()
        self._retries = 0

    @property
    def retries(self) -> int:
        """How many retries this backoff has made so far (all requests together)."""
        return self._retries

    def delay(self, retry: int) -> float:
        """A full-jitter wait for retry number ``retry``."""
        return self.rng.uniform(0.0, self.policy.ceiling(retry))

    def run(self, request: Callable[[], T], *, transient: Callable[[BaseException], bool], what: str) -> T:
        """Return ``request()``; retry it while it raises a ``transient`` error.

        After the last attempt raises :class:`StoreUnavailable` naming ``what`` and the last error,
        which is kept as ``__cause__``. Errors that are not transient propagate at once.
        """
        for attempt in range(self.policy.max_attempts):
            try:
                return request()
            except Exception as exc:
                if not transient(exc):
                    raise
                if attempt + 1 == self.policy.max_attempts:
                    raise StoreUnavailable(
                        f"{what} failed after {self.policy.max_attempts} attempts: {exc}"
                    ) from exc
            with self._lock:
                self._retries += 1
            self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
