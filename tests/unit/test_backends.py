"""Choosing an executor: names, and a one-line install hint when Ray is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stepmap.backends import make_executor
from stepmap.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_executor_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown executor 'gpu'"):
        make_executor("gpu")


def test_ray_executor_without_ray_installed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when it is not installed
    with pytest.raises(InputError, match=r"pip install 'stepmap\[ray\]'"):
        make_executor("ray")


def test_cli_executor_ray_without_ray_prints_one_line(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    hide_ray = tmp_path / "hide"
    hide_ray.mkdir()
    (hide_ray / "ray.py").write_text("raise ImportError('no ray here')\n")
    env = {"PYTHONPATH": f"{hide_ray}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "run", "m.json", "--executor", "ray"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "stepmap: --executor ray needs Ray, which is not installed: pip install 'stepmap[ray]'"
    ]
