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
    """A literal string (or f-string) passed straight to a Streamlit display call bypasses the lookup."""
    offenders = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN \
                and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and not (isinstance(arg.value, str) and arg.value.strip()):
                continue
            offenders.append(f"line {node.lineno}: {ast.unparse(arg)[:60]}")
    assert not offenders, offenders
