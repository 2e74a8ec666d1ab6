"""Run stepmap's benchmarks side by side and print ratios: ``python benchmarks/run.py [--quick] [--out F]``.

P1 orchestration: child executions per second of a Distributed Map (one-Pass ItemProcessor, items from a
JSONL object, ResultWriter on), without and with ItemBatcher, beside a raw multiprocessing pool calling a
no-op on the same number of items (chunksize 1 and chunked).
P3 fixed overhead: a 100-item Distributed Map, wall time from process start (and bare Python's start-up).
P4 memory: the coordinator's peak RSS over a 1M-item Distributed Map (10M with --full).
Start-up: ``import stepmap`` and ``stepmap run`` of a one-state Pass machine against ``python -c pass``
(benchmarks/startup.py, interleaved, medians). Each target of issue 16 is printed beside its ratio.
JSONata vs JSONPath: children/s of the same Distributed Map written in each query language (goal >= 0.7x).

Every figure comes from one run on one machine; compare the ratios, not the absolute numbers (these
machines are noisy). Results go to stdout as a table and to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _run_script(script: str, args: tuple[str, ...]) -> str:
    """Run one benchmark script in a fresh process (its own start-up and peak RSS); return its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE.parent)])}
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark {script} {args} failed:\n{done.stderr}")
    return done.stdout


def case(*args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_run_script("cases.py", args).strip().splitlines()[-1])
    return result


def p2_case(*args: str) -> dict[str, Any]:
    out = _run_script("p2.py", args)
    result: dict[str, Any] = json.loads(out[out.index("{") :])
    return result


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test, as CI runs it)")
    parser.add_argument("--full", action="store_true", help="also the 10M-item memory run")
    parser.add_argument("--out", default=str(HERE / "out" / "results.json"))
    args = parser.parse_args()
    sizes = [2_000] if args.quick else [10_000, 100_000, 1_000_000]
    memory_sizes = [5_000] if args.quick else ([1_000_000, 10_000_000] if args.full else [1_000_000])
    rows: list[dict[str, Any]] = []

    def add(
        name: str, n: int, result: dict[str, Any], baseline: float | None = None, target: float = 0.0
    ) -> None:
        rate = result.get("children_per_s", result.get("items_per_s"))
        items_rate = result.get("items_per_s", rate)
        row = {"benchmark": name, "n": n, **result}
        if baseline and rate:
            row["ratio_to_pool_chunk1"] = rate / baseline
        rows.append(row)
        ratio = f"{row['ratio_to_pool_chunk1']:.2f}x" if "ratio_to_pool_chunk1" in row else ""
        if target and ratio:
            ratio += f" (target >= {target:.1f}x)"
        if "items_ratio_to_pool_chunk256" in result:
            ratio += f" items/s {result['items_ratio_to_pool_chunk256']:.2f}x pool chunksize 256"
        if "finish_seconds" in result:  # the coordinator's stall finishing result files (issue 16)
            ratio += f" stall {result['finish_seconds']:.2f} s"
        print(
            f"{name:<42} n={n:>10,} {rate:>10,.0f} children/s {items_rate:>10,.0f} items/s "
            f"rss {result.get('peak_rss_mb', 0):>7.1f} MB {ratio}"
        )

    print(f"machine: {machine()}")
    print("P1 orchestration (child executions per second; ratio to a raw pool with chunksize 1)")
    for n in sizes:
        pool1 = case("pool", str(n), "1")
        add("raw multiprocessing pool, chunksize 1", n, pool1)
        base = pool1["items_per_s"]
        pool256 = case("pool", str(n), "256")
        add("raw multiprocessing pool, chunksize 256", n, pool256, base)
        add("stepmap Distributed Map (NONE records)", n, case("dmap", str(n), "0", "NONE"), base, 3.5)
        add("stepmap Distributed Map (COMPACT)", n, case("dmap", str(n), "0", "COMPACT"), base)
        batched = case("dmap", str(n), "100", "NONE")
        batched["items_ratio_to_pool_chunk256"] = batched["items_per_s"] / pool256["items_per_s"]
        add("stepmap Distributed Map, ItemBatcher 100", n, batched, base)
        if args.full and installed("ray") and n <= 100_000:
            add("stepmap Distributed Map on Ray (local)", n, case("dmap", str(n), "0", "NONE", "ray"), base)
        for peer, limit in (("ray", 10_000), ("dask", 10_000)):
            if n > limit or not installed(peer):
                continue  # peers that take minutes at this size, or are not installed (the bench extra)
            add(f"{peer} tasks (no-op, one per item)", n, case(peer, str(n)), base)
    print(
        "JSONata vs JSONPath (the same Distributed Map: ItemSelector + a child Pass; alternated, best of 3)"
    )
    lang_n = 2_000 if args.quick else 100_000
    by_language: dict[str, list[float]] = {"JSONPath": [], "JSONata": []}
    for _ in range(1 if args.quick else 3):
        for language in by_language:
            by_language[language].append(case("dmap_lang", str(lang_n), language)["children_per_s"])
    path_rate, ata_rate = max(by_language["JSONPath"]), max(by_language["JSONata"])
    rows.append(
        {"benchmark": "JSONata vs JSONPath", "n": lang_n, **by_language, "ratio": ata_rate / path_rate}
    )
    print(
        f"  JSONPath {path_rate:,.0f} children/s, JSONata {ata_rate:,.0f} children/s: "
        f"ratio {ata_rate / path_rate:.2f} (goal >= 0.7)"
    )
    if not args.quick:
        print("Journal overhead (P1, 100k items, NONE records; alternated, best of 3)")
        plain, journaled = [], []
        for _ in range(3):
            plain.append(case("dmap", "100000", "0", "NONE", "local")["children_per_s"])
            journaled.append(case("dmap", "100000", "0", "NONE", "local", "journal")["children_per_s"])
        drop = 1 - max(journaled) / max(plain)
        rows.append({"benchmark": "journal overhead", "plain": plain, "journaled": journaled, "drop": drop})
        print(f"  without journal {max(plain):,.0f}/s, with journal {max(journaled):,.0f}/s: drop {drop:.1%}")
    print("P2 real work (the same handlers on the same data: stepmap against a hand-written pool)")
    text_size = "8MB" if args.quick else "256MB"
    for label, argv in (
        (
            f"wordfreq {text_size}",
            ["wordfreq", text_size, "1MiB" if args.quick else "8MiB", "1" if args.quick else "2"],
        ),
        (
            "gsod 300 files" if args.quick else "gsod 10k files",
            ["gsod", "300" if args.quick else "10000", "1" if args.quick else "2"],
        ),
    ):
        p2 = p2_case(*argv)
        engine, hand = p2["engine"], p2["handwritten"]
        rows.append({"benchmark": f"P2 {label}", **p2})
        print(
            f"  {label:<22} stepmap {engine['seconds']:7.2f} s "
            f"({engine['mb_per_s_per_core']:6.1f} MB/s per core)  hand-written {hand['seconds']:7.2f} s "
            f"({hand['mb_per_s_per_core']:6.1f} MB/s per core)"
            f"  ratio {p2['ratio']:.2f} (CPU {p2['cpu_ratio']:.2f})"
        )
    if args.full and installed("ray"):
        ray_p2 = p2_case("wordfreq-ray", text_size)
        rows.append({"benchmark": f"P2 wordfreq {text_size} on Ray (local)", **ray_p2})
        print(
            f"  wordfreq {text_size} on a local Ray: {ray_p2['seconds']:.2f} s "
            f"({ray_p2['mb_per_s_per_core']:.1f} MB/s per core)"
        )
    print("P3 fixed overhead (100-item Distributed Map, wall time from process start)")
    overhead = case("overhead", "100")
    rows.append({"benchmark": "P3 fixed overhead", **overhead})
    print(
        f"  stepmap {overhead['seconds']:.3f} s (median {overhead['median_seconds']:.3f} s); "
        f"bare python start-up {overhead['python_startup_seconds']:.3f} s"
    )
    print("Start-up (medians, interleaved with python -c pass)")
    startup = json.loads(_run_script("startup.py", ("--runs", "3" if args.quick else "11")))
    rows.append({"benchmark": "start-up", **startup})
    medians, targets = startup["median_seconds"], startup["targets"]
    print(
        f"  python -c pass {medians['python']:.3f} s; import stepmap {medians['import']:.3f} s "
        f"= {startup['ratio_import']:.1f}x (target <= {targets['import']:.0f}x); stepmap run (one Pass) "
        f"{medians['run']:.3f} s = {startup['ratio_run']:.1f}x (target <= {targets['run']:.0f}x)"
    )
    print("P4 memory (coordinator peak RSS, ResultWriter on)")
    for n in memory_sizes:
        add("stepmap Distributed Map (memory)", n, case("dmap", str(n), "0", "NONE"))
    if len(memory_sizes) > 1:  # issue 16: no stall, so throughput at 10M within 10% of that at 1M
        small, large = rows[-len(memory_sizes)], rows[-1]
        held = large["children_per_s"] / small["children_per_s"]
        print(f"  throughput at {large['n']:,} / at {small['n']:,}: {held:.2f} (target >= 0.90)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
