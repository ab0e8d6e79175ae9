"""churn_core.i18n: one catalog for every user-visible string, complete in both languages.

The app's pages, the reasons and actions, the ROI summary and the one-page export are all worded by
``churn_core.i18n.text``; no Chinese text may sit anywhere else in the code except in the patterns that
recognise Chinese input (column names such as 流失, values such as 是/否).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from churn_core import i18n
from churn_core._labels import reason_sentences, source_label
from churn_core.roles import ColumnRoles
from churn_core.scoring import RiskPolicy

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"),
               *(ROOT / "churn_core").glob("*.py")])
# Modules whose Chinese literals recognise input rather than word output.
RECOGNISERS = {"roles.py", "features.py", "validation.py", "analysis.py"}
CJK = re.compile(r"[\u4e00-\u9fff]")
RANGES = re.compile(r"(?:.-.)+", re.S)


def _literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, docstrings excluded."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_every_key_is_in_every_language_with_the_same_placeholders():
    en, zh = i18n.STRINGS["en"], i18n.STRINGS["zh"]
    assert set(en) == set(zh), f"missing in zh: {set(en) - set(zh)}; in en: {set(zh) - set(en)}"
    for key, text in en.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", zh[key])), key


@pytest.mark.parametrize("path", [p for p in CODE if p.parent.name != "churn_core"
                                  or p.name not in {"i18n.py", *RECOGNISERS}],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_chinese_text_outside_the_catalog(path):
    # Single characters and character ranges (bounds of "is this character wide?") are not words.
    found = [f"line {line}: {value[:40]!r}" for line, value in _literals(path)
             if len(value) > 1 and not RANGES.fullmatch(value) and CJK.search(value)]
    assert not found, f"word these through churn_core.i18n: {found}"


def test_keys_churn_core_asks_for_exist():
    used = set()
    for path in (ROOT / "churn_core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "text" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                used.add(node.args[0].value)
    assert {"summary.case", "pdf.assumptions", "reason.sentence", "source.service_calls"} <= used
    assert used <= set(i18n.STRINGS["en"]), used - set(i18n.STRINGS["en"])


def test_text_formats_and_names_a_missing_key():
    assert i18n.text("reason.sentence", lang="zh", phrase="4 次客服来电", points="+21 个百分点") == \
        "4 次客服来电（+21 个百分点）"
    with pytest.raises(KeyError, match="No translation for 'no.such.key'. Add it to churn_core/i18n.py"):
        i18n.text("no.such.key")
    with pytest.raises(i18n.ParameterError, match=r"'lang' parameter must be one of \['en', 'zh'\]. Got 'fr'"):
        i18n.check_language("fr")


def test_the_library_words_come_from_the_catalog(monkeypatch):
    """Change a catalog entry and the reasons, labels and actions change with it: there is no second copy."""
    roles = ColumnRoles(target="churn", service_calls="calls", plan_flags=("intl_plan",))
    monkeypatch.setitem(i18n.STRINGS["zh"], "source.service_calls", "客服电话（测试）")
    monkeypatch.setitem(i18n.STRINGS["zh"], "flag.international.yes", "有国际套餐（测试）")
    monkeypatch.setitem(i18n.STRINGS["en"], "action.senior_agent", "Escalate (test)")
    assert source_label("calls", roles=roles, lang="zh") == "客服电话（测试）"
    sentences = reason_sentences(["intl_plan"], ["yes"], [0.2], roles=roles, lang="zh")
    assert sentences[0] == "有国际套餐（测试）（+20 个百分点）"
    assert RiskPolicy().action_text("senior_agent", lang="en") == "Escalate (test)"


@pytest.mark.parametrize(("x", "lang", "expected"), [
    (37_600_000, "en", "37.6M"), (37_600_000, "zh", "3,760万"), (116_000_000, "zh", "1.16亿"),
    (12_300, "zh", "1.23万"), (9_999, "en", "9,999"), (None, "en", "–")])
def test_amounts_are_formatted_for_the_locale(x, lang, expected):
    assert i18n.format_amount(x, lang=lang) == expected


# Codes only the command line, configuration or a programming mistake can raise: churn_core's English
# message is what their reader needs. sheet_required is the Data page's sheet prompt, not an error.
NOT_SHOWN_IN_THE_APP = {"bad_font", "bad_font_path", "bad_lang", "bad_parameter", "bad_scale", "chart_length",
                        "dataset_not_stored", "roi_missing_inputs", "roi_unknown_inputs", "unknown_model",
                        "sheet_required", "unwritable_file"}


def test_every_error_a_page_can_meet_is_worded_in_both_languages():
    codes = set()
    for path in (ROOT / "churn_core").glob("*.py"):
        codes |= set(re.findall(r'code="([a-z_0-9]+)"', path.read_text()))
    assert len(codes) > 50
    missing = {c for c in codes - NOT_SHOWN_IN_THE_APP
               if not i18n.has_key(f"error.{c}") and not i18n.has_key(f"issue.{c}")}
    assert not missing, f"add error.<code> to churn_core/i18n.py for: {sorted(missing)}"
    assert NOT_SHOWN_IN_THE_APP <= codes  # the list names codes that exist
