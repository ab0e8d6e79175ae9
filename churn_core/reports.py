"""What the Models and Data pages show about recorded runs, computed once from the registry.

``model_report`` turns a stored run (its metrics and holdout predictions) into everything the
Models page draws: the leaderboard with the best value per column, ROC / PR / gains curves,
calibration before and after, a threshold sweep for the confusion-matrix slider, importance
and CV folds. ``compare_with_champion`` scores the current champion on a new run's holdout
rows, so a challenger and the champion are judged on the same customers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .dataset import Dataset
from .errors import NotFoundError, SchemaError
from .evaluation import (
    CalibrationCurve,
    Confusion,
    Curve,
    Gains,
    calibration_bins,
    gains_table,
    pr_curve_points,
    roc_curve_points,
    threshold_sweep,
)
from .modeling import METRIC_NAMES, evaluate
from .store import ModelEntry

logger = logging.getLogger(__name__)

HIGHER_IS_BETTER = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy")
LOWER_IS_BETTER = ("brier", "log_loss", "ece", "fit_seconds", "predict_seconds")


@dataclass(frozen=True, eq=False, kw_only=True)
class ModelReport:
    """One run, ready to draw. Every mapping is keyed by model name, in the run's order."""

    run_id: int
    dataset_version: int
    leaderboard: pd.DataFrame
    roc: dict[str, Curve]
    pr: dict[str, Curve]
    gains: dict[str, Gains]
    calibration: dict[str, tuple[CalibrationCurve, CalibrationCurve]]  # (before, after)
    sweeps: dict[str, pd.DataFrame]
    importance: dict[str, pd.DataFrame]
    folds: dict[str, pd.DataFrame]
    shap_units: dict[str, str]
    thresholds: dict[str, float]
    positives: int
    customers: int

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.leaderboard["model"])

    def best(self) -> dict[str, str]:
        """For each leaderboard metric, the model with the best value (higher or lower, as fits the metric)."""
        if "_best" in self.__dict__:  # computed once: the report never changes
            return dict(self.__dict__["_best"])
        board, out = self.leaderboard, {}
        models = board["model"].astype(str).to_numpy()
        for cols, pick in ((HIGHER_IS_BETTER, np.nanargmax), (LOWER_IS_BETTER, np.nanargmin)):
            for col in cols:
                values = board[col].to_numpy(dtype=float) if col in board else np.array([np.nan])
                if not np.isnan(values).all():
                    out[col] = str(models[pick(values)])
        self.__dict__["_best"] = out
        return dict(out)

    @property
    def recommended(self) -> str:
        """The champion candidate: the best cross-validated mean (the run's own ranking), never the holdout."""
        board = self.leaderboard
        if "rank" in board and board["rank"].notna().any():
            return str(board.loc[board["rank"].astype(float).idxmin(), "model"])
        means = board["cv_roc_auc"].to_numpy(dtype=float)
        return str(board["model"].iloc[int(np.nanargmax(means))]) if np.isfinite(means).any() else self.models[0]

    @property
    def within_noise(self) -> bool | None:
        """Whether the top two models' holdout ROC-AUC differ by less than sampling noise (paired bootstrap)."""
        board = self.leaderboard
        if "within_noise" not in board or len(board) < 2:
            return None
        flags = board["within_noise"].dropna()
        return None if flags.empty else bool(flags.iloc[0])

    def confusion(self, model: str, *, threshold: float) -> Confusion:
        """The confusion counts at the sweep threshold nearest ``threshold`` (no recomputation per slider step)."""
        sweep = self.sweeps[model]
        row = sweep.iloc[int(np.argmin(np.abs(sweep["threshold"].to_numpy() - threshold)))]
        tp, contacted = int(row["tp"]), int(row["contacted"])
        fp, fn = contacted - tp, self.positives - tp
        tn = self.customers - self.positives - fp
        return Confusion(threshold=float(row["threshold"]), tp=tp, fp=fp, tn=tn, fn=fn,
                         precision=tp / contacted if contacted else 0.0, recall=tp / self.positives,
                         f1=2 * tp / (2 * tp + fp + fn), accuracy=(tp + tn) / self.customers)

    def to_frame(self) -> pd.DataFrame:
        return self.leaderboard.copy()


def model_report(run, predictions: pd.DataFrame, *, sweep_points: int = 101) -> ModelReport:
    """Everything the Models page needs for ``run`` (a stored ModelRun) and its holdout ``predictions``.

    ``predictions`` is ``Store.load_predictions(run.id)``. Raises NotFoundError when the run
    has no stored predictions (a failed run, or one recorded before predictions were kept).
    """
    if run.status != "complete":
        raise NotFoundError(f"Run {run.id} is {run.status}, so it has no results to show. Pick a complete run.",
                            code="run_not_complete", run=run.id, status=run.status)
    rows, roc, pr, gains, calib, sweeps, imp, folds, units, thresholds = [], {}, {}, {}, {}, {}, {}, {}, {}, {}
    positives = customers = 0
    for entry in run.models:
        name = entry.name
        part = predictions[predictions["model"] == name]
        if part.empty:
            raise NotFoundError(f"Run {run.id} has no stored holdout predictions for {name}. Retrain to see its "
                                "curves.", code="predictions_missing", run=run.id, model=name)
        y, p, raw = part["y"].to_numpy(), part["proba"].to_numpy(), part["proba_raw"].to_numpy()
        positives, customers = int(y.sum()), len(y)
        rows.append(_leaderboard_row(entry))
        roc[name], pr[name] = roc_curve_points(y, p), pr_curve_points(y, p)
        gains[name] = gains_table(y, p)
        calib[name] = (calibration_bins(y, raw, strategy="uniform"), calibration_bins(y, p, strategy="uniform"))
        sweeps[name] = threshold_sweep(y, p, points=sweep_points)
        imp[name] = pd.DataFrame(list(entry.importance), columns=["feature", "native", "shap", "shap_raw"])
        folds[name] = pd.DataFrame(list(entry.cv_folds), columns=list(METRIC_NAMES))
        units[name] = entry.shap_units
        thresholds[name] = float(entry.threshold)
    return ModelReport(run_id=run.id, dataset_version=run.dataset_version, leaderboard=pd.DataFrame(rows), roc=roc,
                       pr=pr, gains=gains, calibration=calib, sweeps=sweeps, importance=imp, folds=folds,
                       shap_units=units, thresholds=thresholds, positives=positives, customers=customers)


def _number(value) -> float:
    return np.nan if value is None else float(value)


def _leaderboard_row(entry: ModelEntry) -> dict:
    row = {"model": entry.name, **{k: float(getattr(entry, k)) for k in (*METRIC_NAMES, "threshold")}}
    for k in ("roc_auc", "pr_auc", "f1"):
        row[f"cv_{k}"] = _number(getattr(entry, f"cv_{k}_mean"))
        row[f"cv_{k}_sd"] = _number(getattr(entry, f"cv_{k}_std"))
    row["roc_auc_ci_low"] = _number(entry.roc_auc_ci_low)
    row["roc_auc_ci_high"] = _number(entry.roc_auc_ci_high)
    row["rank"] = _number(entry.rank)
    row["within_noise"] = entry.within_noise
    row["fit_seconds"] = _number(entry.fit_seconds)
    row["predict_seconds"] = _number(entry.predict_seconds)
    return row


@dataclass(frozen=True)
class Winner:
    """Who scores best in a champion comparison: the current champion or one of the new run's models."""

    role: Literal["champion", "challenger"]
    model: str


@dataclass(frozen=True, eq=False, kw_only=True)
class ChampionComparison:
    """The champion and a new run's models on the same holdout customers of the new data."""

    champion_run: int | None
    champion_model: str | None
    table: pd.DataFrame  # model, role (champion/challenger), roc_auc, pr_auc, f1, brier, ...
    missing_columns: tuple[str, ...] = ()
    reason: str | None = None  # no_champion, columns_missing, same_run or None when compared
    winner: Winner | None = None  # None when not compared (``reason``)
    customers: int | None = None  # holdout customers compared on: those the champion never saw
    left_out: int = 0  # holdout customers left out because the champion was trained on them

    @property
    def compared(self) -> bool:
        return self.reason is None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def compare_with_champion(dataset: Dataset, *, store, run_id: int, metric: str = "roc_auc",
                          champion=None) -> ChampionComparison:
    """Score the champion on run ``run_id``'s holdout rows of ``dataset`` that the champion never saw, and
    rank it among the new models evaluated on exactly those rows.

    The champion saw its own training split: where ``dataset`` is the data its run was trained on (same
    version or same file), those rows are left out; where both have customer ids, rows whose id the
    champion trained on are left out too. Each model is judged at its own stored threshold. When there is
    no champion, or it needs columns the new data lacks, the comparison says why. ``champion`` pins the
    champion (read once by the caller) instead of reading the store again.
    """
    from .artifacts import load_model
    from .scoring import input_columns

    run = store.get_run(run_id)
    champion = store.champion() if champion is None else champion  # pinned by a caller that read it once
    holdout = store.load_predictions(run_id)
    if champion is None or champion.run_id == run_id:
        challengers = [{"model": e.name, "role": "challenger", "run_id": run_id,
                        **{k: float(getattr(e, k)) for k in (*METRIC_NAMES, "threshold")}} for e in run.models]
        return _comparison(champion, None, challengers, reason="no_champion" if champion is None else "same_run",
                           metric=metric)
    model = load_model(champion.entry.artifact, sha256=champion.entry.sha256)
    missing = tuple(sorted(set(input_columns(model)) - set(dataset.frame.columns)))
    if missing:
        challengers = [{"model": e.name, "role": "challenger", "run_id": run_id,
                        **{k: float(getattr(e, k)) for k in (*METRIC_NAMES, "threshold")}} for e in run.models]
        return _comparison(champion, None, challengers, reason="columns_missing", metric=metric, missing=missing)
    if holdout.empty or not dataset.has_target:
        raise SchemaError(f"Run {run_id} has no stored holdout rows to compare on. Retrain on this dataset.",
                          code="predictions_missing", run=run_id)
    rows = np.sort(holdout["row_index"].unique())
    unseen = rows[~_seen_by(champion, store=store, dataset=dataset, rows=rows)]
    if unseen.size == 0 or len(np.unique(dataset.target().to_numpy()[unseen])) < 2:
        raise SchemaError(f"Every holdout customer of run {run_id} was in the champion's training data (or those "
                          f"left hold one outcome only), so the two cannot be compared fairly. Compare on newer data.",
                          code="predictions_missing", run=run_id)
    challengers = []
    for entry in run.models:
        part = holdout[holdout["model"] == entry.name].set_index("row_index").loc[unseen]
        scores = evaluate(part["y"].to_numpy(), part["proba"].to_numpy(), threshold=float(entry.threshold))
        challengers.append({"model": entry.name, "role": "challenger", "run_id": run_id, **scores.__dict__})
    y = dataset.target().to_numpy().astype(int)[unseen]
    proba = model.predict_proba(dataset.frame.iloc[unseen])[:, 1]
    metrics = evaluate(y, proba, threshold=float(champion.entry.threshold))
    row = {"model": champion.model, "role": "champion", "run_id": champion.run_id, **metrics.__dict__}
    logger.info("champion run %d %s on %d of run %d's holdout rows it never saw: %s %.3f", champion.run_id,
                champion.model, unseen.size, run_id, metric, getattr(metrics, metric))
    return _comparison(champion, row, challengers, reason=None, metric=metric, customers=int(unseen.size),
                       left_out=int(rows.size - unseen.size))


def _seen_by(champion, *, store, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
    """Whether the champion was trained on each of ``rows`` of ``dataset``."""
    seen = np.zeros(rows.size, dtype=bool)
    trained_on = store.get_run(champion.run_id).dataset_version
    versions = {v.version: v for v in store.list_datasets().versions}
    same = dataset.version == trained_on or (
        trained_on in versions and versions[trained_on].sha256 == dataset.sha256 and versions[trained_on].rows ==
        dataset.n_rows)
    train = store.load_predictions(champion.run_id, champion.model, split="train")
    if same:
        if train.empty:  # an old run without out-of-fold rows: everything but its holdout was seen
            kept = store.load_predictions(champion.run_id, champion.model)["row_index"].to_numpy()
            return ~np.isin(rows, kept)
        return np.isin(rows, train["row_index"].to_numpy())
    if dataset.roles.id and trained_on in versions and not train.empty:
        old = store.load_dataset(trained_on)
        if old.roles.id:
            ids = set(old.ids().astype(str).to_numpy()[train["row_index"].to_numpy()])
            seen = np.isin(dataset.ids().astype(str).to_numpy()[rows], list(ids))
    return seen


def _comparison(champion, row, challengers, *, reason, metric, missing=(), customers=None,
                left_out=0) -> ChampionComparison:
    rows = ([row] if row else []) + challengers
    table = pd.DataFrame(rows).sort_values(metric, ascending=metric in LOWER_IS_BETTER, kind="stable")
    winner = Winner(role=table.iloc[0]["role"], model=table.iloc[0]["model"]) if reason is None else None
    return ChampionComparison(champion_run=champion.run_id if champion else None,
                              champion_model=champion.model if champion else None, table=table.reset_index(drop=True),
                              missing_columns=tuple(missing), reason=reason, winner=winner, customers=customers,
                              left_out=left_out)
