"""The Campaigns page: the list, one campaign's measured effect, and recording outcomes (en and zh)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc
from churn_core import campaigns as cmp
from tests.app.conftest import ROOT, texts
from tests.conftest import copy_db


@pytest.fixture(scope="module")
def campaign_template(tmp_path_factory):
    """The bundled data, a logistic regression champion, its scores, and campaign 1 launched on the whole
    scored list (seed 42) with outcomes recorded for every member (control churns more)."""
    folder = tmp_path_factory.mktemp("campaigns")
    store = cc.Store(folder / "campaigns.duckdb")
    version = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV)).version
    cc.run_training(store, store.load_dataset(version), models=("logistic_regression",), cv_folds=3, promote=True,
                    artifact_root=folder / "models")
    scored = cc.score_dataset(store.load_dataset(version), store=store)
    spec = cmp.CampaignSpec(name="October call-back", owner="Li", seed=42, start=date(2026, 10, 1), contact_cost=5.0)
    launched = cmp.launch_campaign(cc.filter_customers(scored), store=store, spec=spec, created_by="test")
    members = store.campaign_members(launched.campaign.id)
    rng = np.random.default_rng(0)
    lost = rng.random(len(members)) < np.where(members["arm"] == "contact", 0.2, 0.4)
    outcomes = pd.DataFrame({"customer_id": members["customer_id"], "result": np.where(lost, "lost", "retained"),
                             "contacted": np.where(members["arm"] == "contact", "yes", "no")})
    cmp.record_outcomes(outcomes, store=store, campaign_id=launched.campaign.id, source="cli")
    return store.path


@pytest.fixture
def campaign_db(campaign_template, tmp_path, monkeypatch):
    db = copy_db(campaign_template, tmp_path)
    monkeypatch.setenv(cc.store.ENV_VAR, str(db))
    return db


@pytest.fixture
def campaign_app(campaign_db) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def open_page(app: AppTest, lang: str = "en") -> AppTest:
    app.session_state["lang"] = lang
    at = app.run().switch_page("pages/campaigns.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe]


def test_the_page_shows_the_measured_uplift_the_tiers_and_the_takeaway(campaign_app, campaign_db):
    at = open_page(campaign_app)
    report = cmp.report(cc.Store(campaign_db), 1)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Contacted churn rate"] == f"{report.contacted.churn_rate:.1%}"
    assert metrics["Control churn rate"] == f"{report.control.churn_rate:.1%}"
    assert metrics["Uplift (churn points avoided)"] == f"{report.uplift.estimate * 100:+.1f} pts"
    assert metrics["Customers saved"] == f"{round(report.customers_saved.estimate):,}"
    assert metrics["ROI"] == f"{report.roi:.0%}"
    shown = texts(at)
    saved = report.customers_saved
    assert report.verdict == "saved"
    assert (f"Calling saved {round(saved.estimate):,} customers (95% interval "
            f"{round(saved.low):,}–{round(saved.high):,})") in shown
    assert "net of cost" in shown and "intention to treat" in shown
    assert f"{report.uplift.low * 100:+.1f} to {report.uplift.high * 100:+.1f}" in shown  # the uplift's interval
    by_tier = next(f for f in frames(at) if "Tier" in f.columns and "Uplift (pts)" in f.columns)
    assert len(by_tier) == len(report.by_tier)
    for row, shown_row in zip(report.by_tier.to_dict("records"), by_tier.to_dict("records")):
        assert shown_row["Contacted (n)"] == row["n_contact"]
        expected = "too few customers" if row["too_few"] else f"{row['uplift'] * 100:+.1f}"
        assert shown_row["Uplift (pts)"] == expected
    assert report.by_tier["too_few"].any() and "too few customers" in by_tier["Uplift (pts)"].tolist()
    scorecard = next(f for f in frames(at) if "Playbook target" in f.columns)
    passive = scorecard[scorecard["Measure"] == "Passive retention (our control's)"].iloc[0]
    assert passive["Measured"] == f"{1 - report.control.churn_rate:.1%}"
    listed = next(f for f in frames(at) if "State" in f.columns)
    assert listed["Name"].tolist() == ["October call-back"] and listed["State"].tolist() == ["Finished"]
    assert any(b.label == "Call sheet (CSV)" for b in at.get("download_button"))


def test_without_campaigns_the_page_says_where_they_are_launched(app_db):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at = open_page(app)
    assert "No campaign yet" in texts(at)
    links = at.get("page_link")
    assert any("Risk page" in str(link.proto.label) for link in links)
    assert not at.metric


def _upload_tab(at: AppTest):
    return next(u for u in at.get("file_uploader"))


def test_a_bad_sheet_names_each_problem_and_stores_nothing(campaign_app, campaign_db):
    store = cc.Store(campaign_db)
    before = store.outcome_batches(1)
    known = store.campaign_members(1)["customer_id"].astype(str).tolist()
    sheet = pd.DataFrame({"customer_id": [known[0], "NOPE-1", known[1], known[1]],
                          "result": ["retained", "lost", "maybe", "lost"],
                          "contact_date": ["2026-10-05", "2026-10-06", "2026-09-01", "not a day"]})
    at = open_page(campaign_app)
    at.get("file_uploader")[0].upload("results.csv", sheet.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    mapped = {s.label: s for s in at.selectbox}
    assert mapped["Customer id"].value == "customer_id" and mapped["Contact date"].value == "contact_date"
    assert mapped["Result"].value == ""  # 1 of 4 results unknown: not detected by its values, so picked by hand
    mapped["Result"].set_value("result").run()
    at.button(key="campaign_check_1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("Nothing was stored" in e for e in errors)
    assert any("not in this campaign" in e and "NOPE-1" in e for e in errors)
    assert any("repeat a customer id" in e for e in errors)
    assert any("not retained, lost or pending" in e and "maybe" in e for e in errors)
    assert any("before the campaign started" in e for e in errors)
    assert any("cannot be read" in e for e in errors)
    assert store.outcome_batches(1) == before


def test_a_changed_final_result_waits_for_consent_then_is_a_new_version(campaign_app, campaign_db):
    store = cc.Store(campaign_db)
    current = store.campaign_outcomes(1)
    first = current.iloc[0]
    flipped = "lost" if first["result"] == "retained" else "retained"
    sheet = pd.DataFrame({"customer_id": [first["customer_id"]], "result": [flipped]})
    at = open_page(campaign_app)
    at.get("file_uploader")[0].upload("fix.csv", sheet.to_csv(index=False).encode(), "text/csv").run()
    at.button(key="campaign_check_1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("change the final result of 1 customers" in w.value for w in at.warning)
    assert len(store.outcome_batches(1)) == 1
    at.button(key="campaign_store_changes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    batches = store.outcome_batches(1)
    assert [b.version for b in batches] == [1, 2] and batches[-1].replaced == 1
    assert any("Stored outcome version v2" in s.value for s in at.success)


def test_a_viewer_sees_no_upload_widgets(campaign_app, monkeypatch):
    monkeypatch.setattr("ui.auth.role", lambda: "viewer")
    at = open_page(campaign_app)
    assert not at.get("file_uploader")
    assert not [b for b in at.button if b.key and b.key.startswith("campaign_")]
    assert "Only analysts record outcomes" in texts(at)
    assert at.metric  # the measured effect is for everyone


def test_switching_language_back_and_forth_shows_chinese(campaign_app):
    at = open_page(campaign_app, lang="en")
    for lang in ("zh", "en", "zh"):
        at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, (lang, [e.value for e in at.exception])
        shown = texts(at)
        if lang == "zh":
            assert "挽留活动" in shown and "按分配比较" in shown
            assert any(m.label == "联系组流失率" for m in at.metric)
        else:
            assert "Measured effect" in shown


def test_the_editor_saves_only_the_rows_that_changed(campaign_app, campaign_db):
    from ui.campaign_views import _editable, changed_rows

    at = open_page(campaign_app)
    at.button(key="campaign_save_edits_1").click().run()  # nothing edited: nothing stored
    assert not at.exception, [e.value for e in at.exception]
    assert any("Nothing was edited" in i.value for i in at.info)
    assert len(cc.Store(campaign_db).outcome_batches(1)) == 1
    before = _editable(1)
    after = before.copy()
    after.loc[3, "feedback"] = "wants a better plan"
    rows = changed_rows(before, after)
    assert rows["customer_id"].tolist() == [before.loc[3, "customer_id"]]
    assert list(rows.columns) == list(cmp.FIELDS)


def test_a_visit_log_campaign_reads_its_results_from_a_log(events_db, monkeypatch):
    store = cc.Store(events_db)
    version = store.active_version().version
    as_of = store.load_as_of(version)
    scored = cc.score_dataset(as_of, store=store)
    start = (as_of.events.as_of - pd.Timedelta(days=as_of.events.window_days + 30)).date()
    spec = cmp.CampaignSpec(name="Service reminder", seed=1, start=start)
    cmp.launch_campaign(cc.filter_customers(scored), store=store, spec=spec)
    monkeypatch.setenv(cc.store.ENV_VAR, str(events_db))
    at = open_page(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
    assert "No results yet" in texts(at)
    at.button(key="campaign_observe_1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    batches = store.outcome_batches(1)
    assert [(b.version, b.source) for b in batches] == [(1, "observed")]
    assert any("Stored outcome version v1" in s.value for s in at.success)
    assert any("Observed on a visit log" in df.value.to_string() for df in at.dataframe)  # the history


def test_a_demo_campaign_is_played_forward_and_measured(tmp_path, monkeypatch):
    """A campaign on the after-sales demo (launched as the Risk page would, without a model here): the demo
    button plays the calls and the next months forward, and the page then reports the measured uplift, whose
    interval the success message invites to compare with the simulation's true effect."""
    store = cc.Store(tmp_path / "demo.duckdb")
    version = cc.store.ensure_demo(store, "aftersales")
    frame = store.load_as_of(version.version).frame
    order = np.argsort(-frame["days_since_last_visit"].to_numpy(), kind="stable")[:1200]
    picked = pd.DataFrame({"id": frame["customer_id"].to_numpy()[order], "tier": "high", "probability": 0.8,
                           "action": "retention_call", "due_hours": 72, "value": 3000.0,
                           "days_since_last_event": frame["days_since_last_event"].to_numpy()[order]})
    plan = cmp.plan_campaign(picked, spec=cmp.CampaignSpec(name="Demo", seed=1, start=date(2026, 9, 30),
                                                           window_days=240))
    store.save_campaign(plan, dataset_version=version.version, as_of=date(2026, 9, 30), currency="¥")
    monkeypatch.setenv(cc.store.ENV_VAR, str(store.path))
    at = open_page(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
    assert "The demo can play the calls" in texts(at)
    at.button(key="campaign_demo_1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    flashed = " ".join(s.value for s in at.success)
    at.run()  # the page as it reruns after storing
    report = cmp.report(store, 1)
    assert report.finished and [b.source for b in store.outcome_batches(1)] == ["simulated", "observed"]
    assert store.active_version().version == version.version
    assert "The simulation's true effect was" in flashed and "stored as version 2" in flashed
    saved = report.customers_saved
    assert f"Calling saved {round(saved.estimate):,} customers" in texts(at)
    assert {m.label: m.value for m in at.metric}["Contacted churn rate"] == f"{report.contacted.churn_rate:.1%}"
    assert "campaign_demo_1" not in [b.key for b in at.button]  # played once: the button is gone
    at = open_page(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), lang="zh")
    assert f"{round(saved.estimate):,}" in texts(at) and "挽留" in texts(at)
