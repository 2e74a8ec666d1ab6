"""Query and Scan: key conditions, indexes, FilterExpression, Limit, pages and their keys.

As on DynamoDB, ``Limit`` counts the items *evaluated* (before FilterExpression), a page stops at 1 MB of
items read, and ``LastEvaluatedKey`` is returned whenever a page stopped early, even if no item is left.
A table's own key order is served by SQLite; a secondary index is read by sorting the table's items on the
index key (correct, not fast: the embedded tables keep no index structures). ``Segment``/``TotalSegments``
split a Scan by a hash of the partition key.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stepmap.endpoints.dynamodb.common import Request, ValidationError, capacity, check_key, projector
from stepmap.endpoints.dynamodb.evaluation import evaluate
from stepmap.endpoints.dynamodb.expressions import parse_condition, parse_key_condition
from stepmap.endpoints.dynamodb.store import Item, TableInfo
from stepmap.endpoints.dynamodb.values import check_item, compare, item_size, sort_key, values_equal

__all__ = ["query", "scan"]

PAGE_BYTES = 1024 * 1024


class _Index:
    """The key attributes a read goes by: the table's, or a secondary index's."""

    def __init__(self, info: TableInfo, name: str | None) -> None:
        self.info, self.name = info, name
        s = info.schema
        self.hash, self.range = s.partition_key, s.sort_key
        self.projection: dict[str, Any] = {"ProjectionType": "ALL"}
        if name is not None:
            for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                for index in info.meta.get(kind) or []:
                    if index["IndexName"] == name:
                        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
                        self.hash, self.range = keys["HASH"], keys.get("RANGE")
                        self.projection = index.get("Projection") or self.projection
                        return
            raise ValidationError(f"The table does not have the specified index: {name}")

    def key_names(self) -> list[str]:
        names = [self.hash, *([self.range] if self.range else [])]
        return names + [n for n in self.info.schema.key_names if n not in names]

    def key_of(self, item: Item) -> Item:
        return {n: item[n] for n in self.key_names() if n in item}

    def project_index(self, item: Item) -> Item:
        kind = self.projection.get("ProjectionType", "ALL")
        if self.name is None or kind == "ALL":
            return item
        keep = set(self.key_names())
        if kind == "INCLUDE":
            keep.update(self.projection.get("NonKeyAttributes") or [])
        return {k: v for k, v in item.items() if k in keep}

    def sorted_items(self, rows: Iterator[Item], descending: bool) -> list[Item]:
        """Items that carry the index's keys, in index order (then table key order)."""
        names = self.key_names()
        chosen = [it for it in rows if self.hash in it and (self.range is None or self.range in it)]

        def order(item: Item) -> tuple[Any, ...]:
            return tuple(_orderable(item[n]) for n in names)

        chosen.sort(key=order, reverse=descending)
        return chosen


def _orderable(value: dict[str, Any]) -> Any:
    kind = next(iter(value))
    if kind not in ("S", "N", "B"):
        return (3, b"")
    return ({"N": 0, "S": 1, "B": 2}[kind], sort_key(value))


def _paginate(
    req: Request,
    index: _Index,
    items: Iterator[Item],
    keep: Callable[[Item], bool],
) -> dict[str, Any]:
    """One page of ``items`` (already past the start key, in order): Limit, 1 MB, filter, projection."""
    params = req.params
    limit = params.get("Limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must "
            "have value greater than or equal to 1"
        )
    ph = req.placeholders()
    filt = (
        parse_condition(params["FilterExpression"], ph, "FilterExpression")
        if "FilterExpression" in params
        else None
    )
    project_item = projector(req, params, ph)
    select = req.enum(
        "Select",
        ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"),
        "ALL_ATTRIBUTES",
    )
    return_items, scanned, read, last = [], 0, 0, None
    stopped = False
    for item in items:
        if not keep(item):
            continue
        if (limit is not None and scanned >= limit) or read >= PAGE_BYTES:
            stopped = True
            break
        scanned += 1
        read += item_size(item)
        last = item
        if filt is None or evaluate(filt, item):
            return_items.append(project_item(index.project_index(item)))
    ph.check_all_used()
    out: dict[str, Any] = {"Count": len(return_items), "ScannedCount": scanned}
    if select != "COUNT":
        out["Items"] = return_items
    if stopped and last is not None:
        out["LastEvaluatedKey"] = index.key_of(last)
    out.update(capacity(params, index.info.name, max(0.5, read / 8192)))
    return out


def _start_key(req: Request, info: TableInfo, index: _Index) -> Item | None:
    esk = req.params.get("ExclusiveStartKey")
    if esk is None:
        return None
    if index.name is None:
        key, _ = check_key(info, esk)
        return key
    key = check_item(esk, "ExclusiveStartKey")
    if set(key) != set(index.key_names()):
        raise ValidationError(
            "The provided starting key is invalid: The provided key element does not match the schema"
        )
    return key


def _after(index: _Index, items: list[Item], start: Item | None) -> Iterator[Item]:
    """``items`` (in index order) past the exclusive start key."""
    seen = start is None
    for item in items:
        if seen:
            yield item
        elif all(values_equal(item.get(n), start.get(n)) for n in index.key_names()):  # type: ignore[union-attr]
            seen = True


def _no_consistent_read_on_gsi(req: Request, info: TableInfo, index: _Index) -> None:
    gsis = {i["IndexName"] for i in info.meta.get("GlobalSecondaryIndexes") or []}
    if req.params.get("ConsistentRead") and index.name in gsis:
        raise ValidationError("Consistent reads are not supported on global secondary indexes")


def query(req: Request) -> dict[str, Any]:
    info = req.table()
    index = _Index(info, req.string("IndexName"))
    _no_consistent_read_on_gsi(req, info, index)
    text = req.params.get("KeyConditionExpression")
    if text is None:
        raise ValidationError(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    ph = req.placeholders()
    cond = parse_key_condition(text, ph, index.hash, index.range)
    # The placeholders the key condition used count as used for the whole request.
    used_names, used_values = set(ph.used_names), set(ph.used_values)
    forward = req.params.get("ScanIndexForward", True)
    if not isinstance(forward, bool):
        raise ValidationError("ScanIndexForward must be a boolean")
    start = _start_key(req, info, index)
    s = info.schema
    for value, kind in (
        (cond.partition, s.partition_key_type if index.name is None else None),
        *((v, s.sort_key_type if index.name is None else None) for v in cond.sort_values),
    ):
        if kind is not None and kind not in value:
            raise ValidationError(
                "One or more parameter values were invalid: "
                "Condition parameter type does not match schema type"
            )

    def in_range(item: Item) -> bool:
        if not values_equal(item.get(index.hash), cond.partition):
            return False
        if cond.sort_op is None:
            return True
        v = item.get(index.range or "")
        if v is None:
            return False
        a = cond.sort_values
        if cond.sort_op == "begins_with":
            kind = next(iter(a[0]))
            return kind in v and kind in ("S", "B") and sort_key(v).startswith(sort_key(a[0]))
        if cond.sort_op == "BETWEEN":
            lo, hi = compare(v, a[0]), compare(v, a[1])
            return lo is not None and hi is not None and lo >= 0 and hi <= 0
        c = compare(v, a[0])
        return (
            c is not None and {"=": c == 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[cond.sort_op]
        )

    if index.name is None:
        pk = info.key_column(cond.partition)
        after = info.key_columns(start) if start is not None else None
        items: Iterator[Item] = req.store.rows(info, pk=pk, descending=not forward, after=after)
    else:
        items = _after(index, index.sorted_items(req.store.rows(info), not forward), start)
    sub = _Subrequest(req, used_names, used_values)
    return _paginate(sub, index, items, in_range)


class _Subrequest(Request):
    """The request, with the placeholders its key condition used already marked as used."""

    def __init__(self, req: Request, names: set[str], values: set[str]) -> None:
        self.store, self.params = req.store, req.params
        self._names, self._values = names, values

    def placeholders(self, params: Mapping[str, Any] | None = None) -> Any:
        ph = super().placeholders(params)
        ph.used_names.update(self._names)
        ph.used_values.update(self._values)
        return ph


def scan(req: Request) -> dict[str, Any]:
    info = req.table()
    index = _Index(info, req.string("IndexName"))
    _no_consistent_read_on_gsi(req, info, index)
    segment, total = req.params.get("Segment"), req.params.get("TotalSegments")
    if (segment is None) != (total is None):
        raise ValidationError(
            "The TotalSegments parameter is required but was not present in the request "
            "when Segment parameter is present"
        )
    if total is not None and (
        not isinstance(total, int)
        or not 1 <= total <= 1000000
        or not isinstance(segment, int)
        or not 0 <= segment < total
    ):
        raise ValidationError(
            f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
            f"Segment: {segment} is not less than TotalSegments: {total}"
        )
    start = _start_key(req, info, index)

    def mine(item: Item) -> bool:
        if total is None:
            return True
        text = repr(info.key_column(item[info.schema.partition_key])).encode()
        return zlib.crc32(text) % total == segment

    if index.name is None:
        items: Iterator[Item] = req.store.rows(
            info, after=info.key_columns(start) if start is not None else None
        )
    else:
        items = _after(index, index.sorted_items(req.store.rows(info), False), start)
    return _paginate(req, index, items, mine)
