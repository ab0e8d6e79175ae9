"""Switching the active dataset between two schemas (the bundled telecom data with its champion, and a bank's
export the champion cannot score), with language switches in between: every page shows the active data's own
numbers and never the other dataset's, and nothing raises."""

from __future__ import annotations

import time

import pytest

import churn_core as cc
from tests.app.conftest import texts
from tests.conftest import bank_customers
from ui.i18n import text

BANK_ROWS = 600


@pytest.fixture
def two_schemas(trained_app_db) -> tuple[cc.Store, int]:
    """The trained bundled data (v1, active, its champion) and the bank export saved as v2, not active."""
    store = cc.Store(trained_app_db)
    frame = bank_customers(BANK_ROWS, seed=3)
    bank = store.save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="bank.csv"),
                              activate=False).version
    return store, bank


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def activate(at, version: int):
    """The analyst's way: the Data page's version picker, then "Make active"."""
    at = at.switch_page("pages/data.py").run()
    at = at.selectbox(key="version_pick").set_value(version).run()
    return at.button(key="activate_version").click().run()


def language(at, lang: str):
    return at.sidebar.radio(key="lang_choice").set_value(lang).run()


def test_each_page_shows_only_the_active_datasets_numbers(trained_app, two_schemas):
    store, bank = two_schemas
    telecom = store.load_dataset(1)
    churners = int(telecom.frame[telecom.roles.target].sum())  # 707 of 5,000
    bank_churners = int(store.load_dataset(bank).frame["Exited"].sum())
    at = trained_app.run()
    assert metrics(at)["Customers"] == "5,000"

    at = activate(at, bank)
    assert not at.exception, at.exception
    assert store.active_version().version == bank
    for lang in ("zh", "en", "zh", "en"):  # twice each way, on the bank data
        at = language(at, lang)
        assert not at.exception, (lang, at.exception)

    at = at.switch_page("pages/overview.py").run()
    shown = metrics(at)
    assert shown[text("kpi.customers", lang="en")] == f"{BANK_ROWS:,}"
    assert shown[text("kpi.churners", lang="en")] == f"{bank_churners:,}"
    assert "5,000" not in shown.values() and f"{churners:,}" not in shown.values()
    assert "Exited" in texts(at) and "total_day_minutes" not in texts(at)

    at = at.switch_page("pages/drivers.py").run()
    assert not at.exception, at.exception
    assert "Age" in texts(at) and "total_day_minutes" not in texts(at)

    at = at.switch_page("pages/risk.py").run()  # the telecom champion cannot score the bank's customers
    assert not at.exception, at.exception
    info = next(i.value for i in at.info if "cannot score" in i.value)
    assert "telecom_churn v1" in info and f"bank v{bank}" in info and "number_customer_service_calls" in info
    assert not at.metric and not at.dataframe  # no risk list, no KPI of the other dataset's customers

    at = at.switch_page("pages/roi.py").run()
    assert not at.exception, at.exception
    summary = texts(at)
    assert f"Of {BANK_ROWS:,} customers" in summary and "Of 5,000 customers" not in summary
    assert "not on the active" in summary  # the champion's curve is not used on another dataset

    at = language(activate(at, 1), "zh")  # back to the champion's own data, in Chinese
    assert not at.exception, at.exception
    at = at.switch_page("pages/risk.py").run()
    for _ in range(120):  # activating scored the data in the background: the page shows it once stored
        if at.exception or metrics(at):
            break
        time.sleep(0.5)
        at = at.run()
    assert not at.exception, at.exception
    assert not [i for i in at.info if "无法为当前数据集" in i.value]
    assert metrics(at)[text("kpi.customers", lang="zh")] == f"{5000 - churners:,}"
    at = at.switch_page("pages/overview.py").run()
    assert metrics(at)[text("kpi.customers", lang="zh")] == "5,000"
