"""The population per cut-off of an event log (churn_core/events/population.py) and the bundled demos
(churn_core.events.demo.bundled_aftersales, churn_core.store.ensure_demo)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import churn_core as cc
from churn_core.events.dataset import event_dataset
from churn_core.events.labels import EventWindow


@pytest.fixture(scope="module")
def log():
    demo = cc.generate_visits(n_customers=2000, years=3, seed=7)
    return cc.read_events(demo.visits, customers=demo.customers)


def test_every_labelled_cutoff_then_the_as_of_day(log):
    window = EventWindow(window_days=240)
    counted = cc.cutoff_population(log, window=window)
    table = counted.to_frame()
    assert list(table.columns) == ["cutoff", "customers", "eligible", "lapsed", "churned", "churn_rate", "labelled"]
    assert table["cutoff"].is_monotonic_increasing
    assert table["labelled"].tolist() == [True] * (len(table) - 1) + [False]
    assert table["cutoff"].iloc[-1] == counted.as_of == log.last_date
    assert counted.test_cutoff == table.loc[table["labelled"], "cutoff"].max()
    assert (table["customers"] == table["eligible"] + table["lapsed"]).all()
    assert pd.isna(table["churned"].iloc[-1]) and pd.isna(table["churn_rate"].iloc[-1])


def test_the_test_cutoff_row_is_the_analysis_table_event_dataset_stores(log):
    window = EventWindow(window_days=240)
    test = cc.cutoff_population(log, window=window).test_row
    built = event_dataset(log, window=window, name="demo")
    assert built.analysis.events.cutoff == test["cutoff"]
    assert built.analysis.n_rows == test["eligible"]
    assert int(built.analysis.target().sum()) == test["churned"]
    assert test["churn_rate"] == pytest.approx(test["churned"] / test["eligible"])


@pytest.mark.parametrize(("window_days", "direction"), [(120, "higher"), (360, "lower")], ids=["shorter", "longer"])
def test_a_shorter_window_counts_more_churners(log, window_days, direction):
    base = cc.cutoff_population(log, window=EventWindow(window_days=240)).test_row["churn_rate"]
    rate = cc.cutoff_population(log, window=EventWindow(window_days=window_days)).test_row["churn_rate"]
    assert (rate > base) if direction == "higher" else (rate < base)


def test_no_elapsed_window_says_how_much_history_it_needs(log):
    recent = log.frame[log.frame["event_time"] >= log.last_date - pd.Timedelta(days=200)].reset_index(drop=True)
    short = dataclasses.replace(log, frame=recent, raw_times=None)
    with pytest.raises(cc.SchemaError, match=r"covers \d+ days, too short .* needs at least 300 days") as err:
        cc.cutoff_population(short, window=EventWindow(window_days=120))
    assert err.value.code == "events_too_short" and err.value.params["needed"] == 300


def test_the_default_window_is_the_events_default(log):
    assert cc.cutoff_population(log).window == EventWindow()


# -- the bundled demos -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aftersales():
    return cc.bundled_aftersales()


def test_the_bundled_after_sales_demo_reads_the_committed_files(aftersales):
    assert cc.BUNDLED_VISITS.is_file() and cc.BUNDLED_CUSTOMERS.is_file()
    assert aftersales.name == "aftersales_demo"
    assert aftersales.window_suggested and aftersales.window.window_days == 240
    roles = aftersales.log.roles
    assert (roles.id, roles.time, roles.amount, roles.type) == ("customer_id", "visit_date", "amount_cny", "visit_type")
    assert aftersales.log.customers is not None and len(aftersales.log.customers) == 20_000
    assert aftersales.report.ok


def test_the_bundled_demo_takes_a_given_window():
    built = cc.bundled_aftersales(window=EventWindow(window_days=180))
    assert built.window.window_days == 180 and not built.window_suggested


def test_ensure_demo_adds_the_after_sales_demo_as_an_active_events_version_in_yuan(tmp_path):
    store = cc.Store(tmp_path / "demo.duckdb")
    telecom = cc.ensure_active_dataset(store)
    version = cc.ensure_demo(store, "aftersales")
    assert (version.version, version.kind, version.name, version.active) == (2, "events", "aftersales_demo", True)
    assert store.currency(2) == "¥"
    assert store.load_dataset(telecom.version).n_rows == 5000  # nothing replaced
    again = cc.ensure_demo(store, "aftersales", activate=False)
    assert (again.version, again.reused) == (2, True)
    back = cc.ensure_demo(store, "telecom")
    assert (back.version, back.reused, store.active_version().version) == (1, True, 1)
    found = cc.ensure_demo(store, "aftersales")
    assert (found.version, found.reused, found.active) == (2, True, True)
    assert [v.version for v in store.list_datasets().versions] == [1, 2]


def test_ensure_demo_stores_the_telecom_demo_on_a_new_database(tmp_path):
    store = cc.Store(tmp_path / "new.duckdb")
    version = cc.ensure_demo(store, "telecom", activate=False)
    assert (version.version, version.kind, version.rows, version.active) == (1, "snapshot", 5000, False)
    assert version.source_file == cc.BUNDLED_CSV.name


def test_ensure_demo_refuses_an_unknown_name(tmp_path):
    with pytest.raises(cc.ParameterError, match=r"must be one of \['telecom', 'aftersales'\]. Got 'retail'") as err:
        cc.ensure_demo(cc.Store(tmp_path / "x.duckdb"), "retail")
    assert err.value.code == "unknown_demo"
