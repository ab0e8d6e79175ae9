"""Scoring an event dataset as of a date, the stored history, tier migration and the backtest."""

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core.events.dataset import event_dataset
from churn_core.events.scoring import backtest, score_as_of, score_history, tier_migration, window_of


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    demo = cc.generate_visits(n_customers=1500, years=3, seed=11)
    log = cc.read_events(demo.visits, customers=demo.customers)
    store = cc.Store(tmp_path_factory.mktemp("ev") / "s.duckdb")
    version = store.save_events(event_dataset(log, name="demo")).version
    run_id, _ = cc.run_training(store, store.load_dataset(version), models=("logistic_regression",), cv_folds=3,
                                promote=True)
    return store, version, log


def test_scores_eligible_customers_as_of_the_last_date(trained):
    store, version, log = trained
    scored = score_as_of(store, version, explain="none")
    as_of = store.load_as_of(version)
    assert len(scored.frame) == as_of.n_rows
    assert set(scored.frame["scored_by"]) == {"final"}  # nobody's outcome after the as-of date is known
    assert (scored.frame["status"] == "active").all()
    stored = store.score_set(scored.score_set)
    assert pd.Timestamp(stored.as_of) == log.last_date
    again = score_as_of(store, version, explain="none")
    assert again.score_set == scored.score_set  # reused, not scored twice


def test_history_migration_and_backtest_at_the_test_cutoff(trained):
    store, version, log = trained
    analysis = store.load_dataset(version)
    test_cutoff = analysis.events.test_cutoff
    earlier = score_as_of(store, version, as_of=test_cutoff, log=log, explain="none")
    score_as_of(store, version, explain="none")
    assert len(earlier.frame) == analysis.n_rows  # the same eligible customers as the analysis table
    champion = store.champion()
    history = score_history(store, version, run_id=champion.run_id, model=champion.model)
    assert history.dates[0] == test_cutoff and history.dates[-1] == log.last_date
    someone = history.frame["customer_id"].iloc[0]
    assert list(history.customer(someone)["as_of"])[0] == test_cutoff

    migration = tier_migration(history)
    union = set(history.frame.loc[history.frame["as_of"] == test_cutoff, "customer_id"]) | set(
        history.frame.loc[history.frame["as_of"] == log.last_date, "customer_id"])
    assert int(migration.transitions.to_numpy().sum()) == len(union)
    assert migration.transitions.loc["new"].sum() > 0 or migration.transitions["lapsed"].sum() > 0

    result = backtest(history, log, window=window_of(store, version), as_of=test_cutoff)
    assert result.elapsed_days == analysis.events.window_days  # the test cut-off's window has elapsed
    # "lapsed within H after the flag" is exactly the analysis table's label
    truth = analysis.frame.set_index(analysis.frame["customer_id"].astype(str))["churned"]
    lapsed = result.frame.set_index("customer_id")["lapsed"]
    np.testing.assert_array_equal(lapsed.to_numpy(), truth.reindex(lapsed.index).to_numpy() == 1)
    flagged = result.frame["flagged"]
    assert result.flagged == int(flagged.sum())
    if result.flagged:
        assert result.flagged_rate == pytest.approx(result.frame.loc[flagged, "lapsed"].mean())
        assert 0 <= result.lead_days_median <= analysis.events.lookback_days


def test_as_of_outside_the_log_is_refused(trained):
    store, version, log = trained
    with pytest.raises(cc.ParameterError, match="outside the log"):
        score_as_of(store, version, as_of=log.last_date + pd.Timedelta(days=30), log=log)


def test_a_snapshot_version_cannot_be_scored_as_of_a_date(tmp_path):
    store = cc.Store(tmp_path / "s.duckdb")
    snap = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV))
    with pytest.raises(cc.ParameterError, match="not a visit log"):
        score_as_of(store, snap.version)


def test_migration_needs_two_dates(trained):
    store, version, _ = trained
    champion = store.champion()
    history = score_history(store, version, run_id=champion.run_id, model=champion.model)
    with pytest.raises(cc.NotFoundError, match="No stored scoring as of"):
        tier_migration(history, start="2001-01-31", end=history.dates[-1])


def test_score_back_fills_the_history_from_the_test_cutoff(trained):
    store, version, log = trained
    analysis = store.load_dataset(version)
    dates = cc.history_dates(analysis.events)
    assert dates[0] == analysis.events.test_cutoff and dates[-1] == log.last_date
    assert all(b > a for a, b in zip(dates, dates[1:]))
    cc.score_back(store, version, log=log)
    score_as_of(store, version, explain="none")
    champion = store.champion()
    history = score_history(store, version, run_id=champion.run_id, model=champion.model)
    assert history.dates == dates
    assert cc.score_back(store, version, log=log) == ()  # nothing left to score
