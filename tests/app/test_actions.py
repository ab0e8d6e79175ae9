"""ui.actions: the one place the UI writes; each write is seen by the rest of the script run and the next."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc

from .conftest import ROOT, texts

WRITES = ("save_dataset", "activate", "delete_dataset", "start_run", "complete_run", "fail_run", "save_predictions",
          "promote", "rollback", "save_scores", "update_reasons", "save_scenario", "save_threshold")


def test_store_write_methods_are_the_ones_the_scan_looks_for():
    public = {name for name in vars(cc.Store) if not name.startswith("_")}
    assert set(WRITES) <= public  # a renamed write method must be renamed here too


@pytest.mark.parametrize("path", sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"),
                                         ROOT / "app.py"]), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pages_and_views_never_write_to_the_store(path):
    """Writes go through ui.actions (which tells ui.cache what changed); ui.state only reads."""
    if path.name == "actions.py" and path.parent.name == "ui":
        return
    source = path.read_text(encoding="utf-8")
    writes = re.findall(rf"\.({'|'.join(WRITES)})\(", source)
    if path.parent.name == "ui" and path.name == "state.py":  # reads only, and the background scoring job
        assert writes == [], f"ui/state.py writes: {writes}"
        return
    calls = re.findall(rf"(?<!actions)\.({'|'.join(WRITES)})\(", source)  # on a store, whatever its name
    assert calls == [] and "run_training(" not in source and "explain_rows(" not in source, (
        f"{path.name} writes to the store directly ({calls}): call ui.actions instead")


def _activate_script():
    import streamlit as st

    from ui import actions, cache, state

    cache.begin_run()  # as app.py does
    before = state.active_version().version
    target = st.session_state["target"]
    actions.activate(target)
    st.write(f"{before} -> {state.active_version().version} rows {state.active_dataset().n_rows}")


def test_after_activate_the_same_run_reads_the_new_version(app_db, bundled):
    store = cc.Store(app_db)
    first = store.save_dataset(bundled).version
    small = cc.load_dataset(bundled.frame.head(300).to_csv(index=False).encode(), filename="small.csv")
    second = store.save_dataset(small, activate=False).version
    at = AppTest.from_function(_activate_script, default_timeout=60)
    at.session_state["target"] = second
    at.run()
    assert not at.exception
    assert at.markdown[0].value == f"{first} -> {second} rows 300"  # read once per run, read again after the write
    at.session_state["target"] = first
    at.run()
    assert at.markdown[0].value == f"{second} -> {first} rows {bundled.n_rows}"


def _promote_script():
    import streamlit as st

    from ui import actions, cache, state

    cache.begin_run()
    before = state.champion().model
    actions.promote(1, st.session_state["model"])
    st.write(f"{before} -> {state.champion().model}")


def test_after_promote_the_same_run_and_the_models_page_show_the_new_champion(trained_app_db):
    at = AppTest.from_function(_promote_script, default_timeout=60)
    at.session_state["model"] = "logistic_regression"
    at.run()
    assert not at.exception and at.markdown[0].value == "xgboost -> logistic_regression"
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.run()
    page.switch_page("pages/models.py").run()
    assert not page.exception
    assert "Champion: Logistic regression from run 1" in texts(page)
