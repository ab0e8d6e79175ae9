"""Small vectorised statistics shared by the analysis: Wilson intervals and grouped rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

RATE_COLUMNS = ["customers", "churners", "churn_rate", "ci_low", "ci_high"]


def wilson_interval(churners, customers, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion; works on scalars and arrays.

    Where customers is 0 the bounds are NaN.
    """
    k = np.asarray(churners, dtype=float)
    n = np.asarray(customers, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return center - half, center + half


def grouped_rates(y: pd.Series, keys, *, confidence: float = 0.95, sort: bool = True) -> pd.DataFrame:
    """customers, churners, churn_rate and the Wilson interval for each value of ``keys``.

    ``keys`` is a Series (or array) aligned with ``y``; missing keys form their own group.
    """
    grouped = y.groupby(keys, observed=True, dropna=False, sort=sort)
    table = pd.DataFrame({"customers": grouped.size(), "churners": grouped.sum()})
    return add_rates(table, confidence=confidence)


def add_rates(table: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    table = table.astype({"customers": "int64", "churners": "int64"})
    table["churn_rate"] = table["churners"] / table["customers"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["churners"], table["customers"],
                                                        confidence=confidence)
    return table


def chi_square_2x2(k1, n1, k2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Pearson chi-square (1 dof) and its p-value for two proportions k1/n1 against k2/n2."""
    k1, n1, k2, n2 = (np.asarray(v, dtype=float) for v in (k1, n1, k2, n2))
    n = n1 + n2
    k = k1 + k2
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = n * (k1 * (n2 - k2) - k2 * (n1 - k1)) ** 2 / (n1 * n2 * k * (n - k))
    chi2 = np.nan_to_num(chi2, nan=0.0)
    return chi2, stats.chi2.sf(chi2, 1)
