"""Benchmark: CSV ingest into DuckDB and the full descriptive analysis, at 200k and 1M customers.

    python bench/analysis.py [--rows 200000 1000000] [--repeat 3]

Stages, each timed separately (median of --repeat runs, except ingest, timed once per size):
  read+validate  read_table + detect roles + validate + normalise (load_dataset on the CSV file)
  store          writing the dataset version into DuckDB (one transaction)
  ingest         read+validate + store: CSV file to a stored, active dataset version
  load           reading the stored version back from DuckDB into a Dataset
  describe       the full descriptive analysis (describe() incl. one cross tab), excluding parsing
Targets on 2 cores: ingest of 1M rows under 10 s; full analysis at 1M rows under 2 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_csv  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before OpenMP loads: idle threads sleep, not spin

import churn_core as cc  # noqa: E402

TARGETS = {"ingest": (1_000_000, 10.0), "describe": (1_000_000, 2.0)}


def _timed(fn, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(rows: int, *, repeat: int, workdir: Path) -> dict[str, float]:
    csv_path = write_csv(rows, workdir / f"synthetic_{rows}.csv", seed=0)
    store = cc.Store(workdir / f"bench_{rows}.duckdb")
    read_s, dataset = _timed(lambda: cc.load_dataset(csv_path))
    store_s, version = _timed(lambda: store.save_dataset(dataset))
    load_s, stored = _timed(lambda: store.load_dataset(version.version), repeat)
    pair = (dataset.roles.plan_flags[0], dataset.roles.service_calls)
    describe_s, _ = _timed(lambda: cc.describe(stored, crosstab=pair), repeat)
    return {"rows": rows, "csv_mb": csv_path.stat().st_size / 1e6, "read+validate": read_s, "store": store_s,
            "ingest": read_s + store_s, "load": load_s, "describe": describe_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        results = [run(n, repeat=args.repeat, workdir=Path(tmp)) for n in args.rows]
    stages = ["read+validate", "store", "ingest", "load", "describe"]
    print(f"{'rows':>10} {'csv MB':>7} " + " ".join(f"{s + ' s':>14}" for s in stages))
    for r in results:
        print(f"{r['rows']:>10,} {r['csv_mb']:>7.1f} " + " ".join(f"{r[s]:>14.3f}" for s in stages))
    print()
    for stage, (n, limit) in TARGETS.items():
        hit = next((r for r in results if r["rows"] == n), None)
        if hit is not None:
            verdict = "meets" if hit[stage] < limit else "MISSES"
            print(f"target: {stage} at {n:,} rows under {limit:g} s -> {hit[stage]:.2f} s ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
