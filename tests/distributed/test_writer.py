"""The Distributed Map ResultWriter: AWS's layout, record shapes, transformations, rollover, failures.

The expected records are written out by hand from AWS's documented export (reference section 2.4 and
the ResultWriter page's SUCCEEDED_0.json example), not taken from the writer's output.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from stepmap.errors import EngineError, StatesError
from stepmap.interpreter.distributed.records import ChildResult
from stepmap.interpreter.distributed.writer import ResultWriter
from stepmap.storage.local import LocalObjectStore

BUCKET = "results"
RUN_ID = "4977ded7-b097-3bee-81e1-7863c5660f29"
MAP_RUN_ARN = f"arn:aws:states:us-east-1:123456789012:mapRun:orders/getOrders:{RUN_ID}"
SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders/getOrders"
START = datetime(2025, 2, 4, 13, 13, 43, 541000, tzinfo=UTC)
STOP = datetime(2025, 2, 4, 13, 13, 43, 843999, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Any) -> LocalObjectStore:
    s = LocalObjectStore(tmp_path / "s3")
    s.create_bucket(BUCKET)
    return s


@pytest.fixture
def tmp_dir(tmp_path: Any) -> str:
    path = tmp_path / "tmp"
    path.mkdir()
    return str(path)


def child(index: int, status: str = "SUCCEEDED", output: Any = None, **extra: Any) -> ChildResult:
    name = f"00000000-0000-0000-0000-{index:012d}"
    fields: dict[str, Any] = {
        "index": index,
        "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:orders/getOrders:{name}",
        "name": name,
        "state_machine_arn": SM_ARN,
        "status": status,
        "input_json": json.dumps({"order_id": str(index)}),
        "start_date": START,
        "stop_date": STOP,
    }
    if status == "SUCCEEDED":
        fields["output_json"] = json.dumps(
            output if output is not None else {"order_id": str(index), "ok": True}
        )
    fields.update(extra)
    return ChildResult(**fields)


def writer(store: Any, tmp_dir: str, **options: Any) -> ResultWriter:
    options.setdefault("prefix", "out")
    return ResultWriter(
        store, bucket=BUCKET, map_run_arn=MAP_RUN_ARN, map_run_id=RUN_ID, tmp_dir=tmp_dir, **options
    )


def keys(store: LocalObjectStore) -> list[str]:
    return [info.key for info in store.list(BUCKET)]


def read_json(store: LocalObjectStore, key: str) -> Any:
    return json.loads(store.get(BUCKET, key))


def read_jsonl(store: LocalObjectStore, key: str) -> list[Any]:
    text = store.get(BUCKET, key).decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


# -- layout and records -----------------------------------------------------------------------------


def test_layout_manifest_and_state_output(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir)
    w.write(child(0))
    w.write(child(1, "FAILED", error="States.TaskFailed", cause="boom"))
    w.write(child(2))
    w.write(child(3, "PENDING", start_date=None, stop_date=None))
    details = w.close()
    folder = f"out/{RUN_ID}"
    assert details == {"Bucket": BUCKET, "Key": f"{folder}/manifest.json"}
    assert keys(store) == [
        f"{folder}/FAILED_0.json",
        f"{folder}/PENDING_0.json",
        f"{folder}/SUCCEEDED_0.json",
        f"{folder}/manifest.json",
    ]
    size = {key: store.head(BUCKET, key).size for key in keys(store)}
    assert read_json(store, f"{folder}/manifest.json") == {
        "DestinationBucket": BUCKET,
        "MapRunArn": MAP_RUN_ARN,
        "ResultFiles": {
            "FAILED": [{"Key": f"{folder}/FAILED_0.json", "Size": size[f"{folder}/FAILED_0.json"]}],
            "PENDING": [{"Key": f"{folder}/PENDING_0.json", "Size": size[f"{folder}/PENDING_0.json"]}],
            "SUCCEEDED": [{"Key": f"{folder}/SUCCEEDED_0.json", "Size": size[f"{folder}/SUCCEEDED_0.json"]}],
        },
    }
    assert [r["Name"] for r in read_json(store, f"{folder}/SUCCEEDED_0.json")] == [
        child(0).name,
        child(2).name,
    ]
    assert w.results_written == 4
    assert os.listdir(tmp_dir) == []


def test_succeeded_record_has_aws_shape(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir)
    w.write(
        ChildResult(
            index=0,
            execution_arn="arn:aws:states:us-east-1:123456789012:execution:orders/getOrders:da4e9fc7",
            name="da4e9fc7",
            state_machine_arn=SM_ARN,
            status="SUCCEEDED",
            input_json='{"order_id":"1234567"}',
            output_json='{"order_id":"1234567","status":"SUCCEEDED"}',
            start_date=START,
            stop_date=STOP,
        )
    )
    w.close()
    [record] = read_json(store, f"out/{RUN_ID}/SUCCEEDED_0.json")
    assert record == {
        "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:orders/getOrders:da4e9fc7",
        "Input": '{"order_id":"1234567"}',
        "InputDetails": {"Included": True},
        "Name": "da4e9fc7",
        "Output": '{"order_id":"1234567","status":"SUCCEEDED"}',
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StartDate": "2025-02-04T13:13:43.541Z",
        "StateMachineArn": SM_ARN,
        "Status": "SUCCEEDED",
        "StopDate": "2025-02-04T13:13:43.843Z",
    }
    assert list(record) == sorted(record)  # AWS writes the keys in alphabetical order


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_failed_timed_out_and_aborted_children_go_to_failed_files(
    store: LocalObjectStore, tmp_dir: str, status: str
) -> None:
    w = writer(store, tmp_dir)
    w.write(child(7, status, error="States.Timeout" if status == "TIMED_OUT" else "Oops", cause="why"))
    w.close()
    [record] = read_json(store, f"out/{RUN_ID}/FAILED_0.json")
    assert record == {
        "Cause": "why",
        "Error": "States.Timeout" if status == "TIMED_OUT" else "Oops",
        "ExecutionArn": child(7).execution_arn,
        "Input": '{"order_id": "7"}',
        "InputDetails": {"Included": True},
        "Name": child(7).name,
        "RedriveCount": 0,
        "RedriveStatus": "REDRIVABLE",
        "StartDate": "2025-02-04T13:13:43.541Z",
        "StateMachineArn": SM_ARN,
        "Status": status,
        "StopDate": "2025-02-04T13:13:43.843Z",
    }
    assert list(record) == sorted(record)


def test_pending_record(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir)
    w.write(ChildResult(5, "", "", SM_ARN, "PENDING", '{"order_id": "5"}'))
    w.close()
    assert read_json(store, f"out/{RUN_ID}/PENDING_0.json") == [
        {"Input": '{"order_id": "5"}', "InputDetails": {"Included": True}, "Status": "PENDING"}
    ]


def test_dates_are_utc_milliseconds(store: LocalObjectStore, tmp_dir: str) -> None:
    naive = datetime(2023, 4, 27, 21, 22, 28, 712345)  # treated as UTC
    plus_two = datetime(2023, 4, 27, 23, 22, 28, 775000, tzinfo=timezone(timedelta(hours=2)))
    w = writer(store, tmp_dir)
    w.write(child(0, start_date=naive, stop_date=plus_two))
    w.close()
    [record] = read_json(store, f"out/{RUN_ID}/SUCCEEDED_0.json")
    assert (record["StartDate"], record["StopDate"]) == (
        "2023-04-27T21:22:28.712Z",
        "2023-04-27T21:22:28.775Z",
    )


# -- transformations and output types ---------------------------------------------------------------


def test_compact_records_only_outputs_failures_stay_full(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, transformation="COMPACT")
    w.write(child(0, output={"a": 1}))
    w.write(child(1, output=[1, 2]))
    w.write(child(2, "FAILED", error="E", cause="C"))
    w.write(child(3, output="text"))
    w.close()
    assert read_json(store, f"out/{RUN_ID}/SUCCEEDED_0.json") == [{"a": 1}, [1, 2], "text"]
    [failed] = read_json(store, f"out/{RUN_ID}/FAILED_0.json")
    assert (failed["Error"], failed["Cause"], failed["Status"]) == ("E", "C", "FAILED")
    assert failed["ExecutionArn"] == child(2).execution_arn


def test_flatten_spreads_array_outputs_one_level(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, transformation="FLATTEN")
    w.write(child(0, output=[1, 2]))
    w.write(child(1, output={"k": "v"}))
    w.write(child(2, output=[[3], [4, 5]]))
    w.write(child(3, output=[]))
    w.write(child(4, "FAILED", error="E", cause="C"))
    w.close()
    assert read_json(store, f"out/{RUN_ID}/SUCCEEDED_0.json") == [1, 2, {"k": "v"}, [3], [4, 5]]
    assert read_json(store, f"out/{RUN_ID}/FAILED_0.json")[0]["Error"] == "E"
    assert w.records_written == 6 and w.results_written == 5


def test_jsonl_one_record_per_line_file_names_keep_json(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, output_type="JSONL")
    w.write(child(0))
    w.write(child(1, "FAILED", error="E", cause="line one\nline two"))
    w.write(child(2))
    w.close()
    assert keys(store) == [
        f"out/{RUN_ID}/FAILED_0.json",
        f"out/{RUN_ID}/SUCCEEDED_0.json",
        f"out/{RUN_ID}/manifest.json",
    ]
    succeeded = read_jsonl(store, f"out/{RUN_ID}/SUCCEEDED_0.json")
    assert [r["Name"] for r in succeeded] == [child(0).name, child(2).name]
    assert succeeded[0]["Output"] == child(0).output_json
    [failed] = read_jsonl(store, f"out/{RUN_ID}/FAILED_0.json")
    assert failed["Cause"] == "line one\nline two"
    manifest = read_json(store, f"out/{RUN_ID}/manifest.json")  # the manifest stays one JSON document
    assert manifest["ResultFiles"]["SUCCEEDED"][0]["Key"] == f"out/{RUN_ID}/SUCCEEDED_0.json"


def test_jsonl_compact_keeps_multiline_outputs_on_one_line(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, output_type="JSONL", transformation="COMPACT")
    w.write(child(0, output_json='{\n  "a": [1,\n 2]\n}'))
    w.write(child(1, output_json='"x"'))
    w.close()
    assert read_jsonl(store, f"out/{RUN_ID}/SUCCEEDED_0.json") == [{"a": [1, 2]}, "x"]


def test_jsonl_flatten(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, output_type="JSONL", transformation="FLATTEN")
    w.write(child(0, output=[{"a": 1}, {"b": 2}]))
    w.write(child(1, output=3))
    w.close()
    assert read_jsonl(store, f"out/{RUN_ID}/SUCCEEDED_0.json") == [{"a": 1}, {"b": 2}, 3]


# -- rollover ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("output_type", ["JSON", "JSONL"])
def test_rollover_at_max_file_bytes(store: LocalObjectStore, tmp_dir: str, output_type: str) -> None:
    limit = 100
    w = writer(store, tmp_dir, output_type=output_type, transformation="COMPACT", max_file_bytes=limit)
    outputs = [{"n": n, "pad": "x" * (n % 40)} for n in range(40)]
    for n, out in enumerate(outputs):
        w.write(child(n, output=out))
        # bounded disk: at most one temporary file per category at any time
        assert len(os.listdir(tmp_dir)) <= 1
    w.write(child(99, output={"big": "y" * 300}))  # larger than a file: gets a file of its own
    w.close()
    manifest = read_json(store, f"out/{RUN_ID}/manifest.json")
    files = manifest["ResultFiles"]["SUCCEEDED"]
    assert [f["Key"] for f in files] == [f"out/{RUN_ID}/SUCCEEDED_{n}.json" for n in range(len(files))]
    assert len(files) > 5
    records: list[Any] = []
    for entry in files:
        body = store.get(BUCKET, entry["Key"])
        assert entry["Size"] == len(body)
        part = read_json(store, entry["Key"]) if output_type == "JSON" else read_jsonl(store, entry["Key"])
        assert part  # no empty files
        if entry is not files[-1]:
            assert len(body) <= limit
        records.extend(part)
    assert records == [*outputs, {"big": "y" * 300}]
    assert files[-1]["Size"] > limit


def test_rollover_is_per_category(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, max_file_bytes=900)
    for n in range(6):
        w.write(child(n))
        w.write(child(100 + n, "FAILED", error="E", cause="C"))
    w.close()
    files = read_json(store, f"out/{RUN_ID}/manifest.json")["ResultFiles"]
    assert len(files["SUCCEEDED"]) >= 3 and len(files["FAILED"]) >= 3
    failed = [r for f in files["FAILED"] for r in read_json(store, f["Key"])]
    assert [r["Name"] for r in failed] == [child(100 + n).name for n in range(6)]


# -- prefix, redrive, empty runs --------------------------------------------------------------------


def test_redrive_writes_under_redrive_folder(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, redrive_count=2)
    w.write(child(0))
    details = w.close()
    folder = f"out/{RUN_ID}/Redrive-2"
    assert details == {"Bucket": BUCKET, "Key": f"{folder}/manifest.json"}
    assert keys(store) == [f"{folder}/SUCCEEDED_0.json", f"{folder}/manifest.json"]
    assert read_json(store, f"{folder}/SUCCEEDED_0.json")[0]["RedriveCount"] == 2


@pytest.mark.parametrize(
    ("prefix", "folder"), [("out/", f"out/{RUN_ID}"), ("", RUN_ID), ("a/b", f"a/b/{RUN_ID}")]
)
def test_prefix_forms(store: LocalObjectStore, tmp_dir: str, prefix: str, folder: str) -> None:
    w = writer(store, tmp_dir, prefix=prefix)
    w.write(child(0))
    assert w.close()["Key"] == f"{folder}/manifest.json"
    assert keys(store) == [f"{folder}/SUCCEEDED_0.json", f"{folder}/manifest.json"]


def test_empty_map_run_writes_only_the_manifest(store: LocalObjectStore, tmp_dir: str) -> None:
    details = writer(store, tmp_dir).close()
    assert keys(store) == [details["Key"]]
    assert read_json(store, details["Key"]) == {
        "DestinationBucket": BUCKET,
        "MapRunArn": MAP_RUN_ARN,
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": []},
    }


# -- store interaction and failures -----------------------------------------------------------------


class RecordingStore:
    """The local store, recording how each object arrived."""

    def __init__(self, inner: LocalObjectStore) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def move_file(self, bucket: str, key: str, path: str, md5: str | None = None) -> Any:
        self.calls.append(("move_file", key))
        return self.inner.move_file(bucket, key, path, md5)

    def put(self, bucket: str, key: str, data: bytes) -> Any:
        self.calls.append(("put", key))
        return self.inner.put(bucket, key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_result_files_are_moved_into_the_store_with_the_md5_computed_while_appending(
    store: LocalObjectStore, tmp_dir: str
) -> None:
    wrapped = RecordingStore(store)
    w = writer(wrapped, tmp_dir)
    for i in range(3):
        w.write(child(i))
    w.close()
    key = f"out/{RUN_ID}/SUCCEEDED_0.json"
    assert wrapped.calls == [("move_file", key), ("put", f"out/{RUN_ID}/manifest.json")]
    data = store.get(BUCKET, key)
    assert store.head(BUCKET, key).etag == f'"{hashlib.md5(data).hexdigest()}"'
    assert [r["Name"] for r in json.loads(data)] == [child(i).name for i in range(3)]
    assert os.listdir(tmp_dir) == []  # the temporary file was taken, not copied


def test_the_md5_survives_a_failed_upload_and_a_restore(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir, output_type="JSONL")
    w.write(child(0))
    state = w.state()
    w2 = writer(store, tmp_dir, output_type="JSONL")
    w2.restore(state)
    w2.write(child(1))
    w2.close()
    key = f"out/{RUN_ID}/SUCCEEDED_0.json"
    data = store.get(BUCKET, key)
    assert len(data.splitlines()) == 2
    assert store.head(BUCKET, key).etag == f'"{hashlib.md5(data).hexdigest()}"'


def test_missing_bucket_is_result_writer_failed_and_keeps_the_records_for_a_redrive(
    store: LocalObjectStore, tmp_dir: str
) -> None:
    w = ResultWriter(
        store,
        bucket="no-such-bucket",
        prefix="p",
        map_run_arn=MAP_RUN_ARN,
        map_run_id=RUN_ID,
        tmp_dir=tmp_dir,
    )
    w.write(child(0))
    w.write(child(1, "FAILED", error="E", cause="C"))
    assert len(os.listdir(tmp_dir)) == 2
    with pytest.raises(StatesError) as info:
        w.close()
    assert info.value.error == "States.ResultWriterFailed"
    assert "no-such-bucket" in (info.value.cause or "")
    assert len(os.listdir(tmp_dir)) == 2  # nothing lost: the records wait for a redrive
    state = w.state()
    assert state["closed"] is False
    store.create_bucket("no-such-bucket")  # the cause is fixed
    again = ResultWriter(
        store,
        bucket="no-such-bucket",
        prefix="p",
        map_run_arn=MAP_RUN_ARN,
        map_run_id=RUN_ID,
        tmp_dir=tmp_dir,
    )
    again.restore(state)
    details = again.close()
    manifest = json.loads(store.get("no-such-bucket", details["Key"]))
    files = manifest["ResultFiles"]
    assert [len(json.loads(store.get("no-such-bucket", f["Key"]))) for f in files["SUCCEEDED"]] == [1]
    assert [len(json.loads(store.get("no-such-bucket", f["Key"]))) for f in files["FAILED"]] == [1]
    assert os.listdir(tmp_dir) == []


def test_store_failure_during_rollover(store: LocalObjectStore, tmp_dir: str) -> None:
    w = ResultWriter(
        store,
        bucket="gone-bucket",
        prefix="",
        map_run_arn=MAP_RUN_ARN,
        map_run_id=RUN_ID,
        tmp_dir=tmp_dir,
        max_file_bytes=10,
    )
    w.write(child(0))
    with pytest.raises(StatesError, match="ResultWriterFailed"):
        w.write(child(1))  # the first file is finished and uploaded here
    w.abort()
    assert os.listdir(tmp_dir) == []


def test_engine_errors_pass_through(store: LocalObjectStore, tmp_dir: str) -> None:
    class Unreachable(RecordingStore):
        def put(self, bucket: str, key: str, data: bytes) -> Any:
            raise EngineError("store unreachable after retries")

    w = writer(Unreachable(store), tmp_dir)
    with pytest.raises(EngineError):
        w.close()


def test_abort_drops_temporary_files_and_uploads_nothing(store: LocalObjectStore, tmp_dir: str) -> None:
    w = writer(store, tmp_dir)
    for n in range(3):
        w.write(child(n))
    w.write(child(3, "PENDING"))
    assert os.listdir(tmp_dir)
    w.abort()
    w.abort()
    assert os.listdir(tmp_dir) == []
    assert keys(store) == []
    with pytest.raises(RuntimeError):
        w.write(child(4))


def test_close_twice_returns_the_same_details_and_write_after_close_fails(
    store: LocalObjectStore, tmp_dir: str
) -> None:
    w = writer(store, tmp_dir)
    w.write(child(0))
    first = w.close()
    assert w.close() == first
    with pytest.raises(RuntimeError):
        w.write(child(1))


def test_invalid_writer_config(store: LocalObjectStore, tmp_dir: str) -> None:
    with pytest.raises(StatesError, match="OutputType"):
        writer(store, tmp_dir, output_type="CSV")
    with pytest.raises(StatesError, match="Transformation"):
        writer(store, tmp_dir, transformation="SQUASH")
