"""Training on a stored visit log is recorded as a run whose test figures are out of time."""

import numpy as np
import pytest

import churn_core as cc
from churn_core.events.dataset import event_dataset


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    demo = cc.generate_visits(n_customers=2500, years=3, seed=7)
    log = cc.read_events(demo.visits, customers=demo.customers)
    store = cc.Store(tmp_path_factory.mktemp("runs") / "s.duckdb")
    version = store.save_events(event_dataset(log, name="demo")).version
    dataset = store.load_dataset(version)
    run_id, result = cc.run_training(store, dataset, models=("logistic_regression", "xgboost"), promote=True,
                                     test_size=0.3, cv_folds=5)  # snapshot options are ignored out of time
    return store, dataset, run_id, result


def test_entries_hold_the_out_of_time_test_metrics(run):
    store, dataset, run_id, result = run
    stored = store.get_run(run_id)
    assert stored.status == "complete" and stored.params["mode"] == "events"
    for model in result.models:
        entry = stored.model(model.name)
        assert entry.roc_auc == pytest.approx(model.holdout.roc_auc)
        assert entry.brier == pytest.approx(model.holdout.brier)
    assert store.champion().model == result.best().name


def test_holdout_predictions_are_the_analysis_tables_customers_at_the_test_cutoff(run):
    store, dataset, run_id, result = run
    predictions = store.load_predictions(run_id, result.best().name)
    assert len(predictions) == dataset.n_rows == result.split.test_rows
    y = dataset.frame["churned"].to_numpy()[predictions["row_index"].to_numpy()]
    np.testing.assert_array_equal(predictions["y"].to_numpy(), y)
    assert store.load_predictions(run_id, split="train").empty  # training rows are other cut-offs


def test_summary_names_population_baseline_and_verdict(run):
    store, dataset, run_id, result = run
    summary = store.get_run(run_id).params["summary"]
    population = summary["population"]
    assert population["test_cutoff"] == dataset.events.test_cutoff.date().isoformat()
    assert population["window_days"] == dataset.events.window_days
    last_train = np.datetime64(population["cutoffs"][-1])
    assert (np.datetime64(population["test_cutoff"]) - last_train).astype(int) >= population["window_days"]
    assert summary["baseline"]["rule"].startswith("no visit in the last")
    assert summary["verdict"] in {"better", "no_better", "no_signal"}
    assert summary["lift"] == pytest.approx(result.lift)
    assert len(summary["deciles"]) == len(result.deciles)
    rules = {r["rule"]: r for r in summary["rules"]}
    assert f"at_least_{summary['rules_k']}" in rules and rules["overdue_regular"]["applicable"]


def test_unknown_options_are_refused_and_the_run_is_not_started(run):
    store, dataset, _, _ = run
    before = len(store.list_runs())
    with pytest.raises(cc.ParameterError, match="Unknown training option"):
        cc.run_training(store, dataset, learning_rate=0.1)
    assert len(store.list_runs()) == before
