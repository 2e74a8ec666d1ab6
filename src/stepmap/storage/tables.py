"""The table port: a small key-value results table that handlers write and reducers read.

Shaped like a DynamoDB table and no bigger: every item is a JSON-like ``dict`` holding its key
attributes, a partition key and, optionally, a sort key, each a string (``"S"``) or a number
(``"N"``). :meth:`Table.query` returns one partition in sort key order (strings by UTF-8 bytes,
numbers by value, as DynamoDB orders them); :meth:`Table.scan` returns everything in no promised
order.

Adapters: :class:`~stepmap.storage.sqlite_table.SQLiteTable` (one file in the state directory,
the embedded default) and :class:`~stepmap.storage.dynamodb.DynamoDBTable` (boto3). Which one
runs is decided in one place, :func:`stepmap.storage.config.open_table`.

Both backends check items the same way here, so a handler that works on SQLite does not fail
on DynamoDB for a value DynamoDB cannot hold: values are ``None``, ``bool``, ``int``, finite
``float``, ``str``, lists and string-keyed dicts. Numbers come back as ``int`` when integral on
DynamoDB (it keeps no distinction between 1 and 1.0).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stepmap.storage.errors import StoreError

__all__ = ["KeyType", "Table", "TableSchema", "check_item", "check_table_name"]

KeyType = Literal["S", "N"]


@dataclass(frozen=True)
class TableSchema:
    """The key attributes of a table: a partition key and an optional sort key."""

    partition_key: str = "pk"
    sort_key: str | None = None
    partition_key_type: KeyType = "S"
    sort_key_type: KeyType = "S"

    def __post_init__(self) -> None:
        for name in (self.partition_key, self.sort_key):
            if name is not None and (not isinstance(name, str) or not name):
                raise StoreError(f"invalid key attribute name {name!r}: a non-empty string")
        if self.partition_key == self.sort_key:
            raise StoreError(f"the partition key and the sort key are both {self.partition_key!r}")
        for kind in (self.partition_key_type, self.sort_key_type):
            if kind not in ("S", "N"):
                raise StoreError(f"invalid key type {kind!r}: 'S' (string) or 'N' (number)")

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The key attributes of ``item``, checked against this schema."""
        key = {}
        for name, kind in (
            (self.partition_key, self.partition_key_type),
            (self.sort_key, self.sort_key_type),
        ):
            if name is None:
                continue
            if name not in item:
                raise StoreError(f"item has no key attribute {name!r}: {_short(item)}")
            key[name] = check_key_value(name, kind, item[name])
        return key

    def partition_value(self, value: Any) -> Any:
        """``value``, if it can be this table's partition key value."""
        return check_key_value(self.partition_key, self.partition_key_type, value)

    def check_key(self, key: Mapping[str, Any]) -> dict[str, Any]:
        """``key`` itself, if it holds exactly the key attributes with values of the right types."""
        if not isinstance(key, Mapping) or set(key) != set(self.key_names):
            raise StoreError(f"a key has exactly the attributes {list(self.key_names)}, got {_short(key)}")
        return self.key_of(key)


class Table(ABC):
    """One named table. Every method may raise :class:`~stepmap.storage.errors.StoreError`."""

    name: str
    schema: TableSchema

    @abstractmethod
    def put_item(self, item: Mapping[str, Any]) -> None:
        """Write ``item``, replacing any item with the same key."""

    @abstractmethod
    def get_item(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key (a strongly consistent read), or None."""

    @abstractmethod
    def query(
        self, partition_key_value: Any, *, descending: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The items of one partition in sort key order (reversed if ``descending``), page by page."""

    @abstractmethod
    def scan(self) -> Iterator[dict[str, Any]]:
        """Every item of the table, page by page, in no promised order."""

    @abstractmethod
    def delete_item(self, key: Mapping[str, Any]) -> None:
        """Remove the item with this key; a missing item is not an error."""


_TABLE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def check_table_name(name: str) -> None:
    """Raise :class:`StoreError` unless ``name`` is a valid DynamoDB table name."""
    if not isinstance(name, str) or not _TABLE_NAME_RE.fullmatch(name):
        raise StoreError(f"invalid table name {name!r}: 3 to 255 letters, digits, '_', '-' or '.'")


def check_key_value(name: str, kind: KeyType, value: Any) -> Any:
    if kind == "S" and isinstance(value, str) and value:
        return value
    if (
        kind == "N"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return value
    wanted = "a non-empty string" if kind == "S" else "a finite number"
    raise StoreError(f"key attribute {name!r} must be {wanted}, got {value!r}")


def check_item(item: Mapping[str, Any]) -> None:
    """Raise :class:`StoreError` unless every value of ``item`` is one both backends can store."""
    if not isinstance(item, Mapping):
        raise StoreError(f"an item is a dict, got {type(item).__name__}")
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in item.items()]
    for k in item:
        if not isinstance(k, str) or not k:
            raise StoreError(f"item attribute names are non-empty strings, got {k!r}")
    while stack:
        where, value = stack.pop()
        if value is None or isinstance(value, bool | int | str):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise StoreError(f"item attribute {where!r} is {value!r}: numbers must be finite")
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            stack.extend((f"{where}.{k}", v) for k, v in value.items())
        else:
            raise StoreError(
                f"item attribute {where!r} holds a {type(value).__name__}: values are null, booleans, "
                "numbers, strings, lists and string-keyed dicts"
            )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
