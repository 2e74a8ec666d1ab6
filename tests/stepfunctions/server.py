"""`stepmap serve` as a child process on an ephemeral loopback port (bounded: killed at the end)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ServeProcess:
    def __init__(self, state_dir: str, *extra: str) -> None:
        self.state_dir = state_dir
        self.extra = extra
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> ServeProcess:
        env = {**os.environ, "PYTHONPATH": ROOT}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stepmap.cli", "serve", "--port", "0", "--state-dir", self.state_dir,
             "--functions", "tests.stepfunctions.handlers", *self.extra],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise AssertionError(f"stepmap serve exited ({self.proc.wait()})")
            found = re.search(r"on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                return self
        raise AssertionError("stepmap serve did not start within 60 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "stepfunctions",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(inject_host_prefix=False),
        )

    def aws(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        aws = os.path.join(os.path.dirname(sys.executable), "aws")
        return subprocess.run(
            [aws, "stepfunctions", *args, "--endpoint-url", self.url, "--output", "json"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
