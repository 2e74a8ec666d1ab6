"""The example apps (examples/apps) run unmodified, each with one `stepmap run --template ...` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "examples" / "apps"


def stepmap(*args: str, cwd: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    for name in ("STEPMAP_STORE", "STEPMAP_STATE_DIR", "STEPMAP_S3_ENDPOINT", "STEPMAP_TABLES"):
        env.pop(name, None)
    command = [sys.executable, "-m", "stepmap.cli", *args]
    if args[0] == "run":
        command += ["--state-dir", str(state)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def run_app(app: str, *args: str, tmp_path: Path) -> dict:
    result = stepmap("run", "--template", *args, cwd=APPS / app, state=tmp_path / "state")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("executor", ["sync", "local"])
def test_colliding_handlers_each_run_their_own_module(tmp_path: Path, executor: str) -> None:
    out = run_app(
        "colliding-handlers",
        "template.yaml",
        "--input",
        "@input.json",
        "--executor",
        executor,
        tmp_path=tmp_path,
    )
    assert out["priced"] == {"subtotal": 3 * 40 + 2 * 55, "rule": "price list v1"}
    assert out["taxed"] == {"tax": 230 * 8 // 100, "rule": "flat 8%"}


def test_distributed_map_over_a_template_bucket_with_a_template_table(tmp_path: Path) -> None:
    out = run_app("word-count-s3", "template.yaml", "-q", tmp_path=tmp_path)
    assert out["files"] == 12 and out["words"] == sum(range(1, 13))
    assert sum(out["byWord"].values()) == out["words"]
    out = run_app(
        "word-count-s3", "template.yaml", "--parameter-overrides", "Files=3", "-q", tmp_path=tmp_path
    )
    assert out["words"] == sum(range(1, 13))  # the table keeps the 12 earlier counts; 3 files rewritten


def test_globals_environment_parameters_conditions_and_mappings(tmp_path: Path) -> None:
    args = ("template.yaml", "--input", '{"customer": "Ann", "amount": 200}', "-q")
    dev = run_app("stages-and-globals", *args, tmp_path=tmp_path)
    assert dev == {
        "greeting": "hi there, Ann",  # the function's own GREETING over the Globals one
        "total": 200,
        "stage": "dev",
        "greetingSeenHere": "hello",  # the other function sees the Globals value
        "memory": "1024",
        "function": "PriceFunction",
    }
    prod = run_app(
        "stages-and-globals", *args, "--parameter-overrides", "Stage=prod", "--name", "p", tmp_path=tmp_path
    )
    assert prod["greeting"] == "Good day, Ann" and prod["total"] == 170 and prod["stage"] == "prod"


def test_a_layer_of_the_template_is_on_the_functions_import_path(tmp_path: Path) -> None:
    out = run_app("shared-layer", "template.yaml", "--input", '{"lines": [{"cents": 150}, {"cents": 275}]}',
                  tmp_path=tmp_path)  # fmt: skip
    assert out == {"lines": 2, "total": "$4.25"}


def test_a_cdk_template_runs_with_its_assets(tmp_path: Path) -> None:
    result = stepmap(
        "run", "--template", "cdk-app/cdk.out/CdkAppStack.template.json", "--input",
        '{"words": ["step", "map", "lambda"]}', cwd=APPS, state=tmp_path / "state",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"best": "step", "table": "ScoresTableD1A2B3C4"}
    # every resource stepmap does not run gets one line naming it
    assert "ignored: AWS::CDK::Metadata CDKMetadata" in result.stderr
    assert "ignored: AWS::IAM::Role ScoreFunctionServiceRole3E1F2A4B" in result.stderr


def test_validate_and_describe_a_template(tmp_path: Path) -> None:
    result = stepmap("validate", "--template", "template.yaml", cwd=APPS / "word-count-s3", state=tmp_path)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr
    result = stepmap("describe-template", "template.yaml", cwd=APPS / "word-count-s3", state=tmp_path)
    described = json.loads(result.stdout)
    assert [t["partitionKey"] for t in described["tables"]] == [["key", "S"]]
    assert {f["name"]: f["memorySize"] for f in described["functions"]} == {
        "SeedFunction": 128, "CountFunction": 512, "TotalFunction": 128,
    }  # fmt: skip
    assert described["buckets"] == [{"logicalId": "TextBucket", "name": "textbucket"}]
