"""Small vectorised statistics shared by the analysis: Wilson intervals and grouped rates."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

RATE_COLUMNS = ["customers", "churners", "churn_rate", "ci_low", "ci_high"]


def wilson_interval(churners, customers, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion; works on scalars and arrays.

    Where customers is 0 the bounds are NaN.
    """
    k = np.asarray(churners, dtype=float)
    n = np.asarray(customers, dtype=float)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)


def group_codes(keys) -> tuple[np.ndarray, list]:
    """Integer codes 0..k for the values of ``keys`` (sorted; categories keep their order) and the
    k+1 labels, the last being NaN for missing keys."""
    keys = pd.Series(keys) if not isinstance(keys, pd.Series) else keys
    if isinstance(keys.dtype, pd.CategoricalDtype):
        codes, uniques = keys.cat.codes.to_numpy(), list(keys.cat.categories)
    else:
        codes, uniques = pd.factorize(keys, sort=True, use_na_sentinel=True)
        uniques = list(uniques)
    return np.where(codes < 0, len(uniques), codes), [*uniques, np.nan]


def grouped_rates(y: pd.Series, keys, *, confidence: float = 0.95) -> pd.DataFrame:
    """customers, churners, churn_rate and the Wilson interval for each value of ``keys``,
    indexed by the value. ``keys`` is aligned with ``y``; missing keys form a last NaN group."""
    codes, labels = group_codes(keys)
    yv = np.asarray(y, dtype=float)
    customers = np.bincount(codes, minlength=len(labels))
    churners = np.bincount(codes, weights=yv, minlength=len(labels))
    seen = customers > 0
    table = pd.DataFrame({"customers": customers[seen], "churners": churners[seen].round()},
                         index=pd.Index([lab for lab, s in zip(labels, seen) if s], dtype=object))
    return add_rates(table, confidence=confidence)


def grouped_rates_2d(y: pd.Series, rows, columns, *, confidence: float = 0.95) -> pd.DataFrame:
    """Rates for every observed (row value, column value) pair, as columns row, column, ..."""
    row_codes, row_labels = group_codes(rows)
    col_codes, col_labels = group_codes(columns)
    width = len(col_labels)
    flat = row_codes * width + col_codes
    size = len(row_labels) * width
    customers = np.bincount(flat, minlength=size)
    churners = np.bincount(flat, weights=np.asarray(y, dtype=float), minlength=size)
    seen = np.flatnonzero(customers)
    table = pd.DataFrame({"row": [row_labels[i // width] for i in seen],
                          "column": [col_labels[i % width] for i in seen],
                          "customers": customers[seen], "churners": churners[seen].round()})
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
    # Survival function of chi-square with 1 dof: erfc(sqrt(x / 2)), exactly (scipy.stats costs ~1 s to import).
    return chi2, np.asarray(_ERFC(np.sqrt(chi2 / 2)), dtype=float)[()]


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def chi_square_homogeneity(counts_a, counts_b) -> tuple[float, int, float]:
    """Pearson's chi-square test that two count vectors over the same bins come from one distribution.

    Returns (chi-square, degrees of freedom, p-value). Bins empty on both sides are dropped and the
    degrees of freedom are the bins left minus one; with fewer than two bins left, or an empty side,
    nothing can differ and the result is (0.0, 0, 1.0).
    """
    a, b = np.asarray(counts_a, dtype=float), np.asarray(counts_b, dtype=float)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    dof = a.size - 1
    if dof < 1 or a.sum() == 0 or b.sum() == 0:
        return 0.0, max(dof, 0), 1.0
    share = (a + b) / (a.sum() + b.sum())
    expected_a, expected_b = a.sum() * share, b.sum() * share
    chi2 = float(np.sum((a - expected_a) ** 2 / expected_a) + np.sum((b - expected_b) ** 2 / expected_b))
    from scipy.special import gammaincc  # chi-square survival function; imported here, as it costs ~0.2 s

    return chi2, dof, float(gammaincc(dof / 2, chi2 / 2))
