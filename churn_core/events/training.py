"""Out-of-time training on labelled event cut-offs, judged against a recency rule and published rules.

A labelled event frame (:func:`~churn_core.events.label_and_features`) has one row per (customer, cut-off). A
random split of those rows would leak: the same customer a month apart sits on both sides, and a training label
window would overlap the test one. So everything here splits by *time*:

- :func:`time_split`: the test rows are the latest fully labelled cut-off; the training rows are the cut-offs at
  least H (the label window) before it, so no training label looks past the test cut-off;
- :func:`recency_baseline`: the best single rule "no visit in the last X days", X chosen on the training rows;
- :func:`evaluate_rules`: configurable AND-ed rules (:class:`Rule`, :class:`RuleSet`, :func:`default_rules`)
  scored at the test cut-off: who they flag, how many of those churn, how many churners they catch, how early;
- :func:`train_out_of_time`: the snapshot models (:func:`~churn_core.modeling.build_model`) cross-validated on
  rolling-origin folds of the training cut-offs, calibrated and thresholded on those out-of-time predictions,
  refitted on every training row and scored on the test cut-off, with a verdict against the baseline.

Pure functions: no store access. The estimators are :class:`~churn_core.modeling.OOFCalibratedClassifier`
objects, so the snapshot scoring and artifact code (skops) load and use them unchanged.
"""

from __future__ import annotations

import logging
import math
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from ..errors import ParameterError, SchemaError
from ..features import ChurnFeatures, feature_labels
from ..modeling import (
    CALIBRATIONS,
    METRIC_NAMES,
    MODEL_NAMES,
    Metrics,
    ModelResult,
    Progress,
    _bad_calibration,
    _cross_fitted,
    _report,
    bootstrap_auc,
    build_model,
    choose_threshold,
    evaluate,
    fit_final,
)
from ..roles import ColumnRoles
from .labels import LabelledEvents

if TYPE_CHECKING:
    from ..scale.engine import Engine

logger = logging.getLogger(__name__)

NOT_FEATURES = ("customer_id", "cutoff", "labelled", "churned")  # never a model input: id, time, label
VERDICTS = ("better", "no_better", "no_signal")
# Catalog keys a user interface words these with: RULE_KEY + a default rule's name (or "at_least", with {k}),
# VERDICT_KEY + the verdict.
RULE_KEY, VERDICT_KEY = "events.rule.", "events.verdict."
MIN_SIGNAL_AUC = 0.55


# ---------------------------------------------------------------------------------------------------------
# The time split


@dataclass(frozen=True, kw_only=True)
class TimeSplit:
    """Which rows train and which test: the "population" shown beside every out-of-time metric."""

    train_cutoffs: tuple[pd.Timestamp, ...]
    test_cutoff: pd.Timestamp
    train_rows: int
    test_rows: int
    train_churn_rate: float
    test_churn_rate: float
    window_days: int
    lookback_days: int
    train_index: np.ndarray = field(repr=False)  # positions in labelled.frame
    test_index: np.ndarray = field(repr=False)

    @property
    def gap_days(self) -> int:
        """Days from the last training cut-off to the test cut-off (at least ``window_days``)."""
        return int((self.test_cutoff - self.train_cutoffs[-1]).days)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "first_train_cutoff": self.train_cutoffs[0], "last_train_cutoff": self.train_cutoffs[-1],
            "train_cutoffs": len(self.train_cutoffs), "test_cutoff": self.test_cutoff, "gap_days": self.gap_days,
            "train_rows": self.train_rows, "test_rows": self.test_rows, "train_churn_rate": self.train_churn_rate,
            "test_churn_rate": self.test_churn_rate, "window_days": self.window_days,
            "lookback_days": self.lookback_days}])


def _labelled_mask(frame: pd.DataFrame) -> np.ndarray:
    return (frame["labelled"].astype(bool) & frame["churned"].notna()).to_numpy()


def time_split(labelled: LabelledEvents, *, test_cutoff=None) -> TimeSplit:
    """Test on the latest fully labelled cut-off (or ``test_cutoff``); train on the labelled cut-offs at least
    H days before it, so no training label window overlaps the test one."""
    frame, window = labelled.frame, labelled.window
    H = int(window.window_days)
    mask = _labelled_mask(frame)
    dates = sorted(pd.to_datetime(frame.loc[mask, "cutoff"]).unique())
    if not dates:
        raise SchemaError(
            f"No cut-off of the event log is fully labelled: a cut-off needs {H} days of events after it (the label "
            f"window). Received {len(frame)} rows at {frame['cutoff'].nunique()} cut-offs, none labelled. Load a "
            f"longer log (at least {window.min_history_days + H} days) or shorten the label window.",
            code="no_labelled_cutoff", rows=len(frame), window_days=H,
            needed_days=window.min_history_days + H)
    if test_cutoff is None:
        test = pd.Timestamp(dates[-1])
    else:
        test = pd.Timestamp(test_cutoff).normalize()
        if test not in set(pd.Timestamp(d) for d in dates):
            raise ParameterError(
                f"The 'test_cutoff' parameter of time_split must be a labelled cut-off of the frame (from "
                f"{dates[0].date()} to {dates[-1].date()}). Got {test.date()} instead.",
                code="bad_parameter", name="test_cutoff", value=str(test.date()))
    latest_train = test - pd.Timedelta(days=H)
    train_dates = tuple(pd.Timestamp(d) for d in dates if d <= latest_train)
    if not train_dates:
        needed = window.min_history_days + 2 * H
        raise SchemaError(
            f"No cut-off is at least {H} days (the label window) before the test cut-off {test.date()}, so nothing "
            f"can be trained on without its label overlapping the test one. The labelled cut-offs run from "
            f"{dates[0].date()} to {dates[-1].date()}. Out-of-time training needs about {needed} days of events "
            f"({window.min_history_days} of history + 2 x {H}); load a longer log or shorten the label window.",
            code="no_training_cutoff", test_cutoff=str(test.date()), window_days=H, needed_days=needed)
    cut = pd.to_datetime(frame["cutoff"]).to_numpy()
    train_index = np.flatnonzero(mask & (cut <= np.datetime64(latest_train)))
    test_index = np.flatnonzero(mask & (cut == np.datetime64(test)))
    y = frame["churned"].to_numpy(dtype=float, na_value=np.nan)
    split = TimeSplit(train_cutoffs=train_dates, test_cutoff=test, train_rows=len(train_index),
                      test_rows=len(test_index), train_churn_rate=float(np.mean(y[train_index])),
                      test_churn_rate=float(np.mean(y[test_index])), window_days=H,
                      lookback_days=int(window.lookback_days), train_index=train_index, test_index=test_index)
    logger.info("time split: %d training rows at %d cut-offs up to %s, %d test rows at %s", split.train_rows,
                len(train_dates), train_dates[-1].date(), split.test_rows, test.date())
    return split


def _y(labelled: LabelledEvents, index: np.ndarray) -> np.ndarray:
    return labelled.frame["churned"].iloc[index].to_numpy(dtype=int)


# ---------------------------------------------------------------------------------------------------------
# The recency baseline


@dataclass(frozen=True, kw_only=True)
class RecencyBaseline:
    """The best rule "no visit in the last X days" (X chosen on the training rows), scored on the test cut-off.
    ``roc_auc`` is the rule's (a yes/no flag: (TPR + TNR) / 2); ``ranking_auc`` ranks by the column itself."""

    column: str
    days: float
    rule: str
    train_auc: float  # the rule's AUC on the training rows, where X was chosen
    roc_auc: float
    ranking_auc: float
    precision: float
    recall: float
    f1: float
    flagged_share: float
    flagged: int
    test_rows: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def _column_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column as floats; missing (no visit at all) counts as longer than anyone else's."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).all():
        return np.zeros_like(values)
    return np.where(np.isnan(values), np.nanmax(values) + 1.0, values)


def _candidates(values: np.ndarray) -> np.ndarray:
    """Every 30 days up to the largest value, and the 5%..95% quantiles."""
    steps = np.arange(30.0, max(30.0, float(values.max())) + 1, 30.0)
    quantiles = np.quantile(values, np.linspace(0.05, 0.95, 19))
    return np.unique(np.concatenate([steps, np.round(quantiles)]))


def _flag_scores(y: np.ndarray, flag: np.ndarray) -> dict:
    tp = int(np.sum(flag & (y == 1)))
    fp = int(np.sum(flag & (y == 0)))
    pos, neg = int(np.sum(y == 1)), int(np.sum(y == 0))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / pos if pos else float("nan")
    tnr = (neg - fp) / neg if neg else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "roc_auc": (recall + tnr) / 2,
            "flagged": int(flag.sum())}


def recency_baseline(labelled: LabelledEvents, split: TimeSplit, *,
                     column: str = "days_since_last_visit") -> RecencyBaseline:
    """The best single rule "no visit in the last X days": X is the candidate (30-day steps and quantiles) whose
    rule has the best AUC, (TPR + TNR) / 2, on the training rows only (ties: the smaller X), then the rule is
    scored on the test rows. The AUC, not F1: the model is compared with the rule on AUC, so the rule gets its
    best shot at it (F1 drifts to "flag nearly everyone" where most customers churn, as in order logs)."""
    frame = labelled.frame
    if column not in frame.columns:
        raise SchemaError(f"The recency baseline needs the column '{column}', which the labelled frame lacks "
                          f"(it has {list(labelled.feature_names)[:8]}...). Pass another column.",
                          code="missing_baseline_column", column=column)
    train_x = _column_values(frame.iloc[split.train_index], column)
    train_y = _y(labelled, split.train_index)
    best_x, best_auc = None, -1.0
    for x in _candidates(train_x):
        auc = _flag_scores(train_y, train_x > x)["roc_auc"]
        if auc > best_auc + 1e-12:  # strictly better: ties keep the smaller X (candidates ascend)
            best_x, best_auc = float(x), auc
    test_x = _column_values(frame.iloc[split.test_index], column)
    test_y = _y(labelled, split.test_index)
    scores = _flag_scores(test_y, test_x > best_x)
    ranking = float(roc_auc_score(test_y, test_x)) if len(np.unique(test_y)) == 2 else float("nan")
    rule = (f"no visit in the last {best_x:g} days" if column == "days_since_last_visit"
            else f"{column} > {best_x:g}")
    logger.info("recency baseline: %s (train AUC %.3f), test rule AUC %.3f, ranking AUC %.3f", rule, best_auc,
                scores["roc_auc"], ranking)
    return RecencyBaseline(column=column, days=best_x, rule=rule, train_auc=float(best_auc),
                           roc_auc=float(scores["roc_auc"]), ranking_auc=ranking, precision=scores["precision"],
                           recall=scores["recall"], f1=scores["f1"], flagged=scores["flagged"],
                           flagged_share=scores["flagged"] / max(len(test_y), 1), test_rows=len(test_y))


# ---------------------------------------------------------------------------------------------------------
# Rules


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def _spend_trend_ratio(frame: pd.DataFrame) -> pd.Series:
    """Spend in the last 90 days over the 90 before (spend_90d - spend_trend); missing when that was 0."""
    before = frame["spend_90d"] - frame["spend_trend"]
    return frame["spend_90d"] / before.where(before > 0)


# Columns a rule may use that are derived from others when the frame lacks them: name -> (inputs, function).
DERIVED = {"spend_trend_ratio": (("spend_90d", "spend_trend"), _spend_trend_ratio)}


@dataclass(frozen=True)
class Condition:
    """One clause of a rule: ``feature op value``; a missing feature value never satisfies it."""

    feature: str
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ParameterError(f"A rule's operator must be one of {list(_OPS)}. Got {self.op!r} instead.",
                                 code="bad_parameter", name="op", value=str(self.op))

    def text(self) -> str:
        return f"{self.feature} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Rule:
    """A named rule: its conditions AND-ed. ``description`` is the plain-language wording."""

    name: str
    conditions: tuple[Condition, ...]
    description: str = ""

    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.feature for c in self.conditions))

    def missing(self, columns) -> tuple[str, ...]:
        """The columns this rule needs that ``columns`` lacks and that cannot be derived from them."""
        have = set(columns)
        return tuple(c for c in self.columns()
                     if c not in have and not (c in DERIVED and set(DERIVED[c][0]) <= have))

    def flags(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows the rule flags (every condition holds)."""
        out = np.ones(len(frame), dtype=bool)
        for c in self.conditions:
            values = frame[c.feature] if c.feature in frame else DERIVED[c.feature][1](frame)
            values = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                out &= np.nan_to_num(_OPS[c.op](values, c.value), nan=False).astype(bool) & ~np.isnan(values)
        return out


@dataclass(frozen=True)
class RuleSet:
    """Rules and ``k``: a customer flagged by at least ``k`` rules is high risk."""

    rules: tuple[Rule, ...]
    k: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ParameterError(f"The 'k' parameter of RuleSet must be a whole number, at least 1. Got {self.k!r} "
                                 "instead.", code="bad_parameter", name="k", value=self.k)


def default_rules(feature_names) -> RuleSet:
    """The published after-sales warning signs, on the columns of ``feature_names`` where they exist. A rule whose
    column is absent keeps a placeholder column name, so :func:`evaluate_rules` reports it as not applicable."""
    names = [str(n) for n in feature_names]
    complaint = next((n for n in names if "complaint" in n.lower() and n.endswith(("_365d", "_12m"))),
                     "complaints_365d")
    warranty = next((n for n in names if "warranty" in n.lower() and n.endswith("_days")), "warranty_end_days")
    spend = "spend_trend_ratio"
    return RuleSet(rules=(
        Rule("overdue_regular", (Condition("days_since_last_visit", ">", 90), Condition("visits_365d", ">=", 4)),
             "no visit in the last 90 days though 4 or more visits in the past 12 months"),
        Rule("spend_halved", (Condition(spend, "<", 0.5),), "spend in the last 90 days down more than 50%"),
        Rule("recent_complaint", (Condition(complaint, ">", 0),), "a complaint in the last 12 months"),
        Rule("warranty_ending", (Condition(warranty, ">=", 0), Condition(warranty, "<=", 30)),
             "warranty ending within 30 days"),
        Rule("visits_halved", (Condition("visits_trend_ratio", "<=", 0.5),),
             "visits in the last 90 days down 50% or more"),
    ), k=2)


@dataclass(frozen=True, kw_only=True)
class RuleEvaluation:
    """Each rule, and the "at least k rules" flag, at the test cut-off. ``table`` has one row per rule: applicable,
    missing columns, flagged, flagged_share, churn_rate (of the flagged), caught (flagged churners), caught_share
    (of all churners), lift (churn rate over the cut-off's) and lead_time_days (median over flagged churners of
    lookback − days since their last event: days until they would count as lapsed)."""

    rules: RuleSet
    table: pd.DataFrame
    test_cutoff: pd.Timestamp
    customers: int
    churners: int

    @property
    def churn_rate(self) -> float:
        return self.churners / self.customers if self.customers else float("nan")

    def to_frame(self) -> pd.DataFrame:
        return self.table


def _rule_row(name: str, description: str, flag: np.ndarray | None, y: np.ndarray, lead: np.ndarray,
              missing: tuple[str, ...] = ()) -> dict:
    row = {"rule": name, "description": description, "applicable": flag is not None, "missing": ", ".join(missing)}
    if flag is None:
        return {**row, "flagged": np.nan, "flagged_share": np.nan, "churn_rate": np.nan, "caught": np.nan,
                "caught_share": np.nan, "lift": np.nan, "lead_time_days": np.nan}
    caught = flag & (y == 1)
    rate = y[flag].mean() if flag.any() else np.nan
    base = y.mean() if len(y) else np.nan
    return {**row, "flagged": int(flag.sum()), "flagged_share": flag.mean() if len(flag) else np.nan,
            "churn_rate": float(rate), "caught": int(caught.sum()),
            "caught_share": caught.sum() / y.sum() if y.sum() else np.nan,
            "lift": float(rate / base) if base else np.nan,
            "lead_time_days": float(np.median(lead[caught])) if caught.any() else np.nan}


def evaluate_rules(labelled: LabelledEvents, split: TimeSplit, *, rules: RuleSet | None = None) -> RuleEvaluation:
    """Score ``rules`` (default :func:`default_rules`) on the test cut-off's customers; rules whose columns are
    missing are listed as not applicable, and the "at least k" flag counts the applicable ones."""
    rules = default_rules(labelled.feature_names) if rules is None else rules
    frame = labelled.frame.iloc[split.test_index]
    y = frame["churned"].to_numpy(dtype=int)
    since = pd.to_numeric(frame.get("days_since_last_event", frame.get("days_since_last_visit")), errors="coerce")
    lead = split.lookback_days - since.to_numpy(dtype=float, na_value=np.nan)
    rows, hits = [], np.zeros(len(frame), dtype=int)
    for rule in rules.rules:
        missing = rule.missing(frame.columns)
        flag = None if missing else rule.flags(frame)
        if flag is not None:
            hits += flag
        rows.append(_rule_row(rule.name, rule.description, flag, y, lead, missing))
    applicable = sum(r["applicable"] for r in rows)
    combined = hits >= rules.k if applicable >= rules.k else None
    rows.append(_rule_row(f"at_least_{rules.k}", f"{rules.k} or more of the rules above", combined, y, lead,
                          () if combined is not None else (f"{applicable} applicable rules",)))
    return RuleEvaluation(rules=rules, table=pd.DataFrame(rows), test_cutoff=split.test_cutoff,
                          customers=len(frame), churners=int(y.sum()))


# ---------------------------------------------------------------------------------------------------------
# Out-of-time training


@dataclass(frozen=True, eq=False, kw_only=True)
class OutOfTimeResult:
    """The out-of-time run: per model a :class:`~churn_core.modeling.ModelResult` (``holdout`` = the test
    cut-off's metrics), with the split, the recency baseline, the rules, the best model's deciles, its lift over
    the baseline rule's AUC and the verdict ("better", "no_better" or "no_signal")."""

    models: tuple[ModelResult, ...]
    split: TimeSplit
    baseline: RecencyBaseline
    rules: RuleEvaluation
    deciles: pd.DataFrame
    lift: float
    verdict: str
    y_test: np.ndarray = field(repr=False)
    test_index: np.ndarray = field(repr=False)
    train_index: np.ndarray = field(repr=False)
    fold_of: np.ndarray = field(repr=False)  # per training row: its validation fold, -1 when never validated
    cv_folds: pd.DataFrame = field(repr=False)  # per fold: fit and validation cut-offs and rows
    seed: int = 0
    threshold_rule: str = "f1"
    calibration: str | None = "beta"
    choose_by: str = "roc_auc"
    features: tuple[str, ...] = ()
    roles: ColumnRoles | None = None
    engine: str = "local"
    # With engine "dask": where each model was fitted and why, and the memory check (rows before/after a sample).
    engine_notes: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The leaderboard: one row per model, test metrics, CV mean ± sd, interval and timings."""
        rows = []
        for m in self.models:
            row = {"model": m.name, **{k: getattr(m.holdout, k) for k in (*METRIC_NAMES, "threshold")}}
            row.update({f"cv_{k}_mean": m.cv[k].mean() for k in ("roc_auc", "pr_auc", "f1")})
            row.update({f"cv_{k}_sd": m.cv[k].std(ddof=1) for k in ("roc_auc", "pr_auc", "f1")})
            row.update(roc_auc_ci_low=m.roc_auc_ci[0], roc_auc_ci_high=m.roc_auc_ci[1],
                       fit_seconds=m.fit_seconds, predict_seconds=m.predict_seconds)
            rows.append(row)
        return pd.DataFrame(rows)

    def ranked(self, metric: str | None = None) -> list[ModelResult]:
        """The models, best out-of-time cross-validated mean of ``metric`` first (never the test cut-off)."""
        return _ranked(self.models, metric or self.choose_by)

    def best(self, metric: str | None = None) -> ModelResult:
        return self.ranked(metric)[0]


def _ranked(models, metric: str) -> list[ModelResult]:
    return sorted(models, key=lambda m: -np.nan_to_num(m.cv_mean(metric), nan=-np.inf))


def event_roles(labelled: LabelledEvents) -> ColumnRoles:
    """Column roles of a labelled event frame, so the snapshot feature step and models work on it unchanged."""
    frame = labelled.frame
    features = [c for c in labelled.feature_names if c not in NOT_FEATURES and c in frame.columns]
    categorical = tuple(c for c in features if not (pd.api.types.is_numeric_dtype(frame[c])
                                                    or pd.api.types.is_bool_dtype(frame[c])))
    numeric = tuple(c for c in features if c not in categorical)
    return ColumnRoles(target="churned", id="customer_id", categorical=categorical, numeric=numeric,
                       tenure="tenure_days" if "tenure_days" in numeric else None,
                       value=("spend_365d",) if "spend_365d" in numeric else (),
                       ignored=("cutoff", "labelled"))


def rolling_folds(cutoff_values, train_cutoffs, *, folds: int, window_days: int) -> list[tuple[np.ndarray,
                                                                                                np.ndarray]]:
    """Rolling-origin folds over the training cut-offs: the cut-offs that have an earlier one at least H before
    them are cut into ``folds`` consecutive blocks; fold k validates on block k and fits on the cut-offs at least
    H before its first date. Returns (fit positions, validation positions) into ``cutoff_values``."""
    dates = sorted(pd.Timestamp(d) for d in train_cutoffs)
    gap = pd.Timedelta(days=window_days)
    valid_dates = [d for d in dates if d - gap >= dates[0]]
    if not valid_dates:
        return []
    cut = pd.to_datetime(pd.Series(cutoff_values)).to_numpy()
    out = []
    for block in np.array_split(np.array(valid_dates, dtype="datetime64[ns]"), min(folds, len(valid_dates))):
        fit = np.flatnonzero(cut <= block[0] - np.timedelta64(window_days, "D"))
        valid = np.flatnonzero(np.isin(cut, block))
        out.append((fit, valid))
    return out


def train_out_of_time(
    labelled: LabelledEvents,
    *,
    models: tuple[str, ...] = ("logistic_regression", "xgboost"),
    calibration: Literal["beta", "sigmoid", "isotonic"] | None = "beta",
    seed: int = 0,
    folds: int = 3,
    threshold_rule: Literal["0.5", "f1", "recall"] = "f1",
    target_recall: float = 0.8,
    n_jobs: int = 2,
    progress: Progress | None = None,
    split: TimeSplit | None = None,
    rules: RuleSet | None = None,
    engine: Engine | None = None,
) -> OutOfTimeResult:
    """Train the snapshot models out of time and judge them on the latest labelled cut-off.

    Per model: ``folds`` rolling-origin fits over the training cut-offs (:func:`rolling_folds`) give out-of-time
    predictions; those give the CV metrics (each fold scored with a calibrator fitted on the other folds), the
    threshold (``threshold_rule``) and the calibrator (fitted only on rows that have such a prediction); then a
    final fit on every training row is scored on the test cut-off, before and after calibration, with a bootstrap
    95% interval of its ROC-AUC. ``progress`` is called with (model name, fraction done); raising cancels.

    The verdict: "no_signal" when the best model's test AUC interval includes 0.5 or its AUC is below 0.55;
    "better" when the interval's lower bound is above both the recency rule's AUC and the AUC of ranking by
    recency; "no_better" otherwise.
    """
    models = tuple("logistic_regression" if m == "logistic" else m for m in models)
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise ParameterError(f"Unknown model {unknown or models!r}. Choose from {list(MODEL_NAMES)}.",
                             code="unknown_model", name=unknown)
    if calibration not in (None, *CALIBRATIONS):
        raise _bad_calibration(calibration)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ParameterError(f"The 'folds' parameter of train_out_of_time must be a whole number, at least 2. Got "
                             f"{folds!r} instead.", code="bad_parameter", name="folds", value=folds)
    split = time_split(labelled) if split is None else split
    frame, H = labelled.frame, split.window_days
    roles = event_roles(labelled)
    features = tuple(c for c in labelled.feature_names if c not in NOT_FEATURES and c in frame.columns)
    X_train = frame.iloc[split.train_index][list(features)].reset_index(drop=True)
    X_test = frame.iloc[split.test_index][list(features)].reset_index(drop=True)
    y_train, y_test = _y(labelled, split.train_index), _y(labelled, split.test_index)
    train_cut = frame["cutoff"].iloc[split.train_index].to_numpy()
    cv_splits = rolling_folds(train_cut, split.train_cutoffs, folds=folds, window_days=H)
    if not cv_splits:
        needed = labelled.window.min_history_days + 3 * H
        raise SchemaError(
            f"The training cut-offs ({split.train_cutoffs[0].date()} to {split.train_cutoffs[-1].date()}) span less "
            f"than the {H}-day label window, so no out-of-time validation fold fits inside them (they calibrate and "
            f"threshold the models). This needs about {needed} days of events; load a longer log or shorten the "
            "label window.", code="no_validation_cutoff", window_days=H, needed_days=needed)
    for y_part, what in ((y_train, "training"), (y_test, "test")):
        counts = np.bincount(y_part, minlength=2)
        if counts.min() < 2:
            raise SchemaError(f"The {what} rows need churned and retained customers; got {counts.tolist()} "
                              "retained/churned. Choose another test cut-off or load more history.",
                              code="too_few_for_training", counts=counts.tolist())
    fold_of = np.full(len(y_train), -1)
    for k, (_, valid) in enumerate(cv_splits):
        fold_of[valid] = k
    seen = fold_of >= 0
    features_step = ChurnFeatures(roles.to_json(), derived=True)
    fit_xgboost, engine_notes = _xgboost_fitter(engine, X_train, frame["customer_id"].iloc[split.train_index],
                                                models=models, seed=seed)
    steps, done = len(models) * (len(cv_splits) + 1), 0
    results = []
    for name in models:
        base = build_model(name, features=features_step, positive_share=float(y_train.mean()), seed=seed,
                           n_jobs=n_jobs, n_rows=len(y_train))
        logger.info("training %s out of time: %d rows, %d rolling folds", name, len(y_train), len(cv_splits))
        fit = fit_xgboost if name == "xgboost" and fit_xgboost is not None else None
        oof = np.full(len(y_train), np.nan)
        fold_models = []
        for fit_rows, valid in cv_splits:
            _report(progress, name, done / steps)
            if len(np.unique(y_train[fit_rows])) < 2:
                raise SchemaError(f"A rolling fold's fitting cut-offs hold only one class ({len(fit_rows)} rows). "
                                  "Load more history or use fewer folds.", code="too_few_for_training",
                                  counts=np.bincount(y_train[fit_rows], minlength=2).tolist())
            model = (fit(base, X_train.iloc[fit_rows], y_train[fit_rows]) if fit is not None
                     else clone(base).fit(X_train.iloc[fit_rows], y_train[fit_rows]))
            oof[valid] = model.predict_proba(X_train.iloc[valid])[:, 1]
            fold_models.append(model)
            done += 1
        scored = oof.copy()
        if calibration:
            scored[seen] = _cross_fitted(oof[seen], y_train[seen], fold_of[seen], calibration)
        threshold = choose_threshold(y_train[seen], scored[seen], rule=threshold_rule, target_recall=target_recall)
        cv = pd.DataFrame([_fold_metrics(y_train[v], scored[v], threshold) for _, v in cv_splits])
        _report(progress, name, done / steps)
        estimator, raw, proba, fit_s, predict_s = fit_final(base, X_train, y_train, X_test, oof=oof,
                                                            calibration=calibration, fit=fit)
        done += 1
        fitted = estimator.estimator_ if calibration else estimator
        boot = bootstrap_auc(y_test, proba, seed=seed)
        holdout = evaluate(y_test, proba, threshold=threshold)
        logger.info("%s: out-of-time test AUC %.3f, PR-AUC %.3f, Brier %.4f", name, holdout.roc_auc, holdout.pr_auc,
                    holdout.brier)
        results.append(ModelResult(
            name=name, estimator=estimator, holdout=holdout,
            uncalibrated=evaluate(y_test, raw, threshold=0.5) if calibration else None, cv=cv, fit_seconds=fit_s,
            predict_seconds=predict_s, test_proba=proba, test_proba_raw=raw,
            features=tuple(feature_labels(fitted.named_steps["features"])), fold_models=tuple(fold_models),
            oof_raw=oof, roc_auc_ci=tuple(float(q) for q in np.nanquantile(boot, [0.025, 0.975])), boot_auc=boot))
    _report(progress, "done", 1.0)
    baseline = recency_baseline(labelled, split)
    rule_eval = evaluate_rules(labelled, split, rules=rules)
    cv_table = pd.DataFrame([{
        "fold": k, "fit_cutoffs": len(np.unique(train_cut[fit])), "fit_rows": len(fit),
        "last_fit_cutoff": pd.Timestamp(train_cut[fit].max()), "first_valid_cutoff": pd.Timestamp(train_cut[v].min()),
        "last_valid_cutoff": pd.Timestamp(train_cut[v].max()), "valid_rows": len(v)}
        for k, (fit, v) in enumerate(cv_splits)])
    best = _ranked(results, "roc_auc")[0]
    lift = best.holdout.roc_auc - baseline.roc_auc
    verdict = judge(best, baseline)
    logger.info("out of time: best %s AUC %.3f [%.3f, %.3f] vs %s AUC %.3f (ranking %.3f): %s", best.name,
                best.holdout.roc_auc, *best.roc_auc_ci, baseline.rule, baseline.roc_auc, baseline.ranking_auc,
                verdict)
    return OutOfTimeResult(models=tuple(results), split=split, baseline=baseline, rules=rule_eval,
                           deciles=deciles(y_test, best.test_proba), lift=float(lift), verdict=verdict, y_test=y_test,
                           test_index=split.test_index, train_index=split.train_index, fold_of=fold_of,
                           cv_folds=cv_table, seed=seed, threshold_rule=threshold_rule, calibration=calibration,
                           features=features, roles=roles, engine="dask" if fit_xgboost is not None else "local",
                           engine_notes=engine_notes)


def _xgboost_fitter(engine: Engine | None, X_train: pd.DataFrame, customer_ids: pd.Series, *,
                    models: tuple[str, ...], seed: int):
    """With a dask engine: ``fit(base, X, y)`` fitting XGBoost with xgboost.dask (on the memory check's sample of
    customers when the training rows would not fit), and the notes kept with the run. Else (None, {})."""
    if engine is None or not engine.is_dask:
        return None, {}
    from ..scale.training import engine_plan, fit_xgboost_dask, memory_check

    notes: dict = engine_plan(models)
    if "xgboost" not in models:
        return None, notes
    check = memory_check(X_train, customer_ids.to_numpy(), worker_memory=engine.worker_memory(), seed=seed)
    notes["memory"] = check.to_dict()
    keep = check.keep

    def fit(base, X: pd.DataFrame, y: np.ndarray):
        # X holds rows of X_train (whose index is its positions): fit on those of them the sample kept.
        rows = None if keep is None else np.flatnonzero(keep[X.index.to_numpy()])
        return fit_xgboost_dask(base, X, y, engine=engine, rows=rows)

    return fit, notes


def _fold_metrics(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict:
    if len(np.unique(y)) < 2:
        return {k: float("nan") for k in METRIC_NAMES}
    m: Metrics = evaluate(y, proba, threshold=threshold)
    return {k: getattr(m, k) for k in METRIC_NAMES}


def judge(model: ModelResult, baseline: RecencyBaseline) -> str:
    """"no_signal" (the test AUC's interval includes 0.5, or the AUC is under 0.55), "better" (its lower bound
    beats the recency rule's AUC and the AUC of ranking by recency) or "no_better"."""
    low, high = model.roc_auc_ci
    if (not math.isnan(low) and low <= 0.5 <= high) or model.holdout.roc_auc < MIN_SIGNAL_AUC:
        return "no_signal"
    bars = [v for v in (baseline.roc_auc, baseline.ranking_auc) if not math.isnan(v)]
    return "better" if low > max(bars, default=0.5) else "no_better"


def deciles(y_true, proba, *, bins: int = 10) -> pd.DataFrame:
    """Predicted against actual churn per decile of predicted risk (decile 1: the riskiest tenth)."""
    from ..evaluation import gains_table

    y, p = np.asarray(y_true).astype(int), np.asarray(proba, dtype=float)
    bins = min(bins, len(y))
    gains = gains_table(y, p, bins=bins)
    order = np.argsort(-p, kind="stable")  # gains_table's grouping
    group = np.arange(len(y)) * bins // len(y)
    predicted = np.bincount(group, weights=p[order], minlength=bins) / np.maximum(gains.customers, 1)
    return pd.DataFrame({"decile": gains.decile, "customers": gains.customers, "predicted": predicted,
                         "actual": gains.churn_rate, "churners": gains.churners, "lift": gains.lift,
                         "captured": gains.captured})
