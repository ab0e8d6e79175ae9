"""An event log as an analysis table (test cut-off, labelled) and an as-of table (to score), stored as one
versioned dataset."""

import dataclasses

import pandas as pd
import pytest

import churn_core as cc
from churn_core.events.dataset import event_dataset, lapsed_customers
from churn_core.events.labels import EventWindow


@pytest.fixture(scope="module")
def log():
    demo = cc.generate_visits(n_customers=2000, years=3, seed=7)
    return cc.read_events(demo.visits, customers=demo.customers)


@pytest.fixture(scope="module")
def built(log):
    return event_dataset(log, name="aftersales")


def test_analysis_table_is_the_latest_fully_labelled_cutoff(log, built):
    ctx = built.analysis.events
    assert ctx.table == "analysis"
    assert ctx.test_cutoff == ctx.cutoffs[-1]
    assert ctx.test_cutoff + pd.Timedelta(days=ctx.window_days) <= log.last_date
    # the next month end would not have its window elapsed
    assert ctx.test_cutoff + pd.offsets.MonthEnd(1) + pd.Timedelta(days=ctx.window_days) > log.last_date
    frame = built.analysis.frame
    assert set(frame["churned"].unique()) <= {0, 1}
    assert built.analysis.roles.target == "churned"
    assert built.analysis.roles.id == "customer_id"
    assert built.analysis.roles.tenure == "tenure_days"
    assert built.analysis.roles.value == ("spend_365d",)
    assert "cutoff" not in frame and "labelled" not in frame
    # eligible only: everyone has an event within the lookback
    assert (frame["days_since_last_event"] < ctx.lookback_days).all()


def test_as_of_table_scores_eligible_customers_at_the_last_date(log, built):
    as_of = built.as_of
    assert as_of.events.table == "as_of" and as_of.events.cutoff == log.last_date
    assert not as_of.has_target and "churned" not in as_of.frame
    lapsed = lapsed_customers(log, window=built.window)
    assert as_of.events.lapsed == len(lapsed)
    assert not set(lapsed["customer_id"]) & set(as_of.frame["customer_id"].astype(str))
    assert as_of.n_rows + len(lapsed) == log.frame["customer_id"].nunique()


def test_window_is_suggested_unless_given(log, built):
    assert built.window_suggested and built.window.window_days == cc.suggest_window(log).window.window_days
    given = event_dataset(log, window=EventWindow(window_days=120))
    assert not given.window_suggested and given.analysis.events.window_days == 120
    assert given.sha256 != built.sha256  # a new window is a new version


def test_too_short_a_log_says_how_much_history_it_needs(log):
    recent = log.frame[log.frame["event_time"] >= log.last_date - pd.Timedelta(days=200)].reset_index(drop=True)
    short = dataclasses.replace(log, frame=recent, raw_times=None)
    with pytest.raises(cc.SchemaError, match=r"too short .* needs at least \d+ days"):
        event_dataset(short, window=EventWindow(window_days=120))


def test_store_round_trip_keeps_log_tables_and_context(tmp_path, log, built):
    store = cc.Store(tmp_path / "s.duckdb")
    version = store.save_events(built)
    assert version.kind == "events" and version.active and version.rows == built.analysis.n_rows
    analysis = store.load_dataset(version.version)
    assert analysis.events.test_cutoff == built.analysis.events.test_cutoff
    assert analysis.events.cutoffs == built.analysis.events.cutoffs
    pd.testing.assert_series_equal(analysis.frame["churned"], built.analysis.frame["churned"], check_dtype=False)
    as_of = store.load_as_of(version.version)
    assert as_of.events.table == "as_of" and as_of.n_rows == built.as_of.n_rows and as_of.roles.target is None
    events = store.load_events(version.version)
    assert len(events.frame) == len(log.frame) and events.roles.time == log.roles.time
    assert events.customers is not None and len(events.customers) == len(log.customers)
    meta = store.events_meta(version.version)
    assert len(meta["population"]) == len(built.population)
    assert store.save_events(built).reused
    assert store.events_meta(version.version)["window_suggested"] is True


def test_snapshot_versions_have_no_event_tables(tmp_path):
    store = cc.Store(tmp_path / "s.duckdb")
    snap = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV))
    assert snap.kind == "snapshot" and store.load_dataset(snap.version).events is None
    with pytest.raises(cc.ParameterError, match="not an event log"):
        store.load_as_of(snap.version)


def test_deleting_an_event_version_drops_its_tables(tmp_path, built):
    store = cc.Store(tmp_path / "s.duckdb")
    version = store.save_events(built)
    store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV))  # another becomes active
    store.delete_dataset(version.version)
    with pytest.raises(cc.NotFoundError, match="no dataset version"):
        store.load_as_of(version.version)


def test_counting_only_some_event_types_as_visits_changes_the_label(log):
    types = cc.event_types(log)
    assert types[0] == "maintenance" and {"repair", "parts", "accessories"} <= set(types)  # commonest first
    every = event_dataset(log, window=EventWindow(window_days=240))
    services = event_dataset(log, window=EventWindow(window_days=240, visit_types=("maintenance", "repair")))
    assert services.analysis.events.window["visit_types"] == ["maintenance", "repair"]
    # fewer kinds of event count as a visit: at least as many customers have none in the window
    assert services.analysis.frame["churned"].mean() > every.analysis.frame["churned"].mean()
    assert services.sha256 != every.sha256


def test_a_stored_analysis_table_gives_the_same_analyses_as_labelling_the_log_again(tmp_path, log, built):
    from churn_core.events.dataset import stored_labels

    store = cc.Store(tmp_path / "s.duckdb")
    analysis = store.load_dataset(store.save_events(built).version)
    fresh = cc.label_and_features(log, window=built.window, cutoffs=[analysis.events.test_cutoff])
    stored = stored_labels(analysis)
    for analyse in (cc.rfm_segments, cc.recency_ratio, cc.churn_by_stage):
        pd.testing.assert_frame_equal(analyse(stored).to_frame().reset_index(drop=True),
                                      analyse(fresh).to_frame().reset_index(drop=True), check_dtype=False)
    with pytest.raises(cc.ParameterError, match="analysis table"):
        stored_labels(store.load_as_of(analysis.version))
