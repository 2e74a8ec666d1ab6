"""The Distributed Map ``ResultWriter``: child results streamed to AWS's export layout, in bounded memory.

A Map Run with ``ResultWriter.Resource: arn:aws:states:::s3:putObject`` exports its children's results
to the object store, in the layout AWS writes::

    <Prefix>/<map-run-id>/manifest.json
    <Prefix>/<map-run-id>/SUCCEEDED_0.json, SUCCEEDED_1.json, ...
    <Prefix>/<map-run-id>/FAILED_0.json, ...       children FAILED, TIMED_OUT or ABORTED
    <Prefix>/<map-run-id>/PENDING_0.json, ...      children never started (the Map Run failed first)

A redriven Map Run (``redrive_count`` n > 0) writes the same files under
``<Prefix>/<map-run-id>/Redrive-<n>/``, so the first attempt's results stay as they were. A trailing
``/`` on the prefix is dropped; an empty prefix puts the map-run folder at the bucket's root. Files keep
the ``.json`` suffix whatever the ``OutputType``, as AWS's do.

Records (``WriterConfig.Transformation``):

``NONE`` (the default)
    AWS's execution record, keys in AWS's (alphabetical) order: ``ExecutionArn``, ``Input`` (a JSON
    *string*), ``InputDetails: {"Included": true}``, ``Name``, ``Output`` (a JSON string), ``OutputDetails``,
    ``RedriveCount``, ``RedriveStatus`` (``NOT_REDRIVABLE`` with ``RedriveStatusReason`` "Execution is
    SUCCEEDED and cannot be redriven" for a success), ``StartDate``, ``StateMachineArn``, ``Status``,
    ``StopDate``; dates as ``2023-04-27T21:22:28.712Z``. A failed child has ``Error`` and ``Cause``
    instead of ``Output`` and is ``REDRIVABLE``; a pending one is ``{Input, InputDetails, Status}``.
``COMPACT``
    Successful children are recorded as their parsed output only.
``FLATTEN``
    As COMPACT, but an output that is an array contributes its elements, one record each.

Failed and pending children are always NONE records. ``OutputType: JSON`` makes each file one JSON
array; ``JSONL`` one record per line.

Memory stays bounded: each record is encoded and appended to a temporary file (one per category, in
``tmp_dir``) as soon as :meth:`ResultWriter.write` receives it. A file that would pass
``max_file_bytes`` (AWS: 5 GB) is finished and uploaded, and the next record starts ``<CATEGORY>_<n+1>``.
Finishing a file never copies it: its MD5 (the object's ETag) is computed as records are appended, and the
store's ``move_file`` takes the file as it is (on the local store a rename within its file system), so
the Map Run's coordinator does not stall on a multi-gigabyte copy.
:meth:`ResultWriter.close` uploads the open files and writes ``manifest.json``:
``{"DestinationBucket", "MapRunArn", "ResultFiles": {"FAILED": [...], "PENDING": [...],
"SUCCEEDED": [{"Key", "Size"}, ...]}}``.

Errors: a store failure (also a store still unreachable after its retries) is
``StatesError("States.ResultWriterFailed", cause)``; a failure of the local temporary directory is an
``EngineError`` and passes through. A failed upload loses nothing: the file stays in ``tmp_dir``, open,
and :meth:`ResultWriter.state` (``closed: false``) lets the Map Run's redrive restore the writer and finish
this export in its folder. State: the open temporary files and the finished files' keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Literal

from stepmap.errors import EngineError, StatesError, StepmapError, StoreUnavailable
from stepmap.interpreter.distributed.records import ChildResult
from stepmap.interpreter.ports import ObjectStorePort

__all__ = ["DEFAULT_MAX_FILE_BYTES", "RecordFormat", "ResultWriter", "join_records", "render_records"]

DEFAULT_MAX_FILE_BYTES = 5 * 1024**3  # AWS: each result file is at most 5 GB
FAILED = "States.ResultWriterFailed"
SUCCEEDED_REASON = "Execution is SUCCEEDED and cannot be redriven"

Category = Literal["SUCCEEDED", "FAILED", "PENDING"]
CATEGORIES: tuple[Category, ...] = ("FAILED", "PENDING", "SUCCEEDED")  # manifest order (alphabetical)
_CATEGORY: dict[str, Category] = {
    "SUCCEEDED": "SUCCEEDED",
    "FAILED": "FAILED",
    "TIMED_OUT": "FAILED",
    "ABORTED": "FAILED",
    "PENDING": "PENDING",
}
_OUTPUT_TYPES = ("JSON", "JSONL")
_INCLUDED = '{"Included":true}'
_SUCCEEDED_REDRIVE = f'"RedriveStatus":"NOT_REDRIVABLE","RedriveStatusReason":"{SUCCEEDED_REASON}"'
_quote: Callable[[str], str] = json.encoder.encode_basestring
_TRANSFORMATIONS = ("NONE", "COMPACT", "FLATTEN")


def aws_date(moment: datetime) -> str:
    """A timestamp as AWS writes it in result records: UTC, milliseconds, ``Z`` (naive means UTC)."""
    if moment.tzinfo is UTC:  # what the clocks give: the common case, first
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    if moment.tzinfo is None:
        return moment.isoformat(timespec="milliseconds") + "Z"
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # drop "+00:00"


class _ResultFiles:
    """One category's files: the temporary file being filled, and the keys of the finished ones."""

    def __init__(self, writer: ResultWriter, category: Category) -> None:
        self.writer = writer
        self.category = category
        self.finished: list[dict[str, Any]] = []
        self.handle: IO[bytes] | None = None
        self.path: str | None = None
        self.size = 0
        self.count = 0
        self.digest = hashlib.md5(usedforsecurity=False)  # of the bytes in the file so far: its ETag

    def add(self, record: bytes) -> None:
        self.add_blob(record, 1)

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs to reopen this category's files exactly where they are now."""
        if self.handle is not None:
            self.handle.flush()
        return {"path": self.path, "size": self.size, "count": self.count, "finished": self.finished}

    def restore(self, state: dict[str, Any]) -> None:
        """Reopen the temporary file of a checkpoint, cut back to the checkpointed size."""
        self.finished = list(state["finished"])
        self.path, self.size, self.count = state["path"], state["size"], state["count"]
        if self.path is None:
            return
        try:
            handle = open(self.path, "r+b")  # noqa: SIM115 - kept open until finish()
            actual = os.fstat(handle.fileno()).st_size
            if actual < self.size:
                handle.close()
                raise EngineError(
                    f"ResultWriter file {self.path} holds {actual} bytes, fewer than the {self.size} its "
                    "checkpoint recorded (lost in a power failure?)"
                )
            handle.truncate(self.size)
            self.digest = _digest_of(handle, self.size)
            self.handle = handle
        except OSError as exc:
            raise EngineError(f"ResultWriter cannot reopen {self.path}: {exc}") from exc

    def add_blob(self, blob: bytes, count: int) -> None:
        """Append ``count`` records already joined by the file's separator (see :func:`join_records`)."""
        writer = self.writer
        jsonl = writer.output_type == "JSONL"
        # bytes the blob adds: a separator before it (JSON), a newline after it (JSONL), and the
        # closing bracket the file still needs (JSON)
        extra = 1 if jsonl else (1 if self.count else 0) + 1
        if self.count and self.size + len(blob) + extra > writer.max_file_bytes:
            self.finish()
        if self.handle is None:
            self._start()
        assert self.handle is not None
        digest = self.digest
        try:
            if not jsonl and self.count:
                self.handle.write(b",")
                digest.update(b",")
                self.size += 1
            self.handle.write(blob)
            digest.update(blob)
            self.size += len(blob)
            if jsonl:
                self.handle.write(b"\n")
                digest.update(b"\n")
                self.size += 1
        except OSError as exc:
            raise EngineError(f"ResultWriter could not write its temporary file {self.path}: {exc}") from exc
        self.count += count

    def _start(self) -> None:
        try:
            fd, self.path = tempfile.mkstemp(
                prefix=f"stepmap-{self.category.lower()}-", suffix=".json", dir=self.writer.tmp_dir
            )
            self.handle = os.fdopen(fd, "wb")
            self.size = 0
            self.digest = hashlib.md5(usedforsecurity=False)
            if self.writer.output_type == "JSON":
                self.handle.write(b"[")
                self.digest.update(b"[")
                self.size = 1
        except OSError as exc:
            raise EngineError(f"ResultWriter could not create a temporary file: {exc}") from exc
        self.count = 0

    def finish(self) -> None:
        """Close the current file and hand it to the store as ``<CATEGORY>_<n>.json`` (moved, not copied:
        the store takes the temporary file)."""
        if self.handle is None or self.path is None:
            return
        try:
            if self.writer.output_type == "JSON":
                self.handle.write(b"]")
                self.digest.update(b"]")
                self.size += 1
            self.handle.close()
        except OSError as exc:
            raise EngineError(f"ResultWriter could not write its temporary file {self.path}: {exc}") from exc
        key = f"{self.writer.folder}/{self.category}_{len(self.finished)}.json"
        path, self.handle, self.path = self.path, None, None
        try:
            self.writer.upload(key, path, self.digest.hexdigest())
        except BaseException:
            self._reopen(path)  # nothing is lost: a later close() (a redrive) uploads it again
            raise
        _unlink(path)  # a store that copied it leaves it behind
        self.finished.append({"Key": key, "Size": self.size})
        self.count = 0

    def _reopen(self, path: str) -> None:
        """Undo :meth:`finish` after a failed upload: the file is open again, without its closing bracket."""
        if self.writer.output_type == "JSON":
            self.size -= 1
        try:
            handle = open(path, "r+b")  # noqa: SIM115 - kept open until finish()
            handle.truncate(self.size)
            self.digest = _digest_of(handle, self.size)
        except OSError as exc:
            raise EngineError(f"ResultWriter cannot reopen {path}: {exc}") from exc
        self.handle, self.path = handle, path

    def discard(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass
        if self.path is not None:
            _unlink(self.path)
        self.handle, self.path, self.count = None, None, 0


class ResultWriter:
    """Exports a Map Run's child results (see the module docstring for the layout and record shapes).

    Call :meth:`write` once per child in item order, then :meth:`close` (or :meth:`abort` to drop
    everything not uploaded yet).
    """

    def __init__(
        self,
        store: ObjectStorePort,
        *,
        bucket: str,
        prefix: str,
        map_run_arn: str,
        map_run_id: str,
        output_type: str = "JSON",
        transformation: str = "NONE",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        tmp_dir: str | None = None,
        redrive_count: int = 0,
    ) -> None:
        if output_type not in _OUTPUT_TYPES:
            raise StatesError(FAILED, f"WriterConfig.OutputType must be JSON or JSONL, got {output_type!r}")
        if transformation not in _TRANSFORMATIONS:
            allowed = ", ".join(_TRANSFORMATIONS)
            raise StatesError(
                FAILED, f"WriterConfig.Transformation must be one of {allowed}, got {transformation!r}"
            )
        if max_file_bytes < 1:
            raise ValueError(f"max_file_bytes must be positive, got {max_file_bytes}")
        self.store = store
        self.bucket = bucket
        self.map_run_arn = map_run_arn
        self.output_type = output_type
        self.transformation = transformation
        self.max_file_bytes = max_file_bytes
        self.tmp_dir = tmp_dir
        self.redrive_count = redrive_count
        self.format = RecordFormat(transformation, output_type, redrive_count)
        prefix = prefix.rstrip("/")
        folder = f"{prefix}/{map_run_id}" if prefix else map_run_id
        self.folder = f"{folder}/Redrive-{redrive_count}" if redrive_count > 0 else folder
        self.manifest_key = f"{self.folder}/manifest.json"
        self.records_written = 0  # records, after FLATTEN; what the files hold
        self.results_written = 0  # children recorded (the Map Run's resultsWritten counter)
        self._files = {category: _ResultFiles(self, category) for category in CATEGORIES}
        self._details: dict[str, str] | None = None
        self._open = True

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- records ------------------------------------------------------------------------------------
    def write(self, result: ChildResult) -> None:
        """Record one child's result (children arrive in item order)."""
        if not self._open:
            raise RuntimeError("ResultWriter.write() after close() or abort()")
        if result.status not in _CATEGORY:
            raise ValueError(f"unknown child status {result.status!r}") from None
        self.write_records(result.status, render_records(result, self.format))

    def state(self) -> dict[str, Any]:
        """The writer's position, for a Map Run checkpoint (files flushed first)."""
        return {
            "files": {category: files.state() for category, files in self._files.items()},
            "records_written": self.records_written,
            "results_written": self.results_written,
            "folder": self.folder,
            "closed": self._details is not None,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Go on from a checkpoint's :meth:`state`: records after it are written again, exactly once."""
        for category, files in self._files.items():
            files.restore(state["files"][category])
        self.records_written = state["records_written"]
        self.results_written = state["results_written"]
        if "folder" in state:  # a redrive that completes an export its first attempt could not finish
            self.folder = state["folder"]
            self.manifest_key = f"{self.folder}/manifest.json"

    def write_blob(self, status: str, blob: bytes, records: int, results: int) -> None:
        """Record ``results`` children whose ``records`` a worker rendered and joined into one blob."""
        if not self._open:
            raise RuntimeError("ResultWriter.write_blob() after close() or abort()")
        if records:
            self._files[_CATEGORY[status]].add_blob(blob, records)
        self.records_written += records
        self.results_written += results

    def write_records(self, status: str, records: Sequence[bytes]) -> None:
        """Record one child's result whose records a worker already rendered (see :func:`render_records`)."""
        if not self._open:
            raise RuntimeError("ResultWriter.write_records() after close() or abort()")
        files = self._files[_CATEGORY[status]]
        for record in records:
            files.add(record)
        self.records_written += len(records)
        self.results_written += 1

    # -- files --------------------------------------------------------------------------------------
    def upload(self, key: str, path: str, md5: str | None = None) -> None:
        """Hand one finished result file to the store, which takes it (``md5``: of its contents)."""
        with self._store_errors(key):
            self.store.move_file(self.bucket, key, path, md5)

    @contextmanager
    def _store_errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except StoreUnavailable as exc:  # retries ran out: the workflow sees ResultWriterFailed
            cause = f"ResultWriter could not write {key!r} to bucket {self.bucket!r}: {exc}"
            raise StatesError(FAILED, cause) from exc
        except (StatesError, EngineError):
            raise
        except StepmapError as exc:
            cause = f"ResultWriter could not write {key!r} to bucket {self.bucket!r}: {exc}"
            raise StatesError(FAILED, cause) from exc

    def close(self) -> dict[str, str]:
        """Upload the open files and ``manifest.json``; return ``{"Bucket", "Key"}`` of the manifest."""
        if self._details is not None:
            return dict(self._details)
        if not self._open:
            raise RuntimeError("ResultWriter.close() after abort()")
        # A failure leaves every record not uploaded in its temporary file (see _ResultFiles.finish), so
        # that the checkpointed state() lets a redrive finish this export: nothing is lost.
        for files in self._files.values():
            files.finish()
        manifest = {
            "DestinationBucket": self.bucket,
            "MapRunArn": self.map_run_arn,
            "ResultFiles": {category: self._files[category].finished for category in CATEGORIES},
        }
        with self._store_errors(self.manifest_key):
            self.store.put(self.bucket, self.manifest_key, _encode(manifest))
        self._open = False
        self._details = {"Bucket": self.bucket, "Key": self.manifest_key}
        return dict(self._details)

    def abort(self) -> None:
        """Drop the temporary files; nothing more is uploaded. Safe to call more than once."""
        self._open = False
        for files in self._files.values():
            files.discard()


@dataclass(frozen=True)
class RecordFormat:
    """How child results become records; small and picklable, so workers can render records."""

    transformation: str = "NONE"
    output_type: str = "JSON"
    redrive_count: int = 0


def join_records(records: Sequence[bytes], fmt: RecordFormat) -> bytes:
    """Records joined as they sit in a result file: ``,`` between JSON records, newlines for JSONL."""
    return (b"\n" if fmt.output_type == "JSONL" else b",").join(records)


def render_records(result: ChildResult, fmt: RecordFormat) -> list[bytes]:
    """The records one child contributes to the result files (usually one; FLATTEN may give more).

    Runs in workers, in parallel, so the coordinator only appends bytes."""
    category = _CATEGORY[result.status]
    if category != "SUCCEEDED" or fmt.transformation == "NONE":
        return [_utf8(_execution_record(result, category, fmt.redrive_count))]
    text = result.output_json if result.output_json is not None else "null"
    if fmt.transformation == "FLATTEN" and text.lstrip().startswith("["):
        return [_encode(element) for element in json.loads(text)]
    if fmt.output_type == "JSONL" and ("\n" in text or "\r" in text):
        return [_encode(json.loads(text))]  # a JSON Lines record must stay on one line
    return [_utf8(text)]


def _execution_record(result: ChildResult, category: Category, redrive_count: int) -> str:
    """AWS's record as JSON text, keys in alphabetical order.

    Assembled from pre-encoded pieces rather than a dict and ``json.dumps``: this runs once per child
    and was the writer's main cost.
    """
    if category == "PENDING":
        return f'{{"Input":{_quote(result.input_json)},"InputDetails":{_INCLUDED},"Status":"PENDING"}}'
    parts = []
    if category == "FAILED":
        if result.cause is not None:
            parts.append(f'"Cause":{_quote(result.cause)}')
        if result.error is not None:
            parts.append(f'"Error":{_quote(result.error)}')
    parts.append(f'"ExecutionArn":{_quote(result.execution_arn)}')
    parts.append(f'"Input":{_quote(result.input_json)},"InputDetails":{_INCLUDED}')
    parts.append(f'"Name":{_quote(result.name)}')
    if category == "SUCCEEDED":
        output = result.output_json if result.output_json is not None else "null"
        parts.append(f'"Output":{_quote(output)},"OutputDetails":{_INCLUDED}')
        parts.append(f'"RedriveCount":{redrive_count},{_SUCCEEDED_REDRIVE}')
    else:
        parts.append(f'"RedriveCount":{redrive_count},"RedriveStatus":"REDRIVABLE"')
    if result.start_date is not None:
        parts.append(f'"StartDate":"{aws_date(result.start_date)}"')
    parts.append(f'"StateMachineArn":{_quote(result.state_machine_arn)}')
    parts.append(f'"Status":{_quote(result.status)}')
    if result.stop_date is not None:
        parts.append(f'"StopDate":"{aws_date(result.stop_date)}"')
    return "{" + ",".join(parts) + "}"


def _encode(value: Any) -> bytes:
    return _utf8(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # a lone surrogate has no UTF-8 form; its \\u escape is still valid JSON (and keeps key order)
        return json.dumps(json.loads(text), separators=(",", ":")).encode("ascii")


def _digest_of(handle: IO[bytes], size: int) -> Any:
    """The MD5 of the first ``size`` bytes of ``handle``, left positioned at ``size`` (to append)."""
    digest = hashlib.md5(usedforsecurity=False)
    handle.seek(0)
    remaining = size
    while remaining > 0 and (chunk := handle.read(min(remaining, 1 << 20))):
        digest.update(chunk)
        remaining -= len(chunk)
    handle.seek(size)
    return digest


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
