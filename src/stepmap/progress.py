"""A live progress bar per Map Run on the terminal (rich), for ``stepmap run``.

Shows items done and failed, items/s and an ETA; printed on stderr so stdout keeps only the result.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["MapRunProgress"]


class _Rate(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} items/s" if speed else "", style="progress.data.speed")


class MapRunProgress:
    """A MapRunObserver that draws one bar per Map Run."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            _Rate(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> MapRunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _update(self, map_run: Any) -> None:
        task = self.tasks.get(map_run.map_run_arn)
        if task is None:
            return
        items = map_run.items
        done = items.succeeded + items.failed + items.timed_out + items.aborted
        failed = items.failed + items.timed_out + items.aborted
        self.progress.update(task, completed=done, total=max(items.total, 1), failed=failed)

    def map_run_started(self, map_run: Any) -> None:
        self.tasks[map_run.map_run_arn] = self.progress.add_task(map_run.label, total=None, failed=0)

    def map_run_progress(self, map_run: Any) -> None:
        self._update(map_run)

    def map_run_finished(self, map_run: Any) -> None:
        self._update(map_run)
