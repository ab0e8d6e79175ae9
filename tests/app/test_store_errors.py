"""A damaged, foreign or newer database: every page shows the translated message, never a raw exception."""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc
from churn_core import store as store_module
from tests.app.conftest import ROOT
from tests.test_store import _cut_in_half, _flip_bytes

PAGES = ["pages/overview.py", "pages/drivers.py", "pages/risk.py", "pages/campaigns.py", "pages/roi.py",
         "pages/models.py", "pages/data.py"]


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


def test_an_import_on_a_full_disk_says_nothing_changed_and_a_later_import_works(app, app_db, monkeypatch):
    from tests.conftest import bank_customers

    at = app.run().switch_page("pages/data.py").run()
    store = cc.Store(app_db)
    before, content = store.active_version(), app_db.read_bytes()
    at = at.file_uploader(key="upload").upload("bank.csv", bank_customers(600, seed=3).to_csv(index=False).encode(),
                                              "text/csv").run()
    with monkeypatch.context() as full:  # only this patch is undone after it (not the app's database path)
        full.setattr(store_module.shutil, "disk_usage", lambda path: type("u", (), {"free": 1000})())
        at = at.button(key="save").click().run()
        assert not at.exception, at.exception
        [shown] = [e.value for e in at.error if "Not enough free space" in e.value]
        assert "Nothing was changed. Free some space and try again." in shown
        assert app_db.read_bytes() == content and store.active_version() == before
        assert len(store.list_datasets().versions) == 1
    at = at.button(key="save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [v.name for v in store.list_datasets().versions] == ["telecom_churn", "bank"]
