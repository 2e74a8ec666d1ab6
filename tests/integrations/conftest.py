"""Fixtures for the integration tests: dummy AWS credentials and no developer configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.storage.conftest import _dummy_aws, aws_endpoint  # noqa: F401  (a session fixture)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _dummy_aws(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """The in-process (sync) executor exports the service's STEPMAP_* settings into os.environ for its
    handlers; put the environment back so later tests in this worker do not inherit this test's store."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
