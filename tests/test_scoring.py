"""churn_core.scoring: champion scores, clear refusals, and formula-safe exports."""

from __future__ import annotations

import pandas as pd
import pytest

import churn_core as cc
from churn_core.modeling import MODEL_NAMES
from churn_core.scoring import neutralise_formulas, score_customers, write_csv


def test_cli_model_names_match_modeling():
    from churn_core.__main__ import MODEL_NAMES as CLI_NAMES
    assert CLI_NAMES == MODEL_NAMES


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x"], ids=repr)
def test_formula_cells_are_neutralised(cell):
    out = neutralise_formulas(pd.DataFrame({"id": [cell, "ok"], "p": [0.5, 0.1]}))
    assert out["id"].tolist() == ["'" + cell, "ok"]
    assert out["p"].tolist() == [0.5, 0.1]


def test_negative_numbers_stay_numbers_and_headers_are_safe(tmp_path):
    frame = pd.DataFrame({"=evil": ["a"], "delta": [-3.5]})
    path = write_csv(frame, tmp_path / "out.csv")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back.columns) == ["'=evil", "delta"] and back.at[0, "delta"] == -3.5


def test_scoring_without_a_champion_says_how_to_get_one(tmp_path, bundled):
    with pytest.raises(cc.NotFoundError, match="No champion model yet.*--promote"):
        score_customers(bundled, store=cc.Store(tmp_path / "s.duckdb"))


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory):
    dataset = cc.load_dataset(cc.BUNDLED_CSV)
    store = cc.Store(tmp_path_factory.mktemp("score") / "s.duckdb")
    stored = store.load_dataset(store.save_dataset(dataset).version)
    cc.run_training(store, stored, promote=True, models=("xgboost",), cv_folds=2, calibration=None)
    return store, stored


def test_scores_one_row_per_customer(champion_store):
    store, dataset = champion_store
    scores = score_customers(dataset, store=store)
    assert len(scores.frame) == dataset.n_rows and list(scores.frame.columns) == ["row", "churn_probability"]
    assert scores.frame["row"].tolist()[:3] == [1, 2, 3]
    assert scores.frame["churn_probability"].between(0, 1).all()
    churned = dataset.target().to_numpy() == 1
    assert scores.frame["churn_probability"][churned].mean() > 3 * scores.frame["churn_probability"][~churned].mean()


def test_missing_model_columns_are_named(champion_store):
    store, dataset = champion_store
    frame = dataset.frame.drop(columns=["number_customer_service_calls", "churn"])
    other = cc.load_dataset(frame.to_csv(index=False).encode(), filename="f.csv", require_target=False)
    with pytest.raises(cc.SchemaError, match=r"lacks columns the champion model was trained on: "
                                             r"\['number_customer_service_calls'\]"):
        score_customers(other, store=store)
