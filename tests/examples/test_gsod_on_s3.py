"""The GSOD example end to end on S3 and DynamoDB protocol servers (moto, loopback), against the reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.gsod.generate import iter_files
from examples.gsod.reference import monthly_max_reference

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "gsod" / "workflow.asl.json"


@pytest.mark.parametrize("executor", ["local"])
def test_gsod_workflow_on_s3_and_dynamodb_matches_the_reference(
    executor: str, aws_endpoint: str, aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from stepmap.functions import FunctionRegistry
    from stepmap.service.runner import StepmapService
    from stepmap.storage.handles import clear_cache

    monkeypatch.setenv("STEPMAP_TABLES", "dynamodb")
    monkeypatch.setenv("STEPMAP_DYNAMODB_ENDPOINT", aws_endpoint)
    clear_cache()
    functions = FunctionRegistry()
    functions.register_module("examples.gsod.handlers")
    service = StepmapService(
        functions=functions,
        executor=executor,
        store="s3://",
        s3_endpoint=aws_endpoint,
        state_dir=str(tmp_path / "state"),
    )
    bucket = f"gsod-{tmp_path.name.lower().replace('_', '-')[-20:]}"
    service.store.create_bucket(bucket)
    files = list(iter_files(files=120, seed=3))
    for key, data in files:
        service.store.put(bucket, key, data)

    execution = service.start_execution(str(WORKFLOW), {"bucket": bucket, "prefix": ""})

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    expected = monthly_max_reference(files)
    got = {row["month"]: (row["station"], row["date"], row["temp"]) for row in execution.output}
    assert got == {month: (w["station"], w["date"], w["temp"]) for month, w in expected.items()}
    manifests = [
        info.key for info in service.store.list(bucket, "results/") if info.key.endswith("manifest.json")
    ]
    assert len(manifests) == 1
    clear_cache()
