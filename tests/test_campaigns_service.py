"""Campaigns on a store: launch and members, the call sheet, outcomes stored as versions (bad sheets and conflicts
change nothing), observed results, and the after-sales demo played forward."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core.campaigns import CampaignSpec, OutcomeConflictError, OutcomeError, plan_campaign, report
from churn_core.campaigns.demo import is_demo_campaign, play_demo_campaign
from churn_core.campaigns.service import call_sheet, campaign_state, last_finished, observable_logs, record_outcomes
from churn_core.errors import NotFoundError, ParameterError
from churn_core.scoring import csv_bytes


def candidates(n=500) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"id": [f"=K{i}" if i == 0 else f"K{i}" for i in range(n)],
                         "tier": np.where(np.arange(n) < n // 2, "critical", "high"),
                         "probability": rng.uniform(0.6, 0.95, n), "action": "retention_call", "due_hours": 24,
                         "value": 400.0})


@pytest.fixture
def launched(tmp_store):
    version = cc.store.ensure_active_dataset(tmp_store)
    plan = plan_campaign(candidates(), spec=CampaignSpec(name="Pilot", owner="Li Na", seed=9, start=date(2026, 10, 1),
                                                         contact_cost=8.0))
    return tmp_store, tmp_store.save_campaign(plan, dataset_version=version.version, currency="¥"), plan


def test_a_stored_campaign_keeps_its_assignment_and_settings(launched):
    store, campaign, plan = launched
    assert (campaign.n_contact, campaign.n_control) == (400, 100)
    assert (plan.arm_size("contact"), plan.arm_size("control")) == (400, 100)
    assert campaign.seed == 9 and campaign.owner == "Li Na" and campaign.contact_cost == 8.0
    assert campaign.params["check"]["n_control"] == 100 and campaign.outcome_version == 0
    members = store.campaign_members(campaign.id)
    assert members["arm"].tolist() == plan.members["arm"].tolist()
    assert store.list_campaigns()[0].id == campaign.id and campaign_state(campaign, None) == "launched"
    with pytest.raises(NotFoundError, match="no campaign 99"):
        store.campaign(99)


def test_the_call_sheet_holds_the_contact_arm_only_and_exports_safely(launched):
    store, campaign, plan = launched
    sheet = call_sheet(store, campaign.id, lang="zh")
    contact = set(plan.members.loc[plan.members["arm"] == "contact", "customer_id"])
    assert set(sheet["customer_id"]) == contact and (sheet["assignment"] == "contact").all()
    assert (sheet["campaign_id"] == campaign.id).all() and sheet["recommended_action"].iloc[0] != "retention_call"
    assert {"due_date", "result", "contacted", "failure_reason"} <= set(sheet.columns)
    if "=K0" in contact:
        assert b"'=K0" in csv_bytes(sheet)  # a formula-like id is neutralised


def outcomes_sheet(members: pd.DataFrame, *, contact_lost=0.3, control_lost=0.5) -> bytes:
    rng = np.random.default_rng(1)
    lost = rng.random(len(members)) < np.where(members["arm"] == "contact", contact_lost, control_lost)
    frame = pd.DataFrame({"Customer ID": members["customer_id"], "Result": np.where(lost, "lost", "retained"),
                          "Contacted": np.where(members["arm"] == "contact", "yes", ""),
                          "Contact date": np.where(members["arm"] == "contact", "2026-10-04", "")})
    return frame.to_csv(index=False).encode()


def test_outcomes_are_stored_as_versions_and_measured(launched):
    store, campaign, _ = launched
    members = store.campaign_members(campaign.id)
    done = record_outcomes(outcomes_sheet(members), store=store, campaign_id=campaign.id, filename="calls.csv",
                           recorded_by="analyst")
    assert done.batch.version == 1 and done.change.new == 500
    measured = report(store, campaign.id)
    assert measured.finished and measured.contacted.n == 400 and measured.control.n == 100
    assert measured.cost == pytest.approx(400 * 8.0) and last_finished(store).campaign_id == campaign.id
    assert campaign_state(store.campaign(campaign.id), measured) == "finished"
    again = record_outcomes(outcomes_sheet(members), store=store, campaign_id=campaign.id, filename="calls.csv")
    assert again.batch is None and again.change.unchanged == 500  # nothing changed: no new version


def test_a_bad_sheet_or_a_conflict_changes_nothing(launched):
    store, campaign, _ = launched
    members = store.campaign_members(campaign.id)
    record_outcomes(outcomes_sheet(members), store=store, campaign_id=campaign.id, filename="calls.csv")
    before = store.campaign_outcomes(campaign.id)
    bad = pd.read_csv(pd.io.common.BytesIO(outcomes_sheet(members)), dtype=str, keep_default_na=False).head(5)
    bad.loc[0, "Customer ID"], bad.loc[1, "Result"], bad.loc[2, "Contact date"] = "NOPE", "maybe", "2026-01-01"
    with pytest.raises(OutcomeError, match="unknown_id.*unknown_result.*date_before_start") as err:
        record_outcomes(bad.to_csv(index=False).encode(), store=store, campaign_id=campaign.id, filename="bad.csv")
    assert {p.code for p in err.value.report.problems} == {"unknown_id", "unknown_result", "date_before_start"}
    flipped = pd.DataFrame({"customer_id": before["customer_id"].head(3),
                            "result": np.where(before["result"].head(3) == "lost", "retained", "lost")})
    with pytest.raises(OutcomeConflictError, match="already have a final result"):
        record_outcomes(flipped, store=store, campaign_id=campaign.id, source="editor")
    assert len(store.outcome_batches(campaign.id)) == 1
    pd.testing.assert_frame_equal(store.campaign_outcomes(campaign.id), before)
    changed = record_outcomes(flipped, store=store, campaign_id=campaign.id, source="editor", allow_changes=True)
    assert changed.batch.version == 2 and changed.batch.replaced == 3
    assert store.campaign_outcomes(campaign.id, version=1)["result"].tolist() == before["result"].tolist()


def test_a_campaign_from_a_customer_table_cannot_be_observed_on_a_log(launched):
    store, campaign, _ = launched
    assert observable_logs(store, campaign.id) == () and not is_demo_campaign(store, campaign)
    with pytest.raises(ParameterError, match="not drawn from a visit log"):
        cc.observe_campaign(store, campaign.id, version=1)
    with pytest.raises(ParameterError, match="not drawn from the bundled after-sales demo"):
        play_demo_campaign(store, campaign.id)


def test_the_after_sales_demo_plays_a_campaign_forward_and_the_interval_covers_the_truth(tmp_store):
    version = cc.store.ensure_demo(tmp_store, "aftersales")
    frame = tmp_store.load_as_of(version.version).frame
    order = np.argsort(-frame["days_since_last_visit"].to_numpy(), kind="stable")[:1500]
    picked = pd.DataFrame({"id": frame["customer_id"].to_numpy()[order],
                           "tier": np.where(np.arange(1500) < 500, "critical", "high"),
                           "probability": np.linspace(0.95, 0.6, 1500), "action": "retention_call", "due_hours": 24,
                           "value": 1000.0, "days_since_last_event": frame["days_since_last_event"].to_numpy()[order]})
    plan = plan_campaign(picked, spec=CampaignSpec(name="Demo", seed=1, start=date(2026, 9, 30), window_days=240))
    campaign = tmp_store.save_campaign(plan, dataset_version=version.version, as_of=date(2026, 9, 30), currency="¥")
    played = play_demo_campaign(tmp_store, campaign.id)
    assert tmp_store.active_version().version == version.version  # the later log is stored, not made active
    assert [b.source for b in tmp_store.outcome_batches(campaign.id)] == ["simulated", "observed"]
    assert [v.version for v in observable_logs(tmp_store, campaign.id)] == [played.log_version]
    measured = report(tmp_store, campaign.id)
    assert measured.finished and measured.verdict == "saved"
    assert measured.uplift.low <= played.true_uplift <= measured.uplift.high
    assert measured.reached == played.reached and 0.8 < played.reached / 1200 < 0.9
