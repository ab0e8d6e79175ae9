"""Every page on a visit-log dataset, in English and Chinese, switching language more than once."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc
from tests.app.conftest import ROOT, texts


@pytest.fixture
def events_app(events_db, monkeypatch) -> AppTest:
    monkeypatch.setenv(cc.store.ENV_VAR, str(events_db))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def open_page(app: AppTest, page: str, lang: str = "en") -> AppTest:
    app.session_state["lang"] = lang
    at = app.run().switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_overview_defines_the_population_and_shows_recency_rfm_and_cohorts(events_app, events_db):
    at = open_page(events_app, "overview")
    shown = texts(at)
    ctx = cc.Store(events_db).load_dataset().events
    assert f"no visit in the {ctx.window_days} days after {ctx.test_cutoff.date()}" in shown
    assert "had already lapsed" in shown
    sidebar = "\n".join(str(c.value) for c in at.sidebar.get("caption"))
    assert f"Visit log · churn: no visit in {ctx.window_days} days" in sidebar
    assert "churn" in shown and "× as often as the rest" in shown  # the recency ratio sentence
    frames = [df.value for df in at.dataframe]
    assert any("Segment" in f.columns and "Important value" in set(f["Segment"]) for f in frames)


def test_models_page_says_by_how_much_the_model_beats_the_recency_rule(events_app, events_db):
    at = open_page(events_app, "models")
    shown = texts(at)
    store = cc.Store(events_db)
    summary = store.get_run(store.champion().run_id).params["summary"]
    assert "Out of time: the model against the simplest rule" in shown
    assert f"no visit in the last {summary['baseline']['days']:,.0f} days" in shown
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Lift over the rule"] == f"+{summary['lift']:.3f}"
    assert metrics["Rule ROC-AUC"] == f"{summary['baseline']['roc_auc']:.3f}"
    assert summary["population"]["test_cutoff"] in shown  # the population beside the figures


def test_risk_page_scores_as_of_the_last_date_and_shows_history(events_app, events_db):
    at = open_page(events_app, "risk")
    shown = texts(at)
    store = cc.Store(events_db)
    as_of = store.load_as_of(store.active_version().version)
    ctx = as_of.events
    assert f"As of {ctx.cutoff.date()}: the probability of no visit in the next {ctx.window_days} days" in shown
    assert f"{ctx.lapsed:,} customers had already lapsed" in shown
    assert "Risk over time" in shown and "moved to a riskier tier" in shown
    assert "Of the" in shown and "flagged critical or high" in shown  # the backtest
    assert any(b.label == "Lapsed customers (CSV)" for b in at.get("download_button"))


def test_risk_customer_panel_words_reasons_for_visits_and_draws_the_history(events_app):
    events_app.session_state["risk_customer"] = 0
    at = open_page(events_app, "risk")
    shown = texts(at)
    visit_words = ("No visit for", "Last visit", "visits in the last 12 months", "on the previous quarter",
                   "in the last 12 months", "Average ticket", "Lifecycle stage")
    assert any(w in shown for w in visit_words), shown[:2000]


@pytest.mark.parametrize("page", ["overview", "drivers", "models", "risk", "roi", "data"])
def test_every_page_works_on_a_visit_log_switching_language_twice(events_app, page):
    at = open_page(events_app, page, lang="en")
    for lang in ("zh", "en", "zh"):
        at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, (page, lang, [e.value for e in at.exception])
        shown = texts(at)
        has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in shown)
        assert has_chinese == (lang == "zh") or page == "data", (page, lang)
    if page == "risk":
        assert "截至" in texts(at) and "天内不再到店的概率" in texts(at)
    if page == "models":
        assert "跨时间检验" in texts(at)


def test_a_missing_history_is_scored_in_the_background_and_said(events_db, monkeypatch):
    """A champion promoted elsewhere leaves only the last date scored: the page says the history is coming
    and scores the earlier dates in the background."""
    import time

    import duckdb

    store = cc.Store(events_db)
    last = store.load_dataset().events.as_of.date()
    with duckdb.connect(str(events_db)) as con:
        con.execute("DELETE FROM scores WHERE score_set IN (SELECT id FROM score_sets WHERE as_of <> ?)", [last])
        con.execute("DELETE FROM score_sets WHERE as_of <> ?", [last])
    champion = store.champion()
    assert len(cc.score_history(store, 1, run_id=champion.run_id, model=champion.model).dates) == 1
    monkeypatch.setenv(cc.store.ENV_VAR, str(events_db))
    at = open_page(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "risk")
    assert "runs in the background now" in texts(at)
    expected = cc.history_dates(store.load_dataset().events)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the job scores one date after another
        dates = cc.score_history(store, 1, run_id=champion.run_id, model=champion.model).dates
        if len(dates) == len(expected):
            break
        time.sleep(0.5)
    assert dates == expected and dates[0] == store.load_dataset().events.test_cutoff


def test_campaigns_page_on_a_visit_log_before_and_after_a_campaign(events_app, events_db):
    """The seventh page on the second schema: empty first (pointing to the Risk page), then a campaign drawn from
    the visit log's scored list, with its window, in both languages."""
    at = open_page(events_app, "campaigns")
    assert "A campaign is launched from the Risk page" in texts(at)
    from churn_core import campaigns as cmp

    store = cc.Store(events_db)
    dataset = store.load_as_of(store.active_version().version)
    selection = cc.filter_customers(cc.score_dataset(dataset, store=store, explain=0),
                                    where=cc.RiskFilter(tiers=("critical", "high", "medium")))
    launched = cmp.launch_campaign(selection, store=store, spec=cmp.CampaignSpec(name="Visit-log pilot", seed=3))
    assert launched.campaign.window_days == dataset.events.window_days
    for lang in ("zh", "en"):
        at = open_page(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), "campaigns", lang=lang)
        assert "Visit-log pilot" in texts(at)
    assert "No results yet" in texts(at)
