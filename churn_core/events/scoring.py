"""Scoring an event dataset as of a date, the stored score history, tier migration and the backtest.

A customer is scored as of day d from their events on or before d: the probability of no visit in the next
H days. Only customers with an event in the lookback L before d are scored; those who already lapsed are
listed apart (:func:`churn_core.events.dataset.lapsed_customers`). Every scoring is stored with its as-of
date, so the history of a customer's risk and the movement between tiers can be read back, and a flag
raised at an earlier date can be checked against what happened after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..dataset import Dataset, EventContext, normalise
from ..errors import NotFoundError, ParameterError
from ..scoring import DEFAULT_TIERS, RiskTier, ScoredCustomers, assign_tiers, score_dataset
from ..store import Store
from .dataset import TARGET, _table
from .labels import EventWindow, label_and_features
from .log import ID, TIME, EventLog

logger = logging.getLogger(__name__)


def window_of(store: Store, version: int) -> EventWindow:
    """The label window an event dataset version was built with."""
    meta = store.events_meta(version)
    if meta is None:
        raise ParameterError(f"Dataset version {version} is a customer table, not a visit log, so it cannot be "
                             "scored as of a date. Pick an event dataset version.", code="not_event_dataset",
                             version=version)
    window = dict(meta["context"]["window"])
    if window.get("visit_types") is not None:
        window["visit_types"] = tuple(window["visit_types"])
    return EventWindow(**window)


def as_of_table(log, *, window: EventWindow, as_of, version: int | None = None,
                base: Dataset | None = None, engine=None) -> Dataset:
    """The eligible customers of ``log`` as of day ``as_of`` with their features (a Dataset to score).
    ``base`` (the version's analysis table) gives the roles and name. ``engine``: a dask engine
    (:func:`churn_core.scale.open_engine`) computes the features on its workers, one customer bucket a task;
    ``log`` may then be a bucketed Parquet log (:class:`churn_core.scale.ParquetEvents`), never loaded here."""
    day = pd.Timestamp(as_of).normalize()
    first, last = log.first_date, log.last_date
    if first is None or day < first or day > last:
        raise ParameterError(f"The as-of date {day.date()} is outside the log, which runs from "
                             f"{None if first is None else first.date()} to {None if last is None else last.date()}. "
                             "Pick a date inside it.", code="as_of_outside_log", as_of=str(day.date()),
                             first=str(None if first is None else first.date()),
                             last=str(None if last is None else last.date()))
    if engine is not None and engine.is_dask:
        from ..scale.features import label_and_features_dask

        labelled = label_and_features_dask(log, engine=engine, window=window, cutoffs=[day])
    else:
        labelled = label_and_features(log, window=window, cutoffs=[day])
    frame = _table(labelled, day, target=False)
    roles = base.roles.replace(target=None, positive_label=None) if base is not None else None
    if roles is None:
        from .dataset import event_roles

        roles = event_roles(frame)
    frame = frame[[c for c in (base.frame.columns if base is not None else frame.columns)
                   if c in frame and c != TARGET]]
    population = labelled.population
    lapsed = int(population["lapsed"].iloc[0]) if len(population) else 0
    ctx = base.events if base is not None and base.events is not None else None
    context = EventContext(table="as_of", cutoff=day, test_cutoff=ctx.test_cutoff if ctx else day,
                           as_of=day, cutoffs=ctx.cutoffs if ctx else (), window_days=window.window_days,
                           lookback_days=window.lookback_days, lapsed=lapsed, window=window.to_dict())
    from ..validation import validate

    report = validate(frame, roles=roles, require_target=False)
    return Dataset(frame=normalise(frame, roles=roles), roles=roles, name=base.name if base is not None else "events",
                   report=report, sha256=base.sha256 if base is not None else "", version=version,
                   source_name=base.source_name if base is not None else "", events=context)


def score_as_of(store: Store, version: int, *, as_of=None, log: EventLog | None = None, champion=None,
                model=None, explain: str | int = "auto", explain_budget_s: float = 20.0) -> ScoredCustomers:
    """Score an event dataset version's customers as of ``as_of`` (default: the log's last date) with the
    champion, and store the scores with that date (a score set already stored for it is reused)."""
    base = store.load_dataset(version)
    if base.events is None:
        raise ParameterError(f"Dataset version {version} is a customer table, not a visit log. Score it with "
                             "score_dataset.", code="not_event_dataset", version=version)
    window = window_of(store, version)
    if as_of is None or pd.Timestamp(as_of).normalize() == base.events.as_of:
        table = store.load_as_of(version)
    else:
        log = log if log is not None else store.load_events(version)
        table = as_of_table(log, window=window, as_of=as_of, version=version, base=base)
    return score_dataset(table, store=store, champion=champion, model=model, explain=explain,
                         explain_budget_s=explain_budget_s)


@dataclass(frozen=True, kw_only=True)
class ScoreHistory:
    """Stored scorings of one event dataset version by one model, one per as-of date (newest last)."""

    version: int
    run_id: int
    model: str
    dates: tuple[pd.Timestamp, ...]
    frame: pd.DataFrame  # as_of, customer_id, probability, tier

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def customer(self, customer_id) -> pd.DataFrame:
        """One customer's risk over time (as_of, probability, tier); dates when they were not eligible are
        absent."""
        rows = self.frame[self.frame["customer_id"].astype(str) == str(customer_id)]
        return rows[["as_of", "probability", "tier"]].reset_index(drop=True)


def score_history(store: Store, version: int, *, run_id: int, model: str,
                  tiers: tuple[RiskTier, ...] = DEFAULT_TIERS) -> ScoreHistory:
    """Every stored as-of scoring of ``version`` by ``run_id``'s ``model``, oldest first (the newest set of
    each date)."""
    sets = [s for s in store.list_score_sets(dataset_version=version)
            if s.run_id == run_id and s.model == model and s.as_of is not None]
    newest: dict = {}
    for s in sets:
        newest[pd.Timestamp(s.as_of)] = s
    parts = []
    for day in sorted(newest):
        scores = store.load_scores(newest[day].id)
        parts.append(pd.DataFrame({"as_of": day, "customer_id": scores["customer_id"].astype("string"),
                                   "probability": scores["probability"].to_numpy(dtype=float)}))
    frame = (pd.concat(parts, ignore_index=True) if parts else
             pd.DataFrame({"as_of": pd.Series(dtype="datetime64[ns]"), "customer_id": pd.Series(dtype="string"),
                           "probability": pd.Series(dtype=float)}))
    frame["tier"] = assign_tiers(frame["probability"].to_numpy(), tiers=tiers) if len(frame) else \
        pd.Series(dtype=object)
    return ScoreHistory(version=version, run_id=run_id, model=model, dates=tuple(sorted(newest)), frame=frame)


@dataclass(frozen=True, kw_only=True)
class TierMigration:
    """How customers moved between tiers from one as-of date to another. Rows: tier at ``start`` (plus
    ``new``: not eligible then); columns: tier at ``end`` (plus ``lapsed``: not eligible any more)."""

    start: pd.Timestamp
    end: pd.Timestamp
    transitions: pd.DataFrame
    up: int  # customers whose tier got riskier
    down: int

    def to_frame(self) -> pd.DataFrame:
        return self.transitions


def tier_migration(history: ScoreHistory, *, start=None, end=None,
                   tiers: tuple[RiskTier, ...] = DEFAULT_TIERS) -> TierMigration:
    """The tier migration table between two stored as-of dates (default: the two newest)."""
    if len(history.dates) < 2 and (start is None or end is None):
        raise NotFoundError(f"A tier migration needs scorings at two as-of dates; version {history.version} has "
                            f"{len(history.dates)}. Score it as of an earlier date first (the Risk page, or "
                            "`python -m churn_core score --events ... --as-of DATE`).",
                            code="history_too_short", dates=len(history.dates))
    start = pd.Timestamp(start) if start is not None else history.dates[-2]
    end = pd.Timestamp(end) if end is not None else history.dates[-1]
    for day in (start, end):
        if day not in history.dates:
            raise NotFoundError(f"No stored scoring as of {day.date()}. Stored as-of dates: "
                                f"{[d.date().isoformat() for d in history.dates]}.", code="as_of_not_scored",
                                as_of=str(day.date()))
    keys = [t.key for t in tiers]
    frame = history.frame
    a = frame[frame["as_of"] == start].set_index("customer_id")["tier"]
    b = frame[frame["as_of"] == end].set_index("customer_id")["tier"]
    both = a.index.union(b.index)
    ta = a.reindex(both).fillna("new")
    tb = b.reindex(both).fillna("lapsed")
    table = pd.crosstab(pd.Categorical(ta, categories=[*keys, "new"]),
                        pd.Categorical(tb, categories=[*keys, "lapsed"]), dropna=False)
    table = table.reindex(index=[*keys, "new"], columns=[*keys, "lapsed"], fill_value=0)
    table.index.name, table.columns.name = "tier_start", "tier_end"
    # DEFAULT_TIERS run from the riskiest down: a smaller index is riskier.
    rank = {k: i for i, k in enumerate(keys)}
    common = a.index.intersection(b.index)
    ra = a.loc[common].map(rank).to_numpy()
    rb = b.loc[common].map(rank).to_numpy()
    return TierMigration(start=start, end=end, transitions=table, up=int((rb < ra).sum()), down=int((rb > ra).sum()))


@dataclass(frozen=True, kw_only=True)
class Backtest:
    """Of the customers flagged at an earlier as-of date, how many lapsed within the window after it, and how
    early they were flagged. ``elapsed_days`` < ``window_days`` means the window is still open (so far)."""

    as_of: pd.Timestamp
    window_days: int
    elapsed_days: int
    flagged: int
    flagged_lapsed: int
    flagged_rate: float | None  # share of the flagged who lapsed
    base_rate: float | None  # share of all scored who lapsed
    caught: float | None  # share of all lapsers who were flagged
    lead_days_median: float | None  # days from the flag until a flagged lapser would count as lapsed
    frame: pd.DataFrame  # customer_id, probability, flagged, lapsed, lead_days

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def backtest(history: ScoreHistory, log: EventLog, *, window: EventWindow, as_of=None,
             flagged_tiers: tuple[str, ...] = ("critical", "high")) -> Backtest:
    """Check the flags of a stored as-of scoring (default: the oldest) against the log: a flagged customer
    lapsed when they made no visit in the H days after the as-of date (or up to the log's end, while the
    window is still open). Lead time: lookback L minus their days since the last event at the flag."""
    if not history.dates:
        raise NotFoundError(f"Version {history.version} has no stored as-of scoring to backtest. Score it first.",
                            code="history_too_short", dates=0)
    day = pd.Timestamp(as_of) if as_of is not None else history.dates[0]
    if day not in history.dates:
        raise NotFoundError(f"No stored scoring as of {day.date()}. Stored as-of dates: "
                            f"{[d.date().isoformat() for d in history.dates]}.", code="as_of_not_scored",
                            as_of=str(day.date()))
    H = int(window.window_days)
    end = min(day + pd.Timedelta(days=H), log.last_date)
    rows = history.frame[history.frame["as_of"] == day].reset_index(drop=True)
    times = log.frame[TIME].dt.normalize()
    visits = log.frame
    if window.visit_types is not None:
        visits = visits[visits["event_type"].isin(window.visit_types)]
        times = times.loc[visits.index]
    after = set(visits.loc[(times > day) & (times <= end), ID].astype(str))
    before = log.frame.loc[log.frame[TIME].dt.normalize() <= day].groupby(ID, observed=True)[TIME].max()
    since = (day - before.dt.normalize()).dt.days
    ids = rows["customer_id"].astype(str)
    lapsed = ~ids.isin(after).to_numpy()
    flagged = rows["tier"].isin(flagged_tiers).to_numpy()
    lead = window.lookback_days - since.reindex(ids.to_numpy()).to_numpy(dtype=float)
    frame = pd.DataFrame({"customer_id": ids, "probability": rows["probability"], "flagged": flagged,
                          "lapsed": lapsed, "lead_days": np.where(flagged & lapsed, lead, np.nan)})
    n_flag, n_lapse = int(flagged.sum()), int(lapsed.sum())
    hit = int((flagged & lapsed).sum())
    leads = frame["lead_days"].dropna()
    return Backtest(as_of=day, window_days=H, elapsed_days=int((end - day).days), flagged=n_flag,
                    flagged_lapsed=hit, flagged_rate=hit / n_flag if n_flag else None,
                    base_rate=n_lapse / len(rows) if len(rows) else None,
                    caught=hit / n_lapse if n_lapse else None,
                    lead_days_median=float(leads.median()) if len(leads) else None, frame=frame)


def history_dates(context: EventContext, *, limit: int = 12) -> tuple[pd.Timestamp, ...]:
    """The as-of dates a visit log is scored at for its history: the test cut-off (the latest date whose
    outcome is known, scored out of time), the month ends after it, and the log's last date; at most ``limit``,
    the latest kept."""
    ends = pd.date_range(context.test_cutoff, context.as_of, freq="ME")
    dates = sorted({context.test_cutoff, *(pd.Timestamp(d) for d in ends), context.as_of})
    return tuple(dates[-limit:])


def score_back(store: Store, version: int, *, champion=None, model=None, log: EventLog | None = None,
               limit: int = 12) -> tuple[pd.Timestamp, ...]:
    """Score an event dataset version as of each of its :func:`history_dates` not stored yet (probabilities
    only; the last date is scored with reasons by :func:`score_as_of`). Returns the dates scored."""
    base = store.load_dataset(version)
    if base.events is None:
        raise ParameterError(f"Dataset version {version} is a customer table, not a visit log, so it has no score "
                             "history.", code="not_event_dataset", version=version)
    champion = champion if champion is not None else store.champion()
    if champion is None:
        raise NotFoundError("No champion model yet, so nothing can be scored. Train and promote a model first.",
                            code="no_champion")
    done = []
    for day in history_dates(base.events, limit=limit):
        if day == base.events.as_of:
            continue
        if store.find_score_set(run_id=champion.run_id, model=champion.model, dataset_version=version,
                                as_of=day.date()) is not None:
            continue
        log = log if log is not None else store.load_events(version)
        score_as_of(store, version, as_of=day, log=log, champion=champion, model=model, explain="none")
        done.append(day)
    logger.info("scored version %d as of %d earlier dates", version, len(done))
    return tuple(done)
