"""Every user-visible string in the app goes through ui.i18n.t (the catalog itself: tests/test_i18n.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ui.i18n import STRINGS

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
# Streamlit calls whose first argument is shown to the user.
SHOWN = {"title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
         "metric", "button", "selectbox", "radio", "multiselect", "slider", "text_input", "checkbox",
         "download_button", "file_uploader", "expander", "tabs", "toast", "write"}
LOGGERS = {"logger", "logging"}  # .info/.warning on these are log records, not display calls


def test_keys_used_in_code_exist():
    used = set()
    for path in UI_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                used.add(node.args[0].value)
    assert used, "no t() calls found"
    assert used <= set(STRINGS["en"]), f"unknown keys: {used - set(STRINGS['en'])}"


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_no_literal_strings_shown_to_users(path):
    """A literal string (or f-string) passed straight to a Streamlit display call bypasses the lookup (a
    ``logger.warning(...)`` goes to the server log, not to the user)."""
    offenders = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN \
                and not (isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS) \
                and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and not (isinstance(arg.value, str) and arg.value.strip()):
                continue
            offenders.append(f"line {node.lineno}: {ast.unparse(arg)[:60]}")
    assert not offenders, offenders


def _errors_script():
    import streamlit as st

    import churn_core as cc
    from ui.i18n import error_text

    st.session_state["lang"] = st.session_state.get("want", "en")
    for err in (cc.StoreError("Could not store the dataset 'q3'.", code="store_write_failed", name="q3"),
                cc.NotFoundError("There is no dataset version 7.", code="dataset_not_found", version=7, known=[1, 2]),
                cc.ChurnCoreError("Something only the library words.", code="no_such_code")):
        st.write(error_text(err))


def test_errors_are_worded_in_the_users_language_with_their_details():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_errors_script)
    at.session_state["want"] = "zh"
    at.run()
    shown = [m.value for m in at.markdown]
    assert shown[0].startswith("无法保存 q3：") and "当前数据集和冠军模型保持不变" in shown[0]
    assert shown[1] == "数据集版本 7 已不存在（现有版本：1, 2）。请刷新页面并从中选择。"
    assert shown[2] == "Something only the library words."  # an unlisted code keeps the library's message
    at.session_state["want"] = "en"
    at.run()
    assert at.markdown[0].value.startswith("Could not store q3: the database refused the write")
