"""The Overview page shows the active dataset's KPIs, takeaways and charts, in both languages."""

from __future__ import annotations

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
    assert "Value lost to churn" in shown


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
