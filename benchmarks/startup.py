"""Start-up cost, side by side: ``python benchmarks/startup.py [--runs N]`` prints one JSON line.

Three commands run interleaved (so the machine's load hits them alike), each ``--runs`` times:
a bare ``python -c pass``, ``python -c "import stepmap"`` and ``stepmap run`` of a one-state Pass machine
(with a fresh state directory and store each time, as a first run in a new project). Reported: the
median wall time of each and the two ratios to bare Python, beside the targets (issue 16: ``import
stepmap`` <= 4x, ``stepmap run`` <= 7x). Bytecode is compiled before the clock starts, as an install
leaves it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASS_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
TARGETS = {"import": 4.0, "run": 7.0}


def _time(argv: list[str], cwd: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}):\n{done.stderr.decode()}")
    return seconds


def measure(runs: int) -> dict[str, object]:
    import stepmap

    compileall.compile_dir(os.path.dirname(stepmap.__file__), quiet=1)
    python = sys.executable
    script = Path(python).with_name("stepmap")
    cli = [str(script)] if script.exists() else [python, "-c", "from stepmap.cli import main; main()"]
    work = tempfile.mkdtemp(prefix="stepmap-startup-")
    definition = os.path.join(work, "pass.asl.json")
    with open(definition, "w") as fh:
        json.dump(PASS_MACHINE, fh)
    times: dict[str, list[float]] = {"python": [], "import": [], "run": []}
    for i in range(runs + 1):
        sample = {
            "python": _time([python, "-c", "pass"], work),
            "import": _time([python, "-c", "import stepmap"], work),
            "run": _time(
                [*cli, "run", definition, "--state-dir", f"state-{i}", "--store", f"s3-{i}", "-q"], work
            ),
        }
        if i:  # the first round warms the page cache
            for name, seconds in sample.items():
                times[name].append(seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "runs": runs,
        "median_seconds": medians,
        "ratio_import": medians["import"] / medians["python"],
        "ratio_run": medians["run"] / medians["python"],
        "targets": TARGETS,
        "seconds": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs)))


if __name__ == "__main__":
    main()
