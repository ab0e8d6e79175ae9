"""How fast the Risk page answers a filter change on a large score set (churn_core.risk_sql, DuckDB).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/risk_large.py [--rows 1000000 10000000] [--repeat 7]
                                                                 [--data DIR] [--threads N]

For each size, a seeded synthetic score set (scripts/make_large_scores.py) is written as Parquet under
``--data`` (kept and reused when it is there already), read into DuckDB once (the "open" line), and each
typical filter change, one page of 500 rows plus the KPI aggregates, is timed ``--repeat`` times: the table
gives the median wall-clock and CPU milliseconds (CPU of every thread of the process). Target: 500 ms wall.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from churn_core.risk_sql import LargeFilter, LargeScores  # noqa: E402

TARGET_MS = 500
CHANGES = {  # name: (filter, sort, page number)
    "everyone active, by priority": (LargeFilter(), "priority", 1),
    "critical + high tiers": (LargeFilter(tiers=("critical", "high")), "priority", 1),
    "p 50-90% + two actions": (LargeFilter(probability=(0.5, 0.9), actions=("senior_agent", "monitor")),
                               "priority", 1),
    "top reason + high value": (LargeFilter(top_reasons=("total_day_charge",), value_bands=("high",)),
                                "priority", 1),
    "watch tier, by value": (LargeFilter(tiers=("watch",)), "value", 1),
    "churned, by probability": (LargeFilter(status="churned"), "probability", 1),
    "everyone active, page 200": (LargeFilter(), "priority", 200),
}


def generator():
    spec = importlib.util.spec_from_file_location("make_large_scores", ROOT / "scripts" / "make_large_scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dataset(folder: Path, rows: int) -> Path:
    out = folder / f"scores_{rows}"
    if not out.is_dir() or not any(out.glob("*.parquet")):
        started = time.perf_counter()
        files = generator().write_scores(out, rows=rows, seed=0)
        print(f"wrote {rows:,} rows in {files} files in {time.perf_counter() - started:.1f} s")
    return out


def timed(fn, repeat: int) -> tuple[float, float]:
    """The median wall-clock and CPU milliseconds of ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def bench(out: Path, rows: int, *, repeat: int, threads: int | None) -> list[tuple]:
    started, cpu = time.perf_counter(), time.process_time()
    scores = LargeScores.from_parquet(str(out), threads=threads)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"open {rows:,} rows: {time.perf_counter() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU; "
          f"peak memory of the process so far {peak:,} MB")
    lines = []
    for name, (where, sort, page) in CHANGES.items():
        def change(where=where, sort=sort, page=page):
            scores.page(where, sort=sort, limit=500, offset=(page - 1) * 500)
            return scores.kpis(where)
        customers = change().customers
        wall, cpu = timed(change, repeat)
        lines.append((rows, name, customers, wall, cpu))
    scores.close()
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data", default=None, help="where the Parquet sets are kept (default: a temp folder)")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: one per core)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="risk-large-") as tmp:
        folder = Path(args.data or tmp)
        lines = [line for rows in args.rows
                 for line in bench(dataset(folder, rows), rows, repeat=args.repeat, threads=args.threads)]
    print(f"\nfilter change = one page of 500 rows + the KPI aggregates; median of {args.repeat}; "
          f"{os.cpu_count()} cores; target {TARGET_MS} ms wall")
    print(f"| rows | filter change | customers | wall ms | CPU ms | under {TARGET_MS} ms |")
    print("|---:|---|---:|---:|---:|:-:|")
    for rows, name, customers, wall, cpu in lines:
        print(f"| {rows:,} | {name} | {customers:,} | {wall:.0f} | {cpu:.0f} | {'yes' if wall < TARGET_MS else 'NO'} |")


if __name__ == "__main__":
    main()
