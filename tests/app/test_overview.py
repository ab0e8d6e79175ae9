"""The Overview page shows the active dataset's KPIs, takeaways and charts, in both languages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from tests.app.conftest import texts


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_bundled_kpis(app):
    at = app.run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Customers"] == "5,000"
    assert shown["Churned"] == "707"
    assert shown["Churn rate"] == "14.14%"
    # The value is named with what it sums and its currency.
    assert shown["Value lost to churn"] == "$46.3K"
    assert r"the value (total_day_charge + 3 more columns, \$) of the customers who churned" in texts(at)


def test_overview_takeaways_come_from_the_numbers(app):
    at = app.run()
    dataset = cc.load_dataset(cc.BUNDLED_CSV)
    thr = cc.threshold_analysis(dataset)
    page = texts(at)
    assert f"Customers with {thr.threshold:g} or more number_customer_service_calls churn at " \
           f"{thr.rate_at_or_above * 100:.1f}%" in page
    intl = cc.churn_by_category(dataset, column="international_plan").contrast()
    assert f"international_plan = yes churns at {intl.high_rate * 100:.1f}%" in page
    assert len(at.get("plotly_chart")) == 5  # two plans, service calls, tenure, state map


def test_overview_segments_table(app):
    at = app.run()
    segments = at.dataframe[0].value
    assert len(segments) == 4
    assert segments.iloc[0, 0].startswith("Dual high risk")


def test_overview_reproduces_the_report(app, report_db):
    at = app.run()
    assert not at.exception
    assert metrics(at)["Churn rate"] == "14.07%"
    assert metrics(at)["Customers"] == "4,250"
    page = texts(at)
    assert "international_plan = yes churns at 42.2%" in page
    assert "churn at 50.7%, 4.6× the rest (10.9%; n=335)" in page


def test_overview_leaves_a_leaking_plan_flag_out(app, app_db):
    frame = pd.read_csv(cc.BUNDLED_CSV)
    frame["account_closed"] = np.where(frame["churn"] == "yes", "yes", "no")  # recorded after leaving
    cc.Store(app_db).save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="closed.csv"))
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert "account_closed = yes churns at" not in page
    assert "Left out as leakage (they separate churn almost perfectly" in page and "): account_closed." in page
    assert len(at.get("plotly_chart")) == 5  # the two real plans, service calls, tenure, state map


@pytest.mark.parametrize("how", ["session", "query"], ids=["sidebar-choice", "url-lang-zh"])
def test_overview_in_chinese(app, how):
    if how == "session":
        app.session_state["lang"] = "zh"
    else:
        app.query_params["lang"] = "zh"
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "流失总览"
    assert metrics(at)["客户数"] == "5,000"
    assert "倍" in texts(at)


def test_overview_error_is_shown_not_raised(app, monkeypatch):
    from ui import state

    def broken():
        raise cc.SchemaError("x", code="no_target")

    monkeypatch.setattr(state, "description", broken)
    at = app.run()
    assert not at.exception
    assert "no churn target column" in at.error[0].value


INTERNAL_KEYS = ("dual_high_risk", "repeated_complaints", "heavy_day_users", "international_plan",
                 "Not applicable", "不适用")


@pytest.mark.parametrize(("lang", "contract", "report_caption"), [
    pytest.param("en", "Contract = Month-to-month churns at", "telecom churn report", id="en"),
    pytest.param("zh", "Contract 为 Month-to-month 的客户流失率", "电信流失报告", id="zh"),
])
def test_overview_builds_its_sections_from_a_telco_exports_drivers(app, ibm_db, lang, contract, report_caption):
    app.session_state["lang"] = lang
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert contract in page
    assert "InternetService" in page and "PaymentMethod" in page
    assert "SeniorCitizen" not in page  # too weak a driver to chart
    assert not [key for key in INTERNAL_KEYS if key in page]
    assert report_caption not in page  # the report's segments do not apply here
    assert not at.info  # no "this dataset has no ... column" boxes
    subheaders = [s.value for s in at.subheader]
    assert subheaders[0] == ("Strongest categories" if lang == "en" else "最强的分类驱动因素")
    assert len(at.get("plotly_chart")) == 4  # Contract, InternetService, PaymentMethod, tenure bands


def test_overview_tenure_bands_in_years_on_bank_data(app, app_db):
    from tests.conftest import bank_customers

    frame = bank_customers()
    cc.Store(app_db).save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="bank.csv"))
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert "Age" in page and "Customers with" in page  # the top driver's curve
    assert not [key for key in INTERNAL_KEYS if key in page]
    figures = "".join(chart.proto.spec for chart in at.get("plotly_chart"))
    assert "Tenure (years)" in figures and "10+" in figures and "6–11" not in figures
    at.sidebar.radio(key="lang_choice").set_value("zh").run()
    page = texts(at)
    # an age is no count: "达到 61 及以上", never "61 次" (times), which only service calls say
    assert re.search(r"Age 达到 \d+ 及以上的客户流失率", page) and " 次及以上" not in page


@pytest.mark.parametrize(("lang", "caption", "first"), [
    pytest.param("en", "Rule-based segments from the telecom churn report; they overlap.", "Dual high risk", id="en"),
    pytest.param("zh", "来自电信流失报告的规则细分；各群体之间有重叠。", "双重高风险", id="zh"),
])
def test_overview_bundled_segments_in_the_users_language(app, lang, caption, first):
    app.session_state["lang"] = lang
    at = app.run()
    assert caption in texts(at)
    assert at.dataframe[0].value.iloc[0, 0].startswith(first)
    assert not [key for key in INTERNAL_KEYS[:3] if key in texts(at)]


def test_overview_partly_applicable_segments_are_not_named_by_key(app, app_db):
    frame = pd.read_csv(cc.BUNDLED_CSV).drop(columns=["international_plan"])
    cc.Store(app_db).save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="no_intl.csv"))
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert "The rules that need columns this dataset lacks are left out." in page
    assert "telecom churn report" not in page
    assert not [key for key in INTERNAL_KEYS if key in page]
    assert list(at.dataframe[0].value.iloc[:, 0].str[:18]) == ["Repeated complaint", "Heavy day users (d"]


def test_overview_of_a_credit_card_file_has_no_empty_sections(app, app_db):
    from tests.conftest import credit_cards

    frame = credit_cards().drop(columns=["Naive_Bayes_1", "Naive_Bayes_2"])
    cc.Store(app_db).save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="cards.csv"))
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert not at.info  # no "this dataset has no ... column" boxes
    assert [s.value for s in at.subheader][:1] == ["Strongest numeric driver"]
    assert "Strongest categories" not in page  # Card_Category barely matters: no chart, no empty heading
    assert "Total_Trans_Ct = " in page and " churns at " in page  # fewer transactions, more churn
    assert not [key for key in INTERNAL_KEYS if key in page] and "telecom churn report" not in page
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_of_a_bank_churners_file_is_built_from_its_own_drivers(app, app_db, lang):
    """The Kaggle BankChurners layout: no telecom column, its drivers all but one numeric. The page charts the
    income band, the two strongest distinct numeric drivers (the transaction amount, a twin of the count, is
    skipped), tenure in months, and names the leaking Naive Bayes columns once."""
    from tests.conftest import NAIVE_BAYES, bank_churners
    from ui.i18n import text

    cc.Store(app_db).save_dataset(cc.load_dataset(bank_churners().to_csv(index=False).encode(),
                                                  filename="BankChurners.csv"))
    app.query_params["lang"] = lang
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert [s.value for s in at.subheader][:3] == [text(k, lang=lang) for k in (
        "overview.categories", "overview.curves_many", "overview.tenure")]
    assert "Income_Category" in page and "Total_Trans_Ct" in page and "Contacts_Count_12_mon" in page
    assert "Total_Trans_Amt" not in page
    assert text("common.leakage_left_out", lang=lang, columns=", ".join(NAIVE_BAYES)) in page
    assert len(at.get("plotly_chart")) == 4  # income band, two curves, tenure bands
    assert not at.info and not [key for key in INTERNAL_KEYS if key in page] and "telecom" not in page


def test_the_datasets_currency_survives_switching_the_language(app, app_db):
    """The currency is the data's: en -> zh -> en changes only the wording of the amount (K/M or 万)."""
    at = app.run()
    store = cc.Store(app_db)
    store.set_currency(store.active_version().version, "€")
    at.run()
    assert not at.exception, at.exception
    for lang, label, value, unit in (
            ("zh", "流失带走的价值", "€4.63万", "（total_day_charge 等 3 列之和，€）"),
            ("en", "Value lost to churn", "€46.3K", "(total_day_charge + 3 more columns, €)")):
        at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, at.exception
        assert metrics(at)[label] == value, (lang, metrics(at))
        assert unit in texts(at), lang
