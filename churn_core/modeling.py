"""Training and honest comparison of churn models.

Three scikit-learn pipelines share the :class:`~churn_core.features.ChurnFeatures` step:
logistic regression (imputed, scaled), random forest and XGBoost. ``train_models`` splits
70/30 (stratified, seeded) and, for each model, fits k stratified folds of the training
split. Their out-of-fold predictions give the CV metrics (mean ± sd), the decision threshold
and the probability calibrator (isotonic or sigmoid), so calibration is fitted inside the
training data only, never on the test split, and costs no extra fits. One final fit on the
whole training split is then scored on the holdout, before and after calibration.

Every customer of the training data can be scored by a model that never saw them: the fold
models are kept (``ModelResult.fold_models``), so a training-split customer is scored by the
fold fit that left them out and a holdout customer by the final fit. The default calibrator is
beta calibration (Kull et al., 2017): monotone and smooth, so probabilities keep their
resolution; every probability is clipped to [0.5%, 99.5%], since no churn is ever certain.
The champion is the best cross-validated mean (never the holdout it is then judged on); the
holdout ROC-AUC carries a bootstrap 95% interval.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from .dataset import Dataset
from .errors import ParameterError, SchemaError
from .features import ChurnFeatures, feature_labels, safe_feature_name
from .roles import ColumnRoles

logger = logging.getLogger(__name__)

MODEL_NAMES = ("logistic_regression", "random_forest", "xgboost")
ThresholdRule = Literal["0.5", "f1", "recall"]
_FOREST_SAMPLE = 20_000
CALIBRATIONS = ("beta", "sigmoid", "isotonic")
PROBA_FLOOR, PROBA_CEIL = 0.005, 0.995  # no customer's churn is 0% or 100% certain
CHOICE_METRICS = ("roc_auc", "pr_auc", "profit")  # what picks the champion: a cross-validated mean
_BOOTSTRAP = 400
METRIC_NAMES = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier", "log_loss", "ece")


@dataclass(frozen=True, kw_only=True)
class Metrics:
    roc_auc: float
    pr_auc: float
    precision: float
    recall: float
    f1: float
    accuracy: float
    brier: float
    log_loss: float
    ece: float
    threshold: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def expected_calibration_error(y_true, proba, *, bins: int = 10) -> float:
    """ECE: the customer-weighted mean |observed rate - mean predicted| over equal-width bins."""
    y_true, proba = np.asarray(y_true, dtype=float), np.asarray(proba, dtype=float)
    which = np.minimum((proba * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    observed = np.bincount(which, weights=y_true, minlength=bins)
    predicted = np.bincount(which, weights=proba, minlength=bins)
    used = count > 0
    return float(np.sum(np.abs(observed[used] - predicted[used])) / len(y_true))


def evaluate(y_true, proba, *, threshold: float = 0.5) -> Metrics:
    """Every metric of one model's probabilities, the thresholded ones at ``threshold``."""
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    if len(np.unique(y_true)) < 2:
        raise ParameterError("evaluate needs both churned and retained customers in y_true. Got only "
                             f"{np.unique(y_true).tolist()}.", code="bad_parameter", name="y_true")
    pred = proba >= threshold
    return Metrics(
        roc_auc=float(roc_auc_score(y_true, proba)), pr_auc=float(average_precision_score(y_true, proba)),
        precision=float(precision_score(y_true, pred, zero_division=0)),
        recall=float(recall_score(y_true, pred, zero_division=0)), f1=float(f1_score(y_true, pred, zero_division=0)),
        accuracy=float(accuracy_score(y_true, pred)), brier=float(brier_score_loss(y_true, proba)),
        log_loss=float(log_loss(y_true, np.clip(proba, 1e-15, 1 - 1e-15), labels=[0, 1])),
        ece=expected_calibration_error(y_true, proba), threshold=float(threshold))


def choose_threshold(y_true, proba, *, rule: ThresholdRule = "f1", target_recall: float = 0.8) -> float:
    """The decision threshold by rule: ``"0.5"``; ``"f1"`` (F1-optimal); ``"recall"`` (the highest
    threshold whose recall is at least ``target_recall``)."""
    if rule == "0.5":
        return 0.5
    if rule not in ("f1", "recall"):
        raise ParameterError(f"The 'rule' parameter of choose_threshold must be one of '0.5', 'f1', 'recall'. "
                             f"Got {rule!r} instead.", code="bad_parameter", name="rule", value=rule)
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    precision, recall = precision[:-1], recall[:-1]
    if rule == "f1":
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
        return float(thresholds[int(np.argmax(f1))])
    if not 0 < target_recall <= 1:
        raise ParameterError(f"The 'target_recall' parameter of choose_threshold must be in (0, 1]. Got "
                             f"{target_recall!r} instead.", code="bad_parameter", name="target_recall",
                             value=target_recall)
    ok = np.flatnonzero(recall >= target_recall)
    return float(thresholds[ok[-1]]) if ok.size else float(thresholds[0])


def build_model(name: str, *, features: ChurnFeatures, class_weight: bool = False, positive_share: float = 0.5,
                seed: int = 0, n_jobs: int = 2, n_rows: int | None = None) -> Pipeline:
    """One of MODEL_NAMES as a pipeline whose first step is ``features``.

    The forest is kept shallow (150 trees of depth 10) and, on large data, each tree sees a
    bootstrap sample of at most 20,000 rows. XGBoost grows 200 trees of depth 3 at rate 0.2 over 64
    histogram bins: exact TreeSHAP costs about trees x leaves x depth^2 per customer, and these
    shallow trees explain 200,000 customers in about 13 s on 2 cores (depth 5 took 66 s) with the
    same holdout quality. Training stays within the benchmark budget. XGBoost is constrained to be
    monotone increasing in the service-call column (a domain fact the behavioural tests check).
    """
    weight = "balanced" if class_weight else None
    if name == "logistic_regression":
        model = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                 ("model", LogisticRegression(max_iter=2000, class_weight=weight))]
    elif name == "random_forest":
        sample = min(1.0, _FOREST_SAMPLE / n_rows) if n_rows else None
        model = [("model", RandomForestClassifier(n_estimators=150, max_depth=10, min_samples_leaf=3,
                                                  max_samples=sample if sample and sample < 1 else None,
                                                  class_weight=weight, random_state=seed, n_jobs=n_jobs))]
    elif name == "xgboost":
        scale = (1 - positive_share) / positive_share if class_weight else 1.0
        # Domain knowledge as a constraint: more service calls never lower the risk, other things equal.
        calls = ColumnRoles.from_dict(json.loads(features.roles_json)).service_calls
        monotone = {safe_feature_name(calls): 1} if calls and calls not in features.exclude else None
        model = [("model", XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.2, max_bin=64, subsample=0.9,
                                         colsample_bytree=0.9, scale_pos_weight=scale, random_state=seed,
                                         n_jobs=n_jobs, tree_method="hist", monotone_constraints=monotone))]
    else:
        raise ParameterError(f"Unknown model '{name}'. Choose one of {list(MODEL_NAMES)}.",
                             code="unknown_model", name=name)
    return Pipeline([("features", features), *model])


class OOFCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A model whose probabilities are recalibrated on out-of-fold predictions.

    ``estimator_`` is the pipeline fitted on all training rows; ``calibrator_`` maps its raw
    probability to a calibrated one and was fitted on out-of-fold predictions of the same
    training rows (the holdout never touches it). This is scikit-learn's
    ``CalibratedClassifierCV(ensemble=False)``, except that the out-of-fold predictions are
    passed in, so cross-validation and calibration share one set of fits.
    """

    def __init__(self, estimator=None, *, method: str = "beta"):
        self.estimator = estimator
        self.method = method

    def fit(self, X, y, *, oof=None, cv=5, fitted=None):
        """Fit the calibrator on ``oof`` (rows whose out-of-fold prediction is NaN are left out of it, as in
        out-of-time CV, where the earliest rows are never validated) and the estimator on every row
        (``fitted``: a clone of ``estimator`` already fitted on them elsewhere, e.g. on a Dask engine)."""
        y = np.asarray(y).astype(int)
        if oof is None:
            oof = cross_val_predict(clone(self.estimator), X, y, cv=cv, method="predict_proba")[:, 1]
        oof = np.asarray(oof, dtype=float)
        known = ~np.isnan(oof)
        self.calibrator_ = fit_calibrator(oof[known], y[known], method=self.method)
        self.estimator_ = fitted if fitted is not None else clone(self.estimator).fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_raw(self, X) -> np.ndarray:
        """The uncalibrated probability of churn."""
        return self.estimator_.predict_proba(X)[:, 1]

    def predict_proba(self, X) -> np.ndarray:
        p = apply_calibrator(self.calibrator_, self.predict_raw(X))
        return np.column_stack([1 - p, p])

    def calibrate(self, raw) -> np.ndarray:
        """Calibrated, clipped probabilities for raw ones (of this model or of one of its fold fits)."""
        return apply_calibrator(self.calibrator_, raw)

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class BetaCalibration:
    """Beta calibration: logit(p) = a·ln(s) − b·ln(1 − s) + c with a, b ≥ 0 (Kull, Silva Filho and
    Flach, 2017). Monotone in the raw score s and smooth, so distinct scores stay distinct; it
    contains Platt scaling of the log-odds (a = b) and fits the skewed scores of trees better."""

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0):
        self.a, self.b, self.c = float(a), float(b), float(c)

    def fit(self, proba, y) -> BetaCalibration:
        s = np.clip(np.asarray(proba, dtype=float), 1e-6, 1 - 1e-6)
        X = np.column_stack([np.log(s), -np.log1p(-s)])
        keep = [0, 1]
        while True:  # a negative slope would make the map non-monotone: drop that term and refit
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(X[:, keep], np.asarray(y).astype(int))
            coef = dict(zip(keep, lr.coef_[0]))
            negative = [k for k, v in coef.items() if v < 0]
            if not negative:
                break
            keep.remove(min(negative, key=lambda k: coef[k]))
            if not keep:
                coef = {}
                lr = LogisticRegression(C=1e6).fit(np.zeros((len(s), 1)), np.asarray(y).astype(int))
                break
        self.a, self.b, self.c = float(coef.get(0, 0.0)), float(coef.get(1, 0.0)), float(lr.intercept_[0])
        return self

    def logit(self, proba) -> np.ndarray:
        s = np.clip(np.asarray(proba, dtype=float), 1e-12, 1 - 1e-12)
        return self.a * np.log(s) - self.b * np.log1p(-s) + self.c

    def predict(self, proba) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(proba)))


def fit_calibrator(proba, y, *, method: str = "beta"):
    """A beta, sigmoid (Platt) or isotonic map from raw probabilities to calibrated ones."""
    if method == "beta":
        return BetaCalibration().fit(proba, y)
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(proba, y)
    if method == "sigmoid":
        return LogisticRegression(C=1e6).fit(_logit(proba), y)
    raise _bad_calibration(method)


def _bad_calibration(method) -> ParameterError:
    return ParameterError(f"The 'calibration' parameter must be 'beta', 'sigmoid', 'isotonic' or None. Got "
                          f"{method!r} instead.", code="bad_parameter", name="calibration", value=method)


def apply_calibrator(calibrator, proba) -> np.ndarray:
    """Calibrated probabilities, clipped to [PROBA_FLOOR, PROBA_CEIL] (``calibrator`` None: only clipped)."""
    if calibrator is None:
        p = np.asarray(proba, dtype=float)
    elif isinstance(calibrator, (IsotonicRegression, BetaCalibration)):
        p = calibrator.predict(proba)
    else:
        p = calibrator.predict_proba(_logit(proba))[:, 1]
    return np.clip(p, PROBA_FLOOR, PROBA_CEIL)


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p)).reshape(-1, 1)


def _cross_fitted(oof: np.ndarray, y: np.ndarray, fold_of: np.ndarray, method: str) -> np.ndarray:
    """Calibrate each fold's out-of-fold predictions with a map fitted on the other folds only."""
    out = np.empty_like(oof)
    for k in np.unique(fold_of):
        rest = fold_of != k
        out[~rest] = apply_calibrator(fit_calibrator(oof[rest], y[rest], method=method), oof[~rest])
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class ModelResult:
    name: str
    estimator: object
    holdout: Metrics
    uncalibrated: Metrics | None
    cv: pd.DataFrame  # one row per fold: METRIC_NAMES
    fit_seconds: float
    predict_seconds: float
    test_proba: np.ndarray = field(repr=False)
    test_proba_raw: np.ndarray = field(repr=False)
    features: tuple[str, ...] = ()
    fold_models: tuple = field(default=(), repr=False)  # fold k's fit, which never saw fold k's rows
    oof_raw: np.ndarray | None = field(default=None, repr=False)  # raw out-of-fold score of each training row
    roc_auc_ci: tuple[float, float] = (float("nan"), float("nan"))  # holdout bootstrap 95% interval
    boot_auc: np.ndarray | None = field(default=None, repr=False)  # the bootstrap's AUCs (shared resamples)
    cv_profit: float | None = None  # expected max profit per customer of the out-of-fold scores (empulse)

    def to_frame(self) -> pd.DataFrame:
        return self.holdout.to_frame().assign(model=self.name)

    def cv_mean(self, metric: str) -> float:
        """The cross-validated mean of ``metric`` (``"profit"``: the out-of-fold expected max profit)."""
        if metric == "profit":
            return float("nan") if self.cv_profit is None else self.cv_profit
        return float(self.cv[metric].mean())

    @property
    def oof_proba(self) -> np.ndarray | None:
        """Calibrated, clipped out-of-fold probabilities of the training rows."""
        if self.oof_raw is None:
            return None
        return self.estimator.calibrate(self.oof_raw) if hasattr(self.estimator, "calibrate") else \
            apply_calibrator(None, self.oof_raw)


@dataclass(frozen=True, eq=False, kw_only=True)
class TrainingResult:
    models: tuple[ModelResult, ...]
    y_test: np.ndarray = field(repr=False)
    test_index: np.ndarray = field(repr=False)
    seed: int = 0
    threshold_rule: str = "f1"
    calibration: str | None = "beta"
    train_index: np.ndarray | None = field(default=None, repr=False)
    fold_of: np.ndarray | None = field(default=None, repr=False)  # the CV fold of each training row
    choose_by: str = "roc_auc"
    features: tuple[str, ...] = ()  # the columns the models used
    excluded: dict = field(default_factory=dict)  # column -> why the models leave it out

    def to_frame(self) -> pd.DataFrame:
        """The leaderboard: one row per model, holdout metrics plus CV mean ± sd and timings."""
        rows = []
        for m in self.models:
            row = {"model": m.name, **{k: getattr(m.holdout, k) for k in (*METRIC_NAMES, "threshold")}}
            row.update({f"cv_{k}_mean": m.cv[k].mean() for k in ("roc_auc", "pr_auc", "f1")})
            row.update({f"cv_{k}_sd": m.cv[k].std(ddof=1) for k in ("roc_auc", "pr_auc", "f1")})
            row.update(roc_auc_ci_low=m.roc_auc_ci[0], roc_auc_ci_high=m.roc_auc_ci[1], cv_profit=m.cv_profit)
            row.update(fit_seconds=m.fit_seconds, predict_seconds=m.predict_seconds)
            rows.append(row)
        return pd.DataFrame(rows)

    def ranked(self, metric: str | None = None) -> list[ModelResult]:
        """The models, best cross-validated mean of ``metric`` (default ``choose_by``) first."""
        metric = metric or self.choose_by
        return sorted(self.models, key=lambda m: -np.nan_to_num(m.cv_mean(metric), nan=-np.inf))

    def best(self, metric: str | None = None) -> ModelResult:
        """The champion candidate: the best cross-validated mean, never the holdout it is judged on."""
        return self.ranked(metric)[0]

    def within_noise(self) -> bool | None:
        """Whether the top two models' holdout ROC-AUC differ by less than sampling noise: the paired
        bootstrap's 95% interval of their difference contains 0. None with a single model."""
        if len(self.models) < 2:
            return None
        first, second = self.ranked()[:2]
        return auc_difference_within_noise(first.boot_auc, second.boot_auc)


def auc_difference_within_noise(a: np.ndarray | None, b: np.ndarray | None) -> bool | None:
    if a is None or b is None:
        return None
    low, high = np.nanquantile(np.asarray(a) - np.asarray(b), [0.025, 0.975])
    return bool(low <= 0 <= high)


def bootstrap_auc(y_true, proba, *, n: int = _BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """ROC-AUC on ``n`` seeded bootstrap resamples of the rows (the same resamples for any ``proba`` of
    the same rows and seed, so two models' AUCs can be compared pairwise). Ties count one half."""
    y = np.asarray(y_true).astype(int)
    values, inverse = np.unique(np.asarray(proba, dtype=float), return_inverse=True)
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    for i in range(n):
        counts = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(float)
        pos = np.bincount(inverse, weights=counts * y, minlength=len(values))
        neg = np.bincount(inverse, weights=counts * (1 - y), minlength=len(values))
        below = np.cumsum(neg) - neg
        total = pos.sum() * neg.sum()
        out[i] = float(np.sum(pos * (below + 0.5 * neg)) / total) if total else np.nan
    return out


Progress = Callable[[str, float], None]


def train_models(
    dataset: Dataset,
    *,
    models: tuple[str, ...] = MODEL_NAMES,
    test_size: float = 0.3,
    cv_folds: int = 5,
    seed: int = 0,
    threshold_rule: ThresholdRule = "f1",
    target_recall: float = 0.8,
    calibration: Literal["beta", "sigmoid", "isotonic"] | None = "beta",
    choose_by: str = "roc_auc",
    class_weight: bool = False,
    derived_features: bool = True,
    exclude: tuple[str, ...] = (),
    n_jobs: int = 2,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train, cross-validate, calibrate and evaluate each model on one seeded stratified split.

    Per model: ``cv_folds`` stratified fits on the training split give out-of-fold predictions;
    those give the CV metrics (each fold scored with a calibrator fitted on the other folds),
    the decision threshold (by ``threshold_rule``) and the calibrator; then one fit on the
    whole training split is scored on the holdout, before and after calibration. ``progress``
    is called with (model name, fraction done) between fits; raising from it cancels the run.
    ``choose_by`` (``roc_auc``, ``pr_auc`` or ``profit``) is the cross-validated mean that ranks the
    models (:meth:`TrainingResult.best`). The fold fits are kept, so each training customer can later be
    scored by the fit that did not see them.
    """
    if not 0 < test_size < 1:
        raise ParameterError(f"The 'test_size' parameter of train_models must be in (0, 1). Got {test_size!r} "
                             "instead.", code="bad_parameter", name="test_size", value=test_size)
    if cv_folds < 2:
        raise ParameterError(f"The 'cv_folds' parameter of train_models must be at least 2. Got {cv_folds!r} "
                             "instead.", code="bad_parameter", name="cv_folds", value=cv_folds)
    if calibration not in (None, *CALIBRATIONS):
        raise _bad_calibration(calibration)
    if choose_by not in CHOICE_METRICS:
        raise ParameterError(f"The 'choose_by' parameter of train_models must be one of {list(CHOICE_METRICS)}. "
                             f"Got {choose_by!r} instead.", code="bad_parameter", name="choose_by", value=choose_by)
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise ParameterError(f"Unknown model {unknown or models!r}. Choose from {list(MODEL_NAMES)}.",
                             code="unknown_model", name=unknown)
    y = dataset.target().to_numpy().astype(int)
    if min(np.bincount(y, minlength=2)) < cv_folds * 2:
        raise SchemaError(f"Too few churned or retained customers to train ({np.bincount(y, minlength=2).tolist()}"
                          f" retained/churned); at least {cv_folds * 2} of each are needed. Add more history.",
                          code="too_few_for_training", counts=np.bincount(y, minlength=2).tolist())
    X = dataset.frame
    train_idx, test_idx = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)
    X_train, X_test, y_train, y_test = X.iloc[train_idx], X.iloc[test_idx], y[train_idx], y[test_idx]
    folds = list(StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed).split(X_train, y_train))
    fold_of = np.empty(len(y_train), dtype=int)
    for k, (_, valid) in enumerate(folds):
        fold_of[valid] = k
    features = ChurnFeatures(dataset.roles.to_json(), derived=derived_features,
                             exclude=tuple(exclude) + (dataset.report.leakage if dataset.report else ()))
    steps, done = len(models) * (cv_folds + 1), 0
    results = []
    for name in models:
        base = build_model(name, features=features, class_weight=class_weight, positive_share=float(y.mean()),
                           seed=seed, n_jobs=n_jobs, n_rows=len(train_idx))
        logger.info("training %s on %d rows (%d-fold CV)", name, len(train_idx), cv_folds)
        oof = np.empty(len(y_train))
        fold_models = []
        for fit_rows, valid in folds:
            _report(progress, name, done / steps)
            model = clone(base).fit(X_train.iloc[fit_rows], y_train[fit_rows])
            oof[valid] = model.predict_proba(X_train.iloc[valid])[:, 1]
            fold_models.append(model)
            done += 1
        scored = _cross_fitted(oof, y_train, fold_of, calibration) if calibration else oof
        threshold = choose_threshold(y_train, scored, rule=threshold_rule, target_recall=target_recall)
        cv = pd.DataFrame([evaluate(y_train[v], scored[v], threshold=threshold).__dict__
                           for _, v in folds])[list(METRIC_NAMES)]
        _report(progress, name, done / steps)
        estimator, raw, proba, fit_s, predict_s = fit_final(base, X_train, y_train, X_test, oof=oof,
                                                            calibration=calibration)
        done += 1
        uncalibrated = evaluate(y_test, raw, threshold=0.5) if calibration else None
        fitted = estimator.estimator_ if calibration else estimator
        names = tuple(feature_labels(fitted.named_steps["features"]))
        boot = bootstrap_auc(y_test, proba, seed=seed)
        profit = None
        if choose_by == "profit":
            from .roi import max_profit

            profit = max_profit(y_train, scored)[0]
        results.append(ModelResult(name=name, estimator=estimator,
                                   holdout=evaluate(y_test, proba, threshold=threshold), uncalibrated=uncalibrated,
                                   cv=cv, fit_seconds=fit_s, predict_seconds=predict_s, test_proba=proba,
                                   test_proba_raw=raw, features=names, fold_models=tuple(fold_models), oof_raw=oof,
                                   roc_auc_ci=tuple(float(q) for q in np.nanquantile(boot, [0.025, 0.975])),
                                   boot_auc=boot, cv_profit=profit))
    _report(progress, "done", 1.0)
    used = results[0].estimator
    used = (used.estimator_ if calibration else used).named_steps["features"]
    return TrainingResult(models=tuple(results), y_test=y_test, test_index=test_idx, seed=seed,
                          threshold_rule=threshold_rule, calibration=calibration, train_index=train_idx,
                          fold_of=fold_of, choose_by=choose_by, features=tuple(input_columns_of(used)),
                          excluded=_excluded(dataset, used, tuple(exclude)))


def fit_final(base, X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame, *, oof: np.ndarray,
              calibration: str | None, fit=None):
    """The final fit on the whole training set (calibrated on ``oof``, the out-of-fold predictions, where
    ``calibration`` is set) scored on ``X_test``: (estimator, raw, calibrated, fit seconds, predict seconds).
    ``fit(base, X, y)`` returns a fitted clone of ``base`` (default: ``clone(base).fit(X, y)``)."""
    start = time.perf_counter()
    fitted = fit(base, X_train, y_train) if fit is not None else None
    estimator = (OOFCalibratedClassifier(base, method=calibration).fit(X_train, y_train, oof=oof, fitted=fitted)
                 if calibration else fitted if fitted is not None else clone(base).fit(X_train, y_train))
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    raw = estimator.predict_raw(X_test) if calibration else estimator.predict_proba(X_test)[:, 1]
    proba = estimator.calibrate(raw) if calibration else apply_calibrator(None, raw)
    return estimator, raw, proba, fit_s, time.perf_counter() - start


def input_columns_of(features: ChurnFeatures) -> list[str]:
    """The dataset columns a fitted feature step reads."""
    return list(dict.fromkeys([*features.numeric_, *features.flags_, *features.levels_,
                               *(c for s in features.steps_ for c in s.inputs)]))


def _excluded(dataset: Dataset, features: ChurnFeatures, exclude: tuple[str, ...]) -> dict[str, str]:
    """Every column the models leave out, with the reason."""
    roles = dataset.roles
    leakage = set(dataset.report.leakage if dataset.report else ())
    used = set(input_columns_of(features))
    out = {}
    for col in dataset.frame.columns:
        if col in used:
            continue
        out[str(col)] = ("target" if col == roles.target else "id" if col == roles.id
                         else "leakage" if col in leakage else "excluded" if col in exclude
                         else "ignored" if col in roles.ignored else "not a usable type (text, dates or constant)")
    return out


def _report(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, min(1.0, fraction))


def run_training(store, dataset: Dataset, *, promote: bool = False, artifact_root=None,
                 progress: Progress | None = None, **options) -> tuple[int, TrainingResult]:
    """Train on a stored dataset version and record the run in ``store`` with its model files.

    The run is 'running' until every model is trained and saved, then 'complete'. If anything
    fails (or the run is interrupted or cancelled) it is marked 'failed' and the champion is
    untouched. With ``promote``, the best cross-validated model (``choose_by``) becomes the champion.
    Each model's entry holds its holdout metrics, interval and threshold, CV folds, features, importance
    (native and mean |SHAP|), timings and its artifacts' paths and sha256 (the final fit and the fold
    fits). Out-of-sample predictions of every row are stored: out-of-fold for the training split (with
    the fold), holdout for the rest.

    A version built from a visit log (``dataset.events``) is trained out of time instead
    (:func:`churn_core.events.runs.run_event_training`): its "holdout" is the test cut-off.
    """
    if dataset.version is None:
        raise ParameterError("run_training needs a stored dataset version (got a dataset that was never saved). "
                             "Save it with Store.save_dataset first.", code="dataset_not_stored")
    if dataset.events is not None:
        from .events.runs import run_event_training

        return run_event_training(store, dataset, promote=promote, artifact_root=artifact_root, progress=progress,
                                  **options)
    run_id = store.start_run(dataset.version, params={k: v for k, v in options.items() if k != "n_jobs"})
    try:
        result = train_models(dataset, progress=progress, **options)
        _report(progress, "saving", 1.0)
        test = dataset.frame.iloc[result.test_index]
        entries = save_run_models(store, run_id, result, test=test, artifact_root=artifact_root,
                                  within_noise=result.within_noise())
        for m in result.models:
            store.save_predictions(run_id, m.name, row_index=result.test_index, y=result.y_test,
                                   proba=m.test_proba, proba_raw=m.test_proba_raw,
                                   oof_index=result.train_index, oof_y=dataset.target().to_numpy()[
                                       result.train_index], oof_proba=m.oof_proba, oof_raw=m.oof_raw,
                                   oof_fold=result.fold_of)
        store.complete_run(run_id, models=entries)
    except BaseException as err:
        fail_run(store, run_id, err)
        raise
    if promote:
        store.promote(run_id, result.best().name)
    return run_id, result


def save_run_models(store, run_id: int, result, *, test: pd.DataFrame, artifact_root=None,
                    within_noise: bool | None = None) -> list[dict]:
    """Save each model of a training result (the final fit and the fold fits, as skops files) and return the
    run's model entries: test metrics, CV means and spreads, rank, features, importance on ``test``, timings,
    artifact paths and sha256."""
    from pathlib import Path

    from .artifacts import save_model
    from .explain import importance

    root = Path(artifact_root) if artifact_root else store.path.parent / "models"
    ranked = [m.name for m in result.ranked()]
    # Run ids are per database, and databases can share a folder: the run's folder carries the database's
    # name and a random suffix, so one database's run 1 never overwrites another's.
    folder = root / f"{store.path.stem}_run_{run_id}_{uuid.uuid4().hex[:8]}"
    entries = []
    for m in result.models:
        path = folder / f"{m.name}.skops"
        sha = save_model(m.estimator, path)
        folds_path = folder / f"{m.name}.folds.skops"
        folds_sha = save_model(list(m.fold_models), folds_path)
        cv = {f"cv_{k}_{stat}": float(getattr(m.cv[k], stat)()) for k in ("roc_auc", "pr_auc", "f1")
              for stat in ("mean", "std")}
        explained = importance(m.estimator, test, name=m.name, max_rows=_SHAP_ROWS.get(m.name, 500),
                               seed=result.seed)
        entries.append({"name": m.name, **m.holdout.__dict__, **cv,
                        "roc_auc_ci_low": m.roc_auc_ci[0], "roc_auc_ci_high": m.roc_auc_ci[1],
                        "cv_profit": m.cv_profit, "rank": ranked.index(m.name) + 1,
                        "choose_by": result.choose_by,
                        "within_noise": within_noise if ranked.index(m.name) < 2 else None,
                        "uncalibrated": m.uncalibrated.__dict__ if m.uncalibrated else None,
                        "cv_folds": m.cv.to_dict("records"), "features": list(m.features),
                        "importance": explained.to_records(), "shap_units": explained.shap_units,
                        "fit_seconds": m.fit_seconds, "predict_seconds": m.predict_seconds,
                        "artifact": str(path), "sha256": sha,
                        "folds_artifact": str(folds_path), "folds_sha256": folds_sha})
    return entries


def fail_run(store, run_id: int, err: BaseException) -> None:
    """Mark a run failed with the error (a failure to do so is logged: the first error is the one to report)."""
    try:
        store.fail_run(run_id, error=f"{type(err).__name__}: {err}")
    except Exception as failed:  # e.g. the disk is full
        logger.warning("could not mark run %d as failed (%s); it reads as failed once this process ends",
                       run_id, failed)


_SHAP_ROWS = {"random_forest": 150}  # exact TreeSHAP on a forest is the slow one
