"""The table contract: every adapter subclasses :class:`TableContract` and provides an
``open_table(name, schema)`` fixture. DynamoDB's behaviour is the reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stepmap.storage import StoreError, Table, TableSchema
from tests.storage.conftest import unique_name

Opener = Callable[[str, TableSchema], Table]

NESTED = {
    "pk": "station-1",
    "sk": "2020-01",
    "int": 42,
    "negative": -7,
    "big": 2**53,
    "float": 71.25,
    "tenth": 0.1,
    "text": 'ünï, "quoted"\nline',
    "empty_text": "",
    "yes": True,
    "no": False,
    "nothing": None,
    "list": [1, "two", [3.5], {"four": None}],
    "map": {"inner": {"deep": [True, {"x": -0.5}]}, "empty": {}},
    "empty_list": [],
}


def _by_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i["pk"], i.get("sk", "")))


class TableContract:
    @pytest.fixture
    def open_table(self) -> Opener:
        raise NotImplementedError

    @pytest.fixture
    def table(self, open_table: Opener) -> Table:
        return open_table(unique_name("tbl"), TableSchema("pk", "sk"))

    def test_put_and_get_nested_values(self, table: Table) -> None:
        table.put_item(NESTED)
        assert table.get_item({"pk": "station-1", "sk": "2020-01"}) == NESTED

    def test_put_replaces_the_whole_item(self, table: Table) -> None:
        table.put_item({"pk": "a", "sk": "1", "old": 1, "kept": "no"})
        table.put_item({"pk": "a", "sk": "1", "new": 2})
        assert table.get_item({"pk": "a", "sk": "1"}) == {"pk": "a", "sk": "1", "new": 2}
        assert len(list(table.scan())) == 1

    def test_get_missing_item(self, table: Table) -> None:
        table.put_item({"pk": "a", "sk": "1"})
        assert table.get_item({"pk": "a", "sk": "2"}) is None
        assert table.get_item({"pk": "b", "sk": "1"}) is None

    def test_delete_item(self, table: Table) -> None:
        table.put_item({"pk": "a", "sk": "1"})
        table.put_item({"pk": "a", "sk": "2"})
        table.delete_item({"pk": "a", "sk": "1"})
        table.delete_item({"pk": "a", "sk": "missing"})  # not an error
        assert [i["sk"] for i in table.query("a")] == ["2"]

    def test_query_orders_strings_by_utf8_bytes(self, table: Table) -> None:
        sort_keys = ["b", "a", "B", "ä", "a0", "a/", "\U0001f600", "\ue000", "10", "9"]
        for sk in sort_keys:
            table.put_item({"pk": "p", "sk": sk, "v": sk})
        table.put_item({"pk": "other", "sk": "a"})
        expected = sorted(sort_keys, key=lambda s: s.encode())
        assert [i["sk"] for i in table.query("p")] == expected
        assert [i["sk"] for i in table.query("p", descending=True)] == expected[::-1]
        assert [i["sk"] for i in table.query("p", limit=3)] == expected[:3]
        assert [i["sk"] for i in table.query("p", descending=True, limit=2)] == expected[::-1][:2]
        assert list(table.query("nobody")) == []

    def test_query_orders_numbers_by_value(self, open_table: Opener) -> None:
        table = open_table(unique_name("num"), TableSchema("station", "day", "S", "N"))
        for day in [10, 9, 2.5, -1, 100, 0]:
            table.put_item({"station": "s", "day": day})
        assert [i["day"] for i in table.query("s")] == [-1, 0, 2.5, 9, 10, 100]
        assert table.get_item({"station": "s", "day": 2.5}) == {"station": "s", "day": 2.5}

    def test_many_items_across_pages(self, table: Table) -> None:
        items = [{"pk": f"p{i % 3}", "sk": f"{i:03d}", "n": i} for i in range(40)]
        for item in items:
            table.put_item(item)
        assert _by_key(list(table.scan())) == _by_key(items)
        assert [i["n"] for i in table.query("p1")] == [i for i in range(40) if i % 3 == 1]
        assert len(list(table.query("p2", limit=9))) == 9

    def test_table_without_sort_key(self, open_table: Opener) -> None:
        table = open_table(unique_name("flat"), TableSchema("month"))
        table.put_item({"month": "2020-01", "temp": 99.5})
        table.put_item({"month": "2020-02", "temp": 101})
        assert table.get_item({"month": "2020-01"}) == {"month": "2020-01", "temp": 99.5}
        assert list(table.query("2020-02")) == [{"month": "2020-02", "temp": 101}]
        assert sorted(i["month"] for i in table.scan()) == ["2020-01", "2020-02"]

    def test_tables_are_separate(self, open_table: Opener) -> None:
        one = open_table(unique_name("one"), TableSchema("pk", "sk"))
        two = open_table(unique_name("two"), TableSchema("pk", "sk"))
        one.put_item({"pk": "a", "sk": "1"})
        assert list(two.scan()) == []

    def test_reopening_sees_the_items_and_checks_the_schema(self, open_table: Opener) -> None:
        name = unique_name("again")
        open_table(name, TableSchema("pk", "sk")).put_item({"pk": "a", "sk": "1"})
        assert open_table(name, TableSchema("pk", "sk")).get_item({"pk": "a", "sk": "1"}) is not None
        with pytest.raises(StoreError, match="exists with key schema"):
            open_table(name, TableSchema("pk"))

    @pytest.mark.parametrize(
        ("item", "message"),
        [
            ({"sk": "1"}, "no key attribute 'pk'"),
            ({"pk": "a"}, "no key attribute 'sk'"),
            ({"pk": 1, "sk": "1"}, "must be a non-empty string"),
            ({"pk": "", "sk": "1"}, "must be a non-empty string"),
            ({"pk": "a", "sk": "1", "x": float("nan")}, "finite"),
            ({"pk": "a", "sk": "1", "x": {"y": [float("inf")]}}, "finite"),
            ({"pk": "a", "sk": "1", "x": b"bytes"}, "holds a bytes"),
            ({"pk": "a", "sk": "1", "x": {1, 2}}, "holds a set"),
            ({"pk": "a", "sk": "1", "x": {1: "int key"}}, "holds a dict"),
        ],
    )
    def test_invalid_items(self, table: Table, item: dict[str, Any], message: str) -> None:
        with pytest.raises(StoreError, match=message):
            table.put_item(item)
        assert list(table.scan()) == []

    @pytest.mark.parametrize("key", [{"pk": "a"}, {"pk": "a", "sk": "1", "extra": 1}, {"pk": "a", "sk": 1}])
    def test_invalid_keys(self, table: Table, key: dict[str, Any]) -> None:
        with pytest.raises(StoreError):
            table.get_item(key)
        with pytest.raises(StoreError):
            table.delete_item(key)

    @pytest.mark.parametrize("name", ["ab", "has space", "slash/name", "x" * 256])
    def test_invalid_table_names(self, open_table: Opener, name: str) -> None:
        with pytest.raises(StoreError, match="invalid table name"):
            open_table(name, TableSchema())
