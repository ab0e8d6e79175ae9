"""The Models page: leaderboard, curves, calibration, confusion slider, importance, CV, promote and roll back."""

from __future__ import annotations

import pytest

import churn_core as cc
from tests.app.conftest import texts


def open_models(app, lang: str | None = None):
    if lang:
        app.session_state["lang"] = lang
    return app.run().switch_page("pages/models.py").run()


def test_without_runs_the_page_points_to_training(app):
    at = open_models(app)
    assert not at.exception
    assert "No model has been trained yet" in texts(at)


def test_leaderboard_and_charts_show_the_champion_run(trained_app, trained_app_db):
    at = open_models(trained_app)
    assert not at.exception
    champion = cc.Store(trained_app_db).champion()
    assert (f"Champion: XGBoost from run 1 on telecom_churn v1 (holdout ROC-AUC {champion.entry.roc_auc:.3f}"
            in texts(at))
    board = at.dataframe[0].value.set_index("Metric")
    assert list(board.columns) == ["Logistic regression", "XGBoost", "Best model"]
    assert board.loc["ROC-AUC", "XGBoost"].rstrip(" ★") == f"{champion.entry.roc_auc:.3f}"
    auc = {m: float(board.loc["ROC-AUC", m].rstrip(" ★")) for m in ("Logistic regression", "XGBoost")}
    best = max(auc, key=auc.get)
    assert board.loc["ROC-AUC", "Best model"] == best and board.loc["ROC-AUC", best].endswith(" ★")
    assert board.loc["Brier", board.loc["Brier", "Best model"]].endswith(" ★")  # lower is better there
    # the recommendation is the best cross-validated mean, with the holdout's bootstrap interval beside it
    entry = champion.entry
    low, high = (float(v) for v in board.loc["ROC-AUC 95% interval (bootstrap)", "XGBoost"].split("–"))
    assert low == pytest.approx(entry.roc_auc_ci_low, abs=5e-4) and low < entry.roc_auc < high
    assert (f"Recommended champion: XGBoost, the best cross-validated ROC-AUC ({entry.cv_roc_auc_mean:.3f}"
            in texts(at).replace("**", ""))
    history = at.dataframe[1].value
    assert history.loc[0, "Recommended (best CV)"] == "XGBoost" and history.loc[0, "Champion"] == "XGBoost"
    assert history.loc[0, "Dataset version"] == "telecom_churn v1"
    # ROC, PR, gains, calibration, confusion, two importance charts, CV spread
    assert len(at.get("plotly_chart")) == 8
    assert "Calling the riskiest 20% by XGBoost reaches" in texts(at)


@pytest.mark.parametrize(("lang", "label"), [("en", "Run 1 · telecom_churn v1 · "),
                                              ("zh", "第 1 次训练 · telecom_churn v1 · ")])
def test_a_run_is_labelled_with_its_dataset_name_and_version(trained_app, trained_app_db, lang, label):
    at = open_models(trained_app, lang=lang)
    assert not at.exception
    run = cc.Store(trained_app_db).get_run(1)
    picker = at.selectbox(key="models_run")
    assert picker.options == [label + run.created_at.strftime("%Y-%m-%d %H:%M")]


def test_threshold_slider_moves_the_confusion_counts(trained_app, trained_app_db):
    at = open_models(trained_app)
    store = cc.Store(trained_app_db)
    preds = store.load_predictions(1, "xgboost")
    at.slider(key="threshold_xgboost").set_value(0.2).run()
    contacted = int((preds["proba"] >= 0.2).sum())
    caught = int(((preds["proba"] >= 0.2) & (preds["y"] == 1)).sum())
    assert f"At threshold 0.20, contacting {contacted:,} customers" in texts(at)
    assert f"reaches {caught:,} of {int(preds['y'].sum()):,} churners" in texts(at)


def test_promote_then_roll_back(trained_app, trained_app_db):
    at = open_models(trained_app)
    at.selectbox(key="promote_pick").select("logistic_regression")
    at.button(key="promote").click().run()
    store = cc.Store(trained_app_db)
    assert store.champion().model == "logistic_regression"
    assert "Champion: Logistic regression from run 1" in texts(at)
    at.button(key="rollback").click().run()
    assert store.champion().model == "xgboost"


def test_promoting_a_run_of_an_inactive_version_makes_that_version_active(trained_app, trained_app_db):
    """The champion scores the active dataset: promoting run 1 (trained on v1) while v2 is active offers to make
    v1 active again, on by default, as the Data page does."""
    from tests.conftest import bank_customers

    store = cc.Store(trained_app_db)
    other = store.save_dataset(cc.load_dataset(bank_customers(300).to_csv(index=False).encode(), filename="bank.csv"))
    assert store.active_version().version == other.version == 2
    at = open_models(trained_app)
    assert at.checkbox(key="models_activate_1").value is True
    assert "Also make telecom_churn v1 the active dataset" in at.checkbox(key="models_activate_1").label
    at.selectbox(key="promote_pick").select("logistic_regression")
    at.button(key="promote").click().run()
    assert not at.exception, at.exception
    assert store.champion().model == "logistic_regression" and store.active_version().version == 1


def test_models_page_in_chinese(trained_app):
    at = open_models(trained_app, lang="zh")
    assert not at.exception
    assert "冠军模型：第 1 次训练（telecom_churn v1）的XGBoost" in texts(at)
    assert at.dataframe[0].value.columns[0] == "指标"
