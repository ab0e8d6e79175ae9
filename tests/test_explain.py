"""churn_core.explain: SHAP values add up to the model output; importance tables are well formed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

import churn_core as cc
from churn_core.explain import (
    design_matrix,
    explain_customer,
    explain_customers,
    importance,
    native_importance,
    shap_units,
    shap_values,
    unwrap,
)
from tests.conftest import TRAIN_FAST, hostile_customers


@pytest.fixture(scope="module")
def bundled_ds() -> cc.Dataset:
    return cc.load_dataset(cc.BUNDLED_CSV)


@pytest.fixture(scope="module")
def trained(default_training):
    """The three models trained with the defaults (tests/conftest.py), shared with tests/test_modeling.py."""
    return default_training


@pytest.mark.parametrize("name", ["logistic_regression", "random_forest", "xgboost"])
def test_shap_values_plus_base_equal_the_raw_model_output(trained, bundled_ds, name):
    model = next(m for m in trained.models if m.name == name).estimator
    rows = bundled_ds.frame.iloc[trained.test_index[:40]]
    values, base = shap_values(model, rows, background=bundled_ds.frame.iloc[:500])
    raw = unwrap(model).predict_proba(rows)[:, 1]
    expected = raw if shap_units(model) == "probability" else logit(raw)
    if name == "logistic_regression":  # LinearExplainer's base is the mean margin of the background
        design = design_matrix(model, rows).to_numpy()
        final = unwrap(model).named_steps["model"]
        expected = design @ final.coef_.ravel() + final.intercept_[0]
    np.testing.assert_allclose(values.sum(axis=1) + base, expected, atol=1e-4)


def test_importance_tables_are_shares_sorted_by_shap(trained, bundled_ds):
    xgb = next(m for m in trained.models if m.name == "xgboost").estimator
    table = importance(xgb, bundled_ds.frame, max_rows=300).table
    assert table["shap"].sum() == pytest.approx(1.0) and table["native"].sum() == pytest.approx(1.0)
    assert table["shap"].is_monotonic_decreasing
    top = set(table["feature"].head(4))
    assert "number_customer_service_calls" in top and "international_plan" in top
    assert len(native_importance(xgb)) == len(table)


def test_importance_rejects_bad_sample_size(trained, bundled_ds):
    with pytest.raises(cc.ParameterError, match="'max_rows' parameter of importance must be at least 1"):
        importance(trained.models[0].estimator, bundled_ds.frame, max_rows=0)


def test_non_pipeline_is_refused(bundled_ds):
    with pytest.raises(cc.ParameterError, match="Expected a fitted churn model pipeline. Got str"):
        shap_values("not a model", bundled_ds.frame)


# -- reasons (issue 4) -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["logistic_regression", "random_forest", "xgboost"])
def test_customer_contributions_add_up_to_the_probability(trained, bundled_ds, name):
    from churn_core.explain import explain_customer

    model = next(m for m in trained.models if m.name == name).estimator
    for i in trained.test_index[:5]:
        e = explain_customer(model, bundled_ds.frame.iloc[[i]], background=bundled_ds.frame.iloc[:500],
                             calibrate=model.calibrate, mean_probability=0.14)
        shown = model.predict_proba(bundled_ds.frame.iloc[[i]])[0, 1]
        # from the population's mean shown probability to this customer's shown probability: no calibration bar
        assert e.base_probability == 0.14 and e.probability == pytest.approx(shown, abs=1e-6)
        assert e.base_probability + e.table["points"].sum() == pytest.approx(shown, abs=1e-6)
        assert e.table["points"].abs().is_monotonic_decreasing
        assert "state" in set(e.table["source"]) and not e.table["source"].str.contains("=").any()
        assert "total_day_charge" not in set(e.table["source"])  # a twin of day minutes: one driver
        assert set(e.raises["source"]) | set(e.protective["source"]) <= set(e.table["source"])


@pytest.mark.parametrize("name", ["logistic_regression", "xgboost"])
def test_rescaling_keeps_each_contributions_sign_when_the_base_is_the_models(trained, bundled_ds, name):
    from churn_core.explain import explain_customer, shap_values, shown_probability

    model = next(m for m in trained.models if m.name == name).estimator
    row = bundled_ds.frame.iloc[[int(trained.test_index[3])]]
    background = bundled_ds.frame.iloc[:500]
    _, base = shap_values(model, row, background=background)
    at_base = shown_probability([base], units="log-odds", calibrate=model.calibrate)[0]
    e = explain_customer(model, row, background=background, calibrate=model.calibrate, mean_probability=at_base)
    same = np.sign(e.table["points"]) == np.sign(e.table["contribution"])
    assert same[e.table["contribution"].abs() > 1e-9].all()


@pytest.mark.parametrize("name", ["logistic_regression", "xgboost"])
def test_bulk_reasons_match_one_by_one_and_are_deterministic(trained, bundled_ds, name):
    from churn_core.explain import explain_customer, explain_customers

    model = next(m for m in trained.models if m.name == name).estimator
    rows = bundled_ds.frame.iloc[trained.test_index[:30]]
    background = bundled_ds.frame.iloc[:500]
    options = dict(top_k=3, background=background, calibrate=model.calibrate, mean_probability=0.14)
    bulk = explain_customers(model, rows, chunk_rows=7, **options)  # chunks of 7
    again = explain_customers(model, rows, **options)
    pd.testing.assert_frame_equal(bulk.table, again.table, check_exact=False, rtol=1e-9)  # chunking is invisible
    assert list(bulk.table["row"]) == list(range(30))
    for j in (0, 13, 29):
        one = explain_customer(model, rows.iloc[[j]], background=background, calibrate=model.calibrate,
                               mean_probability=0.14)
        raising = list(one.raises["source"].head(3))
        assert list(bulk.table.loc[j, ["reason_1", "reason_2", "reason_3"]])[:len(raising)] == raising
        assert bulk.table.loc[j, "reason_1_points"] == pytest.approx(one.table["points"].max(), abs=1e-6)
        if len(one.protective):
            assert bulk.table.loc[j, "protective"] == one.protective["source"].iloc[0]
        total = bulk.table.loc[j, ["reason_1_points", "reason_2_points", "reason_3_points", "other_points"]].sum()
        assert 0.14 + total == pytest.approx(one.probability, abs=1e-6)
    with pytest.raises(cc.ParameterError, match="'top_k' parameter of explain_customers must be at least 1"):
        explain_customers(model, rows, top_k=0)


def test_points_are_bounded_like_probabilities():
    """Large opposing log-odds contributions: each coalition's points stay within what a probability can move."""
    from churn_core.explain import to_points

    values = np.array([[6.0, -5.0, 0.5], [-4.0, 3.9, 0.0], [0.0, 0.0, 0.0]])
    points, p = to_points(values, -2.0, units="log-odds", calibrate=None, mean_probability=0.14)
    np.testing.assert_allclose(0.14 + points.sum(axis=1), p, atol=1e-9)
    raising, lowering = np.where(points > 0, points, 0).sum(axis=1), np.where(points < 0, points, 0).sum(axis=1)
    assert (raising <= 0.995 - 0.005).all() and (lowering >= -(0.995 - 0.005)).all()
    assert np.abs(points).max() < 1 and (np.sign(points[:2, :2]) == np.sign(values[:2, :2])).all()
    # the uniform secant scaling used before gave this first customer +107 and −92 points


def test_a_forest_past_its_deadline_explains_the_rest_by_tree_paths(trained, bundled_ds):
    import time

    from churn_core.explain import explain_customers

    model = next(m for m in trained.models if m.name == "random_forest").estimator
    rows = bundled_ds.frame.iloc[trained.test_index[:40]]
    past = explain_customers(model, rows, calibrate=model.calibrate, mean_probability=0.14,
                             deadline=time.monotonic() - 1, chunk_rows=20)
    assert set(past.table["method"]) == {"path"} and past.table["reason_1"].notna().all()
    total = past.table[["reason_1_points", "reason_2_points", "reason_3_points", "other_points"]].sum(axis=1)
    np.testing.assert_allclose(0.14 + total, model.predict_proba(rows)[:, 1], atol=1e-6)
    exact = explain_customers(model, rows.iloc[:5], calibrate=model.calibrate, mean_probability=0.14)
    assert set(exact.table["method"]) == {"shap"}


@pytest.fixture(scope="module")
def hostile_models():
    """Logistic regression and XGBoost trained on columns named ``a[1]``, ``b<2``, ``service_calls[n]``."""
    dataset = cc.load_dataset(hostile_customers().to_csv(index=False).encode(), filename="hostile.csv")
    return dataset, cc.train_models(dataset, **TRAIN_FAST)


@pytest.mark.parametrize("name", ["logistic_regression", "xgboost"])
def test_importance_and_reasons_use_the_original_names(hostile_models, name):
    dataset, result = hostile_models
    model = next(m for m in result.models if m.name == name).estimator
    table = importance(model, dataset.frame, max_rows=100).table
    assert table["feature"].iloc[0] == "service_calls[n]"
    assert set(table["feature"]) == {"a[1]", "b<2", "service_calls[n]", "usage", "plan=<basic>", "plan=pro[x]",
                                     "plan=a]b", "plan=other"}
    assert native_importance(model).index[2] == "service_calls[n]"
    reasons = explain_customers(model, dataset.frame.head(40), top_k=2).table
    assert set(reasons["reason_1"]) <= {"a[1]", "b<2", "service_calls[n]", "usage", "plan"}
    assert "service_calls[n]" in set(reasons["reason_1"])
    one = explain_customer(model, dataset.frame.iloc[[0]], mean_probability=0.3).table
    assert set(one["source"]) == {"a[1]", "b<2", "service_calls[n]", "usage", "plan"}
    assert one.set_index("source").at["plan", "value"] == dataset.frame.at[0, "plan"]
