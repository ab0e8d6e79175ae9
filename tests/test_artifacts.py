"""churn_core.artifacts: skops files, loaded only with a matching hash and allowed types."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator

import churn_core as cc
from churn_core.artifacts import ArtifactError, load_model, save_model


class Sneaky(BaseEstimator):
    """A type that is not on the allow-list."""

    def __init__(self, payload=None):
        self.payload = payload


@pytest.fixture(scope="module")
def trained():
    dataset = cc.load_dataset(cc.BUNDLED_CSV)
    return dataset, cc.train_models(dataset, models=("xgboost",), cv_folds=2, calibration="sigmoid")


def test_round_trip_predicts_the_same(trained, tmp_path):
    dataset, result = trained
    model = result.models[0]
    sha = save_model(model.estimator, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops", sha256=sha)
    proba = loaded.predict_proba(dataset.frame.iloc[result.test_index])[:, 1]
    np.testing.assert_allclose(proba, model.test_proba)


def test_altered_file_is_refused(trained, tmp_path):
    path = tmp_path / "m.skops"
    sha = save_model(trained[1].models[0].estimator, path)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match="was changed after it was saved") as err:
        load_model(path, sha256=sha)
    assert err.value.code == "artifact_altered"


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="is missing. Retrain"):
        load_model(tmp_path / "none.skops", sha256="0" * 64)


def test_types_off_the_allow_list_are_refused(tmp_path):
    path = tmp_path / "sneaky.skops"
    sha = save_model(Sneaky(payload=[1, 2]), path)
    with pytest.raises(ArtifactError, match=r"types that are not allowed: \['tests.test_artifacts.Sneaky'\]"):
        load_model(path, sha256=sha)
