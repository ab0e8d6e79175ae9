"""The Data page's visit-log path (upload a log and its customer table, map roles, choose the window, preview
the population per cut-off, save as an events version) and the demo picker."""

from __future__ import annotations

import pandas as pd
import pytest

import churn_core as cc
from tests.app.conftest import texts
from tests.app.test_data import open_data

GZIP = "application/gzip"


def events_path(app, lang: str | None = None):
    at = open_data(app, lang)
    return at.radio(key="data_kind").set_value("events").run()


def upload_demo(at, *, customers: bool = True):
    at = at.file_uploader(key="events_upload").upload(cc.BUNDLED_VISITS.name, cc.BUNDLED_VISITS.read_bytes(),
                                                      GZIP).run()
    if customers:
        at = at.file_uploader(key="customers_upload").upload(cc.BUNDLED_CUSTOMERS.name,
                                                             cc.BUNDLED_CUSTOMERS.read_bytes(), GZIP).run()
    return at


def selected(at, suffix: str):
    return next(s.value for s in at.selectbox if str(s.key).endswith(suffix))


def test_the_demo_log_shows_roles_window_and_population_and_saves_an_active_events_version(app, app_db):
    at = upload_demo(events_path(app))
    assert not at.exception, at.exception
    assert [selected(at, f"_{r}") for r in ("id", "time", "amount", "type")] == \
        ["customer_id", "visit_date", "amount_cny", "visit_type"]
    shown = texts(at)
    assert "Dates in visit_date were read as ISO dates (2024-03-31): from 2023-10-01 to 2026-09-30." in shown
    assert "Customer table joined by its column customer_id: 20,000 customers." in shown
    window = next(n for n in at.number_input if str(n.key).endswith("_h"))
    assert window.value == 240  # the suggestion: 213 days rounded up to whole months
    assert "suggested from the 95th percentile gap between visits: 213 days" in shown.lower()
    assert "At the test cut-off 2026-01-31, 16,151 customers were active" in shown
    assert "3,000 of them (18.6%) made no visit in the 240 days after" in shown
    table = at.dataframe[1].value  # the population per cut-off, newest first
    assert list(table.iloc[:2, -1]) == ["as of: to score", "test cut-off"]
    assert table.shape[0] == 24 and table.iloc[1]["Eligible"] == "16,151"
    assert [c for c in at.get("plotly_chart")]  # the population chart is drawn
    store = cc.Store(app_db)
    assert store.active_version().version == 1  # nothing is saved before the analyst says so

    at = at.button(key="save_events").click().run()
    assert not at.exception, at.exception
    active = store.active_version()
    assert (active.version, active.kind, active.rows) == (2, "events", 16151)
    assert store.events_meta(2)["window_suggested"] is True
    assert store.load_as_of(2).n_rows == 16008
    assert "**aftersales_visits** · v2" in " ".join(m.value for m in at.sidebar.markdown)
    assert at.button(key="train")  # the train, compare and promote block follows for the saved version


def test_a_shorter_window_changes_the_preview_and_is_saved_as_not_suggested(app, app_db):
    at = upload_demo(events_path(app), customers=False)
    at = next(n for n in at.number_input if str(n.key).endswith("_h")).set_value(120).run()
    assert not at.exception, at.exception
    assert "made no visit in the 120 days after" in texts(at)
    at = at.button(key="save_events").click().run()
    meta = cc.Store(app_db).events_meta(2)
    assert meta["context"]["window_days"] == 120 and meta["window_suggested"] is False


NO_DATES = "customer,shop,amount\n" + "".join(f"C{i % 40},S{i % 3},{10 + i}.5\n" for i in range(400))


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "No column of the event log holds dates. Its columns are: customer, shop, amount."),
    ("zh", "事件日志中没有任何列包含日期"),
])
def test_a_log_without_dates_says_so_in_the_users_language_and_changes_nothing(app, app_db, lang, expected):
    at = events_path(app, lang)
    at = at.file_uploader(key="events_upload").upload("visits.csv", NO_DATES.encode(), "text/csv").run()
    assert not at.exception
    assert expected in "\n".join(e.value for e in at.error)
    assert not [b for b in at.button if b.key == "save_events"]
    assert cc.Store(app_db).active_version().version == 1


def test_a_log_too_short_for_the_window_is_explained(app, app_db):
    days = pd.date_range("2025-01-01", periods=200, freq="D")
    rows = "".join(f"C{i % 50},{d.date()},{20 + i % 7}.0\n" for i, d in enumerate(days.repeat(2)))
    at = events_path(app)
    at = at.file_uploader(key="events_upload").upload("short.csv", ("customer_id,visit_date,amount\n" + rows).encode(),
                                                      "text/csv").run()
    assert not at.exception
    assert "too short for a" in "\n".join(e.value for e in at.error)
    assert not [b for b in at.button if b.key == "save_events"]
    assert cc.Store(app_db).active_version().version == 1


def test_the_visit_log_path_survives_a_language_switch(app):
    at = upload_demo(events_path(app), customers=False)
    assert "At the test cut-off" in texts(at)
    at = at.sidebar.radio(key="lang_choice").set_value("zh").run()
    assert not at.exception, at.exception
    assert at.radio(key="data_kind").value == "events"
    assert "在测试截止日 2026-01-31，有 16,151 位有效客户" in texts(at)
    assert at.radio(key="data_kind").options[1].startswith("到店记录")
    at = at.sidebar.radio(key="lang_choice").set_value("en").run()
    assert not at.exception, at.exception
    assert "At the test cut-off 2026-01-31" in texts(at)
    assert selected(at, "_time") == "visit_date"


def test_the_version_table_names_each_versions_kind(app, app_db):
    at = open_data(app)
    cc.ensure_demo(cc.Store(app_db), "aftersales", activate=False)
    at = at.run()
    table = at.dataframe[0].value
    assert list(table["Kind"]) == ["visit log", "customer table"]
    assert at.selectbox(key="version_pick").options[0].endswith(" · visit log")


def test_a_first_visit_offers_the_demos_and_the_after_sales_one_becomes_active(app, app_db):
    at = app.run()
    assert not at.exception
    assert "Try a demo:" in texts(at)
    assert at.button(key="demo_telecom").disabled  # the telecom demo is the active one
    at = at.button(key="demo_aftersales").click().run()
    assert not at.exception, at.exception
    store = cc.Store(app_db)
    active = store.active_version()
    assert (active.kind, active.name, active.version) == ("events", "aftersales_demo", 2)
    assert store.currency(2) == "¥"
    assert "**aftersales_demo** · v2" in " ".join(m.value for m in at.sidebar.markdown)
    assert not [b for b in at.button if b.key == "demo_aftersales"]  # no longer a first visit


def test_the_data_page_always_offers_the_demos_and_a_picked_one_is_found_again(app, app_db):
    at = open_data(app)
    at = at.button(key="demo_aftersales").click().run()
    assert not at.exception, at.exception
    at = at.button(key="demo_telecom").click().run()
    store = cc.Store(app_db)
    assert store.active_version().version == 1
    at = at.button(key="demo_aftersales").click().run()
    assert not at.exception, at.exception
    assert [v.version for v in store.list_datasets().versions] == [1, 2]  # found again, not stored twice
    assert store.active_version().version == 2


def test_a_viewer_may_try_a_demo_but_cannot_save_a_visit_log(app, app_db, monkeypatch):
    from tests.app.test_roles import with_password
    from ui import actions, auth

    at = open_data(with_password(app))
    assert not at.exception, at.exception
    assert not [r for r in at.radio if r.key == "data_kind"]  # uploading is the analyst's
    at = at.button(key="demo_aftersales").click().run()
    assert not at.exception, at.exception
    store = cc.Store(app_db)
    assert (store.active_version().version, store.active_version().kind) == (2, "events")
    monkeypatch.setattr(auth, "is_analyst", lambda: False)
    log = cc.read_events(cc.BUNDLED_VISITS)
    with pytest.raises(actions.NotAllowed, match="Only an analyst can save events"):
        actions.save_events(log, window=cc.EventWindow(), name="mine")
    assert [v.version for v in store.list_datasets().versions] == [1, 2]


NO_IDS = "ticket,visit_date\n" + "".join(f"T{i},2025-{1 + i % 12:02d}-{1 + i % 28:02d}\n" for i in range(300))


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("empty.csv", b"", "is empty"),
    ("tickets.csv", NO_IDS.encode(), "No column of the event log looks like a customer id"),
], ids=["unreadable", "no-id"])
def test_an_unusable_log_says_why_and_the_app_keeps_running(app, app_db, name, data, expected):
    at = events_path(app)
    at = at.file_uploader(key="events_upload").upload(name, data, "text/csv").run()
    assert not at.exception
    assert expected in "\n".join(e.value for e in at.error)
    assert cc.Store(app_db).active_version().version == 1
    at = at.switch_page("pages/overview.py").run()  # the rest of the app is untouched
    assert not at.exception and at.metric[0].value == "5,000"


def test_ambiguous_day_month_dates_say_day_first_was_chosen(app):
    rows = "".join(f"C{c},{d:02d}/{m:02d}/{y},{20 + c}.5\n" for c in range(60) for y in (2023, 2024, 2025)
                   for m in (2, 6, 10) for d in (1 + c % 12,))
    at = events_path(app)
    at = at.file_uploader(key="events_upload").upload("dmy.csv", ("client,date,paid\n" + rows).encode(),
                                                      "text/csv").run()
    assert not at.exception, at.exception
    assert "Dates in date were read as day/month/year: from 2023-02-01 to 2025-10-12." in texts(at)
    assert "Every date in date reads both day-first and month-first, so day-first was chosen" in texts(at)
