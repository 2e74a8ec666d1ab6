"""A real local Ray cluster for the ``ray`` tests: a head node and one more worker node, on loopback.

Started with ``ray start`` (the commands docs/cluster.md gives), stopped with ``ray stop`` at the end.
The nodes get dummy AWS credentials in their environment, as a real cluster's nodes would get theirs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray(*args: str, env: dict[str, str]) -> None:
    subprocess.run([RAY, *args], check=True, env=env, capture_output=True, timeout=180)


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "RAY_USAGE_STATS_ENABLED": "0",
        # The test cluster lives on this machine only; token authentication (Ray >= 2.5x) is left off so
        # that the nodes and this driver agree without a shared token file.
        "RAY_AUTH_MODE": "disabled",
    }
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE",)}
    os.environ.update({k: env[k] for k in saved})  # the driver (this process) authenticates the same way
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    _ray("start", "--head", f"--port={port}", "--include-dashboard=false", *common, env=env)
    try:
        _ray("start", f"--address={address}", *common, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until both nodes have joined
            status = subprocess.run(
                [RAY, "status", f"--address={address}"], capture_output=True, text=True, env=env
            )
            if status.stdout.count("node_") >= 2:
                break
            time.sleep(1)
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
