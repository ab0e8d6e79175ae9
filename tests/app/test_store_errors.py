"""A damaged, foreign or newer database: every page shows the translated message, never a raw exception."""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc
from churn_core import store as store_module
from tests.app.conftest import ROOT
from tests.test_store import _cut_in_half, _flip_bytes

PAGES = ["pages/overview.py", "pages/drivers.py", "pages/risk.py", "pages/roi.py", "pages/models.py",
         "pages/data.py"]


def _foreign(path):
    path.unlink()
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE invoices (id INTEGER)")


def _newer(path):
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, now())", [store_module.SCHEMA_VERSION + 1])


@pytest.mark.parametrize(("damage", "en", "zh"), [
    pytest.param(_cut_in_half, "is damaged (cut short, or its contents fail their checksums)", "已损坏", id="cut"),
    pytest.param(_flip_bytes, "is damaged (cut short, or its contents fail their checksums)", "已损坏", id="flipped"),
    pytest.param(_foreign, "belongs to another program (it holds the tables invoices", "属于其他程序",
                 id="foreign"),
    pytest.param(_newer, f"newer Churn Radar (schema version {store_module.SCHEMA_VERSION + 1}", "更新版本",
                 id="newer"),
])
def test_every_page_shows_the_translated_refusal(app, app_db, damage, en, zh):
    cc.ensure_active_dataset(cc.Store(app_db))
    damage(app_db)
    before = app_db.read_bytes()
    at = app
    for page in PAGES:
        at = at.run() if page == PAGES[0] else at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert any(en in e.value for e in at.error), (page, [e.value for e in at.error])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception and any(zh in e.value for e in at.error)
    assert app_db.read_bytes() == before  # nothing was written into it
