"""A seeded, synthetic dealer visit log of a car brand's after-sales business.

``generate_visits`` simulates ``n_customers`` vehicle owners over ``years`` years of
dealer visits ending on ``end`` and returns an :class:`AfterSalesDemo`: the visit log
(one row per visit) and the customer table (one row per vehicle). Everything is drawn
from one ``numpy`` generator seeded with ``seed``, so the same arguments give the same
frames, row for row. The simulation steps through the log in 30-day periods and is
vectorised over customers (no loop over customers); 20,000 customers over 3 years
(about 150,000 visits) take about 0.2 s.

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


@dataclass(frozen=True, kw_only=True)
class AfterSalesDemo:
    """The generated demo: ``visits`` (the event log), ``customers`` (one row per vehicle),
    ``lapses`` (ground truth: customer_id and lapse_date, NaT for owners who never lapse),
    and the arguments it was made with."""

    visits: pd.DataFrame
    customers: pd.DataFrame
    lapses: pd.DataFrame
    seed: int
    start: date
    end: date

    def to_frame(self) -> pd.DataFrame:
        """The visit log, one row per visit."""
        return self.visits


def _check(n_customers: int, years: int, seed: int, end: date) -> None:
    for name, value, low in (("n_customers", n_customers, 1), ("years", years, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ParameterError(
                f"The '{name}' parameter of generate_visits must be a whole number of at least {low}. "
                f"Got {value!r} instead.", code="bad_parameter", name=name, value=value)
    if years > 20:
        raise ParameterError(f"The 'years' parameter of generate_visits must be at most 20. Got {years!r} instead.",
                             code="bad_parameter", name="years", value=years)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"The 'seed' parameter of generate_visits must be an integer. Got {seed!r} instead.",
                             code="bad_parameter", name="seed", value=seed)
    if not isinstance(end, date):
        raise ParameterError(f"The 'end' parameter of generate_visits must be a date. Got {end!r} instead; "
                             "pass e.g. datetime.date(2026, 9, 30).", code="bad_parameter", name="end", value=end)


def generate_visits(n_customers: int = 20_000, *, years: int = 3, seed: int = 7,
                    end: date = date(2026, 9, 30)) -> AfterSalesDemo:
    """Simulate a dealer visit log; see the module docstring for the mechanism."""
    _check(n_customers, years, seed, end)
    if isinstance(end, datetime):
        end = end.date()
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    span = int(round(365.25 * years))
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
    alive = np.ones(n, bool)
    lapse_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    had_visit = np.zeros(n, bool)
    cooling = np.zeros(n, bool)
    fails = np.zeros(n)
    last_detractor = np.full(n, -10_000.0)

    chunks: list[dict[str, np.ndarray]] = []

    def add(cust, day, vtype, **cols):
        chunks.append({"cust": cust, "day": np.asarray(day, dtype=np.int64), "vtype": vtype,
                       "code": np.full(len(cust), VISIT_TYPES.index(vtype), dtype=np.int8), **cols})

    for a in range(0, span, PERIOD_DAYS):
        b = min(a + PERIOD_DAYS, span)
        done = len(chunks)  # the visits of earlier periods
        width = b - a
        # lapse hazard at the start of the period, from the state so far
        overdue = np.clip((a - last_maint) / interval - 1.0, 0.0, 2.0)
        detractor = (a - last_detractor) <= 365
        past_warranty = warranty_end <= a
        drive = (B_FAIL * np.minimum(fails, 3.0) + B_DETRACTOR * detractor + B_WARRANTY * past_warranty)
        hazard = H0 * width / PERIOD_DAYS * np.exp(B_OVERDUE * overdue + drive + B_COOLING * cooling)
        lapsing = alive & had_visit & (rng.random(n) < hazard)
        lapse_day[lapsing] = a + rng.integers(0, width, lapsing.sum())
        alive &= ~lapsing
        start_cooling = alive & ~cooling & (rng.random(n) < COOLING_BASE * np.exp(0.6 * drive))
        cooling |= start_cooling
        active = alive | lapsing
        owned = active & (purchase < b)

        # a service drawn before the log starts is due now
        behind = owned & (next_maint < a)
        next_maint[behind] = a + rng.uniform(0, width, behind.sum())
        # maintenance due in this period (at most one: intervals exceed a period)
        due = owned & (next_maint < b) & (next_maint >= a)
        idx = np.flatnonzero(due)
        if idx.size:
            day = np.floor(next_maint[idx]).astype(np.int64)
            stretch = np.where(cooling[idx], COOLING_STRETCH, 1.0)
            last_maint[idx] = day
            next_maint[idx] = day + interval[idx] * stretch * rng.gamma(25, 1 / 25, idx.size)
            add(idx, day, "maintenance")

        # other visits: Poisson counts (0 or 1 in practice) on a uniform day of the period
        age_years = np.maximum(a - purchase, 0) / 365.0
        slow = np.where(cooling, 0.5, 1.0)
        first_day = np.maximum(a, purchase + 1)
        for vtype, rate in (("repair", repair_rate * (0.6 + 0.25 * age_years)),
                            ("parts", parts_rate), ("accessories", acc_rate * np.where(age_years < 1, 3.0, 0.7))):
            hit = owned & (first_day < b) & (rng.random(n) < rate * slow * width)
            idx = np.flatnonzero(hit)
            if not idx.size:
                continue
            day = rng.integers(first_day[idx], b)
            if vtype != "repair":
                add(idx, day, vtype)
                continue
            failed = rng.random(idx.size) < dealer_fail[idx]
            add(idx, day, "repair", failed=failed)
            fidx = idx[failed]
            again = day[failed] + rng.integers(5, 21, fidx.size)
            add(fidx, again, "repair", failed=rng.random(fidx.size) < 2 * dealer_fail[fidx])
        fails *= FAIL_DECAY
        # events of this period, in order, update fails / NPS state
        for c in chunks[done:]:
            keep = (c["day"] < lapse_day[c["cust"]]) & (c["day"] < span)
            had_visit[c["cust"][keep]] = True
            if "failed" in c:
                np.add.at(fails, c["cust"][keep & c["failed"]], 1.0)
            # complaints and NPS are drawn here so the state sees them
            m = c["cust"].size
            failed = c.get("failed", np.zeros(m, bool))
            complaint = rng.random(m) < np.where(failed, 0.25, 0.03)
            surveyed = (c["vtype"] in ("maintenance", "repair")) & (rng.random(m) < 0.4)
            score = np.clip(np.round(8.6 + satisfaction[c["cust"]] + rng.normal(0, 1.2, m)
                                     - 3.0 * failed - 3.0 * complaint), 0, 10)
            c["complaint"] = complaint
            c["nps"] = np.where(surveyed, score, np.nan)
            det = keep & surveyed & (score <= 6)
            np.maximum.at(last_detractor, c["cust"][det], c["day"][det].astype(float))

    # --- assemble ---------------------------------------------------------------------------
    cust = np.concatenate([c["cust"] for c in chunks])
    day = np.concatenate([c["day"] for c in chunks])
    code = np.concatenate([c["code"] for c in chunks])
    failed = np.concatenate([c.get("failed", np.zeros(c["cust"].size, bool)) for c in chunks])
    complaint = np.concatenate([c["complaint"] for c in chunks])
    nps = np.concatenate([c["nps"] for c in chunks])
    keep = (day < lapse_day[cust]) & (day < span) & (day > purchase[cust])
    cust, day, code, failed, complaint, nps = (x[keep] for x in (cust, day, code, failed, complaint, nps))

    m = cust.size
    median = np.array([AMOUNT_MEDIAN[t] for t in VISIT_TYPES])
    sigma = np.array([AMOUNT_SIGMA[t] for t in VISIT_TYPES])
    amount = median[code] * price[cust] * np.exp(sigma[code] * rng.standard_normal(m))
    is_repair = code == 1
    covered = is_repair & (day <= warranty_end[cust])
    amount[covered] *= rng.uniform(0.0, 0.15, covered.sum())
    maint_major = (code == 0) & (rng.random(m) < 0.35)
    amount[maint_major] *= 1.8
    returns = np.isin(code, (2, 3)) & (rng.random(m) < 0.015)
    amount[returns] *= -1
    amount = np.round(amount, 2)

    order = np.lexsort((code, day, cust))
    visits = pd.DataFrame({
        "customer_id": pd.array(_ids(cust[order]), dtype="string"),
        "visit_date": pd.Timestamp(start) + pd.to_timedelta(day[order], unit="D"),
        "visit_type": pd.Categorical.from_codes(code[order], list(VISIT_TYPES)),
        "amount_cny": amount[order],
        "complaint": complaint[order],
        "nps": pd.array(np.where(np.isnan(nps[order]), pd.NA, nps[order]), dtype="Int8"),
        "first_time_fix": pd.array(np.where(is_repair[order], ~failed[order], pd.NA), dtype="boolean"),
    })
    customers = pd.DataFrame({
        "customer_id": pd.array(_ids(np.arange(n)), dtype="string"),
        "purchase_date": purchase_dates,
        "model": pd.Categorical.from_codes(model_idx, [m[0] for m in MODELS]),
        "region": pd.Categorical.from_codes(region_idx, [r[0] for r in REGIONS]),
        "warranty_end": warranty_dates,
    })
    lapsed = lapse_day < span
    lapses = pd.DataFrame({
        "customer_id": customers["customer_id"],
        "lapse_date": pd.Series(pd.Timestamp(start) + pd.to_timedelta(np.where(lapsed, lapse_day, 0), unit="D"))
        .where(lapsed),
    })
    log.info("after-sales demo: %d customers, %d visits, %.1f%% lapse (seed %d)", n, len(visits),
             100 * lapsed.mean(), seed)
    return AfterSalesDemo(visits=visits, customers=customers, lapses=lapses, seed=int(seed), start=start, end=end)


def _ids(index: np.ndarray) -> np.ndarray:
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
