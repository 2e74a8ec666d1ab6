"""What start-up loads (issue 16): ``import stepmap`` loads none of the engine, and ``stepmap run`` of a
machine without handlers starts no endpoint and imports neither boto3 nor the Distributed Map runner.
Checked on ``sys.modules`` of a fresh interpreter, never on a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
from stepmap.cli import main
sys.argv = ["stepmap", "run", sys.argv[1], "--state-dir", sys.argv[2], "--store", sys.argv[3], "-q"]
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = ("boto3", "botocore", "stepmap.endpoints", "stepmap.dashboard", "stepmap.templates",
         "stepmap.interpreter.distributed.runner")
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_import_stepmap_loads_only_the_package() -> None:
    code = (
        "import stepmap, sys; print(sorted(m for m in sys.modules if m.startswith(('stepmap', 'asyncio'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['stepmap']"


def test_run_of_a_pass_machine_loads_no_endpoint_nor_boto3(tmp_path: Path) -> None:
    definition = tmp_path / "pass.asl.json"
    definition.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(definition), str(tmp_path / "state"), str(tmp_path / "s3")],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert json.loads("\n".join(lines[:-1])) == {}  # the execution's output
    assert json.loads(lines[-1]) == {"code": 0, "loaded": []}
