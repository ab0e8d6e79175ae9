"""Return on a retention programme: the business case, model-driven targeting, sensitivity.

**The business case** (:func:`business_case`). Over a horizon of ``horizon_years``, the
programme saves ``customers × (baseline − target churn)`` customers a year (or, without a
target, ``retention_success × contacted``). Each saved customer keeps its lifetime value
(``ltv``, or ``annual_value × remaining_years``)::

    value retained = saved a year × years × LTV
    total cost     = investment + years × (annual cost + contact cost × contacted
                                           + incentive cost × accepting)
    net benefit    = value retained − total cost
    ROI            = net benefit / total cost

``accepting`` (customers who take the incentive) defaults to everyone contacted. ROI is the
published cases' figure (first-year ROI for a one-year horizon): a saved customer's whole LTV
counts in the year it is saved.

**Payback counts value as it arrives.** A saved customer's LTV is spread evenly over the
customer lifetime (``lifetime_years``; by default ``remaining_years`` when the LTV is given as
``annual_value × remaining_years``, else 5 years): LTV / (12 × lifetime) a month. Each year's
saves start paying at the start of that year; running costs are spent evenly and the
investment at month 0. Payback is the first moment within the horizon at which the cumulative
net benefit (:meth:`BusinessCase.cumulative`) reaches zero, interpolated within the month; None
when it does not within the horizon. With one cohort, no lifetime end and the investment up
front, that is investment / (saved × LTV / (12 × lifetime) − monthly running cost).

**Model-driven targeting** (:func:`profit_curve`, :func:`compare_strategies`) follows the
expected maximum profit framework of Verbraken, Verbeke & Baesens (2013): contacting a
churner who accepts the offer (share γ ~ Beta(α, β)) earns CLV − d − f, a churner who
declines costs f, and a loyal customer costs d + f (they take the incentive). The EMPC comes
from `empulse`; the curve is the same formula at the mean acceptance rate, evaluated at every
cut of the model's out-of-sample ranking. Profit is linear in γ, so the curve is each cut's
expected profit, and the profit-optimal cut is the curve's maximum (the cut with the highest
expected profit; ties go to the smallest contacted share). That is not EMPC's "optimal rate",
which is an average over γ of the cut that would be best if γ were known.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd

from .errors import ParameterError, SchemaError
from .i18n import check_language, format_amount, text

logger = logging.getLogger(__name__)

MONTHS = 12
DEFAULT_LIFETIME_YEARS = 5.0  # the published cases' customer lifetime


# -- helpers -----------------------------------------------------------------------------------------------

def _check(value, name: str, *, low: float | None = None, high: float | None = None, strict: bool = False,
           hint: str = "") -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bounds = f"{'(' if strict else '['}{low if low is not None else '-inf'}, " \
                 f"{high if high is not None else 'inf'}]"
        raise ParameterError(f"The '{name}' parameter must be a number in {bounds}. Got {value!r} instead.{hint}",
                             code="roi_bad_input", name=name, value=value)


def _clean(x: float) -> float:
    """Round away float noise (8000 × (0.145 − 0.098) is 375.99999999999994, not 376)."""
    return float(round(x, 6))


def _labels_scores(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or y.shape != s.shape or y.size == 0:
        raise ParameterError(f"Labels and scores must be two 1-D arrays of the same, non-zero length. Got shapes "
                             f"{y.shape} and {s.shape}.", code="bad_parameter", name="y_score", value=s.shape)
    if not np.isin(y, (0, 1)).all() or np.isnan(s).any():
        raise ParameterError("Labels must be 0/1 and scores must not be missing. Use out-of-sample predictions of "
                             "a labelled dataset.", code="bad_parameter", name="y_true", value="non-binary")
    y = y.astype(np.int64)
    if y.min() == y.max():
        raise SchemaError(f"Every customer in the sample has churn = {int(y[0])}, so no profit curve can be drawn. "
                          "Use predictions of a sample with both churners and stayers.", code="constant_target")
    return y, s


def _cumulative(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Churners and loyal customers contacted at each distinct score cut (riskiest first), from 0 to all."""
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s) - 1]  # last index of each tie group
    tp = np.r_[0, np.cumsum(y_sorted)[ends]].astype(float)
    fp = np.r_[0, ends + 1].astype(float) - tp
    cut = np.r_[np.inf, s_sorted[ends]]
    return tp, fp, cut


# -- the business case --------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CaseInputs:
    """The assumptions of a business case (annual rates; money in the data's currency)."""

    customers: int
    baseline_churn: float
    target_churn: float | None = None
    retention_success: float | None = None  # used when target_churn is None: saved = success × contacted
    ltv: float | None = None  # or annual_value × remaining_years
    annual_value: float | None = None
    remaining_years: float | None = None
    investment: float = 0.0
    annual_cost: float = 0.0
    contact_cost: float = 0.0
    incentive_cost: float = 0.0
    contacted: float = 0.0  # customers contacted a year
    accepting: float | None = None  # customers taking the incentive a year (default: everyone contacted)
    horizon_years: int = 1
    lifetime_years: float | None = None  # payback spreads the LTV over it (default: remaining_years, else 5)

    def __post_init__(self) -> None:
        _check(self.customers, "customers", low=1)
        _check(self.baseline_churn, "baseline_churn", low=0, high=1)
        for name in ("target_churn", "retention_success"):
            if getattr(self, name) is not None:
                _check(getattr(self, name), name, low=0, high=1)
        if self.target_churn is None and self.retention_success is None:
            raise ParameterError("A business case needs either 'target_churn' or 'retention_success' (with "
                                 "'contacted'). Got neither. Give the churn rate the programme aims for, or the "
                                 "share of contacted customers it keeps.", code="roi_no_target")
        if self.ltv is None and (self.annual_value is None or self.remaining_years is None):
            raise ParameterError("A business case needs the value of a customer: 'ltv', or 'annual_value' with "
                                 f"'remaining_years'. Got ltv={self.ltv!r}, annual_value={self.annual_value!r}, "
                                 f"remaining_years={self.remaining_years!r}.", code="roi_no_ltv")
        for name in ("ltv", "annual_value", "remaining_years", "investment", "annual_cost", "contact_cost",
                     "incentive_cost", "contacted", "accepting"):
            if getattr(self, name) is not None:
                _check(getattr(self, name), name, low=0)
        _check(self.horizon_years, "horizon_years", low=1, high=50)
        if self.lifetime_years is not None:
            _check(self.lifetime_years, "lifetime_years", low=0, strict=True,
                   hint=" Give the years a saved customer stays (payback spreads its value over them), e.g. 5.")
        if self.contacted > self.customers:
            raise ParameterError(f"The 'contacted' parameter ({self.contacted:,.0f}) is larger than the customer "
                                 f"base ({self.customers:,}). Contact at most every customer.",
                                 code="roi_too_many_contacts", contacted=int(self.contacted),
                                 customers=int(self.customers))

    @property
    def resolved_ltv(self) -> float:
        return float(self.ltv) if self.ltv is not None else float(self.annual_value * self.remaining_years)

    @property
    def resolved_lifetime_years(self) -> float:
        """The customer lifetime payback spreads the LTV over: given, else the remaining years the LTV
        was built from, else the published cases' 5 years."""
        if self.lifetime_years is not None:
            return float(self.lifetime_years)
        if self.ltv is None and self.remaining_years:
            return float(self.remaining_years)
        return DEFAULT_LIFETIME_YEARS

    @property
    def saved_per_year(self) -> float:
        if self.target_churn is not None:
            return self.customers * (self.baseline_churn - self.target_churn)
        return self.retention_success * self.contacted

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CaseInputs:
        """Inputs from a dict (a stored scenario, JSON); unknown keys are an error, so typos show."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParameterError(f"Unknown business-case inputs {unknown}. The inputs are {sorted(names)}.",
                                 code="roi_unknown_inputs", names=unknown)
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class BusinessCase:
    """What a retention programme saves, costs and returns over its horizon."""

    inputs: CaseInputs
    ltv: float
    target_churn: float
    churners_per_year: float  # at the baseline rate
    value_at_risk: float  # a year, at the baseline rate
    customers_saved: float  # over the horizon
    value_retained: float
    running_cost: float  # a year: annual cost plus contact and incentive costs
    total_cost: float
    net_benefit: float
    roi: float | None  # a fraction (16.9 = 1690%); None when nothing is spent
    payback_months: float | None  # None when the cumulative net benefit stays below zero over the horizon
    lifetime_years: float  # the customer lifetime the payback spreads each saved customer's LTV over

    def cumulative(self) -> pd.DataFrame:
        """Month by month over the horizon: value arrived (each saved customer's LTV spread over the
        lifetime), cost (the investment at month 0) and net. Value still to arrive after the horizon is
        not in it, so the last month's net is below ``net_benefit`` unless the lifetime has run out."""
        months = np.arange(self.inputs.horizon_years * MONTHS + 1, dtype=float)
        value, cost = _timeline(self, months)
        return pd.DataFrame({"month": months.astype(int), "value": value, "cost": cost, "net": value - cost})

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "inputs"}
        return {**out, "inputs": self.inputs.to_dict()}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in asdict(self).items() if k != "inputs"}])


def business_case(inputs: CaseInputs) -> BusinessCase:
    """Customers saved, value retained, cost, net benefit, ROI and payback of ``inputs``."""
    years = inputs.horizon_years
    ltv = inputs.resolved_ltv
    saved_year = _clean(inputs.saved_per_year)
    accepting = inputs.contacted if inputs.accepting is None else inputs.accepting
    running = inputs.annual_cost + inputs.contact_cost * inputs.contacted + inputs.incentive_cost * accepting
    value = _clean(saved_year * years * ltv)
    cost = _clean(inputs.investment + years * running)
    net = _clean(value - cost)
    target = inputs.target_churn if inputs.target_churn is not None \
        else inputs.baseline_churn - saved_year / inputs.customers
    churners = _clean(inputs.customers * inputs.baseline_churn)
    case = BusinessCase(inputs=inputs, ltv=ltv, target_churn=_clean(target), churners_per_year=churners,
                        value_at_risk=_clean(churners * ltv), customers_saved=_clean(saved_year * years),
                        value_retained=value, running_cost=_clean(running), total_cost=cost, net_benefit=net,
                        roi=_clean(net / cost) if cost > 0 else None, payback_months=None,
                        lifetime_years=inputs.resolved_lifetime_years)
    return replace(case, payback_months=_payback(case))


def _timeline(case: BusinessCase, months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value arrived, cost spent) by each of ``months``: each year's saves pay LTV / lifetime evenly from
    the start of that year for the lifetime; running costs are spent evenly, the investment at 0."""
    lifetime = case.lifetime_years * MONTHS
    per_month = case.customers_saved / case.inputs.horizon_years * case.ltv / lifetime
    value = sum(per_month * np.clip(months - year * MONTHS, 0.0, lifetime) for year in range(case.inputs.horizon_years))
    return value, case.inputs.investment + months * case.running_cost / MONTHS


def _payback(case: BusinessCase) -> float | None:
    """The first moment (in months) within the horizon at which the cumulative net benefit reaches zero.

    The net is linear between whole months and the moments a year's saves stop paying (their lifetime
    ends), so the crossing is interpolated exactly between those points. Nothing to pay back (no
    investment, and the first month does not go below zero) is 0.
    """
    horizon = case.inputs.horizon_years * MONTHS
    ends = [year * MONTHS + case.lifetime_years * MONTHS for year in range(case.inputs.horizon_years)]
    points = np.union1d(np.arange(horizon + 1, dtype=float), [e for e in ends if e < horizon])
    value, cost = _timeline(case, points)
    net = value - cost
    reached = net >= -1e-9 * max(float(cost.max()), 1.0)  # float noise at an exact crossing is zero
    if reached[0] and net[1] >= net[0]:
        return 0.0
    crossings = np.flatnonzero(~reached[:-1] & reached[1:])
    if crossings.size == 0:
        return None
    i = crossings[0]
    t0, t1 = points[i], points[i + 1]
    return _clean(t0 + (t1 - t0) * min(-net[i] / (net[i + 1] - net[i]), 1.0))


# -- sensitivity -------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Sensitivity:
    """Net benefit with each assumption moved down and up by ``change`` (a tornado), widest swing first."""

    base_net_benefit: float
    change: float
    table: pd.DataFrame  # assumption, low_input, high_input, net_low, net_high, swing

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


# Assumptions the tornado moves; churn_reduction stands for baseline − target (the programme's effect).
_SENSITIVE = ("customers", "churn_reduction", "retention_success", "ltv", "investment", "annual_cost",
              "contact_cost", "incentive_cost", "contacted")


def sensitivity(inputs: CaseInputs, *, change: float = 0.2) -> Sensitivity:
    """Net benefit under ±``change`` on each assumption that is set and not zero, holding the others."""
    _check(change, "change", low=0.01, high=0.9)
    base = business_case(inputs).net_benefit
    rows = []
    for name in _SENSITIVE:
        current = _current(inputs, name)
        if not current:
            continue
        nets = []
        for factor in (1 - change, 1 + change):
            try:
                nets.append(business_case(_moved(inputs, name, current * factor)).net_benefit)
            except ParameterError:  # e.g. more contacts than customers: that side cannot move
                nets.append(base)
        rows.append((name, current * (1 - change), current * (1 + change), nets[0], nets[1]))
    table = pd.DataFrame(rows, columns=["assumption", "low_input", "high_input", "net_low", "net_high"])
    table["swing"] = (table["net_high"] - table["net_low"]).abs()
    return Sensitivity(base, change, table.sort_values("swing", ascending=False, kind="stable")
                       .reset_index(drop=True))


def _current(inputs: CaseInputs, name: str) -> float | None:
    if name == "churn_reduction":
        return None if inputs.target_churn is None else inputs.baseline_churn - inputs.target_churn
    if name == "ltv":
        return inputs.resolved_ltv
    return getattr(inputs, name)


def _moved(inputs: CaseInputs, name: str, value: float) -> CaseInputs:
    if name == "churn_reduction":
        return replace(inputs, target_churn=min(max(inputs.baseline_churn - value, 0.0), 1.0))
    if name == "ltv":
        return replace(inputs, ltv=value)
    if name == "customers":
        value = max(int(round(value)), 1)
    if name == "retention_success":
        value = min(value, 1.0)
    return replace(inputs, **{name: value})


# -- model-driven targeting ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Economics:
    """A retention campaign's per-customer money and the acceptance rate γ ~ Beta(alpha, beta)."""

    clv: float = 200.0
    incentive_cost: float = 10.0
    contact_cost: float = 1.0
    alpha: float = 6.0
    beta: float = 14.0

    def __post_init__(self) -> None:
        _check(self.clv, "clv", low=0, strict=True)
        _check(self.incentive_cost, "incentive_cost", low=0)
        _check(self.contact_cost, "contact_cost", low=0)
        _check(self.alpha, "alpha", low=0, strict=True)
        _check(self.beta, "beta", low=0, strict=True)

    @property
    def acceptance(self) -> float:
        """The mean acceptance rate E[γ]."""
        return self.alpha / (self.alpha + self.beta)

    def acceptance_quantile(self, q: float) -> float:
        from scipy.stats import beta

        return float(beta.ppf(q, self.alpha, self.beta))

    def profit(self, churners: np.ndarray | float, loyal: np.ndarray | float, *, gamma: float | None = None):
        """Campaign profit of contacting ``churners`` would-be churners and ``loyal`` loyal customers."""
        g = self.acceptance if gamma is None else gamma
        return (g * (self.clv - self.incentive_cost) - self.contact_cost) * churners \
            - (self.incentive_cost + self.contact_cost) * loyal

    def empulse_parameters(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "clv": self.clv, "incentive_cost": self.incentive_cost,
                "contact_cost": self.contact_cost}

    @classmethod
    def with_acceptance(cls, mean: float, *, strength: float = 20.0, **money: float) -> Economics:
        """Economics whose γ has the given mean; ``strength`` = α + β (higher = more certain)."""
        _check(mean, "mean", low=0, high=1, strict=True)
        return cls(alpha=mean * strength, beta=(1 - mean) * strength, **money)


@dataclass(frozen=True, eq=False, kw_only=True)
class ProfitCurve:
    """Expected campaign profit against the share of customers contacted, riskiest first.

    Profit is per customer of the scored sample (multiply by a base size for totals) at the
    mean acceptance rate, with a band at the ``band`` quantiles of γ.
    """

    economics: Economics
    table: pd.DataFrame  # rate, threshold, churners, loyal, profit, profit_low, profit_high
    empc: float  # expected maximum profit per customer (empulse), a reported figure
    optimal_rate: float  # share to contact: the curve's maximum (the first, if several cuts tie)
    optimal_threshold: float  # contact scores at or above it (inf when contacting nobody pays best)
    n: int
    churn_rate: float
    band: tuple[float, float]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def best(self) -> pd.Series:
        """The profit-optimal point: the row of the highest profit, at ``optimal_rate``."""
        return self.table.iloc[int(self.table["profit"].to_numpy().argmax())]


@dataclass(frozen=True, eq=False)
class StrategyComparison:
    """Each strategy's contacts, churners reached, expected saves and profit, on the same customers."""

    economics: Economics
    customers: int  # the base the figures are scaled to
    table: pd.DataFrame  # strategy, rate, contacted, churners_reached, saved, value_retained, cost, profit,
    #                      profit_low, profit_high

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, strategy: str) -> pd.Series:
        return self.table.set_index("strategy").loc[strategy]


def _best_cut(tp: np.ndarray, fp: np.ndarray, economics: Economics) -> int:
    """Index of the cut with the highest expected profit; the first (fewest contacts) among ties."""
    return int(np.argmax(economics.profit(tp, fp)))


def profit_curve(y_true, y_score, *, economics: Economics = Economics(), points: int = 201,
                 band: tuple[float, float] = (0.05, 0.95)) -> ProfitCurve:
    """The expected profit curve of a ranking, its profit-optimal cut (the curve's maximum) and EMPC.

    ``y_true`` and ``y_score`` must be out-of-sample (holdout or cross-validated), or the curve flatters
    the model. ``points`` evenly spaced contact rates are kept for drawing, plus the profit-optimal cut,
    so the drawn curve's maximum is the best of every cut of the ranking.
    """
    from empulse.metrics import empc_score

    y, s = _labels_scores(y_true, y_score)
    tp, fp, cut = _cumulative(y, s)
    n = len(y)
    rates_all = (tp + fp) / n
    empc = float(empc_score(y, s, **economics.empulse_parameters()))
    best = _best_cut(tp, fp, economics)
    opt_rate, opt_threshold = float(rates_all[best]), float(cut[best])
    grid = np.union1d(np.linspace(0, 1, points), [opt_rate])
    idx = np.clip(np.searchsorted(rates_all, grid, side="left"), 0, len(rates_all) - 1)
    # The nearest achievable cut at or above each grid rate (ties in the scores move together).
    churners, loyal = tp[idx], fp[idx]
    g_low, g_high = (economics.acceptance_quantile(q) for q in band)
    table = pd.DataFrame({
        "rate": rates_all[idx], "threshold": cut[idx], "churners": churners / n, "loyal": loyal / n,
        "profit": economics.profit(churners, loyal) / n,
        "profit_low": economics.profit(churners, loyal, gamma=g_low) / n,
        "profit_high": economics.profit(churners, loyal, gamma=g_high) / n,
    }).drop_duplicates("rate").reset_index(drop=True)
    logger.info("profit curve over %d customers: EMPC %.4f, most profitable at rate %.3f", n, empc, opt_rate)
    return ProfitCurve(economics=economics, table=table, empc=empc, optimal_rate=opt_rate,
                       optimal_threshold=opt_threshold, n=n, churn_rate=float(y.mean()), band=band)


def max_profit(y_true, y_score, *, economics: Economics = Economics()) -> tuple[float, float]:
    """(MPC per customer, its contact rate) at the mean acceptance rate, from empulse."""
    from empulse.metrics import mpc_score

    y, s = _labels_scores(y_true, y_score)
    params = {k: v for k, v in economics.empulse_parameters().items() if k not in ("alpha", "beta")}
    params["accept_rate"] = economics.acceptance
    return float(mpc_score(y, s, **params)), float(mpc_score.optimal_rate(y, s, **params))


@dataclass(frozen=True, eq=False, kw_only=True)
class OutOfSample:
    """A model's predictions for customers it never trained on, with the rule-based baseline's picks."""

    run_id: int
    model: str
    y: np.ndarray
    score: np.ndarray
    rule_mask: np.ndarray | None  # customers matching ``min_rules`` or more segment rules
    min_rules: int
    churn_rate: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"y": self.y, "score": self.score,
                             "rules": self.rule_mask if self.rule_mask is not None else np.nan})


def out_of_sample(dataset, *, store, run_id: int, model: str, min_rules: int = 2) -> OutOfSample:
    """The holdout predictions a run stored for ``model`` (never its training fit), and which of those
    customers the segment rules of ``dataset`` (the run's dataset version) would contact."""
    from .analysis import segment_masks

    frame = store.load_predictions(run_id, model)
    if frame.empty:
        raise SchemaError(f"Run {run_id} stored no holdout predictions for '{model}', so its profit curve cannot be "
                          "drawn. Retrain the model on the Models page.", code="no_predictions", run=run_id,
                          model=model)
    rows = frame["row_index"].to_numpy()
    masks, _ = segment_masks(dataset)
    if rows.max() >= dataset.n_rows:
        raise SchemaError(f"Run {run_id}'s predictions point at row {int(rows.max())}, but the dataset has "
                          f"{dataset.n_rows:,} rows. Pass the dataset version the run was trained on.",
                          code="predictions_mismatch", run=run_id)
    rule_mask = masks.to_numpy()[rows].sum(axis=1) >= min_rules if masks.shape[1] >= min_rules else None
    y = frame["y"].to_numpy(dtype=np.int64)
    return OutOfSample(run_id=run_id, model=model, y=y, score=frame["proba"].to_numpy(dtype=float),
                       rule_mask=rule_mask, min_rules=min_rules,
                       churn_rate=float(y.mean()))


STRATEGIES = ("nobody", "everyone", "rules", "random", "top_k", "optimal")


def compare_strategies(y_true, y_score, *, economics: Economics = Economics(), top_k: float = 0.1,
                       rule_mask=None, customers: int | None = None, band: tuple[float, float] = (0.05, 0.95),
                       threshold: float | None = None) -> StrategyComparison:
    """Contact nobody, everyone, the rule-based list, a random share, the model's top ``top_k``, and the
    model's profit-optimal share, on the same customers; totals are scaled to ``customers``.

    ``rule_mask`` marks the customers the rule-based baseline contacts (for example those matching two
    or more segment rules); the rules row is left out without it. Random contacts the same share as the
    optimal cut and is reported at its expectation (a random share catches churners at the base rate).
    The optimal cut contacts everyone scoring at or above the threshold of the highest expected profit,
    the point :func:`profit_curve` marks (pass ``threshold``, e.g. that curve's ``optimal_threshold``,
    to skip computing it again).
    """
    _check(top_k, "top_k", low=0, high=1)
    y, s = _labels_scores(y_true, y_score)
    n = len(y)
    scale = (customers or n) / n
    order = np.argsort(-s, kind="stable")
    y_sorted = y[order]
    churners_total, loyal_total = float(y.sum()), float(n - y.sum())
    if threshold is None:
        tp, fp, cuts = _cumulative(y, s)
        threshold = float(cuts[_best_cut(tp, fp, economics)])
    cut = s >= threshold

    def top(rate: float) -> tuple[float, float]:
        k = int(round(rate * n))
        hit = float(y_sorted[:k].sum())
        return hit, k - hit

    picks = {"nobody": (0.0, 0.0), "everyone": (churners_total, loyal_total)}
    if rule_mask is not None:
        mask = np.asarray(rule_mask, dtype=bool)
        if mask.shape != y.shape:
            raise ParameterError(f"The 'rule_mask' has {mask.size:,} entries for {n:,} customers. Give one "
                                 "entry per customer, in the same order as the scores.",
                                 code="bad_parameter", name="rule_mask", value=mask.size)
        hit = float(y[mask].sum())
        picks["rules"] = (hit, float(mask.sum()) - hit)
    picks["random"] = (cut.mean() * churners_total, cut.mean() * loyal_total)
    picks["top_k"] = top(top_k)
    picks["optimal"] = (float(y[cut].sum()), float(cut.sum() - y[cut].sum()))
    g_low, g_high = (economics.acceptance_quantile(q) for q in band)
    rows = []
    for name, (hit, miss) in picks.items():
        saved = economics.acceptance * hit
        rows.append({
            "strategy": name, "rate": (hit + miss) / n, "contacted": (hit + miss) * scale,
            "churners_reached": hit * scale, "saved": saved * scale, "value_retained": saved * economics.clv * scale,
            "cost": (economics.contact_cost * (hit + miss) + economics.incentive_cost * (saved + miss)) * scale,
            "profit": economics.profit(hit, miss) * scale,
            "profit_low": economics.profit(hit, miss, gamma=g_low) * scale,
            "profit_high": economics.profit(hit, miss, gamma=g_high) * scale,
        })
    return StrategyComparison(economics, int(customers or n), pd.DataFrame(rows))


def targeting_inputs(comparison: StrategyComparison, *, strategy: str = "optimal", baseline_churn: float,
                     **case: float) -> CaseInputs:
    """Business-case inputs whose saves, contacts and incentive takers are those of one strategy.

    The incentive goes to everyone who accepts it: saved churners and contacted loyal customers.
    ``case`` holds the remaining inputs (investment, annual_cost, horizon_years...).
    """
    row = comparison.row(strategy)
    base = comparison.customers
    econ = comparison.economics
    loyal = row["contacted"] - row["churners_reached"]
    return CaseInputs(customers=base, baseline_churn=baseline_churn,
                      target_churn=min(max(baseline_churn - row["saved"] / base, 0.0), 1.0), ltv=econ.clv,
                      contact_cost=econ.contact_cost, incentive_cost=econ.incentive_cost,
                      contacted=float(row["contacted"]), accepting=float(row["saved"] + loyal), **case)


# -- plain words -------------------------------------------------------------------------------------------

def roi_note(case: BusinessCase, *, lang: str = "en") -> str:
    """What the ROI and the payback count, in a sentence: ROI as the published cases define it (a saved
    customer's whole LTV counted when saved), payback with the value spread over the lifetime."""
    check_language(lang)
    period = text("summary.period_one", lang=lang) if case.inputs.horizon_years == 1 else \
        text("summary.period_years", lang=lang, n=case.inputs.horizon_years)
    return text("summary.roi_note", lang=lang, period=period, lifetime=f"{case.lifetime_years:g}")


def summary_text(case: BusinessCase, *, lang: str = "en", currency: str = "") -> str:
    """The business case in two sentences and what its ROI and payback count, in English or Chinese."""
    check_language(lang)

    def money(x: float) -> str:
        return f"{currency}{format_amount(x, lang=lang)}"

    years = text("summary.one_year", lang=lang) if case.inputs.horizon_years == 1 else \
        text("summary.years", lang=lang, n=case.inputs.horizon_years)
    payback = text("summary.payback_never", lang=lang) if case.payback_months is None else \
        text("summary.payback_none", lang=lang) if case.payback_months == 0 else \
        text("summary.payback", lang=lang, m=f"{case.payback_months:.1f}")
    return text(
        "summary.case", lang=lang,
        customers=f"{case.inputs.customers:,}", churn=f"{case.inputs.baseline_churn:.1%}",
        churners=f"{case.churners_per_year:,.0f}", at_risk=money(case.value_at_risk),
        target=f"{case.target_churn:.1%}", saved=f"{case.customers_saved:,.0f}", value=money(case.value_retained),
        years=years, cost=money(case.total_cost), net=money(case.net_benefit),
        roi="–" if case.roi is None else f"{case.roi:.0%}", payback=payback) + \
        ("" if lang == "zh" else " ") + roi_note(case, lang=lang)


# -- which figures the model may drive ---------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ModelFit:
    """Whether the champion's out-of-sample predictions may drive a business case of the active dataset.

    ``reason`` is ``"fits"`` (the champion was trained on the active dataset: same version, or a version
    with the same file content), ``"no_champion"``, or ``"other_dataset"`` (its holdout customers are not
    the active data's, so its churner counts and profit curve would describe other customers).
    """

    usable: bool
    reason: str
    dataset_version: int  # the active version
    run_id: int | None = None
    model: str | None = None
    trained_on: int | None = None  # the dataset version the champion run was trained on


def model_fit(active, *, store, champion) -> ModelFit:
    """Whether ``champion`` (a store Champion, or None) may drive the figures of the ``active`` dataset
    version (a store DatasetVersion): only when its run was trained on that version or on one with the same
    sha256. Otherwise the case falls back to a target churn rate and the page says why."""
    if champion is None:
        return ModelFit(usable=False, reason="no_champion", dataset_version=active.version)
    trained_on = store.get_run(champion.run_id).dataset_version
    same = trained_on == active.version or any(
        v.version == trained_on and v.sha256 == active.sha256 for v in store.list_datasets().versions)
    return ModelFit(usable=same, reason="fits" if same else "other_dataset", dataset_version=active.version,
                    run_id=champion.run_id, model=champion.model,
                    trained_on=trained_on)


# -- presentable defaults ----------------------------------------------------------------------------------

# A programme's cost per customer, as a share of that customer's lifetime value, from the published
# 8,000-customer telecom case (PRESETS["telecom_8k"]): 1.5M invested once and 600k a year of running cost for
# 8,000 customers worth 100,000 each, i.e. 187.5 (0.1875% of the LTV) once and 75 (0.075%) a year per
# customer. (The 12,000-customer case is close: 0.167% and 0.1%.) Scaled by the LTV as well as the
# customers, because the cases' LTV is 100,000 and a data's own may be a few thousand: per customer alone,
# a small-value base would never pay the programme back. The ROI page seeds a new case from these rates, so
# it never starts from a free programme.
INVESTMENT_PER_CUSTOMER = 1_500_000 / (8_000 * 100_000)  # of one customer's LTV, once
ANNUAL_COST_PER_CUSTOMER = 600_000 / (8_000 * 100_000)  # of one customer's LTV, a year


def default_costs(customers: int, *, ltv: float) -> dict[str, float]:
    """The investment and annual running cost of a programme for ``customers`` customers worth ``ltv`` each,
    at the published case's rates (:data:`INVESTMENT_PER_CUSTOMER`, :data:`ANNUAL_COST_PER_CUSTOMER`, shares
    of the base's lifetime value), rounded to whole money."""
    _check(customers, "customers", low=1)
    _check(ltv, "ltv", low=0)
    base = customers * ltv
    return {"investment": float(round(base * INVESTMENT_PER_CUSTOMER)),
            "annual_cost": float(round(base * ANNUAL_COST_PER_CUSTOMER))}


# The published cases the tests reproduce (first-year figures).
PRESETS: dict[str, CaseInputs] = {
    "telecom_8k": CaseInputs(customers=8_000, baseline_churn=0.145, target_churn=0.098, ltv=100_000,
                             investment=1_500_000, annual_cost=600_000),
    "telecom_12k": CaseInputs(customers=12_000, baseline_churn=0.152, target_churn=0.091, ltv=100_000,
                              investment=2_000_000, annual_cost=1_200_000),
    "base_200k": CaseInputs(customers=200_000, baseline_churn=0.18, target_churn=0.12, ltv=4_000),
}

__all__ = ["DEFAULT_LIFETIME_YEARS", "PRESETS", "STRATEGIES", "BusinessCase", "CaseInputs", "Economics",
           "ProfitCurve", "Sensitivity", "StrategyComparison", "business_case", "compare_strategies", "max_profit",
           "profit_curve", "roi_note", "sensitivity", "summary_text", "targeting_inputs", "OutOfSample",
           "out_of_sample", "ModelFit", "model_fit", "INVESTMENT_PER_CUSTOMER", "ANNUAL_COST_PER_CUSTOMER",
           "default_costs"]
