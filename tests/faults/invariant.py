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


def exported_ids(store: LocalObjectStore, bucket: str, prefix: str = "out") -> list[int]:
    """The ``id`` of every SUCCEEDED record in every manifest under ``prefix`` (all attempts)."""
    ids: list[int] = []
    for info in store.list(bucket, prefix + "/"):
        if not info.key.endswith("/manifest.json"):
            continue
        manifest = json.loads(store.get(bucket, info.key))
        for entry in manifest["ResultFiles"]["SUCCEEDED"]:
            text = store.get(bucket, entry["Key"]).decode()
            records = (
                json.loads(text)
                if text.lstrip().startswith("[")
                else [json.loads(line) for line in text.splitlines() if line.strip()]
            )
            ids.extend(_id(r) for r in records)
    return ids


def _id(record: Any) -> int:
    if isinstance(record, dict) and "Output" in record:  # a NONE record
        record = json.loads(record["Output"])
    return int(record["id"])


def check(ids: list[int], n: int, status: str, *, ordered: bool = False, where: str = "") -> None:
    """Raise AssertionError unless each of the ``n`` items is in ``ids`` at most once, and all of them
    once when ``status`` is SUCCEEDED (in item order too when ``ordered``)."""
    twice = sorted(i for i, c in Counter(ids).items() if c > 1)
    assert not twice, f"{where}items in the results more than once: {twice[:20]} ({len(twice)} in all)"
    unknown = sorted(set(ids) - set(range(n)))
    assert not unknown, f"{where}results of items that do not exist: {unknown[:20]}"
    if status == "SUCCEEDED":
        missing = sorted(set(range(n)) - set(ids))
        assert not missing, f"{where}SUCCEEDED without {len(missing)} items: {missing[:20]}"
        if ordered:
            assert ids == list(range(n)), f"{where}results out of item order"
