"""Fixtures for headless page tests (streamlit.testing.v1.AppTest) against a fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc

ROOT = Path(__file__).resolve().parents[2]
REPORT_TRAIN = ROOT.parent / "shared" / "data" / "telecom_churn_report_train.csv"


@pytest.fixture(autouse=True)
def _navigation_app(monkeypatch):
    """Run every AppTest as the real server does after its first request: through app.py's st.navigation.

    AppTest resets ``PagesManager.uses_pages_directory`` before each run, so with a pages/ folder
    it would run the page alone (Streamlit's old routing); ui.widgets.page_header then reruns via
    app.py, and that rerun drops button clicks. The browser tests cover the real deep-link path.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> Path:
    """A new database for the app; the app seeds it with the bundled CSV on first use."""
    db = tmp_path / "app.duckdb"
    monkeypatch.setenv(cc.store.ENV_VAR, str(db))
    return db


@pytest.fixture
def app(app_db) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


@pytest.fixture
def report_db(app_db) -> Path:
    """The app's database with the published report's training file as the active dataset."""
    if not REPORT_TRAIN.is_file():
        pytest.skip("../shared/data/telecom_churn_report_train.csv is absent: this page test shows the "
                    "report's figures and needs the shared data folder beside the repo")
    cc.Store(app_db).save_dataset(cc.load_dataset(REPORT_TRAIN))
    return app_db


def texts(at: AppTest) -> str:
    """Every markdown, caption, title and header text on the page, joined."""
    parts = [e.value for kind in ("markdown", "caption", "title", "subheader", "header", "info", "error")
             for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def trained_app_db(trained_db, monkeypatch) -> Path:
    """The app's database with the bundled data and a trained, promoted run (see tests/conftest.py)."""
    monkeypatch.setenv(cc.store.ENV_VAR, str(trained_db))
    return trained_db


@pytest.fixture
def trained_app(trained_app_db) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


@pytest.fixture
def ibm_db(app_db) -> Path:
    """The app's database with an IBM Telco-like export (see tests/conftest.ibm_customers) as the active dataset."""
    from tests.conftest import ibm_customers

    frame = ibm_customers()
    cc.Store(app_db).save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="telco.csv"))
    return app_db
