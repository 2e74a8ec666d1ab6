"""The Distributed Map ItemReader: every reader and option, error causes, and streaming.

Expected items come from AWS's documentation and recorded behaviour (reference section 2.3), written
out by hand here; the store is the real local-directory store.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest

from stepmap.errors import EngineError, StatesError
from stepmap.interpreter.distributed.readers import GET_OBJECT, LIST_OBJECTS, ReaderSpec, read_items
from stepmap.storage.local import LocalObjectStore

BUCKET = "data"


@pytest.fixture
def store(tmp_path: Any) -> LocalObjectStore:
    s = LocalObjectStore(tmp_path / "s3")
    s.create_bucket(BUCKET)
    return s


def get(key: str, **config: Any) -> ReaderSpec:
    return ReaderSpec(GET_OBJECT, {"Bucket": BUCKET, "Key": key}, config)


def listing(prefix: str = "", **config: Any) -> ReaderSpec:
    return ReaderSpec(LIST_OBJECTS, {"Bucket": BUCKET, "Prefix": prefix}, config)


def items(store: Any, spec: ReaderSpec) -> list[Any]:
    return [item for item, _ in read_items(store, spec)]


def reader_failure(store: Any, spec: ReaderSpec) -> str:
    with pytest.raises(StatesError) as info:
        list(read_items(store, spec))
    assert info.value.error == "States.ItemReaderFailed"
    assert info.value.cause
    return info.value.cause


# -- listObjectsV2 ----------------------------------------------------------------------------------


def test_list_objects_items_have_aws_shape_and_source(store: LocalObjectStore) -> None:
    store.put(BUCKET, "in/b.txt", b"bb")
    store.put(BUCKET, "in/a.txt", b"a")
    store.put(BUCKET, "other.txt", b"x")
    got = list(read_items(store, listing("in/")))
    head = store.head(BUCKET, "in/a.txt")
    assert got == [
        (
            {
                "Etag": '"' + hashlib.md5(b"a").hexdigest() + '"',
                "Key": "in/a.txt",
                "LastModified": int(head.last_modified.timestamp()),
                "Size": 1,
                "StorageClass": "STANDARD",
            },
            "S3://data",
        ),
        (
            {
                "Etag": '"' + hashlib.md5(b"bb").hexdigest() + '"',
                "Key": "in/b.txt",
                "LastModified": int(store.head(BUCKET, "in/b.txt").last_modified.timestamp()),
                "Size": 2,
                "StorageClass": "STANDARD",
            },
            "S3://data",
        ),
    ]
    assert isinstance(got[0][0]["LastModified"], int)
    assert list(got[0][0]) == ["Etag", "Key", "LastModified", "Size", "StorageClass"]


def test_list_objects_reads_every_key_past_one_page(store: LocalObjectStore) -> None:
    for n in range(1006):  # AWS: 1006 objects -> 1006 items (more than one 1000-key page)
        store.put(BUCKET, f"p/{n:04d}", b"")
    keys = [item["Key"] for item in items(store, listing("p/"))]
    assert keys == [f"p/{n:04d}" for n in range(1006)]


def test_list_objects_empty_prefix_gives_no_items(store: LocalObjectStore) -> None:
    store.put(BUCKET, "a", b"")
    assert items(store, listing("nothing-here/")) == []


def test_list_objects_missing_bucket(store: LocalObjectStore) -> None:
    spec = ReaderSpec(LIST_OBJECTS, {"Bucket": "no-such-bucket"}, {})
    assert "no-such-bucket" in reader_failure(store, spec)


def test_list_objects_max_items(store: LocalObjectStore) -> None:
    for n in range(5):
        store.put(BUCKET, f"k{n}", b"")
    assert [i["Key"] for i in items(store, listing(MaxItems=1))] == ["k0"]
    assert [i["Key"] for i in items(store, listing(MaxItems=3))] == ["k0", "k1", "k2"]
    assert len(items(store, listing(MaxItems=100))) == 5


def test_load_and_flatten_concatenates_object_contents(store: LocalObjectStore) -> None:
    store.put(BUCKET, "logs/", b"")  # a console "folder" object holds no data
    store.put(BUCKET, "logs/1.json", b'[{"n": 1}, {"n": 2}]')
    store.put(BUCKET, "logs/2.json", b'[{"n": 3}]')
    got = list(read_items(store, listing("logs/", InputType="JSON", Transformation="LOAD_AND_FLATTEN")))
    assert got == [
        ({"n": 1}, "S3://data/logs/1.json"),
        ({"n": 2}, "S3://data/logs/1.json"),
        ({"n": 3}, "S3://data/logs/2.json"),
    ]


def test_load_and_flatten_csv_each_object_has_its_header(store: LocalObjectStore) -> None:
    store.put(BUCKET, "t/a.csv", b"x,y\n1,2\n")
    store.put(BUCKET, "t/b.csv", b"y,x\n3,4\n")
    spec = listing("t/", InputType="CSV", Transformation="LOAD_AND_FLATTEN", MaxItems=2)
    assert items(store, spec) == [{"x": "1", "y": "2"}, {"y": "3", "x": "4"}]


def test_load_and_flatten_needs_input_type(store: LocalObjectStore) -> None:
    with pytest.raises(StatesError, match="LOAD_AND_FLATTEN"):
        read_items(store, listing(Transformation="LOAD_AND_FLATTEN"))


# -- MaxItems and the spec --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1])
def test_max_items_must_be_positive(store: LocalObjectStore, bad: int) -> None:
    with pytest.raises(StatesError) as info:
        read_items(store, listing(MaxItems=bad))  # checked before any item is read
    assert (info.value.error, info.value.cause) == (
        "States.ItemReaderFailed",
        "field MaxItems must be positive",
    )


@pytest.mark.parametrize("bad", ["3", 1.5, True])
def test_max_items_must_be_an_integer(store: LocalObjectStore, bad: Any) -> None:
    with pytest.raises(StatesError, match="MaxItems must be an integer"):
        read_items(store, listing(MaxItems=bad))


def test_max_items_above_aws_limit(store: LocalObjectStore) -> None:
    with pytest.raises(StatesError, match="100000000"):
        read_items(store, listing(MaxItems=100_000_001))


def test_max_items_one_on_csv(store: LocalObjectStore) -> None:
    store.put(BUCKET, "r.csv", b"a\n1\n2\n")
    assert items(store, get("r.csv", InputType="CSV", MaxItems=1)) == [{"a": "1"}]
    assert items(store, get("r.csv", InputType="CSV", MaxItems=2.0)) == [{"a": "1"}, {"a": "2"}]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (ReaderSpec("arn:aws:states:::s3:putObject", {"Bucket": BUCKET}, {}), "is not supported"),
        (ReaderSpec(GET_OBJECT, {"Key": "k"}, {"InputType": "JSON"}), "Bucket"),
        (ReaderSpec(GET_OBJECT, {"Bucket": BUCKET}, {"InputType": "JSON"}), "Key"),
        (ReaderSpec(GET_OBJECT, {"Bucket": BUCKET, "Key": "k"}, {}), "InputType"),
        (ReaderSpec(GET_OBJECT, {"Bucket": BUCKET, "Key": "k"}, {"InputType": "XML"}), "InputType"),
        (get("k", InputType="CSV", CSVDelimiter="COLON"), "CSVDelimiter"),
        (get("k", InputType="CSV", CSVHeaderLocation="GIVEN"), "CSVHeaders"),
        (get("k", InputType="CSV", ItemsPointer="/a"), "ItemsPointer"),
        (get("k", InputType="JSON", ItemsPointer="a"), "JSON Pointer"),
        (get("k", ManifestType="ATHENA_DATA"), "ATHENA_DATA"),
    ],
)
def test_invalid_specs_fail_before_reading(store: LocalObjectStore, spec: ReaderSpec, fragment: str) -> None:
    with pytest.raises(StatesError) as info:
        read_items(store, spec)
    assert info.value.error == "States.ItemReaderFailed"
    assert fragment in (info.value.cause or "")


# -- CSV --------------------------------------------------------------------------------------------


def test_csv_first_row_values_are_strings_whitespace_and_quotes_kept(store: LocalObjectStore) -> None:
    store.put(
        BUCKET,
        "ratings.csv",
        b'rating,movieId,title\n3.5,307," Three Colors: Blue, 1993 "\n4,481,"He said ""hi""\nand left"\n',
    )
    got = list(read_items(store, get("ratings.csv", InputType="CSV", CSVHeaderLocation="FIRST_ROW")))
    assert got == [
        ({"rating": "3.5", "movieId": "307", "title": " Three Colors: Blue, 1993 "}, "S3://data/ratings.csv"),
        ({"rating": "4", "movieId": "481", "title": 'He said "hi"\nand left'}, "S3://data/ratings.csv"),
    ]


def test_csv_header_location_defaults_to_first_row(store: LocalObjectStore) -> None:
    store.put(BUCKET, "r.csv", b"a,b\r\n 1 ,2\r\n")
    assert items(store, get("r.csv", InputType="CSV")) == [{"a": " 1 ", "b": "2"}]


def test_csv_given_headers_extra_columns_dropped_missing_read_empty(store: LocalObjectStore) -> None:
    store.put(BUCKET, "g.csv", b"1,2,3,4\n5\n6,7\n")
    spec = get("g.csv", InputType="CSV", CSVHeaderLocation="GIVEN", CSVHeaders=["a", "b", "c"])
    assert items(store, spec) == [
        {"a": "1", "b": "2", "c": "3"},  # the first row is data; the 4th column has no header
        {"a": "5", "b": "", "c": ""},
        {"a": "6", "b": "7", "c": ""},
    ]


@pytest.mark.parametrize(
    ("name", "sep"), [("COMMA", ","), ("PIPE", "|"), ("SEMICOLON", ";"), ("SPACE", " "), ("TAB", "\t")]
)
def test_csv_delimiters(store: LocalObjectStore, name: str, sep: str) -> None:
    others = [c for c in ",|; \t" if c != sep]
    text = f'k{sep}v\nx{others[0]}y{sep}"q{sep}r"\n'
    store.put(BUCKET, "d.csv", text.encode())
    assert items(store, get("d.csv", InputType="CSV", CSVDelimiter=name)) == [
        {"k": f"x{others[0]}y", "v": f"q{sep}r"}
    ]


@pytest.mark.parametrize("location", ["FIRST_ROW", "GIVEN"])
def test_csv_duplicate_headers(store: LocalObjectStore, location: str) -> None:
    store.put(BUCKET, "dup.csv", b"a,b,a\n1,2,3\n")
    config: dict[str, Any] = {"InputType": "CSV", "CSVHeaderLocation": location}
    if location == "GIVEN":
        config["CSVHeaders"] = ["x", "y", "x"]
    spec = ReaderSpec(GET_OBJECT, {"Bucket": BUCKET, "Key": "dup.csv"}, config)
    with pytest.raises(StatesError) as info:
        list(read_items(store, spec))
    assert (info.value.error, info.value.cause) == (
        "States.ItemReaderFailed",
        "CSV headers cannot contain duplicates.",
    )


def test_csv_header_over_10_kib(store: LocalObjectStore) -> None:
    header = ",".join(f"column_{n:05d}" for n in range(1000))  # 12,999 bytes
    store.put(BUCKET, "wide.csv", (header + "\n" + "1\n").encode())
    assert "10 KiB" in reader_failure(store, get("wide.csv", InputType="CSV"))
    ok = ",".join(f"c{n:04d}" for n in range(1700))[:10240].rsplit(",", 1)[0]
    store.put(BUCKET, "ok.csv", (ok + "\n").encode())
    assert items(store, get("ok.csv", InputType="CSV")) == []


def test_csv_empty_lines_and_empty_object(store: LocalObjectStore) -> None:
    store.put(BUCKET, "gaps.csv", b"\na,b\n\n1,2\n\n\n3,4\n")
    assert items(store, get("gaps.csv", InputType="CSV")) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    store.put(BUCKET, "empty.csv", b"")
    assert items(store, get("empty.csv", InputType="CSV")) == []


def test_csv_byte_order_mark_is_not_part_of_the_header(store: LocalObjectStore) -> None:
    store.put(BUCKET, "bom.csv", "\ufeffname\nJosé\n".encode())
    assert items(store, get("bom.csv", InputType="CSV")) == [{"name": "José"}]


def test_csv_not_utf8(store: LocalObjectStore) -> None:
    store.put(BUCKET, "latin1.csv", "name\nJosé\n".encode("latin-1"))
    cause = reader_failure(store, get("latin1.csv", InputType="CSV"))
    assert "latin1.csv" in cause and "UTF-8" in cause


def test_csv_unterminated_quote(store: LocalObjectStore) -> None:
    store.put(BUCKET, "bad.csv", b'a,b\n1,"open\n')
    cause = reader_failure(store, get("bad.csv", InputType="CSV"))
    assert "bad.csv" in cause and "not valid CSV" in cause


def test_missing_object_and_missing_bucket(store: LocalObjectStore) -> None:
    cause = reader_failure(store, get("nope.csv", InputType="CSV"))
    assert "nope.csv" in cause and BUCKET in cause
    spec = ReaderSpec(GET_OBJECT, {"Bucket": "missing-bucket", "Key": "k"}, {"InputType": "JSON"})
    assert "missing-bucket" in reader_failure(store, spec)


def test_gzip_objects_are_decompressed(store: LocalObjectStore) -> None:
    store.put(BUCKET, "r.csv.gz", gzip.compress(b"a\n1\n2\n"))
    assert items(store, get("r.csv.gz", InputType="CSV")) == [{"a": "1"}, {"a": "2"}]
    store.put(BUCKET, "r.json.gz", gzip.compress(b"[1, 2]"))
    assert items(store, get("r.json.gz", InputType="JSON")) == [1, 2]
    store.put(BUCKET, "trunc.gz", gzip.compress(b"a\n1\n" * 1000)[:-20])
    assert "gzip" in reader_failure(store, get("trunc.gz", InputType="CSV"))


# -- JSON -------------------------------------------------------------------------------------------


def test_json_array(store: LocalObjectStore) -> None:
    store.put(BUCKET, "a.json", b'[{"id": 1}, "two", 3, null, [4]]')
    assert list(read_items(store, get("a.json", InputType="JSON"))) == [
        ({"id": 1}, "S3://data/a.json"),
        ("two", "S3://data/a.json"),
        (3, "S3://data/a.json"),
        (None, "S3://data/a.json"),
        ([4], "S3://data/a.json"),
    ]


def test_json_items_pointer(store: LocalObjectStore) -> None:
    doc = {"data": {"items": [1, 2], "a/b": {"~x": [3]}, "list": [{"deep": [4, 5]}]}}
    store.put(BUCKET, "p.json", json.dumps(doc).encode())
    assert items(store, get("p.json", InputType="JSON", ItemsPointer="/data/items")) == [1, 2]
    assert items(store, get("p.json", InputType="JSON", ItemsPointer="/data/a~1b/~0x")) == [3]
    assert items(store, get("p.json", InputType="JSON", ItemsPointer="/data/list/0/deep")) == [4, 5]
    assert "does not point" in reader_failure(
        store, get("p.json", InputType="JSON", ItemsPointer="/data/nope")
    )
    assert "/data/list/1" in reader_failure(
        store, get("p.json", InputType="JSON", ItemsPointer="/data/list/1")
    )


def test_json_object_yields_key_value_entries(store: LocalObjectStore) -> None:
    store.put(BUCKET, "o.json", b'{"a": {"x": 1}, "b": 2}')
    assert items(store, get("o.json", InputType="JSON")) == [
        {"Key": "a", "Value": {"x": 1}},
        {"Key": "b", "Value": 2},
    ]


@pytest.mark.parametrize("document", [b"42", b'"text"', b"true", b"null", b'{"n": 1}'])
def test_json_non_iterable_node(store: LocalObjectStore, document: bytes) -> None:
    store.put(BUCKET, "n.json", document)
    pointer = "/n" if document.startswith(b"{") else ""
    spec = get("n.json", InputType="JSON", ItemsPointer=pointer)
    with pytest.raises(StatesError) as info:
        list(read_items(store, spec))
    assert (info.value.error, info.value.cause) == (
        "States.ItemReaderFailed",
        "Attempting to map over non-iterable node.",
    )


@pytest.mark.parametrize("document", [b"[1, 2", b"[1,]", b"[NaN]", b""])
def test_json_malformed(store: LocalObjectStore, document: bytes) -> None:
    store.put(BUCKET, "m.json", document)
    cause = reader_failure(store, get("m.json", InputType="JSON"))
    assert "m.json" in cause and "not valid JSON" in cause


def test_json_not_utf8(store: LocalObjectStore) -> None:
    store.put(BUCKET, "l.json", '["José"]'.encode("latin-1"))
    assert "UTF-8" in reader_failure(store, get("l.json", InputType="JSON"))


# -- JSONL ------------------------------------------------------------------------------------------


def test_jsonl_one_item_per_line_blank_lines_skipped(store: LocalObjectStore) -> None:
    store.put(BUCKET, "l.jsonl", b'{"a": 1}\n\n  \n[2]\r\n"three"\n4')
    assert list(read_items(store, get("l.jsonl", InputType="JSONL"))) == [
        ({"a": 1}, "S3://data/l.jsonl"),
        ([2], "S3://data/l.jsonl"),
        ("three", "S3://data/l.jsonl"),
        (4, "S3://data/l.jsonl"),
    ]


def test_jsonl_bad_line_is_named(store: LocalObjectStore) -> None:
    store.put(BUCKET, "b.jsonl", b'{"a": 1}\n\n{"a": \n')
    cause = reader_failure(store, get("b.jsonl", InputType="JSONL"))
    assert "b.jsonl" in cause and "line 3" in cause


# -- manifests --------------------------------------------------------------------------------------


def inventory_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return gzip.compress(out.getvalue().encode())


def put_inventory(store: LocalObjectStore, file_format: str = "CSV") -> None:
    store.create_bucket("inventory-dest")
    store.put(
        "inventory-dest",
        "inv/data/one.csv.gz",
        inventory_csv([["src", "a/1.txt", "5", "2022-11-16T00:29:32.000Z"]]),
    )
    store.put(
        "inventory-dest",
        "inv/data/two.csv.gz",
        inventory_csv([["src", "b/2.txt", "7", "2022-11-17T00:00:00.000Z"], ["src", "b/3.txt", "0", "x"]]),
    )
    manifest = {
        "sourceBucket": "src",
        "destinationBucket": "arn:aws:s3:::inventory-dest",
        "version": "2016-11-30",
        "creationTimestamp": "1668560400000",
        "fileFormat": file_format,
        "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [
            {"key": "inv/data/one.csv.gz", "size": 1, "MD5checksum": "x"},
            {"key": "inv/data/two.csv.gz", "size": 1, "MD5checksum": "y"},
        ],
    }
    store.put("inventory-dest", "inv/manifest.json", json.dumps(manifest).encode())


EXPECTED_INVENTORY = [
    {"Bucket": "src", "Key": "a/1.txt", "Size": "5", "LastModifiedDate": "2022-11-16T00:29:32.000Z"},
    {"Bucket": "src", "Key": "b/2.txt", "Size": "7", "LastModifiedDate": "2022-11-17T00:00:00.000Z"},
    {"Bucket": "src", "Key": "b/3.txt", "Size": "0", "LastModifiedDate": "x"},
]


@pytest.mark.parametrize(
    "config", [{"InputType": "MANIFEST"}, {"ManifestType": "S3_INVENTORY"}], ids=["InputType", "ManifestType"]
)
def test_s3_inventory_manifest(store: LocalObjectStore, config: dict[str, Any]) -> None:
    put_inventory(store)
    spec = ReaderSpec(GET_OBJECT, {"Bucket": "inventory-dest", "Key": "inv/manifest.json"}, config)
    got = list(read_items(store, spec))
    assert [item for item, _ in got] == EXPECTED_INVENTORY
    assert got[0][1] == "S3://inventory-dest/inv/data/one.csv.gz"
    assert [
        item
        for item, _ in read_items(
            store, ReaderSpec(spec.resource, spec.parameters, {**config, "MaxItems": 2})
        )
    ] == EXPECTED_INVENTORY[:2]


def test_s3_inventory_in_orc_is_refused(store: LocalObjectStore) -> None:
    put_inventory(store, file_format="ORC")
    spec = ReaderSpec(
        GET_OBJECT, {"Bucket": "inventory-dest", "Key": "inv/manifest.json"}, {"InputType": "MANIFEST"}
    )
    assert "ORC" in reader_failure(store, spec)


def test_athena_manifest_reads_every_listed_object(store: LocalObjectStore) -> None:
    store.put(BUCKET, "unload/part-1.gz", gzip.compress(b"1|ann\n2|bob\n"))
    store.put(BUCKET, "unload/part-2.gz", gzip.compress(b"3|cy\n"))
    store.put(BUCKET, "unload/m-manifest.csv", b"s3://data/unload/part-1.gz\ns3://data/unload/part-2.gz\n")
    spec = get(
        "unload/m-manifest.csv",
        ManifestType="ATHENA_DATA",
        InputType="CSV",
        CSVHeaderLocation="GIVEN",
        CSVHeaders=["id", "name"],
        CSVDelimiter="PIPE",
    )
    got = list(read_items(store, spec))
    assert got == [
        ({"id": "1", "name": "ann"}, "S3://data/unload/part-1.gz"),
        ({"id": "2", "name": "bob"}, "S3://data/unload/part-1.gz"),
        ({"id": "3", "name": "cy"}, "S3://data/unload/part-2.gz"),
    ]
    store.put(BUCKET, "unload/j.jsonl", b'{"a": 1}\n')
    store.put(BUCKET, "unload/j-manifest.csv", b"s3://data/unload/j.jsonl\n")
    assert items(store, get("unload/j-manifest.csv", ManifestType="ATHENA_DATA", InputType="JSONL")) == [
        {"a": 1}
    ]
    store.put(BUCKET, "unload/bad-manifest.csv", b"https://example.com/x\n")
    cause = reader_failure(
        store, get("unload/bad-manifest.csv", ManifestType="ATHENA_DATA", InputType="JSONL")
    )
    assert "line 1" in cause


# -- Parquet ----------------------------------------------------------------------------------------


def test_parquet_rows_as_json_objects(store: LocalObjectStore) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import datetime as dt

    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "name": ["a", None],
            "score": [1.5, 2.0],
            "ok": [True, False],
            "at": pa.array(
                [
                    dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
                    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                ],
                pa.timestamp("ms", tz="UTC"),
            ),
            "day": pa.array([dt.date(2024, 1, 2), dt.date(2000, 2, 29)], pa.date32()),
            "tags": [["x", "y"], []],
            "point": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=1)
    store.put(BUCKET, "t.parquet", sink.getvalue())
    got = list(read_items(store, get("t.parquet", InputType="PARQUET")))
    assert got == [
        (
            {
                "id": 1,
                "name": "a",
                "score": 1.5,
                "ok": True,
                "at": 1704164645678,  # epoch milliseconds
                "day": "2024-01-02",
                "tags": ["x", "y"],
                "point": {"x": 1, "y": 2},
            },
            "S3://data/t.parquet",
        ),
        (
            {
                "id": 2,
                "name": None,
                "score": 2.0,
                "ok": False,
                "at": 0,
                "day": "2000-02-29",
                "tags": [],
                "point": {"x": 3, "y": 4},
            },
            "S3://data/t.parquet",
        ),
    ]
    assert items(store, get("t.parquet", InputType="PARQUET", MaxItems=1))[0]["id"] == 1


def test_parquet_not_a_parquet_file(store: LocalObjectStore) -> None:
    pytest.importorskip("pyarrow")
    store.put(BUCKET, "fake.parquet", b"a,b\n1,2\n")
    cause = reader_failure(store, get("fake.parquet", InputType="PARQUET"))
    assert "fake.parquet" in cause and "Parquet" in cause


def test_parquet_without_pyarrow_says_what_to_install(store: LocalObjectStore, monkeypatch: Any) -> None:
    store.put(BUCKET, "t.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert "pip install stepmap[parquet]" in reader_failure(store, get("t.parquet", InputType="PARQUET"))


# -- TEXT_BLOCKS (stepmap extension) ----------------------------------------------------------------


def test_text_blocks_one_item_per_block(store: LocalObjectStore) -> None:
    store.put(BUCKET, "big.txt", b"x" * 25)
    got = list(read_items(store, get("big.txt", InputType="TEXT_BLOCKS", BlockSizeBytes=10)))
    assert got == [
        (
            {"Bucket": "data", "Key": "big.txt", "Index": 0, "Start": 0, "End": 10, "Size": 25},
            "S3://data/big.txt",
        ),
        (
            {"Bucket": "data", "Key": "big.txt", "Index": 1, "Start": 10, "End": 20, "Size": 25},
            "S3://data/big.txt",
        ),
        (
            {"Bucket": "data", "Key": "big.txt", "Index": 2, "Start": 20, "End": 25, "Size": 25},
            "S3://data/big.txt",
        ),
    ]
    store.put(BUCKET, "empty.txt", b"")
    assert items(store, get("empty.txt", InputType="TEXT_BLOCKS", BlockSizeBytes=10)) == []
    assert len(items(store, get("big.txt", InputType="TEXT_BLOCKS"))) == 1  # default 8 MiB blocks
    with pytest.raises(StatesError, match="BlockSizeBytes must be positive"):
        read_items(store, get("big.txt", InputType="TEXT_BLOCKS", BlockSizeBytes=0))
    assert "nope.txt" in reader_failure(store, get("nope.txt", InputType="TEXT_BLOCKS", BlockSizeBytes=10))


# -- streaming --------------------------------------------------------------------------------------


class CountingStream(io.RawIOBase):
    def __init__(self, inner: BinaryIO, counter: dict[str, int]) -> None:
        self.inner, self.counter = inner, counter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.counter["read"] += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.counter["closed"] += 1
            self.inner.close()
        super().close()


class CountingStore:
    """The local store, counting the bytes read through open() and the keys pulled from list()."""

    def __init__(self, inner: LocalObjectStore) -> None:
        self.inner = inner
        self.counter = {"read": 0, "closed": 0, "listed": 0}

    def open(self, bucket: str, key: str) -> BinaryIO:
        return CountingStream(self.inner.open(bucket, key), self.counter)  # type: ignore[return-value]

    def list(self, bucket: str, prefix: str = "", *, start_after: str | None = None) -> Iterator[Any]:
        for info in self.inner.list(bucket, prefix, start_after=start_after):
            self.counter["listed"] += 1
            yield info

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_csv_is_streamed_not_read_whole(store: LocalObjectStore) -> None:
    body = "id,name,value\n" + "".join(f"{n},name-{n},{n * 7}\n" for n in range(200_000))
    data = body.encode()
    store.put(BUCKET, "big.csv", data)
    counting = CountingStore(store)
    stream = read_items(counting, get("big.csv", InputType="CSV"))
    assert next(stream) == ({"id": "0", "name": "name-0", "value": "0"}, "S3://data/big.csv")
    assert 0 < counting.counter["read"] < len(data) // 20  # ~5 MB object, well under 300 KB read
    stream.close()
    assert counting.counter["closed"] == 1  # abandoning the stream closes the object


def test_max_items_stops_reading_and_closes_the_object(store: LocalObjectStore) -> None:
    data = b"".join(b'{"n": %d}\n' % n for n in range(100_000))
    store.put(BUCKET, "big.jsonl", data)
    counting = CountingStore(store)
    got = items(counting, get("big.jsonl", InputType="JSONL", MaxItems=3))
    assert got == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert counting.counter["read"] < len(data) // 10
    assert counting.counter["closed"] == 1


def test_listing_is_consumed_lazily(store: LocalObjectStore) -> None:
    for n in range(300):
        store.put(BUCKET, f"k/{n:03d}", b"")
    counting = CountingStore(store)
    stream = read_items(counting, listing("k/"))
    next(stream)
    next(stream)
    assert counting.counter["listed"] == 2


# -- engine failures --------------------------------------------------------------------------------


def test_engine_errors_pass_through(store: LocalObjectStore) -> None:
    class Unavailable(CountingStore):
        def open(self, bucket: str, key: str) -> BinaryIO:
            raise EngineError("store unreachable after 5 retries")

    store.put(BUCKET, "a.json", b"[1]")
    with pytest.raises(EngineError, match="unreachable"):
        list(read_items(Unavailable(store), get("a.json", InputType="JSON")))
