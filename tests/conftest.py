"""Fixtures shared by the churn_core unit tests (tests/app and tests/browser keep their own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import churn_core as cc


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo: the published report's files (never copied into the project)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _shared_file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"../shared/data/{name} is absent: the report-reproduction tests need the shared data "
                    "folder beside the repo")
    return path


@pytest.fixture(scope="session")
def report_train(shared_data) -> Path:
    """The report's training file: 4250 customers, 598 churners, target ``churn`` (yes/no)."""
    return _shared_file(shared_data, "telecom_churn_report_train.csv")


@pytest.fixture(scope="session")
def report_test(shared_data) -> Path:
    """The report's unlabelled file: ``id`` and the 19 features, no target."""
    return _shared_file(shared_data, "telecom_churn_report_test.csv")


@pytest.fixture
def bundled() -> cc.Dataset:
    """The bundled sample, data/telecom_churn.csv (5000 customers)."""
    return cc.load_dataset(Path(__file__).resolve().parents[1] / "data" / "telecom_churn.csv")


@pytest.fixture
def tmp_store(tmp_path) -> cc.Store:
    return cc.Store(tmp_path / "t.duckdb")


@pytest.fixture
def make_csv() -> Callable[..., bytes]:
    """``make_csv(rows, encoding="utf-8", sep=",")``: CSV bytes from a list of dicts, or from text as written."""

    def make(rows: list[dict] | str, encoding: str = "utf-8", *, sep: str = ",") -> bytes:
        text = rows if isinstance(rows, str) else pd.DataFrame(rows).to_csv(index=False, sep=sep)
        return text.encode(encoding)

    return make


# A run trained once per session (logistic regression and XGBoost, 3-fold CV, isotonic),
# promoted to champion. Tests get their own copy of the database; artifacts are read-only.
TRAIN_FAST = dict(models=("logistic_regression", "xgboost"), cv_folds=3)


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trained")
    store = cc.Store(folder / "trained.duckdb")
    version = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV)).version
    cc.run_training(store, store.load_dataset(version), promote=True, artifact_root=folder / "models", **TRAIN_FAST)
    return folder / "trained.duckdb"


@pytest.fixture
def trained_db(trained_template, tmp_path) -> Path:
    """A database holding the bundled dataset (version 1, active) and run 1, whose best model is champion."""
    import shutil

    target = tmp_path / "trained.duckdb"
    shutil.copy(trained_template, target)
    return target
