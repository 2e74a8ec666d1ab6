"""The interpreter's RunJournal port, over the service's SQLite journal.

One :class:`JournalRun` per execution attempt. It numbers top-level state entries (``step``) so that a Map
Run checkpoint is matched only to the same visit of its state: a Map state visited again in a loop starts a
new Map Run, while a resumed or redriven execution, which goes on at the checkpointed step, finds the Map Run
it left. History events are written to the journal at each checkpoint and at the end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from stepmap.interpreter.run import Run
from stepmap.journal import Journal

__all__ = ["JournalRun"]

STOP_POLL_SECONDS = 0.5


class JournalRun:
    def __init__(self, journal: Journal, arn: str, step: int = 0) -> None:
        self.journal = journal
        self.arn = arn
        self.step = step  # the number of the top-level state entry under way
        self.run: Run | None = None
        self.flushed = 0  # history events already in the journal
        self._polled = 0.0
        self._stop = False

    def attach(self, run: Run, flushed: int) -> None:
        self.run, self.flushed = run, flushed

    def new_events(self) -> list[dict[str, Any]]:
        if self.run is None:
            return []
        events = self.run.history.events[self.flushed :]
        self.flushed += len(events)
        return events

    # -- RunJournal ----------------------------------------------------------------------------------
    def checkpoint(self, state: str, input: Any, variables: dict[str, Any]) -> None:
        self.step += 1
        data = {"state": state, "input": input, "variables": variables, "step": self.step}
        self.journal.checkpoint(self.arn, data, self.new_events(), None)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._polled >= STOP_POLL_SECONDS:
            self._polled = now
            self._stop = self.journal.heartbeat(self.arn)
        return self._stop

    def map_run_checkpoint(self, map_run: Any, state_name: str, checkpoint: dict[str, Any]) -> None:
        checkpoint["step"] = self.step
        self.journal.record_map_run(map_run.describe(), state_name, checkpoint)

    def map_run_resume(self, state_name: str) -> dict[str, Any] | None:
        checkpoint = self.journal.map_run_checkpoint(self.arn, state_name)
        if checkpoint is None or checkpoint.get("step") != self.step:
            return None
        return checkpoint

    def map_run_failed_children(
        self, map_run: Any, failed: list[int], redone: list[int], details: Sequence[Any] = ()
    ) -> None:
        self.journal.add_failures(map_run.map_run_arn, failed, details)
        self.journal.clear_failures(map_run.map_run_arn, redone)

    def map_run_redrive_children(self, map_run_arn: str) -> set[int]:
        return self.journal.failures(map_run_arn)
