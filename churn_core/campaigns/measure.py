"""Measuring a campaign: the churn of the contacted arm against the control's, with intervals, and what it saved.

The comparison is by assignment (intention to treat): every customer assigned to be contacted counts in
the contacted arm, reached or not, because the customers the call centre reaches are not a random half of
the arm. A customer's churn is their final result (``lost``); ``pending`` ones are counted apart. Each arm's
rate has a Wilson interval; the uplift (control rate minus contacted rate: positive when calling helped) has
Newcombe's hybrid score interval (:mod:`churn_core.campaigns.stats`). From it:

* customers saved = uplift x the contacted arm's size, with the interval scaled alike;
* value saved = customers saved x the mean value of a contacted customer;
* cost = reached customers x the cost of one contact (every assigned customer when no contact was recorded);
* net = value saved - cost, and ROI = net / cost.

The same per tier and per action (the action each customer was assigned: the control's customers carry the
action they would have got, so each action is compared with its own controls), with too few customers
marked instead of estimated. :func:`measured_case_inputs` turns a report into the ROI page's "measured"
scenario, whose business case reproduces the report's saved customers, value, cost and ROI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .stats import Interval, difference, proportion

MIN_N = 30  # per arm: fewer customers and a tier's or action's effect is not estimated
TARGETS = {"flagged_churn_rate": 0.5, "lead_time_days": 30.0, "retention_after_contact": 0.3}
PASSIVE_REFERENCE = (0.15, 0.20)  # the playbook's passive retention


@dataclass(frozen=True, kw_only=True)
class ArmResult:
    """One arm: customers assigned, with a final result (``n``), churned (lost), pending, and the churn rate
    with its Wilson interval."""

    arm: str
    assigned: int
    n: int
    churned: int
    pending: int
    churn_rate: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return {"n": self.n, "churned": self.churned, "churn_rate": _num(self.churn_rate), "ci_low": _num(self.ci_low),
                "ci_high": _num(self.ci_high), "assigned": self.assigned, "pending": self.pending}


@dataclass(frozen=True, eq=False, kw_only=True)
class CampaignReport:
    """The measured effect of one campaign (see the module docstring)."""

    campaign_id: int
    name: str
    contacted: ArmResult
    control: ArmResult
    uplift: Interval
    customers_saved: Interval
    value_per_customer: float | None
    value_saved: Interval | None
    cost: float
    cost_assumed: bool  # no contact was recorded: every assigned customer is costed as called
    reached: int
    net: Interval | None
    roi: float | None
    verdict: str  # saved, no_effect, harm, no_results (an arm without final results)
    finished: bool  # no customer pending
    retention_likelihood: float | None  # the share of would-be churners the calls kept: uplift / control rate
    by_tier: pd.DataFrame = field(repr=False)
    by_action: pd.DataFrame = field(repr=False)
    scorecard: pd.DataFrame = field(repr=False)

    @property
    def pending(self) -> int:
        return self.contacted.pending + self.control.pending

    def to_frame(self) -> pd.DataFrame:
        """The two arms, one row each."""
        return pd.DataFrame([{"arm": a.arm, **a.to_dict()} for a in (self.contacted, self.control)])

    def to_dict(self) -> dict:
        """JSON-ready: what ``campaign report --format json`` prints."""
        interval = lambda i: None if i is None else {"estimate": _num(i.estimate), "ci_low": _num(i.low),
                                                     "ci_high": _num(i.high)}
        return {"campaign": self.campaign_id, "name": self.name, "comparison": "intention_to_treat",
                "contacted": self.contacted.to_dict(), "control": self.control.to_dict(),
                "uplift": interval(self.uplift), "customers_saved": interval(self.customers_saved),
                "value_per_customer": _num(self.value_per_customer), "value_saved": interval(self.value_saved),
                "cost": _num(self.cost), "cost_assumed": self.cost_assumed, "reached": self.reached,
                "net": interval(self.net), "roi": _num(self.roi), "verdict": self.verdict, "finished": self.finished,
                "pending": self.pending, "retention_likelihood": _num(self.retention_likelihood),
                "by_tier": _records(self.by_tier), "by_action": _records(self.by_action),
                "scorecard": _records(self.scorecard)}


def _num(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (_num(v) if isinstance(v, (float, np.floating)) else v.item() if isinstance(v, np.generic) else v)
             for k, v in row.items()} for row in frame.to_dict("records")]


def _arm(frame: pd.DataFrame, arm: str) -> ArmResult:
    rows = frame[frame["arm"] == arm]
    result = rows["result"].astype("string")
    final = result.isin(["retained", "lost"])
    churned = int((result == "lost").sum())
    rate = proportion(churned, int(final.sum()))
    return ArmResult(arm=arm, assigned=len(rows), n=int(final.sum()), churned=churned,
                     pending=int((~final.fillna(False)).sum()), churn_rate=rate.estimate, ci_low=rate.low,
                     ci_high=rate.high)


def _joined(members: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    cols = ["customer_id", "contacted", "contact_date", "result"]
    right = outcomes[cols] if len(outcomes) else pd.DataFrame(columns=cols)
    frame = members.merge(right.astype({"customer_id": str}), how="left",
                          left_on=members["customer_id"].astype(str), right_on="customer_id",
                          suffixes=("", "_outcome"))
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("key_") or c == "customer_id_outcome"])
    frame["result"] = frame["result"].astype("string").fillna("pending")
    return frame


def _effect(frame: pd.DataFrame, *, min_n: int) -> dict:
    contact, control = _arm(frame, "contact"), _arm(frame, "control")
    too_few = min(contact.n, control.n) < min_n
    if contact.n and control.n:
        up = difference(control.churned, control.n, contact.churned, contact.n)
    else:
        up = Interval(estimate=float("nan"), low=float("nan"), high=float("nan"))
    return {"n_contact": contact.n, "n_control": control.n, "contact_rate": contact.churn_rate,
            "control_rate": control.churn_rate, "uplift": np.nan if too_few else up.estimate,
            "uplift_low": np.nan if too_few else up.low, "uplift_high": np.nan if too_few else up.high,
            "too_few": too_few}


def _groups(frame: pd.DataFrame, column: str, *, min_n: int) -> pd.DataFrame:
    rows = [{column: key, **_effect(part, min_n=min_n)}
            for key, part in frame.groupby(frame[column].astype(str), sort=False)]
    cols = [column, "n_contact", "n_control", "contact_rate", "control_rate", "uplift", "uplift_low", "uplift_high",
            "too_few"]
    return pd.DataFrame(rows, columns=cols)


def campaign_report(members: pd.DataFrame, outcomes: pd.DataFrame, *, campaign, min_n: int = MIN_N,
                    level: float = 0.95) -> CampaignReport:
    """The measured effect of ``campaign`` (a stored :class:`~churn_core.store.Campaign`) from its
    ``members`` (as assigned) and current ``outcomes`` (one row a customer)."""
    frame = _joined(members, outcomes)
    contact, control = _arm(frame, "contact"), _arm(frame, "control")
    if contact.n and control.n:
        uplift = difference(control.churned, control.n, contact.churned, contact.n, level=level)
    else:
        uplift = Interval(estimate=float("nan"), low=float("nan"), high=float("nan"), level=level)
    saved = uplift.scaled(contact.assigned)
    values = pd.to_numeric(frame.loc[frame["arm"] == "contact", "value"], errors="coerce")
    per_customer = float(values.mean()) if values.notna().any() else None
    value_saved = saved.scaled(per_customer) if per_customer is not None else None
    in_contact = frame["arm"] == "contact"
    contacted_flag = frame.loc[in_contact, "contacted"].astype("boolean")
    recorded = bool(contacted_flag.notna().any())
    reached = int(contacted_flag.fillna(False).sum()) if recorded else contact.assigned
    cost = reached * float(campaign.contact_cost)
    net = None if value_saved is None else Interval(estimate=value_saved.estimate - cost, low=value_saved.low - cost,
                                                    high=value_saved.high - cost, level=level)
    roi = None if net is None or cost <= 0 else net.estimate / cost
    if not (contact.n and control.n):
        verdict = "no_results"
    elif uplift.low > 0:
        verdict = "saved"
    elif uplift.high < 0:
        verdict = "harm"
    else:
        verdict = "no_effect"
    likelihood = None
    if verdict != "no_results" and control.churn_rate > 0:
        likelihood = float(np.clip(uplift.estimate / control.churn_rate, 0.0, 1.0))
    return CampaignReport(
        campaign_id=int(campaign.id), name=campaign.name, contacted=contact, control=control, uplift=uplift,
        customers_saved=saved, value_per_customer=per_customer, value_saved=value_saved, cost=cost,
        cost_assumed=not recorded, reached=reached, net=net, roi=roi, verdict=verdict,
        finished=contact.pending + control.pending == 0, retention_likelihood=likelihood,
        by_tier=_groups(frame, "tier", min_n=min_n), by_action=_groups(frame, "action", min_n=min_n),
        scorecard=_scorecard(frame, campaign=campaign, control=control, recorded=recorded))


def _scorecard(frame: pd.DataFrame, *, campaign, control: ArmResult, recorded: bool) -> pd.DataFrame:
    """The pilot's three figures beside the playbook's targets, and the measured passive retention."""
    rows = [{"metric": "flagged_churn_rate", "value": control.churn_rate, "target": TARGETS["flagged_churn_rate"],
             "n": control.n}]
    # Lead time (visit logs): how long before a flagged customer who did leave would have counted as lapsed
    # (no visit in the lookback, the Risk page's backtest's definition): lookback - days since the last visit,
    # over the control's lost customers (the contacted ones were called, so their lapse is not the flag's).
    lost = frame[(frame["result"] == "lost") & (frame["arm"] == "control")]
    since = pd.to_numeric(lost["days_since_last_event"], errors="coerce").dropna()
    lookback = (getattr(campaign, "params", None) or {}).get("lookback_days")
    if campaign.window_days and lookback and len(since):
        lead = float(np.median(np.maximum(lookback - since.to_numpy(), 0)))
        rows.append({"metric": "lead_time_days", "value": lead, "target": TARGETS["lead_time_days"], "n": len(since)})
    contact = frame[frame["arm"] == "contact"]
    if recorded:
        contact = contact[contact["contacted"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    final = contact[contact["result"].isin(["retained", "lost"])]
    retained = float((final["result"] == "retained").mean()) if len(final) else np.nan
    rows.append({"metric": "retention_after_contact", "value": retained, "target": TARGETS["retention_after_contact"],
                 "n": len(final)})
    rows.append({"metric": "passive_retention", "value": 1 - control.churn_rate if control.n else np.nan,
                 "target": np.nan, "n": control.n})
    out = pd.DataFrame(rows, columns=["metric", "value", "target", "n"])
    out["met"] = [None if np.isnan(t) or np.isnan(v) else bool(v >= t) for v, t in zip(out["value"], out["target"])]
    return out


def measured_likelihoods(report: CampaignReport) -> dict[str, float]:
    """The measured retention likelihood per action (uplift / control churn rate, clipped to 0-1), for the
    actions with enough customers in both arms and a control churn rate above zero."""
    out = {}
    for row in report.by_action.to_dict("records"):
        if not row["too_few"] and row["control_rate"] and row["control_rate"] > 0 and not np.isnan(row["uplift"]):
            out[str(row["action"])] = float(np.clip(row["uplift"] / row["control_rate"], 0.0, 1.0))
    return out


def measured_case_inputs(report: CampaignReport, *, ltv: float | None = None):
    """The ROI page's "measured" scenario: the campaign as it ran (its contacted arm, the control's churn as
    the baseline, the contacted arm's as the target, the cost per reached customer). Its business case
    reproduces the report: saved customers, value saved, cost and ROI. ``ltv`` replaces the mean value of a
    contacted customer (needed when the data has none)."""
    from ..errors import ParameterError
    from ..roi import CaseInputs

    if report.verdict == "no_results":
        raise ParameterError(f"Campaign {report.campaign_id} has no final results in one of its arms, so nothing is "
                             "measured yet. Record outcomes for both the contacted and the control customers.",
                             code="campaign_not_measured", campaign=report.campaign_id)
    value = ltv if ltv is not None else report.value_per_customer
    if value is None:
        raise ParameterError(f"Campaign {report.campaign_id}'s customers have no value, so the value saved is "
                             "unknown. Give the value of a customer (ltv).", code="roi_no_ltv")
    reached = max(report.reached, 0)
    return CaseInputs(customers=report.contacted.assigned, baseline_churn=report.control.churn_rate,
                      target_churn=report.contacted.churn_rate, ltv=float(value),
                      contact_cost=report.cost / reached if reached else 0.0, contacted=float(reached),
                      horizon_years=1)
