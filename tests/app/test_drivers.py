"""The Drivers page: churn by any column, a cross tab of any two, and the driver ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from tests.app.conftest import texts


def open_drivers(app):
    at = app.run()
    return at.switch_page("pages/drivers.py").run()


def test_drivers_defaults_to_service_calls(app):
    at = open_drivers(app)
    assert not at.exception
    assert at.selectbox(key="driver_column").value == "number_customer_service_calls"
    assert len(at.get("plotly_chart")) == 3
    assert "Customers with 4 or more number_customer_service_calls churn at" in texts(at)


def test_drivers_column_pick_updates_the_takeaway(app):
    at = open_drivers(app)
    at.selectbox(key="driver_column").select("international_plan").run()
    expected = cc.churn_by_category(cc.load_dataset(cc.BUNDLED_CSV), column="international_plan").contrast()
    assert f"international_plan = yes churns at {expected.high_rate * 100:.1f}%" in texts(at)


def test_drivers_numeric_column_is_binned(app):
    at = open_drivers(app)
    at.selectbox(key="driver_column").select("total_day_charge").run()
    assert "10 equal-sized bins" in texts(at)
    table = at.dataframe[0].value
    assert len(table) == 10 and table["Customers"].sum() == 5000


def test_drivers_crosstab_same_column_asks_for_another(app):
    at = open_drivers(app)
    at.selectbox(key="xt_cols").select(at.selectbox(key="xt_rows").value).run()
    assert "Pick two different columns." in [i.value for i in at.info]
    assert len(at.get("plotly_chart")) == 2


def test_drivers_ranking_top_row(app):
    at = open_drivers(app)
    ranking = at.dataframe[-1].value
    expected = cc.driver_ranking(cc.load_dataset(cc.BUNDLED_CSV)).table
    assert ranking.iloc[0, 0] == expected.at[0, "column"] == "international_plan"
    # means have three significant digits, whatever the column's size
    calls = ranking.set_index("Column").loc["number_customer_service_calls"]
    shown = expected.set_index("column").loc["number_customer_service_calls"]
    assert calls["Mean (churned)"] == f"{shown['mean_churned']:.2f}" != str(shown["mean_churned"])
    minutes = ranking.set_index("Column").loc["total_day_minutes"]
    assert minutes["Mean (retained)"] == f"{expected.set_index('column').at['total_day_minutes', 'mean_retained']:,.0f}"
    # a category has no mean: a dash, not "None"
    assert not ranking[["Mean (churned)", "Mean (retained)"]].isin(["None", "nan"]).any().any()
    assert (ranking.set_index("Column").loc["state", ["Mean (churned)", "Mean (retained)"]] == "–").all()
    assert "The strongest linear driver is international_plan" in texts(at)


def test_drivers_in_chinese(app):
    app.session_state["lang"] = "zh"
    at = open_drivers(app)
    assert not at.exception
    assert at.title[0].value == "流失驱动因素"
    assert "驱动因素排序" in [s.value for s in at.subheader]


@pytest.fixture
def leaky_db(app_db):
    """The bundled data plus two columns that are another model's output (they give churn away)."""
    frame = pd.read_csv(cc.BUNDLED_CSV)
    noise = np.random.default_rng(0).uniform(0, 0.001, len(frame))
    frame["Naive_Bayes_1"] = np.where(frame["churn"] == "yes", 1 - noise, noise).round(5)
    frame["Naive_Bayes_2"] = (1 - frame["Naive_Bayes_1"]).round(5)
    dataset = cc.load_dataset(frame.to_csv(index=False).encode(), filename="cards.csv")
    assert dataset.report.leakage == ("Naive_Bayes_1", "Naive_Bayes_2")
    cc.Store(app_db).save_dataset(dataset)
    return app_db


@pytest.mark.parametrize(("lang", "note"), [
    pytest.param("en", "Left out as leakage (they separate churn almost perfectly", id="en"),
    pytest.param("zh", "以下列视为数据泄漏而未列入", id="zh"),
])
def test_drivers_leave_leakage_out_and_say_so(app, leaky_db, lang, note):
    app.session_state["lang"] = lang
    at = open_drivers(app)
    assert not at.exception
    captions = [c.value for c in at.caption if note in c.value]
    assert len(captions) == 1 and captions[0].endswith("Naive_Bayes_1, Naive_Bayes_2" + ("." if lang == "en" else "。"))
    assert not {"Naive_Bayes_1", "Naive_Bayes_2"} & set(at.dataframe[-1].value.iloc[:, 0])
    assert "Naive_Bayes_1" not in at.selectbox(key="driver_column").options
    assert at.dataframe[-1].value.iloc[0, 0] == "international_plan"  # the ranking without them


def test_drivers_without_leakage_have_no_note(app):
    at = open_drivers(app)
    assert "Left out as leakage" not in texts(at)


@pytest.mark.parametrize(("lang", "sentence"), [
    pytest.param("en", "The strongest driver is Contract (ROC-AUC alone 0.", id="en"),
    pytest.param("zh", "最强的驱动因素是 Contract（单列 ROC-AUC 0.", id="zh"),
])
def test_drivers_rank_a_categorical_first_on_telco_data(app, ibm_db, lang, sentence):
    app.session_state["lang"] = lang
    at = open_drivers(app)
    assert not at.exception
    ranking = at.dataframe[-1].value
    assert ranking.iloc[0, 0] == "Contract"
    assert ranking.iloc[0, 1] == ("categorical" if lang == "en" else "分类")
    assert not {"column", "kind", "auc", "correlation", "direction", "top_level"} & set(ranking.columns)
    assert ("ROC-AUC alone" if lang == "en" else "单列 ROC-AUC") in ranking.columns
    page = texts(at)
    assert sentence in page and "Month-to-month" in page
    assert at.selectbox(key="driver_column").value == "Contract"  # no service calls: the strongest driver
