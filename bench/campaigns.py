"""Benchmark: a retention campaign from launch to its measured report, at 200k and 1M customers on the list.

    python bench/campaigns.py [--sizes 200k,1m] [--repeat 3]

Each size runs in its own child process, once per --repeat, on a seeded call list (tiers, probabilities,
values, actions, due times) and a seeded outcome sheet for every customer (contacted, date, channel,
agent, result). Stages:

    plan      plan_campaign: stratified, seeded assignment and the sample-size check
    store     Store.save_campaign: the campaign and its members in one transaction
    sheet     call_sheet + csv_bytes: the call centre's export (contact arm only, formulas neutralised)
    outcomes  record_outcomes on the CSV sheet: read, map, check every row, merge, store as version 1
    report    report(): arm rates, Newcombe uplift, breakdowns by tier and action, scorecard
    page      the same report read again (what the Campaigns page does on a rerun without its cache)

Columns: wall and CPU time per stage and the stage's peak RSS (VmHWM, reset before the stage).
``--repeat N`` prints the median. OMP_WAIT_POLICY=PASSIVE is set, as the app and the CLI set it.
The issue sets no time target; the figures are what a call-centre-sized campaign (a few thousand) costs
scaled far past it.

Measured 2026-11-28 on the shared 2-core machine (load 1.4-2), median of 3 runs:

     customers stage       wall s    CPU s  peak RSS GB
       200,000 plan          0.13     0.13         0.29
       200,000 store         0.29     0.31         0.28
       200,000 sheet         0.70     0.72         0.37
       200,000 outcomes      1.36     0.92         0.38
       200,000 report        0.49     0.52         0.42
       200,000 page          0.53     0.53         0.42
     1,000,000 plan          0.71     0.71         0.71
     1,000,000 store         1.26     1.38         0.57
     1,000,000 sheet         3.64     3.73         0.99
     1,000,000 outcomes      5.28     4.67         1.08   (21.5 s before the checks were vectorised)
     1,000,000 report        2.11     2.36         1.22
     1,000,000 page          1.95     2.18         1.19

The measured uplift at 1M: 0.1484 [0.1459, 0.1508] against a true 0.15.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from stages import Stages, median_of, size  # noqa: E402

STAGES = ("plan", "store", "sheet", "outcomes", "report", "page")


def call_list(n: int, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(5, 2, n)
    tier = np.select([p >= 0.8, p >= 0.6], ["critical", "high"], "medium")
    return pd.DataFrame({"id": np.char.add("C", np.arange(n).astype(str)), "tier": tier, "probability": p,
                         "action": rng.choice(["retention_call", "senior_agent", "plan_review"], n),
                         "due_hours": np.where(tier == "critical", 24, np.where(tier == "high", 72, 168)),
                         "value": rng.lognormal(6, 0.5, n)})


def outcome_sheet(members: pd.DataFrame, *, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    n = len(members)
    contact = (members["arm"] == "contact").to_numpy()
    lost = rng.random(n) < np.where(contact, 0.45, 0.6)
    reached = contact & (rng.random(n) < 0.85)
    frame = pd.DataFrame({"customer_id": members["customer_id"], "contacted": np.where(reached, "yes", "no"),
                          "contact_date": np.where(reached, "2026-10-05", ""),
                          "channel": np.where(reached, "phone", ""), "agent": np.where(reached, "A07", ""),
                          "result": np.where(lost, "lost", "retained")})
    return frame.to_csv(index=False).encode()


def child(n: int) -> dict:
    import churn_core as cc
    from churn_core.campaigns import CampaignSpec, call_sheet, plan_campaign, record_outcomes, report
    from churn_core.scoring import csv_bytes

    stages = Stages()
    stage = stages.run

    customers = call_list(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = cc.Store(Path(tmp) / "bench.duckdb")
        version = cc.store.ensure_active_dataset(store).version
        spec = CampaignSpec(name="bench", seed=7, start=date(2026, 10, 1))
        plan = stage("plan", lambda: plan_campaign(customers, spec=spec))
        campaign = stage("store", lambda: store.save_campaign(plan, dataset_version=version))
        exported = stage("sheet", lambda: len(csv_bytes(call_sheet(store, campaign.id))))
        sheet = outcome_sheet(plan.members)
        stage("outcomes", lambda: record_outcomes(sheet, store=store, campaign_id=campaign.id, filename="o.csv"))
        measured = stage("report", lambda: report(store, campaign.id))
        stage("page", lambda: report(store, campaign.id))
    return {"customers": n, "contact": plan.check.n_contact, "control": plan.check.n_control,
            "sheet_mb": exported / 1e6, "uplift": measured.uplift.estimate, "low": measured.uplift.low,
            "high": measured.uplift.high, "stages": stages}


def run(label: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(size(label))], check=True, capture_output=True,
                         text=True)
    return {"size": label, **json.loads(out.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200k,1m", help="customers on the list, e.g. 200k,1m")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the median is printed")
    parser.add_argument("--child", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        print(json.dumps(child(int(args.child[0]))))
        return 0
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    results = [median_of([run(size) for _ in range(args.repeat)]) for size in sizes]
    print(f"median of {args.repeat} run(s), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print(f"{'customers':>10} {'stage':<9} {'wall s':>8} {'CPU s':>8} {'peak RSS GB':>12}")
    for r in results:
        for name in STAGES:
            s = r["stages"][name]
            print(f"{r['customers']:>10,} {name:<9} {s['wall_s']:>8.2f} {s['cpu_s']:>8.2f} {s['peak_rss_gb']:>12.2f}")
        print(f"{'':>10} {r['contact']:,} contacted, {r['control']:,} held back; call sheet {r['sheet_mb']:.1f} MB; "
              f"uplift {r['uplift']:.4f} [{r['low']:.4f}, {r['high']:.4f}] (true 0.15)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
