"""Campaign design: stratified, seeded assignment; actions and due dates; the sample-size check; bad input."""

from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from churn_core.campaigns import CampaignSpec, campaign_candidates, plan_campaign
from churn_core.errors import ParameterError, SchemaError


def customers(n_critical=300, n_high=500, n_medium=7, *, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tiers = ["critical"] * n_critical + ["high"] * n_high + ["medium"] * n_medium
    n = len(tiers)
    return pd.DataFrame({"id": [f"C{i:05d}" for i in range(n)], "tier": tiers, "probability": rng.uniform(0.4, 0.95, n),
                         "action": np.where(np.arange(n) % 2, "senior_agent", "retention_call"),
                         "due_hours": pd.array([24 if t == "critical" else 72 if t == "high" else None for t in tiers],
                                               dtype="Int64"),
                         "value": rng.uniform(100, 1000, n)})


def spec(**kw) -> CampaignSpec:
    return CampaignSpec(**{"name": "October call-back", "seed": 11, "start": date(2026, 10, 1), **kw})


def test_each_tier_holds_back_its_share_at_random():
    plan = plan_campaign(customers(), spec=spec())
    counts = plan.counts.set_index("tier")
    assert counts.loc["critical", "control"] == 60 and counts.loc["critical", "contact"] == 240
    assert counts.loc["high", "control"] == 100 and counts.loc["high", "contact"] == 400
    assert counts.loc["medium", "control"] == 1  # round(0.2 x 7) = 1
    assert plan.arm_size("contact") + plan.arm_size("control") == 807
    held = plan.members.loc[(plan.members["arm"] == "control") & (plan.members["tier"] == "critical"), "customer_id"]
    assert list(held) != [f"C{i:05d}" for i in range(60)]  # drawn at random, not the first ids
    assert plan.members["customer_id"].tolist() == customers()["id"].tolist()  # members keep the list's order


def test_the_same_seed_draws_the_same_assignment_and_another_seed_does_not():
    a = plan_campaign(customers(), spec=spec(seed=5)).members["arm"]
    b = plan_campaign(customers(), spec=spec(seed=5)).members["arm"]
    c = plan_campaign(customers(), spec=spec(seed=6)).members["arm"]
    assert a.equals(b) and not a.equals(c)


def test_a_missing_seed_is_drawn_and_recorded():
    plan = plan_campaign(customers(), spec=spec(seed=None))
    assert isinstance(plan.spec.seed, int)
    again = plan_campaign(customers(), spec=spec(seed=plan.spec.seed))
    assert again.members["arm"].equals(plan.members["arm"])


def test_actions_per_tier_override_the_recommended_one_and_due_dates_follow_the_tier():
    plan = plan_campaign(customers(), spec=spec(actions=(("critical", "senior_agent"),)))
    m = plan.members
    assert set(m.loc[m["tier"] == "critical", "action"]) == {"senior_agent"}
    assert set(m.loc[m["tier"] == "high", "action"]) == {"senior_agent", "retention_call"}
    assert set(m.loc[m["tier"] == "critical", "due_date"]) == {pd.Timestamp("2026-10-02")}
    assert set(m.loc[m["tier"] == "high", "due_date"]) == {pd.Timestamp("2026-10-04")}
    assert set(m.loc[m["tier"] == "medium", "due_date"]) == {pd.Timestamp("2026-10-15")}  # no due time: two weeks


def test_the_sample_size_check_uses_the_arms_and_the_expected_churn():
    plan = plan_campaign(customers(), spec=spec())
    assert plan.check.n_contact == plan.arm_size("contact") and plan.check.n_control == plan.arm_size("control")
    assert plan.check.base_rate == pytest.approx(plan.members["probability"].mean())
    assert 0.05 < plan.check.detectable < 0.15 and not plan.check.too_small
    small = plan_campaign(customers(40, 0, 0), spec=spec())
    assert small.check.too_small and small.check.reason == "arm_too_small"


def test_candidates_leave_out_customers_who_already_churned():
    frame = customers(3, 3, 0).assign(tier=["critical", "churned", "critical", "high", "high", "churned"])
    data = pd.DataFrame({"days_since_last_event": [10, 20, 30, 40, 50, 60]})
    selection = SimpleNamespace(scored=SimpleNamespace(frame=frame, dataset=SimpleNamespace(frame=data)),
                                mask=np.array([True, True, True, True, False, True]))
    out = campaign_candidates(selection)
    assert list(out["id"]) == ["C00000", "C00002", "C00003"]
    assert list(out["days_since_last_event"]) == [10, 30, 40]


@pytest.mark.parametrize(("kw", "match"), [
    ({"name": "  "}, "name of 1 to 80"),
    ({"control_share": 0.9}, "between 0.05 and 0.5"),
    ({"control_share": True}, "between 0.05 and 0.5"),
    ({"seed": -1}, "seed must be"),
    ({"start": "2026-10-01"}, "start must be a date"),
    ({"contact_cost": -1.0}, "cost of one contact"),
    ({"window_days": 0}, "window must be"),
])
def test_a_bad_spec_is_refused(kw, match):
    with pytest.raises(ParameterError, match=match):
        spec(**kw)


def test_bad_lists_are_refused():
    with pytest.raises(ParameterError, match="at least 2 customers"):
        plan_campaign(customers(1, 0, 0), spec=spec())
    with pytest.raises(SchemaError, match="ids appear twice"):
        plan_campaign(pd.concat([customers(2, 0, 0)] * 2), spec=spec())
    with pytest.raises(SchemaError, match="are missing"):
        plan_campaign(customers().drop(columns=["tier"]), spec=spec())
