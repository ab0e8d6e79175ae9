"""Training on a stored visit log, recorded as a model run like a snapshot's.

The run's models are trained out of time (:func:`churn_core.events.training.train_out_of_time`) on the labels
and features at every labelled cut-off of the stored log. Their entries' test metrics are the out-of-time
ones, at the test cut-off; the "holdout" predictions stored with the run are those of the version's analysis
table (the eligible customers at the test cut-off), so the Models and ROI pages read them as they read a
snapshot's holdout. The run's parameters keep the population, the recency baseline, the rules, the deciles,
the lift and the verdict, for the pages and the command line.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..errors import ParameterError
from ..modeling import auc_difference_within_noise, fail_run, save_run_models
from .labels import EventWindow, label_and_features
from .training import OutOfTimeResult, train_out_of_time

logger = logging.getLogger(__name__)

# Options of a snapshot run that have no meaning out of time (the split is by date, the folds by cut-off).
_SNAPSHOT_ONLY = ("test_size", "cv_folds", "class_weight", "derived_features", "exclude")
_DEFAULT_MODELS = train_out_of_time.__kwdefaults__["models"]
_OPTIONS = ("models", "calibration", "seed", "folds", "threshold_rule", "target_recall", "n_jobs")


def _day(value) -> str:
    return pd.Timestamp(value).date().isoformat()


def run_summary(result: OutOfTimeResult) -> dict:
    """The JSON-ready out-of-time summary kept with the run: ``population``, ``baseline``, ``rules``,
    ``deciles``, ``lift``, ``verdict`` and the folds."""
    split, base = result.split, result.baseline
    best = result.best()
    population = {
        "window_days": split.window_days, "lookback_days": split.lookback_days,
        "cutoffs": [_day(d) for d in split.train_cutoffs], "test_cutoff": _day(split.test_cutoff),
        "train_rows": int(split.train_rows), "test_rows": int(split.test_rows),
        "train_churn_rate": float(split.train_churn_rate), "test_churn_rate": float(split.test_churn_rate),
        "gap_days": int(split.gap_days),
    }
    baseline = {"rule": base.rule, "days": float(base.days), "roc_auc": float(base.roc_auc),
                "precision": float(base.precision), "recall": float(base.recall),
                "ranking_auc": float(base.ranking_auc), "flagged_share": float(base.flagged_share)}
    rules = result.rules.to_frame()
    return {
        "mode": "events", "population": population, "baseline": baseline,
        "best_model": best.name, "best_roc_auc": float(best.holdout.roc_auc),
        "lift": float(result.lift), "verdict": result.verdict,
        "rules": _records(rules), "rules_k": int(result.rules.rules.k),
        "deciles": _records(result.deciles),
        "folds": _records(result.cv_folds),
        "engine": result.engine, "engine_notes": result.engine_notes,
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.date.astype(str)
    return [{k: (None if isinstance(v, float) and np.isnan(v) else
                 v.item() if isinstance(v, np.generic) else
                 list(v) if isinstance(v, tuple) else v) for k, v in row.items()}
            for row in out.to_dict("records")]


def _engine_params(engine, models) -> dict:
    """The run's params on a dask engine: its name and address, and where each model is fitted and why (the
    memory check, known after training, is kept with the summary's ``engine_notes``)."""
    from ..scale.training import engine_plan

    return {"engine": "dask", "engine_address": engine.address, "engine_notes": engine_plan(models)}


def run_event_training(store, dataset: Dataset, *, promote: bool = False, artifact_root=None, progress=None,
                       engine=None, **options) -> tuple[int, OutOfTimeResult]:
    """Train out of time on a stored visit-log version and record the run (see the module docstring).

    Accepts the snapshot run's options; those without meaning out of time (``test_size``, ``cv_folds``...)
    are ignored with a log line. With ``promote``, the model with the best out-of-time cross-validated mean
    becomes the champion. ``engine`` (:func:`churn_core.scale.open_engine`): a dask engine fits XGBoost on its
    workers (see :func:`~churn_core.events.training.train_out_of_time`); the run's params then say
    ``"engine": "dask"`` with ``engine_notes`` (which model is fitted where, and why), and its summary keeps the
    full ``engine_notes`` with the memory check (rows before and after a sample of customers).
    """
    if dataset.events is None or dataset.version is None:
        raise ParameterError("run_event_training needs a stored visit-log version (Store.save_events). Got "
                             f"'{dataset.name}', which is not one.", code="not_event_dataset",
                             version=dataset.version)
    ignored = [k for k in options if k in _SNAPSHOT_ONLY]
    unknown = [k for k in options if k not in _SNAPSHOT_ONLY and k not in _OPTIONS and k != "choose_by"]
    if unknown:
        raise ParameterError(f"Unknown training option(s) {unknown} for a visit log. Use {list(_OPTIONS)}.",
                             code="bad_parameter", name=unknown[0], value=unknown[0])
    if ignored:
        logger.info("out-of-time training ignores the snapshot options %s", ignored)
    kwargs = {k: v for k, v in options.items() if k in _OPTIONS}
    version = dataset.version
    window_dict = dict(dataset.events.window)
    if window_dict.get("visit_types") is not None:
        window_dict["visit_types"] = tuple(window_dict["visit_types"])
    window = EventWindow(**window_dict)
    params = {"mode": "events", "window": window.to_dict(),
              **{k: v for k, v in kwargs.items() if k != "n_jobs"},
              **(_engine_params(engine, kwargs.get("models") or _DEFAULT_MODELS)
                 if engine is not None and engine.is_dask else {})}
    run_id = store.start_run(version, params=params)
    try:
        if engine is not None and engine.is_dask:  # one task per customer bucket on the workers
            from ..scale.features import label_and_features_dask

            # the version's log as bucketed Parquet when it is stored so (train --engine dask writes it), which
            # the workers read in place; else the log in the database, written to a temporary Parquet first
            source = store.parquet_url("events", version) or store.load_events(version)
            labelled = label_and_features_dask(source, engine=engine, window=window,
                                               cutoffs=list(dataset.events.cutoffs))
        else:
            log = store.load_events(version)
            labelled = label_and_features(log, window=window, cutoffs=list(dataset.events.cutoffs))
        result = train_out_of_time(labelled, progress=progress, engine=engine, **kwargs)
        if progress is not None:
            progress("saving", 1.0)
        test = labelled.frame.iloc[result.test_index]
        boots = [m.boot_auc for m in result.ranked()[:2]]
        within = auc_difference_within_noise(*boots) if len(boots) == 2 else None
        entries = save_run_models(store, run_id, result, test=test, artifact_root=artifact_root,
                                  within_noise=within)
        # The holdout rows are the analysis table's customers, in its order.
        position = pd.Series(np.arange(dataset.n_rows), index=dataset.frame["customer_id"].astype(str).to_numpy())
        test_ids = test["customer_id"].astype(str).to_numpy()
        row_index = position.reindex(test_ids).to_numpy()
        if np.isnan(row_index.astype(float)).any():
            raise ParameterError(f"The stored analysis table of version {version} does not hold every customer of "
                                 "its test cut-off; store the visit log again.", code="events_table_mismatch",
                                 version=version)
        for m in result.models:
            store.save_predictions(run_id, m.name, row_index=row_index.astype(int), y=result.y_test,
                                   proba=m.test_proba, proba_raw=m.test_proba_raw)
        store.complete_run(run_id, models=entries)
        store.set_run_summary(run_id, run_summary(result))
    except BaseException as err:
        fail_run(store, run_id, err)
        raise
    logger.info("run %d on visit log v%d: best %s, out-of-time AUC %.3f, baseline %.3f, verdict %s", run_id,
                version, result.best().name, result.best().holdout.roc_auc, result.baseline.roc_auc, result.verdict)
    if promote:
        store.promote(run_id, result.best().name)
    return run_id, result
