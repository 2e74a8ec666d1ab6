"""The progress bar draws one line per Map Run with items done, failures and the label."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from stepmap.interpreter.distributed.maprun import MapRun
from stepmap.progress import MapRunProgress


def test_progress_shows_done_and_failed_items_per_map_run() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    map_run = MapRun(
        map_run_arn="arn:aws:states:us-east-1:123456789012:mapRun:m/CountWords:1",
        map_run_id="1",
        execution_arn="arn",
        state_machine_arn="arn",
        label="CountWords",
        start_date=datetime.now(UTC),
        max_concurrency=10,
        tolerated_failure_count=None,
        tolerated_failure_percentage=None,
    )
    with MapRunProgress(console) as progress:
        progress.map_run_started(map_run)
        map_run.items.total, map_run.items.succeeded, map_run.items.failed = 10, 7, 2
        progress.map_run_progress(map_run)
        progress.map_run_finished(map_run)
    text = out.getvalue()
    assert "CountWords" in text
    assert "9/10" in text  # succeeded + failed of total
    assert "2 failed" in text
