"""churn_core.features: declared steps that fire only when their inputs exist, one transform for train and score."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import churn_core as cc
from churn_core.features import (
    VALUE_LIMIT,
    ChurnFeatures,
    feature_labels,
    feature_steps,
    safe_feature_name,
    safe_feature_names,
)
from tests.conftest import hostile_customers


@pytest.fixture(scope="module")
def bundled_ds() -> cc.Dataset:
    return cc.load_dataset(cc.BUNDLED_CSV)


def test_telecom_steps_fire(bundled_ds):
    assert [s.name for s in feature_steps(bundled_ds.roles)] == ["total_charge", "total_minutes", "charge_per_minute"]


def test_steps_skip_missing_inputs():
    roles = cc.ColumnRoles(target="Churn", numeric=("tenure", "MonthlyCharges"), value=("MonthlyCharges",))
    assert feature_steps(roles) == ()


def test_transform_values(bundled_ds):
    frame = bundled_ds.frame.head(50)
    out = ChurnFeatures(bundled_ds.roles.to_json()).fit(frame).transform(frame)
    charges = frame[list(bundled_ds.roles.value)].sum(axis=1)
    minutes = frame.filter(like="_minutes").sum(axis=1)
    np.testing.assert_allclose(out["total_charge"], charges)
    np.testing.assert_allclose(out["charge_per_minute"], charges / minutes)
    assert set(out["international_plan"]) <= {0.0, 1.0}
    assert out["international_plan"].sum() == (frame["international_plan"] == "yes").sum()
    assert "churn" not in out.columns and "state=other" in out.columns
    assert out.dtypes.map(lambda d: d.kind == "f").all()


def test_unseen_category_goes_to_other_at_scoring_time(bundled_ds):
    features = ChurnFeatures(bundled_ds.roles.to_json(), max_levels=3).fit(bundled_ds.frame)
    new = bundled_ds.frame.head(2).astype({"state": "object"}).copy()
    new.loc[:, "state"] = ["ZZ", "ZZ"]
    out = features.transform(new)
    assert out["state=other"].tolist() == [1.0, 1.0]
    assert list(out.columns) == list(features.get_feature_names_out())


def test_zero_minutes_gives_zero_price():
    frame = pd.DataFrame({"day_minutes": [0.0, 10.0], "eve_minutes": [0.0, 5.0], "day_charge": [0.0, 2.0],
                          "eve_charge": [0.0, 1.5], "churn": ["no", "yes"]})
    roles = cc.detect_roles(frame)
    out = ChurnFeatures(roles.to_json()).fit(frame).transform(frame)
    assert out["charge_per_minute"].tolist() == [0.0, pytest.approx(3.5 / 15)]


def test_excluded_columns_never_used(bundled_ds):
    out = ChurnFeatures(bundled_ds.roles.to_json(), exclude=("total_day_charge",)).fit(bundled_ds.frame)
    assert "total_day_charge" not in out.get_feature_names_out()


def test_row_numbers_and_ids_never_become_features(bank):
    roles = cc.detect_roles(bank)
    names = set(ChurnFeatures(roles.to_json()).fit(bank).get_feature_names_out())
    assert {"CreditScore", "Age", "Geography=France"} <= names
    assert not {"RowNumber", "CustomerId", "Exited"} & names


# -- names the models accept, reports in the original names ---------------------------------------------------

@pytest.mark.parametrize("name", [
    pytest.param("a[1]", id="brackets"), pytest.param("b<2", id="less-than"), pytest.param("x\ny\t", id="controls"),
    pytest.param("<b>" + "长" * 80, id="long-unicode"), pytest.param("bad\ud800", id="lone-surrogate"),
])
def test_unsafe_names_become_safe_and_stay_distinct(name):
    safe = safe_feature_name(name)
    assert not any(ch in safe for ch in "[]<\n\t\ud800") and len(safe) <= 64
    assert safe != safe_feature_name(name + "x")  # the hash of the whole name keeps near-twins apart


def test_safe_names_leave_safe_names_alone_and_deduplicate():
    assert safe_feature_names(["tenure", "plan=basic", "国家"]) == ["tenure", "plan=basic", "国家"]
    names = safe_feature_names(["a=b", "a=b", "a=b"])
    assert names == ["a=b", "a=b~2", "a=b~3"]


def test_hostile_names_and_infinity_reach_the_model_safely():
    frame = hostile_customers(60)
    roles = cc.detect_roles(frame)
    features = ChurnFeatures(roles.to_json()).fit(frame)
    out = features.transform(frame)
    assert feature_labels(features)[:4] == ["a[1]", "b<2", "service_calls[n]", "usage"]
    assert "plan=<basic>" in feature_labels(features)
    assert list(out.columns) == features.feature_names_out_ == safe_feature_names(feature_labels(features))
    assert not any(ch in c for c in out.columns for ch in "[]<")
    assert np.isnan(out.iloc[[3, 4], 3]).all() and np.isfinite(out.iloc[5:, 3]).all()  # ±inf is missing


def test_a_level_named_like_a_column_keeps_both_features():
    frame = pd.DataFrame({"a=b": [1.0, 2.0, 3.0, 4.0], "a": ["b", "c", "b", "c"], "churn": ["yes", "no"] * 2})
    roles = cc.ColumnRoles(target="churn", positive_label="yes", numeric=("a=b",), categorical=("a",))
    features = ChurnFeatures(roles.to_json()).fit(frame)
    out = features.transform(frame)
    assert feature_labels(features) == ["a=b", "a=b", "a=c", "a=other"]
    assert out.iloc[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0] and out.iloc[:, 1].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_values_beyond_the_limit_are_cut_and_overflowing_sums_are_missing():
    frame = pd.DataFrame({"day_charge": [1e308, 1e40, 2.0], "eve_charge": [1e308, 1.0, 3.0],
                          "churn": ["yes", "no", "no"]})
    roles = cc.ColumnRoles(target="churn", positive_label="yes", numeric=("day_charge", "eve_charge"),
                           value=("day_charge", "eve_charge"))
    out = ChurnFeatures(roles.to_json()).fit(frame).transform(frame)
    assert out["day_charge"].tolist() == [VALUE_LIMIT, VALUE_LIMIT, 2.0]
    assert np.isnan(out.at[0, "total_charge"]) and out.at[2, "total_charge"] == 5.0


def test_a_step_saved_before_safe_names_keeps_its_columns(bundled_ds):
    features = ChurnFeatures(bundled_ds.roles.to_json()).fit(bundled_ds.frame)
    del features.feature_labels_  # as a model file written before this change loads
    out = features.transform(bundled_ds.frame.head(5))
    assert list(out.columns) == features.feature_names_out_ == feature_labels(features)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("[]<=~"), max_size=120),
                max_size=12))
def test_any_names_become_unique_safe_names(names):
    unsafe = re.compile(r"[\[\]<\x00-\x1f\x7f\ud800-\udfff]")
    safe = safe_feature_names(names)
    assert len(safe) == len(names) and len(set(safe)) == len(safe)
    assert not any(unsafe.search(s) for s in safe)
    assert all(len(s) <= 64 + 3 for s in safe)  # + "~2".."~12" for a repeated name
    for i, (name, out) in enumerate(zip(names, safe)):  # a safe name is left alone unless it is taken
        if len(name) <= 64 and not unsafe.search(name) and name not in safe[:i]:
            assert out == name
