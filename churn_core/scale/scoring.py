"""Batch scoring on a Dask engine: probability, tier, priority, action and top-3 reasons per partition.

:func:`score_dask` scores a feature table (one row per customer with ``customer_id``: a pandas frame, a dask
frame or a Parquet URL) with the champion, partition by partition (``map_partitions``): the raw probability
of the final fit, the calibrated one (exactly as :class:`churn_core.scoring.Scorer` computes them, so the
numbers equal local scoring's), and the three strongest reasons from XGBoost's own contributions
(``pred_contribs``, through :func:`churn_core.explain.explain_customers`, in points of the shown probability
around the mean probability of everyone scored). The default policy adds tier, due time, value, priority and
the tier channel's fallback action. Rows keep their customer id: partitions may arrive in any order, so
anything that joins the scores to other data joins on ``customer_id``, never on position.

The result is written as partitioned Parquet (:data:`SCORE_SCHEMA`), the large score set the Risk page pages
through in DuckDB; :func:`save_dask_scores` registers it in the store as a score set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from ..scoring import FALLBACK_ACTIONS, STORED_REASONS, RiskPolicy, assign_tiers

log = logging.getLogger(__name__)

ID = "customer_id"
# The score set's columns and their SQL types, in order (the Risk page's server-side path reads them).
SCORE_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR", "probability": "DOUBLE", "probability_raw": "DOUBLE", "tier": "VARCHAR",
    "due_hours": "INTEGER", "value": "DOUBLE", "priority": "DOUBLE", "action": "VARCHAR", "status": "VARCHAR",
    **{f"reason_{k}": "VARCHAR" for k in range(1, STORED_REASONS + 1)},
    **{f"reason_{k}_points": "DOUBLE" for k in range(1, STORED_REASONS + 1)},
    "as_of": "DATE",
}
_PANDAS_TYPES = {"VARCHAR": "string", "DOUBLE": "float64", "INTEGER": "Int32", "DATE": "object"}


def score_schema():
    """:data:`SCORE_COLUMNS` as a pyarrow schema (the Parquet files' types)."""
    import pyarrow as pa

    types = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(), "DATE": pa.date32()}
    return pa.schema([(name, types[kind]) for name, kind in SCORE_COLUMNS.items()])


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_PANDAS_TYPES[k]) for c, k in SCORE_COLUMNS.items()})


@dataclass(frozen=True, kw_only=True)
class DaskScores:
    """A Dask scoring: where its Parquet lives (``url``) or, without one, the scores themselves (``frame``),
    with its size, the reasons' base probability and the time it took."""

    rows: int
    partitions: int
    base_probability: float | None
    as_of: date | None
    seconds: float
    units: str
    url: str | None = None
    score_set: int | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The scores (read from the Parquet when they were written there)."""
        return self.frame.copy() if self.frame is not None else pd.read_parquet(self.url)


def raw_probability(model, frame: pd.DataFrame) -> np.ndarray:
    """The champion's uncalibrated churn probability of every row (its final fit, as Scorer.raw)."""
    return model.predict_raw(frame) if hasattr(model, "predict_raw") else model.predict_proba(frame)[:, 1]


def calibrate(model, raw) -> np.ndarray:
    """The shown (calibrated, clipped) probability, as Scorer.calibrate."""
    from ..modeling import apply_calibrator

    return model.calibrate(raw) if hasattr(model, "calibrate") else apply_calibrator(None, raw)


def probability_partition(part: pd.DataFrame, model) -> pd.Series:
    """One partition's shown probabilities (the first pass: their mean is the reasons' base)."""
    return pd.Series(calibrate(model, raw_probability(model, part)) if len(part) else [], index=part.index,
                     dtype=float)


def score_partition(part: pd.DataFrame, model, *, base_probability: float, as_of: date | None,
                    policy: RiskPolicy, value: str | None, explain: bool) -> pd.DataFrame:
    """One partition's rows of the score set (:data:`SCORE_COLUMNS`), its customers' ids kept with them."""
    from ..explain import explain_customers, model_kind

    if not len(part):
        return _empty()
    raw = raw_probability(model, part)
    proba = calibrate(model, raw)
    tiers = assign_tiers(proba, tiers=policy.tiers)
    by_key = {t.key: t for t in policy.tiers}
    out = pd.DataFrame({ID: part[ID].astype(str).to_numpy(), "probability": proba, "probability_raw": raw,
                        "tier": tiers})
    out["due_hours"] = pd.array([by_key[k].due_hours for k in tiers], dtype="Int32")
    if value is None:
        out["value"] = np.nan
        worth = 1.0
    else:  # as apply_policy: a missing value counts as 0
        out["value"] = np.nan_to_num(pd.to_numeric(part[value], errors="coerce").to_numpy(dtype=float), nan=0.0)
        worth = out["value"].to_numpy()
    out["priority"] = proba * worth * policy.retention_likelihood / policy.contact_cost
    out["action"] = [FALLBACK_ACTIONS[by_key[k].channel] for k in tiers]
    out["status"] = "active"
    if explain and model_kind(model) == "xgboost":
        reasons = explain_customers(model, part.reset_index(drop=True), top_k=STORED_REASONS,
                                    calibrate=lambda r: calibrate(model, r), mean_probability=base_probability).table
        for k in range(1, STORED_REASONS + 1):
            out[f"reason_{k}"] = reasons[f"reason_{k}"].to_numpy(dtype=object)
            out[f"reason_{k}_points"] = reasons[f"reason_{k}_points"].to_numpy(dtype=float)
    else:
        for k in range(1, STORED_REASONS + 1):
            out[f"reason_{k}"], out[f"reason_{k}_points"] = None, np.nan
    out["as_of"] = as_of
    return out.astype({c: _PANDAS_TYPES[k] for c, k in SCORE_COLUMNS.items() if k != "DATE"})[list(SCORE_COLUMNS)]


def _as_dask(features, engine, npartitions: int | None):
    import dask.dataframe as dd

    from .training import to_dask_frame

    if isinstance(features, str):
        return dd.read_parquet(features)
    if isinstance(features, pd.DataFrame):
        return to_dask_frame(features.reset_index(drop=True), engine, npartitions=npartitions)
    if isinstance(features, dd.DataFrame):
        return features
    raise ParameterError("score_dask scores a pandas frame, a dask frame or a Parquet URL of customers' features. "
                         f"Got {type(features).__name__}.", code="bad_parameter", name="features",
                         value=type(features).__name__)


def score_dask(features, *, model, engine, as_of=None, policy: RiskPolicy | None = None, value: str | None = None,
               out_url: str | None = None, npartitions: int | None = None, explain: bool = True) -> DaskScores:
    """Score ``features`` (with ``customer_id``) with ``model`` (the champion as stored: its fitted pipeline, with
    calibration) on the dask ``engine``; see the module docstring. ``value``: the column holding each customer's
    value (none: ``value`` is NaN and the priority ranks by probability). ``out_url``: write the scores there as
    partitioned Parquet (else they are collected into ``frame``). ``explain``: XGBoost models get their top-3
    reasons; other models none."""
    from ..explain import shap_units

    if engine is None or not engine.is_dask:
        raise ParameterError("score_dask needs a dask engine (open_engine('dask')). Score locally with "
                             "churn_core.score_customers.", code="bad_parameter", name="engine",
                             value=str(getattr(engine, "name", engine)))
    start = time.perf_counter()
    policy = policy or RiskPolicy()
    data = _as_dask(features, engine, npartitions)
    missing = [c for c in (ID, *([value] if value else [])) if c not in data.columns]
    if missing:
        raise SchemaError(f"The features to score lack the column(s) {missing}. Received {list(data.columns)[:12]}.",
                          code="score_columns_missing", columns=missing)
    day = None if as_of is None else pd.Timestamp(as_of).date()
    proba = data.map_partitions(probability_partition, model, meta=pd.Series(dtype=float))
    total, rows = engine.client.compute([proba.sum(), proba.count()], sync=True)
    base = float(total / rows) if rows else None
    scored = data.map_partitions(score_partition, model, base_probability=base if base is not None else 0.5,
                                 as_of=day, policy=policy, value=value, explain=explain, meta=_empty())
    frame = None
    if out_url is not None:
        scored.to_parquet(out_url, write_index=False, schema=score_schema())
    else:
        frame = scored.compute().reset_index(drop=True)
    seconds = time.perf_counter() - start
    log.info("dask engine scored %d customers in %d partitions in %.1f s%s", rows, data.npartitions, seconds,
             f" to {out_url}" if out_url else "")
    return DaskScores(rows=int(rows), partitions=int(data.npartitions), base_probability=base, as_of=day,
                      seconds=seconds, units=shap_units(model), url=out_url, frame=frame)


def save_dask_scores(store, scores: DaskScores, *, run_id: int, model: str, dataset_version: int) -> DaskScores:
    """Register a scoring written as Parquet (``scores.url``) in ``store`` as a score set of ``run_id``'s
    ``model`` on ``dataset_version``; returns it with its ``score_set`` id."""
    if scores.url is None:
        raise ParameterError("Only scores written as Parquet are registered as a large score set: score with "
                             "out_url=... (the command line's --out-parquet URL).", code="bad_parameter",
                             name="out_url", value=None)
    meta = store.save_score_set_meta(run_id, model, dataset_version, rows=scores.rows, units=scores.units,
                                     base_probability=scores.base_probability, as_of=scores.as_of,
                                     seconds=scores.seconds)
    store.register_parquet("scores", meta.id, scores.url, rows=scores.rows, partitions=scores.partitions)
    return DaskScores(**{**scores.__dict__, "score_set": meta.id})
