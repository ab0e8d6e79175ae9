"""churn_core.reports: the Models page's numbers from a stored run; champion against challengers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import churn_core as cc
from churn_core.reports import compare_with_champion, model_report


@pytest.fixture
def store(trained_db) -> cc.Store:
    return cc.Store(trained_db)


@pytest.fixture
def report(store):
    return model_report(store.get_run(1), store.load_predictions(1))


def test_report_matches_the_stored_metrics(store, report):
    run = store.get_run(1)
    assert report.models == ("logistic_regression", "xgboost")
    for entry in run.models:
        assert report.roc[entry.name].auc == pytest.approx(entry.roc_auc)
        assert report.pr[entry.name].auc == pytest.approx(entry.pr_auc)
    assert report.customers == 1500 and report.positives == 212
    assert report.best()["roc_auc"] == "xgboost" and report.best()["brier"] == "xgboost"


def test_confusion_at_the_slider_matches_sklearn(store, report):
    preds = store.load_predictions(1, "xgboost")
    confusion = report.confusion("xgboost", threshold=0.3)
    matrix = confusion.matrix()
    expected = skm.confusion_matrix(preds["y"], preds["proba"] >= 0.3)
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    assert list(matrix.index) == ["retained", "churned"] and matrix.to_numpy().sum() == 1500
    assert confusion.precision == pytest.approx(skm.precision_score(preds["y"], preds["proba"] >= 0.3))
    assert confusion.f1 == pytest.approx(skm.f1_score(preds["y"], preds["proba"] >= 0.3))


def test_calibration_before_and_after_and_folds(report):
    before, after = report.calibration["xgboost"]
    assert before.customers.sum() == after.customers.sum() == 1500
    assert len(report.folds["xgboost"]) == 3 and report.folds["xgboost"]["roc_auc"].between(0.85, 1).all()
    assert report.importance["xgboost"]["feature"].iloc[0] in {"total_charge", "number_customer_service_calls"}
    assert report.shap_units == {"logistic_regression": "log-odds", "xgboost": "log-odds"}


def test_failed_run_has_no_report(store):
    run_id = store.start_run(1, params={})
    store.fail_run(run_id, error="MemoryError: boom")
    with pytest.raises(cc.NotFoundError, match=f"Run {run_id} is failed, so it has no results"):
        model_report(store.get_run(run_id), store.load_predictions(run_id))


def test_champion_is_scored_on_the_challengers_holdout(store, tmp_path):
    dataset = store.load_dataset(1)
    run_id, result = cc.run_training(store, dataset, artifact_root=tmp_path, models=("logistic_regression",),
                                     cv_folds=2, calibration=None)
    comparison = compare_with_champion(dataset, store=store, run_id=run_id)
    assert comparison.compared and comparison.champion_run == 1
    champ = comparison.table.set_index("role").loc["champion"]
    entry = store.champion().entry
    model = cc.load_model(entry.artifact, sha256=entry.sha256)
    expected = skm.roc_auc_score(result.y_test, model.predict_proba(dataset.frame.iloc[result.test_index])[:, 1])
    assert champ["roc_auc"] == pytest.approx(expected)
    # the XGBoost champion beats a plain logistic regression: the winner is a record, not a "role:model" string
    assert comparison.winner == cc.Winner(role="champion", model="xgboost")
    assert (comparison.winner.role, comparison.winner.model) == ("champion", "xgboost")
    with pytest.raises(TypeError, match="positional"):
        cc.ChampionComparison(None, None, comparison.table)  # type: ignore[misc]  # many fields: keyword-only


def test_champion_and_challenger_meet_only_on_customers_neither_was_trained_on(store, tmp_path):
    """Another seed splits differently: most of the new holdout was in the champion's training split, and
    judging the champion there would flatter it. Only the rows it never saw count, for both sides."""
    dataset = store.load_dataset(1)
    run_id, result = cc.run_training(store, dataset, artifact_root=tmp_path, models=("logistic_regression",),
                                     cv_folds=2, calibration=None, seed=1)
    comparison = compare_with_champion(dataset, store=store, run_id=run_id)
    champion_train = set(store.load_predictions(1, "xgboost", split="train")["row_index"])
    unseen = np.array(sorted(set(result.test_index) - champion_train))
    assert comparison.customers == len(unseen) and comparison.left_out == len(result.test_index) - len(unseen)
    assert 0 < comparison.customers < 1500 and comparison.left_out > 0
    y = dataset.target().to_numpy()[unseen]
    entry = store.champion().entry
    model = cc.load_model(entry.artifact, sha256=entry.sha256)
    table = comparison.table.set_index("role")
    assert table.loc["champion", "roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, model.predict_proba(dataset.frame.iloc[unseen])[:, 1]))
    challenger = result.models[0]
    proba = pd.Series(challenger.test_proba, index=result.test_index).loc[unseen]
    assert table.loc["challenger", "roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba))


def test_comparison_says_why_it_cannot_compare(store, tmp_path):
    dataset = store.load_dataset(1)
    assert compare_with_champion(dataset, store=store, run_id=1).reason == "same_run"
    narrow = dataset.frame.drop(columns=["number_customer_service_calls"])
    other = cc.Dataset(frame=narrow, roles=dataset.roles.replace(service_calls=None, numeric=tuple(
        c for c in dataset.roles.numeric if c != "number_customer_service_calls")), name="narrow",
        report=dataset.report, sha256="x" * 64, source_name="narrow.csv", encoding="utf-8", delimiter=",")
    version = store.save_dataset(other, activate=False).version
    run_id, _ = cc.run_training(store, store.load_dataset(version), artifact_root=tmp_path,
                                models=("logistic_regression",), cv_folds=2, calibration=None)
    comparison = compare_with_champion(store.load_dataset(version), store=store, run_id=run_id)
    assert comparison.reason == "columns_missing"
    assert comparison.missing_columns == ("number_customer_service_calls",)
    assert isinstance(comparison.to_frame(), pd.DataFrame) and comparison.winner is None
