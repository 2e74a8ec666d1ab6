"""Execution history in AWS's shape: numbered events with ``previousEventId`` and typed details.

A :class:`History` is the append-only list of one execution; a :class:`Cursor` is one thread of control
inside it (the execution, a Parallel branch, a Map iteration) and remembers the id of its own last event, so
concurrent branches chain ``previousEventId`` the way AWS does. Recording can be switched off (children of
a Distributed Map run without history for speed) by using :data:`NO_HISTORY`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["NO_HISTORY", "Cursor", "History", "details_key"]

_ENTERED_EXITED = re.compile(r"^(Task|Pass|Choice|Wait|Succeed|Fail|Parallel|Map)State(Entered|Exited)$")
_DETAILS: dict[str, str] = {}


def details_key(event_type: str) -> str:
    """The name of an event's details field: ``TaskStateEntered`` -> ``stateEnteredEventDetails``."""
    key = _DETAILS.get(event_type)
    if key is None:
        m = _ENTERED_EXITED.match(event_type)
        base = f"state{m.group(2)}" if m else event_type[0].lower() + event_type[1:]
        key = _DETAILS[event_type] = base + "EventDetails"
    return key


class History:
    def __init__(self, now: Callable[[], datetime], enabled: bool = True) -> None:
        self.events: list[dict[str, Any]] = []
        self._now = now
        self.enabled = enabled

    def add(self, event_type: str, previous: int, details: dict[str, Any] | None) -> int:
        if not self.enabled:
            return 0
        event_id = len(self.events) + 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": previous,
            "timestamp": self._now().isoformat(),
            "type": event_type,
        }
        if details is not None:
            event[details_key(event_type)] = details
        self.events.append(event)
        return event_id

    def cursor(self) -> Cursor:
        return Cursor(self, 0)


class Cursor:
    """One thread of events; ``fork`` starts a branch chained to this thread's last event."""

    __slots__ = ("enabled", "history", "last")

    def __init__(self, history: History, last: int) -> None:
        self.history = history
        self.last = last
        self.enabled = history.enabled

    def add(self, event_type: str, details: dict[str, Any] | None = None) -> None:
        if self.enabled:
            self.last = self.history.add(event_type, self.last, details)

    def fork(self) -> Cursor:
        return Cursor(self.history, self.last)


NO_HISTORY = History(lambda: datetime.min, enabled=False)
