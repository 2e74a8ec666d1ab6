"""End-to-end conformance of the Distributed Map: whole executions through ``stepmap.run`` on the local store.

Each test builds a state machine whose Map state runs in ``DISTRIBUTED`` mode, runs it on the in-process
(``sync``) and/or process-pool (``local``) executor, and checks the execution's status, output, error and
history, and the objects the ResultWriter leaves in the store. Expected values come from AWS's documentation
(state-map-distributed, input-output-itemreader/-itembatcher/-resultwriter, maprun-fail-threshold) and the
reference notes (../shared/reference/step-functions.md section 2), written out by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import stepmap
from stepmap.service.runner import StepmapService
from stepmap.storage import LocalObjectStore

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "bkt"
EXECUTORS = ["sync", "local"]
HANDLERS = "tests.distributed.dm_handlers"
FUNCTIONS = {
    name: f"{HANDLERS}:{name}" for name in ("echo", "square", "pair", "fail_marked", "record_interval")
}
GET_OBJECT = "arn:aws:states:::s3:getObject"
LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
THRESHOLD = "States.ExceedToleratedFailureThreshold"
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
MAP_RUN_ARN = re.compile(
    r"^arn:aws:states:[a-z0-9-]+:\d{12}:mapRun:[^/:]+/(?P<label>[^:]+):(?P<id>[0-9a-f-]{36})$"
)
NONE_RECORD_KEYS = {
    "ExecutionArn",
    "Input",
    "InputDetails",
    "Name",
    "Output",
    "OutputDetails",
    "RedriveCount",
    "RedriveStatus",
    "StartDate",
    "StateMachineArn",
    "Status",
    "StopDate",
}


@dataclass
class Env:
    """A store root with one bucket, a state directory, and a way to run a definition against them."""

    tmp: Path
    store: LocalObjectStore

    @property
    def store_root(self) -> str:
        return str(self.tmp / "s3")

    @property
    def state_dir(self) -> str:
        return str(self.tmp / "state")

    def run(
        self, definition: dict[str, Any], input: Any = None, *, executor: str = "sync"
    ) -> stepmap.Execution:
        return stepmap.run(
            definition,
            {} if input is None else input,
            functions=FUNCTIONS,
            executor=executor,
            code=[str(ROOT)],
            store=self.store_root,
            state_dir=self.state_dir,
        )

    def put_json(self, key: str, value: Any) -> None:
        self.store.put(BUCKET, key, json.dumps(value).encode())

    def put_jsonl(self, key: str, values: list[Any]) -> None:
        self.store.put(BUCKET, key, "".join(json.dumps(v) + "\n" for v in values).encode())


@pytest.fixture
def env(tmp_path: Path) -> Env:
    store = LocalObjectStore(str(tmp_path / "s3"))
    store.create_bucket(BUCKET)
    return Env(tmp_path, store)


# -- definition builders ----------------------------------------------------------------------------


def processor(handler: str | None = None, execution_type: str = "STANDARD") -> dict[str, Any]:
    """A one-state ItemProcessor: a Task calling ``handler`` or, without one, a Pass that echoes its input."""
    work: dict[str, Any] = {"Type": "Task", "Resource": handler} if handler else {"Type": "Pass"}
    work["End"] = True
    return {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
        "StartAt": "Work",
        "States": {"Work": work},
    }


def machine(handler: str | None = None, *, next_states: dict[str, Any] | None = None, **fields: Any) -> dict:
    """A state machine whose first state is a Distributed Map named ``ProcessAll`` with ``fields``."""
    state: dict[str, Any] = {"Type": "Map", "ItemProcessor": processor(handler), **fields}
    if next_states:
        state.setdefault("Next", next(iter(next_states)))
    else:
        state["End"] = True
    return {"StartAt": "ProcessAll", "States": {"ProcessAll": state, **(next_states or {})}}


def get_object(key: str, input_type: str | None, **reader_config: Any) -> dict[str, Any]:
    config = {"InputType": input_type, **reader_config} if input_type else dict(reader_config)
    return {"Resource": GET_OBJECT, "ReaderConfig": config, "Parameters": {"Bucket": BUCKET, "Key": key}}


def listing(prefix: str = "", bucket: str = BUCKET, **reader_config: Any) -> dict[str, Any]:
    reader: dict[str, Any] = {"Resource": LIST_OBJECTS, "Parameters": {"Bucket": bucket, "Prefix": prefix}}
    if reader_config:
        reader["ReaderConfig"] = reader_config
    return reader


def writer(prefix: str = "results", **writer_config: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Resource": PUT_OBJECT, "Parameters": {"Bucket": BUCKET, "Prefix": prefix}}
    if writer_config:
        out["WriterConfig"] = writer_config
    return out


def items_of(n: int, failing: set[int] = frozenset()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    return [{"id": i, "fail": i in failing} for i in range(n)]


def event_types(execution: stepmap.Execution) -> list[str]:
    return [e["type"] for e in execution.history]


def map_run_arn_of(execution: stepmap.Execution) -> str:
    started = [e for e in execution.history if e["type"] == "MapRunStarted"]
    assert len(started) == 1, event_types(execution)
    arn = started[0]["mapRunStartedEventDetails"]["mapRunArn"]
    assert MAP_RUN_ARN.match(arn), arn
    return str(arn)


def assert_failed(execution: stepmap.Execution, error: str, cause: str | None = None) -> None:
    assert execution.status == "FAILED", (execution.status, execution.output)
    assert execution.error == error, (execution.error, execution.cause)
    if cause is not None:
        assert execution.cause == cause
    else:
        assert execution.cause  # every failure says what went wrong


@dataclass
class Results:
    """What a ResultWriter left in the store for one Map Run."""

    manifest_key: str
    manifest: dict[str, Any]
    files: dict[str, bytes]  # key -> content, every object under <prefix>/<map-run-id>/

    def records(self, status: str, output_type: str = "JSON") -> list[Any]:
        out: list[Any] = []
        for entry in self.manifest["ResultFiles"][status]:
            data = self.files[entry["Key"]].decode()
            if output_type == "JSON":
                out.extend(json.loads(data))
            else:
                out.extend(json.loads(line) for line in data.splitlines() if line)
        return out


def results(env: Env, prefix: str, map_run_arn: str) -> Results:
    run_id = map_run_arn.rsplit(":", 1)[1]
    folder = f"{prefix}/{run_id}/"
    files = {info.key: env.store.get(BUCKET, info.key) for info in env.store.list(BUCKET, folder)}
    manifest_key = folder + "manifest.json"
    assert manifest_key in files, sorted(files)
    return Results(manifest_key, json.loads(files[manifest_key]), files)


# -- item readers, end to end ------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_list_objects_v2_yields_one_item_per_object_in_key_order(env: Env, executor: str) -> None:
    env.store.put(BUCKET, "in/b.txt", b"bb")
    env.store.put(BUCKET, "in/a.txt", b"a")
    env.store.put(BUCKET, "in/sub/c.txt", b"ccc")
    env.store.put(BUCKET, "other.txt", b"x")
    ex = env.run(machine("echo", ItemReader=listing("in/")), executor=executor)
    assert ex.status == "SUCCEEDED", ex.cause
    assert [item["Key"] for item in ex.output] == ["in/a.txt", "in/b.txt", "in/sub/c.txt"]
    for item, body in zip(ex.output, [b"a", b"bb", b"ccc"], strict=True):
        assert set(item) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
        assert item["Etag"] == '"' + hashlib.md5(body).hexdigest() + '"'
        assert item["Size"] == len(body)
        assert item["StorageClass"] == "STANDARD"
        assert isinstance(item["LastModified"], int) and abs(item["LastModified"] - time.time()) < 600


def test_list_objects_v2_reads_every_page(env: Env) -> None:
    # S3 pages at 1000 keys; AWS follows continuation tokens (1006 objects -> 1006 items)
    for i in range(1006):
        env.store.put(BUCKET, f"many/{i:05d}", b"")
    ex = env.run(machine(ItemReader=listing("many/"), ItemSelector={"k.$": "$$.Map.Item.Value.Key"}))
    assert ex.status == "SUCCEEDED", ex.cause
    assert [x["k"] for x in ex.output] == [f"many/{i:05d}" for i in range(1006)]


def test_list_objects_v2_empty_prefix_match_gives_empty_output(env: Env) -> None:
    env.store.put(BUCKET, "a.txt", b"a")
    ex = env.run(machine(ItemReader=listing("nothing-here/")))
    assert (ex.status, ex.output) == ("SUCCEEDED", [])


@pytest.mark.parametrize("executor", EXECUTORS)
def test_csv_first_row_headers_values_stay_strings_quotes_and_whitespace(env: Env, executor: str) -> None:
    env.store.put(
        BUCKET,
        "data.csv",
        b'name,city,amount\n"Smith, John","New York",10\nJane, Paris ,"2,5"\n"say ""hi""",,007\n',
    )
    ex = env.run(
        machine("echo", ItemReader=get_object("data.csv", "CSV", CSVHeaderLocation="FIRST_ROW")),
        executor=executor,
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {"name": "Smith, John", "city": "New York", "amount": "10"},
        {"name": "Jane", "city": " Paris ", "amount": "2,5"},
        {"name": 'say "hi"', "city": "", "amount": "007"},
    ]


@pytest.mark.parametrize(
    ("delimiter", "sep"), [("COMMA", ","), ("PIPE", "|"), ("SEMICOLON", ";"), ("SPACE", " "), ("TAB", "\t")]
)
def test_csv_given_headers_with_each_delimiter(env: Env, delimiter: str, sep: str) -> None:
    env.store.put(BUCKET, "given.csv", f"1{sep}x\n2{sep}y\n".encode())
    reader = get_object(
        "given.csv", "CSV", CSVHeaderLocation="GIVEN", CSVHeaders=["num", "letter"], CSVDelimiter=delimiter
    )
    ex = env.run(machine(ItemReader=reader))
    assert ex.status == "SUCCEEDED", ex.cause
    # with GIVEN headers the first row is data, not a header
    assert ex.output == [{"num": "1", "letter": "x"}, {"num": "2", "letter": "y"}]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_json_array_items(env: Env, executor: str) -> None:
    env.put_json("arr.json", [{"a": 1}, [2, 3], "four", 5, None, True])
    ex = env.run(machine("echo", ItemReader=get_object("arr.json", "JSON")), executor=executor)
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [{"a": 1}, [2, 3], "four", 5, None, True]


def test_json_items_pointer_selects_the_nested_array(env: Env) -> None:
    env.put_json("nested.json", {"meta": {"n": 3}, "data": {"items": [{"x": 1}, {"x": 2}, {"x": 3}]}})
    ex = env.run(machine(ItemReader=get_object("nested.json", "JSON", ItemsPointer="/data/items")))
    assert (ex.status, ex.output) == ("SUCCEEDED", [{"x": 1}, {"x": 2}, {"x": 3}])


@pytest.mark.parametrize("executor", EXECUTORS)
def test_jsonl_one_item_per_line_blank_lines_skipped(env: Env, executor: str) -> None:
    env.store.put(BUCKET, "lines.jsonl", b'{"a": 1}\n\n[1, 2]\n"s"\n\n{"a": 2}\n')
    ex = env.run(machine("echo", ItemReader=get_object("lines.jsonl", "JSONL")), executor=executor)
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [{"a": 1}, [1, 2], "s", {"a": 2}]


@pytest.mark.parametrize("config", [{"InputType": "MANIFEST"}, {"ManifestType": "S3_INVENTORY"}])
def test_s3_inventory_manifest_items(env: Env, config: dict[str, str]) -> None:
    rows = [
        '"bkt","photos/a.jpg","1024","2024-01-02T03:04:05.000Z"\n',
        '"bkt","photos/b, c.jpg","0","2024-02-03T04:05:06.000Z"\n',
    ]
    env.store.put(BUCKET, "inv/data/part-1.csv.gz", gzip.compress(rows[0].encode()))
    env.store.put(BUCKET, "inv/data/part-2.csv.gz", gzip.compress(rows[1].encode()))
    env.put_json(
        "inv/manifest.json",
        {
            "sourceBucket": BUCKET,
            "destinationBucket": f"arn:aws:s3:::{BUCKET}",
            "version": "2016-11-30",
            "creationTimestamp": "1704164645000",
            "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, Size, LastModifiedDate",
            "files": [
                {"key": f"inv/data/part-{i}.csv.gz", "size": 1, "MD5checksum": "0" * 32} for i in (1, 2)
            ],
        },
    )
    reader = {
        "Resource": GET_OBJECT,
        "ReaderConfig": config,
        "Parameters": {"Bucket": BUCKET, "Key": "inv/manifest.json"},
    }
    ex = env.run(machine(ItemReader=reader))
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {
            "Bucket": "bkt",
            "Key": "photos/a.jpg",
            "Size": "1024",
            "LastModifiedDate": "2024-01-02T03:04:05.000Z",
        },
        {
            "Bucket": "bkt",
            "Key": "photos/b, c.jpg",
            "Size": "0",
            "LastModifiedDate": "2024-02-03T04:05:06.000Z",
        },
    ]


def test_parquet_rows_become_objects(env: Env) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", None], "score": [1.5, 2.0, -3.25]})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=2)  # two row groups: both must be read
    env.store.put(BUCKET, "rows.parquet", buf.getvalue())
    ex = env.run(machine(ItemReader=get_object("rows.parquet", "PARQUET")))
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {"id": 1, "name": "a", "score": 1.5},
        {"id": 2, "name": "b", "score": 2.0},
        {"id": 3, "name": None, "score": -3.25},
    ]


def test_list_objects_v2_load_and_flatten_concatenates_contents_in_key_order(env: Env) -> None:
    env.put_json("parts/2.json", [3, 4])
    env.put_json("parts/1.json", [1, 2])
    env.put_json("elsewhere.json", [99])
    reader = listing("parts/", InputType="JSON", Transformation="LOAD_AND_FLATTEN")
    ex = env.run(machine(ItemReader=reader))
    assert (ex.status, ex.output) == ("SUCCEEDED", [1, 2, 3, 4])


@pytest.mark.parametrize("executor", EXECUTORS)
def test_items_path_from_state_input(env: Env, executor: str) -> None:
    ex = env.run(
        machine("square", ItemsPath="$.work.numbers"),
        {"work": {"numbers": [{"n": 2}, {"n": 3}]}},
        executor=executor,
    )
    assert (ex.status, ex.output) == ("SUCCEEDED", [4, 9])


# -- MaxItems --------------------------------------------------------------------------------------


def test_max_items_counts_csv_data_rows_not_the_header(env: Env) -> None:
    env.store.put(BUCKET, "rows.csv", b"h\n1\n2\n3\n4\n")
    ex = env.run(machine(ItemReader=get_object("rows.csv", "CSV", CSVHeaderLocation="FIRST_ROW", MaxItems=2)))
    assert (ex.status, ex.output) == ("SUCCEEDED", [{"h": "1"}, {"h": "2"}])


def test_max_items_limits_the_items_read(env: Env) -> None:
    env.put_jsonl("ten.jsonl", list(range(10)))
    ex = env.run(machine(ItemReader=get_object("ten.jsonl", "JSONL", MaxItems=3)))
    assert (ex.status, ex.output) == ("SUCCEEDED", [0, 1, 2])


def test_max_items_larger_than_the_data_reads_everything(env: Env) -> None:
    env.put_jsonl("ten.jsonl", list(range(10)))
    ex = env.run(machine(ItemReader=get_object("ten.jsonl", "JSONL", MaxItems=100)))
    assert (ex.status, ex.output) == ("SUCCEEDED", list(range(10)))


def test_max_items_path_and_listing(env: Env) -> None:
    for key in ("k/a", "k/b", "k/c"):
        env.store.put(BUCKET, key, b"")
    ex = env.run(
        machine(
            ItemReader=listing("k/", MaxItemsPath="$.limit"), ItemSelector={"key.$": "$$.Map.Item.Value.Key"}
        ),
        {"limit": 2},
    )
    assert (ex.status, ex.output) == ("SUCCEEDED", [{"key": "k/a"}, {"key": "k/b"}])


@pytest.mark.parametrize("limit", [0, -1])
def test_max_items_path_not_positive_is_item_reader_failed(env: Env, limit: int) -> None:
    env.put_jsonl("ten.jsonl", list(range(10)))
    ex = env.run(
        machine(ItemReader=get_object("ten.jsonl", "JSONL", MaxItemsPath="$.limit")), {"limit": limit}
    )
    assert_failed(ex, "States.ItemReaderFailed", "field MaxItems must be positive")


def test_static_max_items_zero_is_rejected(env: Env) -> None:
    problems = stepmap.validate(machine(ItemReader=get_object("x.jsonl", "JSONL", MaxItems=0)))
    assert any("MaxItems" in str(p) for p in problems), problems


# -- ItemSelector and the context object -----------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_item_selector_reads_index_value_source_and_state_input(env: Env, executor: str) -> None:
    env.put_jsonl("sel.jsonl", [{"v": "a"}, {"v": "b"}])
    selector = {
        "index.$": "$$.Map.Item.Index",
        "value.$": "$$.Map.Item.Value",
        "source.$": "$$.Map.Item.Source",
        "letter.$": "$$.Map.Item.Value.v",
        "tag.$": "$.tag",
        "fixed": 7,
    }
    ex = env.run(
        machine("echo", ItemReader=get_object("sel.jsonl", "JSONL"), ItemSelector=selector),
        {"tag": "T"},
        executor=executor,
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {"index": i, "value": {"v": v}, "source": "S3://bkt/sel.jsonl", "letter": v, "tag": "T", "fixed": 7}
        for i, v in enumerate("ab")
    ]


def test_item_source_is_state_data_for_items_path_and_bucket_for_listing(env: Env) -> None:
    selector = {"source.$": "$$.Map.Item.Source", "index.$": "$$.Map.Item.Index"}
    ex = env.run(machine(ItemsPath="$.xs", ItemSelector=selector), {"xs": [10, 20]})
    assert (ex.status, ex.output) == (
        "SUCCEEDED",
        [{"source": "STATE_DATA", "index": 0}, {"source": "STATE_DATA", "index": 1}],
    )
    env.store.put(BUCKET, "p/one", b"1")
    ex = env.run(machine(ItemReader=listing("p/"), ItemSelector=selector))
    assert (ex.status, ex.output) == ("SUCCEEDED", [{"source": "S3://bkt", "index": 0}])


# -- ItemBatcher -----------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_item_batcher_max_items_with_batch_input(env: Env, executor: str) -> None:
    env.put_jsonl("five.jsonl", [{"n": i} for i in range(5)])
    ex = env.run(
        machine(
            "echo",
            ItemReader=get_object("five.jsonl", "JSONL"),
            ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"job": "j1"}},
        ),
        executor=executor,
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {"BatchInput": {"job": "j1"}, "Items": [{"n": 0}, {"n": 1}]},
        {"BatchInput": {"job": "j1"}, "Items": [{"n": 2}, {"n": 3}]},
        {"BatchInput": {"job": "j1"}, "Items": [{"n": 4}]},
    ]


def test_item_batcher_without_batch_input_and_with_item_selector(env: Env) -> None:
    ex = env.run(
        machine(
            "echo",
            ItemsPath="$.xs",
            ItemSelector={"x.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            ItemBatcher={"MaxItemsPerBatchPath": "$.per"},
        ),
        {"xs": ["a", "b", "c"], "per": 2},
    )
    assert ex.status == "SUCCEEDED", ex.cause
    # ItemSelector runs per item before batching; without BatchInput the child gets only Items
    assert ex.output == [{"Items": [{"x": "a", "i": 0}, {"x": "b", "i": 1}]}, {"Items": [{"x": "c", "i": 2}]}]


def test_item_batcher_byte_cap_keeps_every_batch_under_the_cap(env: Env) -> None:
    # every item serializes to 40 bytes: two fit in 100 bytes with any JSON framing, three never do
    values = [{"k": "x" * 32} for _ in range(7)]
    assert all(len(json.dumps(v, separators=(",", ":"))) == 40 for v in values)
    ex = env.run(
        machine("echo", ItemsPath="$.xs", ItemBatcher={"MaxInputBytesPerBatch": 100}), {"xs": values}
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert [len(batch["Items"]) for batch in ex.output] == [2, 2, 2, 1]
    assert [item for batch in ex.output for item in batch["Items"]] == values


def test_item_batcher_both_caps_the_smaller_wins(env: Env) -> None:
    values = [{"k": "x" * 32} for _ in range(6)]
    batcher = {"MaxItemsPerBatch": 5, "MaxInputBytesPerBatch": 100}
    ex = env.run(machine(ItemsPath="$.xs", ItemBatcher=batcher), {"xs": values})
    assert ex.status == "SUCCEEDED", ex.cause
    assert [len(batch["Items"]) for batch in ex.output] == [2, 2, 2]
    ex = env.run(
        machine(ItemsPath="$.xs", ItemBatcher={"MaxItemsPerBatch": 1, "MaxInputBytesPerBatch": 1000}),
        {"xs": values},
    )
    assert [len(batch["Items"]) for batch in ex.output] == [1] * 6


# -- results in item order; the 256 KiB limit ----------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_results_are_in_item_order(env: Env, executor: str) -> None:
    env.put_jsonl("nums.jsonl", [{"n": i} for i in range(300)])
    ex = env.run(machine("square", ItemReader=get_object("nums.jsonl", "JSONL")), executor=executor)
    assert (ex.status, ex.output) == ("SUCCEEDED", [i * i for i in range(300)])


def test_twenty_thousand_items_keep_order_and_counters(env: Env) -> None:
    n = 20_000
    env.put_jsonl("big.jsonl", list(range(n)))
    service = StepmapService(
        executor="local", store=env.store_root, state_dir=env.state_dir, code_paths=(str(ROOT),)
    )
    ex = service.start_execution(machine(ItemReader=get_object("big.jsonl", "JSONL")), {})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == list(range(n))
    assert len(service.map_runs) == 1
    described = service.map_runs[0].describe()
    assert described["status"] == "SUCCEEDED"
    for counters in (described["itemCounts"], described["executionCounts"]):
        assert counters["total"] == n
        assert counters["succeeded"] == n
        assert counters["resultsWritten"] == n
        assert (counters["pending"], counters["running"], counters["failed"]) == (0, 0, 0)
        assert (counters["timedOut"], counters["aborted"]) == (0, 0)


def test_output_over_256_kib_without_result_writer_is_data_limit_exceeded(env: Env) -> None:
    env.put_jsonl("wide.jsonl", ["y" * 1000 for _ in range(300)])  # about 300 KB of outputs
    definition = machine(
        ItemReader=get_object("wide.jsonl", "JSONL"),
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        next_states={"Caught": {"Type": "Succeed"}},
    )
    ex = env.run(definition)
    # States.DataLimitExceeded is terminal: States.ALL does not catch it
    assert_failed(
        ex,
        "States.DataLimitExceeded",
        "The state/task 'ProcessAll' returned a result with a size exceeding the maximum number of bytes "
        "service limit.",
    )


def test_large_results_fit_when_written_to_the_store(env: Env) -> None:
    env.put_jsonl("wide.jsonl", ["y" * 1000 for _ in range(300)])
    ex = env.run(machine(ItemReader=get_object("wide.jsonl", "JSONL"), ResultWriter=writer("big")))
    assert ex.status == "SUCCEEDED", ex.cause
    res = results(env, "big", ex.output["MapRunArn"])
    assert [json.loads(r["Output"]) for r in res.records("SUCCEEDED")] == ["y" * 1000] * 300


# -- tolerated failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_default_no_tolerance_one_failure_fails_the_map_run(env: Env, executor: str) -> None:
    ex = env.run(machine("fail_marked", ItemsPath="$.xs"), {"xs": items_of(5, {3})}, executor=executor)
    assert_failed(ex, THRESHOLD, THRESHOLD_CAUSE)
    types = event_types(ex)
    assert "MapRunFailed" in types and "MapRunSucceeded" not in types
    assert types.index("MapRunStarted") < types.index("MapRunFailed") < types.index("MapStateFailed")
    assert types[-1] == "ExecutionFailed"


@pytest.mark.parametrize(
    ("fields", "n", "failures", "status"),
    [
        ({"ToleratedFailureCount": 2}, 10, 2, "SUCCEEDED"),  # at the threshold
        ({"ToleratedFailureCount": 2}, 10, 3, "FAILED"),  # one past it
        ({"ToleratedFailureCount": 0}, 10, 1, "FAILED"),
        ({"ToleratedFailurePercentage": 20}, 10, 2, "SUCCEEDED"),  # 20% of 10 = 2
        ({"ToleratedFailurePercentage": 20}, 10, 3, "FAILED"),
        ({"ToleratedFailurePercentage": 15}, 10, 1, "SUCCEEDED"),  # 10% <= 15%
        ({"ToleratedFailurePercentage": 15}, 10, 2, "FAILED"),  # 20% > 15%
        ({"ToleratedFailurePercentage": 25}, 8, 2, "SUCCEEDED"),  # exactly 25%
        ({"ToleratedFailurePercentage": 25}, 8, 3, "FAILED"),
        ({"ToleratedFailurePercentage": 100}, 4, 4, "SUCCEEDED"),  # 100 never fails
        ({"ToleratedFailurePercentage": 0}, 4, 1, "FAILED"),
        # both given: the run fails when either is exceeded
        ({"ToleratedFailureCount": 5, "ToleratedFailurePercentage": 10}, 10, 2, "FAILED"),
        ({"ToleratedFailureCount": 1, "ToleratedFailurePercentage": 50}, 10, 2, "FAILED"),
        ({"ToleratedFailureCount": 2, "ToleratedFailurePercentage": 20}, 10, 2, "SUCCEEDED"),
        ({"ToleratedFailureCountPath": "$.tc"}, 10, 2, "SUCCEEDED"),
        ({"ToleratedFailureCountPath": "$.tc"}, 10, 3, "FAILED"),
        ({"ToleratedFailurePercentagePath": "$.tp"}, 10, 3, "SUCCEEDED"),
        ({"ToleratedFailurePercentagePath": "$.tp"}, 10, 4, "FAILED"),
    ],
)
def test_tolerated_failure_thresholds(
    env: Env, fields: dict[str, Any], n: int, failures: int, status: str
) -> None:
    # spread out (1, 3, 5, ...) when there is room, else the first items
    failing = set(range(1, 2 * failures, 2)) if 2 * failures <= n else set(range(failures))
    assert len(failing) == failures and max(failing) < n
    ex = env.run(
        machine("fail_marked", ItemsPath="$.xs", **fields), {"xs": items_of(n, failing), "tc": 2, "tp": 30}
    )
    if status == "FAILED":
        assert_failed(ex, THRESHOLD, THRESHOLD_CAUSE)
        return
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    # The successful children's outputs keep item order. Whether AWS also lists the tolerated failures in
    # the state output (as full records, per the ResultWriter page's note on failed children) is not
    # documented clearly, so either form is accepted here.
    failure_records = [e for e in ex.output if isinstance(e, dict) and "Error" in e]
    successes = [e for e in ex.output if e not in failure_records]
    assert successes == [{"id": i, "fail": False} for i in range(n) if i not in failing]
    assert len(failure_records) in (0, failures)
    assert all(r.get("Status") == "FAILED" and r["Error"] == "ItemFailed" for r in failure_records)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_tolerated_count_on_the_local_executor(env: Env, executor: str) -> None:
    xs = items_of(12, {0, 11})
    ok = env.run(
        machine("fail_marked", ItemsPath="$.xs", ToleratedFailureCount=2), {"xs": xs}, executor=executor
    )
    assert ok.status == "SUCCEEDED", ok.cause
    xs = items_of(12, {0, 5, 11})
    bad = env.run(
        machine("fail_marked", ItemsPath="$.xs", ToleratedFailureCount=2), {"xs": xs}, executor=executor
    )
    assert_failed(bad, THRESHOLD, THRESHOLD_CAUSE)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"ToleratedFailureCount": 2}, "SUCCEEDED"),  # one failed batch of 2 = 2 failed items
        ({"ToleratedFailureCount": 1}, "FAILED"),  # ... which is past 1
        ({"ToleratedFailurePercentage": 20}, "SUCCEEDED"),  # 2 of 10 items
        ({"ToleratedFailurePercentage": 19}, "FAILED"),
    ],
)
def test_a_failed_batch_counts_all_its_items(env: Env, fields: dict[str, Any], status: str) -> None:
    # 10 items in batches of 2; one item in the third batch fails, so that whole batch (2 items) fails
    definition = machine("fail_marked", ItemsPath="$.xs", ItemBatcher={"MaxItemsPerBatch": 2}, **fields)
    ex = env.run(definition, {"xs": items_of(10, {5})})
    if status == "FAILED":
        assert_failed(ex, THRESHOLD, THRESHOLD_CAUSE)
    else:
        assert ex.status == "SUCCEEDED", (ex.error, ex.cause)


def test_failed_batch_item_counts_in_the_map_run(env: Env) -> None:
    service = StepmapService(
        executor="sync", store=env.store_root, state_dir=env.state_dir, functions=FUNCTIONS
    )
    definition = machine(
        "fail_marked", ItemsPath="$.xs", ItemBatcher={"MaxItemsPerBatch": 3}, ToleratedFailureCount=3
    )
    ex = service.start_execution(definition, {"xs": items_of(9, {4})})
    assert ex.status == "SUCCEEDED", ex.cause
    described = service.map_runs[0].describe()
    assert (described["itemCounts"]["failed"], described["itemCounts"]["succeeded"]) == (3, 6)
    assert (described["executionCounts"]["failed"], described["executionCounts"]["succeeded"]) == (1, 2)
    assert (described["itemCounts"]["total"], described["executionCounts"]["total"]) == (9, 3)


@pytest.mark.parametrize(
    ("fields", "input", "cause"),
    [
        ({"ToleratedFailureCountPath": "$.v"}, {"v": -1}, "ToleratedFailureCount cannot be negative."),
        (
            {"ToleratedFailurePercentagePath": "$.v"},
            {"v": 100.5},
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            {"ToleratedFailurePercentagePath": "$.v"},
            {"v": -1},
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
    ],
)
def test_out_of_range_tolerance_from_a_path_is_states_runtime(
    env: Env, fields: dict[str, Any], input: dict[str, Any], cause: str
) -> None:
    definition = machine(
        ItemsPath="$.xs",
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        next_states={"Caught": {"Type": "Succeed"}},
        **fields,
    )
    ex = env.run(definition, {"xs": [1, 2], **input})
    # States.Runtime is not caught by States.ALL
    assert_failed(ex, "States.Runtime", cause)


def test_non_integer_tolerated_count_from_a_path_is_states_runtime(env: Env) -> None:
    ex = env.run(machine(ItemsPath="$.xs", ToleratedFailureCountPath="$.v"), {"xs": [1], "v": "lots"})
    assert_failed(ex, "States.Runtime")
    assert "is not a valid integer" in (ex.cause or "")


@pytest.mark.parametrize(
    "fields",
    [
        {"ToleratedFailureCount": -1},
        {"ToleratedFailurePercentage": 101},
        {"ToleratedFailurePercentage": -0.5},
    ],
)
def test_static_out_of_range_tolerance_is_a_definition_error(env: Env, fields: dict[str, Any]) -> None:
    definition = machine(ItemsPath="$.xs", **fields)
    problems = stepmap.validate(definition)
    assert [p for p in problems if p.severity == "ERROR" and next(iter(fields)) in str(p)], problems
    with pytest.raises(stepmap.DefinitionError):
        env.run(definition, {"xs": [1]})


# -- Catch on the Map state ------------------------------------------------------------------------


@pytest.mark.parametrize("errors", [[THRESHOLD], ["States.ALL"]])
def test_catch_exceed_tolerated_failure_threshold(env: Env, errors: list[str]) -> None:
    definition = machine(
        "fail_marked",
        ItemsPath="$.xs",
        ToleratedFailureCount=0,
        Catch=[{"ErrorEquals": errors, "ResultPath": "$.error", "Next": "Recovered"}],
        next_states={"Recovered": {"Type": "Pass", "End": True}},
    )
    ex = env.run(definition, {"xs": items_of(3, {1})})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output["error"] == {"Error": THRESHOLD, "Cause": THRESHOLD_CAUSE}
    assert ex.output["xs"] == items_of(3, {1})


def test_catch_item_reader_failed(env: Env) -> None:
    definition = machine(
        ItemReader=get_object("absent.json", "JSON"),
        Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Recovered"}],
        next_states={"Recovered": {"Type": "Pass", "End": True}},
    )
    ex = env.run(definition, {"x": 1})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output["Error"] == "States.ItemReaderFailed" and ex.output["Cause"]


# -- reader failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reader",
    [
        get_object("absent.json", "JSON"),
        {
            "Resource": GET_OBJECT,
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": "no-such-bucket", "Key": "a.json"},
        },
        listing("", bucket="no-such-bucket"),
    ],
    ids=["missing-object", "missing-bucket", "listing-missing-bucket"],
)
def test_missing_bucket_or_object_is_item_reader_failed(env: Env, reader: dict[str, Any]) -> None:
    ex = env.run(machine(ItemReader=reader))
    assert_failed(ex, "States.ItemReaderFailed")
    assert "Traceback" not in (ex.cause or "")


@pytest.mark.parametrize(
    ("key", "body", "input_type", "config", "cause"),
    [
        (
            "dup.csv",
            b"a,b,a\n1,2,3\n",
            "CSV",
            {"CSVHeaderLocation": "FIRST_ROW"},
            "CSV headers cannot contain duplicates.",
        ),
        ("num.json", b"42", "JSON", {}, "Attempting to map over non-iterable node."),
        ("str.json", b'"text"', "JSON", {}, "Attempting to map over non-iterable node."),
        ("bad.json", b'[{"a": 1}, ', "JSON", {}, None),
        ("bad.jsonl", b'{"a": 1}\nnot json\n{"a": 3}\n', "JSONL", {}, None),
        ("bad.parquet", b"PAR1 this is not parquet", "PARQUET", {}, None),
    ],
    ids=[
        "csv-duplicate-headers",
        "json-number",
        "json-string",
        "json-truncated",
        "jsonl-bad-line",
        "parquet-garbage",
    ],
)
def test_malformed_input_is_item_reader_failed(
    env: Env, key: str, body: bytes, input_type: str, config: dict[str, Any], cause: str | None
) -> None:
    env.store.put(BUCKET, key, body)
    ex = env.run(machine(ItemReader=get_object(key, input_type, **config)))
    assert_failed(ex, "States.ItemReaderFailed", cause)
    assert "Traceback" not in (ex.cause or "")


# -- ResultWriter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_result_writer_layout_manifest_and_none_records(env: Env, executor: str) -> None:
    env.put_jsonl("in.jsonl", [{"n": i} for i in range(4)])
    ex = env.run(
        machine("square", ItemReader=get_object("in.jsonl", "JSONL"), ResultWriter=writer("out/jobs")),
        executor=executor,
    )
    assert ex.status == "SUCCEEDED", ex.cause
    arn = ex.output["MapRunArn"]
    run_id = MAP_RUN_ARN.match(arn)["id"]  # type: ignore[index]
    assert ex.output == {
        "MapRunArn": arn,
        "ResultWriterDetails": {"Bucket": BUCKET, "Key": f"out/jobs/{run_id}/manifest.json"},
    }
    assert arn == map_run_arn_of(ex)
    res = results(env, "out/jobs", arn)
    assert sorted(res.files) == [f"out/jobs/{run_id}/SUCCEEDED_0.json", f"out/jobs/{run_id}/manifest.json"]
    assert res.manifest == {
        "DestinationBucket": BUCKET,
        "MapRunArn": arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [
                {
                    "Key": f"out/jobs/{run_id}/SUCCEEDED_0.json",
                    "Size": len(res.files[f"out/jobs/{run_id}/SUCCEEDED_0.json"]),
                }
            ],
        },
    }
    records = res.records("SUCCEEDED")
    assert sorted(json.loads(r["Input"])["n"] for r in records) == [0, 1, 2, 3]
    for record in records:
        assert set(record) >= NONE_RECORD_KEYS, record
        n = json.loads(record["Input"])["n"]
        assert isinstance(record["Output"], str) and json.loads(record["Output"]) == n * n
        assert record["Status"] == "SUCCEEDED"
        assert record["InputDetails"] == {"Included": True} and record["OutputDetails"] == {"Included": True}
        assert record["RedriveCount"] == 0
        assert ":execution:" in record["ExecutionArn"] and record["ExecutionArn"].endswith(
            ":" + record["Name"]
        )
        assert ":stateMachine:" in record["StateMachineArn"]
        assert "Error" not in record
    assert len({r["ExecutionArn"] for r in records}) == 4  # every child is its own execution


def test_result_writer_with_batches_writes_one_record_per_child_execution(env: Env) -> None:
    definition = machine(
        "echo", ItemsPath="$.xs", ItemBatcher={"MaxItemsPerBatch": 2}, ResultWriter=writer("batches")
    )
    ex = env.run(definition, {"xs": [1, 2, 3, 4, 5]})
    assert ex.status == "SUCCEEDED", ex.cause
    records = results(env, "batches", ex.output["MapRunArn"]).records("SUCCEEDED")
    inputs = sorted((json.loads(r["Input"]) for r in records), key=lambda batch: batch["Items"][0])
    assert inputs == [{"Items": [1, 2]}, {"Items": [3, 4]}, {"Items": [5]}]
    assert all(json.loads(r["Output"]) == json.loads(r["Input"]) for r in records)


def test_result_writer_failed_records_and_tolerated_failures(env: Env) -> None:
    definition = machine("fail_marked", ItemsPath="$.xs", ToleratedFailureCount=1, ResultWriter=writer("tol"))
    ex = env.run(definition, {"xs": items_of(4, {2})})
    assert ex.status == "SUCCEEDED", ex.cause
    res = results(env, "tol", ex.output["MapRunArn"])
    assert [e["Key"].rsplit("/", 1)[1] for e in res.manifest["ResultFiles"]["FAILED"]] == ["FAILED_0.json"]
    assert res.manifest["ResultFiles"]["PENDING"] == []
    failed = res.records("FAILED")
    assert len(failed) == 1
    record = failed[0]
    assert record["Status"] == "FAILED"
    assert record["Error"] == "ItemFailed"
    assert "marked to fail" in record["Cause"]
    assert json.loads(record["Input"]) == {"id": 2, "fail": True}
    assert "Output" not in record or record["Output"] in (None, "")
    assert sorted(json.loads(r["Input"])["id"] for r in res.records("SUCCEEDED")) == [0, 1, 3]


@pytest.mark.parametrize("output_type", ["JSON", "JSONL"])
@pytest.mark.parametrize(
    ("transformation", "handler", "expected"),
    [
        ("COMPACT", "square", [0, 1, 4]),
        ("FLATTEN", "pair", [0, 0, 1, -1, 2, -2]),
        ("FLATTEN", "square", [0, 1, 4]),  # non-array outputs are kept as they are
    ],
)
def test_result_writer_transformations_and_output_types(
    env: Env, output_type: str, transformation: str, handler: str, expected: list[Any]
) -> None:
    definition = machine(
        handler,
        ItemsPath="$.xs",
        ResultWriter=writer("fmt", OutputType=output_type, Transformation=transformation),
    )
    ex = env.run(definition, {"xs": [{"n": 0}, {"n": 1}, {"n": 2}]})
    assert ex.status == "SUCCEEDED", ex.cause
    res = results(env, "fmt", ex.output["MapRunArn"])
    (entry,) = res.manifest["ResultFiles"]["SUCCEEDED"]
    assert entry["Key"].endswith("/SUCCEEDED_0.json")  # the .json name is kept for JSONL too
    data = res.files[entry["Key"]].decode()
    if output_type == "JSON":
        assert json.loads(data) == expected
    else:
        lines = [line for line in data.split("\n") if line]
        assert [json.loads(line) for line in lines] == expected


def test_result_writer_jsonl_none_records_one_per_line(env: Env) -> None:
    definition = machine(
        "square", ItemsPath="$.xs", ResultWriter=writer("nl", OutputType="JSONL", Transformation="NONE")
    )
    ex = env.run(definition, {"xs": [{"n": 5}, {"n": 6}]})
    assert ex.status == "SUCCEEDED", ex.cause
    res = results(env, "nl", ex.output["MapRunArn"])
    records = res.records("SUCCEEDED", "JSONL")
    assert len(records) == 2
    assert all(set(r) >= NONE_RECORD_KEYS for r in records)
    assert sorted(json.loads(r["Output"]) for r in records) == [25, 36]


def test_compact_keeps_failed_records_whole(env: Env) -> None:
    definition = machine(
        "fail_marked",
        ItemsPath="$.xs",
        ToleratedFailureCount=1,
        ResultWriter=writer("cf", OutputType="JSON", Transformation="COMPACT"),
    )
    ex = env.run(definition, {"xs": items_of(3, {0})})
    assert ex.status == "SUCCEEDED", ex.cause
    res = results(env, "cf", ex.output["MapRunArn"])
    assert res.records("SUCCEEDED") == [{"id": 1, "fail": False}, {"id": 2, "fail": False}]
    (failed,) = res.records("FAILED")
    assert failed["Status"] == "FAILED" and failed["Error"] == "ItemFailed"


@pytest.mark.parametrize(
    ("transformation", "handler", "expected"),
    [("FLATTEN", "pair", [1, -1, 2, -2]), ("COMPACT", "pair", [[1, -1], [2, -2]])],
)
def test_writer_config_alone_formats_the_state_output(
    env: Env, transformation: str, handler: str, expected: list[Any]
) -> None:
    definition = machine(
        handler,
        ItemsPath="$.xs",
        ResultWriter={"WriterConfig": {"Transformation": transformation, "OutputType": "JSON"}},
    )
    ex = env.run(definition, {"xs": [{"n": 1}, {"n": 2}]})
    assert (ex.status, ex.output) == ("SUCCEEDED", expected)
    assert list(env.store.list(BUCKET)) == []  # nothing exported without Resource and Parameters


def test_writer_config_none_alone_gives_full_records(env: Env) -> None:
    definition = machine(
        "square",
        ItemsPath="$.xs",
        ResultWriter={"WriterConfig": {"Transformation": "NONE", "OutputType": "JSON"}},
    )
    ex = env.run(definition, {"xs": [{"n": 3}]})
    assert ex.status == "SUCCEEDED", ex.cause
    (record,) = ex.output
    assert set(record) >= NONE_RECORD_KEYS
    assert json.loads(record["Output"]) == 9


@pytest.mark.parametrize("executor", EXECUTORS)
def test_pending_records_after_an_early_failure(env: Env, executor: str) -> None:
    n = 30
    xs = items_of(n, {0})
    definition = machine("fail_marked", ItemsPath="$.xs", MaxConcurrency=1, ResultWriter=writer("early"))
    ex = env.run(definition, {"xs": xs}, executor=executor)
    assert_failed(ex, THRESHOLD, THRESHOLD_CAUSE)
    res = results(env, "early", map_run_arn_of(ex))
    assert [e["Key"].rsplit("/", 1)[1] for e in res.manifest["ResultFiles"]["PENDING"]] == ["PENDING_0.json"]
    pending = res.records("PENDING")
    assert pending, "items never started must be written as PENDING"
    for record in pending:
        assert record["Status"] == "PENDING"
        assert record["InputDetails"] == {"Included": True}
        assert isinstance(record["Input"], str)
    failed = res.records("FAILED")
    assert {"id": 0, "fail": True} in [json.loads(r["Input"]) for r in failed]
    # every item is accounted for exactly once across the three kinds of file
    seen = [
        json.loads(r["Input"])["id"] for kind in ("SUCCEEDED", "FAILED", "PENDING") for r in res.records(kind)
    ]
    assert sorted(seen) == list(range(n))


def test_result_writer_to_a_missing_bucket_is_result_writer_failed(env: Env) -> None:
    out = {"Resource": PUT_OBJECT, "Parameters": {"Bucket": "no-such-bucket", "Prefix": "p"}}
    ex = env.run(machine(ItemsPath="$.xs", ResultWriter=out), {"xs": [1]})
    assert_failed(ex, "States.ResultWriterFailed")


# -- MaxConcurrency --------------------------------------------------------------------------------


def intervals(folder: Path) -> list[dict[str, int]]:
    return sorted((json.loads(p.read_text()) for p in folder.glob("*.json")), key=lambda r: r["index"])


def timed_run(env: Env, fields: dict[str, Any], n: int, input: dict[str, Any]) -> list[dict[str, int]]:
    """Run ``n`` children that record their start and end on a pool of 4 workers; return the spans.

    Four workers (more than the 2 tests usually get) so that a concurrency limit of 2 is the engine's doing
    and not the pool's; ``n`` large enough that the engine cannot fit every child into one chunk.
    """
    folder = env.tmp / "times"
    folder.mkdir()
    service = StepmapService(
        executor="local",
        max_workers=4,
        functions=FUNCTIONS,
        code_paths=(str(ROOT),),
        store=env.store_root,
        state_dir=env.state_dir,
    )
    selector = {"index.$": "$$.Map.Item.Index", "dir.$": "$.dir"}
    definition = machine("record_interval", ItemsPath="$.xs", ItemSelector=selector, **fields)
    ex = service.start_execution(definition, {"xs": list(range(n)), "dir": str(folder), **input})
    assert (ex.status, ex.output) == ("SUCCEEDED", list(range(n))), ex.cause
    spans = intervals(folder)
    assert [s["index"] for s in spans] == list(range(n))
    return spans


def most_at_once(spans: list[dict[str, int]]) -> int:
    return max(sum(1 for o in spans if o["start"] <= s["start"] < o["end"]) for s in spans)


def test_max_concurrency_one_runs_children_one_at_a_time_in_order(env: Env) -> None:
    spans = timed_run(env, {"MaxConcurrency": 1}, 16, {})
    for before, after in itertools.pairwise(spans):
        assert after["start"] >= before["end"], (before, after)  # no overlap, and in item order


def test_max_concurrency_path_two_never_runs_more_than_two(env: Env) -> None:
    assert most_at_once(timed_run(env, {"MaxConcurrencyPath": "$.mc"}, 40, {"mc": 2})) <= 2


# -- Map Run identity, processor settings, history -------------------------------------------------


def test_label_names_the_map_run_and_defaults_to_the_state_name(env: Env) -> None:
    ex = env.run(machine(ItemsPath="$.xs", Label="Batch42", ResultWriter=writer()), {"xs": [1]})
    assert ex.status == "SUCCEEDED", ex.cause
    assert MAP_RUN_ARN.match(ex.output["MapRunArn"])["label"] == "Batch42"  # type: ignore[index]
    ex = env.run(machine(ItemsPath="$.xs", ResultWriter=writer()), {"xs": [1]})
    assert MAP_RUN_ARN.match(ex.output["MapRunArn"])["label"] == "ProcessAll"  # type: ignore[index]


def test_each_map_run_has_its_own_id(env: Env) -> None:
    a = env.run(machine(ItemsPath="$.xs", ResultWriter=writer()), {"xs": [1]})
    b = env.run(machine(ItemsPath="$.xs", ResultWriter=writer()), {"xs": [1]})
    assert a.output["MapRunArn"] != b.output["MapRunArn"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_express_children(env: Env, executor: str) -> None:
    definition = machine(ItemsPath="$.xs")
    definition["States"]["ProcessAll"]["ItemProcessor"] = processor("square", execution_type="EXPRESS")
    ex = env.run(definition, {"xs": [{"n": 4}, {"n": 5}]}, executor=executor)
    assert (ex.status, ex.output) == ("SUCCEEDED", [16, 25])


def test_result_selector_and_result_path_apply_to_the_map_output(env: Env) -> None:
    definition = machine(
        "square",
        ItemsPath="$.xs",
        ResultSelector={"squares.$": "$", "count.$": "States.ArrayLength($)"},
        ResultPath="$.result",
    )
    ex = env.run(definition, {"xs": [{"n": 1}, {"n": 3}]})
    assert (ex.status, ex.output) == (
        "SUCCEEDED",
        {"xs": [{"n": 1}, {"n": 3}], "result": {"squares": [1, 9], "count": 2}},
    )


def test_history_of_a_successful_map_run(env: Env) -> None:
    ex = env.run(machine(ItemsPath="$.xs"), {"xs": [1, 2, 3]})
    assert ex.status == "SUCCEEDED", ex.cause
    types = event_types(ex)
    expected = [
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
    ]
    assert [t for t in types if t.startswith("Map")] == expected
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    map_run_arn_of(ex)
    # child executions have their own histories: no per-item events in the parent's
    assert not any(t.startswith("MapIteration") or t.startswith("Pass") for t in types)


def test_history_of_a_failed_map_run(env: Env) -> None:
    ex = env.run(machine("fail_marked", ItemsPath="$.xs"), {"xs": items_of(2, {0})})
    assert_failed(ex, THRESHOLD)
    map_events = [e for e in ex.history if e["type"].startswith("Map")]
    assert [e["type"] for e in map_events] == [
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunFailed",
        "MapStateFailed",
    ]
    failed = next(e for e in map_events if e["type"] == "MapRunFailed")
    details = failed.get("mapRunFailedEventDetails", {})
    assert details.get("error") == THRESHOLD, failed


def _ids(events: list[dict[str, Any]]) -> Iterator[tuple[int, int]]:
    for e in events:
        yield e["id"], e["previousEventId"]


def test_history_event_ids_are_sequential(env: Env) -> None:
    ex = env.run(machine(ItemsPath="$.xs"), {"xs": [1]})
    for n, (event_id, previous) in enumerate(_ids(ex.history), start=1):
        assert (event_id, previous) == (n, n - 1)
