"""Fixtures for the integration tests: dummy AWS credentials and no developer configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.storage.conftest import _dummy_aws, aws_endpoint  # noqa: F401  (a session fixture)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _dummy_aws(monkeypatch, tmp_path)
