"""churn_core.explain: SHAP values add up to the model output; importance tables are well formed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

import churn_core as cc
from churn_core.explain import design_matrix, importance, native_importance, shap_units, shap_values, unwrap
from churn_core.modeling import train_models


@pytest.fixture(scope="module")
def bundled_ds() -> cc.Dataset:
    return cc.load_dataset(cc.BUNDLED_CSV)


@pytest.fixture(scope="module")
def trained(bundled_ds):
    return train_models(bundled_ds, cv_folds=2)


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
