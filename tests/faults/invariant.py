"""The invariant every fault test checks, stated once: each item of a Map Run is in its results exactly
once, and a run that reports SUCCEEDED has all of them.

"Results" are, with a ResultWriter, the SUCCEEDED records of every export the Map Run made (its first
attempt's folder and each ``Redrive-<n>/`` folder, read through their manifests); without one, the
Map state's output array, which must also be in item order.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from stepmap.storage import LocalObjectStore


def _records(text: str, jsonl: bool | None) -> list[Any]:
    if jsonl is None:
        jsonl = not text.lstrip().startswith("[") or len(text.strip().splitlines()) > 1
    if jsonl:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    records: list[Any] = json.loads(text)
    return records


def exported_ids(
    store: LocalObjectStore, bucket: str, prefix: str = "out", jsonl: bool | None = None
) -> list[int]:
    """The ``id`` of every SUCCEEDED record in every manifest under ``prefix`` (all attempts)."""
    ids: list[int] = []
    for info in store.list(bucket, prefix + "/"):
        if not info.key.endswith("/manifest.json"):
            continue
        manifest = json.loads(store.get(bucket, info.key))
        for entry in manifest["ResultFiles"]["SUCCEEDED"]:
            records = _records(store.get(bucket, entry["Key"]).decode(), jsonl)
            for record in records:
                ids.extend(record_ids(record))
    return ids


def failed_ids(
    store: LocalObjectStore, bucket: str, prefix: str = "out", jsonl: bool | None = None
) -> set[int]:
    """The ``id`` of every item in a FAILED record (NONE records: their Input names the items)."""
    ids: set[int] = set()
    for info in store.list(bucket, prefix + "/"):
        if not info.key.endswith("/manifest.json"):
            continue
        manifest = json.loads(store.get(bucket, info.key))
        for entry in manifest["ResultFiles"]["FAILED"]:
            records = _records(store.get(bucket, entry["Key"]).decode(), jsonl)
            for record in records:
                ids.update(record_ids(json.loads(record["Input"])))
    return ids


def record_ids(record: Any) -> list[int]:
    """The item ids one result holds: a child's output ``{"id"}``, a batch's list of them, a NONE record
    (its Output), or a batch input ``{"Items": [...]}``."""
    if isinstance(record, dict) and "Output" in record:  # a NONE record
        record = json.loads(record["Output"])
    if isinstance(record, dict) and "Items" in record:
        record = record["Items"]
    if isinstance(record, list):
        return [int(r["id"]) for r in record]
    return [int(record["id"])]


def check(
    ids: list[int],
    n: int,
    status: str,
    *,
    ordered: bool = False,
    tolerated: set[int] = frozenset(),  # type: ignore[assignment]
    where: str = "",
) -> None:
    """Raise AssertionError unless each of the ``n`` items is in ``ids`` at most once, and all of them
    once when ``status`` is SUCCEEDED (in item order too when ``ordered``), but for the ``tolerated``
    failures of a Map Run that succeeded with them."""
    twice = sorted(i for i, c in Counter(ids).items() if c > 1)
    assert not twice, f"{where}items in the results more than once: {twice[:20]} ({len(twice)} in all)"
    unknown = sorted(set(ids) - set(range(n)))
    assert not unknown, f"{where}results of items that do not exist: {unknown[:20]}"
    if status == "SUCCEEDED":
        expected = [i for i in range(n) if i not in tolerated]
        missing = sorted(set(expected) - set(ids))
        assert not missing, f"{where}SUCCEEDED without {len(missing)} items: {missing[:20]}"
        wrong = sorted(set(ids) & set(tolerated))
        assert not wrong, f"{where}items that failed are among the successes: {wrong[:20]}"
        if ordered:
            assert ids == expected, f"{where}results out of item order"
