"""Benchmark: scoring and explaining every customer, one customer's panel, and filtering, at 200k and 1M.

    python bench/explain.py [--rows 200000 1000000] [--forest-rows 200000]

For each size: seeded synthetic customers are stored in a throw-away DuckDB, an XGBoost champion
is trained on a 100k sample (training is bench/train.py's subject, not this one's), then:

* score + explain: ``score_dataset(explain="all")``, i.e. calibrated probabilities, exact SHAP for
  every customer, top-3 reasons, tiers, priority, actions, and the score set written to DuckDB;
* panel: ``customer_profile`` (exact SHAP of one customer, waterfall data, percentiles against
  everyone, similar customers), median and worst of 20 customers;
* filter: ``filter_customers`` + KPIs + the top-500 call list, median and worst of 12 filters.

The random forest is measured separately: its exact TreeSHAP costs ~100x XGBoost's per customer, so
it explains exactly until its clock (20 s, ``--budget``) runs out and every other active customer by
tree-path contributions: everyone still a customer gets reasons. CPU time is printed beside wall time.
Targets on 2 cores: 200k scored and explained < 30 s; one panel < 100 ms; a filter on 1M < 300 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before OpenMP loads: idle threads sleep, not spin

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_csv  # noqa: E402

import churn_core as cc  # noqa: E402

FILTERS = [
    cc.RiskFilter(),
    cc.RiskFilter(tiers=("critical", "high")),
    cc.RiskFilter(probability=(0.3, 0.9)),
    cc.RiskFilter(flags=(("international_plan", True),)),
    cc.RiskFilter(flags=(("voice_mail_plan", False),), service_calls=(4, 9)),
    cc.RiskFilter(categories=(("state", ("CA", "TX", "NY", "FL")),)),
    cc.RiskFilter(value_bands=("high",)),
    cc.RiskFilter(segments=("repeated_complaints", "dual_high_risk")),
    cc.RiskFilter(top_reasons=("number_customer_service_calls",)),
    cc.RiskFilter(tiers=("medium",), categories=(("area_code", ("area_code_415",)),)),
    cc.RiskFilter(probability=(0.5, 1.0), value_bands=("high", "medium"), flags=(("international_plan", False),)),
    cc.RiskFilter(tiers=("watch", "low"), service_calls=(0, 2)),
]


def champion_store(folder: Path, rows: int, model: str) -> tuple[cc.Store, cc.Dataset]:
    store = cc.Store(folder / "bench.duckdb")
    version = store.save_dataset(cc.load_dataset(write_csv(rows, folder / "customers.csv", seed=0))).version
    dataset = store.load_dataset(version)
    sample = min(rows, 100_000 if model == "xgboost" else 30_000)
    train = cc.Dataset(frame=dataset.frame.sample(sample, random_state=0).reset_index(drop=True), roles=dataset.roles,
                       name="sample", report=dataset.report)
    sample_version = store.save_dataset(train, activate=False).version
    cc.run_training(store, store.load_dataset(sample_version), promote=True, models=(model,), cv_folds=2,
                    artifact_root=folder / "models")
    return store, dataset


def measure(rows: int, model_name: str, explain, budget: float = 20.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        store, dataset = champion_store(Path(tmp), rows, model_name)
        entry = store.champion().entry
        model = cc.load_model(entry.artifact, sha256=entry.sha256)
        start, cpu = time.perf_counter(), time.process_time()
        scored = cc.score_dataset(dataset, store=store, model=model, explain=explain, explain_budget_s=budget)
        score_s, score_cpu = time.perf_counter() - start, time.process_time() - cpu
        rng = np.random.default_rng(0)
        panel = []
        for row in rng.choice(rows, 21, replace=False):
            start = time.perf_counter()
            cc.customer_profile(scored, int(row), model=model)
            panel.append(time.perf_counter() - start)
        filters = []
        for where in FILTERS:
            start = time.perf_counter()
            selection = cc.filter_customers(scored, where=where)
            _ = (selection.customers, selection.expected_churners, selection.value_at_risk)
            selection.table(limit=500)
            filters.append(time.perf_counter() - start)
        return {"rows": rows, "model": model_name, "explained": scored.explained, "score_s": score_s,
                "score_cpu": score_cpu, "active": int(scored.active.sum()),
                "panel_ms": (np.median(panel[1:]) * 1000, np.max(panel[1:]) * 1000),
                "filter_ms": (np.median(filters) * 1000, np.max(filters) * 1000),
                "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", type=int, default=[200_000, 1_000_000])
    parser.add_argument("--forest-rows", type=int, default=200_000, help="0 skips the random forest")
    parser.add_argument("--budget", type=float, default=20.0, help="the forest's exact-SHAP clock, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    plans = [(n, "xgboost", "all") for n in args.rows]
    if args.forest_rows:
        plans.append((args.forest_rows, "random_forest", "auto"))
    results = [measure(*plan, budget=args.budget) for plan in plans]
    print(f"{'rows':>10} {'model':<14} {'explained/active':>17} {'score+explain s':>16} {'CPU s':>7} "
          f"{'panel ms (med/max)':>19} {'filter ms (med/max)':>20} {'peak RSS GB':>12}")
    for r in results:
        print(f"{r['rows']:>10,} {r['model']:<14} {r['explained']:>8,}/{r['active']:<8,} {r['score_s']:>16.1f} "
              f"{r['score_cpu']:>7.1f} "
              f"{r['panel_ms'][0]:>9.0f} / {r['panel_ms'][1]:<7.0f} "
              f"{r['filter_ms'][0]:>9.0f} / {r['filter_ms'][1]:<8.0f} {r['rss_gb']:>12.2f}")
    print("targets: 200k scored and explained < 30 s; one panel < 100 ms; a filter on 1M scored rows < 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
