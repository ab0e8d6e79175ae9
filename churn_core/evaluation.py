"""Model-evaluation curves from true labels and predicted probabilities: plain numbers, no figures.

ROC and precision-recall curves (thinned so a 300k-customer holdout plots cheaply), calibration
bins with Wilson intervals, cumulative gains and lift by decile, the confusion matrix at one
threshold and a vectorised threshold sweep for sliders. :mod:`churn_core.plots` draws them.

Every function takes ``y_true`` (0 = retained, 1 = churned) and ``proba`` (the predicted churn
probability) first and its options keyword-only. A customer is predicted to churn when
``proba >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.metrics import auc, precision_recall_curve, roc_curve

from ._stats import wilson_interval
from .errors import ParameterError

MAX_POINTS = 200


@dataclass(frozen=True, eq=False, kw_only=True)
class Curve:
    """A ROC curve (x = false positive rate, y = true positive rate) or a precision-recall curve
    (x = recall, y = precision), x ascending, thinned to at most ``max_points`` points.

    ``auc`` is computed on every customer, not on the thinned points: ROC-AUC for ``kind="roc"``,
    average precision for ``kind="pr"``. ``baseline`` is the churners' share for PR (the precision
    of contacting everyone) and None for ROC. ``thresholds[i]`` gives point i; it is ``inf`` where
    nobody is contacted and NaN at the PR curve's recall-0 end, which has no threshold.
    """

    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    thresholds: np.ndarray = field(repr=False)
    auc: float
    kind: str
    baseline: float | None = None

    def to_frame(self) -> pd.DataFrame:
        x, y = ("fpr", "tpr") if self.kind == "roc" else ("recall", "precision")
        return pd.DataFrame({x: self.x, y: self.y, "threshold": self.thresholds})


@dataclass(frozen=True, eq=False, kw_only=True)
class CalibrationCurve:
    """Predicted against observed churn rate per probability bin (empty bins left out).

    ``ece`` is the customer-weighted mean |observed - predicted| over these bins and ``brier`` the
    mean squared error of the probabilities. With ``strategy="uniform"`` and 10 bins, ``ece`` equals
    :func:`churn_core.modeling.expected_calibration_error`; quantile bins give a slightly different value.
    """

    lower: np.ndarray = field(repr=False)      # bin edges
    upper: np.ndarray = field(repr=False)
    predicted: np.ndarray = field(repr=False)  # mean predicted probability
    observed: np.ndarray = field(repr=False)   # observed churn rate
    customers: np.ndarray = field(repr=False)
    churners: np.ndarray = field(repr=False)
    ci_low: np.ndarray = field(repr=False)     # Wilson 95% interval of the observed rate
    ci_high: np.ndarray = field(repr=False)
    ece: float
    brier: float
    strategy: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"lower": self.lower, "upper": self.upper, "predicted": self.predicted,
                             "observed": self.observed, "customers": self.customers, "churners": self.churners,
                             "ci_low": self.ci_low, "ci_high": self.ci_high})


@dataclass(frozen=True, eq=False, kw_only=True)
class Gains:
    """Cumulative gains and lift: customers sorted by probability (highest first) and cut into
    equal-size groups (``bins=10``: deciles; sizes differ by at most one).

    Per group: its customers and churners, its churn rate, the cumulative share of customers
    contacted and of churners captured, and its lift and cumulative lift over ``overall_rate``.
    ``curve_contacted`` / ``curve_captured`` trace the smooth gains curve from (0, 0) to (1, 1),
    tied probabilities contacted together, in at most 200 points.
    """

    decile: np.ndarray = field(repr=False)  # 1 = highest probabilities
    customers: np.ndarray = field(repr=False)
    churners: np.ndarray = field(repr=False)
    churn_rate: np.ndarray = field(repr=False)
    min_proba: np.ndarray = field(repr=False)
    max_proba: np.ndarray = field(repr=False)
    contacted: np.ndarray = field(repr=False)  # cumulative share of customers
    captured: np.ndarray = field(repr=False)   # cumulative share of churners (the cumulative gain)
    lift: np.ndarray = field(repr=False)
    cumulative_lift: np.ndarray = field(repr=False)
    overall_rate: float
    curve_contacted: np.ndarray = field(repr=False)
    curve_captured: np.ndarray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"decile": self.decile, "customers": self.customers, "churners": self.churners,
                             "churn_rate": self.churn_rate, "min_proba": self.min_proba, "max_proba": self.max_proba,
                             "contacted": self.contacted, "captured": self.captured, "lift": self.lift,
                             "cumulative_lift": self.cumulative_lift})

    def curve(self) -> pd.DataFrame:
        """The smooth cumulative gains curve: columns contacted and captured (shares, 0 to 1)."""
        return pd.DataFrame({"contacted": self.curve_contacted, "captured": self.curve_captured})


@dataclass(frozen=True, kw_only=True)
class Confusion:
    """Counts and rates at one threshold. Precision is 0 when nobody is predicted to churn."""

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    precision: float
    recall: float
    f1: float
    accuracy: float

    def matrix(self) -> pd.DataFrame:
        """2×2 counts: rows actual retained/churned, columns predicted retained/churned (English keys)."""
        keys = ["retained", "churned"]
        return pd.DataFrame([[self.tn, self.fp], [self.fn, self.tp]], index=pd.Index(keys, name="actual"),
                            columns=pd.Index(keys, name="predicted"))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def roc_curve_points(y_true, proba, *, max_points: int = MAX_POINTS) -> Curve:
    """The ROC curve with at most ``max_points`` points (the first and last kept) and its ROC-AUC."""
    y, p = _check_inputs(y_true, proba, "roc_curve_points")
    _check_int(max_points, "max_points", "roc_curve_points", low=2)
    fpr, tpr, thresholds = roc_curve(y, p, drop_intermediate=True)
    area = float(auc(fpr, tpr))  # exactly roc_auc_score, which integrates this same curve; one sort, not two
    keep = _thin(fpr, tpr, max_points)
    return Curve(x=fpr[keep], y=tpr[keep], thresholds=thresholds[keep], auc=area, kind="roc")


def pr_curve_points(y_true, proba, *, max_points: int = MAX_POINTS) -> Curve:
    """The precision-recall curve (recall ascending) with at most ``max_points`` points, its average
    precision as ``auc`` and the churners' share as ``baseline``."""
    y, p = _check_inputs(y_true, proba, "pr_curve_points")
    _check_int(max_points, "max_points", "pr_curve_points", low=2)
    precision, recall, thresholds = precision_recall_curve(y, p)
    average_precision = float(-np.sum(np.diff(recall) * precision[:-1]))  # average_precision_score's own sum
    # scikit-learn orders by recall descending and gives no threshold for the final (recall 0) point.
    precision, recall = precision[::-1], recall[::-1]
    thresholds = np.concatenate([[np.nan], thresholds[::-1]])
    keep = _thin(recall, precision, max_points)
    return Curve(x=recall[keep], y=precision[keep], thresholds=thresholds[keep], auc=average_precision, kind="pr",
                 baseline=float(y.mean()))


def calibration_bins(y_true, proba, *, bins: int = 10, strategy: str = "quantile") -> CalibrationCurve:
    """Mean predicted against observed churn rate in ``bins`` bins of probability.

    ``strategy="quantile"`` gives bins of (nearly) equal size, merging bins whose edges coincide
    when many customers share a probability; ``"uniform"`` gives equal-width bins over [0, 1].
    """
    func = "calibration_bins"
    y, p = _check_inputs(y_true, proba, func)
    _check_int(bins, "bins", func, low=1)
    if strategy not in ("quantile", "uniform"):
        raise ParameterError(f"The 'strategy' parameter of {func} must be 'quantile' or 'uniform'. Got "
                             f"{strategy!r} instead.", code="bad_parameter", name="strategy", value=strategy)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
        which = np.minimum((p * bins).astype(int), bins - 1)  # as modeling.expected_calibration_error bins
    else:
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, bins + 1)))
        if len(edges) == 1:  # every probability the same
            edges = np.array([edges[0], edges[0]])
        which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    size = len(edges) - 1
    customers = np.bincount(which, minlength=size)
    churners = np.bincount(which, weights=y, minlength=size).round().astype(int)
    predicted_sum = np.bincount(which, weights=p, minlength=size)
    used = customers > 0
    customers, churners, predicted_sum = customers[used], churners[used], predicted_sum[used]
    ci_low, ci_high = wilson_interval(churners, customers)
    return CalibrationCurve(
        lower=edges[:-1][used], upper=edges[1:][used], predicted=predicted_sum / customers,
        observed=churners / customers, customers=customers, churners=churners, ci_low=ci_low, ci_high=ci_high,
        ece=float(np.abs(churners - predicted_sum).sum() / len(y)), brier=float(np.mean((p - y) ** 2)),
        strategy=strategy)


def gains_table(y_true, proba, *, bins: int = 10, max_points: int = MAX_POINTS) -> Gains:
    """Gains and lift by group of customers ranked by probability (ties keep their input order)."""
    func = "gains_table"
    y, p = _check_inputs(y_true, proba, func)
    _check_int(bins, "bins", func, low=1)
    _check_int(max_points, "max_points", func, low=2)
    n = len(y)
    if bins > n:
        raise ParameterError(f"The 'bins' parameter of {func} must be at most the number of customers ({n}). "
                             f"Got {bins} instead.", code="bad_parameter", name="bins", value=bins)
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    group = np.arange(n) * bins // n
    customers = np.bincount(group, minlength=bins)
    churners = np.bincount(group, weights=ys, minlength=bins).round().astype(int)
    starts = np.concatenate([[0], np.cumsum(customers)[:-1]])
    overall = churners.sum() / n
    rate = churners / customers
    cum_customers, cum_churners = np.cumsum(customers), np.cumsum(churners)
    # The smooth curve: one point per distinct probability (ties contacted together), as for ROC.
    last_of_tie = np.flatnonzero(np.diff(ps, append=-np.inf))
    contacted = np.concatenate([[0.0], (last_of_tie + 1) / n])
    captured = np.concatenate([[0.0], np.cumsum(ys)[last_of_tie] / churners.sum()])
    keep = _thin(contacted, captured, max_points)
    return Gains(
        decile=np.arange(1, bins + 1), customers=customers, churners=churners, churn_rate=rate,
        min_proba=ps[starts + customers - 1], max_proba=ps[starts], contacted=cum_customers / n,
        captured=cum_churners / churners.sum(), lift=rate / overall,
        cumulative_lift=(cum_churners / cum_customers) / overall, overall_rate=float(overall),
        curve_contacted=contacted[keep], curve_captured=captured[keep])


def confusion_at(y_true, proba, *, threshold: float) -> Confusion:
    """The confusion matrix and its rates when customers with ``proba >= threshold`` are predicted to churn."""
    func = "confusion_at"
    y, p = _check_inputs(y_true, proba, func)
    _check_unit(threshold, "threshold", func)
    pred = p >= threshold
    actual = y == 1
    tp = int(np.count_nonzero(pred & actual))
    fp = int(np.count_nonzero(pred & ~actual))
    fn = int(np.count_nonzero(~pred & actual))
    tn = len(y) - tp - fp - fn
    return Confusion(threshold=float(threshold), tp=tp, fp=fp, tn=tn, fn=fn,
                     precision=tp / (tp + fp) if tp + fp else 0.0, recall=tp / (tp + fn),
                     f1=2 * tp / (2 * tp + fp + fn), accuracy=(tp + tn) / len(y))


def threshold_sweep(y_true, proba, *, points: int = 101) -> pd.DataFrame:
    """Precision, recall, F1 and the share of customers contacted at ``points`` thresholds from 0 to 1.

    One sort and cumulative sums, so every threshold costs a binary search. Thresholds are rounded
    to 12 decimals, so 0.3 is exactly 0.3 and a customer scored 0.3 counts as contacted at 0.3.
    Precision is 0 where nobody is contacted (scikit-learn's ``zero_division=0``).
    """
    func = "threshold_sweep"
    y, p = _check_inputs(y_true, proba, func)
    _check_int(points, "points", func, low=2)
    thresholds = np.round(np.linspace(0.0, 1.0, points), 12)
    order = np.argsort(p)  # tie order is irrelevant: a tied group is wholly below a threshold or not
    ps = p[order]
    churners_below = np.concatenate([[0], np.cumsum(y[order])])  # churners among the i lowest
    first = np.searchsorted(ps, thresholds, side="left")  # customers below each threshold
    n, positives = len(y), churners_below[-1]
    contacted = n - first
    tp = positives - churners_below[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(contacted > 0, tp / contacted, 0.0)
    return pd.DataFrame({"threshold": thresholds, "contacted": contacted, "share_contacted": contacted / n,
                         "tp": tp.astype(int), "precision": precision, "recall": tp / positives,
                         "f1": 2 * tp / (contacted + positives)})


# -- input checks ---------------------------------------------------------------------------------

def _check_inputs(y_true, proba, func: str) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` as floats 0/1 with both classes and ``proba`` as floats in [0, 1], equal length, 1-D."""
    y = _as_float_vector(y_true, "y_true", func)
    p = _as_float_vector(proba, "proba", func)
    if len(y) != len(p):
        raise ParameterError(f"The 'y_true' and 'proba' parameters of {func} must have the same length. Got "
                             f"{len(y)} and {len(p)} instead.", code="bad_parameter", name="y_true",
                             lengths=[len(y), len(p)])
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        values = pd.unique(np.asarray(y_true, dtype=object).ravel()[bad])[:5].tolist()
        raise ParameterError(f"The 'y_true' parameter of {func} must contain only 0 (retained) and 1 (churned). "
                             f"Got {values} instead.", code="bad_parameter", name="y_true", value=values)
    found = np.unique(y).astype(int).tolist()
    if len(found) < 2:
        raise ParameterError(f"The 'y_true' parameter of {func} must contain both churned (1) and retained (0) "
                             f"customers. Got only {found}.", code="bad_parameter", name="y_true", value=found)
    missing = int(np.isnan(p).sum())
    if missing:
        raise ParameterError(f"The 'proba' parameter of {func} must not contain missing values. Got {missing} "
                             "instead.", code="bad_parameter", name="proba", missing=missing)
    low, high = float(p.min()), float(p.max())
    if low < 0 or high > 1:
        raise ParameterError(f"The 'proba' parameter of {func} must be probabilities in [0, 1]. Got values from "
                             f"{low:g} to {high:g} instead.", code="bad_parameter", name="proba", low=low, high=high)
    return y, p


def _as_float_vector(values, name: str, func: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        shown = pd.unique(np.asarray(values, dtype=object).ravel())[:5].tolist()
        raise ParameterError(f"The '{name}' parameter of {func} must be numeric. Got values such as {shown} "
                             "instead.", code="bad_parameter", name=name, value=shown) from None
    if array.ndim != 1:
        hint = " Pass the churn column only, e.g. predict_proba(X)[:, 1]." if name == "proba" else ""
        raise ParameterError(f"The '{name}' parameter of {func} must be one-dimensional. Got shape "
                             f"{array.shape} instead.{hint}", code="bad_parameter", name=name, shape=array.shape)
    if len(array) == 0:
        raise ParameterError(f"The '{name}' parameter of {func} must not be empty.", code="bad_parameter",
                             name=name)
    return array


def _check_int(value, name: str, func: str, *, low: int) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ParameterError(f"The '{name}' parameter of {func} must be an integer of at least {low}. Got "
                             f"{value!r} instead.", code="bad_parameter", name=name, value=value)


def _check_unit(value, name: str, func: str) -> None:
    if not isinstance(value, Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ParameterError(f"The '{name}' parameter of {func} must be in [0, 1]. Got {value!r} instead.",
                             code="bad_parameter", name=name, value=value)


# -- thinning -------------------------------------------------------------------------------------

def _thin(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` points spread evenly along the curve's length (in the unit
    square), always keeping the first and the last, so steep and flat stretches both keep their shape."""
    n = len(x)
    if n <= max_points:
        return np.arange(n)
    length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    inner = np.searchsorted(length, np.linspace(0.0, length[-1], max_points)[1:-1])
    return np.unique(np.concatenate([[0], np.minimum(inner, n - 1), [n - 1]]))
