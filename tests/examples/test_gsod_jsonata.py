"""The GSOD example in JSONata gives the JSONPath workflow's answer, on the local store, both executors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.gsod.generate import iter_files
from examples.gsod.reference import monthly_max_reference
from stepmap.asl.validate import validate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gsod"


def test_the_jsonata_workflow_is_a_valid_definition() -> None:
    definition = json.loads((EXAMPLE / "workflow.jsonata.asl.json").read_text())
    assert validate(definition) == []
    assert definition["QueryLanguage"] == "JSONata"


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_jsonata_and_jsonpath_workflows_give_the_same_answer(executor: str, tmp_path: Path) -> None:
    from stepmap.functions import FunctionRegistry
    from stepmap.service.runner import StepmapService

    functions = FunctionRegistry()
    functions.register_module("examples.gsod.handlers")
    service = StepmapService(
        functions=functions, executor=executor, state_dir=str(tmp_path / "state"), max_workers=2
    )
    service.store.create_bucket("gsod")
    files = list(iter_files(files=60, seed=5))
    for key, data in files:
        service.store.put("gsod", key, data)
    expected = monthly_max_reference(files)
    want = {month: (w["station"], w["date"], w["temp"]) for month, w in expected.items()}

    outputs = []
    for workflow in ("workflow.asl.json", "workflow.jsonata.asl.json"):
        execution = service.start_execution(str(EXAMPLE / workflow), {"bucket": "gsod", "prefix": ""})
        assert execution.status == "SUCCEEDED", (workflow, execution.error, execution.cause)
        got = {row["month"]: (row["station"], row["date"], row["temp"]) for row in execution.output}
        assert got == want, workflow
        outputs.append(execution.output)
    assert outputs[0] == outputs[1]
