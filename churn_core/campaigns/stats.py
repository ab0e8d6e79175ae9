"""The statistics of a retention campaign with a control group: rates, uplift and whether it can be seen.

A campaign contacts most of the customers it picks and holds a random control group back. Its
effect is the control group's churn rate minus the contacted group's churn rate (the *uplift*),
measured with an interval instead of assumed:

- :func:`wilson` / :func:`proportion`: one group's churn rate with its Wilson score interval;
- :func:`newcombe` / :func:`difference`: the difference of two rates with Newcombe's hybrid score
  interval (method 10 of Newcombe 1998), which keeps its coverage near the nominal level even for
  small groups and rates near 0 or 1, where the Wald interval fails;
- :func:`detectable_uplift` / :func:`sample_size_check`: before a campaign runs, the smallest drop in
  churn its group sizes can detect, so nobody reads noise from a 20-customer control group as effect.

Everything is plain numpy and the standard library (no scipy at import), and :func:`wilson` and
:func:`newcombe` are vectorised, so thousands of simulated campaigns take milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from statistics import NormalDist

import numpy as np
import pandas as pd

from churn_core.errors import ParameterError

__all__ = [
    "Interval",
    "SampleSizeCheck",
    "detectable_uplift",
    "difference",
    "newcombe",
    "proportion",
    "sample_size_check",
    "wilson",
]

MIN_ARM = 30
"""Fewer customers than this in either arm and a campaign's rates are too noisy to compare."""

MAX_RELATIVE = 0.5
"""A campaign that can only detect a drop of more than half the base churn rate is too small:
real retention calls save far less than that."""

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Interval:
    """An estimate with its ``level`` (95% by default) confidence interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns estimate, low, high and level."""
        return pd.DataFrame([{"estimate": self.estimate, "low": self.low, "high": self.high,
                              "level": self.level}])

    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly above or below zero (False when a bound is NaN)."""
        return bool(self.low > 0 or self.high < 0)

    def scaled(self, factor: float) -> Interval:
        """The estimate and bounds times ``factor`` (e.g. customers, to count churners saved).

        A negative factor swaps the bounds, so ``low <= high`` still holds."""
        low, high = self.low * factor, self.high * factor
        if factor < 0:
            low, high = high, low
        return Interval(self.estimate * factor, low, high, self.level)


@dataclass(frozen=True, kw_only=True)
class SampleSizeCheck:
    """Whether a campaign's arms are large enough to show its effect.

    ``detectable`` is the smallest absolute drop in churn rate (from ``base_rate`` in the control
    group) that the campaign detects with the given power (see :func:`detectable_uplift`),
    ``relative`` is that drop as a share of ``base_rate``. ``reason`` is ``""`` when the campaign is
    large enough, ``"arm_too_small"`` when an arm has fewer than 30 customers and
    ``"effect_too_large"`` when only a drop of more than half the base rate could be detected.
    """

    n_contact: int
    n_control: int
    base_rate: float
    detectable: float
    relative: float
    too_small: bool
    reason: str
    alpha: float = 0.05
    power: float = 0.8

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([{"n_contact": self.n_contact, "n_control": self.n_control,
                              "base_rate": self.base_rate, "detectable": self.detectable,
                              "relative": self.relative, "too_small": self.too_small,
                              "reason": self.reason, "alpha": self.alpha, "power": self.power}])


# -- intervals ------------------------------------------------------------------------------------

def wilson(k, n, *, level: float = 0.95):
    """The Wilson score interval ``(low, high)`` of the proportion ``k / n``.

    ``k`` and ``n`` are counts (scalars or arrays that broadcast together); the bounds are floats for
    scalar input and arrays otherwise. Where ``n`` is 0 both bounds are NaN. The bounds are clipped
    to [0, 1], so they are exactly 0 when ``k == 0`` and exactly 1 when ``k == n``.
    """
    _check_level(level, "wilson")
    k, n = _counts("wilson", ("k", k), ("n", n))
    low, high = _wilson(k, n, _z(level))
    return _out(low), _out(high)


def proportion(k: int, n: int, *, level: float = 0.95) -> Interval:
    """The rate ``k / n`` with its Wilson score interval (all NaN when ``n`` is 0)."""
    _check_level(level, "proportion")
    _check_scalar_count(k, "k", "proportion")
    _check_scalar_count(n, "n", "proportion")
    _counts("proportion", ("k", k), ("n", n))
    low, high = _wilson(np.float64(k), np.float64(n), _z(level))
    estimate = k / n if n else math.nan
    return Interval(float(estimate), float(low), float(high), level)


def newcombe(k1, n1, k2, n2, *, level: float = 0.95):
    """Newcombe's hybrid score interval for ``p1 - p2`` (method 10 of Newcombe, 1998).

    With ``(l1, u1)`` and ``(l2, u2)`` the Wilson intervals of ``p1 = k1 / n1`` and ``p2 = k2 / n2``
    (no continuity correction), the interval is::

        low  = (p1 - p2) - sqrt((p1 - l1)**2 + (u2 - p2)**2)
        high = (p1 - p2) + sqrt((u1 - p1)**2 + (p2 - l2)**2)

    Returns ``(estimate, low, high)``: floats for scalar input, arrays when any input is an array
    (they broadcast together). Where ``n1`` or ``n2`` is 0 all three are NaN. For a campaign's uplift
    pass the control group first: ``newcombe(churned_control, n_control, churned_contact, n_contact)``.
    """
    _check_level(level, "newcombe")
    k1, n1, k2, n2 = _counts("newcombe", ("k1", k1), ("n1", n1), ("k2", k2), ("n2", n2))
    z = _z(level)
    l1, u1 = _wilson(k1, n1, z)
    l2, u2 = _wilson(k2, n2, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    estimate = p1 - p2
    low = estimate - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = estimate + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _out(estimate), _out(low), _out(high)


def difference(k1: int, n1: int, k2: int, n2: int, *, level: float = 0.95) -> Interval:
    """``k1/n1 - k2/n2`` with Newcombe's hybrid score interval (see :func:`newcombe`).

    A campaign's uplift is ``difference(churned_control, n_control, churned_contact, n_contact)``:
    positive when the contacted customers churned less.
    """
    _check_level(level, "difference")
    for name, value in (("k1", k1), ("n1", n1), ("k2", k2), ("n2", n2)):
        _check_scalar_count(value, name, "difference")
    _counts("difference", ("k1", k1), ("n1", n1), ("k2", k2), ("n2", n2))
    estimate, low, high = newcombe(k1, n1, k2, n2, level=level)
    return Interval(float(estimate), float(low), float(high), level)


# -- sample size ----------------------------------------------------------------------------------

def detectable_uplift(n_contact: int, n_control: int, *, base_rate: float, alpha: float = 0.05,
                      power: float = 0.8) -> float:
    """The smallest absolute drop ``d`` in churn rate that the campaign detects with ``power``.

    The control group churns at ``base_rate`` and the contacted group at ``base_rate - d``. The test
    is the two-sided two-proportion z-test at level ``alpha``, whose statistic uses the *pooled*
    variance (under no effect both arms share the rate ``pbar = (n_contact * p1 + n_control * p0) /
    (n_contact + n_control)``); its power under the effect uses the *unpooled* variance (each arm its
    own rate), the standard normal approximation (Fleiss, *Statistical Methods for Rates and
    Proportions*, 1981)::

        se0 = sqrt(pbar * (1 - pbar) * (1/n_contact + 1/n_control))
        se1 = sqrt(p1 * (1 - p1) / n_contact + p0 * (1 - p0) / n_control)
        power(d) = Phi((d - z * se0) / se1) + Phi((-d - z * se0) / se1),   z = Phi^-1(1 - alpha/2)

    and ``d`` is found by bisection on ``(0, base_rate]`` to 1e-10. Returns NaN when an arm is empty.
    Churn cannot drop below 0, so when not even ``d = base_rate`` (everybody saved) reaches the power,
    the result is capped at ``base_rate``.
    """
    func = "detectable_uplift"
    _check_scalar_count(n_contact, "n_contact", func)
    _check_scalar_count(n_control, "n_control", func)
    _check_open_unit(base_rate, "base_rate", func, example="base_rate=0.25")
    _check_open_unit(alpha, "alpha", func, example="alpha=0.05")
    _check_open_unit(power, "power", func, example="power=0.8")
    if power <= alpha:
        raise ParameterError(f"The 'power' parameter of {func} must be greater than alpha ({alpha!r}): a "
                             f"test detects no effect at all with probability alpha. Got {power!r} "
                             "instead. Pass e.g. power=0.8.", code="bad_parameter", name="power", value=power)
    if n_contact == 0 or n_control == 0:
        return math.nan
    if _power(base_rate, n_contact, n_control, base_rate, alpha) < power:
        return float(base_rate)
    low, high = 0.0, float(base_rate)   # power(low) = alpha < power <= power(high)
    while high - low > 1e-10:
        mid = (low + high) / 2
        if _power(mid, n_contact, n_control, base_rate, alpha) < power:
            low = mid
        else:
            high = mid
    return high


def sample_size_check(n_contact: int, n_control: int, *, base_rate: float, alpha: float = 0.05,
                      power: float = 0.8) -> SampleSizeCheck:
    """Whether a campaign with these arms can show its effect (see :class:`SampleSizeCheck`).

    Too small when an arm has fewer than 30 customers (``"arm_too_small"``), or when the smallest
    detectable drop (:func:`detectable_uplift`) is more than half of ``base_rate``
    (``"effect_too_large"``): realistic retention calls save far less than that.
    """
    detectable = detectable_uplift(n_contact, n_control, base_rate=base_rate, alpha=alpha, power=power)
    relative = detectable / base_rate
    if min(n_contact, n_control) < MIN_ARM:
        reason = "arm_too_small"
    elif relative > MAX_RELATIVE:
        reason = "effect_too_large"
    else:
        reason = ""
    return SampleSizeCheck(n_contact=int(n_contact), n_control=int(n_control), base_rate=float(base_rate),
                           detectable=float(detectable), relative=float(relative), too_small=bool(reason),
                           reason=reason, alpha=float(alpha), power=float(power))


def _power(d: float, n1: int, n0: int, p0: float, alpha: float) -> float:
    """Power of the two-sided pooled z-test when arm 0 churns at p0 and arm 1 at p0 - d."""
    p1 = p0 - d
    pbar = (n1 * p1 + n0 * p0) / (n1 + n0)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    z = _NORMAL.inv_cdf(1 - alpha / 2)
    if se1 == 0:   # both rates at 0 or 1: the outcome is certain
        return 1.0 if d > 0 else alpha
    return _NORMAL.cdf((d - z * se0) / se1) + _NORMAL.cdf((-d - z * se0) / se1)


def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson bounds of k / n (checked float arrays), clipped to [0, 1]; exact at k = 0 and k = n."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    low = np.where((k == 0) & (n > 0), 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where((k == n) & (n > 0), 1.0, np.clip(center + half, 0.0, 1.0))
    return low, high


# -- checks ---------------------------------------------------------------------------------------

def _z(level: float) -> float:
    return _NORMAL.inv_cdf(0.5 + level / 2)


def _out(value: np.ndarray):
    """A float for a 0-d result, else the array."""
    return float(value) if np.ndim(value) == 0 else value


def _counts(func: str, *named) -> list[np.ndarray]:
    """The counts as float arrays, checked: numeric, not negative, and each k (the first of a pair)
    at most its n (the second)."""
    arrays = []
    for name, value in named:
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"The '{name}' parameter of {func} must be a count (a whole number of "
                                 f"customers). Got {value!r} instead.", code="bad_parameter", name=name,
                                 value=value) from None
        if np.any(array < 0):
            bad = float(array[array < 0].flat[0]) if array.ndim else float(array)
            raise ParameterError(f"The '{name}' parameter of {func} must be a count of at least 0. Got "
                                 f"{bad:g} instead. Pass the number of customers, e.g. {name}=120.",
                                 code="bad_parameter", name=name, value=bad)
        arrays.append(array)
    for (k_name, _), (n_name, _), k, n in zip(named[::2], named[1::2], arrays[::2], arrays[1::2]):
        over = np.broadcast_to(k > n, np.broadcast_shapes(k.shape, n.shape))
        if np.any(over):
            kb, nb = np.broadcast_arrays(k, n)
            bad_k, bad_n = float(kb[over].flat[0]), float(nb[over].flat[0])
            raise ParameterError(f"The '{k_name}' parameter of {func} counts customers out of '{n_name}', so it "
                                 f"must not exceed it. Got {k_name}={bad_k:g} with {n_name}={bad_n:g} instead. "
                                 f"Pass the churners first and the customers second, e.g. ({k_name}=30, "
                                 f"{n_name}=120).", code="bad_parameter", name=k_name, value=bad_k)
    return arrays


def _check_scalar_count(value, name: str, func: str) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 0:
        raise ParameterError(f"The '{name}' parameter of {func} must be a count: an integer of at least 0. "
                             f"Got {value!r} instead. Pass the number of customers, e.g. {name}=120.",
                             code="bad_parameter", name=name, value=value)


def _check_open_unit(value, name: str, func: str, *, example: str) -> None:
    if not isinstance(value, Real) or isinstance(value, bool) or not 0 < value < 1:
        raise ParameterError(f"The '{name}' parameter of {func} must be in (0, 1). Got {value!r} instead. "
                             f"Pass e.g. {example}.", code="bad_parameter", name=name, value=value)


def _check_level(level, func: str) -> None:
    _check_open_unit(level, "level", func, example="level=0.95")
