"""Descriptive churn analysis of an event log: who churns, when customers lapse, and what it costs.

Pure functions over a :class:`~churn_core.events.labels.LabelledEvents` (one row per eligible customer and
cut-off) or over the :class:`~churn_core.events.log.EventLog` itself; each returns a frozen result with
``to_frame()``. Everything is vectorised pandas/numpy or DuckDB SQL: no Python loop over customers.

- :func:`churn_by_stage`: churn rate per lifecycle stage at one cut-off, and its ratio to the rest.
- :func:`rfm_segments`: the eight recency / frequency / monetary segments of Chinese CRM practice
  (重要价值客户 ...), each with its churn rate and a strategy key ``rfm.strategy.<segment>``.
- :func:`cohort_retention`: the share of each first-visit cohort with an event k months later.
- :func:`time_to_lapse`: Kaplan-Meier survival of the time from a customer's first visit to their lapse.
- :func:`recency_ratio`: "customers with more than X days since their last visit churn N x as often as the
  rest", at several X, the most telling X, and the same for a halving of visits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from ..i18n import check_language, text
from .labels import STAGES, EventWindow, LabelledEvents, label_and_features
from .labels import cutoffs as _label_cutoffs
from .log import ID, TIME, TYPE, EventLog

logger = logging.getLogger(__name__)

STAGE_KEYS = tuple(name for name, _ in STAGES)
# (segment key, recency high, frequency high, monetary high), in the order of the CRM textbooks.
RFM_SEGMENTS = (
    ("important_value", True, True, True),
    ("important_keep", False, True, True),
    ("important_develop", True, False, True),
    ("important_winback", False, False, True),
    ("general_value", True, True, False),
    ("general_keep", False, True, False),
    ("general_develop", True, False, False),
    ("general_winback", False, False, False),
)
SEGMENT_KEYS = tuple(key for key, *_ in RFM_SEGMENTS)
OTHER = "other"  # the group pooling what is beyond time_to_lapse's cap (worded by events.group.other)
ALL = "all"  # time_to_lapse's single group when no ``by`` is given (worded by events.group.all)
MAX_GROUPS = 8
DEFAULT_WINDOW = EventWindow()


# ----------------------------------------------------------------------------------------------------------
# Shared helpers


def _at_cutoff(labelled: LabelledEvents, cutoff, func: str, *, need_labels: bool = True) -> tuple[pd.Timestamp,
                                                                                                  pd.DataFrame]:
    """The rows of one cut-off: ``cutoff`` or (None) the latest labelled one."""
    frame = labelled.frame
    if cutoff is None:
        done = frame.loc[frame["labelled"].astype(bool), "cutoff"]
        if done.empty:
            raise SchemaError(
                f"{func} needs a cut-off whose label window has elapsed, and these labels have none (cut-offs "
                f"{len(labelled.cutoffs)}, window {labelled.window.window_days} days). Use a longer log or a "
                "shorter window.", code="labels_not_elapsed", cutoffs=len(labelled.cutoffs),
                window_days=labelled.window.window_days)
        when = pd.Timestamp(done.max())
    else:
        try:
            when = pd.Timestamp(cutoff).normalize()
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"The 'cutoff' parameter of {func} must be a date. Got {cutoff!r} instead.",
                                 code="bad_parameter", name="cutoff", value=str(cutoff)) from exc
        known = [pd.Timestamp(t) for t in labelled.cutoffs]
        if when not in known:
            span = f"{known[0].date()} to {known[-1].date()}" if known else "none"
            raise ParameterError(
                f"The 'cutoff' parameter of {func} must be one of the labels' cut-offs ({span}, {len(known)} in "
                f"all). Got {when.date()} instead. Pick one of LabelledEvents.cutoffs.",
                code="unknown_cutoff", cutoff=str(when.date()), first=str(known[0].date()) if known else "",
                last=str(known[-1].date()) if known else "")
    rows = frame[frame["cutoff"] == when]
    if need_labels and not rows["labelled"].astype(bool).all():
        raise ParameterError(
            f"The label window of cut-off {when.date()} has not elapsed, so its churn is unknown. Got cutoff "
            f"{when.date()}; pick an earlier one (or None for the latest labelled).",
            code="cutoff_not_labelled", cutoff=str(when.date()))
    return when, rows


def _rate(churned, customers):
    """Churn rate; NaN where there are no customers."""
    churned = np.asarray(churned, dtype=float)
    customers = np.asarray(customers, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(customers > 0, churned / np.where(customers > 0, customers, 1), np.nan)


def _ratio(a, b):
    """a / b, NaN where b is missing or zero (a ratio to a group that never churns says nothing)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# ----------------------------------------------------------------------------------------------------------
# 1. Churn by lifecycle stage


@dataclass(frozen=True)
class StageChurn:
    """Churn per lifecycle stage at one cut-off: ``table`` has stage, customers, churned, rate and ratio (the
    stage's rate over the rate of every other stage together; NaN when a side has no customers or no churn).
    Every stage of :data:`~churn_core.events.labels.STAGES` has a row, with 0 customers when it has none."""

    table: pd.DataFrame
    cutoff: pd.Timestamp
    overall_rate: float | None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def churn_by_stage(labelled: LabelledEvents, *, cutoff=None) -> StageChurn:
    """Churn rate per lifecycle stage (new, growth, mature, decline) at ``cutoff`` (default: the latest
    labelled cut-off), with each stage's ratio to the rest."""
    when, rows = _at_cutoff(labelled, cutoff, "churn_by_stage")
    churned = rows["churned"].astype(float)
    grouped = churned.groupby(rows["lifecycle_stage"].astype(object)).agg(["size", "sum"])
    grouped = grouped.reindex(list(STAGE_KEYS), fill_value=0)
    customers = grouped["size"].to_numpy(dtype=int)
    churn = grouped["sum"].to_numpy(dtype=float).round().astype(int)
    total_n, total_c = customers.sum(), churn.sum()
    table = pd.DataFrame({"stage": list(STAGE_KEYS), "customers": customers, "churned": churn,
                          "rate": _rate(churn, customers)})
    table["ratio"] = _ratio(table["rate"], _rate(total_c - churn, total_n - customers))
    return StageChurn(table=table, cutoff=when, overall_rate=_float(_rate([total_c], [total_n])[0]))


# ----------------------------------------------------------------------------------------------------------
# 2. RFM segments


def segment_name(key: str, *, lang: str = "en") -> str:
    """The RFM segment's name (``rfm.segment.<key>``)."""
    return text(f"rfm.segment.{key}", lang=check_language(lang))


def segment_strategy(key: str, *, lang: str = "en") -> str:
    """What to do with the RFM segment (``rfm.strategy.<key>``)."""
    return text(f"rfm.strategy.{key}", lang=check_language(lang))


@dataclass(frozen=True, kw_only=True)
class RFMSegments:
    """The eight RFM segments at one cut-off. ``table``: segment, r_high, f_high, m_high, customers, share,
    churned, churn_rate, avg_spend (spend_365d), strategy_key; one row per segment in :data:`RFM_SEGMENTS`
    order, with 0 customers when empty. ``customers``: customer_id, recency, frequency, monetary, the three
    scores and the segment. ``medians``: the split points (recency days, visits, spend)."""

    table: pd.DataFrame
    customers: pd.DataFrame
    medians: dict[str, float]
    cutoff: pd.Timestamp
    labelled: bool

    def to_frame(self, *, lang: str | None = None) -> pd.DataFrame:
        """The segment table; with ``lang``, also the segment's name and strategy in that language."""
        table = self.table.copy()
        if lang is not None:
            table.insert(1, "name", [segment_name(k, lang=lang) for k in table["segment"]])
            table["strategy"] = [segment_strategy(k, lang=lang) for k in table["segment"]]
        return table


def _rfm_scores(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    recency = rows["days_since_last_visit"].astype(float)
    frequency = rows["visits_365d"].astype(float).fillna(0.0)
    monetary = rows["spend_365d"].astype(float).fillna(0.0)
    medians = {"recency": float(recency.median()) if recency.notna().any() else float("nan"),
               "frequency": float(frequency.median()), "monetary": float(monetary.median())}
    # At or better than the median is high; no visit at all (missing recency) is low.
    r_high = (recency <= medians["recency"]).fillna(False).to_numpy(dtype=bool)
    f_high = (frequency >= medians["frequency"]).to_numpy(dtype=bool)
    m_high = (monetary >= medians["monetary"]).to_numpy(dtype=bool)
    code = np.asarray(r_high, int) * 4 + np.asarray(f_high, int) * 2 + np.asarray(m_high, int)
    by_code = {int(r) * 4 + int(f) * 2 + int(m): key for key, r, f, m in RFM_SEGMENTS}
    lookup = np.array([by_code[c] for c in range(8)], dtype=object)
    scores = pd.DataFrame({"customer_id": rows["customer_id"].to_numpy(), "recency": recency.to_numpy(),
                           "frequency": frequency.to_numpy(), "monetary": monetary.to_numpy(),
                           "r_high": r_high, "f_high": f_high, "m_high": m_high, "segment": lookup[code]})
    return scores, medians


def rfm_segments(labelled: LabelledEvents, *, cutoff=None) -> RFMSegments:
    """RFM segments of the customers eligible at ``cutoff`` (default: the latest labelled cut-off).

    Recency is ``days_since_last_visit``, frequency ``visits_365d``, monetary ``spend_365d``; each is high when
    at or better than the median of that cut-off's customers (recency: at or below the median days, i.e.
    recent). The eight segments carry stable keys (``important_value`` ... ``general_winback``), names
    ``rfm.segment.<key>`` and strategies ``rfm.strategy.<key>``. At a cut-off whose window has not elapsed the
    churn columns are missing.
    """
    when, rows = _at_cutoff(labelled, cutoff, "rfm_segments", need_labels=False)
    scores, medians = _rfm_scores(rows)
    is_labelled = bool(len(rows)) and bool(rows["labelled"].astype(bool).all())
    scores["churned"] = rows["churned"].astype(float).to_numpy()
    grouped = scores.groupby("segment").agg(customers=("segment", "size"), churned=("churned", "sum"),
                                            avg_spend=("monetary", "mean")).reindex(list(SEGMENT_KEYS))
    customers = grouped["customers"].fillna(0).to_numpy(dtype=int)
    table = pd.DataFrame({"segment": list(SEGMENT_KEYS),
                          "r_high": [r for _, r, _, _ in RFM_SEGMENTS],
                          "f_high": [f for _, _, f, _ in RFM_SEGMENTS],
                          "m_high": [m for _, _, _, m in RFM_SEGMENTS],
                          "customers": customers,
                          "share": _rate(customers, np.full(len(customers), customers.sum()))})
    if is_labelled:
        churn = grouped["churned"].fillna(0).to_numpy(dtype=float).round().astype(int)
        table["churned"] = pd.array(churn, dtype="Int64")
        table["churn_rate"] = _rate(churn, customers)
    else:
        table["churned"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["churn_rate"] = np.nan
    table["avg_spend"] = grouped["avg_spend"].to_numpy(dtype=float)
    table["strategy_key"] = [f"rfm.strategy.{k}" for k in SEGMENT_KEYS]
    return RFMSegments(table=table, customers=scores.drop(columns="churned"), medians=medians, cutoff=when,
                       labelled=is_labelled)


# ----------------------------------------------------------------------------------------------------------
# 3. Cohort retention


_PERIOD_MONTHS = {"month": 1, "quarter": 3}


def _visits(log: EventLog, window: EventWindow) -> pd.DataFrame:
    """The qualifying events as (cid, d): customer and day."""
    frame = log.frame
    keep = frame[ID].notna() & frame[TIME].notna()
    if window.visit_types is not None:
        keep &= frame[TYPE].astype(object).isin(list(window.visit_types))
    return pd.DataFrame({"cid": frame.loc[keep, ID].astype(str).to_numpy(),
                         "d": frame.loc[keep, TIME].dt.normalize().astype("datetime64[ns]").to_numpy()})


@dataclass(frozen=True, kw_only=True)
class CohortRetention:
    """Retention by first-visit cohort. ``frame``: cohort (first day of the customer's first period),
    period (k periods after it), customers (the cohort's size), active (customers with an event in period k)
    and active_share; ``complete`` is False for the period holding the log's last date (partly observed).
    Periods after the log's end have no row."""

    frame: pd.DataFrame
    period: str
    max_periods: int
    last_date: pd.Timestamp | None

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def matrix(self) -> pd.DataFrame:
        """Active share with one row per cohort and one column per period offset (NaN: not observed yet)."""
        if self.frame.empty:
            return pd.DataFrame()
        return self.frame.pivot(index="cohort", columns="period", values="active_share")

    def average(self) -> pd.DataFrame:
        """Per period offset, the active share over every cohort observed that far (complete periods only),
        weighted by cohort size: period, cohorts, customers, active, active_share."""
        done = self.frame[self.frame["complete"]]
        out = done.groupby("period").agg(cohorts=("cohort", "size"), customers=("customers", "sum"),
                                         active=("active", "sum")).reset_index()
        out["active_share"] = _rate(out["active"], out["customers"])
        return out


def cohort_retention(log: EventLog, *, window: EventWindow = DEFAULT_WINDOW, period: str = "month",
                     max_periods: int = 24) -> CohortRetention:
    """Share of each first-visit cohort active k periods later (``period`` "month" or "quarter"; k from 0 to
    ``max_periods``), in DuckDB over the events. Only ``window.visit_types`` events count (all by default)."""
    if period not in _PERIOD_MONTHS:
        raise ParameterError(f"The 'period' parameter of cohort_retention must be one of {list(_PERIOD_MONTHS)}. "
                             f"Got {period!r} instead.", code="bad_parameter", name="period", value=period)
    if isinstance(max_periods, bool) or not isinstance(max_periods, (int, np.integer)) or max_periods < 1:
        raise ParameterError(f"The 'max_periods' parameter of cohort_retention must be a whole number, at least "
                             f"1. Got {max_periods!r} instead.", code="bad_parameter", name="max_periods",
                             value=max_periods)
    step = _PERIOD_MONTHS[period]
    events = _visits(log, window)
    columns = ["cohort", "period", "customers", "active", "active_share", "complete"]
    if events.empty:
        return CohortRetention(frame=pd.DataFrame(columns=columns), period=period, max_periods=int(max_periods),
                               last_date=None)
    last = pd.Timestamp(events["d"].max())
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads TO 2")
        con.register("ev_src", events)
        frame = con.execute(f"""
            WITH ev AS (
                SELECT cid, (extract(year FROM d) * 12 + extract(month FROM d) - 1) // {step} AS p
                FROM ev_src
            ),
            firsts AS (SELECT cid, min(p) AS c FROM ev GROUP BY cid),
            sizes AS (SELECT c, count(*) AS customers FROM firsts GROUP BY c),
            active AS (
                SELECT f.c, ev.p - f.c AS k, count(DISTINCT ev.cid) AS active
                FROM ev JOIN firsts f USING (cid)
                WHERE ev.p - f.c <= ?
                GROUP BY f.c, ev.p - f.c
            ),
            grid AS (
                SELECT s.c, k.k, s.customers
                FROM sizes s CROSS JOIN range(0, ? + 1) AS k(k)
                WHERE s.c + k.k <= (SELECT max(p) FROM ev)
            )
            SELECT g.c, g.k AS period, g.customers, coalesce(a.active, 0) AS active
            FROM grid g LEFT JOIN active a ON a.c = g.c AND a.k = g.k
            ORDER BY g.c, g.k
        """, [int(max_periods), int(max_periods)]).df()
    finally:
        con.close()
    months = frame["c"].astype(int) * step
    frame.insert(0, "cohort", pd.to_datetime({"year": months // 12, "month": months % 12 + 1, "day": 1}))
    frame = frame.drop(columns="c")
    frame["period"] = frame["period"].astype(int)
    frame["customers"] = frame["customers"].astype(int)
    frame["active"] = frame["active"].astype(int)
    frame["active_share"] = _rate(frame["active"], frame["customers"])
    # A period is complete when its last day is on or before the log's last date.
    starts = frame["cohort"].dt.to_period("M").astype("int64") + (frame["period"] + 1) * step
    next_start = pd.PeriodIndex.from_ordinals(starts.to_numpy(), freq="M").to_timestamp()
    frame["complete"] = (next_start - pd.Timedelta(days=1)) <= last
    return CohortRetention(frame=frame[columns].reset_index(drop=True), period=period,
                           max_periods=int(max_periods), last_date=last)


# ----------------------------------------------------------------------------------------------------------
# 4. Time to lapse (Kaplan-Meier)


def kaplan_meier(durations, events) -> pd.DataFrame:
    """The Kaplan-Meier estimate: days, at_risk, events, censored, survival at each distinct duration (plus a
    first row at day 0 with survival 1 when no duration is 0). ``events`` is 1 for a lapse, 0 for censored."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if d.size == 0:
        return pd.DataFrame({"days": [0.0], "at_risk": [0], "events": [0], "censored": [0], "survival": [1.0]})
    times, inverse = np.unique(d, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(times))
    lapses = np.bincount(inverse, weights=e.astype(float), minlength=len(times)).round().astype(int)
    at_risk = d.size - np.concatenate([[0], np.cumsum(counts)[:-1]])
    survival = np.cumprod(1.0 - lapses / at_risk)
    out = pd.DataFrame({"days": times, "at_risk": at_risk, "events": lapses, "censored": counts - lapses,
                        "survival": survival})
    if times[0] > 0:
        out = pd.concat([pd.DataFrame({"days": [0.0], "at_risk": [d.size], "events": [0], "censored": [0],
                                       "survival": [1.0]}), out], ignore_index=True)
    return out


def median_survival(curve: pd.DataFrame) -> float | None:
    """The first day the survival is at or below 0.5 (None when it never gets there)."""
    below = curve.loc[curve["survival"] <= 0.5 + 1e-12, "days"]
    return None if below.empty else float(below.iloc[0])


@dataclass(frozen=True, kw_only=True)
class TimeToLapse:
    """Kaplan-Meier curves of the days from first visit to lapse (last visit + lookback L), one per group.
    ``curves``: group, days, survival, at_risk, events, censored. ``summary``: group, customers, lapsed,
    median_days (None: the curve never reaches 0.5). ``customers``: customer_id, group, duration, lapsed."""

    curves: pd.DataFrame
    summary: pd.DataFrame
    customers: pd.DataFrame
    by: str | None
    lookback_days: int
    last_date: pd.Timestamp | None
    unassigned: int = 0  # customers without a group (e.g. not eligible at the cut-off "lifecycle" uses)

    def to_frame(self) -> pd.DataFrame:
        return self.curves.copy()

    @property
    def medians(self) -> dict[str, float | None]:
        return dict(zip(self.summary["group"], self.summary["median_days"]))


def _groups_from(log: EventLog, by: str | None, window: EventWindow, labelled: LabelledEvents | None,
                 ids: pd.Index) -> pd.Series:
    """Each customer's group (index: customer id); missing when the customer has none."""
    if by is None:
        return pd.Series(ALL, index=ids, dtype=object)
    if by in ("lifecycle", "rfm"):
        if labelled is None:
            dates = _label_cutoffs(log, window=window).dates
            if not dates:
                raise SchemaError(
                    f"Grouping time_to_lapse by '{by}' needs a cut-off whose label window has elapsed, and this "
                    f"log has none (window {window.window_days} days). Use a longer log or a shorter window.",
                    code="labels_not_elapsed", cutoffs=0, window_days=window.window_days)
            labelled = label_and_features(log, window=window, cutoffs=[dates[-1]])
        _, rows = _at_cutoff(labelled, None, "time_to_lapse")
        if by == "lifecycle":
            values = pd.Series(rows["lifecycle_stage"].astype(object).to_numpy(), index=rows["customer_id"].astype(str))
        else:
            scores, _ = _rfm_scores(rows)
            values = pd.Series(scores["segment"].to_numpy(), index=scores["customer_id"].astype(str))
        return values.reindex(ids)
    if log.customers is None or by not in log.customers.columns or by == ID:
        available = [] if log.customers is None else [c for c in log.customers.columns if c != ID]
        raise ParameterError(
            f"The 'by' parameter of time_to_lapse must be 'lifecycle', 'rfm' or a column of the customer table "
            f"({available}). Got {by!r} instead.", code="bad_parameter", name="by", value=by)
    table = log.customers.drop_duplicates(ID)
    values = pd.Series(table[by].to_numpy(), index=table[ID].astype(str), name=by)
    if pd.api.types.is_datetime64_any_dtype(values) or (pd.api.types.is_numeric_dtype(values)
                                                          and values.nunique() > MAX_GROUPS
                                                          and not pd.api.types.is_bool_dtype(values)):
        raise ParameterError(
            f"The 'by' parameter of time_to_lapse must name a column of categories; '{by}' holds "
            f"{values.nunique()} distinct {'dates' if pd.api.types.is_datetime64_any_dtype(values) else 'numbers'}"
            ". Pick a categorical column, or 'lifecycle' or 'rfm'.", code="bad_parameter", name="by", value=by)
    return values.astype(object).where(values.notna()).reindex(ids)


def _cap(groups: pd.Series) -> pd.Series:
    """Keep the MAX_GROUPS - 1 largest groups and pool the rest into OTHER (when there are more than
    MAX_GROUPS)."""
    counts = groups.value_counts()
    if len(counts) <= MAX_GROUPS:
        return groups
    keep = set(counts.index[:MAX_GROUPS - 1])
    return groups.where(groups.isin(keep) | groups.isna(), OTHER)


def time_to_lapse(log: EventLog, *, window: EventWindow = DEFAULT_WINDOW, by: str | None = None,
                  labelled: LabelledEvents | None = None) -> TimeToLapse:
    """Kaplan-Meier survival of the days from each customer's first visit to their lapse.

    A customer lapses at their last visit + ``window.lookback_days`` (L) when that day is on or before the
    log's last date; otherwise they are censored at the log's last date. Duration = min(last + L, log end) -
    first visit. ``by``: None (one curve), a column of the customer table, ``"lifecycle"`` (the lifecycle
    stage) or ``"rfm"`` (the RFM segment) at the latest labelled cut-off (taken from ``labelled`` when given,
    else computed); customers not eligible there are left out (counted in ``unassigned``). At most 8 curves:
    beyond that the smaller groups are pooled into ``"other"``.
    """
    if by is not None and not isinstance(by, str):
        raise ParameterError(f"The 'by' parameter of time_to_lapse must be a column name, 'lifecycle' or 'rfm'. "
                             f"Got {by!r} instead.", code="bad_parameter", name="by", value=str(by))
    events = _visits(log, window)
    L = int(window.lookback_days)
    if events.empty:
        empty = pd.DataFrame(columns=["group", "days", "survival", "at_risk", "events", "censored"])
        summary = pd.DataFrame(columns=["group", "customers", "lapsed", "median_days"])
        return TimeToLapse(curves=empty, summary=summary, customers=pd.DataFrame(columns=[
            "customer_id", "group", "duration", "lapsed"]), by=by, lookback_days=L, last_date=None)
    end = pd.Timestamp(log.last_date)
    span = events.groupby("cid")["d"].agg(["min", "max"])
    lapse_day = span["max"] + pd.Timedelta(days=L)
    lapsed = (lapse_day <= end).to_numpy()
    duration = (lapse_day.where(lapsed, end) - span["min"]).dt.days.to_numpy(dtype=float)
    groups = _groups_from(log, by, window, labelled, span.index.astype(str))
    per = pd.DataFrame({"customer_id": span.index.astype(str), "group": groups.to_numpy(), "duration": duration,
                        "lapsed": lapsed})
    unassigned = int(per["group"].isna().sum())
    per = per[per["group"].notna()].copy()
    per["group"] = _cap(per["group"].astype(str))
    order = per["group"].value_counts()
    order = [g for g in order.index if g != OTHER] + ([OTHER] if OTHER in order.index else [])
    if by == "lifecycle":
        order = [g for g in STAGE_KEYS if g in order]
    elif by == "rfm":
        order = [g for g in SEGMENT_KEYS if g in order]
    curves, summary = [], []
    for name in order:  # at most MAX_GROUPS groups; each KM is vectorised over its customers
        part = per[per["group"] == name]
        curve = kaplan_meier(part["duration"], part["lapsed"])
        curves.append(curve.assign(group=name))
        summary.append({"group": name, "customers": len(part), "lapsed": int(part["lapsed"].sum()),
                        "median_days": median_survival(curve)})
    curves_frame = pd.concat(curves, ignore_index=True)[["group", "days", "survival", "at_risk", "events",
                                                         "censored"]]
    summary_frame = pd.DataFrame(summary, columns=["group", "customers", "lapsed", "median_days"])
    summary_frame["median_days"] = pd.Series([s["median_days"] for s in summary], dtype=object)
    return TimeToLapse(curves=curves_frame, summary=summary_frame, customers=per.reset_index(drop=True), by=by,
                       lookback_days=L, last_date=end, unassigned=unassigned)


# ----------------------------------------------------------------------------------------------------------
# 5. Recency ratio


@dataclass(frozen=True, kw_only=True)
class ThresholdRatio:
    """Customers above a threshold against the rest: share above, churn rates and their ratio."""

    threshold: float
    customers_above: int
    share_above: float
    rate_above: float | None
    rate_rest: float | None
    ratio: float | None
    key: str = "events.recency_ratio"

    def sentence(self, lang: str = "en") -> str:
        """E.g. "Customers with more than 90 days since their last visit churn 8.2x as often as the rest."."""
        ratio = "–" if self.ratio is None else f"{self.ratio:.1f}"
        return text(self.key, lang=check_language(lang), days=f"{self.threshold:g}", ratio=ratio)


@dataclass(frozen=True, kw_only=True)
class RecencyRatio:
    """Churn above vs at-or-below each threshold of ``column`` at one cut-off. ``table``: threshold,
    customers_above, share_above, rate_above, rate_rest, ratio, valid (at least ``min_share`` of customers on
    each side). ``best``: the valid threshold with the highest ratio, or None, in which case
    ``no_best_reason`` says why ("too_few_on_a_side" or "no_churn_at_or_below"). ``trend``: customers whose
    visits halved or worse (``visits_trend_ratio`` <= 0.5) against those whose visits did not (None when the
    column is absent); ``trend_unknown`` customers had no visit in the 90 days before and are left out."""

    table: pd.DataFrame
    best: ThresholdRatio | None
    no_best_reason: str | None
    trend: ThresholdRatio | None
    trend_unknown: int
    cutoff: pd.Timestamp
    column: str
    min_share: float
    customers: int
    overall_rate: float | None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def sentence(self, lang: str = "en") -> str:
        """The best threshold in words, or why there is none."""
        if self.best is not None:
            return self.best.sentence(lang)
        return text("events.recency_ratio_none", lang=check_language(lang), share=f"{self.min_share * 100:g}")


def _split(above: np.ndarray, churned: np.ndarray) -> tuple[int, float | None, float | None, float | None]:
    """Customers above, churn rate above, rate of the rest, ratio; ``above`` is bool (customers, thresholds)."""
    n = len(churned)
    n_above = above.sum(axis=0)
    c_above = (above * churned[:, None]).sum(axis=0)
    rate_above = _rate(c_above, n_above)
    rate_rest = _rate(churned.sum() - c_above, n - n_above)
    return n_above, rate_above, rate_rest, _ratio(rate_above, rate_rest)


def recency_ratio(labelled: LabelledEvents, *, cutoff=None, thresholds=(30, 60, 90, 120, 180, 270, 365),
                  column: str = "days_since_last_visit", min_share: float = 0.05) -> RecencyRatio:
    """How much more often customers above X (``column`` > X, default days since the last visit) churn than
    the rest, for each X in ``thresholds``, at ``cutoff`` (default: the latest labelled cut-off).

    The best threshold is the one with the highest ratio among those with at least ``min_share`` of the
    customers on each side. ``trend`` compares customers whose visits in the last 90 days are half or less of
    the 90 before (``visits_trend_ratio`` <= 0.5) with those whose visits held up (ratio above 0.5); customers
    with no visit in the earlier 90 days have no trend and are left out of that comparison (on the demo they
    are 41% of the customers and churn most, so counting them in "the rest" would turn a 2.2x signal into 0.8x).
    """
    try:
        values = sorted({float(x) for x in thresholds})
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"The 'thresholds' parameter of recency_ratio must be numbers. Got {thresholds!r} "
                             "instead.", code="bad_parameter", name="thresholds", value=str(thresholds)) from exc
    if not values or not all(np.isfinite(values)):
        raise ParameterError(f"The 'thresholds' parameter of recency_ratio must hold at least one finite number. "
                             f"Got {thresholds!r} instead.", code="bad_parameter", name="thresholds",
                             value=str(thresholds))
    if not 0 <= min_share < 0.5:
        raise ParameterError(f"The 'min_share' parameter of recency_ratio must be in [0, 0.5). Got {min_share!r} "
                             "instead.", code="bad_parameter", name="min_share", value=min_share)
    if column not in labelled.frame.columns or not pd.api.types.is_numeric_dtype(labelled.frame[column]):
        numeric = [c for c in labelled.feature_names if pd.api.types.is_numeric_dtype(labelled.frame[c])]
        raise ParameterError(f"The 'column' parameter of recency_ratio must be a numeric feature ({numeric[:8]}"
                             f"{' ...' if len(numeric) > 8 else ''}). Got {column!r} instead.",
                             code="bad_parameter", name="column", value=column)
    when, rows = _at_cutoff(labelled, cutoff, "recency_ratio")
    churned = rows["churned"].astype(float).to_numpy()
    x = rows[column].astype(float).to_numpy()
    grid = np.asarray(values)
    # A missing value (e.g. no visit at all) counts as above every threshold: it is as old as it gets.
    above = np.where(np.isnan(x)[:, None], True, x[:, None] > grid[None, :])
    n = len(churned)
    n_above, rate_above, rate_rest, ratio = _split(above, churned)
    share = _rate(n_above, np.full(len(grid), n))
    table = pd.DataFrame({"threshold": grid, "customers_above": n_above.astype(int), "share_above": share,
                          "rate_above": rate_above, "rate_rest": rate_rest, "ratio": ratio})
    table["valid"] = (table["share_above"] >= min_share) & (1 - table["share_above"] >= min_share)
    best, reason = None, None
    candidates = table[table["valid"] & table["ratio"].notna()]
    if candidates.empty:
        reason = "too_few_on_a_side" if not table["valid"].any() else "no_churn_at_or_below"
    else:
        row = candidates.loc[candidates["ratio"].idxmax()]
        best = ThresholdRatio(threshold=float(row["threshold"]), customers_above=int(row["customers_above"]),
                              share_above=float(row["share_above"]), rate_above=_float(row["rate_above"]),
                              rate_rest=_float(row["rate_rest"]), ratio=_float(row["ratio"]))
    trend, trend_unknown = None, 0
    if "visits_trend_ratio" in rows.columns:
        # The trend is unknown without a visit in the 90 days before the last 90: those customers are left out,
        # else the long-silent ones (who churn most) would sit in "the rest" and hide the signal.
        ratio_now = rows["visits_trend_ratio"].astype(float).to_numpy()
        known = ~np.isnan(ratio_now)
        trend_unknown = int((~known).sum())
        t_n, t_above, t_rest, t_ratio = _split((ratio_now[known] <= 0.5)[:, None], churned[known])
        trend = ThresholdRatio(threshold=0.5, customers_above=int(t_n[0]),
                               share_above=float(_rate(t_n, [known.sum()])[0]) if known.any() else 0.0,
                               rate_above=_float(t_above[0]), rate_rest=_float(t_rest[0]),
                               ratio=_float(t_ratio[0]), key="events.trend_ratio")
    overall = _float(_rate([churned.sum()], [n])[0])
    return RecencyRatio(table=table, best=best, no_best_reason=reason, trend=trend, trend_unknown=trend_unknown,
                        cutoff=when, column=column, min_share=float(min_share), customers=n, overall_rate=overall)

