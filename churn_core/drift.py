"""Data drift: has a feature's distribution, or the churn rate, moved between a reference table and a current one?

The size of a move is the Population Stability Index (PSI). Both samples are cut into
the same bins, and with ``e`` and ``a`` the shares of the reference ("expected")
and current ("actual") rows in each bin::

    PSI = sum((a - e) * ln(a / e))

Bins:

- numeric feature: the quantiles of the reference values (``bins`` equal-count
  bins, duplicate edges dropped, so a column with few distinct values gets fewer
  bins), with open outer edges so every current value falls in some bin. Bins
  are closed on the right: ``(-inf, q1], (q1, q2], ..., (qk, +inf)``.
- categorical feature (text, category or bool dtype): one bin per value seen in
  the reference, plus an "other" bin pooling the values seen only in the current
  data.
- missing values form a bin of their own, for both kinds.

Shares are floored at ``EPSILON`` before the log, so a bin that is empty on one
side adds a large but finite amount instead of infinity.

Whether a feature is numeric is decided by the reference column's dtype. A
current column that holds text where the reference holds numbers is parsed with
``pd.to_numeric(errors="coerce")``; what does not parse counts as missing.

Sampling noise. Noise alone gives a PSI of roughly
``(k - 1) * (1/n_reference + 1/n_current)`` for ``k`` bins: 0.26 for the 51
levels of a US-state column with 200 current rows, above the 0.25 rule of thumb.
So each feature also gets a p-value: Pearson's chi-square test that the
reference and current counts in the same bins come from one distribution. Bins
that would hold fewer than one row of the smaller table at the reference shares
(rare levels, new levels, a missing bin the reference lacks) are first pooled
into one bin, and that pool joins the smallest other bin if it still expects
fewer than one row at the two tables' combined shares (so a new level many
current rows hold stays a bin of its own). Without this, a handful of rows
landing in rare levels gives p-values far too small (Cochran's condition for
the chi-square approximation). PSI itself is computed on the bins as described
above, unpooled.

A feature is "shifted" only when the move is both material, PSI >= ``alert``
(0.25), and beyond sampling noise, p < ``alpha`` / (number of features compared)
with ``alpha`` = 0.01: a Bonferroni correction, so that a current table drawn
from the same population as the reference flags any feature in at most about
1 report in 100, however many features it has.

The churn rate (when both tables have the target) is compared with the
two-proportion test (Pearson's chi-square of the 2x2 table, 1 degree of freedom).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from ._stats import chi_square_2x2, chi_square_homogeneity
from .dataset import Dataset
from .errors import ParameterError, SchemaError
from .roles import ColumnRoles
from .validation import target_codes

logger = logging.getLogger(__name__)

EPSILON = 1e-4
ALPHA = 0.01
STATUSES = ("stable", "noise", "moderate", "shifted")
FEATURE_COLUMNS = ["feature", "kind", "psi", "p_value", "status", "reference_mean", "current_mean",
                   "reference_missing", "current_missing"]
_LISTED = 8  # column names quoted in an error message


@dataclass(frozen=True, kw_only=True)
class ChurnRateChange:
    """The churn rate of the reference and of the current rows whose target is known, and the
    p-value of the two-proportion test that they are equal. ``changed``: p < ``alpha``."""

    reference: float
    current: float
    p_value: float
    reference_rows: int
    current_rows: int
    alpha: float = ALPHA

    @property
    def changed(self) -> bool:
        return self.p_value < self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "current": self.current, "p_value": self.p_value,
                "reference_rows": self.reference_rows, "current_rows": self.current_rows, "changed": self.changed}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True, eq=False, kw_only=True)
class DriftReport:
    """Drift of every compared feature, largest PSI first, and of the churn rate.

    ``features`` columns: feature, kind ("numeric" or "categorical"), psi,
    p_value (chi-square test on the same bins), status, reference_mean,
    current_mean (NaN for categorical features), reference_missing,
    current_missing (shares of missing values). The status is "stable" when
    PSI < ``warn``; otherwise "noise" when p >= ``p_threshold`` (a PSI that
    sampling noise can produce at these sizes), else "moderate" when
    PSI < ``alert`` and "shifted" from ``alert`` on. ``missing_columns`` are
    reference features absent from the current data; ``extra_columns`` are
    current columns absent from the reference. ``churn_rate`` is None unless
    both tables have the target. ``bins``, ``warn``, ``alert`` and ``alpha``
    are the settings that produced it.
    """

    features: pd.DataFrame
    missing_columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    reference_rows: int
    current_rows: int
    bins: int = 10
    warn: float = 0.1
    alert: float = 0.25
    alpha: float = ALPHA
    churn_rate: ChurnRateChange | None = None

    @property
    def p_threshold(self) -> float:
        """The p-value a feature must fall below to count as more than noise: ``alpha`` / features compared."""
        return self.alpha / max(len(self.features), 1)

    @property
    def shifted(self) -> tuple[str, ...]:
        """Names of the features whose PSI reached ``alert`` with p below ``p_threshold``."""
        return tuple(self.features.loc[self.features["status"] == "shifted", "feature"])

    @property
    def ok(self) -> bool:
        """True when no feature shifted and no reference feature is missing from the current data."""
        return not self.shifted and not self.missing_columns

    def to_frame(self) -> pd.DataFrame:
        return self.features

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (NaN becomes None), for the CLI; each feature's name is under "name"."""
        return _json_ready({
            "ok": self.ok,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "bins": self.bins,
            "warn": self.warn,
            "alert": self.alert,
            "alpha": self.alpha,
            "p_threshold": self.p_threshold,
            "shifted": list(self.shifted),
            "churn_rate": None if self.churn_rate is None else self.churn_rate.to_dict(),
            "missing_columns": list(self.missing_columns),
            "extra_columns": list(self.extra_columns),
            "features": self.features.rename(columns={"feature": "name"}).to_dict(orient="records"),
        })


def psi(expected: Any, actual: Any, *, bins: int = 10) -> float:
    """Population Stability Index of one feature between ``expected`` (reference) and ``actual`` values.

    Both are array-likes (a Series, an array, a list). See the module docstring
    for the bins; ``bins`` is the number of quantile bins of a numeric feature.
    """
    _check_bins(bins, "psi")
    expected, actual = _as_series(expected), _as_series(actual)
    for name, values in (("expected", expected), ("actual", actual)):
        if len(values) == 0:
            raise ParameterError(f"The '{name}' parameter of psi must hold at least one value. Got an empty "
                                 "sequence instead.", code="bad_parameter", name=name, value=0)
    return _compare(expected, actual, bins)["psi"]


def drift_report(
    reference: Dataset | pd.DataFrame,
    current: Dataset | pd.DataFrame,
    *,
    roles: ColumnRoles | None = None,
    current_roles: ColumnRoles | None = None,
    bins: int = 10,
    warn: float = 0.1,
    alert: float = 0.25,
    alpha: float = ALPHA,
    columns: Iterable[str] | str | None = None,
) -> DriftReport:
    """Compare the distribution of each feature of ``current`` with ``reference``, and the churn rates.

    ``reference`` and ``current`` are Datasets or DataFrames. The roles (of the
    reference) come from ``roles``, else from ``reference.roles`` when it is a
    Dataset; with roles known, the target, the id and the ignored columns are
    not compared. ``columns`` names the features to compare instead (they must
    be reference columns; the exclusions do not apply to them).

    Status of a feature, from its PSI and its p-value (see the module docstring):

    - "stable": PSI < ``warn``;
    - "noise": PSI >= ``warn`` but p >= ``alpha`` / features compared, a PSI
      that sampling noise alone can give at these sizes;
    - "moderate": ``warn`` <= PSI < ``alert``, beyond noise;
    - "shifted": PSI >= ``alert``, beyond noise.

    The PSI defaults, 0.1 and 0.25, are the conventional rule of thumb from
    credit-scorecard monitoring (below 0.1 no significant change, 0.1 to 0.25 a
    moderate change worth a look, above 0.25 a significant shift). ``alpha``
    = 0.01 with the Bonferroni division keeps the chance that a report on a
    sample of the reference population flags anything at about 1% or less.

    The churn rate is compared when both tables hold the target: the
    reference's from ``roles``, the current table's from ``current_roles``,
    else ``current.roles`` when it is a Dataset, else the reference's (the same
    column name and the same value meaning churn). A target already coded 0/1
    is used as it is. ``churn_rate`` is None otherwise.

    Raises ParameterError for bad settings and SchemaError when no feature
    column is shared, a table has no rows, or ``columns`` names an unknown column.
    """
    _check_bins(bins, "drift_report")
    for name, value in (("warn", warn), ("alert", alert)):
        if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0 or math.isinf(value):
            raise ParameterError(f"The '{name}' parameter of drift_report must be a number of at least 0. "
                                 f"Got {value!r} instead.", code="bad_parameter", name=name, value=value)
    if warn >= alert:
        raise ParameterError(f"The 'warn' parameter of drift_report must be below 'alert' ({alert!r}). Got "
                             f"{warn!r} instead. Pass e.g. warn=0.1, alert=0.25.", code="bad_parameter",
                             name="warn", value=warn, alert=alert)
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ParameterError(f"The 'alpha' parameter of drift_report must be a number strictly between 0 and 1. "
                             f"Got {alpha!r} instead. Pass e.g. alpha=0.01.", code="bad_parameter",
                             name="alpha", value=alpha)
    if roles is None and isinstance(reference, Dataset):
        roles = reference.roles
    if current_roles is None:
        current_roles = current.roles if isinstance(current, Dataset) else roles
    ref, cur = _frame(reference, "reference"), _frame(current, "current")
    for side, frame in (("reference", ref), ("current", cur)):
        if len(frame) == 0:
            raise SchemaError(f"The {side} data has no rows, so its distribution cannot be compared. "
                              "Pass a table with at least one row.", code="no_rows", side=side)

    in_reference, in_current = set(ref.columns), set(cur.columns)
    if columns is None:
        excluded = _excluded(roles)
        candidates = [c for c in ref.columns if c not in excluded]
    else:
        candidates = list(dict.fromkeys([columns] if isinstance(columns, str) else columns))
        unknown = [c for c in candidates if c not in in_reference]
        if unknown:
            raise SchemaError(f"The 'columns' parameter of drift_report names columns that are not in the "
                              f"reference data: {unknown[:_LISTED]}. Received the columns "
                              f"{_names(ref.columns)}. Pick some of those.", code="column_missing",
                              column=unknown[0], columns=list(ref.columns)[:20])
    features = [c for c in candidates if c in in_current]
    if not features:
        raise SchemaError(
            f"The current data shares no feature columns with the reference data (reference columns: "
            f"{_names(candidates)}; current columns: {_names(cur.columns)}). Compare tables with the same "
            "kind of columns, or map the new file's columns on the Data page.",
            code="no_shared_columns", reference_columns=list(candidates)[:20],
            current_columns=list(cur.columns)[:20])
    missing = tuple(c for c in candidates if c not in in_current)
    extra = tuple(c for c in cur.columns if c not in in_reference)

    rows = [{"feature": c, **_compare(ref[c], cur[c], bins)} for c in features]
    table = pd.DataFrame(rows)
    table["status"] = _status(table["psi"].to_numpy(), table["p_value"].to_numpy(), warn=warn, alert=alert,
                              p_threshold=alpha / len(features))
    table = table[FEATURE_COLUMNS].sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
    churn = _churn_rate_change(ref, roles, cur, current_roles, alpha=float(alpha))
    report = DriftReport(features=table, missing_columns=missing, extra_columns=extra, reference_rows=len(ref),
                         current_rows=len(cur), bins=bins, warn=float(warn), alert=float(alert), alpha=float(alpha),
                         churn_rate=churn)
    logger.info("drift: %d features compared, %d shifted, %d missing, churn rate %s", len(table),
                len(report.shifted), len(missing),
                "not compared" if churn is None else f"{churn.reference:.4f} -> {churn.current:.4f}")
    return report


# -- computing ---------------------------------------------------------------------------------------

def _compare(reference: pd.Series, current: pd.Series, bins: int) -> dict[str, Any]:
    """PSI, p-value, kind, means and missing shares of one feature."""
    if pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference):
        if not pd.api.types.is_numeric_dtype(current):
            current = pd.to_numeric(current.astype("string").str.strip(), errors="coerce")
        ref = reference.to_numpy(dtype=float, na_value=np.nan)
        cur = current.to_numpy(dtype=float, na_value=np.nan)
        ref_counts, cur_counts, ref_mean, cur_mean = _numeric_counts(ref, cur, bins)
        kind = "numeric"
    else:
        ref_counts, cur_counts = _categorical_counts(reference, current)
        ref_mean = cur_mean = math.nan
        kind = "categorical"
    return {
        "kind": kind,
        "psi": _psi_from_counts(ref_counts, cur_counts),
        "p_value": _noise_p_value(ref_counts, cur_counts),
        "reference_mean": ref_mean,
        "current_mean": cur_mean,
        "reference_missing": float(ref_counts[-1] / len(reference)),
        "current_missing": float(cur_counts[-1] / len(current)),
    }


def _numeric_counts(ref: np.ndarray, cur: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Counts per quantile bin of the reference (last entry: missing), and the two means.

    Both samples are sorted once (NaN sorts last): the quantiles are then read off by index, and each
    bin count is a difference of two binary searches. That is faster than np.quantile plus binning.
    """
    ref_sorted, cur_sorted = np.sort(ref), np.sort(cur)
    ref_values, cur_values = _present(ref_sorted), _present(cur_sorted)
    edges = np.unique(_sorted_quantiles(ref_values, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = edges[np.isfinite(edges)]
    counts = []
    for values, n in ((ref_values, ref.size), (cur_values, cur.size)):
        at_or_below = np.searchsorted(values, edges, side="right")  # bins are (lower, upper]
        counts.append(np.diff(np.concatenate(([0], at_or_below, [values.size, n]))))
    return counts[0], counts[1], _mean(ref_values), _mean(cur_values)


def _present(sorted_values: np.ndarray) -> np.ndarray:
    """The non-missing part of a sorted array (NaN sorts after +inf)."""
    return sorted_values[: np.searchsorted(sorted_values, np.nan, side="left")]


def _sorted_quantiles(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile's default ("linear") quantiles of an already sorted array."""
    if values.size == 0:
        return np.empty(0)
    position = q * (values.size - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, values.size - 1)
    fraction = position - low
    with np.errstate(invalid="ignore"):  # inf - inf next to infinite values: such edges are NaN and dropped
        between = values[low] + (values[high] - values[low]) * fraction
    return np.where(fraction == 0, values[low], between)


def _mean(values: np.ndarray) -> float:
    if values.size == 0:
        return math.nan
    with np.errstate(invalid="ignore"):  # +inf and -inf together: the mean is NaN
        return float(values.mean())


def _categorical_counts(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts per reference level, then "other" (levels only in current), then missing."""
    ref_levels = ref.value_counts(dropna=True, sort=False)
    ref_levels = ref_levels[ref_levels > 0]
    cur_levels = cur.value_counts(dropna=True, sort=False)
    remaining = dict(zip(cur_levels.index.tolist(), cur_levels.to_numpy().tolist()))
    cur_known = [remaining.pop(level, 0) for level in ref_levels.index.tolist()]
    ref_counts = np.append(ref_levels.to_numpy(), [0, int(ref.isna().sum())])
    cur_counts = np.array([*cur_known, sum(remaining.values()), int(cur.isna().sum())])
    return ref_counts, cur_counts


def _psi_from_counts(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected / expected.sum(), EPSILON)
    a = np.maximum(actual / actual.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _noise_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """Chi-square p-value that both counts come from one distribution, sparse bins pooled first.

    A bin is sparse when fewer than one row of the smaller table would fall in it at the reference
    shares (deciding this from the reference alone keeps the test honest; deciding it from both
    tables makes p-values far too small for long-tailed columns). The sparse bins form one bin; if
    that expects fewer than one row of the smaller table at the combined shares, it joins the
    smallest other bin.
    """
    ref, cur = reference.astype(float), current.astype(float)
    n_ref, n_cur = ref.sum(), cur.sum()
    smaller = min(n_ref, n_cur)
    sparse = smaller * ref / n_ref < 1
    if sparse.any():
        pooled_ref, pooled_cur = ref[sparse].sum(), cur[sparse].sum()
        ref, cur = ref[~sparse], cur[~sparse]
        if smaller * (pooled_ref + pooled_cur) / (n_ref + n_cur) < 1 and ref.size:
            smallest = int(np.argmin(ref))
            ref[smallest] += pooled_ref
            cur[smallest] += pooled_cur
        else:
            ref, cur = np.append(ref, pooled_ref), np.append(cur, pooled_cur)
    return chi_square_homogeneity(ref, cur)[2]


def _status(psi_values: np.ndarray, p_values: np.ndarray, *, warn: float, alert: float,
            p_threshold: float) -> np.ndarray:
    """stable below ``warn``; noise when not significant; else moderate below ``alert``, shifted from it."""
    band = np.searchsorted([warn, alert], psi_values, side="right")  # 0 below warn, 1 below alert, 2 from alert
    status = np.array(["stable", "moderate", "shifted"], dtype=object)[band]
    status[(band > 0) & ~(p_values < p_threshold)] = "noise"
    return status


def _churn_rate_change(ref: pd.DataFrame, roles: ColumnRoles | None, cur: pd.DataFrame,
                       current_roles: ColumnRoles | None, *, alpha: float) -> ChurnRateChange | None:
    ref_flags, cur_flags = _churn_flags(ref, roles), _churn_flags(cur, current_roles)
    if ref_flags is None or cur_flags is None:
        return None
    k1, n1, k2, n2 = ref_flags.sum(), ref_flags.size, cur_flags.sum(), cur_flags.size
    p_value = float(chi_square_2x2(k1, n1, k2, n2)[1])
    return ChurnRateChange(reference=float(k1 / n1), current=float(k2 / n2), p_value=p_value, reference_rows=int(n1),
                           current_rows=int(n2), alpha=alpha)


def _churn_flags(frame: pd.DataFrame, roles: ColumnRoles | None) -> np.ndarray | None:
    """0/1 churn flags of the rows whose target is known, or None when there is no usable target.

    A numeric or boolean column holding only 0 and 1 is used as it is (a Dataset's target is coded so);
    other columns are coded with the roles' positive label.
    """
    if roles is None or roles.target is None or roles.target not in frame:
        return None
    column = frame[roles.target]
    flags = None
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        if np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
            flags = values
    if flags is None:
        if roles.positive_label is None:
            return None
        flags = target_codes(column, roles.positive_label)
    flags = flags[~np.isnan(flags)]
    return flags if flags.size else None


# -- inputs ------------------------------------------------------------------------------------------

def _check_bins(bins: Any, func: str) -> None:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise ParameterError(f"The 'bins' parameter of {func} must be a whole number. Got {bins!r} instead.",
                             code="bad_parameter", name="bins", value=bins)
    if bins < 2:
        raise ParameterError(f"The 'bins' parameter of {func} must be at least 2. Got {bins!r} instead.",
                             code="bad_parameter", name="bins", value=bins)


def _as_series(values: Any) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (np.ndarray, pd.Index, pd.api.extensions.ExtensionArray)):
        return pd.Series(values)
    return pd.Series(list(values))


def _frame(data: Dataset | pd.DataFrame, name: str) -> pd.DataFrame:
    frame = data.frame if isinstance(data, Dataset) else data
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"The '{name}' parameter of drift_report must be a Dataset or a DataFrame. Got "
                             f"{type(data).__name__} instead.", code="bad_parameter", name=name,
                             value=type(data).__name__)
    if frame.columns.duplicated().any():
        frame = frame.loc[:, ~frame.columns.duplicated()]  # a repeated name: compare its first column
    return frame


def _excluded(roles: ColumnRoles | None) -> set[str]:
    if roles is None:
        return set()
    return {c for c in (roles.target, roles.id) if c} | set(roles.ignored)


def _names(columns: Sequence[Any] | pd.Index) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:_LISTED]) + (", …" if len(names) > _LISTED else "") if names else "none"


def _json_ready(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
