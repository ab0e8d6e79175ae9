"""Designing a retention campaign: who is in it, who is held back as the control, what each is offered.

A campaign starts from a call list (the Risk page's filtered selection, or ``campaign create`` on the CLI).
:func:`campaign_candidates` takes the active customers of a :class:`~churn_core.risk.RiskSelection`;
:func:`plan_campaign` assigns each at random to ``contact`` or ``control``, stratified by risk tier (in each
tier, ``round(control_share x n)`` customers, at least one when the tier has two or more, are held back),
with a recorded seed, so the assignment can be drawn again. Control customers are never in the call
centre's sheet (:func:`call_sheet`); comparing them with the contacted arm is what measures the calls.

Before launch, :attr:`CampaignPlan.check` says the smallest drop in churn the campaign can detect at 80%
power, and whether it is too small to learn anything (:func:`churn_core.campaigns.stats.sample_size_check`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError

log = logging.getLogger(__name__)

ARMS = ("contact", "control")
DEFAULT_CONTROL_SHARE = 0.2
NO_DUE_DAYS = 14  # a tier with no due time (watch, low): the call is due within two weeks
MEMBER_COLUMNS = ("customer_id", "arm", "tier", "probability", "value", "action", "due_date",
                  "days_since_last_event")
_NEEDED = ("id", "tier", "probability", "action", "due_hours")


@dataclass(frozen=True, kw_only=True)
class CampaignSpec:
    """What the analyst chose: a name and owner, the control share and seed, an action per tier (overriding
    each customer's recommended one), the start day, the cost of one contact, and, for a visit log, the
    window (days) in which a customer must come back to count as retained."""

    name: str
    owner: str = ""
    control_share: float = DEFAULT_CONTROL_SHARE
    seed: int | None = None  # None: drawn at random, then recorded
    actions: tuple[tuple[str, str], ...] = ()  # (tier, action key)
    start: date = field(default_factory=date.today)
    contact_cost: float = 5.0
    window_days: int | None = None

    def __post_init__(self) -> None:
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > 80:
            raise ParameterError(f"A campaign needs a name of 1 to 80 characters. Got {self.name!r}. Type a short "
                                 "name, such as 'October call-back'.", code="campaign_bad_name", name=str(self.name))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "owner", str(self.owner or "").strip()[:80])
        share = self.control_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.05 <= share <= 0.5:
            raise ParameterError(f"The control share must be between 0.05 and 0.5 (5% to 50% of the customers "
                                 f"held back). Got {share!r}. The usual choice is 0.2.", code="campaign_bad_control",
                                 value=str(share))
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))
                                      or self.seed < 0):
            raise ParameterError(f"The seed must be a whole number of at least 0. Got {self.seed!r}.",
                                 code="bad_parameter", name="seed", value=str(self.seed))
        if not isinstance(self.start, date):
            raise ParameterError(f"The start must be a date. Got {self.start!r}; pass e.g. date(2026, 10, 1).",
                                 code="bad_parameter", name="start", value=str(self.start))
        cost = self.contact_cost
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not np.isfinite(cost) or cost < 0:
            raise ParameterError(f"The cost of one contact must be a number of at least 0. Got {cost!r}.",
                                 code="bad_parameter", name="contact_cost", value=str(cost))
        if self.window_days is not None and (not isinstance(self.window_days, (int, np.integer))
                                             or not 1 <= self.window_days <= 3650):
            raise ParameterError(f"The window must be 1 to 3650 days. Got {self.window_days!r}.",
                                 code="bad_parameter", name="window_days", value=str(self.window_days))

    def to_dict(self) -> dict:
        return {"name": self.name, "owner": self.owner, "control_share": float(self.control_share),
                "seed": None if self.seed is None else int(self.seed), "actions": [list(a) for a in self.actions],
                "start": self.start.isoformat(), "contact_cost": float(self.contact_cost),
                "window_days": self.window_days}


@dataclass(frozen=True, eq=False, kw_only=True)
class CampaignPlan:
    """A campaign ready to launch: its spec (with the seed drawn), its members (``MEMBER_COLUMNS``, one row a
    customer), and the sample-size check."""

    spec: CampaignSpec
    members: pd.DataFrame = field(repr=False)
    check: object  # stats.SampleSizeCheck

    @property
    def counts(self) -> pd.DataFrame:
        """Customers per tier and arm (columns contact and control), tiers in the order of the members."""
        table = pd.crosstab(self.members["tier"].astype(str), self.members["arm"]).reindex(columns=list(ARMS),
                                                                                           fill_value=0)
        order = list(dict.fromkeys(self.members["tier"].astype(str)))
        return table.reindex(order).rename_axis(index="tier", columns=None).reset_index()

    def arm_size(self, arm: str) -> int:
        return int((self.members["arm"] == arm).sum())

    def to_frame(self) -> pd.DataFrame:
        return self.members.copy()


def campaign_candidates(selection) -> pd.DataFrame:
    """The customers of a Risk-page selection a campaign can call: the active ones (a customer who already
    churned is not at risk), with id, tier, probability, value, recommended action and due time, plus days
    since the last event for a visit log."""
    scored = selection.scored
    frame = scored.frame
    keep = selection.mask & (frame["tier"].astype(str) != "churned").to_numpy()
    rows = frame.loc[keep, [c for c in ("id", "tier", "probability", "value", "action", "due_hours")
                            if c in frame]].copy()
    data = scored.dataset.frame
    if "days_since_last_event" in data:
        rows["days_since_last_event"] = data["days_since_last_event"].to_numpy()[keep]
    return rows.reset_index(drop=True)


def plan_campaign(customers: pd.DataFrame, *, spec: CampaignSpec, base_rate: float | None = None) -> CampaignPlan:
    """Assign ``customers`` (a :func:`campaign_candidates` frame) to contact or control, stratified by tier.

    ``base_rate`` is the churn rate expected without calls, for the sample-size check (default: the mean
    predicted probability of the customers)."""
    from .stats import sample_size_check

    missing = [c for c in _NEEDED if c not in customers]
    if missing:
        raise SchemaError(f"A campaign's customers need the columns {list(_NEEDED)}; {missing} are missing. Pass "
                          "the active customers of a scored selection (campaign_candidates).",
                          code="campaign_missing_columns", columns=", ".join(missing))
    if len(customers) < 2:
        raise ParameterError(f"A campaign needs at least 2 customers, one to call and one to hold back. The list "
                             f"has {len(customers)}. Widen the Risk page's filters (more tiers, a lower "
                             "probability).", code="campaign_too_few", customers=len(customers))
    ids = customers["id"].astype("string")
    dupes = ids[ids.duplicated()].unique()
    if len(dupes):
        raise SchemaError(f"A campaign lists each customer once. {len(dupes)} ids appear twice, e.g. "
                          f"{list(dupes[:3])}. Remove the duplicates from the list.", code="campaign_duplicate_ids",
                          count=len(dupes), examples=", ".join(map(str, dupes[:3])))
    seed = spec.seed if spec.seed is not None else int(np.random.SeedSequence().entropy % (2 ** 31))
    spec = _with_seed(spec, seed)
    rng = np.random.default_rng(seed)
    tier = customers["tier"].astype(str).to_numpy()
    arm = np.full(len(customers), "contact", dtype=object)
    for key in dict.fromkeys(tier):  # tiers in order of appearance: the same seed, the same draw
        rows = np.flatnonzero(tier == key)
        held = int(round(spec.control_share * rows.size))
        if rows.size >= 2:
            held = min(max(held, 1), rows.size - 1)
        arm[rng.permutation(rows)[:held]] = "control"
    override = dict(spec.actions)
    action = customers["action"].astype("string").to_numpy(dtype=object, na_value=None)
    action = np.array([override.get(k, a) or "retention_call" for k, a in zip(tier, action)], dtype=object)
    hours = pd.to_numeric(customers["due_hours"], errors="coerce").to_numpy(dtype=float)
    days = np.where(np.isnan(hours), NO_DUE_DAYS, np.ceil(hours / 24))
    due = pd.Timestamp(spec.start) + pd.to_timedelta(days, unit="D")
    value = pd.to_numeric(customers["value"], errors="coerce") if "value" in customers else np.nan
    since = pd.to_numeric(customers["days_since_last_event"], errors="coerce") \
        if "days_since_last_event" in customers else np.nan
    members = pd.DataFrame({
        "customer_id": ids.to_numpy(), "arm": arm, "tier": tier,
        "probability": customers["probability"].to_numpy(dtype=float),
        "value": np.asarray(value, dtype=float) if np.ndim(value) else np.full(len(customers), np.nan),
        "action": action, "due_date": due.normalize(),
        "days_since_last_event": np.asarray(since, dtype=float) if np.ndim(since) else np.full(len(customers), np.nan),
    })
    rate = float(members["probability"].mean()) if base_rate is None else float(base_rate)
    rate = min(max(rate, 1e-3), 1 - 1e-3)
    check = sample_size_check(int((arm == "contact").sum()), int((arm == "control").sum()), base_rate=rate)
    log.info("campaign %r: %d to contact, %d held back (seed %d)", spec.name, check.n_contact, check.n_control, seed)
    return CampaignPlan(spec=spec, members=members, check=check)


def _with_seed(spec: CampaignSpec, seed: int) -> CampaignSpec:
    from dataclasses import replace

    return replace(spec, seed=int(seed))
