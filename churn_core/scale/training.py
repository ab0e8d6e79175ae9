"""XGBoost fits on a Dask engine: the feature step locally, the booster with ``xgboost.dask`` on the workers.

:func:`fit_xgboost_dask` fits a snapshot pipeline (:func:`churn_core.modeling.build_model`: the feature step,
then an ``XGBClassifier``) the way ``pipeline.fit`` would, except that the boosting runs on the engine's
workers. The feature step is fitted and applied here (it is cheap and keeps its fitted state in the pipeline);
the transformed matrix goes to the workers (through Parquet when it is large, :func:`to_dask_frame`), and the
trained booster is loaded into a plain ``XGBClassifier`` with the same parameters. So the fitted pipeline is
the same type as a local fit's: calibration, thresholds, scoring, explanation and the skops artifact are
unchanged.

:func:`memory_check` says whether the training matrix fits in the workers' combined memory (xgboost.dask
holds all of it there) and, when it does not, which customers of the pooled cut-offs to keep.

Only this module and :mod:`churn_core.scale.scoring` import dask, and only when called.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..errors import ParameterError

log = logging.getLogger(__name__)

PARQUET_BYTES = 100 * 2**20  # a pandas frame over this goes to the workers through Parquet, not the task graph
MEMORY_SHARE = 0.6  # of the workers' combined memory the training set may fill
# Bytes held per byte of the pandas training frame while xgboost.dask trains: the partitions on the workers and
# XGBoost's own copy of them (a DMatrix of float32 plus its histogram index), with room for the gradients.
MEMORY_OVERHEAD = 2.0
LABEL = "__label__"
# Why the other models stay on this machine when the engine is dask (kept in the run's params).
LOCAL_MODELS = {
    "logistic_regression": "local: scikit-learn's LogisticRegression has no distributed fit, and a linear model "
                           "on the pooled cut-offs fits in seconds on one machine",
    "random_forest": "local: scikit-learn's forest has no distributed fit, and each tree already sees a bootstrap "
                     "sample of at most 20,000 rows",
}


def engine_plan(models) -> dict[str, str]:
    """Where each of ``models`` is fitted on a dask engine, and why (the run's ``engine_notes``)."""
    plan = {name: LOCAL_MODELS[name] for name in models if name in LOCAL_MODELS}
    if "xgboost" in models:
        plan["xgboost"] = "xgboost.dask on the engine's workers, loaded into a plain XGBClassifier"
    return plan


@dataclass(frozen=True, kw_only=True)
class MemoryCheck:
    """Whether the training set fits in the workers' memory, and the sample of customers kept when not."""

    matrix_bytes: int  # estimated bytes xgboost.dask needs for the training set
    worker_memory: int | None  # the workers' combined memory limit (None: no limit set)
    rows_before: int
    rows_after: int
    customers_before: int
    customers_after: int
    keep: np.ndarray | None = None  # per training row: kept (None: every row)

    @property
    def sampled(self) -> bool:
        return self.keep is not None

    def to_dict(self) -> dict:
        return {"matrix_bytes": int(self.matrix_bytes), "worker_memory": self.worker_memory,
                "memory_share": MEMORY_SHARE, "sampled": self.sampled, "rows_before": int(self.rows_before),
                "rows_after": int(self.rows_after), "customers_before": int(self.customers_before),
                "customers_after": int(self.customers_after)}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def training_bytes(X: pd.DataFrame) -> int:
    """Estimated bytes xgboost.dask holds on the workers to train on ``X``."""
    return int(X.memory_usage(index=False, deep=True).sum() * MEMORY_OVERHEAD)


def memory_check(X: pd.DataFrame, customer_ids, *, worker_memory: int | None, seed: int = 0) -> MemoryCheck:
    """Keep every row when ``X`` fits in :data:`MEMORY_SHARE` of ``worker_memory``; else keep a seeded sample of
    the customers (every cut-off of a kept customer, so no customer is half in), sized to fit."""
    ids = pd.Series(np.asarray(customer_ids)).astype(str)
    unique = ids.unique()
    need = training_bytes(X)
    full = dict(matrix_bytes=need, worker_memory=worker_memory, rows_before=len(X),
                customers_before=len(unique))
    if worker_memory is None or need <= MEMORY_SHARE * worker_memory:
        return MemoryCheck(**full, rows_after=len(X), customers_after=len(unique))
    share = MEMORY_SHARE * worker_memory / need
    n_keep = max(1, int(len(unique) * share))
    kept = np.random.default_rng(seed).choice(unique, size=n_keep, replace=False)
    keep = ids.isin(kept).to_numpy()
    check = MemoryCheck(**full, rows_after=int(keep.sum()), customers_after=n_keep, keep=keep)
    log.warning("the training set (about %.0f MB for xgboost.dask) exceeds %.0f%% of the workers' %.0f MB: "
                "training XGBoost on %d of %d customers (%d of %d rows)", need / 2**20, MEMORY_SHARE * 100,
                worker_memory / 2**20, n_keep, len(unique), check.rows_after, len(X))
    return check


def to_dask_frame(frame: pd.DataFrame, engine, *, npartitions: int | None = None, folder: str | None = None,
               parquet_bytes: int = PARQUET_BYTES):
    """``frame`` as a dask DataFrame on ``engine``'s workers, rows in their order. Up to ``parquet_bytes`` its
    chunks are scattered to the workers; above, it is written as Parquet (to ``folder``, default a temporary
    folder, which a remote cluster's workers must be able to read), without its index (key rows by a column),
    and the workers read it."""
    import dask
    import dask.dataframe as dd

    n = npartitions or max(1, len(engine.client.scheduler_info().get("workers", {})))
    size = int(frame.memory_usage(index=True, deep=True).sum())
    bounds = np.linspace(0, len(frame), n + 1).astype(int)
    if size <= parquet_bytes:  # scattered once, each chunk to a worker (a graph would carry it every time)
        chunks = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        futures = engine.client.scatter(chunks)
        return dd.from_delayed([dask.delayed(f) for f in futures], meta=frame.iloc[:0], verify_meta=False)
    where = Path(folder or tempfile.gettempdir()) / f"churn_radar_{uuid.uuid4().hex[:12]}"
    where.mkdir(parents=True)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        frame.iloc[a:b].to_parquet(where / f"part.{i:05d}.parquet", index=False)
    log.info("%.0f MB to the workers through Parquet at %s (%d partitions)", size / 2**20, where, n)
    # Without the index: dask reads an index back with pandas' deprecated set_index(inplace=True).
    return dd.read_parquet(str(where), calculate_divisions=False, split_row_groups=False, blocksize=None)


def fit_xgboost_dask(pipeline, X: pd.DataFrame, y, *, engine, rows: np.ndarray | None = None):
    """Fit a clone of ``pipeline`` (feature steps, then an ``XGBClassifier``) on ``X``, ``y``: the feature steps
    here, the booster with ``xgboost.dask`` on ``engine``'s workers (``rows``: the positions to fit on, default
    all). Returns the fitted pipeline; its last step is a plain ``XGBClassifier`` with ``pipeline``'s
    parameters holding the booster, so it saves, loads and predicts like a local fit."""
    from xgboost import XGBClassifier
    from xgboost import dask as dxgb

    if not getattr(engine, "is_dask", False):
        raise ParameterError("fit_xgboost_dask needs a dask engine (open_engine('dask')). Got "
                             f"{getattr(engine, 'name', engine)!r}.", code="bad_parameter", name="engine",
                             value=str(getattr(engine, "name", engine)))
    fitted = clone(pipeline)
    model = fitted.steps[-1][1]
    if not isinstance(model, XGBClassifier):
        raise ParameterError(f"fit_xgboost_dask fits XGBoost pipelines; the last step is {type(model).__name__}.",
                             code="bad_parameter", name="pipeline", value=type(model).__name__)
    y = np.asarray(y).astype(int)
    if rows is not None:
        X, y = X.iloc[rows], y[rows]
    head = fitted[:-1]  # the same step objects: fitting them fits the pipeline's
    Xt = head.fit_transform(X, y) if len(head) else X
    Xt = pd.DataFrame(Xt).reset_index(drop=True)
    # Persisted once, so the matrix and the label are the same partitions: read from Parquet, dask's column
    # projection would plan each apart and could split them differently ("Partitions between X and label are not
    # consistent").
    data = engine.client.persist(to_dask_frame(Xt.assign(**{LABEL: y}), engine))
    # The booster's own parameters, as XGBClassifier.fit passes them, less n_jobs: each worker uses its threads.
    params = {k: v for k, v in model.get_xgb_params().items() if k != "n_jobs"}
    dtrain = dxgb.DaskDMatrix(engine.client, data[list(Xt.columns)], data[LABEL], missing=model.missing)
    booster = dxgb.train(engine.client, params, dtrain, num_boost_round=model.n_estimators)["booster"]
    local = XGBClassifier(**model.get_params())
    local._Booster = booster
    local.n_classes_ = 2
    fitted.steps[-1] = (fitted.steps[-1][0], local)
    log.info("xgboost.dask fitted %d rows x %d features on %d workers", len(Xt), Xt.shape[1],
             len(engine.client.scheduler_info().get("workers", {})))
    return fitted
