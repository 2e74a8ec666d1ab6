"""An endpoint on loopback over a fresh state directory, and clients for it with dummy credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from stepmap.endpoints import EndpointContext, EndpointServer, build_server


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def endpoint(state_dir: Path) -> Iterator[EndpointServer]:
    with build_server(
        EndpointContext.from_options(store=str(state_dir / "s3"), state_dir=str(state_dir))
    ) as server:
        yield server


@pytest.fixture
def store_root(state_dir: Path) -> Path:
    return state_dir / "s3"


def s3_client(url: str, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="stepmap",
        aws_secret_access_key="stepmap",
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture
def s3(endpoint: EndpointServer) -> Any:
    return s3_client(endpoint.url)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment for the AWS CLI: dummy credentials, no configuration from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="stepmap",
        AWS_SECRET_ACCESS_KEY="stepmap",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return env
