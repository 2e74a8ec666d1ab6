"""The ports the interpreter sees: what it needs of an object store, and who watches Map Runs.

Adapters live in :mod:`stepmap.storage`; the interpreter only knows these shapes (structural typing), so it
never imports a backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, BinaryIO, Protocol

__all__ = ["MapRunObserver", "ObjectInfoLike", "ObjectStorePort", "RunJournal"]


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
