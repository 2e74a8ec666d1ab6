"""Fixtures for the storage tests: a real S3/DynamoDB protocol server (moto) on loopback.

The server runs in this process, on 127.0.0.1 and a free port, for the whole session; tests
isolate themselves by using fresh bucket and table names. AWS credentials are dummies set per
test, so nothing here can reach AWS.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """URL of a moto server (S3 and DynamoDB) started for this session and stopped after it."""
    moto_server = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _dummy_aws(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and a region, and no AWS configuration from the developer's machine."""
    _dummy_aws(monkeypatch, tmp_path)


def dummy_client(service: str, endpoint: str) -> Any:
    """A boto3 client for ``endpoint`` with dummy credentials. Credentials are read when a client
    is built, so the dummy environment need not outlive this call."""
    from stepmap.storage.aws import make_client

    extra = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as folder:
        _dummy_aws(mp, Path(folder))
        return make_client(service, endpoint_url=endpoint, region=None, **extra)


@pytest.fixture(scope="session")
def aws_clients(aws_endpoint: str) -> dict[str, Any]:
    """One S3 and one DynamoDB client for the session: building a client costs a good part of a
    second, and the contract builds a store for every test."""
    return {"s3": dummy_client("s3", aws_endpoint), "dynamodb": dummy_client("dynamodb", aws_endpoint)}


@contextmanager
def fast_tempdir() -> Iterator[str]:
    """A temporary folder in memory when the machine has one: creating folders on this disk costs
    milliseconds each, and the local store makes one per key segment."""
    shm = "/dev/shm"
    folder = tempfile.mkdtemp(prefix="stepmap-test-", dir=shm if os.access(shm, os.W_OK) else None)
    try:
        yield folder
    finally:
        _remove_tree(folder)


def _remove_tree(top: str) -> None:
    """``shutil.rmtree`` without recursion: a key may nest a thousand folders deep."""
    stack = [(top, False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            os.rmdir(path)
            continue
        stack.append((path, True))
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, False))
            else:
                os.unlink(entry.path)


@pytest.fixture
def fast_tmp() -> Iterator[Path]:
    with fast_tempdir() as folder:
        yield Path(folder)


def unique_name(prefix: str) -> str:
    """A fresh bucket or table name: the moto server outlives every single test."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"
