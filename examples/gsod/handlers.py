"""Lambda-style handlers of the GSOD workflow: the monthly maximum of daily mean temperature.

``find_monthly_max`` runs in each child of the Distributed Map: it reads the batch's station-year CSVs
from the object store and returns, for every ``YYYY-MM`` it saw, the station-day with the highest mean
TEMP. ``reduce_results`` runs once after the map: it reads the ResultWriter's ``manifest.json`` and
``SUCCEEDED_n.json`` files, merges the children's answers and writes one row per month to the results
table.

One rule decides every comparison, in the handlers and in the reference implementation alike
(:func:`winner_key`): the highest TEMP wins, then the lowest STATION, then the earliest DATE. Days whose
TEMP is the missing marker ``9999.9`` never win. Each handler is a thin shell around a pure function
that takes the store's ``get`` (and the table's ``put_item``) as arguments, so tests need no store.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

__all__ = [
    "GSOD_KEY",
    "RESULTS_TABLE",
    "Winner",
    "find_monthly_max",
    "merge_monthly",
    "monthly_max_for_batch",
    "monthly_max_from_csv",
    "reduce_result_files",
    "reduce_results",
    "winner_key",
]

# Keys of station-year files; anything else in the bucket (result files, an index page) is skipped.
GSOD_KEY = re.compile(r"^(?:.*/)?\d{4}/[0-9A-Z]{11}\.csv$")
RESULTS_TABLE = "gsod_monthly_max"
MISSING_TEMP = "9999.9"

_STATION, _DATE, _NAME, _TEMP = 0, 1, 5, 6
_FIELDS = 28


class Winner(TypedDict):
    """The station-day holding a month's highest mean temperature."""

    station: str
    date: str
    temp: float
    name: str


Monthly = dict[str, Winner]  # "YYYY-MM" -> winner


def winner_key(w: Winner) -> tuple[float, str, str]:
    """Sort key under which the best candidate is the smallest: highest TEMP, lowest STATION,
    earliest DATE."""
    return (-w["temp"], w["station"], w["date"])


def merge_monthly(partials: Iterable[Mapping[str, Winner]]) -> Monthly:
    """Merge per-month winners from many sources; the result's months are sorted."""
    best: Monthly = {}
    for partial in partials:
        for month, cand in partial.items():
            cur = best.get(month)
            if cur is None or winner_key(cand) < winner_key(cur):
                best[month] = cand
    return {m: best[m] for m in sorted(best)}


def monthly_max_from_csv(data: bytes) -> Monthly:
    """Per-month winners of one GSOD CSV (any number of stations; rows in any order).

    Raises ``ValueError`` naming the line when a row does not have NOAA's 28 columns or a TEMP is not a
    number.
    """
    text = data.decode("utf-8")
    if '""' in text or not text.startswith('"'):
        # An escaped quote inside a field, or a writer that does not quote everything: let csv parse it.
        rows: Iterable[list[str]] = csv.reader(io.StringIO(text))
    else:
        # NOAA quotes every field and no field contains '","', so splitting on it is exact (and fast).
        rows = (line[1:-1].split('","') for line in text.splitlines() if line)
    best: Monthly = {}
    for lineno, fields in enumerate(rows, start=1):
        if lineno == 1:
            if fields[:2] != ["STATION", "DATE"] or len(fields) != _FIELDS:
                raise ValueError(f"line 1: not a GSOD header (got {fields[:3]}...)")
            continue
        if len(fields) != _FIELDS:
            raise ValueError(f"line {lineno}: expected {_FIELDS} columns, got {len(fields)}")
        temp_s = fields[_TEMP].strip()
        if temp_s == MISSING_TEMP:
            continue
        try:
            temp = float(temp_s)
        except ValueError:
            raise ValueError(f"line {lineno}: TEMP {fields[_TEMP]!r} is not a number") from None
        cand: Winner = {
            "station": fields[_STATION],
            "date": fields[_DATE],
            "temp": temp,
            "name": fields[_NAME],
        }
        month = cand["date"][:7]
        cur = best.get(month)
        if cur is None or winner_key(cand) < winner_key(cur):
            best[month] = cand
    return {m: best[m] for m in sorted(best)}


def monthly_max_for_batch(event: Mapping[str, Any], get: Callable[[str, str], bytes]) -> Monthly:
    """The map child's work: ``event`` is ``{"BatchInput": {"Bucket": b}, "Items": [{"Key": k}, ...]}``
    (an ItemBatcher batch of listObjectsV2 items); ``get(bucket, key)`` reads an object."""
    bucket = event["BatchInput"]["Bucket"]
    partials = []
    for item in event["Items"]:
        key = item["Key"]
        if not GSOD_KEY.match(key):
            continue
        try:
            partials.append(monthly_max_from_csv(get(bucket, key)))
        except ValueError as exc:
            raise ValueError(f"s3://{bucket}/{key}: {exc}") from exc
    return merge_monthly(partials)


def _records(data: bytes) -> list[dict[str, Any]]:
    """Records of one result file: a JSON array (WriterConfig JSON, the default) or JSON lines."""
    text = data.decode("utf-8").strip()
    if not text:
        return []
    if text.startswith("["):
        records = json.loads(text)
        if not isinstance(records, list):
            raise ValueError("result file is not a JSON array")
        return records
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def reduce_result_files(
    event: Mapping[str, Any],
    get: Callable[[str, str], bytes],
    put_item: Callable[[dict[str, Any]], object] | None = None,
) -> list[dict[str, Any]]:
    """The reducer's work: ``event`` is the Distributed Map's output with a ResultWriter,
    ``{"MapRunArn": ..., "ResultWriterDetails": {"Bucket": b, "Key": ".../manifest.json"}}``.

    Reads the manifest and every SUCCEEDED file, merges the children's outputs (each record's ``Output``
    is the child output as a JSON *string*), calls ``put_item`` once per month and returns the rows
    ``[{"month": "YYYY-MM", "station", "date", "temp", "name"}, ...]`` sorted by month.
    """
    details = event["ResultWriterDetails"]
    manifest = json.loads(get(details["Bucket"], details["Key"]))
    bucket = manifest.get("DestinationBucket") or details["Bucket"]
    partials: list[Mapping[str, Winner]] = []
    for entry in manifest.get("ResultFiles", {}).get("SUCCEEDED", []):
        for record in _records(get(bucket, entry["Key"])):
            output = record.get("Output")
            if output is None:
                continue
            partials.append(json.loads(output) if isinstance(output, str) else output)
    rows = [{"month": month, **winner} for month, winner in merge_monthly(partials).items()]
    if put_item is not None:
        for row in rows:
            put_item(row)
    return rows


def find_monthly_max(event: dict[str, Any], context: object) -> Monthly:
    """Lambda handler of the map children (``FunctionName: find_monthly_max``)."""
    # Imported here, in the worker, so that the pure functions above need no configured store.
    from stepmap.storage.handles import objects

    return monthly_max_for_batch(event, objects().get)


def reduce_results(event: dict[str, Any], context: object) -> list[dict[str, Any]]:
    """Lambda handler of the reducer Task (``FunctionName: reduce_results``)."""
    from stepmap.storage.handles import objects, table

    results = table(RESULTS_TABLE, partition_key="month")
    return reduce_result_files(event, objects().get, results.put_item)
