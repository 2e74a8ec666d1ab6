"""Configuration to adapter, in one place: environment parsing, dispatch, install hints, and the
handler-facing handles with their per-process cache."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from stepmap.errors import InputError
from stepmap.storage import LocalObjectStore, SQLiteTable, StoreConfig, TableConfig, TableSchema, handles
from stepmap.storage.config import open_store, open_table
from tests.storage.conftest import unique_name

_ENV = (
    "STEPMAP_STORE",
    "STEPMAP_S3_ENDPOINT",
    "STEPMAP_STATE_DIR",
    "STEPMAP_TABLES",
    "STEPMAP_DYNAMODB_ENDPOINT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    handles.clear_cache()


def test_store_config_defaults_to_the_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert StoreConfig.from_env({}) == StoreConfig(url=str(tmp_path / ".stepmap" / "s3"))
    env = {"STEPMAP_STATE_DIR": "state", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert StoreConfig.from_env(env) == StoreConfig(url=str(tmp_path / "state" / "s3"), region="eu-west-1")
    assert StoreConfig.from_env({"STEPMAP_STORE": "data"}).url == str(tmp_path / "data")


def test_store_config_for_s3() -> None:
    env = {
        "STEPMAP_STORE": "s3://",
        "STEPMAP_S3_ENDPOINT": "http://127.0.0.1:9000",
        "AWS_REGION": "us-west-2",
    }
    config = StoreConfig.from_env(env)
    assert config == StoreConfig(url="s3://", endpoint_url="http://127.0.0.1:9000", region="us-west-2")
    assert config.scheme == "s3"
    assert pickle.loads(pickle.dumps(config)) == config


def test_table_config() -> None:
    assert TableConfig.from_env({"STEPMAP_STATE_DIR": "/srv/state"}) == TableConfig(
        path="/srv/state/tables.sqlite"
    )
    env = {"STEPMAP_TABLES": "DynamoDB", "STEPMAP_DYNAMODB_ENDPOINT": "http://127.0.0.1:8000"}
    config = TableConfig.from_env(env)
    assert (config.backend, config.endpoint_url) == ("dynamodb", "http://127.0.0.1:8000")
    assert pickle.loads(pickle.dumps(config)) == config
    with pytest.raises(InputError, match="STEPMAP_TABLES='mongo' is not a table backend"):
        TableConfig.from_env({"STEPMAP_TABLES": "mongo"})


def test_open_a_local_store(tmp_path: Path) -> None:
    for url in (str(tmp_path / "s3"), f"file://{tmp_path / 's3'}"):
        store = open_store(StoreConfig(url=url))
        assert isinstance(store, LocalObjectStore)
        assert store.root == str(tmp_path / "s3")


@pytest.mark.parametrize(
    ("url", "message"), [("s3://my-bucket", "give just s3://"), ("ftp://host", "unsupported")]
)
def test_bad_store_urls(url: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_store(StoreConfig(url=url))


def test_open_s3_and_dynamodb_from_config(aws_endpoint: str, aws_env: None) -> None:
    store = open_store(StoreConfig(url="s3://", endpoint_url=aws_endpoint))
    bucket = unique_name("cfg")
    store.create_bucket(bucket)
    store.put(bucket, "k", b"v")
    assert store.get(bucket, "k") == b"v"
    table = open_table(TableConfig(backend="dynamodb", endpoint_url=aws_endpoint), unique_name("cfg"))
    table.put_item({"pk": "a", "v": 1})
    assert table.get_item({"pk": "a"}) == {"pk": "a", "v": 1}


def test_missing_boto3_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what an environment without boto3 raises
    for module in ("stepmap.storage.s3", "stepmap.storage.dynamodb", "stepmap.storage.aws"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(InputError, match=r"pip install stepmap\[s3\]$"):
        open_store(StoreConfig(url="s3://"))
    with pytest.raises(InputError, match=r"DynamoDB tables needs boto3.*pip install stepmap\[s3\]"):
        open_table(TableConfig(backend="dynamodb"), "results")


def test_handles_read_the_environment_and_cache_per_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STEPMAP_STATE_DIR", str(tmp_path / "state"))
    store = handles.objects()
    assert isinstance(store, LocalObjectStore) and store.root == str(tmp_path / "state" / "s3")
    assert handles.objects() is store
    results = handles.table("results", partition_key="month")
    assert isinstance(results, SQLiteTable) and results.path == str(tmp_path / "state" / "tables.sqlite")
    assert handles.table("results", partition_key="month") is results
    assert handles.table("results", partition_key="month").schema == TableSchema("month")
    results.put_item({"month": "2020-01", "max": 99.5})
    monkeypatch.setenv("STEPMAP_STORE", str(tmp_path / "elsewhere"))
    assert handles.objects() is not store  # a new configuration opens a new adapter
    assert handles.objects().root == str(tmp_path / "elsewhere")  # type: ignore[attr-defined]


def _child_opens(queue: Any) -> None:
    queue.put(id(handles.objects()) != queue.get())


def test_a_forked_child_does_not_reuse_the_parents_adapter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import multiprocessing

    monkeypatch.setenv("STEPMAP_STATE_DIR", str(tmp_path))
    parent_id = id(handles.objects())
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    queue.put(parent_id)
    child = ctx.Process(target=_child_opens, args=(queue,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert queue.get(timeout=5) is True
    assert os.getpid() != child.pid
