"""A promotion in the middle of a page: the page shows one champion, and its scores, never a mix.

Run 1 (XGBoost, tests/conftest.py's session template) is the champion; run 2, a logistic
regression, is promoted at the worst moment: just after the page has read the champion. Many
sessions at once are tested against a real server in tests/test_reliability.py (AppTest is not
thread-safe: each run swaps a process-wide mock Runtime in and out).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc
from tests.app.conftest import ROOT, texts

NAMES = {"XGBoost": "xgboost", "Logistic regression": "logistic_regression"}
SCORED_BY = re.compile(r"Scored by run (\d+) \(.+? v\d+\) · (.+?)\. Reasons")
CHAMPION_LINE = re.compile(r"Champion: (.+?) from run (\d+) on .+? v\d+ \(holdout")


@dataclass(frozen=True)
class RiskView:
    run_id: int
    model: str
    probabilities: pd.Series  # the call list's, as fractions, by customer id


def read_risk(at: AppTest) -> RiskView:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    found = SCORED_BY.findall(shown)
    assert len(found) == 1, shown
    (caption,) = found
    table = at.dataframe[0].value
    return RiskView(int(caption[0]), NAMES[caption[1]],
                    pd.Series(table["Probability"].to_numpy() / 100, index=table["Customer"].astype(str)))


def read_champion(at: AppTest) -> tuple[int, str]:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    found = CHAMPION_LINE.findall(shown)
    assert len(found) == 1, shown
    (line,) = found
    return int(line[1]), NAMES[line[0]]


def assert_scores_of(risk: RiskView, store: cc.Store, run_id: int, model: str) -> None:
    """The call list shows the probabilities ``model`` of run ``run_id`` stored for the bundled data (version 1)."""
    found = store.find_score_set(run_id=run_id, model=model, dataset_version=1)
    assert found is not None, f"no scores of run {run_id} {model} are stored"
    scores = store.load_scores(found.id)
    stored = pd.Series(scores["probability"].to_numpy(), index=scores["customer_id"].astype(str))
    np.testing.assert_allclose(risk.probabilities, stored[risk.probabilities.index], atol=1e-9)


@pytest.fixture(scope="module")
def two_runs_template(trained_template, tmp_path_factory) -> Path:
    """The trained database plus run 2: a logistic regression, complete but not promoted."""
    path = tmp_path_factory.mktemp("two_runs") / "two_runs.duckdb"
    shutil.copy(trained_template, path)
    store = cc.Store(path)
    cc.run_training(store, store.load_dataset(1), artifact_root=path.parent / "models",
                    models=("logistic_regression",), cv_folds=3, seed=1)
    return path


@pytest.fixture
def challenger_db(two_runs_template, tmp_path, monkeypatch) -> Path:
    """The app's database: run 1 champion, run 2 waiting to be promoted."""
    path = Path(shutil.copy(two_runs_template, tmp_path / "two_runs.duckdb"))
    monkeypatch.setenv(cc.store.ENV_VAR, str(path))
    return path


def promote_after_first_read(monkeypatch, path, run_id: int, model: str) -> list[int]:
    """Promote run ``run_id`` just after the next champion read returns: the narrowest race a page can meet."""
    original = cc.Store.champion
    reads: list[int] = []

    def champion(self):
        found = original(self)
        reads.append(found.run_id)
        if len(reads) == 1:
            monkeypatch.setattr(cc.Store, "champion", original)  # promote() reads the champion too
            cc.Store(path).promote(run_id, model)
            monkeypatch.setattr(cc.Store, "champion", champion)
        return found

    monkeypatch.setattr(cc.Store, "champion", champion)
    return reads


def test_a_promotion_in_the_middle_of_a_page_never_mixes_two_runs(challenger_db, monkeypatch):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    promote_after_first_read(monkeypatch, challenger_db, 2, "logistic_regression")

    risk = read_risk(at.switch_page("pages/risk.py").run())

    store = cc.Store(challenger_db)
    assert (risk.run_id, risk.model) == (1, "xgboost")  # the champion when the page started
    assert_scores_of(risk, store, 1, "xgboost")
    # Nothing of run 1 was stored under run 2's name; the next run of the page shows run 2 and its own scores.
    assert store.find_score_set(run_id=2, model="logistic_regression", dataset_version=1) is None
    risk = read_risk(at.run())
    assert (risk.run_id, risk.model) == (2, "logistic_regression")
    assert_scores_of(risk, store, 2, "logistic_regression")
    assert read_champion(at.switch_page("pages/models.py").run()) == (2, "logistic_regression")


def test_the_models_page_reads_the_champion_once_per_run(challenger_db, monkeypatch):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    reads = promote_after_first_read(monkeypatch, challenger_db, 2, "logistic_regression")

    assert read_champion(at.switch_page("pages/models.py").run()) == (1, "xgboost")
    assert reads == [1]
    assert read_champion(at.run()) == (2, "logistic_regression")
    assert reads == [1, 2]


def test_outside_a_script_run_the_champion_is_read_every_time(trained_app_db):
    from ui import state

    store = cc.Store(trained_app_db)
    assert state.champion().run_id == 1
    run_id = store.start_run(1, params={})
    store.complete_run(run_id, models=[{"name": "logistic_regression", "roc_auc": 0.5}])
    store.promote(run_id, "logistic_regression")
    assert state.champion().run_id == run_id
