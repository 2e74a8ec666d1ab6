"""The ports the interpreter sees: what it needs of an object store, who watches Map Runs, and the
service integrations that non-Lambda Task resources reach.

Adapters live in :mod:`stepmap.storage`; the interpreter only knows these shapes (structural typing), so it
never imports a backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from stepmap.asl.resources import ParsedResource

__all__ = [
    "MapRunObserver",
    "ObjectInfoLike",
    "ObjectStorePort",
    "RunJournal",
    "TaskContext",
    "TaskIntegration",
    "TaskIntegrations",
    "TaskMocks",
]


class ObjectInfoLike(Protocol):
    key: str
    size: int
    etag: str
    last_modified: datetime
    storage_class: str


class ObjectStorePort(Protocol):
    def list(self, bucket: str, prefix: str = "", *, start_after: str | None = None) -> Iterator[Any]: ...
    def get(self, bucket: str, key: str) -> bytes: ...
    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes: ...
    def open(self, bucket: str, key: str) -> BinaryIO: ...
    def put(self, bucket: str, key: str, data: bytes) -> Any: ...
    def put_file(self, bucket: str, key: str, path: str) -> Any: ...
    def move_file(self, bucket: str, key: str, path: str, md5: str | None = None) -> Any: ...
    def head(self, bucket: str, key: str) -> Any: ...


class MapRunObserver(Protocol):
    """Told about Map Runs as they progress (progress bars, journals)."""

    def map_run_started(self, map_run: Any) -> None: ...
    def map_run_progress(self, map_run: Any) -> None: ...
    def map_run_finished(self, map_run: Any) -> None: ...


class RunJournal(Protocol):
    """Where one execution's progress is made durable, so that another process can resume or redrive it.

    The interpreter calls it at top-level state transitions and as a Map Run's children complete; the
    service implements it over its journal."""

    def checkpoint(self, state: str, input: Any, variables: dict[str, Any]) -> None: ...
    def should_stop(self) -> bool: ...
    def map_run_checkpoint(self, map_run: Any, state_name: str, checkpoint: dict[str, Any]) -> None: ...
    def map_run_resume(self, state_name: str) -> dict[str, Any] | None: ...
    def map_run_failed_children(
        self, map_run: Any, failed: list[int], redone: list[int], details: Sequence[Any] = ()
    ) -> None: ...
    def map_run_redrive_children(self, map_run_arn: str) -> set[int]: ...


@dataclass(frozen=True)
class TaskContext:
    """What a service integration may know about the Task calling it."""

    state_name: str
    execution_arn: str
    region: str
    account: str
    context: dict[str, Any]  # the Context object ($$) of this attempt
    timeout: float | None = None
    heartbeat: float | None = None
    # the same for a rerun of this very attempt (a resumed execution): names what the task starts
    attempt_id: str | None = None


class TaskIntegration(Protocol):
    """One family of non-Lambda Task resources (``dynamodb:putItem``, ``aws-sdk:s3:*``, ...).

    ``invoke`` returns the task's result, or an awaitable of it (patterns that wait: ``.sync``, callbacks);
    it raises :class:`~stepmap.errors.StatesError` for the errors a Retry or Catch may see. A synchronous
    ``invoke`` runs on a helper thread in the coordinator, inline in a worker's loop-free children."""

    def invoke(self, resource: ParsedResource, parameters: Any, ctx: TaskContext) -> Any: ...


class TaskIntegrations(Protocol):
    """The table from Resource to integration that the service hands the interpreter."""

    def find(self, resource: ParsedResource) -> TaskIntegration | None: ...


class TaskMocks(Protocol):
    """Mocked Task results (a test case of a Step Functions Local MockConfigFile): a mocked Task calls
    nothing; its ``invocation``-th attempt (from 0, counted per state by the interpreter) returns
    ``respond``'s value or raises its :class:`~stepmap.errors.StatesError`."""

    def mocks(self, state_name: str) -> bool: ...
    def respond(self, state_name: str, invocation: int) -> Any: ...
