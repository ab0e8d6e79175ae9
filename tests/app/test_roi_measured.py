"""The ROI page's "measured" start: the last finished campaign's figures, the big numbers equal to its report."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core import roi_page
from churn_core.campaigns import plan_campaign
from tests.app.conftest import texts
from tests.app.test_roi import metrics, open_roi
from ui.i18n import literal, text


def finished_campaign(db, *, n: int = 600, value: float | None = 900.0, seed: int = 3) -> cc.CampaignReport:
    """A stored campaign on the active dataset with every result in: about half the held-back customers
    churned and a third of the contacted ones; nine contacted customers in ten were reached."""
    store = cc.Store(db)
    customers = pd.DataFrame({"id": [f"C{i:04d}" for i in range(n)], "tier": np.where(np.arange(n) % 3, "high",
                                                                                       "critical"),
                              "probability": 0.5, "value": value if value is not None else np.nan,
                              "action": "retention_call", "due_hours": 72})
    plan = plan_campaign(customers, spec=cc.CampaignSpec(name="October call-back", seed=seed, contact_cost=12.0,
                                                         start=date(2026, 10, 1)))
    campaign = store.save_campaign(plan, dataset_version=store.active_version().version)
    members = plan.members
    rng = np.random.default_rng(seed)
    contact = (members["arm"] == "contact").to_numpy()
    lost = rng.random(n) < np.where(contact, 0.33, 0.5)
    reached = contact & (rng.random(n) < 0.9)
    sheet = pd.DataFrame({"customer_id": members["customer_id"], "contacted": np.where(reached, "yes", "no"),
                          "contact_date": np.where(reached, "2026-10-05", ""),
                          "result": np.where(lost, "lost", "retained")})
    sheet.loc[~contact, "contacted"] = ""
    cc.record_outcomes(sheet, store=store, campaign_id=campaign.id, source="cli")
    return cc.campaigns.report(store, campaign.id)


def test_the_measured_start_reproduces_the_campaign_report(app, app_db):
    open_roi(app, mode="analyst")
    from ui.roi_views import STARTS

    assert len(app.selectbox(key="roi_w_start").options) == len(STARTS)  # no finished campaign: no "measured"
    report = finished_campaign(app_db)
    assert report.finished and report.verdict != "no_results"
    at = app.run()
    assert not at.exception, at.exception
    assert len(at.selectbox(key="roi_w_start").options) == len(STARTS) + 1
    assert at.selectbox(key="roi_w_start").options[-1] == "Measured: campaign “October call-back”"
    at.selectbox(key="roi_w_start").select_index(len(STARTS)).run()
    assert not at.exception, at.exception
    shown = metrics(at)
    currency = cc.Store(app_db).currency(cc.Store(app_db).active_version().version)
    money = lambda x: roi_page.money(x, currency, lang="en")  # noqa: E731
    assert shown["Customers saved"] == f"{round(report.customers_saved.estimate):,}"
    assert shown["Value retained"] == money(report.value_saved.estimate)
    assert shown["Net benefit"] == money(report.net.estimate)  # value saved minus the campaign's cost
    assert shown["ROI"] == f"{report.roi:.0%}"
    words = texts(at)
    assert (f"Measured by campaign “October call-back”: baseline churn {report.control.churn_rate:.1%} (the "
            f"held-back customers), target churn {report.contacted.churn_rate:.1%} (the contacted customers), "
            f"{report.contacted.assigned:,} customers (the contacted arm), {report.reached:,} contacts at "
            f"{literal(money(12.0))} each.") in words
    assert "Also from the campaign: the value of a customer, " in words
    assert "Assumed: a customer lifetime of" in words


def test_without_a_value_the_measured_start_says_the_value_is_assumed(app, app_db):
    open_roi(app, mode="analyst", lang="zh")
    finished_campaign(app_db, value=None)
    store = cc.Store(app_db)
    store.set_value_per_customer(store.active_version().version, 1500.0)
    at = app.run()
    from ui.roi_views import STARTS

    at.selectbox(key="roi_w_start").select_index(len(STARTS)).run()
    assert not at.exception, at.exception
    words = texts(at)
    assert "由活动“October call-back”实测" in words
    assert "假设：每位客户的价值" in words and "（数据中没有）" in words


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_risk_page_offers_the_measured_retention(trained_app, trained_app_db, lang):
    report = finished_campaign(trained_app_db)
    measured = cc.measured_likelihoods(report)
    assert set(measured) == {"retention_call"}
    trained_app.session_state["lang"] = lang
    at = trained_app.run().switch_page("pages/risk.py").run()
    assert not at.exception, at.exception
    rate = f"{measured['retention_call']:.0%}"
    toggle = at.toggle(key="risk_use_measured")
    assert toggle.label == ("Use the retention measured by campaign “October call-back” (per action)" if lang == "en"
                            else "按措施使用活动“October call-back”实测的挽留率")
    priority, ident, act = (text(f"risk.c_{k}", lang=lang) for k in ("priority", "id", "action"))
    before = at.dataframe[0].value.set_index(ident)
    toggle.set_value(True).run()
    assert not at.exception, at.exception
    action = text("action.retention_call", lang=lang)
    split = (f"measured: {action}: {rate}; assumed: 30% for the others" if lang == "en"
             else f"实测：{action}：{rate}；假设：其他措施 30%")
    assert split in [c.value for c in at.caption]
    after = at.dataframe[0].value.set_index(ident)
    both = before.index.intersection(after.index)
    ratio = after.loc[both, priority] / before.loc[both, priority]
    calls = (before.loc[both, act] == action).to_numpy()
    assert calls.any() and (~calls).any()
    # retention calls are ranked with the measured likelihood, every other action with the typed 30%
    assert np.allclose(ratio[calls], measured["retention_call"] / 0.3, rtol=1e-6)
    assert np.allclose(ratio[~calls], 1.0)
