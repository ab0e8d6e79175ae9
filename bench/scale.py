"""Benchmark: where one machine runs out. A visit log from 1M to 10M customers (20M to 200M events) through labels
and features, XGBoost training and scoring, on the local engine and on the Dask engine (a LocalCluster on this
machine).

    python bench/scale.py [--sizes 1m,3m,10m] [--engines local,dask] [--repeat 1] [--workers 2] [--cap-gb 20]

Per size the seeded log of bench/synthetic.py (generate_events: 20 visits per customer over 4 years) is generated
in chunks of 500k customers and written once as Parquet in customer buckets (churn_core.scale.write_events_parquet;
the "write" row, not an engine's), then each engine runs in a child process of its own:

    features  labels and features at the last 12 month ends whose window has elapsed
              local: read the Parquet into one EventLog, churn_core.label_and_features (DuckDB, in process)
              dask:  churn_core.scale.label_and_features_dask, one task per bucket on the workers
    train     train_out_of_time(models=("xgboost",)) on at most 1M labelled rows (every cut-off of a random
              share of the customers; dask: the rows of a share of the customer buckets, collect_share, come back
              from the features stage); dask: every XGBoost fit with xgboost.dask on the workers
    score     features as of the log's last date and the champion's calibrated probability for every eligible
              customer; dask: score_dask, per partition, with XGBoost's own contributions for the reasons,
              written as Parquet

Columns: wall and CPU seconds (the child's own CPU; the workers' CPU is not in it, so on the Dask engine CPU far
below wall means the work ran in the workers) and the peak RSS of the child and its worker processes together
(sampled every 0.2 s). A child whose processes pass --cap-gb of RSS is stopped and reported as out of memory:
that is where the engine runs out on this machine. The growth exponent of a stage is log(t_large / t_small) /
log(n_large / n_small) between the smallest and the largest size the engine finished (1 = linear).
OMP_WAIT_POLICY=PASSIVE is set, as the app and the CLI set it.

Measured 2026-11-28 on the shared 2-core, 23 GB machine (one run per size and engine, --cap-gb 20, 2 workers):

      customers       events engine stage       wall s    CPU s  note
      1,000,000   20,992,372 local  features      53.3     55.0
      1,000,000   20,992,372 local  train         20.8     20.8
      1,000,000   20,992,372 local  score         12.6     13.1   peak RSS 3.7 GB
      1,000,000   20,992,372 dask   features      44.6      2.9
      1,000,000   20,992,372 dask   train         23.8      7.7
      1,000,000   20,992,372 dask   score         65.0      3.2   peak RSS 2.5 GB
      3,000,000   63,006,021 local  features     120.2    178.2
      3,000,000   63,006,021 local  train         12.7     19.7
      3,000,000   63,006,021 local  score         39.1     47.7   peak RSS 9.9 GB
      3,000,000   63,006,021 dask   features      90.0      4.3
      3,000,000   63,006,021 dask   train         17.4      7.5
      3,000,000   63,006,021 dask   score        140.3      9.7   peak RSS 4.7 GB
     10,000,000  209,993,291 local  -                -        -   out of memory (above 20 GB)
     10,000,000  209,993,291 dask   features     333.6     14.3
     10,000,000  209,993,291 dask   train         18.3      7.1
     10,000,000  209,993,291 dask   score        492.2     34.7   peak RSS 12.5 GB

    growth exponent, local, 1M -> 3M: features 0.74, score 1.03 (train is on ~1M rows at every size)
    growth exponent, dask, 1M -> 10M: features 0.87, score 0.88

Writing the logs as Parquet took 23 s (1M), 66 s (3M) and 231 s (10M). The local engine holds the whole log and
every labelled row in one process (3.7 GB at 1M, 9.9 GB at 3M) and runs out of this machine's memory at 10M. The
Dask engine labels bucket by bucket and brings back a sample for training, so 10M customers finish within 12.5 GB.
Its score stage is not like for like: it computes every customer's three reasons from XGBoost's contributions
(pred_contribs) and writes them as Parquet, where the local row only predicts; most of its time is the
explanation. The child's CPU on the Dask engine is small because the work runs in the worker processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from stages import Stages, median_of, size  # noqa: E402

STAGES = ("features", "train", "score")
CHUNK = 500_000
TRAIN_ROWS = 1_000_000


def buckets_for(customers: int) -> int:
    return max(16, customers // 125_000)  # about 2.5M events a bucket: one task's DuckDB pass stays small


def write(customers: int, folder: Path) -> dict:
    """Generate the log in chunks and write it as Parquet (the data every engine reads)."""
    from synthetic import generate_events

    import churn_core as cc
    from churn_core.scale.parquet import write_events_parquet

    def chunks():
        for k, first in enumerate(range(0, customers, CHUNK)):
            frame = generate_events(min(CHUNK, customers - first), seed=k, first_id=first)
            yield cc.read_events(frame, id="customer_id", time="visit_date", amount="amount_cny", type="visit_type")

    start, cpu = time.perf_counter(), time.process_time()
    written = write_events_parquet(chunks(), folder, buckets=buckets_for(customers))
    return {"rows": written.rows, "customers": written.customers, "wall_s": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu}


def _sample(labelled):
    frame = labelled.frame
    rows = int(frame["labelled"].sum())
    if rows <= TRAIN_ROWS:
        return labelled, rows
    ids = frame["customer_id"].unique().to_numpy(dtype=object)
    keep = np.random.default_rng(0).choice(ids, int(round(len(ids) * TRAIN_ROWS / rows)), replace=False)
    sampled = frame[frame["customer_id"].isin(keep).to_numpy()].reset_index(drop=True)
    return dataclasses.replace(labelled, frame=sampled), int(sampled["labelled"].sum())


def child(folder: str, engine_name: str, workers: int) -> dict:
    import churn_core as cc
    from churn_core.scale import open_engine
    from churn_core.scale.features import label_and_features_dask
    from churn_core.scale.parquet import open_events_parquet, read_events_parquet

    source = open_events_parquet(folder)
    window = cc.EventWindow()
    stages = Stages()
    with open_engine(engine_name, n_workers=workers) as engine:
        if engine.is_dask:
            dates = _month_ends(source, window)
            # every customer is labelled on the workers; the rows of a sample of buckets (whole customers, about
            # 1M labelled rows) come back for training: 10M customers' 87M rows would not fit in one process
            share = min(1.0, TRAIN_ROWS / (source.customers * 8.0))
            labelled = stages.run("features", lambda: label_and_features_dask(source, engine=engine, window=window,
                                                                             cutoffs=dates, collect_share=share))
        else:
            def features():
                log = read_events_parquet(source)
                return log, cc.label_and_features(log, window=window, cutoffs=_month_ends(source, window))
            log, labelled = stages.run("features", features)
        rows = len(labelled.frame)
        sampled, train_rows = _sample(labelled)
        del labelled
        options = {"engine": engine} if engine.is_dask else {}
        result = stages.run("train", functools.partial(cc.train_out_of_time, sampled, models=("xgboost",), n_jobs=2,
                                                       **options))
        best = result.models[0]
        sampled = None  # scoring holds the log (local) and the model only
        last = [source.last_date]

        def score():
            if engine.is_dask:
                from churn_core.scale.scoring import score_dask

                now = label_and_features_dask(source, engine=engine, window=window, cutoffs=last)
                with tempfile.TemporaryDirectory(prefix="scores_") as out:  # written as Parquet, not collected
                    return score_dask(now.frame, model=best.estimator, engine=engine, explain=True,
                                      out_url=os.path.join(out, "scores")).rows
            now = cc.label_and_features(log, window=window, cutoffs=last)
            return len(best.estimator.predict_proba(now.frame[list(result.features)])[:, 1])
        scored = stages.run("score", score)
    return {"rows": rows, "train_rows": train_rows, "scored": scored, "roc_auc": best.holdout.roc_auc,
            "stages": dict(stages)}


def _month_ends(source, window) -> list:
    """The last 12 month ends whose label window has elapsed (as churn_core.cutoffs would give)."""
    import pandas as pd

    last = pd.Timestamp(source.last_date).normalize() - pd.Timedelta(days=window.window_days)
    ends = pd.date_range(end=last, periods=13, freq="ME")
    return [d for d in ends if d <= last][-12:]


def _tree_rss_gb(pid: int) -> float:
    """RSS of a process and all its descendants (the Dask workers), in GB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024 ** 2


def run(folder: Path, engine_name: str, workers: int, cap_gb: float) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(folder), engine_name, str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak = [0.0]
    stopped = [False]

    def watch():
        while proc.poll() is None:
            rss = _tree_rss_gb(proc.pid)
            peak[0] = max(peak[0], rss)
            if rss > cap_gb:
                stopped[0] = True
                os.killpg(proc.pid, 9)
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    if stopped[0] or proc.returncode != 0:
        reason = f"out of memory (above {cap_gb:g} GB)" if stopped[0] or "memory" in err.lower() else \
            err.strip().splitlines()[-1][:160] if err.strip() else f"exit {proc.returncode}"
        return {"failed": reason, "peak_tree_gb": peak[0]}
    return {**json.loads(out.strip().splitlines()[-1]), "peak_tree_gb": peak[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1m,3m,10m", help="customers per run, e.g. 1m,3m,10m")
    parser.add_argument("--engines", default="local,dask")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and engine; the median is printed")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (one thread each)")
    parser.add_argument("--cap-gb", type=float, default=20.0, help="RSS above which a run is out of memory")
    parser.add_argument("--folder", help="where to write the Parquet logs (default: a temporary folder)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2])), default=float))
        return 0
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    root = Path(args.folder or tempfile.mkdtemp(prefix="churn-scale-"))
    results = []
    for label in sizes:
        folder = root / f"events_{label}"
        if folder.exists():
            shutil.rmtree(folder)
        written = write(size(label), folder)
        print(f"{label}: {written['customers']:,} customers, {written['rows']:,} events written as Parquet in "
              f"{written['wall_s']:.1f} s", flush=True)
        for engine_name in engines:
            runs = [run(folder, engine_name, args.workers, args.cap_gb) for _ in range(args.repeat)]
            ok = [r for r in runs if "failed" not in r]
            summary = median_of(ok) if ok else runs[0]
            summary.update(size=label, customers=written["customers"], events=written["rows"], engine=engine_name,
                           peak_tree_gb=max(r["peak_tree_gb"] for r in runs))
            results.append(summary)
            print(json.dumps({k: v for k, v in summary.items() if k != "stages"}, default=float), flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nmedian of {args.repeat} run(s), {args.workers} Dask workers, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}; peak RSS = the child and its workers together")
    print(f"{'customers':>11} {'events':>12} {'engine':<6} {'stage':<9} {'wall s':>8} {'CPU s':>8}  note")
    for r in results:
        if "failed" in r:
            print(f"{r['customers']:>11,} {r['events']:>12,} {r['engine']:<6} {'-':<9} {'-':>8} {'-':>8}  "
                  f"{r['failed']}; peak {r['peak_tree_gb']:.1f} GB")
            continue
        for name in STAGES:
            s = r["stages"][name]
            print(f"{r['customers']:>11,} {r['events']:>12,} {r['engine']:<6} {name:<9} {s['wall_s']:>8.1f} "
                  f"{s['cpu_s']:>8.1f}")
        print(f"{'':>11} {'':>12} {'':<6} peak RSS {r['peak_tree_gb']:.1f} GB; labelled rows {r['rows']:,}, "
              f"trained on {r['train_rows']:,} (ROC-AUC {r['roc_auc']:.3f}), scored {r['scored']:,}")
    print()
    for engine_name in engines:
        done = [r for r in results if r["engine"] == engine_name and "failed" not in r]
        if len(done) >= 2:
            a, b = done[0], done[-1]
            growth = {name: math.log(b["stages"][name]["wall_s"] / a["stages"][name]["wall_s"])
                      / math.log(b["customers"] / a["customers"]) for name in STAGES}
            print(f"growth exponent, {engine_name}, {a['customers']:,} -> {b['customers']:,}: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in growth.items()))
    return 0


if __name__ == "__main__":  # the Dask workers re-import this module: nothing above may start work
    sys.exit(main())
