"""A simulated retention campaign on the after-sales demo (churn_core/campaigns/demo.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from churn_core.campaigns.demo import AGENTS, CALL_COLUMNS, NO_ANSWER, SimulatedCampaign, simulate_campaign
from churn_core.errors import ParameterError
from churn_core.events.demo import CampaignEffect, generate_visits

START = pd.Timestamp("2026-09-30")
N = 4_000


def _longest_without_a_visit(demo, k: int) -> np.ndarray:
    """A stand-in for the top-risk list: the ``k`` customers longest without a visit at the log's end."""
    last = demo.visits.groupby("customer_id", observed=True)["visit_date"].max()
    return last.sort_values(kind="stable").index[:k].to_numpy()


def _arms(demo, k: int, share: float = 0.8, seed: int = 17) -> tuple[list[str], list[str]]:
    ids = np.random.default_rng(seed).permutation(_longest_without_a_visit(demo, k))
    cut = int(round(share * k))
    return list(ids[:cut]), list(ids[cut:])


@pytest.fixture(scope="module")
def plain():
    return generate_visits(N, seed=7)


@pytest.fixture(scope="module")
def arms(plain):
    # a mixed list: the 300 longest without a visit and 300 others, so both mechanisms (win-back, lower hazard) act
    ids = plain.customers["customer_id"].astype(object).to_numpy()
    longest = _longest_without_a_visit(plain, 300)
    rest = np.random.default_rng(3).choice(np.setdiff1d(ids, longest), 300, replace=False)
    both = np.random.default_rng(4).permutation(np.concatenate([longest, rest]))
    return list(both[:480]), list(both[480:])


@pytest.fixture(scope="module")
def campaign(arms) -> SimulatedCampaign:
    contact, control = arms
    return simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N)


def test_the_calls_sheet_has_one_row_per_contact_customer_and_no_result(campaign, arms):
    calls = campaign.calls
    assert campaign.to_frame() is calls
    assert list(calls.columns) == list(CALL_COLUMNS)
    assert not {"result", "visited", "churned", "came_back"} & set(calls.columns)
    assert calls["customer_id"].tolist() == arms[0]
    assert 0.78 < calls["contacted"].mean() < 0.92  # reach 0.85
    assert calls["action_taken"].isna().all()  # the app fills the recommended action
    assert set(calls["agent"]) <= set(AGENTS) and calls["agent"].nunique() > 6
    assert calls["channel"].value_counts(normalize=True).idxmax() == "phone"
    assert set(calls["channel"]) == {"phone", "sms", "wechat"}


def test_unreached_customers_have_no_contact_date_and_no_answer(campaign):
    calls = campaign.calls
    unreached, reached = calls[~calls["contacted"]], calls[calls["contacted"]]
    assert len(unreached) > 20
    assert unreached["contact_date"].isna().all() and (unreached["feedback"] == NO_ANSWER).all()
    days = (reached["contact_date"] - START).dt.days
    assert reached["contact_date"].notna().all() and days.between(1, 10).all() and days.nunique() == 10
    assert NO_ANSWER not in set(reached["feedback"]) and reached["feedback"].nunique() >= 4


def test_the_truth_gives_the_intention_to_treat_uplift(campaign, arms):
    truth = campaign.truth
    contact, control = arms
    assert truth["customer_id"].tolist() == contact + control
    assert (truth["arm"] == "contact").sum() == len(contact) and (truth["arm"] == "control").sum() == len(control)
    in_contact = truth["arm"] == "contact"
    churned, churned_untreated = ~truth["visited"], ~truth["visited_if_untreated"]
    itt = (churned_untreated[in_contact].astype(int) - churned[in_contact]).mean()
    assert campaign.true_uplift > 0.03
    assert campaign.true_uplift == pytest.approx(itt)
    assert campaign.true_contact_rate == pytest.approx(churned[in_contact].mean())
    assert campaign.counterfactual_contact_rate == pytest.approx(churned_untreated[in_contact].mean())
    assert campaign.true_control_rate == pytest.approx(churned[~in_contact].mean())
    # only reached customers are treated: the others do exactly what they would have done anyway
    untouched = ~truth["contacted"]
    assert (truth.loc[untouched, "visited"] == truth.loc[untouched, "visited_if_untreated"]).all()
    assert not truth.loc[~in_contact, "contacted"].any()
    # a call never loses a visit (hazard_factor <= 1)
    assert (truth["visited"] | ~truth["visited_if_untreated"]).all()
    assert truth["contacted"].sum() == campaign.calls["contacted"].sum()


def test_the_visits_are_the_plain_log_up_to_the_start_and_run_on_after_it(campaign, plain):
    history = campaign.visits[campaign.visits["visit_date"] <= START].reset_index(drop=True)
    pd.testing.assert_frame_equal(history, plain.visits)
    pd.testing.assert_frame_equal(campaign.customers, plain.customers)
    assert campaign.observed_end == date(2027, 6, 27)  # 270 days on
    assert campaign.visits["visit_date"].max() > START + pd.Timedelta(days=240)
    # feedback hints at the outcome: reached customers who came back say "satisfied" or "will_book" more often
    calls = campaign.calls.merge(campaign.truth[["customer_id", "visited"]], on="customer_id")
    reached = calls[calls["contacted"]]
    happy = reached["feedback"].isin(["satisfied", "will_book"])
    assert happy[reached["visited"]].mean() > happy[~reached["visited"]].mean() + 0.3


def test_nobody_reached_means_no_uplift(arms):
    contact, control = arms
    none = simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N, reach=0.0)
    assert not none.calls["contacted"].any() and none.calls["contact_date"].isna().all()
    assert none.true_uplift == 0.0
    assert (none.truth["visited"] == none.truth["visited_if_untreated"]).all()


def test_the_same_seed_gives_the_same_campaign(campaign, arms):
    contact, control = arms
    again = simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N)
    pd.testing.assert_frame_equal(again.calls, campaign.calls)
    pd.testing.assert_frame_equal(again.truth, campaign.truth)
    other = simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N, seed=8)
    assert not other.calls["contacted"].equals(campaign.calls["contacted"])


def test_visit_types_say_what_counts_as_coming_back(arms, campaign):
    contact, control = arms
    accessories = simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N,
                                    visit_types=("accessories",))
    assert accessories.true_control_rate > campaign.true_control_rate + 0.2  # few come back for accessories alone


def test_the_default_effect_is_clearly_detectable_at_realistic_scale():
    # 2,000 customers longest without a visit at 2026-09-30 (20,000 in all), split 80/20: the lead's scenario
    contact, control = _arms(generate_visits(), 2_000)
    sim = simulate_campaign(contact_ids=contact, control_ids=control)
    assert len(sim.calls) == 1_600 and (sim.truth["arm"] == "control").sum() == 400
    assert 0.08 <= sim.true_uplift <= 0.16, sim.true_uplift
    measured = sim.true_control_rate - sim.true_contact_rate
    assert 0.08 <= measured <= 0.16, measured


@pytest.mark.parametrize("kwargs, message", [
    ({"contact_ids": []}, "'contact_ids' parameter of simulate_campaign must be at least one customer id"),
    ({"contact_ids": "C000001"}, "'contact_ids' .* collection of customer ids"),
    ({"contact_ids": ["C000001", "C000001"]}, "'contact_ids' .* distinct customer ids.*Drop the repeated ids"),
    ({"control_ids": ["C000001"]}, "'control_ids' .* ids outside the contact arm. Got \\['C000001'\\]"),
    ({"control_ids": ["C123456"]}, "'control_ids' .* ids of the demo's 300 customers .* Got \\['C123456'\\]"),
    ({"contact_ids": ["X1"]}, "'contact_ids' .* ids of the demo's 300 customers"),
    ({"reach": 1.5}, "'reach' parameter of simulate_campaign must be a share in \\[0, 1\\]. Got 1.5"),
    ({"window_days": 300}, "'window_days' .* at most extend_days \\(270\\). Got 300"),
    ({"extend_days": 0}, "'extend_days' .* at least 1"),
    ({"effect": 0.5}, "'effect' .* CampaignEffect"),
    ({"visit_types": ("oil",)}, "'visit_types' .* non-empty selection"),
    ({"start": "2026-09-30"}, "'start' .* a date"),
], ids=["no-contact", "one-string", "duplicates", "overlap", "unknown-control", "unknown-contact", "reach",
        "window-past-the-log", "no-extension", "effect", "visit-type", "start-text"])
def test_bad_parameters_are_refused(kwargs, message):
    args = {"contact_ids": ["C000001", "C000002"], "control_ids": ["C000003"], "n_customers": 300, **kwargs}
    with pytest.raises(ParameterError, match=message) as caught:
        simulate_campaign(**args)
    assert caught.value.code == "bad_parameter"


def test_a_campaign_effect_passes_through(arms):
    contact, control = arms
    strong = simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N,
                               effect=CampaignEffect(hazard_factor=0.2, win_back=0.6))
    weak = simulate_campaign(contact_ids=contact, control_ids=control, n_customers=N,
                             effect=CampaignEffect(hazard_factor=0.9, win_back=0.05))
    assert strong.effect.win_back == 0.6
    assert strong.true_uplift > weak.true_uplift + 0.05
