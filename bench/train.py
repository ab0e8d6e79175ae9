"""Benchmark: training and evaluating the churn models at 200k and 1M synthetic customers.

    python bench/train.py [--plan 200000:all 1000000:xgboost] [--folds 5]

Each plan item "ROWS:MODELS" (MODELS = all, or model names joined by +) runs in its own
child process, so its peak RSS is its own. A run is exactly what the app and the CLI do:
a 70/30 stratified split, --folds stratified CV fits on the training split (which also give the
threshold and the isotonic calibrator), one final fit, and holdout evaluation. Reading the
synthetic CSV is not timed (bench/analysis.py covers ingest).

Columns: per-model wall time (CV fits + final fit + evaluation) and its CPU time (both cores
busy gives about 2x wall; much less means the cores were taken by others), the final fit alone,
the total, holdout ROC-AUC, and the child's peak RSS. ``--repeat N`` runs each item N times and
prints the median. OMP_WAIT_POLICY=PASSIVE is set, as the app and the CLI set it.
Targets on 2 cores: all three models with 5-fold CV at 200k under 90 s; XGBoost alone at 1M
under 60 s; peak RSS at 1M under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_csv  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before OpenMP loads: idle threads sleep, not spin

import churn_core as cc  # noqa: E402

TARGETS = [("200000:all", "total_s", 90.0, "s"), ("1000000:xgboost", "total_s", 60.0, "s"),
           ("1000000:xgboost", "peak_rss_gb", 4.0, "GB")]


def child(rows: int, models: tuple[str, ...], folds: int) -> dict:
    from churn_core.modeling import train_models

    with tempfile.TemporaryDirectory() as tmp:
        dataset = cc.load_dataset(write_csv(rows, Path(tmp) / "synthetic.csv", seed=0))
    marks: dict[str, tuple[float, float]] = {}
    start, cpu = time.perf_counter(), time.process_time()
    result = train_models(dataset, models=models, cv_folds=folds,
                          progress=lambda stage, _: marks.setdefault(stage, (time.perf_counter(),
                                                                             time.process_time())))
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    order = [*models, "done"]
    per_model = {m: [marks[order[i + 1]][j] - marks[m][j] for j in (0, 1)] for i, m in enumerate(models)}
    return {"rows": rows, "models": {m.name: {"wall_s": per_model[m.name][0], "cpu_s": per_model[m.name][1],
                                              "fit_s": m.fit_seconds, "roc_auc": m.holdout.roc_auc}
                                     for m in result.models},
            "total_s": total, "total_cpu_s": total_cpu,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


def median_of(runs: list[dict]) -> dict:
    """The median of each figure over repeated runs of one plan item."""
    import statistics

    out = dict(runs[0])
    for key in ("total_s", "total_cpu_s", "peak_rss_gb"):
        out[key] = statistics.median(r[key] for r in runs)
    out["models"] = {name: {k: statistics.median(r["models"][name][k] for r in runs) for k in first}
                     for name, first in runs[0]["models"].items()}
    return out


def run(item: str, folds: int) -> dict:
    rows, _, models = item.partition(":")
    names = cc.MODEL_NAMES if models in ("", "all") else tuple(models.split("+"))
    out = subprocess.run([sys.executable, __file__, "--child", rows, ",".join(names), str(folds)],
                         check=True, capture_output=True, text=True)
    return {"item": item, **json.loads(out.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", nargs="+", default=["200000:all", "1000000:xgboost"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="runs per plan item; the median is printed")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        rows, models, folds = args.child
        print(json.dumps(child(int(rows), tuple(models.split(",")), int(folds))))
        return 0
    results = [median_of([run(item, args.folds) for _ in range(args.repeat)]) for item in args.plan]
    print(f"median of {args.repeat} run(s), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print(f"{'rows':>10} {'model':<20} {'wall s':>8} {'CPU s':>8} {'final fit s':>12} {'ROC-AUC':>8}")
    for r in results:
        for name, m in r["models"].items():
            print(f"{r['rows']:>10,} {name:<20} {m['wall_s']:>8.1f} {m['cpu_s']:>8.1f} {m['fit_s']:>12.1f} "
                  f"{m['roc_auc']:>8.3f}")
        print(f"{r['rows']:>10,} {'TOTAL (' + str(args.folds) + '-fold CV)':<20} {r['total_s']:>8.1f} "
              f"{r['total_cpu_s']:>8.1f} {'':>12} {'':>8}   peak RSS {r['peak_rss_gb']:.2f} GB")
    print()
    for item, key, limit, unit in TARGETS:
        hit = next((r for r in results if r["item"] == item), None)
        if hit is not None:
            verdict = "meets" if hit[key] < limit else "MISSES"
            print(f"target: {item} {key} under {limit:g} {unit} -> {hit[key]:.2f} {unit} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
