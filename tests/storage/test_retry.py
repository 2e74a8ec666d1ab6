"""Backoff: exponential growth, full jitter inside its bounds, bounded attempts, a retry count."""

from __future__ import annotations

import random

import pytest

from stepmap.storage.errors import StoreUnavailable
from stepmap.storage.retry import Backoff, RetryPolicy


class Flaky:
    """Fails ``failures`` times with ``error``, then returns "done"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError)


def test_ceilings_double_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base=0.5, cap=4.0)
    assert [policy.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_full_jitter_spreads_over_the_whole_interval() -> None:
    backoff = Backoff(RetryPolicy(base=0.5, cap=4.0), rng=random.Random(1))
    for retry in range(6):
        ceiling = min(4.0, 0.5 * 2**retry)
        delays = [backoff.delay(retry) for _ in range(300)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter, not "ceiling plus a little": waits near zero and near the ceiling both occur.
        assert min(delays) < 0.1 * ceiling
        assert max(delays) > 0.9 * ceiling


def test_retries_transient_errors_then_succeeds() -> None:
    sleeps: list[float] = []
    backoff = Backoff(
        RetryPolicy(max_attempts=5, base=1.0, cap=3.0), sleep=sleeps.append, rng=random.Random(3)
    )
    request = Flaky(3, TimeoutError("slow down"))
    assert backoff.run(request, transient=_transient, what="GET x") == "done"
    assert request.calls == 4
    assert backoff.retries == 3
    assert len(sleeps) == 3 and all(0 <= s <= c for s, c in zip(sleeps, [1.0, 2.0, 3.0]))


def test_gives_up_with_store_unavailable_and_keeps_the_cause() -> None:
    backoff = Backoff(RetryPolicy(max_attempts=3), sleep=lambda _: None)
    error = TimeoutError("503 SlowDown")
    with pytest.raises(
        StoreUnavailable, match=r"GET s3://b/k failed after 3 attempts: 503 SlowDown"
    ) as raised:
        backoff.run(Flaky(10, error), transient=_transient, what="GET s3://b/k")
    assert raised.value.__cause__ is error
    assert backoff.retries == 2


def test_other_errors_propagate_at_once() -> None:
    backoff = Backoff(sleep=lambda _: pytest.fail("must not wait"))
    request = Flaky(1, KeyError("missing"))
    with pytest.raises(KeyError):
        backoff.run(request, transient=_transient, what="GET")
    assert request.calls == 1 and backoff.retries == 0


def test_the_retry_count_adds_up_over_requests() -> None:
    backoff = Backoff(sleep=lambda _: None)
    for failures in (1, 2, 0):
        backoff.run(Flaky(failures, TimeoutError()), transient=_transient, what="GET")
    assert backoff.retries == 3


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base": -1.0}, {"cap": -0.5}])
def test_invalid_policies(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid retry policy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
