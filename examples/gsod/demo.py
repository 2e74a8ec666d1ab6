"""The main demo: NOAA GSOD's warmest day of every month, end to end on the embedded store.

``python -m examples.gsod.demo [--files N] [--state-dir DIR]``: generates N station-year CSVs into the bucket
``gsod`` of the embedded store (``<state-dir>/s3``), runs ``workflow.asl.json`` (a Distributed Map over the
bucket, then the reducer) through ``stepmap run``, and prints the warmest months.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000, help="station-year files to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state-dir", default=".stepmap")
    args = parser.parse_args(argv)

    from examples.gsod.generate import generate
    from stepmap.storage import LocalObjectStore

    store = LocalObjectStore(os.path.join(args.state_dir, "s3"))
    if not store.bucket_exists("gsod"):
        store.create_bucket("gsod")
    for info in list(store.list("gsod")):  # start from a clean bucket: old data and old results
        store.delete("gsod", info.key)
    started = time.perf_counter()
    summary = generate(lambda key, data: store.put("gsod", key, data), files=args.files, seed=args.seed)
    print(f"generated {summary} in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    command = [
        sys.executable, "-m", "stepmap.cli", "run", str(HERE / "workflow.asl.json"),
        "--code", str(HERE), "--functions", "handlers", "--state-dir", args.state_dir,
        "--input", json.dumps({"bucket": "gsod", "prefix": ""}), "--name", f"gsod-demo-{int(time.time())}",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return done.returncode
    months = json.loads(done.stdout)
    print(f"workflow finished in {seconds:.1f} s: {len(months)} months")
    print("the ten warmest months (highest daily mean temperature, °F):")
    for row in sorted(months, key=lambda r: (-r["temp"], r["month"]))[:10]:
        print(f"  {row['month']}  {row['temp']:6.1f}  {row['date']}  {row['station']}  {row['name']}")
    where = os.path.join(args.state_dir, "tables.sqlite")
    print(f"all {len(months)} rows are in the results table 'gsod_monthly_max' ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
