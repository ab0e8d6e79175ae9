"""Descriptive churn analysis on any dataset, driven by column roles, never by column names.

Every function takes a :class:`~churn_core.dataset.Dataset` first and returns a
frozen result with ``to_frame()``. All work is vectorised pandas/numpy.

The threshold rule (``threshold_analysis``): each distinct level (or quantile
bin) of the column is a candidate cut ``t``; the customers split into ``< t``
and ``>= t``. A cut is eligible when both sides hold at least ``min_support``
customers and the rate at or above the cut is higher. The detected threshold is
the eligible cut with the largest Pearson chi-square of the 2x2 table (the most
significant split), provided its p-value is below ``alpha``; otherwise there is
no threshold.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._stats import RATE_COLUMNS, add_rates, chi_square_2x2, grouped_rates, grouped_rates_2d, wilson_interval
from .dataset import Dataset
from .errors import ParameterError, SchemaError
from .roles import ColumnRoles

MISSING_LABEL = "(missing)"
MAX_LEVELS = 25


@dataclass(frozen=True, kw_only=True)
class OverallChurn:
    customers: int
    churners: int
    churn_rate: float
    ci_low: float
    ci_high: float
    value_total: float | None = None
    value_at_risk: float | None = None

    @property
    def value_at_risk_share(self) -> float | None:
        """Share of all customer value held by churners."""
        if self.value_at_risk is None or not self.value_total:
            return None
        return self.value_at_risk / self.value_total

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True, kw_only=True)
class Contrast:
    """The highest- and lowest-rate groups of a table, for a one-line takeaway.
    Only groups that are not small count, unless every group is small (then ``small`` is True)."""

    high: str
    high_rate: float
    high_customers: int
    low: str
    low_rate: float
    ratio: float | None
    small: bool


def _supported(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The groups that are not small, or all groups (and True) when every group is small."""
    big = table[~table["small"]]
    return (table, True) if big.empty else (big, False)


def _extremes(table: pd.DataFrame) -> tuple[int, int, bool]:
    """Positions of the highest- and lowest-rate groups of a non-empty rate table, and whether they are
    small. Only groups that are not small take part, unless every group is small. Ties go to the first."""
    rates = table["churn_rate"].to_numpy(dtype=float)
    supported = ~table["small"].to_numpy(dtype=bool)
    small = not supported.any()
    pool = np.arange(len(table)) if small else np.flatnonzero(supported)
    return int(pool[np.nanargmax(rates[pool])]), int(pool[np.nanargmin(rates[pool])]), small


def _contrast_at(table: pd.DataFrame, hi: int, lo: int, small: bool, high: str, low: str) -> Contrast:
    rates, customers = table["churn_rate"].to_numpy(dtype=float), table["customers"].to_numpy()
    ratio = float(rates[hi] / rates[lo]) if rates[lo] > 0 else None
    return Contrast(high=high, high_rate=float(rates[hi]), high_customers=int(customers[hi]), low=low,
                    low_rate=float(rates[lo]), ratio=ratio, small=small)


def contrast(table: pd.DataFrame, *, label: str) -> Contrast | None:
    """Compare the highest- and lowest-rate groups of a rate table (None if it is empty).

    Only groups that are not small take part, unless every group is small (then ``small`` is True).
    Ties go to the first group in the table's order.
    """
    if table.empty:
        return None
    hi, lo, small = _extremes(table)
    labels = table[label].to_numpy()
    return _contrast_at(table, hi, lo, small, str(labels[hi]), str(labels[lo]))


@dataclass(frozen=True, eq=False, kw_only=True)
class CategoryChurn:
    """Churn for each value of one column. ``table`` columns: value, customers, churners,
    churn_rate, ci_low, ci_high, lift, small."""

    column: str
    overall_rate: float
    min_group: int
    binned: bool
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def contrast(self) -> Contrast | None:
        return contrast(self.table, label="value")


@dataclass(frozen=True, eq=False, kw_only=True)
class ThresholdResult:
    column: str
    binned: bool
    levels: pd.DataFrame  # value, label, customers, churners, churn_rate, ci_low, ci_high, small
    threshold: float | None
    rate_below: float | None
    rate_at_or_above: float | None
    customers_at_or_above: int | None
    p_value: float | None
    min_support: int

    @property
    def lift(self) -> float | None:
        if self.threshold is None or not self.rate_below:
            return None
        return self.rate_at_or_above / self.rate_below

    def to_frame(self) -> pd.DataFrame:
        return self.levels.copy()


@dataclass(frozen=True, eq=False)
class BandChurn:
    column: str
    edges: tuple[float, ...]
    table: pd.DataFrame  # band, lower, upper, customers, churners, churn_rate, ci_low, ci_high, small
    unit: str | None = None  # "months", "years", or None when the unit is unknown

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def contrast(self) -> Contrast | None:
        return contrast(self.table, label="band")


@dataclass(frozen=True, eq=False, kw_only=True)
class CrossTab:
    row: str
    column: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: pd.DataFrame  # row, column, customers, churners, churn_rate, ci_low, ci_high, small

    def to_frame(self) -> pd.DataFrame:
        return self.cells.copy()

    def contrast(self) -> Contrast | None:
        """Highest and lowest cells, labelled "rows=value × columns=value"."""
        if self.cells.empty:
            return None
        hi, lo, small = _extremes(self.cells)
        rows, columns = self.cells["row"].to_numpy(), self.cells["column"].to_numpy()
        name = [f"{self.row}={rows[i]} × {self.column}={columns[i]}" for i in (hi, lo)]
        return _contrast_at(self.cells, hi, lo, small, *name)

    def matrix(self, values: str = "churn_rate") -> pd.DataFrame:
        wide = self.cells.pivot(index="row", columns="column", values=values)
        return wide.reindex(index=list(self.rows), columns=list(self.columns))


@dataclass(frozen=True, eq=False)
class DriverRanking:
    """Every numeric, flag and categorical column against churn on one scale, strongest first
    (see :func:`driver_ranking`).
    ``excluded`` names the columns left out because validation flagged them as leakage."""

    table: pd.DataFrame  # column, kind, correlation, auc, direction, top_level, mean_churned, mean_retained,
    # effect_size
    excluded: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@dataclass(frozen=True)
class Highlights:
    """The columns the overview shows first: the strongest categorical breakdowns (plan flags and
    categorical columns) and the strongest numeric curves, each in driver-ranking order."""

    categories: tuple[str, ...] = ()
    curves: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clause:
    """One condition of a segment rule. ``ref`` is a column name or a role reference:
    ``@service_calls``, ``@tenure``, ``@value``, ``@flag:<regex>`` (a plan flag as 0/1)
    or ``@column:<regex>`` (the first numeric column whose name matches)."""

    ref: str
    op: str
    value: float


@dataclass(frozen=True)
class Segment:
    key: str
    name: str
    clauses: tuple[Clause, ...]
    priority: int


DEFAULT_SEGMENTS: tuple[Segment, ...] = (
    Segment("dual_high_risk", "Dual high risk", (Clause("@flag:international|intl", "==", 1),
                                                 Clause("@service_calls", ">=", 3)), 1),
    Segment("repeated_complaints", "Repeated complaints", (Clause("@service_calls", ">=", 3),), 2),
    Segment("heavy_day_users", "Heavy day users", (Clause("@column:day.*charge", ">", 40),), 3),
    Segment("international_plan", "International plan", (Clause("@flag:international|intl", "==", 1),), 4),
)
_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal, "!=": np.not_equal}


@dataclass(frozen=True, eq=False)
class SegmentTable:
    table: pd.DataFrame  # key, name, priority, customers, churners, churn_rate, ci_low, ci_high, lift, share, small
    skipped: tuple[tuple[str, str], ...] = ()  # (segment key, reason)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def top(self) -> pd.Series | None:
        """The segment with the highest lift, preferring segments that are not small."""
        if self.table.empty:
            return None
        pool, _ = _supported(self.table)
        return pool.loc[pool["lift"].idxmax()]


@dataclass(frozen=True, eq=False)
class ValueTiers:
    cutoff: float
    top_share: float
    table: pd.DataFrame  # tier, customers, churners, churn_rate, ci_low, ci_high, value_total, value_at_risk

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def top_rate(self) -> float:
        return float(self.table.set_index("tier").at["top", "churn_rate"])

    @property
    def rest_rate(self) -> float:
        return float(self.table.set_index("tier").at["rest", "churn_rate"])

    @property
    def top_risk_share(self) -> float:
        """The top tier's share of all value lost to churn."""
        risk = self.table["value_at_risk"]
        return float(risk.iloc[0] / risk.sum()) if risk.sum() else float("nan")


@dataclass(frozen=True, eq=False, kw_only=True)
class Description:
    """Everything the overview shows, computed once."""

    overall: OverallChurn
    by_category: dict[str, CategoryChurn]
    thresholds: dict[str, ThresholdResult]
    bands: BandChurn | None
    drivers: DriverRanking
    segments: SegmentTable
    value_tiers: ValueTiers | None
    crosstab: CrossTab | None = None
    notes: tuple[str, ...] = field(default=())
    highlights: Highlights = field(default=Highlights())
    curves: dict[str, ThresholdResult] = field(default_factory=dict)  # the churn curve of each highlighted curve

    def to_frame(self) -> pd.DataFrame:
        return self.overall.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``describe --format json``)."""
        rate_cols = ["customers", "churners", "churn_rate", "ci_low", "ci_high"]
        out: dict[str, Any] = {
            "overall": _clean(self.overall.__dict__),
            "by_category": {c: _records(r.table, ["value", *rate_cols, "lift", "small"])
                            for c, r in self.by_category.items()},
            "thresholds": {c: {"levels": _records(r.levels, ["value", "label", *rate_cols]),
                               "threshold": r.threshold, "rate_below": r.rate_below,
                               "rate_at_or_above": r.rate_at_or_above, "p_value": r.p_value}
                           for c, r in self.thresholds.items()},
            "bands": None if self.bands is None else {"column": self.bands.column,
                                                      "levels": _records(self.bands.table)},
            "drivers": _records(self.drivers.table),
            "segments": _records(self.segments.table),
            "value_tiers": None if self.value_tiers is None else _records(self.value_tiers.table),
            "highlights": {"categories": list(self.highlights.categories), "curves": list(self.highlights.curves)},
        }
        if self.crosstab is not None:
            out["crosstab"] = {"row": self.crosstab.row, "column": self.crosstab.column,
                               "rows": list(self.crosstab.rows), "columns": list(self.crosstab.columns),
                               "cells": _records(self.crosstab.cells, ["row", "column", *rate_cols])}
        return _clean(out)


def overall_churn(dataset: Dataset, *, confidence: float = 0.95) -> OverallChurn:
    """Customers, churners, the churn rate with its Wilson interval, and value at risk."""
    y = dataset.target()
    n, k = len(y), int(y.sum())
    low, high = wilson_interval(k, n, confidence=confidence)
    value = dataset.value()
    total = at_risk = None
    if value is not None:
        total, at_risk = float(value.sum()), float(value[y.to_numpy() == 1].sum())
    return OverallChurn(customers=n, churners=k, churn_rate=k / n if n else float("nan"), ci_low=float(low),
                        ci_high=float(high), value_total=total, value_at_risk=at_risk)


def churn_by_category(dataset: Dataset, *, column: str, min_group: int = 30, bins: int = 10) -> CategoryChurn:
    """Churn for each value of ``column``. A numeric column with more than 25 values is cut
    into ``bins`` quantile bins. Groups under ``min_group`` customers are flagged ``small``."""
    _check_positive("min_group", min_group, "churn_by_category")
    y = dataset.target()
    keys, binned = _dimension(dataset, column, bins=bins)
    table = grouped_rates(y, keys).reset_index(names="value")
    overall = float(y.mean())
    table["value"] = _labels(table["value"])
    table["lift"] = table["churn_rate"] / overall if overall else np.nan
    table["small"] = table["customers"] < min_group
    return CategoryChurn(column=column, overall_rate=overall, min_group=min_group, binned=binned, table=table)


def threshold_analysis(
    dataset: Dataset, *, column: str | None = None, min_support: int = 30, alpha: float = 0.001,
    max_levels: int = MAX_LEVELS, bins: int = 10,
) -> ThresholdResult:
    """The churn rate at each value of a count or numeric column, and where it jumps.

    ``column`` defaults to the service-call column. See the module docstring for the rule.
    """
    _check_positive("min_support", min_support, "threshold_analysis")
    column = column or _require_role(dataset, "service_calls", "threshold_analysis")
    x = _numeric(dataset, column)
    known = x.notna()
    x, y = x[known], dataset.target()[known]
    binned = x.nunique() > max_levels
    if binned:
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
        lower = pd.Series(edges[:-1][np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)],
                          index=x.index)
    else:
        lower = x
    levels = grouped_rates(y, lower).reset_index(names="value")
    if binned:
        uppers = list(levels["value"].iloc[1:]) + [float(x.max())]
        levels["label"] = [f"[{a:g}, {b:g})" for a, b in zip(levels["value"], uppers)]
    else:
        levels["label"] = [f"{v:g}" for v in levels["value"]]
    levels["small"] = levels["customers"] < min_support

    n_below = levels["customers"].cumsum().shift(fill_value=0).to_numpy()
    k_below = levels["churners"].cumsum().shift(fill_value=0).to_numpy()
    n_above = len(y) - n_below
    k_above = int(y.sum()) - k_below
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_below, rate_above = k_below / n_below, k_above / n_above
    chi2, p = chi_square_2x2(k_above, n_above, k_below, n_below)
    eligible = (n_below >= min_support) & (n_above >= min_support) & (rate_above > rate_below)
    if not eligible.any() or p[eligible].min() >= alpha:
        return ThresholdResult(column=column, binned=binned, levels=levels, threshold=None, rate_below=None,
                               rate_at_or_above=None, customers_at_or_above=None, p_value=None, min_support=min_support)
    best = int(np.flatnonzero(eligible)[np.argmax(chi2[eligible])])
    return ThresholdResult(column=column, binned=binned, levels=levels, threshold=float(levels["value"].iloc[best]),
                           rate_below=float(rate_below[best]), rate_at_or_above=float(rate_above[best]),
                           customers_at_or_above=int(n_above[best]), p_value=float(p[best]), min_support=min_support)


def tenure_bands(
    dataset: Dataset, *, column: str | None = None, edges: list[float] | None = None, min_group: int = 30,
    unit: str | None = None,
) -> BandChurn:
    """Churn per tenure band, in the column's own unit. ``unit`` ("months" or "years") defaults to
    :func:`tenure_unit`'s guess from the values. Default edges: for years, one- or two-year bands; for
    months, bands up to 6 years; otherwise about five equal bands on round numbers."""
    if unit not in (None, *TENURE_UNITS):
        raise ParameterError(f"The 'unit' parameter of tenure_bands must be one of {list(TENURE_UNITS)} or None. "
                             f"Got {unit!r} instead.", code="bad_parameter", name="unit", value=unit)
    column = column or _require_role(dataset, "tenure", "tenure_bands")
    x = _numeric(dataset, column)
    unit = unit or tenure_unit(x, column=column)
    edges = sorted(edges) if edges is not None else default_band_edges(x, column=column, unit=unit)
    if len(edges) < 2:
        raise ParameterError(f"The 'edges' parameter of tenure_bands needs at least 2 values. Got {edges!r} "
                             "instead. Pass increasing band edges, e.g. [0, 12, 24].", code="bad_parameter",
                             name="edges", value=edges)
    bounds = [*edges, math.inf] if x.max() >= edges[-1] else list(edges)
    band = pd.cut(x, bins=bounds, right=False, labels=False)
    integer = bool(np.all(np.mod(x.dropna(), 1) == 0))
    labels = [_band_label(a, b, integer) for a, b in zip(bounds[:-1], bounds[1:])]
    table = grouped_rates(dataset.target(), band).reset_index(names="band")
    table = table[table["band"].notna()].astype({"band": int})
    table["lower"] = [bounds[i] for i in table["band"]]
    table["upper"] = [bounds[i + 1] for i in table["band"]]
    table["band"] = [labels[i] for i in table["band"]]
    table["small"] = table["customers"] < min_group
    cols = ["band", "lower", "upper", *RATE_COLUMNS, "small"]
    return BandChurn(column, tuple(float(e) for e in bounds), table[cols].reset_index(drop=True), unit)


TENURE_UNITS = ("months", "years")


def tenure_unit(x: pd.Series, *, column: str = "") -> str | None:
    """Guess a tenure column's unit from its values: whole numbers up to 15 are years (nobody counts
    customers' months only up to 15), a month-like name or whole numbers up to 120 are months, else None."""
    known = x.dropna()
    if known.empty:
        return None
    top, whole = float(known.max()), bool(np.all(np.mod(known, 1) == 0))
    if whole and top <= 15 and not re.search(r"month|月", column, re.I):
        return "years"
    if top <= 120 and (re.search(r"month|tenure|在网|月", column, re.I) or whole):
        return "months"
    return None


def default_band_edges(x: pd.Series, *, column: str = "", unit: str | None = None) -> list[float]:
    top = float(x.max())
    unit = unit or tenure_unit(x, column=column)
    if unit == "years":
        step = 1 if top <= 6 else 2
        return [float(v) for v in range(0, int(top) + step, step)]
    if unit == "months" and top <= 120 and re.search(r"month|tenure|在网|月", column, re.I):
        return [0, 6, 12, 24, 36, 48, 60, 72]
    step = _nice_step(top / 5)
    return [float(step * i) for i in range(int(top // step) + 2)]


def cross_tab(dataset: Dataset, *, rows: str, columns: str, bins: int = 4, min_group: int = 30) -> CrossTab:
    """Churn rate and counts for every pair of values of two columns (numeric ones binned)."""
    y = dataset.target()
    row_keys, _ = _dimension(dataset, rows, bins=bins, max_levels=12)
    col_keys, _ = _dimension(dataset, columns, bins=bins, max_levels=12)
    cells = grouped_rates_2d(y, row_keys, col_keys)
    cells["row"], cells["column"] = _labels(cells["row"]), _labels(cells["column"])
    cells["small"] = cells["customers"] < min_group
    order = lambda keys: tuple(dict.fromkeys(_labels(pd.Series(sorted(keys.dropna().unique()))))) + (
        (MISSING_LABEL,) if keys.isna().any() else ())
    return CrossTab(row=rows, column=columns, rows=order(row_keys), columns=order(col_keys), cells=cells)


def leakage_columns(dataset: Dataset) -> tuple[str, ...]:
    """The columns the dataset's validation report flagged as leakage (they separate churn almost perfectly).
    Descriptive views leave them out, as the models do."""
    return tuple(dataset.report.leakage) if dataset.report is not None else ()


def driver_ranking(dataset: Dataset, *, folds: int = 5, smoothing: float = 20.0, seed: int = 0,
                   sort_by: str = "correlation") -> DriverRanking:
    """Every numeric column, plan flag and categorical column against churn, on one comparable scale.

    Each column becomes a churn score: a numeric column's value, a flag's 0/1, a categorical column's
    per-level churn rate computed out of fold (``folds`` folds, each level's rate shrunk towards the overall
    rate by ``smoothing`` customers), so a many-level column is not flattered by its own noise. ``correlation``
    is the point-biserial correlation of that score with churn (coded 1) and ``auc`` its univariate ROC-AUC
    reported as max(AUC, 1 - AUC), with ``direction`` "higher" or "lower" (which end churns more; for a
    categorical column the score is a churn rate, so "higher"). ``top_level`` is the highest-rate level of a
    categorical column (30 customers or more). Churned vs retained means and Cohen's d are given for numeric
    columns and flags. Sorted by |correlation| (``sort_by="auc"`` sorts by AUC). Leakage columns are left out
    and named in ``excluded``."""
    if sort_by not in ("correlation", "auc"):
        raise ParameterError(f"The 'sort_by' parameter of driver_ranking must be 'correlation' or 'auc'. "
                             f"Got {sort_by!r} instead.", code="bad_parameter", name="sort_by", value=sort_by)
    _check_positive("folds", folds, "driver_ranking")
    roles = dataset.roles
    y = dataset.target().to_numpy(dtype=float)
    leaks = set(leakage_columns(dataset))
    kinds = {**{c: "numeric" for c in roles.numeric}, **{c: "flag" for c in roles.plan_flags},
             **{c: "categorical" for c in roles.categorical}}
    candidates = [c for c in kinds if c not in roles.ignored]
    excluded = tuple(c for c in candidates if c in leaks)
    fold = np.random.default_rng(seed).permutation(len(y)) % max(min(folds, len(y)), 1)
    rows = []
    for col in (c for c in candidates if c not in leaks):
        kind, top_level = kinds[col], None
        if kind == "categorical":
            codes, levels = _level_codes(dataset.frame[col])
            values = _out_of_fold_rates(codes, len(levels), y, fold, smoothing=smoothing)
            top_level = _top_level(codes, levels, y)
        else:
            values = (_numeric(dataset, col) if kind == "numeric" else dataset.flag(col)).to_numpy(dtype=float)
        ok = ~np.isnan(values)
        xv, yv = values[ok], y[ok]
        if xv.size < 3 or xv.std() == 0 or yv.std() == 0:
            continue
        auc = _auc(xv, yv)
        means = (np.nan, np.nan, np.nan) if kind == "categorical" else _mean_contrast(xv, yv)
        rows.append((col, kind, float(np.corrcoef(xv, yv)[0, 1]), max(auc, 1 - auc),
                     "higher" if auc >= 0.5 else "lower", top_level, *means))
    table = pd.DataFrame(rows, columns=["column", "kind", "correlation", "auc", "direction", "top_level",
                                        "mean_churned", "mean_retained", "effect_size"])
    key = table["correlation"].abs() if sort_by == "correlation" else table["auc"]
    table = table.reindex(key.sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    return DriverRanking(table, excluded)


def _mean_contrast(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Churned mean, retained mean and Cohen's d."""
    churned, retained = x[y == 1], x[y == 0]
    pooled = math.sqrt(((churned.size - 1) * churned.var(ddof=1) + (retained.size - 1) * retained.var(ddof=1))
                       / (x.size - 2))
    return (float(churned.mean()), float(retained.mean()),
            float((churned.mean() - retained.mean()) / pooled) if pooled else np.nan)


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    """ROC-AUC of ``score`` for churn: the Mann-Whitney statistic from the churners' mid-ranks (ties count
    half), found by binary search in the sorted scores (one sort, no argsort)."""
    ordered = np.sort(score)
    churned = np.sort(score[y == 1])
    below = np.searchsorted(ordered, churned, side="left")
    ties = np.searchsorted(ordered, churned, side="right") - below
    n_pos = churned.size
    n_neg = score.size - n_pos
    rank_sum = float((below + (ties + 1) / 2).sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _level_codes(x: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a column's levels, missing values as a level of their own (named last)."""
    codes, uniques = pd.factorize(x)
    levels = [str(v) for v in uniques]
    if (codes < 0).any():
        codes, levels = np.where(codes < 0, len(levels), codes), [*levels, MISSING_LABEL]
    return codes, levels


def _out_of_fold_rates(codes: np.ndarray, n_levels: int, y: np.ndarray, fold: np.ndarray, *,
                       smoothing: float) -> np.ndarray:
    """Each customer's level churn rate from the other folds, shrunk towards those folds' overall rate."""
    n_folds = int(fold.max()) + 1
    cell = fold * n_levels + codes
    count = np.bincount(cell, minlength=n_folds * n_levels).reshape(n_folds, n_levels)
    churn = np.bincount(cell, weights=y, minlength=n_folds * n_levels).reshape(n_folds, n_levels)
    count_out, churn_out = count.sum(axis=0) - count, churn.sum(axis=0) - churn  # each fold's other folds
    prior = churn_out.sum(axis=1, keepdims=True) / np.maximum(count_out.sum(axis=1, keepdims=True), 1)
    rate = (churn_out + smoothing * prior) / (count_out + smoothing)
    return rate[fold, codes]


def _top_level(codes: np.ndarray, levels: list[str], y: np.ndarray, *, min_group: int = 30) -> str | None:
    """The level with the highest churn rate among those of at least ``min_group`` customers."""
    count = np.bincount(codes, minlength=len(levels))
    rate = np.bincount(codes, weights=y, minlength=len(levels)) / np.maximum(count, 1)
    rate[count < min_group] = -1
    return None if (count < min_group).all() else levels[int(np.argmax(rate))]


def segment_masks(dataset: Dataset, *, segments: tuple[Segment, ...] = DEFAULT_SEGMENTS
                  ) -> tuple[pd.DataFrame, tuple[tuple[str, str], ...]]:
    """A boolean column per applicable segment, and (key, reason) for each segment skipped."""
    masks, skipped = {}, []
    for seg in segments:
        try:
            mask = np.ones(dataset.n_rows, dtype=bool)
            for clause in seg.clauses:
                if clause.op not in _OPS:
                    raise ParameterError(f"Segment '{seg.key}' uses the operator '{clause.op}'. "
                                         f"Use one of {sorted(_OPS)}.", code="bad_parameter", name="op",
                                         value=clause.op)
                x = _resolve(dataset, clause.ref).to_numpy(dtype=float)
                with np.errstate(invalid="ignore"):
                    mask &= _OPS[clause.op](x, clause.value) & ~np.isnan(x)
            masks[seg.key] = mask
        except SchemaError as err:
            skipped.append((seg.key, str(err)))
    return pd.DataFrame(masks, index=dataset.frame.index), tuple(skipped)


def segment_churn(dataset: Dataset, *, segments: tuple[Segment, ...] = DEFAULT_SEGMENTS,
                  min_group: int = 30) -> SegmentTable:
    """Size and churn rate of each rule-based segment. Segments whose columns the dataset
    lacks are listed in ``skipped`` with the reason."""
    y = dataset.target()
    masks, skipped = segment_masks(dataset, segments=segments)
    overall = float(y.mean())
    yv = y.to_numpy()
    rows = [(s.key, s.name, s.priority, int(masks[s.key].sum()), int(yv[masks[s.key].to_numpy()].sum()))
            for s in segments if s.key in masks]
    table = add_rates(pd.DataFrame(rows, columns=["key", "name", "priority", "customers", "churners"]))
    table["lift"] = table["churn_rate"] / overall if overall else np.nan
    table["share"] = table["customers"] / max(len(y), 1)
    table["small"] = table["customers"] < min_group
    return SegmentTable(table.sort_values("priority").reset_index(drop=True), tuple(skipped))


def value_tiers(dataset: Dataset, *, top_share: float = 0.2, min_group: int = 30) -> ValueTiers:
    """The top ``top_share`` of customers by value against the rest."""
    if not 0 < top_share < 1:
        raise ParameterError(f"The 'top_share' parameter of value_tiers must be in (0, 1). Got {top_share!r} "
                             "instead.", code="bad_parameter", name="top_share", value=top_share)
    value = dataset.value()
    if value is None:
        raise SchemaError("The dataset has no value column (charges or revenue), so value tiers cannot be "
                          f"computed. Received the columns {list(dataset.frame.columns)[:12]}. "
                          "Map a value column in the role mapping.", code="no_value_column")
    cutoff = float(value.quantile(1 - top_share))
    top = (value >= cutoff).to_numpy()
    y = dataset.target().to_numpy()
    v = value.fillna(0).to_numpy()
    rows = [("top", int(top.sum()), int(y[top].sum()), v[top].sum(), v[top & (y == 1)].sum()),
            ("rest", int((~top).sum()), int(y[~top].sum()), v[~top].sum(), v[~top & (y == 1)].sum())]
    table = add_rates(pd.DataFrame(rows, columns=["tier", "customers", "churners", "value_total", "value_at_risk"]))
    table["small"] = table["customers"] < min_group
    return ValueTiers(cutoff, top_share, table)


def count_columns(dataset: Dataset, *, max_levels: int = MAX_LEVELS) -> tuple[str, ...]:
    """The service-call column plus other non-negative whole-number columns with 3 to 25 values
    (leakage columns left out)."""
    roles = dataset.roles
    cols = [roles.service_calls] if roles.service_calls else []
    leaks = set(leakage_columns(dataset))
    for col in roles.numeric:
        if col in cols or col == roles.tenure or col in leaks:
            continue
        x = _numeric(dataset, col).dropna()
        if 3 <= x.nunique() <= max_levels and x.min() >= 0 and bool(np.all(np.mod(x, 1) == 0)):
            cols.append(col)
    return tuple(cols)


def strongest_drivers(ranking: DriverRanking, *, roles: ColumnRoles, categories: int = 3, curves: int | None = None,
                      min_auc: float = 0.55, frame: pd.DataFrame | None = None, twin_r: float = 0.8) -> Highlights:
    """The first ``categories`` plan flags or categorical columns and the first ``curves`` numeric columns
    of the ranking whose ROC-AUC alone reaches ``min_auc`` (a column that barely tells churners apart is
    not a driver worth a chart). The state column (it has its map) and the tenure column (it has its
    bands) are not repeated.

    ``curves`` None: one curve, or as many as the categorical places left unused (a dataset whose drivers
    are all numeric still fills the page). With ``frame``, a numeric column correlated beyond ``twin_r``
    with one already picked (the amount beside the count of the same transactions) is skipped."""
    table = ranking.table
    elsewhere = table["column"].isin([roles.state, roles.tenure]) | (table["auc"] < min_auc)
    candidates = lambda kinds: list(table.loc[table["kind"].isin(kinds) & ~elsewhere, "column"])
    picked_categories = tuple(candidates(("flag", "categorical"))[:categories])
    wanted = max(1, categories - len(picked_categories)) if curves is None else curves
    picked: list[str] = []
    for column in candidates(("numeric",)):
        if len(picked) == wanted:
            break
        if frame is not None and any(_twins(frame[column], frame[other], twin_r) for other in picked):
            continue
        picked.append(column)
    return Highlights(picked_categories, tuple(picked))


def _twins(a: pd.Series, b: pd.Series, r: float) -> bool:
    x, y = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    corr = x.corr(y, method="spearman")
    return bool(np.isfinite(corr) and abs(corr) > r)


def describe(dataset: Dataset, *, crosstab: tuple[str, str] | None = None, min_group: int = 30,
             segments: tuple[Segment, ...] = DEFAULT_SEGMENTS, tenure_unit: str | None = None) -> Description:
    """Run every descriptive analysis the dataset's roles allow. Leakage columns are left out of the
    breakdowns (the state role's column is kept: the map is its own view). ``highlights`` names the
    strongest drivers of every kind (see :func:`strongest_drivers`); ``tenure_unit`` overrides the
    guessed unit of the tenure column."""
    roles = dataset.roles
    notes = []
    left_out = {*roles.ignored, *leakage_columns(dataset)} - {roles.state}
    by_category = {c: churn_by_category(dataset, column=c, min_group=min_group)
                   for c in (*roles.plan_flags, *roles.categorical) if c not in left_out}
    drivers = driver_ranking(dataset)
    highlights = strongest_drivers(drivers, roles=roles, frame=dataset.frame)
    highlights = dataclasses.replace(highlights, categories=tuple(  # many levels do not read as a bar chart
        c for c in highlights.categories if c in by_category and len(by_category[c].table) <= MAX_LEVELS))
    thresholds = {c: threshold_analysis(dataset, column=c, min_support=min_group) for c in count_columns(dataset)}
    curves = {c: thresholds.get(c) or threshold_analysis(dataset, column=c, min_support=min_group)
              for c in highlights.curves}
    bands = tenure_bands(dataset, min_group=min_group, unit=tenure_unit) if roles.tenure else None
    if bands is None:
        notes.append("no_tenure")
    has_value = any(c in dataset.frame for c in roles.value)
    tiers = value_tiers(dataset, min_group=min_group) if has_value else None
    xt = cross_tab(dataset, rows=crosstab[0], columns=crosstab[1], min_group=min_group) if crosstab else None
    return Description(overall=overall_churn(dataset), by_category=by_category, thresholds=thresholds, bands=bands,
                       drivers=drivers, segments=segment_churn(dataset, segments=segments, min_group=min_group),
                       value_tiers=tiers, crosstab=xt, notes=tuple(notes), highlights=highlights, curves=curves)


# -- helpers -----------------------------------------------------------------------------------

def _check_positive(name: str, value: int, func: str) -> None:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"The '{name}' parameter of {func} must be a whole number of at least 1. "
                             f"Got {value!r} instead.", code="bad_parameter", name=name, value=value)


def _require_role(dataset: Dataset, role: str, func: str) -> str:
    column = getattr(dataset.roles, role)
    if not column:
        readable = {"service_calls": "service-call count", "tenure": "tenure"}.get(role, role)
        raise SchemaError(f"{func} needs a {readable} column, and none was detected in "
                          f"{list(dataset.frame.columns)[:12]}. Map one in the role mapping, or pass column=.",
                          code="role_missing", role=role)
    return column


def _check_column(dataset: Dataset, column: str) -> None:
    if column not in dataset.frame.columns:
        raise SchemaError(f"The column '{column}' is not in the dataset '{dataset.name}'. Received the "
                          f"columns {list(dataset.frame.columns)[:20]}. Pick one of those.",
                          code="column_missing", column=column, columns=list(dataset.frame.columns)[:20])
    if column == dataset.roles.target:
        raise ParameterError(f"The column '{column}' is the target; pick another column to break churn down by.",
                             code="target_as_dimension", column=column)


def _numeric(dataset: Dataset, column: str) -> pd.Series:
    _check_column(dataset, column)
    x = dataset.frame[column]
    if isinstance(x.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(x):
        raise SchemaError(f"The column '{column}' is not numeric (received dtype {x.dtype}). Pick a numeric "
                          "column, or map this one as numeric.", code="not_numeric", column=column)
    return x.astype(float)


def _dimension(dataset: Dataset, column: str, *, bins: int, max_levels: int = MAX_LEVELS) -> tuple[pd.Series, bool]:
    """Group keys for a column: its values, or quantile bins for a many-valued numeric column."""
    _check_column(dataset, column)
    x = dataset.frame[column]
    if isinstance(x.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(x) or x.nunique() <= max_levels:
        return x, False
    codes, edges = pd.qcut(x, q=bins, duplicates="drop", retbins=True, labels=False)
    labels = [f"{a:.4g}–{b:.4g}" for a, b in zip(edges[:-1], edges[1:])]
    codes = np.where(np.isnan(codes), -1, codes).astype(int)
    return pd.Series(pd.Categorical.from_codes(codes, categories=labels, ordered=True), index=x.index), True


def _resolve(dataset: Dataset, ref: str) -> pd.Series:
    roles = dataset.roles
    if not ref.startswith("@"):
        return _numeric(dataset, ref)
    kind, _, pattern = ref[1:].partition(":")
    if kind in ("service_calls", "tenure"):
        return _numeric(dataset, _require_role(dataset, kind, "segment"))
    if kind == "value":
        value = dataset.value()
        if value is None:
            raise SchemaError("No value column is mapped.", code="role_missing", role="value")
        return value
    candidates = roles.plan_flags if kind == "flag" else roles.numeric
    match = next((c for c in candidates if re.search(pattern, c, re.I)), None)
    if match is None:
        raise SchemaError(f"No {'plan flag' if kind == 'flag' else 'numeric column'} matches '{pattern}'.",
                          code="role_missing", role=ref)
    return dataset.flag(match) if kind == "flag" else _numeric(dataset, match)


def _labels(values: pd.Series) -> list[str]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(MISSING_LABEL)
        elif isinstance(v, pd.Interval):
            out.append(f"[{v.left:.4g}, {v.right:.4g}]")
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _band_label(lower: float, upper: float, integer: bool) -> str:
    if math.isinf(upper):
        return f"{lower:g}+"
    if integer:
        return f"{lower:g}" if upper - 1 == lower else f"{lower:g}–{upper - 1:g}"
    return f"[{lower:g}, {upper:g})"


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    cols = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    return frame[cols].to_dict(orient="records")


def _clean(obj: Any) -> Any:
    """Make numpy scalars and NaN JSON-friendly."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
