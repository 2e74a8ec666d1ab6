"""The interpreter's RunJournal port, over the service's SQLite journal.

One :class:`JournalRun` per execution attempt. It numbers top-level state entries (``step``) so that a Map
Run checkpoint is matched only to the same visit of its state: a Map state visited again in a loop starts a
new Map Run, while a resumed or redriven execution, which goes on at the checkpointed step, finds the Map Run
it left. History events are written to the journal at each checkpoint and at the end.

Liveness: while the attempt runs, a :class:`Heartbeat` thread refreshes the journal row every
``HEARTBEAT_SECONDS`` whatever the state does (a Wait or a Task may last hours), and watches for a
stop request: ``stepmap stop`` of a live execution sets a flag that this thread turns into an interrupt
of the run, which then ends ABORTED by its own hand (one ExecutionAborted, no events lost). If the row
says another process owns the execution now, the thread interrupts the run too, and this process writes
nothing more (``lost``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from stepmap.errors import EngineError
from stepmap.interpreter.run import Run
from stepmap.journal import Journal
from stepmap.journal.sqlite import HEARTBEAT_SECONDS

__all__ = ["JournalRun"]

STOP_POLL_SECONDS = 0.5


class Heartbeat(threading.Thread):
    """Refreshes an execution's heartbeat and turns a stop request (or a lost ownership) into
    ``interrupt()`` of its run; see the module docstring."""

    def __init__(self, journal_run: JournalRun, interrupt: Callable[[], object]) -> None:
        super().__init__(name=f"stepmap-heartbeat-{journal_run.arn.rsplit(':', 1)[-1]}", daemon=True)
        self.journal_run = journal_run
        self.interrupt = interrupt
        self.done = threading.Event()

    def run(self) -> None:
        journal_run, journal = self.journal_run, self.journal_run.journal
        last_beat = time.monotonic()
        while not self.done.wait(STOP_POLL_SECONDS):
            try:
                if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                    last_beat = time.monotonic()
                    if not journal.heartbeat(journal_run.arn):
                        journal_run.lost = True
                stop = journal.stop_requested(journal_run.arn)
            except Exception:
                continue
            if stop or journal_run.lost:
                journal_run._stop = stop
                self.interrupt()
                return


class JournalRun:
    def __init__(self, journal: Journal, arn: str, step: int = 0) -> None:
        self.journal = journal
        self.arn = arn
        self.step = step  # the number of the top-level state entry under way
        self.run: Run | None = None
        self.flushed = 0  # history events already in the journal
        self._polled = 0.0
        self._stop = False
        self.lost = False  # another process owns the execution now: write nothing more
        self._heartbeat: Heartbeat | None = None

    def start_heartbeat(self, interrupt: Callable[[], object]) -> None:
        self._heartbeat = Heartbeat(self, interrupt)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.done.set()
            self._heartbeat.join()
            self._heartbeat = None

    def attach(self, run: Run, flushed: int) -> None:
        self.run, self.flushed = run, flushed

    def new_events(self) -> list[dict[str, Any]]:
        if self.run is None:
            return []
        events = self.run.history.events[self.flushed :]
        self.flushed += len(events)
        return events

    # -- RunJournal ----------------------------------------------------------------------------------
    def _owned(self) -> None:
        if self.lost:
            raise EngineError(f"execution {self.arn} was taken over by another process; this one stops")

    def checkpoint(self, state: str, input: Any, variables: dict[str, Any]) -> None:
        self._owned()
        self.step += 1
        data = {"state": state, "input": input, "variables": variables, "step": self.step}
        self.journal.checkpoint(self.arn, data, self.new_events(), None)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._polled >= STOP_POLL_SECONDS:
            self._polled = now
            self._stop = self._stop or self.journal.stop_requested(self.arn)
        return self._stop

    def map_run_checkpoint(self, map_run: Any, state_name: str, checkpoint: dict[str, Any]) -> None:
        self._owned()
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
