"""An event log as the two customer tables the rest of Churn Radar reads.

- The **analysis table**: the eligible customers at the *test cut-off* (the latest cut-off whose label
  window has fully elapsed), their features as of that day and ``churned`` (no visit in the H days after
  it). Overview, Drivers and the Models page's out-of-time test read it; its churn rate is the honest
  "share of active customers who stopped coming".
- The **as-of table**: the eligible customers at the log's last date, their features as of that day and no
  label (their window has not elapsed). The Risk and ROI pages score it: nobody in it was seen by a model
  with their outcome, and customers who already lapsed are counted apart, never "at risk".

Both are ordinary :class:`~churn_core.dataset.Dataset` objects whose ``events`` field says which cut-off
and which window they come from.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..dataset import Dataset, EventContext, normalise
from ..errors import ParameterError, SchemaError, ValidationError
from ..roles import ColumnRoles, detect_roles
from ..validation import ValidationReport, validate
from .labels import Cutoffs, EventWindow, LabelledEvents, cutoffs, label_and_features, suggest_window
from .log import EventLog, validate_events

logger = logging.getLogger(__name__)

TARGET = "churned"
_NOT_FEATURES = ("cutoff", "labelled")


@dataclass(frozen=True, kw_only=True)
class EventDataset:
    """An event log ready to store: its analysis and as-of tables, the window, the population per
    cut-off and the log's validation report."""

    log: EventLog
    window: EventWindow
    analysis: Dataset
    as_of: Dataset
    population: pd.DataFrame
    report: ValidationReport
    sha256: str
    window_suggested: bool = False

    def to_frame(self) -> pd.DataFrame:
        return self.population

    @property
    def name(self) -> str:
        return self.analysis.name


def log_sha256(log: EventLog, window: EventWindow) -> str:
    """A fingerprint of the log's rows, its customer table and the window (a new window is a new version)."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(log.frame, index=False).to_numpy().tobytes())
    if log.customers is not None:
        digest.update(pd.util.hash_pandas_object(log.customers, index=False).to_numpy().tobytes())
    digest.update(json.dumps(window.to_dict(), sort_keys=True).encode())
    return digest.hexdigest()


def event_roles(frame: pd.DataFrame) -> ColumnRoles:
    """Roles of a table of as-of features: the id and target are known, the rest judged by their values;
    tenure is ``tenure_days``, value the last year's spend, service calls a complaint count when there is one."""
    roles = detect_roles(frame, target=TARGET if TARGET in frame else None, id_column="customer_id")
    numeric = set(roles.numeric)
    complaint = next((c for c in frame.columns if "complaint" in str(c).lower() and c in numeric), None)
    return roles.remap(
        target=TARGET if TARGET in frame else None, positive_label="1" if TARGET in frame else None,
        id="customer_id", tenure="tenure_days" if "tenure_days" in numeric else None,
        value=("spend_365d",) if "spend_365d" in numeric else (), service_calls=complaint, plan_flags=(),
        state=None, categorical=tuple(dict.fromkeys((*roles.categorical, *roles.plan_flags))))


def _table(labelled: LabelledEvents, cutoff: pd.Timestamp, *, target: bool) -> pd.DataFrame:
    rows = labelled.frame[labelled.frame["cutoff"] == cutoff]
    frame = rows.drop(columns=[c for c in _NOT_FEATURES if c in rows]).reset_index(drop=True)
    if target:
        frame[TARGET] = frame[TARGET].astype("int8")
    else:
        frame = frame.drop(columns=[TARGET])
    return frame


def event_types(log: EventLog, *, limit: int = 50) -> tuple[str, ...]:
    """The log's event types, commonest first (at most ``limit``); empty when it has no type column."""
    from .log import TYPE

    counts = log.frame[TYPE].dropna().astype(str).value_counts()
    return tuple(counts.index[:limit])


def labelled_cutoffs(log: EventLog, *, window: EventWindow) -> Cutoffs:
    """The cut-offs whose label window has fully elapsed; SchemaError (``events_too_short``) when there is none:
    the log is shorter than the minimum history plus the window."""
    found = cutoffs(log, window=window)
    if not len(found):
        span = (log.last_date - log.first_date).days if log.first_date is not None else 0
        needed = window.min_history_days + window.window_days
        raise SchemaError(
            f"The event log covers {span} days, too short for a {window.window_days}-day label window after "
            f"{window.min_history_days} days of history: no cut-off has its window fully elapsed. It needs at "
            f"least {needed} days; export a longer period or choose a shorter window.",
            code="events_too_short", days=span, needed=needed, window=window.window_days)
    return found


def event_dataset(
    log: EventLog,
    *,
    window: EventWindow | None = None,
    name: str | None = None,
    today: pd.Timestamp | str | None = None,
) -> EventDataset:
    """Validate an event log and build its analysis and as-of tables (see the module docstring).

    ``window`` defaults to :func:`suggest_window` (the label window fitted to the customers' rhythm, the
    other settings the defaults). Raises ValidationError when the log has a blocking issue, and SchemaError
    when no cut-off has a fully elapsed window (the history is too short for the window).
    """
    suggested = window is None
    if window is None:
        try:
            window = suggest_window(log).window
        except SchemaError:
            window = EventWindow()
    report = validate_events(log, window_days=window.window_days, today=today)
    if not report.ok:
        lines = "; ".join(i.message for i in report.errors)
        raise ValidationError(f"The event log '{log.source_name}' cannot be used as it is: {lines}",
                              report=report, name=log.source_name)
    labelled_cuts = labelled_cutoffs(log, window=window)
    test_cutoff = labelled_cuts.dates[-1]
    as_of = log.last_date
    labelled = label_and_features(log, window=window, cutoffs=[test_cutoff, as_of])
    analysis_frame = _table(labelled, test_cutoff, target=True)
    as_of_frame = _table(labelled, as_of, target=False)
    roles = event_roles(analysis_frame)
    analysis_report = validate(analysis_frame, roles=roles)
    label = name or str(log.source_name).rsplit(".", 1)[0] or "events"
    sha = log_sha256(log, window)
    population = labelled.population
    context = dict(window=window.to_dict(), test_cutoff=test_cutoff, as_of=as_of,
                   cutoffs=tuple(labelled_cuts.dates), window_days=window.window_days,
                   lookback_days=window.lookback_days)

    def lapsed_at(day):
        row = population[population["cutoff"] == day]
        return int(row["lapsed"].iloc[0]) if len(row) else 0

    analysis = Dataset(frame=normalise(analysis_frame, roles=roles), roles=roles, name=label,
                       report=analysis_report, sha256=sha, source_name=str(log.source_name),
                       events=EventContext(table="analysis", cutoff=test_cutoff, lapsed=lapsed_at(test_cutoff),
                                           **context))
    as_of_roles = roles.replace(target=None, positive_label=None)
    as_of_report = validate(as_of_frame, roles=as_of_roles, require_target=False)
    as_of_dataset = Dataset(frame=normalise(as_of_frame, roles=as_of_roles), roles=as_of_roles, name=label,
                            report=as_of_report, sha256=sha, source_name=str(log.source_name),
                            events=EventContext(table="as_of", cutoff=as_of, lapsed=lapsed_at(as_of), **context))
    logger.info("event dataset %s: %d eligible at the test cut-off %s, %d eligible as of %s", label,
                analysis.n_rows, test_cutoff.date(), as_of_dataset.n_rows, as_of.date())
    return EventDataset(log=log, window=window, analysis=analysis, as_of=as_of_dataset, population=population,
                        report=report, sha256=sha, window_suggested=suggested)


def stored_labels(analysis: Dataset) -> LabelledEvents:
    """The labels and features of a stored analysis table as :class:`LabelledEvents` at its one cut-off (the
    test cut-off), for the analyses that take labels (RFM segments, recency ratios, groups for the time to
    lapse): the table already holds them, so the log is not labelled again."""
    ctx = analysis.events
    if ctx is None or ctx.table != "analysis":
        raise ParameterError(f"stored_labels needs a visit log's analysis table; '{analysis.name}' is not one.",
                             code="not_event_dataset", version=analysis.version)
    frame = analysis.frame.copy()
    frame.insert(1, "cutoff", pd.Timestamp(ctx.cutoff))
    frame["customer_id"] = frame["customer_id"].astype("string")
    frame["churned"] = pd.array(frame[TARGET].to_numpy(), dtype="Int64")
    frame["labelled"] = True
    if isinstance(frame.get("lifecycle_stage", pd.Series(dtype=object)).dtype, pd.CategoricalDtype):
        frame["lifecycle_stage"] = frame["lifecycle_stage"].astype("string")
    churned = int(frame["churned"].sum())
    population = pd.DataFrame({"cutoff": [pd.Timestamp(ctx.cutoff)], "customers": [len(frame) + ctx.lapsed],
                               "eligible": [len(frame)], "lapsed": [ctx.lapsed], "churned": [churned],
                               "churn_rate": [churned / len(frame) if len(frame) else np.nan], "labelled": [True]})
    window = dict(ctx.window)
    if window.get("visit_types") is not None:
        window["visit_types"] = tuple(window["visit_types"])
    features = tuple(c for c in frame.columns if c not in {"customer_id", "cutoff", "labelled", TARGET})
    return LabelledEvents(frame=frame, population=population,
                          lapsed=pd.DataFrame(columns=["customer_id", "cutoff", "days_since_last_event"]),
                          window=EventWindow(**window), cutoffs=(pd.Timestamp(ctx.cutoff),), feature_names=features)


def lapsed_customers(log: EventLog, *, window: EventWindow, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """The customers lapsed at ``as_of`` (default the log's last date): no event in the lookback L. Columns
    customer_id, last_event, days_since_last_event; longest-lapsed last."""
    from .log import ID, TIME

    day = (log.last_date if as_of is None else pd.Timestamp(as_of)).normalize()
    seen = log.frame.loc[log.frame[TIME].dt.normalize() <= day]
    last = seen.groupby(ID, observed=True)[TIME].max().dt.normalize()
    days = (day - last).dt.days
    out = pd.DataFrame({"customer_id": last.index.astype("string"), "last_event": last.to_numpy(),
                        "days_since_last_event": days.to_numpy(dtype=np.int64)})
    out = out[out["days_since_last_event"] >= window.lookback_days]
    return out.sort_values(["days_since_last_event", "customer_id"]).reset_index(drop=True)
