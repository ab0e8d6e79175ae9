"""The Risk page: scores, filters, the KPI strip, the call list, one customer's panel, and exports."""

from __future__ import annotations

import pytest

import churn_core as cc
from tests.app.conftest import texts
from ui.risk_views import CUSTOMER_KEY


def open_risk(app, lang: str | None = None, **state):
    if lang:
        app.session_state["lang"] = lang
    for key, value in state.items():
        app.session_state[key] = value
    return app.run().switch_page("pages/risk.py").run()


def test_without_a_champion_the_page_points_to_models(app):
    at = open_risk(app)
    assert not at.exception
    assert "No champion model yet" in texts(at)


def test_kpis_and_call_list_match_the_stored_scores(trained_app, trained_app_db):
    at = open_risk(trained_app)
    assert not at.exception, at.exception
    store = cc.Store(trained_app_db)
    (score_set,) = store.list_score_sets()
    scores = store.load_scores(score_set.id)
    active = scores[scores["status"] == "active"]
    metrics = {m.label: m.value for m in at.metric}
    # the call list and its KPIs are the customers still here; those who left are counted apart
    assert metrics["Customers"] == f"{len(active):,}" == "4,293"
    assert metrics["Expected churners"] == f"{round(active['probability'].sum()):,}"  # whole customers
    shown = texts(at)
    assert "Already churned: 707 customers (14.1% of this file)" in shown
    assert "Every customer is scored by a model that never saw them" in shown
    assert "Scored by run 1 (telecom_churn v1) · XGBoost." in shown  # which run, on which data
    assert "are in the medium tier or above" in shown  # the bundled data leaves the upper tiers nearly empty
    table = at.dataframe[0].value
    assert len(table) == 500 and "Churned" not in set(table["Tier"])
    assert table["Probability"].is_monotonic_decreasing or table["Priority"].is_monotonic_decreasing
    assert table["Reason 1"].str.contains(r"\((?:[+−])\d").all()
    assert not table["Probability"].isin([0.0, 100.0]).any()


def test_expected_churners_shows_whole_customers_without_a_trailing_zero(trained_app, monkeypatch):
    monkeypatch.setattr(cc.RiskSelection, "expected_churners", property(lambda self: 1715.0))
    at = open_risk(trained_app)
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Expected churners"] == "1,715"


def test_a_filter_and_a_selection_show_the_customer_panel(trained_app, trained_app_db):
    at = open_risk(trained_app)
    at.multiselect(key="risk_f_tier").set_value(["critical"]).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert (table["Tier"] == "Critical").all() and len(table) > 0
    store = cc.Store(trained_app_db)
    scores = store.load_scores(store.list_score_sets()[0].id)
    critical = scores[(scores["probability"] >= 0.8) & (scores["status"] == "active")]
    assert at.metric[0].value == f"{len(critical):,}"
    row = int(critical.sort_values("probability", ascending=False)["row_index"].iloc[0])
    at.session_state[CUSTOMER_KEY] = row
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert f"Customer {scores['customer_id'].iloc[row]}" in [s.value for s in at.subheader]
    assert "Top reasons" in shown and "Recommended actions" in shown and "Customers like this one" in shown
    assert "Lowers the risk" in shown and "Calibration" not in shown  # no calibration bar: the points add up
    assert len(at.get("plotly_chart")) == 3  # gauge, waterfall, percentiles


def test_a_churned_customer_opened_by_id_is_not_called(trained_app, trained_app_db):
    store = cc.Store(trained_app_db)
    scores = store.load_scores(store.list_score_sets()[0].id) if store.list_score_sets() else None
    data = store.load_dataset()
    row = int((data.target() == 1).to_numpy().nonzero()[0][0])
    at = open_risk(trained_app, **{CUSTOMER_KEY: row})
    assert not at.exception, at.exception
    shown = texts(at)
    assert "This customer has already churned" in shown and "Recommended actions" not in shown
    assert scores is None or scores["status"].iloc[row] == "churned"


def test_chinese_panel(trained_app):
    at = open_risk(trained_app, lang="zh", **{CUSTOMER_KEY: 0})
    assert not at.exception, at.exception
    shown = texts(at)
    assert "主要原因" in shown and "建议行动" in shown
    assert "个百分点" in shown


def test_switching_the_language_twice_keeps_the_risk_page_whole(trained_app):
    """en -> zh -> en -> zh with a customer open: every new sentence follows the language, nothing breaks."""
    at = open_risk(trained_app, **{CUSTOMER_KEY: 0})
    for lang, words in (("zh", ("已流失：", "在网客户中", "主要原因")), ("en", ("Already churned:", "Top reasons")),
                        ("zh", ("已流失：", "降低风险的因素", "个百分点"))):
        at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, at.exception
        shown = texts(at)
        assert all(w in shown for w in words), (lang, [w for w in words if w not in shown])
        assert ("Already churned" in shown) == (lang == "en")


def test_the_datasets_currency_survives_switching_the_language(trained_app, trained_app_db):
    store = cc.Store(trained_app_db)
    store.set_currency(store.active_version().version, "€")
    at = open_risk(trained_app)
    assert not at.exception, at.exception
    for lang, label, caption in (
            (None, "Expected value at risk", "customer value (total_day_charge + 3 more columns, €)"),
            ("zh", "预期风险价值", "客户价值（total_day_charge 等 3 列之和，€）"),
            ("en", "Expected value at risk", "customer value (total_day_charge + 3 more columns, €)")):
        if lang is not None:
            at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, at.exception
        shown = {m.label: m.value for m in at.metric}
        assert shown[label].startswith("€"), (lang, shown)
        assert caption in texts(at), lang
        assert ("价值（€）" if lang == "zh" else "Value (€)") in at.dataframe[0].value.columns


# -- a dataset without a value column (a bank's file: Balance and EstimatedSalary are not guessed) ----------

@pytest.fixture(scope="module")
def bank_template(tmp_path_factory):
    """A bank-like file as the active dataset and a quick champion trained on it."""
    from tests.conftest import bank_customers

    folder = tmp_path_factory.mktemp("bank")
    store = cc.Store(folder / "bank.duckdb")
    frame = bank_customers(800, seed=3)
    version = store.save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="bank.csv")).version
    cc.run_training(store, store.load_dataset(version), promote=True, artifact_root=folder / "models",
                    models=("logistic_regression",), cv_folds=3)
    return store.path


@pytest.fixture
def bank_app(bank_template, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT
    from tests.conftest import copy_db

    db = copy_db(bank_template, tmp_path)
    monkeypatch.setenv(cc.store.ENV_VAR, str(db))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), db


def test_without_a_value_column_the_page_asks_for_a_value_per_customer(bank_app):
    app, db = bank_app
    store = cc.Store(db)
    assert store.active_version().target == "Exited" and store.load_dataset().roles.value == ()
    at = open_risk(app)
    assert not at.exception, at.exception
    assert "This dataset has no value column" in texts(at)
    ltv = at.number_input(key="risk_ltv")
    assert ltv.label.startswith("Value per customer (no value column") and ltv.value is None
    # Nothing invented: no value, ranked by probability alone.
    shown = {m.label: m.value for m in at.metric}
    assert shown["Expected value at risk"] == "–"
    table = at.dataframe[0].value
    assert "Value ($)" not in table and "Priority" not in table  # nothing invented, no column of dashes
    assert table["Probability"].is_monotonic_decreasing and table["Probability"].nunique() > 1

    ltv.set_value(1500.0).run()  # entered once, stored with the dataset
    assert not at.exception, at.exception
    assert store.value_per_customer(store.active_version().version) == 1500.0
    shown = {m.label: m.value for m in at.metric}
    assert shown["Expected value at risk"].startswith("$")
    assert r"customer value (value per customer, \$)" in texts(at)  # "$" escaped: never a formula
    table = at.dataframe[0].value
    assert (table["Value ($)"] == 1500.0).all()
    assert "$1,500" in at.number_input(key="risk_ltv").help
