"""Single-process reference answer of the GSOD example, to check the workflow against key by key.

It reads every station-year file (from a directory laid out as ``<root>/YYYY/<station>.csv`` or from
``(key, bytes)`` pairs) with the standard ``csv`` module, independently of the handlers' fast parser,
and keeps for each ``YYYY-MM`` the best station-day under the one shared rule
(:func:`examples.gsod.handlers.winner_key`).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator

from .handlers import GSOD_KEY, MISSING_TEMP, Winner, winner_key

__all__ = ["iter_directory", "monthly_max_reference"]


def iter_directory(root: str | os.PathLike[str]) -> Iterator[tuple[str, bytes]]:
    """``(key, bytes)`` for every file under ``root``, keys with ``/`` separators, in key order."""
    base = os.fspath(root)
    paths = []
    for dirpath, _dirs, names in os.walk(base):
        for name in names:
            path = os.path.join(dirpath, name)
            paths.append((os.path.relpath(path, base).replace(os.sep, "/"), path))
    for key, path in sorted(paths):
        with open(path, "rb") as fh:
            yield key, fh.read()


def monthly_max_reference(
    source: str | os.PathLike[str] | Iterable[tuple[str, bytes]],
) -> dict[str, Winner]:
    """``{"YYYY-MM": winner}`` over all GSOD files of ``source`` (other keys are ignored), months sorted."""
    files = iter_directory(source) if isinstance(source, str | os.PathLike) else source
    best: dict[str, Winner] = {}
    for key, data in files:
        if not GSOD_KEY.match(key):
            continue
        for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
            if row["TEMP"].strip() == MISSING_TEMP:
                continue
            cand: Winner = {
                "station": row["STATION"],
                "date": row["DATE"],
                "temp": float(row["TEMP"]),
                "name": row["NAME"],
            }
            month = row["DATE"][:7]
            if month not in best or winner_key(cand) < winner_key(best[month]):
                best[month] = cand
    return {m: best[m] for m in sorted(best)}
