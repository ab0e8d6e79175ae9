"""Write a seeded synthetic large score set (the schema of ``churn_core.risk_sql.LARGE_SCORE_COLUMNS``) as a
folder of Parquet files, and register it as a score set of the active dataset's champion.

    .venv/bin/python scripts/make_large_scores.py --rows 10000000 [--db PATH] [--out DIR] [--seed 0]

Rows are generated in chunks of ``CHUNK_ROWS``, vectorised with numpy, one Parquet file per chunk
(``part.<i>.parquet``, as Dask writes them), so 10M rows never sit in memory at once. Tiers, due hours and
actions follow ``churn_core.scoring``'s default policy; about 5% of the customers have already churned (no
priority, action nor due time). The store needs a champion: train and promote one first.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNK_ROWS = 500_000
AS_OF = date(2026, 6, 30)
REASONS = np.array(["number_customer_service_calls", "total_day_charge", "international_plan", "account_length",
                    "number_vmail_messages", "total_eve_charge", "total_intl_minutes", "voice_mail_plan"])
PERSONAL_ACTIONS = np.array(["senior_agent", "plan_review", "tailored_bundle", "onboarding_call",
                             "feature_activation", "retention_call"])
CHURNED_SHARE = 0.05
RETENTION, CONTACT_COST = 0.3, 5.0  # priority = probability x value x retention / contact cost

logger = logging.getLogger("make_large_scores")
_ARROW = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(), "DATE": pa.date32()}


def _schema() -> pa.Schema:
    from churn_core.risk_sql import LARGE_SCORE_COLUMNS

    return pa.schema([(name, _ARROW[kind]) for name, kind in LARGE_SCORE_COLUMNS])


def chunk(start: int, rows: int, *, seed: int) -> pa.Table:
    """Rows ``start`` .. ``start + rows - 1`` of the set (the same for a seed whatever the chunking)."""
    from churn_core.scoring import DEFAULT_TIERS

    rng = np.random.default_rng([seed, start])
    ids = np.arange(start, start + rows)
    p = rng.beta(1.3, 4.0, rows)
    raw = np.clip(p + rng.normal(0, 0.03, rows), 0, 1)
    churned = rng.random(rows) < CHURNED_SHARE
    tier = np.full(rows, "low", dtype=object)
    due = np.full(rows, -1, dtype=np.int64)
    for t in reversed(DEFAULT_TIERS):  # highest lower bound last, so it wins
        hit = p >= t.lower
        tier[hit] = t.key
        due[hit] = -1 if t.due_hours is None else t.due_hours
    tier[churned] = "churned"
    value = np.round(rng.lognormal(6.5, 0.8, rows), 2)
    priority = p * value * RETENTION / CONTACT_COST
    action = np.where(np.isin(tier, ["critical", "high"]), PERSONAL_ACTIONS[rng.integers(0, len(PERSONAL_ACTIONS),
                                                                                          rows)],
                      np.where(tier == "medium", "automated_care", np.where(tier == "watch", "monitor", "none")))
    order = np.argsort(rng.random((rows, len(REASONS))), axis=1)[:, :3]  # three distinct reasons a row
    points = np.sort(rng.exponential(0.4, (rows, 3)), axis=1)[:, ::-1]
    columns = {
        "customer_id": pa.array(np.char.add("C", np.char.zfill(ids.astype(str), 9))),
        "probability": pa.array(p), "probability_raw": pa.array(raw),
        "tier": pa.array(tier.astype(str)),
        "due_hours": pa.array(due.astype(np.int32), mask=(due < 0) | churned),
        "value": pa.array(value),
        "priority": pa.array(priority, mask=churned),
        "action": pa.array(action.astype(str), mask=churned),
        "status": pa.array(np.where(churned, "churned", "active")),
        **{f"reason_{k}": pa.array(REASONS[order[:, k - 1]]) for k in (1, 2, 3)},
        **{f"reason_{k}_points": pa.array(points[:, k - 1]) for k in (1, 2, 3)},
        "as_of": pa.array(np.full(rows, np.datetime64(AS_OF, "D"))),
    }
    return pa.table(columns, schema=_schema())


def write_scores(out: Path, *, rows: int, seed: int = 0, chunk_rows: int = CHUNK_ROWS) -> int:
    """Write the set into the folder ``out`` (which must not exist or be empty); the number of files."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: give a new --out folder (a score set's Parquet is written once).")
    files = 0
    for files, start in enumerate(range(0, rows, chunk_rows), start=1):
        pq.write_table(chunk(start, min(chunk_rows, rows - start), seed=seed), out / f"part.{files - 1}.parquet")
    return files


def register(store, out: Path, *, rows: int, partitions: int, seconds: float | None = None):
    """A score set of the active dataset's champion whose scores are the Parquet folder ``out``."""
    import churn_core as cc

    champion = store.champion()
    if champion is None:
        raise SystemExit("The store has no champion: train and promote a model first (python -m churn_core train).")
    version = cc.ensure_active_dataset(store).version
    events = store.events_meta(version)  # a visit log's scorings are dated: this one is as of its last day
    as_of = None if events is None else events["as_of_context"]["as_of"]
    meta = store.save_score_set_meta(champion.run_id, champion.model, version, rows=rows, as_of=as_of,
                                     seconds=seconds)
    store.register_parquet("scores", meta.id, str(out.resolve()), rows=rows, partitions=partitions)
    return meta


def main(argv=None) -> None:
    import churn_core as cc

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--db", default=None, help="the store (default: $CHURN_RADAR_DB, else data/churn.duckdb)")
    parser.add_argument("--out", default=None, help="the Parquet folder (default: data/large_scores_<rows>_<seed>)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out or Path("data") / f"large_scores_{args.rows}_{args.seed}")
    started = time.perf_counter()
    files = write_scores(out, rows=args.rows, seed=args.seed)
    seconds = time.perf_counter() - started
    meta = register(cc.Store(cc.resolve_db_path(args.db)), out, rows=args.rows, partitions=files, seconds=seconds)
    logger.info("wrote %d rows in %d files to %s in %.1f s; score set %d (run %d %s, dataset v%d)", args.rows,
                files, out, seconds, meta.id, meta.run_id, meta.model, meta.dataset_version)


if __name__ == "__main__":
    main()
