"""Seeded synthetic telecom churn data for benchmarks.

Produces frames with the same 20 columns and dtypes as ``data/telecom_churn.csv``
(modeldata's ``mlc_churn``), at any size, fully vectorised with numpy.

Relationships built in (targets are the marginal rates of the real data):

* Usage: day/eve/night/intl minutes are independent clipped normals (means
  180/200/200/10 minutes); call counts are ~N(100, 20) (intl calls Poisson(4.4));
  charges are minutes times a fixed per-minute rate (day 0.17, eve 0.085,
  night 0.045, intl 0.27), rounded to cents, as in the real data.
* Plans: ~9.5% of customers have an international plan and ~26.5% a voice-mail
  plan. ``number_vmail_messages`` is 0 without a voice-mail plan, else
  ~N(30, 8) clipped to 1..52.
* Customer service calls are Poisson(1.57) clipped to 0..9.
* Churn is drawn from a logistic model:
    - international plan: strong positive effect (churn ~42% vs ~11%);
    - voice-mail plan: protective (~7% vs ~16%);
    - 4+ customer service calls: a sharp step (~50% vs ~11% below 4);
    - day charge: flat below ~40, rising steeply above (~60% churn over 45);
    - a mild positive effect of eve charge and of international minutes for
      international-plan customers.
  State, area code and account length have no effect, so any per-state
  differences are sampling noise. Overall churn lands near 14%.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

STATES = np.array(
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO "
    "MS MT NC ND NE NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV "
    "WY".split(),
    dtype=object,
)
AREA_CODES = np.array(["area_code_408", "area_code_415", "area_code_510"], dtype=object)
YES_NO = np.array(["no", "yes"], dtype=object)
# period -> (mean minutes, sd minutes, max minutes, price per minute)
USAGE = {
    "day": (180.0, 54.0, 351.5, 0.17),
    "eve": (200.0, 50.0, 363.7, 0.085),
    "night": (200.0, 50.0, 395.0, 0.045),
    "intl": (10.2, 2.8, 20.0, 0.27),
}


def _strings(choices: np.ndarray, index: np.ndarray) -> pd.Series:
    return pd.Series(choices[index], dtype="str")


def generate(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` synthetic customers; the same ``seed`` gives the same frame."""
    if n < 1:
        raise ValueError(f"n must be a positive number of rows, got {n!r}")
    rng = np.random.default_rng(seed)

    def normal_int(mean: float, sd: float, lo: int, hi: int) -> np.ndarray:
        return np.clip(np.rint(rng.normal(mean, sd, n)), lo, hi).astype(np.int64)

    state = rng.integers(0, len(STATES), n)
    account_length = normal_int(101.0, 40.0, 1, 243)
    area_code = rng.choice(3, n, p=[0.25, 0.50, 0.25])
    intl_plan = rng.random(n) < 0.095
    vmail_plan = rng.random(n) < 0.265
    vmail_messages = np.where(vmail_plan, normal_int(30.0, 8.0, 1, 52), 0)

    usage: dict[str, np.ndarray] = {}
    for period, (mean, sd, hi, rate) in USAGE.items():
        minutes = np.round(np.clip(rng.normal(mean, sd, n), 0.0, hi), 1)
        if period == "intl":
            calls = np.minimum(rng.poisson(4.4, n), 20).astype(np.int64)
        else:
            calls = normal_int(100.0, 20.0, 0, 170)
        usage[f"total_{period}_minutes"] = minutes
        usage[f"total_{period}_calls"] = calls
        usage[f"total_{period}_charge"] = np.round(minutes * rate, 2)
    service_calls = np.minimum(rng.poisson(1.57, n), 9).astype(np.int64)

    day_charge = usage["total_day_charge"]
    logit = (
        -2.80
        + 2.38 * intl_plan
        + 0.09 * intl_plan * (usage["total_intl_minutes"] - 10.2)
        - 1.20 * vmail_plan
        + 2.75 * (service_calls >= 4)
        + 0.35 * np.maximum(day_charge - 39.0, 0.0)
        + 0.05 * (usage["total_eve_charge"] - 17.0)
    )
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    return pd.DataFrame(
        {
            "state": _strings(STATES, state),
            "account_length": account_length,
            "area_code": _strings(AREA_CODES, area_code),
            "international_plan": _strings(YES_NO, intl_plan.astype(np.int8)),
            "voice_mail_plan": _strings(YES_NO, vmail_plan.astype(np.int8)),
            "number_vmail_messages": vmail_messages,
            **usage,
            "number_customer_service_calls": service_calls,
            "churn": _strings(YES_NO, churn.astype(np.int8)),
        }
    )


VISIT_TYPES = ("maintenance", "repair", "parts", "accessories")


def generate_events(customers: int, *, events_per_customer: float = 20.0, years: int = 4, seed: int = 0,
                    end: str = "2025-12-31", first_id: int = 0) -> pd.DataFrame:
    """A seeded dealer visit log shaped like ``data/aftersales_visits.csv.gz``, vectorised with numpy, for
    event-log benchmarks (``churn_core.events.generate_visits`` simulates 30-day steps and is too slow for
    20M events).

    Columns: customer_id (text), visit_date, visit_type (maintenance/repair/parts/accessories, 50/25/15/10%),
    amount_cny (lognormal per type; 1.5% of parts and accessories visits are negative returns), complaint
    (True on 3%), nps (0-10 on 40% of maintenance and repair visits, else missing) and first_time_fix (only
    on repairs: False on 12%). Each customer starts at a uniform day, 35% stop at a uniform later day, and
    visits at a constant rate while active, so a customer has ``events_per_customer`` visits on average.
    Rows are ordered by customer, then date. ``first_id`` numbers the customers from it (C0000000 + first_id),
    so a log too large to hold is generated in chunks of disjoint customers (one seed per chunk).
    """
    if customers < 1:
        raise ValueError(f"customers must be a positive number, got {customers!r}")
    rng = np.random.default_rng(seed)
    span = 365 * years
    start = rng.integers(0, span - 30, customers)
    stop = np.where(rng.random(customers) < 0.35, start + 30 + (rng.random(customers) * (span - start - 30)),
                    span).astype(np.int64)
    active = np.maximum(stop - start, 1)
    rate = events_per_customer / active.mean()
    counts = rng.poisson(rate * active) + 1
    cid = np.repeat(np.arange(customers), counts)
    n = len(cid)
    day = np.repeat(start, counts) + (rng.random(n) * np.repeat(active, counts)).astype(np.int64)
    order = np.lexsort((day, cid))
    day = day[order]
    vtype = rng.choice(4, n, p=[0.5, 0.25, 0.15, 0.1]).astype(np.int8)
    amount = np.round(rng.lognormal(np.array([6.5, 7.0, 6.0, 6.3])[vtype], 0.6), 2)
    amount = np.where((vtype >= 2) & (rng.random(n) < 0.015), -amount, amount)
    surveyed = (vtype <= 1) & (rng.random(n) < 0.4)
    nps = pd.array(np.where(surveyed, np.clip(rng.normal(8, 2, n).round(), 0, 10), np.nan), dtype="Int8")
    repair = vtype == 1
    fix = pd.array(np.where(repair, rng.random(n) >= 0.12, False), dtype="boolean")
    fix[~repair] = pd.NA
    ids = np.array([f"C{i:07d}" for i in range(first_id, first_id + customers)], dtype=object)
    return pd.DataFrame({
        "customer_id": pd.array(ids[cid], dtype="string"),
        "visit_date": pd.Timestamp(end) - pd.Timedelta(days=span) + pd.to_timedelta(day, "D"),
        "visit_type": pd.Categorical.from_codes(vtype, list(VISIT_TYPES)),
        "amount_cny": amount,
        "complaint": rng.random(n) < 0.03,
        "nps": nps,
        "first_time_fix": fix,
    })


def write_csv(n: int, path: str | Path, *, seed: int = 0) -> Path:
    """Write ``generate(n, seed=seed)`` to ``path`` as UTF-8 CSV; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    generate(n, seed=seed).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write synthetic telecom churn data.")
    parser.add_argument("--rows", type=int, default=200_000, help="number of rows")
    parser.add_argument("--out", type=Path, required=True, help="output CSV path")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    try:
        out = write_csv(args.rows, args.out, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"Wrote {args.rows} synthetic rows to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
