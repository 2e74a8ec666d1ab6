"""The Distributed Map ``ItemReader``: items streamed out of an object store, in order, in bounded memory.

:func:`read_items` turns an evaluated ``ItemReader`` (a :class:`ReaderSpec`) into a lazy iterator of
``(item, source)`` pairs, where ``source`` is the value of ``$$.Map.Item.Source``. Nothing here ever holds
all the items: listings are consumed page by page, CSV and JSONL objects are read through
``store.open()`` line by line, Parquet row group by row group (through ranged GETs), S3 inventory and
Athena manifests data file by data file. Only ``InputType: JSON`` parses one whole document, as AWS does.

What each reader yields (AWS's shapes; see ``../shared/reference/step-functions.md`` section 2.3):

``arn:aws:states:::s3:listObjectsV2`` (``Bucket``, ``Prefix``)
    One ``{"Etag", "Key", "LastModified" (epoch seconds), "Size", "StorageClass"}`` per object, source
    ``S3://<bucket>``. With ``ReaderConfig.Transformation: LOAD_AND_FLATTEN`` (and an ``InputType``) the
    *contents* of every listed object instead, concatenated in key order, source ``S3://<bucket>/<key>``;
    keys ending in ``/`` (console "folders") are skipped.
``arn:aws:states:::s3:getObject`` (``Bucket``, ``Key``), source ``S3://<bucket>/<key>``
    ``CSV``: one object of **strings** per row (no typing, whitespace kept); headers from the first row
    (``CSVHeaderLocation: FIRST_ROW``, the default) or ``CSVHeaders`` (``GIVEN``); ``CSVDelimiter`` COMMA,
    PIPE, SEMICOLON, SPACE or TAB; RFC 4180 quoting. Columns past the headers are dropped; missing trailing
    columns read as ``""``; empty lines are skipped; duplicate headers and headers over 10 KiB fail.
    ``JSON``: the elements of the top-level array, or of the array at ``ItemsPointer`` (RFC 6901); an
    object yields one ``{"Key", "Value"}`` per member (as AWS was observed to do); anything else fails
    with "Attempting to map over non-iterable node.".
    ``JSONL``: one item per non-blank line.
    ``PARQUET``: one JSON object per row (timestamps as epoch milliseconds, dates as ``YYYY-MM-DD``,
    decimals as numbers, binary as UTF-8 text or base64); needs ``pip install stepmap[parquet]``.
    ``MANIFEST`` (or ``ManifestType: S3_INVENTORY``): an S3 Inventory ``manifest.json``; every CSV data
    file it lists (gzip or not) yields one object of strings per row, keyed by the manifest's
    ``fileSchema`` (``{"Bucket", "Key", "Size", "LastModifiedDate"}`` for the usual schema).
    ``ManifestType: ATHENA_DATA``: an Athena UNLOAD manifest (one ``s3://bucket/key`` per line); every
    object it lists is read with ``InputType`` (CSV, JSONL or PARQUET).
    ``TEXT_BLOCKS`` (a stepmap extension, with ``ReaderConfig.BlockSizeBytes``): one
    ``{"Bucket", "Key", "Index", "Start", "End", "Size"}`` per nominal byte block of the object, from
    :func:`stepmap.blocks.plan_blocks`; a handler reads its block with :func:`stepmap.blocks.read_block`,
    which moves the edges to word (or line) boundaries. ``Size`` is the whole object's size.

Objects whose first bytes are the gzip magic number are decompressed on the fly (CSV, JSON, JSONL,
manifests). ``ReaderConfig.MaxItems`` stops the stream after that many items.

Errors: every problem with the data or the store (missing bucket or object, invalid UTF-8, malformed
CSV/JSON, duplicate headers, ...) is ``StatesError("States.ItemReaderFailed", cause)`` with a cause that
names the object and what is wrong; so does a store still unreachable after its retries. Any other
``EngineError`` passes through unchanged: it is stepmap failing, not the workflow. This module keeps no
state.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import gzip
import io
import json
import math
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, BinaryIO

from stepmap.asl import jsontext
from stepmap.errors import EngineError, StatesError, StepmapError, StoreUnavailable
from stepmap.interpreter.ports import ObjectStorePort

__all__ = ["GET_OBJECT", "LIST_OBJECTS", "MAX_ITEMS_LIMIT", "JsonText", "ReaderSpec", "read_items"]

LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
GET_OBJECT = "arn:aws:states:::s3:getObject"
MAX_ITEMS_LIMIT = 100_000_000  # AWS's ceiling on ReaderConfig.MaxItems
MAX_CSV_HEADER_BYTES = 10 * 1024  # "Currently, Step Functions supports CSV headers of up to 10 KiB."
FAILED = "States.ItemReaderFailed"
NON_ITERABLE = "Attempting to map over non-iterable node."

_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
_FILE_TYPES = ("CSV", "JSON", "JSONL", "PARQUET")
_INPUT_TYPES = (*_FILE_TYPES, "MANIFEST", "TEXT_BLOCKS")
_ATHENA_TYPES = ("CSV", "JSONL", "PARQUET")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ_BUFFER = 64 * 1024
_PARQUET_BATCH_ROWS = 4096

Item = tuple[Any, str]


@dataclass(frozen=True)
class ReaderSpec:
    """An ``ItemReader`` after its ``Parameters``/``Arguments`` and ``MaxItemsPath`` were evaluated."""

    resource: str  # LIST_OBJECTS or GET_OBJECT
    parameters: Mapping[str, Any]  # Bucket, Key (getObject), Prefix (listObjectsV2), VersionId, ...
    reader_config: Mapping[str, Any]  # InputType, CSVHeaderLocation, CSVHeaders, CSVDelimiter, ...
    # JSONL lines may be passed on as JsonText without parsing (the scheduler sets this when nothing reads
    # the parsed item: no ItemSelector); a line that is not JSON then fails where it is parsed, in a worker.
    raw_json: bool = False


class JsonText(str):
    """An item that is still JSON text (see ``ReaderSpec.raw_json``)."""

    __slots__ = ()


@dataclass(frozen=True)
class _Plan:
    """A validated :class:`ReaderSpec`: what to read and how."""

    resource: str
    bucket: str
    key: str
    prefix: str
    input_type: str | None
    manifest_type: str | None
    flatten: bool
    header_location: str
    headers: tuple[str, ...] | None
    delimiter: str
    items_pointer: str | None
    max_items: int | None
    block_size: int | None
    raw_json: bool = False


def read_items(store: ObjectStorePort, spec: ReaderSpec) -> Generator[Item, None, None]:
    """Yield ``(item, source)`` for every item the reader describes, lazily and in order.

    The spec is checked now (a bad ``MaxItems``, a missing ``Bucket``... raise ``StatesError`` from
    this call); problems with the data surface while iterating. Closing the generator early closes the
    object being read.
    """
    plan = _plan(spec)
    return _guarded(_items(store, plan), plan)


# -- the spec ---------------------------------------------------------------------------------------


def _fail(cause: str) -> StatesError:
    return StatesError(FAILED, cause)


def _plan(spec: ReaderSpec) -> _Plan:
    params = spec.parameters if isinstance(spec.parameters, Mapping) else {}
    config = spec.reader_config if isinstance(spec.reader_config, Mapping) else {}
    if spec.resource not in (LIST_OBJECTS, GET_OBJECT):
        raise _fail(
            f"ItemReader Resource {spec.resource!r} is not supported; use {LIST_OBJECTS} or {GET_OBJECT}"
        )
    bucket = params.get("Bucket")
    if not isinstance(bucket, str) or not bucket:
        raise _fail("ItemReader Parameters need a non-empty string 'Bucket'")
    key = params.get("Key", "")
    prefix = params.get("Prefix", "")
    if spec.resource == GET_OBJECT and (not isinstance(key, str) or not key):
        raise _fail(f"ItemReader {GET_OBJECT} needs a non-empty string 'Key' in its Parameters")
    if not isinstance(prefix, str):
        raise _fail("ItemReader Parameters field 'Prefix' must be a string")

    input_type = _choice(config, "InputType", _INPUT_TYPES, None)
    manifest_type = _choice(config, "ManifestType", ("S3_INVENTORY", "ATHENA_DATA"), None)
    transformation = _choice(config, "Transformation", ("NONE", "LOAD_AND_FLATTEN"), "NONE")
    flatten = transformation == "LOAD_AND_FLATTEN"
    if spec.resource == LIST_OBJECTS:
        if flatten and input_type not in _FILE_TYPES:
            raise _fail(
                "Transformation LOAD_AND_FLATTEN needs ReaderConfig.InputType CSV, JSON, JSONL or PARQUET"
            )
        if manifest_type is not None:
            raise _fail(f"ReaderConfig.ManifestType works with {GET_OBJECT}, not {LIST_OBJECTS}")
    else:
        if flatten:
            raise _fail(f"Transformation LOAD_AND_FLATTEN works with {LIST_OBJECTS}, not {GET_OBJECT}")
        if manifest_type == "ATHENA_DATA" and input_type not in _ATHENA_TYPES:
            raise _fail("ManifestType ATHENA_DATA needs ReaderConfig.InputType CSV, JSONL or PARQUET")
        if manifest_type == "S3_INVENTORY" and input_type not in (None, "MANIFEST", "CSV"):
            raise _fail(
                f"ManifestType S3_INVENTORY reads CSV inventories; InputType {input_type} does not apply"
            )
        if input_type is None and manifest_type is None:
            raise _fail(
                f"ItemReader {GET_OBJECT} needs ReaderConfig.InputType (CSV, JSON, JSONL, PARQUET, MANIFEST)"
            )

    header_location = _choice(config, "CSVHeaderLocation", ("FIRST_ROW", "GIVEN"), "FIRST_ROW")
    headers = None
    if header_location == "GIVEN":
        given = config.get("CSVHeaders")
        if not isinstance(given, list) or not given or not all(isinstance(h, str) for h in given):
            raise _fail("CSVHeaderLocation GIVEN needs ReaderConfig.CSVHeaders, a non-empty array of strings")
        headers = tuple(given)
        _check_headers(headers, ",")
    delimiter = _DELIMITERS[_choice(config, "CSVDelimiter", tuple(_DELIMITERS), "COMMA")]
    if headers is not None and delimiter != ",":
        _check_headers(headers, delimiter)

    pointer = config.get("ItemsPointer")
    if pointer is not None:
        if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
            raise _fail(f"ItemsPointer must be a JSON Pointer such as '/data/items', got {pointer!r}")
        if input_type != "JSON":
            raise _fail("ItemsPointer applies only to InputType JSON")

    block_size = None
    if input_type == "TEXT_BLOCKS":
        if spec.resource != GET_OBJECT:
            raise _fail(f"InputType TEXT_BLOCKS works with {GET_OBJECT}")
        from stepmap.blocks import DEFAULT_BLOCK_SIZE

        block_size = _whole_number(config.get("BlockSizeBytes", DEFAULT_BLOCK_SIZE), "BlockSizeBytes")
        if block_size <= 0:
            raise _fail("field BlockSizeBytes must be positive")

    max_items = None
    if config.get("MaxItems") is not None:
        max_items = _whole_number(config["MaxItems"], "MaxItems")
        if max_items <= 0:
            raise _fail("field MaxItems must be positive")
        if max_items > MAX_ITEMS_LIMIT:
            raise _fail(f"field MaxItems must be at most {MAX_ITEMS_LIMIT}, got {max_items}")

    return _Plan(
        resource=spec.resource,
        bucket=bucket,
        key=key if isinstance(key, str) else "",
        prefix=prefix,
        input_type=input_type,
        manifest_type=manifest_type,
        flatten=flatten,
        header_location=header_location,
        headers=headers,
        delimiter=delimiter,
        items_pointer=pointer,
        max_items=max_items,
        block_size=block_size,
        raw_json=spec.raw_json,
    )


def _choice(config: Mapping[str, Any], field: str, allowed: tuple[str, ...], default: str | None) -> Any:
    value = config.get(field, default)
    if value is not None and value not in allowed:
        raise _fail(f"ReaderConfig.{field} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _whole_number(value: Any, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"field {field} must be an integer, got {value!r}")
    return value


def _check_headers(headers: tuple[str, ...] | list[str], delimiter: str) -> None:
    if len(set(headers)) < len(headers):
        raise _fail("CSV headers cannot contain duplicates.")
    size = len(delimiter.join(headers).encode("utf-8"))
    if size > MAX_CSV_HEADER_BYTES:
        raise _fail(f"CSV header is {size} bytes; Step Functions supports CSV headers of up to 10 KiB")


# -- dispatch ---------------------------------------------------------------------------------------


def _guarded(items: Iterator[Item], plan: _Plan) -> Generator[Item, None, None]:
    """Apply MaxItems and turn store errors into ``States.ItemReaderFailed``; close the source early."""
    limited = islice(items, plan.max_items) if plan.max_items is not None else items
    try:
        yield from limited
    except StoreUnavailable as exc:  # retries ran out: the workflow sees ItemReaderFailed, and may Catch it
        raise _fail(f"ItemReader could not read its items: {exc}") from exc
    except (StatesError, EngineError):
        raise
    except RecursionError:
        raise _fail("ItemReader could not read its items: the JSON is nested too deeply") from None
    except StepmapError as exc:
        raise _fail(f"ItemReader could not read its items: {exc}") from exc
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _items(store: ObjectStorePort, plan: _Plan) -> Iterator[Item]:
    if plan.resource == LIST_OBJECTS:
        if plan.flatten:
            yield from _load_and_flatten(store, plan)
        else:
            yield from _listing(store, plan)
    elif plan.manifest_type == "ATHENA_DATA":
        yield from _athena(store, plan)
    elif plan.manifest_type == "S3_INVENTORY" or plan.input_type == "MANIFEST":
        yield from _inventory(store, plan)
    elif plan.input_type == "TEXT_BLOCKS":
        yield from _text_blocks(store, plan)
    else:
        yield from _read_object(store, plan.bucket, plan.key, plan, plan.input_type or "JSON")


def _source(bucket: str, key: str | None = None) -> str:
    return f"S3://{bucket}" if key is None else f"S3://{bucket}/{key}"


def _listing(store: ObjectStorePort, plan: _Plan) -> Iterator[Item]:
    source = _source(plan.bucket)
    for info in store.list(plan.bucket, plan.prefix):
        item = {
            "Etag": info.etag,
            "Key": info.key,
            "LastModified": int(info.last_modified.timestamp()),
            "Size": info.size,
            "StorageClass": info.storage_class,
        }
        yield item, source


def _load_and_flatten(store: ObjectStorePort, plan: _Plan) -> Iterator[Item]:
    input_type = plan.input_type or "JSON"
    for info in store.list(plan.bucket, plan.prefix):
        if info.key.endswith("/"):
            continue  # a "folder" placeholder holds no data
        yield from _read_object(store, plan.bucket, info.key, plan, input_type)


def _read_object(
    store: ObjectStorePort, bucket: str, key: str, plan: _Plan, input_type: str
) -> Iterator[Item]:
    source = _source(bucket, key)
    reader = _FILE_READERS[input_type]
    for item in reader(store, bucket, key, plan):
        yield item, source


# -- streams ----------------------------------------------------------------------------------------


class _Replay(io.RawIOBase):
    """A raw stream that first replays ``head`` and then reads on from ``rest``: a peek that works on any
    object with ``read()`` (an S3 body has no ``peek``)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        n = len(data)
        view[:n] = data
        return n

    def close(self) -> None:
        try:
            self._rest.close()
        finally:
            super().close()


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _where(bucket: str, key: str) -> str:
    return f"object {key!r} in bucket {bucket!r}"


@contextmanager
def _binary(store: ObjectStorePort, bucket: str, key: str) -> Iterator[IO[bytes]]:
    """The object's bytes as a buffered stream, gunzipped when they start with the gzip magic number."""
    raw: BinaryIO = store.open(bucket, key)
    stream: Any = None
    try:
        head = _read_exactly(raw, 4)
        if head.startswith(_ZSTD_MAGIC):
            raise _fail(f"{_where(bucket, key)} is zstd-compressed; stepmap reads plain or gzip objects only")
        stream = io.BufferedReader(_Replay(head, raw), buffer_size=_READ_BUFFER)
        if head.startswith(_GZIP_MAGIC):
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        yield stream
    finally:
        if stream is not None:
            stream.close()
        raw.close()


@contextmanager
def _text(store: ObjectStorePort, bucket: str, key: str, newline: str | None = None) -> Iterator[IO[str]]:
    with _binary(store, bucket, key) as stream:
        # utf-8-sig: a byte-order mark must not become part of the first header or value.
        yield io.TextIOWrapper(stream, encoding="utf-8-sig", newline=newline)


@contextmanager
def _data_errors(bucket: str, key: str, what: str) -> Iterator[None]:
    """Turn a decoding or parsing failure inside one object into ``States.ItemReaderFailed``."""
    try:
        yield
    except UnicodeDecodeError as exc:
        bad = bytes(exc.object[exc.start : exc.end])
        raise _fail(f"{_where(bucket, key)} is not valid UTF-8 {what}: {exc.reason} {bad!r}") from None
    except csv.Error as exc:
        raise _fail(f"{_where(bucket, key)} is not valid CSV: {exc}") from None
    except (EOFError, gzip.BadGzipFile) as exc:
        raise _fail(f"{_where(bucket, key)} is a damaged gzip stream: {exc}") from None


# -- file formats -----------------------------------------------------------------------------------


def _csv_rows(store: ObjectStorePort, bucket: str, key: str, plan: _Plan) -> Iterator[dict[str, str]]:
    with _text(store, bucket, key, newline="") as text, _data_errors(bucket, key, "CSV"):
        rows = csv.reader(text, delimiter=plan.delimiter, strict=True)
        if plan.headers is not None:
            headers: list[str] | tuple[str, ...] = plan.headers
        else:
            first = next((row for row in rows if row), None)
            if first is None:
                return
            _check_headers(first, plan.delimiter)
            headers = first
        width = len(headers)
        for row in rows:
            if not row:
                continue  # an empty line is not a row
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            yield dict(zip(headers, row, strict=False))


def _json_items(store: ObjectStorePort, bucket: str, key: str, plan: _Plan) -> Iterator[Any]:
    with _binary(store, bucket, key) as stream, _data_errors(bucket, key, "JSON"):
        data = stream.read()
        text = data.decode("utf-8-sig")
    del data
    try:
        document = _strict_loads(text)
    except ValueError as exc:
        raise _fail(f"{_where(bucket, key)} is not valid JSON: {exc}") from None
    del text
    node = _resolve_pointer(document, plan.items_pointer or "", bucket, key)
    del document
    if isinstance(node, list):
        yield from node
    elif isinstance(node, dict):
        for name, value in node.items():
            yield {"Key": name, "Value": value}
    else:
        raise _fail(NON_ITERABLE)


def _resolve_pointer(document: Any, pointer: str, bucket: str, key: str) -> Any:
    """RFC 6901: ``/a/0/b``, with ``~1`` for ``/`` and ``~0`` for ``~`` inside a token."""
    if pointer == "":
        return document
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and (token == "0" or not token.startswith("0")):
            index = int(token)
            if index >= len(node):
                raise _fail(
                    f"ItemsPointer {pointer!r} points past the end of an array in {_where(bucket, key)}"
                )
            node = node[index]
        else:
            raise _fail(f"ItemsPointer {pointer!r} does not point to a node in {_where(bucket, key)}")
    return node


_strict_loads = jsontext.loads


def _jsonl_items(store: ObjectStorePort, bucket: str, key: str, plan: _Plan) -> Iterator[Any]:
    with _text(store, bucket, key) as text, _data_errors(bucket, key, "JSONL"):
        if plan.raw_json:
            for line in text:
                line = line.strip()
                if line:
                    yield JsonText(line)
            return
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                yield _strict_loads(line)
            except ValueError as exc:
                reason = getattr(exc, "msg", str(exc))
                raise _fail(f"{_where(bucket, key)} line {number} is not valid JSON: {reason}") from None


def _parquet_items(store: ObjectStorePort, bucket: str, key: str, plan: _Plan) -> Iterator[Any]:
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise _fail("InputType PARQUET needs pyarrow: pip install stepmap[parquet]") from None
    size = store.head(bucket, key).size
    with _RangeFile(store, bucket, key, size) as source:
        try:
            parquet = pq.ParquetFile(source)
            for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                for row in batch.to_pylist():
                    yield {name: _plain(value) for name, value in row.items()}
        except pyarrow.ArrowException as exc:
            raise _fail(f"{_where(bucket, key)} is not a readable Parquet file: {exc}") from None


class _RangeFile(io.RawIOBase):
    """A seekable read-only file over ranged GETs, so a Parquet reader fetches only the footer and the
    row groups it needs (S3 bodies cannot seek)."""

    def __init__(self, store: ObjectStorePort, bucket: str, key: str, size: int) -> None:
        super().__init__()
        self._store, self._bucket, self._key, self._size = store, bucket, key, size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._pos + len(view), self._size)
        if end <= self._pos:
            return 0
        data = self._store.get_range(self._bucket, self._key, self._pos, end)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def size(self) -> int:
        return self._size


def _plain(value: Any) -> Any:
    """A Parquet cell as a JSON value."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return round(value.timestamp() * 1000)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        # pyarrow gives a MAP column as a list of (key, value) pairs
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _plain(v) for k, v in value}
        return [_plain(v) for v in value]
    return value


_FILE_READERS: dict[str, Callable[[ObjectStorePort, str, str, _Plan], Iterator[Any]]] = {
    "CSV": _csv_rows,
    "JSON": _json_items,
    "JSONL": _jsonl_items,
    "PARQUET": _parquet_items,
}


# -- manifests and blocks ---------------------------------------------------------------------------


def _inventory(store: ObjectStorePort, plan: _Plan) -> Iterator[Item]:
    """An S3 Inventory report: manifest.json -> its CSV data files -> one item per listed object."""
    bucket, key = plan.bucket, plan.key
    with _binary(store, bucket, key) as stream, _data_errors(bucket, key, "JSON"):
        text = stream.read().decode("utf-8-sig")
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"S3 inventory manifest {_where(bucket, key)} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise _fail(f"S3 inventory manifest {_where(bucket, key)} is not a JSON object")
    file_format = manifest.get("fileFormat", "CSV")
    if file_format != "CSV":
        raise _fail(
            f"S3 inventory format {file_format!r} is not supported; Step Functions reads CSV inventories"
        )
    schema = manifest.get("fileSchema")
    files = manifest.get("files")
    if not isinstance(schema, str) or not isinstance(files, list):
        raise _fail(f"S3 inventory manifest {_where(bucket, key)} needs 'fileSchema' and 'files'")
    columns = [name.strip() for name in schema.split(",")]
    data_bucket = _bucket_from_arn(manifest.get("destinationBucket")) or bucket
    for entry in files:
        data_key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(data_key, str) or not data_key:
            raise _fail(f"S3 inventory manifest {_where(bucket, key)} lists a file without a 'key'")
        source = _source(data_bucket, data_key)
        with (
            _text(store, data_bucket, data_key, newline="") as lines,
            _data_errors(data_bucket, data_key, "CSV"),
        ):
            for row in csv.reader(lines, strict=True):
                if row:
                    yield dict(zip(columns, row, strict=False)), source


def _bucket_from_arn(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("arn:aws:s3:::"):
        return value[len("arn:aws:s3:::") :] or None
    return value if isinstance(value, str) and value else None


def _athena(store: ObjectStorePort, plan: _Plan) -> Iterator[Item]:
    """An Athena UNLOAD manifest: one ``s3://bucket/key`` per line, each object read with InputType."""
    input_type = plan.input_type or "CSV"
    with _text(store, plan.bucket, plan.key) as text, _data_errors(plan.bucket, plan.key, "text"):
        # The manifest is small (one line per data file); read it first so no stream stays open while
        # the data files are read.
        lines = [line.strip() for line in text if line.strip()]
    for number, uri in enumerate(lines, start=1):
        if not uri.lower().startswith("s3://") or "/" not in uri[5:]:
            raise _fail(
                f"Athena manifest {_where(plan.bucket, plan.key)} line {number} is not an s3://bucket/key URI"
            )
        data_bucket, data_key = uri[5:].split("/", 1)
        yield from _read_object(store, data_bucket, data_key, plan, input_type)


def _text_blocks(store: ObjectStorePort, plan: _Plan) -> Iterator[Item]:
    from stepmap.blocks import plan_blocks

    size = store.head(plan.bucket, plan.key).size
    source = _source(plan.bucket, plan.key)
    for block in plan_blocks(size, plan.block_size or 1):
        item = {
            "Bucket": plan.bucket,
            "Key": plan.key,
            "Index": block.index,
            "Start": block.start,
            "End": block.end,
            "Size": size,
        }
        yield item, source
