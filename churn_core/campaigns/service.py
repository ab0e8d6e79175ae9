"""Campaigns end to end on a store: launch, the call centre's sheet, outcomes in, observed results, the report.

These are the calls the Campaigns page, the Risk page and ``python -m churn_core campaign`` make; each
reads and writes through :class:`~churn_core.store.Store` and nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ParameterError
from ..i18n import has_key, text
from .design import CampaignPlan, CampaignSpec, campaign_candidates, plan_campaign
from .measure import CampaignReport, campaign_report
from .outcomes import (
    FIELDS,
    OutcomeChange,
    OutcomeCheck,
    check_outcomes,
    merge_outcomes,
    observe_outcomes,
    read_outcomes,
    refuse,
)

log = logging.getLogger(__name__)

SOURCES = ("upload", "editor", "observed", "cli", "simulated")


@dataclass(frozen=True, eq=False, kw_only=True)
class LaunchedCampaign:
    """A stored campaign and the plan it was launched from."""

    campaign: object  # store.Campaign
    plan: CampaignPlan = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.plan.members.copy()


@dataclass(frozen=True, eq=False, kw_only=True)
class RecordedOutcomes:
    """What recording a batch did: the check of the rows, the change they make, and the stored version
    (None when nothing changed)."""

    check: OutcomeCheck = field(repr=False)
    change: OutcomeChange = field(repr=False)
    batch: object | None  # store.OutcomeBatch

    def to_frame(self) -> pd.DataFrame:
        return self.change.rows.copy()


def launch_campaign(selection, *, store, spec: CampaignSpec, created_by: str | None = None,
                    base_rate: float | None = None) -> LaunchedCampaign:
    """Plan a campaign on a Risk-page selection (:class:`~churn_core.risk.RiskSelection`) and store it, with
    the model, score set and as-of day its list came from. For a visit log the spec's window defaults to the
    dataset's."""
    scored = selection.scored
    dataset = scored.dataset
    events = getattr(dataset, "events", None)
    if events is not None and spec.window_days is None:
        from dataclasses import replace

        spec = replace(spec, window_days=int(events.window_days))
    plan = plan_campaign(campaign_candidates(selection), spec=spec, base_rate=base_rate)
    version = dataset.version if dataset.version is not None else store.active_version().version
    as_of = None if events is None else pd.Timestamp(events.as_of).date()
    campaign = store.save_campaign(plan, dataset_version=version, run_id=scored.run_id, model=scored.model,
                                   score_set=scored.score_set, as_of=as_of, currency=store.currency(version),
                                   created_by=created_by,
                                   lookback_days=None if events is None else int(events.lookback_days))
    return LaunchedCampaign(campaign=campaign, plan=plan)


def call_sheet(store, campaign_id: int, *, lang: str = "en") -> pd.DataFrame:
    """The call centre's sheet: the contacted arm only (control customers are held back), with the campaign
    id, the assignment, the due date, the recommended action in words, and empty outcome columns to fill in
    and upload back."""
    campaign = store.campaign(campaign_id)
    members = store.campaign_members(campaign_id)
    calls = members[members["arm"] == "contact"].reset_index(drop=True)
    words = {k: (text(f"action.{k}", lang=lang) if has_key(f"action.{k}") else k) for k in calls["action"].unique()}
    sheet = pd.DataFrame({
        "campaign_id": campaign.id, "customer_id": calls["customer_id"].astype(str), "assignment": calls["arm"],
        "tier": calls["tier"], "probability": calls["probability"].round(4), "due_date": calls["due_date"].dt.date,
        "recommended_action": calls["action"].map(words), "action_key": calls["action"],
    })
    for name in FIELDS[1:]:
        sheet[name] = ""
    return sheet


def record_outcomes(data, *, store, campaign_id: int, source: str = "upload", filename: str | None = None,
                    mapping: dict[str, str] | None = None, recorded_by: str | None = None,
                    allow_changes: bool = False) -> RecordedOutcomes:
    """Check and store a batch of outcomes: ``data`` is a sheet (path, bytes or file, read like any upload) or
    a frame already in the outcome columns (the app's editor). Bad rows refuse the whole batch
    (:class:`~churn_core.campaigns.outcomes.OutcomeError`); replacing a final result needs ``allow_changes``
    (:class:`~churn_core.campaigns.outcomes.OutcomeConflictError`). Either way nothing stored changes unless
    the batch is stored, as the next version."""
    if source not in SOURCES:
        raise ParameterError(f"The outcome source must be one of {list(SOURCES)}. Got {source!r}.",
                             code="bad_parameter", name="source", value=str(source))
    campaign = store.campaign(campaign_id)
    members = store.campaign_members(campaign_id)
    if isinstance(data, pd.DataFrame):
        raw, found = data, dict(mapping) if mapping else {f: f for f in FIELDS if f in data.columns}
    else:
        raw, found = read_outcomes(data, filename=filename, mapping=mapping)
    check = check_outcomes(raw, members=members, start=campaign.start, mapping=found)
    refuse(check)
    change = merge_outcomes(store.campaign_outcomes(campaign_id), check.frame, allow_changes=allow_changes)
    batch = None
    if len(change.rows):
        batch = store.save_outcomes(campaign_id, change.rows, source=source, recorded_by=recorded_by,
                                    file_name=filename, replaced=len(change.replaced))
    return RecordedOutcomes(check=check, change=change, batch=batch)


def observable_logs(store, campaign_id: int) -> tuple:
    """The stored visit-log versions that run past the campaign's start (newest first): the logs its results
    can be observed on."""
    campaign = store.campaign(campaign_id)
    if campaign.window_days is None:
        return ()
    out = []
    for version in reversed(store.list_datasets().versions):
        meta = store.events_meta(version.version) if version.kind == "events" else None
        if meta and pd.Timestamp(meta["as_of_context"]["as_of"]) > pd.Timestamp(campaign.start):
            out.append(version)
    return tuple(out)


def observe_campaign(store, campaign_id: int, *, version: int, recorded_by: str | None = None,
                     allow_changes: bool = False) -> RecordedOutcomes:
    """Read every campaign customer's result, treated or control, from the stored visit log ``version`` (a
    later log than the one the campaign was drawn from) and store it as the next outcome version."""
    campaign = store.campaign(campaign_id)
    if campaign.window_days is None:
        raise ParameterError(f"Campaign {campaign_id} was not drawn from a visit log, so its results cannot be "
                             "observed on one. Upload the call centre's results instead.",
                             code="campaign_not_events", campaign=campaign_id)
    events = store.load_events(version)
    window = (store.events_meta(version) or {}).get("context", {}).get("window") or {}
    types = tuple(window.get("visit_types") or ()) or None
    members = store.campaign_members(campaign_id)
    observed = observe_outcomes(events.frame, members=members, start=campaign.start, window_days=campaign.window_days,
                                id_column="customer_id", time_column="event_time", type_column="event_type",
                                visit_types=types)
    frame = observed[["customer_id", "result"]]
    return record_outcomes(frame, store=store, campaign_id=campaign_id, source="observed",
                           filename=f"v{version}", recorded_by=recorded_by, allow_changes=allow_changes)


def report(store, campaign_id: int) -> CampaignReport:
    """The measured effect of a stored campaign, from its current outcomes."""
    campaign = store.campaign(campaign_id)
    return campaign_report(store.campaign_members(campaign_id), store.campaign_outcomes(campaign_id),
                           campaign=campaign)


def last_finished(store) -> CampaignReport | None:
    """The report of the newest campaign with no pending customer and results in both arms (None if none)."""
    for campaign in store.list_campaigns():
        if not campaign.outcome_version:
            continue
        measured = report(store, campaign.id)
        if measured.finished and measured.verdict != "no_results":
            return measured
    return None


def campaign_state(campaign, measured: CampaignReport | None) -> str:
    """``launched`` (no outcome yet), ``running`` (some customers pending) or ``finished``."""
    if not campaign.outcome_version or measured is None:
        return "launched"
    return "finished" if measured.finished else "running"


__all__ = ["LaunchedCampaign", "RecordedOutcomes", "launch_campaign", "call_sheet", "record_outcomes",
           "observable_logs", "observe_campaign", "report", "last_finished", "campaign_state"]
