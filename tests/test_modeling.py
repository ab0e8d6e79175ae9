"""churn_core.modeling: metrics agree with scikit-learn, threshold rules, the quality floor, reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

import churn_core as cc
from churn_core.modeling import (
    MODEL_NAMES,
    choose_threshold,
    evaluate,
    expected_calibration_error,
    train_models,
)
from tests.conftest import TRAIN_FAST, hostile_customers

Y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.05, 0.6, 0.7, 0.3])


@pytest.fixture(scope="module")
def bundled_ds() -> cc.Dataset:
    return cc.load_dataset(cc.BUNDLED_CSV)


@pytest.fixture(scope="module")
def trained(default_training):
    """The default run: three models, 70/30 split, 5-fold CV, beta calibration, F1 threshold (tests/conftest.py)."""
    return default_training


def test_metrics_agree_with_sklearn():
    m = evaluate(Y, P, threshold=0.5)
    pred = P >= 0.5
    assert m.roc_auc == pytest.approx(skm.roc_auc_score(Y, P))
    assert m.pr_auc == pytest.approx(skm.average_precision_score(Y, P))
    assert (m.precision, m.recall, m.f1, m.accuracy) == pytest.approx(
        (skm.precision_score(Y, pred), skm.recall_score(Y, pred), skm.f1_score(Y, pred), skm.accuracy_score(Y, pred)))
    assert m.brier == pytest.approx(skm.brier_score_loss(Y, P))
    assert m.log_loss == pytest.approx(skm.log_loss(Y, P))


def test_ece_of_perfect_calibration_is_zero_and_of_overconfidence_is_not():
    assert expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.0)
    assert expected_calibration_error([0, 0, 0, 1], [0.95, 0.95, 0.95, 0.95]) == pytest.approx(0.70)


def test_threshold_rules_match_brute_force():
    assert choose_threshold(Y, P, rule="0.5") == 0.5
    best = max(np.unique(P), key=lambda th: skm.f1_score(Y, P >= th))
    assert choose_threshold(Y, P, rule="f1") == pytest.approx(best) == pytest.approx(0.7)


def test_recall_rule_keeps_recall():
    threshold = choose_threshold(Y, P, rule="recall", target_recall=0.75)
    assert skm.recall_score(Y, P >= threshold) >= 0.75
    assert threshold == pytest.approx(0.7)


def test_bad_options_are_named():
    with pytest.raises(cc.ParameterError, match="'rule' parameter of choose_threshold.*Got 'best'"):
        choose_threshold(Y, P, rule="best")
    with pytest.raises(cc.ParameterError, match="both churned and retained"):
        evaluate([1, 1], [0.2, 0.9])


def test_train_rejects_bad_split(bundled_ds):
    with pytest.raises(cc.ParameterError, match=r"'test_size' parameter of train_models must be in \(0, 1\)"):
        train_models(bundled_ds, test_size=1.2)


@pytest.mark.slow  # the full default training: three models, 5-fold CV
def test_quality_floor_on_bundled_data(trained):
    xgb = next(m for m in trained.models if m.name == "xgboost")
    assert xgb.holdout.roc_auc >= 0.92
    assert xgb.holdout.f1 >= 0.85
    board = trained.to_frame()
    assert list(board["model"]) == ["logistic_regression", "random_forest", "xgboost"]
    assert (board["cv_roc_auc_sd"] > 0).all() and len(xgb.cv) == 5
    assert len(trained.y_test) == 1500 and trained.y_test.sum() == pytest.approx(0.1414 * 1500, abs=1)


@pytest.mark.slow  # the full default training: three models, 5-fold CV
def test_calibration_improves_the_forest(trained):
    forest = next(m for m in trained.models if m.name == "random_forest")
    assert forest.holdout.ece < forest.uncalibrated.ece
    assert forest.holdout.brier < forest.uncalibrated.brier


def test_same_seed_same_metrics(bundled_ds):
    run = lambda: train_models(bundled_ds, models=("logistic_regression",), cv_folds=2, calibration=None)
    assert run().models[0].holdout == run().models[0].holdout


def test_total_charge_lifts_xgboost(bundled_ds):
    fast = dict(models=("xgboost",), cv_folds=2, calibration=None, threshold_rule="0.5")
    with_total = train_models(bundled_ds, **fast).models[0].holdout
    without = train_models(bundled_ds, derived_features=False, **fast).models[0].holdout
    assert with_total.f1 > without.f1 + 0.05


# -- recorded runs -------------------------------------------------------------------------------------

@pytest.fixture
def recorded(trained_run, trained_db):
    """The session's run 1 (tests/conftest.py: TRAIN_FAST, promoted), its result, in a copy of its database."""
    store = cc.Store(trained_db)
    return store, store.load_dataset(1), trained_run.run_id, trained_run.result


def test_run_training_records_models_and_files(recorded):
    store, dataset, run_id, result = recorded
    run = store.get_run(run_id)
    assert run.status == "complete" and [m.name for m in run.models] == ["logistic_regression", "xgboost"]
    champion = store.champion()
    # the champion is the best cross-validated mean, never picked on the holdout it is judged on
    best = max(result.models, key=lambda m: m.cv["roc_auc"].mean())
    assert champion.model == result.best().name == best.name
    assert champion.entry.roc_auc == pytest.approx(best.holdout.roc_auc)
    model = cc.load_model(champion.entry.artifact, sha256=champion.entry.sha256)
    shown = np.clip(model.predict_proba(dataset.frame.iloc[result.test_index])[:, 1], 0.005, 0.995)
    np.testing.assert_allclose(shown, best.test_proba, rtol=1e-6)


def test_failed_training_leaves_the_champion(recorded, tmp_path, monkeypatch):
    store, dataset, *_ = recorded
    before = store.champion()
    assert before is not None  # run 1's best model

    def broken(*args, **kwargs):
        raise MemoryError("out of memory while training")

    monkeypatch.setattr("churn_core.modeling.train_models", broken)
    with pytest.raises(MemoryError, match="out of memory"):
        cc.run_training(store, dataset, promote=True, artifact_root=tmp_path, **TRAIN_FAST)
    runs = store.list_runs()
    assert [r.status for r in runs] == ["complete", "failed"]
    assert "MemoryError" in runs[-1].error
    assert store.champion() == before


def test_run_training_needs_a_stored_dataset(bundled_ds, tmp_path):
    with pytest.raises(cc.ParameterError, match="needs a stored dataset version"):
        cc.run_training(cc.Store(tmp_path / "s.duckdb"), bundled_ds, **TRAIN_FAST)


@pytest.mark.slow  # the full default training: three models, 5-fold CV
def test_calibrator_is_fitted_on_training_rows_only(trained):
    forest = next(m for m in trained.models if m.name == "random_forest")
    n_train = 5000 - len(trained.y_test)
    # the beta calibrator is the one fitted on the out-of-fold predictions of the 3500 training rows
    y_train = cc.load_dataset(cc.BUNDLED_CSV).target().to_numpy()[trained.train_index]
    refit = cc.BetaCalibration().fit(forest.oof_raw, y_train)
    calibrator = forest.estimator.calibrator_
    assert (calibrator.a, calibrator.b, calibrator.c) == pytest.approx((refit.a, refit.b, refit.c))
    assert calibrator.a >= 0 and calibrator.b >= 0 and len(forest.cv) == 5
    assert forest.estimator.estimator_.named_steps["model"].n_features_in_ == len(forest.features)
    assert n_train == 3500
    np.testing.assert_allclose(forest.estimator.predict_raw(cc.load_dataset(cc.BUNDLED_CSV).frame.iloc[
        trained.test_index]), forest.test_proba_raw)


def test_progress_reports_every_fit_and_cancel_stops(bundled_ds):
    seen = []
    train_models(bundled_ds, models=("logistic_regression",), cv_folds=2, progress=lambda s, f: seen.append(f))
    assert seen[0] == 0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 4

    def cancel(stage, fraction):
        if fraction > 0:
            raise KeyboardInterrupt("cancelled by the analyst")

    with pytest.raises(KeyboardInterrupt, match="cancelled"):
        train_models(bundled_ds, models=("logistic_regression",), cv_folds=2, progress=cancel)


def test_unknown_model_and_calibration_are_named(bundled_ds):
    with pytest.raises(cc.ParameterError, match="Unknown model.*'gbm'"):
        train_models(bundled_ds, models=("gbm",))
    with pytest.raises(cc.ParameterError,
                       match="'calibration' parameter must be 'beta', 'sigmoid', 'isotonic' or None"):
        train_models(bundled_ds, calibration="platt")


def test_run_stores_predictions_folds_and_importance(recorded):
    store, _, run_id, result = recorded
    entry = store.get_run(run_id).model("xgboost")
    assert len(entry.cv_folds) == TRAIN_FAST["cv_folds"] and set(entry.cv_folds[0]) >= {"roc_auc", "f1"}
    assert entry.importance[0]["shap"] >= entry.importance[-1]["shap"] and entry.shap_units == "log-odds"
    assert "total_charge" in entry.features
    saved = store.load_predictions(run_id, "xgboost")
    xgb = next(m for m in result.models if m.name == "xgboost")
    np.testing.assert_allclose(saved["proba"], xgb.test_proba[np.argsort(result.test_index)])
    assert saved["y"].sum() == result.y_test.sum()
    assert set(store.load_predictions(run_id)["model"]) == {"logistic_regression", "xgboost"}


# -- behaviour of the telecom champion (invariance, direction, minimum function) --------------------------

@pytest.fixture(scope="module")
def champion(trained_template):
    store = cc.Store(trained_template)
    entry = store.champion().entry
    return cc.load_model(entry.artifact, sha256=entry.sha256), store.load_dataset().frame


def test_changing_only_the_state_barely_moves_the_score(champion):
    model, frame = champion
    sample = frame.sample(300, random_state=1)
    base = model.predict_proba(sample)[:, 1]
    moved = np.array([np.abs(model.predict_proba(sample.assign(state=s))[:, 1] - base)
                      for s in ("CA", "TX", "NJ", "WY")])
    assert moved.mean() < 0.02 and np.quantile(moved, 0.95) < 0.05


def test_more_service_calls_never_lower_the_risk(champion):
    model, frame = champion
    sample = frame.sample(300, random_state=2)
    column = "number_customer_service_calls"
    curves = np.array([model.predict_proba(sample.assign(**{column: calls}))[:, 1] for calls in range(10)])
    assert (np.diff(curves, axis=0) >= -1e-9).all()
    assert curves[9].mean() > curves[0].mean() + 0.1


def test_an_obvious_churner_scores_high(champion):
    model, frame = champion
    customer = frame.iloc[[0]].copy()
    for column in frame.columns:
        if frame[column].dtype.kind in "if":
            customer[column] = frame[column].median()
    customer = customer.assign(international_plan="yes", voice_mail_plan="no", number_vmail_messages=0,
                               number_customer_service_calls=5, total_day_minutes=320.0, total_day_charge=54.4)
    assert model.predict_proba(customer)[0, 1] >= 0.6


# -- what the checks accept, training accepts ---------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_training():
    dataset = cc.load_dataset(hostile_customers().to_csv(index=False).encode(), filename="hostile.csv")
    return dataset, train_models(dataset, models=MODEL_NAMES, cv_folds=3)


def test_training_accepts_names_xgboost_refuses_and_reports_them_as_written(hostile_training):
    dataset, result = hostile_training
    assert [m.name for m in result.models] == list(MODEL_NAMES)
    for m in result.models:
        assert m.features[:4] == ("a[1]", "b<2", "service_calls[n]", "usage")
        assert {"plan=<basic>", "plan=pro[x]", "plan=a]b"} <= set(m.features)
        assert m.holdout.roc_auc > 0.75  # the calls drive churn, under any name
    assert set(result.features) == {"a[1]", "b<2", "service_calls[n]", "usage", "plan"}


def test_the_monotone_service_calls_constraint_binds_under_its_safe_name(hostile_training):
    dataset, result = hostile_training
    model = next(m for m in result.models if m.name == "xgboost").estimator
    assert dataset.roles.service_calls == "service_calls[n]"
    config = json.loads(model.estimator_.named_steps["model"].get_booster().save_config())
    assert config["learner"]["gradient_booster"]["tree_train_param"]["monotone_constraints"] == "(0,0,1,0,0,0,0,0)"
    sample = dataset.frame.head(50)
    curves = np.array([model.predict_proba(sample.assign(**{"service_calls[n]": c}))[:, 1] for c in range(8)])
    assert (np.diff(curves, axis=0) >= -1e-9).all()
