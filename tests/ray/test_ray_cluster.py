"""stepmap on a real local Ray cluster (head + one worker node): same results as the local pool, and a
Ray worker killed mid-run loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from examples.gsod.generate import iter_files
from stepmap.functions import FunctionRegistry
from stepmap.service.runner import StepmapService
from stepmap.storage.handles import clear_cache
from tests.faults.maps import jsonl_map, result_records

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
GSOD = ROOT / "examples" / "gsod"


def _service(
    executor: str, endpoint: str, tmp: Path, ray_address: str | None = None, **kw: object
) -> StepmapService:
    functions = FunctionRegistry()
    functions.register_module("examples.gsod.handlers")
    for name, target in kw.pop("functions", {}).items():  # type: ignore[attr-defined]
        functions.register(name, target)
    return StepmapService(
        functions=functions,
        executor=executor,
        store="s3://",
        s3_endpoint=endpoint,
        state_dir=str(tmp / f"state-{executor}"),
        ray_address=ray_address,
        code_paths=(str(GSOD),),
    )


def test_gsod_on_ray_with_s3_equals_the_local_pool(
    ray_cluster: str, aws_endpoint: str, aws_env: None, tmp_path: Path
) -> None:
    clear_cache()
    ray_service = _service("ray", aws_endpoint, tmp_path, ray_cluster)
    assert ray_service.workers == 2  # both nodes' CPUs
    bucket = "gsod-on-ray"
    ray_service.store.create_bucket(bucket)
    for key, data in iter_files(files=150, seed=5):
        ray_service.store.put(bucket, key, data)
    on_ray = ray_service.start_execution(str(GSOD / "workflow.asl.json"), {"bucket": bucket, "prefix": ""})
    assert on_ray.status == "SUCCEEDED", (on_ray.error, on_ray.cause)

    local = _service("local", aws_endpoint, tmp_path).start_execution(
        str(GSOD / "workflow.asl.json"), {"bucket": bucket, "prefix": ""}
    )
    assert local.status == "SUCCEEDED", (local.error, local.cause)
    assert on_ray.output == local.output
    (map_run,) = ray_service.map_runs
    assert map_run.items.succeeded == 150 and map_run.items.results_written == 150


def _ray_worker_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-f", "ray::_call"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_ray_worker_killed_mid_run_loses_and_duplicates_nothing(
    ray_cluster: str, aws_endpoint: str, aws_env: None, tmp_path: Path
) -> None:
    clear_cache()
    service = _service(
        "ray",
        aws_endpoint,
        tmp_path,
        ray_cluster,
        functions={"slow_echo": "tests.faults.fault_handlers:slow_echo"},
    )
    bucket = "ray-faults"
    n = 2000
    service.store.create_bucket(bucket)
    service.store.put(bucket, "items.jsonl", "".join(json.dumps({"id": i}) + "\n" for i in range(n)).encode())
    definition = jsonl_map(bucket, "slow_echo")
    kills: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline and len(kills) < 2:
            time.sleep(0.5)
            for pid in _ray_worker_pids()[:1]:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        execution = service.start_execution(definition, {})
    finally:
        stop.set()
        thread.join()
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert kills, "the test must actually kill a Ray worker"
    records = result_records(service.store, bucket, execution.output["ResultWriterDetails"]["Key"])
    ids = [record["id"] for record in records]
    assert ids == list(range(n))
    (map_run,) = service.map_runs
    assert map_run.items.succeeded == n and map_run.items.results_written == n and map_run.items.total == n


def test_wordfreq_on_ray_with_s3_equals_the_local_pool(
    ray_cluster: str, aws_endpoint: str, aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from examples.wordfreq.demo import FUNCTIONS, NOVEL, definition
    from examples.wordfreq.reference import reference_topk

    # The results table must be shared by every node: DynamoDB (moto) rather than a SQLite file.
    monkeypatch.setenv("STEPMAP_TABLES", "dynamodb")
    monkeypatch.setenv("STEPMAP_DYNAMODB_ENDPOINT", aws_endpoint)
    clear_cache()
    text = Path(NOVEL).read_bytes()
    outputs = {}
    for executor in ("ray", "local"):
        service = StepmapService(
            functions=FunctionRegistry(FUNCTIONS),
            executor=executor,
            store="s3://",
            s3_endpoint=aws_endpoint,
            state_dir=str(tmp_path / f"state-{executor}"),
            ray_address=ray_cluster if executor == "ray" else None,
        )
        if not service.store.bucket_exists("text"):
            service.store.create_bucket("text")
            service.store.put("text", "novel.txt", text)
        execution = service.start_execution(
            definition(block_size=32 * 1024), {"bucket": "text", "key": "novel.txt"}
        )
        assert execution.status == "SUCCEEDED", (executor, execution.error, execution.cause)
        outputs[executor] = execution.output
    assert outputs["ray"] == outputs["local"]
    expected = reference_topk(text)
    assert {int(k): [tuple(pair) for pair in v] for k, v in outputs["ray"].items()} == {
        length: [tuple(pair) for pair in top] for length, top in expected.items()
    }


def test_two_functions_with_colliding_module_names_on_ray(ray_cluster: str, tmp_path: Path) -> None:
    """Both nodes run both functions (a Distributed Map whose children call F1 then F2): each call loads
    its own folder's ``app`` and ``helper``, in the same Ray worker process; asyncio works in them."""
    from stepmap.functions import FunctionSpec, HandlerRef

    functions = FunctionRegistry()
    for folder in ("f1", "f2"):
        code = tmp_path / folder
        code.mkdir()
        (code / "helper.py").write_text(f"WHO = 'helper of {folder}'\n")
        (code / "app.py").write_text(
            "import asyncio\nimport os\nimport helper\n\n\nasync def who():\n    return helper.WHO\n\n\n"
            "def lambda_handler(event, context):\n"
            + (
                "    who_am_i = asyncio.run(who())\n"  # F1 one way, F2 the other, in turn in each worker
                if folder == "f1"
                else "    who_am_i = asyncio.get_event_loop().run_until_complete(who())\n"
            )
            + f"    return {{**event, '{folder}': who_am_i, '{folder}_env': os.environ.get('WHICH')}}\n"
        )
        spec = FunctionSpec(
            folder.upper(), HandlerRef("app", "lambda_handler"), str(code), environment=(("WHICH", folder),)
        )
        functions.add(spec)
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "One",
        "States": {
            "One": {"Type": "Task", "Resource": "F1", "Next": "Two"},
            "Two": {"Type": "Task", "Resource": "F2", "End": True},
        },
    }
    machine = {
        "StartAt": "Map",
        "States": {"Map": {"Type": "Map", "ItemProcessor": processor, "ItemsPath": "$.items", "End": True}},
    }
    service = StepmapService(
        functions=functions, executor="ray", state_dir=str(tmp_path / "state"), ray_address=ray_cluster
    )
    execution = service.start_execution(machine, {"items": [{"i": i} for i in range(40)]})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output == [
        {"i": i, "f1": "helper of f1", "f1_env": "f1", "f2": "helper of f2", "f2_env": "f2"}
        for i in range(40)
    ]


def test_the_issues_collision_command_on_ray(ray_cluster: str, tmp_path: Path) -> None:
    """`stepmap run m.json --code f1 --function F1=app:lambda_handler --code f2 --function F2=...` with
    --executor ray: each function runs its own folder's app.py."""
    import sys

    for folder in ("f1", "f2"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "app.py").write_text(
            f"def lambda_handler(event, context):\n    return {{**event, '{folder}': True}}\n"
        )
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "F1", "Next": "B"},
            "B": {"Type": "Task", "Resource": "F2", "End": True},
        },
    }
    (tmp_path / "m.json").write_text(json.dumps(machine))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "run", "m.json", "--code", "f1", "--function",
         "F1=app:lambda_handler", "--code", "f2", "--function", "F2=app:lambda_handler",
         "--executor", "ray", "--ray-address", ray_cluster, "--state-dir", "st", "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {"f1": True, "f2": True}
