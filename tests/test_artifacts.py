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


def test_two_databases_in_one_folder_never_overwrite_each_others_models(tmp_path):
    """Run ids are per database: run 1 of b.duckdb must not replace the model files of run 1 of a.duckdb."""
    data = cc.load_dataset(cc.BUNDLED_CSV)
    champions = []
    for name in ("a", "b"):
        store = cc.Store(tmp_path / f"{name}.duckdb")
        version = store.save_dataset(data).version
        cc.run_training(store, store.load_dataset(version), promote=True, models=("logistic_regression",),
                        cv_folds=2, calibration=None, seed={"a": 0, "b": 1}[name])
        champions.append(store.champion())
    assert champions[0].run_id == champions[1].run_id == 1
    assert champions[0].entry.artifact != champions[1].entry.artifact
    for champion in champions:  # both still load: nothing was overwritten
        cc.load_model(champion.entry.artifact, sha256=champion.entry.sha256)


def test_an_existing_model_file_is_never_overwritten(tmp_path):
    from churn_core.artifacts import save_model

    path = tmp_path / "m.skops"
    save_model({"a": 1}, path)
    with pytest.raises(cc.ArtifactError, match="exists already and is not overwritten"):
        save_model({"a": 2}, path)
