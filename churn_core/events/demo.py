"""A seeded, synthetic dealer visit log of a car brand's after-sales business.

``generate_visits`` simulates ``n_customers`` vehicle owners over ``years`` years of
dealer visits ending on ``end`` and returns an :class:`AfterSalesDemo`: the visit log
(one row per visit) and the customer table (one row per vehicle). The log is drawn
from one ``numpy`` generator seeded with ``seed``, so the same arguments give the same
frames, row for row. The simulation steps through the log in 30-day periods and is
vectorised over customers (no loop over customers); 20,000 customers over 3 years
(about 150,000 visits) take about 0.2 s.

After the log's end (a retention campaign)
    ``extend_days`` runs the simulation on for that many days past ``end`` (30-day
    periods from ``end``), so an app can watch who comes back; the log up to ``end`` and
    the customer table stay the same byte for byte (the periods before ``end`` keep their
    boundaries and every draw after ``end`` comes from a second generator,
    ``default_rng([seed, 1])``). ``treated`` customers (ids such as ``"C000123"``) were
    called at ``end``: a :class:`CampaignEffect` scales their lapse hazard and wins back
    some of those who had already lapsed. After ``end`` every random number is drawn for
    every customer (one array of ``n_customers`` per draw) and picked, so one customer's
    numbers never depend on another's state: a treated run and its untreated
    counterfactual (same seed and ``extend_days``) differ by the treatment's effect alone,
    untreated customers' visits are the same in both, and with ``hazard_factor`` <= 1 a
    treated customer who visits without the call also visits with it.
    :mod:`churn_core.campaigns.demo` builds a campaign on this.

Customers
    ``purchase_date`` is uniform from four years before the log starts to 120 days
    before it ends, so about 4/7 of the owners bought before the log and the rest
    join during it. ``model`` is one of six (fictional) models with its own price
    level and warranty (3 years, 5 years for the ``EV`` models, as Chinese brands
    commonly offer); ``warranty_end`` is purchase date plus that warranty. ``region``
    is a Chinese province or municipality in pinyin.

Visits (``visit_type``)
    ``maintenance``: each owner has a usual service interval (lognormal around 165
    days, clipped to 100-240 days: "every 6 months or 10,000 km", varying with
    mileage); each service follows the last after that interval times a gamma noise
    (CV 0.2). New owners have their first service 60-120 days after purchase.
    ``repair``: Poisson, about 0.5 a year, rising with vehicle age; 12% fail the
    first-time fix (``first_time_fix`` False; worse at some owners' dealers) and bring
    a repeat repair 5-20 days later. ``parts`` (~0.4 a year) and ``accessories`` (~0.3,
    more in the first year). ``amount_cny`` is lognormal per type, scaled by the
    model's price level; repairs under warranty cost the owner little. About 1.5% of
    parts and accessories visits are returns with a negative amount.
    ``complaint`` is True on ~3% of visits, 25% after a failed fix. ``nps`` (0-10) is
    surveyed on ~40% of maintenance and repair visits; it depends on the owner's
    satisfaction and drops about 3 points with a failed fix and 3 with a complaint.
    ``first_time_fix`` is only set on repairs (missing elsewhere).

Churn mechanism (the signal a model should find)
    Each owner can *lapse*: stop visiting entirely from a day inside some period. An
    owner can only lapse after their first visit in the log, so every customer has at
    least one visit. The monthly lapse hazard is::

        h = H0 * exp(B_OVERDUE * overdue + B_FAIL * failed_fixes + B_DETRACTOR * detractor
                     + B_WARRANTY * past_warranty + B_COOLING * cooling)

    - ``overdue``: days since the last maintenance beyond the owner's usual interval,
      in intervals, clipped to 0-2 (the published cases: "overdue against their own
      gap" is the strongest early sign);
    - ``failed_fixes``: failed first-time fixes, decayed with a 12-month time
      constant, capped at 3 (repeated comebacks drive owners to independent shops);
    - ``detractor``: the last NPS answer in the past 365 days was 0-6;
    - ``past_warranty``: the warranty has ended (the hazard jumps once free repairs stop
      tying the owner to the dealer);
    - ``cooling``: the owner has begun to drift away. Cooling starts at a small monthly
      rate (raised by the same triggers) and then stretches the service interval by
      ``COOLING_STRETCH`` and halves the other visits, so *falling visit frequency and
      overdue maintenance come before the lapse*, as in the published cases.

    ``H0`` is set so that about 30% of the owners (25-35%) lapse within three years.
    Measured on the data alone (lapsed = no visit in the last 180 days), owners past
    warranty lapse about 2.2x as often as the rest, owners with a detractor NPS or a
    failed first-time fix about 1.8x, with two failed fixes about 2.2x (seed 7).
    The true lapse dates are returned in :attr:`AfterSalesDemo.lapses` (ground truth
    for checking a model; not a feature and not written with the CSV files).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core.errors import ParameterError

log = logging.getLogger(__name__)

VISIT_TYPES = ("maintenance", "repair", "parts", "accessories")

# name, share of sales, price level (scales amounts), warranty in years
MODELS = (
    ("Aurora S", 0.26, 0.8, 3),
    ("Aurora L", 0.22, 1.0, 3),
    ("Meridian SUV", 0.20, 1.3, 3),
    ("Meridian SUV Plus", 0.10, 1.6, 3),
    ("Spark EV", 0.14, 0.9, 5),
    ("Summit EV", 0.08, 1.4, 5),
)
REGIONS = (
    ("Guangdong", 0.15), ("Zhejiang", 0.11), ("Jiangsu", 0.11), ("Shanghai", 0.08),
    ("Beijing", 0.07), ("Shandong", 0.09), ("Sichuan", 0.08), ("Henan", 0.07),
    ("Hubei", 0.06), ("Fujian", 0.06), ("Hunan", 0.06), ("Chongqing", 0.06),
)

PERIOD_DAYS = 30
INTERVAL_MEDIAN_DAYS = 165
H0 = 0.0039            # monthly lapse hazard with every driver at zero
B_OVERDUE = 1.0        # per interval overdue (0-2)
B_FAIL = 1.0           # per decayed failed first-time fix (0-3)
B_DETRACTOR = 1.2      # last NPS in the past year was 0-6
B_WARRANTY = 0.8       # warranty has ended
B_COOLING = 1.3        # the owner has started drifting away
COOLING_BASE = 0.010   # monthly chance of starting to drift, before triggers
COOLING_STRETCH = 1.7  # service interval multiplier while drifting
FAIL_RATE = 0.12       # share of repairs that fail the first-time fix
FAIL_DECAY = float(np.exp(-PERIOD_DAYS / 365.0))

AMOUNT_MEDIAN = {"maintenance": 650.0, "repair": 1800.0, "parts": 380.0, "accessories": 520.0}
AMOUNT_SIGMA = {"maintenance": 0.35, "repair": 0.8, "parts": 0.7, "accessories": 0.8}


@dataclass(frozen=True)
class CampaignEffect:
    """What a retention call does to a treated customer from the log's ``end`` on.

    ``hazard_factor`` multiplies the customer's monthly lapse hazard (0.5 halves it); ``win_back`` is the chance
    that a treated customer who had already lapsed before ``end`` comes back: revived at ``end``, no longer
    drifting away, with the next service due 30-90 days later. Untreated customers are not affected.

    The defaults make a campaign on the 2,000 customers longest without a visit at 2026-09-30 (seed 7, 85% of
    the contact arm reached) lower the arm's no-visit rate in the next 240 days by about 12 points (intention
    to treat); on the 2,000 longest without a visit among those seen in the past year, by about 8 points.
    """

    hazard_factor: float = 0.5
    win_back: float = 0.15

    def __post_init__(self) -> None:
        for name, low, high in (("hazard_factor", 0.0, 10.0), ("win_back", 0.0, 1.0)):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
                    or not low <= float(value) <= high):
                raise ParameterError(
                    f"The '{name}' parameter of CampaignEffect must be a number in [{low:g}, {high:g}]. "
                    f"Got {value!r} instead.", code="bad_parameter", name=name, value=value)


@dataclass(frozen=True, kw_only=True)
class AfterSalesDemo:
    """The generated demo: ``visits`` (the event log), ``customers`` (one row per vehicle),
    ``lapses`` (ground truth: customer_id and lapse_date, the lapse in force at ``observed_end``, NaT for owners
    still visiting then), and the arguments it was made with. ``end`` is the log's end as asked; with
    ``extend_days`` the visits run on to ``observed_end`` (``end`` otherwise). ``won_back`` lists the treated
    customers who had lapsed before ``end`` and came back (empty without a treatment)."""

    visits: pd.DataFrame
    customers: pd.DataFrame
    lapses: pd.DataFrame
    seed: int
    start: date
    end: date
    observed_end: date
    won_back: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The visit log, one row per visit."""
        return self.visits


def _check(n_customers: int, years: int, seed: int, end: date, extend_days: int) -> None:
    for name, value, low in (("n_customers", n_customers, 1), ("years", years, 1), ("extend_days", extend_days, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ParameterError(
                f"The '{name}' parameter of generate_visits must be a whole number of at least {low}. "
                f"Got {value!r} instead.", code="bad_parameter", name=name, value=value)
    if years > 20:
        raise ParameterError(f"The 'years' parameter of generate_visits must be at most 20. Got {years!r} instead.",
                             code="bad_parameter", name="years", value=years)
    if extend_days > 3660:
        raise ParameterError(f"The 'extend_days' parameter of generate_visits must be at most 3660 (ten years). "
                             f"Got {extend_days!r} instead.", code="bad_parameter", name="extend_days",
                             value=extend_days)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"The 'seed' parameter of generate_visits must be an integer. Got {seed!r} instead.",
                             code="bad_parameter", name="seed", value=seed)
    if not isinstance(end, date):
        raise ParameterError(f"The 'end' parameter of generate_visits must be a date. Got {end!r} instead; "
                             "pass e.g. datetime.date(2026, 9, 30).", code="bad_parameter", name="end", value=end)


def _treated_mask(treated, n: int, extend_days: int) -> np.ndarray:
    """``treated`` (customer ids such as "C000123") as a boolean mask over the customers."""
    if isinstance(treated, (str, bytes)) or not hasattr(treated, "__iter__"):
        raise ParameterError(f"The 'treated' parameter of generate_visits must be a collection of customer ids "
                             f"such as ['C000123']. Got {treated!r} instead.", code="bad_parameter",
                             name="treated", value=treated)
    wanted = pd.Index(list(treated), dtype=object)
    mask = np.zeros(n, bool)
    if not len(wanted):
        return mask
    if extend_days == 0:
        raise ParameterError("The 'treated' parameter of generate_visits needs 'extend_days' above 0: a treatment "
                             "acts after the log's end. Got extend_days=0 instead.", code="bad_parameter",
                             name="extend_days", value=extend_days)
    where = pd.Index(_ids(np.arange(n))).get_indexer(wanted)
    if (where < 0).any():
        unknown = [str(x) for x in wanted[where < 0][:3]]
        raise ParameterError(f"The 'treated' parameter of generate_visits must list ids of the {n} generated "
                             f"customers (C000001 to {_ids(np.array([n - 1]))[0]}). Got unknown ids such as "
                             f"{unknown} instead.", code="bad_parameter", name="treated", value=unknown)
    mask[where] = True
    return mask


@dataclass(frozen=True)
class _Draws:
    """The random numbers of one phase of the simulation.

    ``coupled=False`` draws only as many numbers as there are customers concerned: the log's original stream,
    kept so that the history up to ``end`` stays the same byte for byte. ``coupled=True`` (after ``end``) draws
    one number per customer every time and picks the ones concerned, so customer i's numbers do not depend on
    anyone else's state and a treated run and its untreated counterfactual differ by the treatment alone.
    """

    rng: np.random.Generator
    n: int
    coupled: bool

    def every(self) -> np.ndarray:
        return self.rng.random(self.n)

    def random(self, idx: np.ndarray) -> np.ndarray:
        return self.rng.random(self.n)[idx] if self.coupled else self.rng.random(idx.size)

    def integers(self, low, high: int, idx: np.ndarray) -> np.ndarray:
        """``low``: a number, or one per customer (each below ``high``)."""
        if self.coupled:
            return self.rng.integers(low, high, self.n)[idx]
        return self.rng.integers(low if np.isscalar(low) else low[idx], high, idx.size)

    def uniform(self, low: float, high: float, idx: np.ndarray) -> np.ndarray:
        return self.rng.uniform(low, high, self.n)[idx] if self.coupled else self.rng.uniform(low, high, idx.size)

    def gamma(self, shape: float, scale: float, idx: np.ndarray) -> np.ndarray:
        return self.rng.gamma(shape, scale, self.n)[idx] if self.coupled else self.rng.gamma(shape, scale, idx.size)

    def normal(self, loc: float, scale: float, idx: np.ndarray) -> np.ndarray:
        return self.rng.normal(loc, scale, self.n)[idx] if self.coupled else self.rng.normal(loc, scale, idx.size)


@dataclass(eq=False)
class _Owners:
    """Per-customer traits (fixed) and the simulation state (updated in place); day numbers from the log start."""

    purchase: np.ndarray
    warranty_end: np.ndarray
    interval: np.ndarray
    satisfaction: np.ndarray
    dealer_fail: np.ndarray
    repair_rate: np.ndarray
    parts_rate: np.ndarray
    acc_rate: np.ndarray
    last_maint: np.ndarray
    next_maint: np.ndarray
    alive: np.ndarray
    lapse_day: np.ndarray
    had_visit: np.ndarray
    cooling: np.ndarray
    fails: np.ndarray
    last_detractor: np.ndarray


def _chunk(cust, day, vtype: str, **cols) -> dict[str, np.ndarray]:
    cust = np.asarray(cust, dtype=np.int64)
    return {"cust": cust, "day": np.asarray(day, dtype=np.int64), "vtype": vtype,
            "code": np.full(cust.size, VISIT_TYPES.index(vtype), dtype=np.int8), **cols}


def _simulate_period(o: _Owners, d: _Draws, a: int, b: int, *, horizon: int,
                     hazard_scale: np.ndarray | float = 1.0) -> list[dict[str, np.ndarray]]:
    """Simulate days ``a``..``b-1`` for every customer, update ``o`` and return the period's visits (chunks,
    one per visit kind; visits later than a lapse are filtered at the end). Visits on or after ``horizon`` do
    not update the state. With coupled draws every kind has a chunk, even an empty one, so the stream of draws
    has the same shape whatever happens."""
    chunks: list[dict[str, np.ndarray]] = []
    width = b - a
    # lapse hazard at the start of the period, from the state so far
    overdue = np.clip((a - o.last_maint) / o.interval - 1.0, 0.0, 2.0)
    detractor = (a - o.last_detractor) <= 365
    past_warranty = o.warranty_end <= a
    drive = (B_FAIL * np.minimum(o.fails, 3.0) + B_DETRACTOR * detractor + B_WARRANTY * past_warranty)
    hazard = H0 * width / PERIOD_DAYS * np.exp(B_OVERDUE * overdue + drive + B_COOLING * o.cooling) * hazard_scale
    lapsing = o.alive & o.had_visit & (d.every() < hazard)
    o.lapse_day[lapsing] = a + d.integers(0, width, np.flatnonzero(lapsing))
    o.alive &= ~lapsing
    start_cooling = o.alive & ~o.cooling & (d.every() < COOLING_BASE * np.exp(0.6 * drive))
    o.cooling |= start_cooling
    active = o.alive | lapsing
    owned = active & (o.purchase < b)

    # a service drawn before the log starts is due now
    behind = owned & (o.next_maint < a)
    o.next_maint[behind] = a + d.uniform(0, width, np.flatnonzero(behind))
    # maintenance due in this period (at most one: intervals exceed a period)
    due = owned & (o.next_maint < b) & (o.next_maint >= a)
    idx = np.flatnonzero(due)
    if idx.size or d.coupled:
        day = np.floor(o.next_maint[idx]).astype(np.int64)
        stretch = np.where(o.cooling[idx], COOLING_STRETCH, 1.0)
        o.last_maint[idx] = day
        o.next_maint[idx] = day + o.interval[idx] * stretch * d.gamma(25, 1 / 25, idx)
        chunks.append(_chunk(idx, day, "maintenance"))

    # other visits: Poisson counts (0 or 1 in practice) on a uniform day of the period
    age_years = np.maximum(a - o.purchase, 0) / 365.0
    slow = np.where(o.cooling, 0.5, 1.0)
    first_day = np.maximum(a, o.purchase + 1)
    for vtype, rate in (("repair", o.repair_rate * (0.6 + 0.25 * age_years)), ("parts", o.parts_rate),
                        ("accessories", o.acc_rate * np.where(age_years < 1, 3.0, 0.7))):
        hit = owned & (first_day < b) & (d.every() < rate * slow * width)
        idx = np.flatnonzero(hit)
        if not (idx.size or d.coupled):
            continue
        day = d.integers(np.minimum(first_day, b - 1), b, idx)
        if vtype != "repair":
            chunks.append(_chunk(idx, day, vtype))
            continue
        failed = d.random(idx) < o.dealer_fail[idx]
        chunks.append(_chunk(idx, day, "repair", failed=failed))
        fidx = idx[failed]
        again = day[failed] + d.integers(5, 21, fidx)
        chunks.append(_chunk(fidx, again, "repair", failed=d.random(fidx) < 2 * o.dealer_fail[fidx]))
    o.fails *= FAIL_DECAY
    # events of this period, in order, update fails / NPS state
    for c in chunks:
        _draw_survey(c, o, d)
        _update_state(c, o, horizon)
        if d.coupled:
            _draw_amount_noise(c, d)
    return chunks


def _draw_survey(c: dict[str, np.ndarray], o: _Owners, d: _Draws) -> None:
    """Complaints and NPS answers, drawn as the visits happen so that the state sees them."""
    cust = c["cust"]
    m = cust.size
    failed = c.get("failed", np.zeros(m, bool))
    complaint = d.random(cust) < np.where(failed, 0.25, 0.03)
    surveyed = (c["vtype"] in ("maintenance", "repair")) & (d.random(cust) < 0.4)
    score = np.clip(np.round(8.6 + o.satisfaction[cust] + d.normal(0, 1.2, cust)
                             - 3.0 * failed - 3.0 * complaint), 0, 10)
    c["complaint"] = complaint
    c["nps"] = np.where(surveyed, score, np.nan)
    c["score"] = score  # the answer, whether or not it was asked


def _update_state(c: dict[str, np.ndarray], o: _Owners, horizon: int) -> None:
    keep = (c["day"] < o.lapse_day[c["cust"]]) & (c["day"] < horizon)
    o.had_visit[c["cust"][keep]] = True
    if "failed" in c:
        np.add.at(o.fails, c["cust"][keep & c["failed"]], 1.0)
    det = keep & ~np.isnan(c["nps"]) & (c["score"] <= 6)
    np.maximum.at(o.last_detractor, c["cust"][det], c["day"][det].astype(float))


def _draw_amount_noise(c: dict[str, np.ndarray], d: _Draws) -> None:
    """The random parts of each visit's amount (see :func:`_amounts`), drawn per visit."""
    cust = c["cust"]
    c["z"] = d.normal(0.0, 1.0, cust)
    c["cover"] = d.uniform(0.0, 0.15, cust)
    c["major_u"] = d.random(cust)
    c["return_u"] = d.random(cust)


def _amounts(code, cust, day, o: _Owners, price, *, z, cover, major_u, return_u) -> np.ndarray:
    """Amount in CNY: lognormal per visit type scaled by the model's price level; repairs under warranty cost
    ``cover`` (0-15%) of it, 35% of services are major (x1.8), 1.5% of parts and accessories are returns."""
    median = np.array([AMOUNT_MEDIAN[t] for t in VISIT_TYPES])
    sigma = np.array([AMOUNT_SIGMA[t] for t in VISIT_TYPES])
    amount = median[code] * price[cust] * np.exp(sigma[code] * z)
    covered = (code == 1) & (day <= o.warranty_end[cust])
    amount[covered] *= cover[covered]
    amount[(code == 0) & (major_u < 0.35)] *= 1.8
    amount[np.isin(code, (2, 3)) & (return_u < 0.015)] *= -1
    return np.round(amount, 2)


_COLS = ("cust", "day", "code", "failed", "complaint", "nps", "score")


def _stack(chunks: list[dict[str, np.ndarray]], cols=_COLS) -> dict[str, np.ndarray]:
    out = {}
    for col in cols:
        parts = [c[col] if col in c else np.zeros(c["cust"].size, bool) for c in chunks]
        out[col] = np.concatenate(parts) if parts else np.zeros(0)
    return out


def _take(frame: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[keep] for k, v in frame.items()}


def generate_visits(n_customers: int = 20_000, *, years: int = 3, seed: int = 7,
                    end: date = date(2026, 9, 30), extend_days: int = 0, treated=(),
                    effect: CampaignEffect | None = None) -> AfterSalesDemo:
    """Simulate a dealer visit log; see the module docstring for the mechanism.

    ``extend_days`` runs the simulation on past ``end`` (the visits then end on ``end + extend_days``, see
    ``observed_end``) without changing anything up to ``end``. ``treated`` lists customer ids (e.g.
    ``"C000123"``) called by a retention campaign at ``end``; ``effect`` (default :class:`CampaignEffect`) says
    what the call does to them.
    """
    _check(n_customers, years, seed, end, extend_days)
    if effect is None:
        effect = CampaignEffect()
    elif not isinstance(effect, CampaignEffect):
        raise ParameterError(f"The 'effect' parameter of generate_visits must be a CampaignEffect or None. "
                             f"Got {effect!r} instead.", code="bad_parameter", name="effect", value=repr(effect))
    if isinstance(end, datetime):
        end = end.date()
    n = int(n_customers)
    extend_days = int(extend_days)
    is_treated = _treated_mask(treated, n, extend_days)
    rng = np.random.default_rng(seed)
    span = int(round(365.25 * years))
    horizon = span + extend_days
    start = end - timedelta(days=span - 1)  # days 0..span-1 are in the log

    # --- customers (day numbers are relative to start) -------------------------------------
    purchase = rng.integers(-4 * 365, span - 120, size=n)
    model_idx = rng.choice(len(MODELS), size=n, p=[m[1] for m in MODELS])
    price = np.array([m[2] for m in MODELS])[model_idx]
    warranty_years = np.array([m[3] for m in MODELS])[model_idx]
    region_p = np.array([r[1] for r in REGIONS])
    region_idx = rng.choice(len(REGIONS), size=n, p=region_p / region_p.sum())
    purchase_dates = pd.Timestamp(start) + pd.to_timedelta(purchase, unit="D")
    warranty_dates = purchase_dates + pd.to_timedelta(np.round(warranty_years * 365.25).astype(int), unit="D")
    warranty_end = (warranty_dates - pd.Timestamp(start)).days.to_numpy()

    interval = np.clip(rng.lognormal(np.log(INTERVAL_MEDIAN_DAYS), 0.2, n), 100, 240)
    satisfaction = rng.normal(0.0, 1.3, n)            # shifts NPS
    dealer_fail = FAIL_RATE * rng.lognormal(0.0, 0.4, n)  # some dealers fix worse
    repair_rate = 0.5 / 365 * rng.lognormal(0.0, 0.4, n)
    parts_rate = 0.4 / 365 * rng.lognormal(0.0, 0.5, n)
    acc_rate = 0.3 / 365 * rng.lognormal(0.0, 0.6, n)

    # --- state ------------------------------------------------------------------------------
    old = purchase < 0
    last_maint = np.where(old, -rng.uniform(0, 1, n) * interval, purchase).astype(float)
    next_maint = np.where(old, last_maint + interval * rng.gamma(25, 1 / 25, n),
                          purchase + rng.uniform(60, 120, n))
    o = _Owners(purchase=purchase, warranty_end=warranty_end, interval=interval, satisfaction=satisfaction,
                dealer_fail=dealer_fail, repair_rate=repair_rate, parts_rate=parts_rate, acc_rate=acc_rate,
                last_maint=last_maint, next_maint=next_maint, alive=np.ones(n, bool),
                lapse_day=np.full(n, np.iinfo(np.int64).max, dtype=np.int64), had_visit=np.zeros(n, bool),
                cooling=np.zeros(n, bool), fails=np.zeros(n), last_detractor=np.full(n, -10_000.0))

    # --- the log up to end: the original stream, unchanged by extend_days --------------------
    logged = _Draws(rng, n, coupled=False)
    chunks: list[dict[str, np.ndarray]] = []
    for a in range(0, span, PERIOD_DAYS):
        chunks += _simulate_period(o, logged, a, min(a + PERIOD_DAYS, span), horizon=span)
    lapse_at_end = o.lapse_day.copy()

    before = _stack(chunks)
    keep = (before["day"] < lapse_at_end[before["cust"]]) & (before["day"] < span) \
        & (before["day"] > purchase[before["cust"]])
    pre = _take(before, keep)
    m = pre["cust"].size
    covered = (pre["code"] == 1) & (pre["day"] <= warranty_end[pre["cust"]])
    z = rng.standard_normal(m)
    cover = np.ones(m)
    cover[covered] = rng.uniform(0.0, 0.15, covered.sum())
    pre["amount"] = _amounts(pre["code"], pre["cust"], pre["day"], o, price, z=z, cover=cover,
                             major_u=rng.random(m), return_u=rng.random(m))
    parts = [pre]

    # --- after end: a separate, coupled stream -----------------------------------------------
    won_back = np.zeros(n, bool)
    if extend_days:
        after = _Draws(np.random.default_rng([seed, 1]), n, coupled=True)
        # repeat repairs booked before end for a day after it
        carried = _take(before, (before["day"] >= span) & (before["day"] < lapse_at_end[before["cust"]]))
        _update_state(carried, o, horizon)
        carried_rng = np.random.default_rng([seed, 1, 1])  # the same visits in every run: no coupling needed
        k = carried["cust"].size
        carried["amount"] = _amounts(carried["code"], carried["cust"], carried["day"], o, price,
                                     z=carried_rng.standard_normal(k), cover=carried_rng.uniform(0.0, 0.15, k),
                                     major_u=carried_rng.random(k), return_u=carried_rng.random(k))
        # the call wins back some treated owners who had lapsed: revived at end, due for a service soon
        u_win, due_in = after.every(), after.rng.uniform(30, 90, n)
        won_back = is_treated & ~o.alive & (u_win < effect.win_back)
        o.alive |= won_back
        o.lapse_day[won_back] = np.iinfo(np.int64).max
        o.cooling[won_back] = False
        o.next_maint[won_back] = span + due_in[won_back]
        o.last_maint[won_back] = o.next_maint[won_back] - o.interval[won_back]
        scale = np.where(is_treated, effect.hazard_factor, 1.0)
        post_chunks: list[dict[str, np.ndarray]] = []
        for a in range(span, horizon, PERIOD_DAYS):
            post_chunks += _simulate_period(o, after, a, min(a + PERIOD_DAYS, horizon), horizon=horizon,
                                            hazard_scale=scale)
        post = _stack(post_chunks, _COLS + ("z", "cover", "major_u", "return_u"))
        post["amount"] = _amounts(post["code"], post["cust"], post["day"], o, price, z=post.pop("z"),
                                  cover=post.pop("cover"), major_u=post.pop("major_u"),
                                  return_u=post.pop("return_u"))
        later = {k: np.concatenate([carried[k], post[k]]) for k in pre}
        parts.append(_take(later, (later["day"] < horizon) & (later["day"] < o.lapse_day[later["cust"]])))

    # --- assemble ---------------------------------------------------------------------------
    v = {k: np.concatenate([p[k] for p in parts]) for k in pre}
    cust, day, code = v["cust"], v["day"], v["code"].astype(np.int8)
    is_repair = code == 1
    order = np.lexsort((code, day, cust))
    nps = v["nps"][order]
    visits = pd.DataFrame({
        "customer_id": pd.array(_ids(cust[order]), dtype="string"),
        "visit_date": pd.Timestamp(start) + pd.to_timedelta(day[order], unit="D"),
        "visit_type": pd.Categorical.from_codes(code[order], list(VISIT_TYPES)),
        "amount_cny": v["amount"][order],
        "complaint": v["complaint"][order].astype(bool),
        "nps": pd.array(np.where(np.isnan(nps), pd.NA, nps), dtype="Int8"),
        "first_time_fix": pd.array(np.where(is_repair[order], ~v["failed"][order].astype(bool), pd.NA),
                                   dtype="boolean"),
    })
    customers = pd.DataFrame({
        "customer_id": pd.array(_ids(np.arange(n)), dtype="string"),
        "purchase_date": purchase_dates,
        "model": pd.Categorical.from_codes(model_idx, [m[0] for m in MODELS]),
        "region": pd.Categorical.from_codes(region_idx, [r[0] for r in REGIONS]),
        "warranty_end": warranty_dates,
    })
    lapsed = o.lapse_day < horizon
    lapses = pd.DataFrame({
        "customer_id": customers["customer_id"],
        "lapse_date": pd.Series(pd.Timestamp(start) + pd.to_timedelta(np.where(lapsed, o.lapse_day, 0), unit="D"))
        .where(lapsed),
    })
    log.info("after-sales demo: %d customers, %d visits, %.1f%% lapse (seed %d, %d days past the end, "
             "%d treated, %d won back)", n, len(visits), 100 * lapsed.mean(), seed, extend_days,
             is_treated.sum(), won_back.sum())
    return AfterSalesDemo(visits=visits, customers=customers, lapses=lapses, seed=int(seed), start=start, end=end,
                          observed_end=end + timedelta(days=extend_days),
                          won_back=tuple(_ids(np.flatnonzero(won_back)).tolist()))


def _ids(index: np.ndarray) -> np.ndarray:
    if not index.size:
        return np.array([], dtype=str)
    return np.char.add("C", np.char.zfill((index + 1).astype(str), 6))


# -- the committed demo files ------------------------------------------------------------------------------

_DATA = Path(__file__).resolve().parents[2] / "data"
BUNDLED_VISITS = _DATA / "aftersales_visits.csv.gz"
BUNDLED_CUSTOMERS = _DATA / "aftersales_customers.csv.gz"
BUNDLED_NAME = "aftersales_demo"


def bundled_aftersales(*, window=None):
    """The committed after-sales demo (``data/aftersales_visits.csv.gz`` with its customer table) as an
    :class:`~churn_core.events.dataset.EventDataset` named ``aftersales_demo``; ``window`` defaults to the
    suggested one (:func:`~churn_core.events.labels.suggest_window`). Its amounts are CNY."""
    from .dataset import event_dataset
    from .log import read_events

    log_ = read_events(BUNDLED_VISITS, customers=BUNDLED_CUSTOMERS)
    return event_dataset(log_, window=window, name=BUNDLED_NAME)
