"""churn_core.features: declared steps that fire only when their inputs exist, one transform for train and score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core.features import ChurnFeatures, feature_steps


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
