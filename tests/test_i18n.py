"""The translation catalogs: two gettext domains, complete in both languages, and the lookups over them.

The library's messages (errors, issues, reasons, actions, the ROI summary and the one-page export) are in
churn_core/locales/<lang>/LC_MESSAGES/churn_core.po, worded by ``churn_core.i18n.text``; the app's in
ui/locales/<lang>/LC_MESSAGES/app.po, worded by ``ui.i18n.t`` (app first, then library). No Chinese text may
sit in the Python code except in the patterns that recognise Chinese input (column names such as 流失, values
such as 是/否) and the language switch's own name for Chinese.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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
DOMAINS = {"churn_core": ROOT / "churn_core" / "locales", "app": ROOT / "ui" / "locales"}
LANGS = list(i18n.LANGUAGES)


def _converter():
    """scripts/catalog_from_dict.py as a module (its domain rule is the one the catalogs must follow)."""
    spec = importlib.util.spec_from_file_location("catalog_from_dict", ROOT / "scripts" / "catalog_from_dict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _po(domain: str, lang: str) -> Path:
    return DOMAINS[domain] / lang / "LC_MESSAGES" / f"{domain}.po"


def _parsed(domain: str, lang: str):
    with _po(domain, lang).open("rb") as fh:
        return read_po(fh, locale=lang, domain=domain, abort_invalid=True)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, docstrings excluded."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_every_key_is_translated_in_every_language_with_the_same_placeholders(domain):
    texts = {lang: {m.id: m.string for m in _parsed(domain, lang) if m.id} for lang in LANGS}
    en, zh = texts["en"], texts["zh"]
    assert len(en) > 100
    assert set(en) == set(zh), f"missing in zh: {set(en) - set(zh)}; in en: {set(zh) - set(en)}"
    for lang in LANGS:
        untranslated = sorted(k for k, v in texts[lang].items() if not v.strip())
        assert not untranslated, f"{_po(domain, lang)}: empty msgstr for {untranslated}"
    for key, text in en.items():
        assert _placeholders(text) == _placeholders(zh[key]), f"{key}: {text!r} vs {zh[key]!r}"


def test_the_po_files_parse_and_the_app_reads_them_as_babel_does():
    for domain in DOMAINS:
        for lang in LANGS:
            babel = {m.id: m.string for m in _parsed(domain, lang) if m.id and m.string and not m.fuzzy}
            assert i18n.read_po(_po(domain, lang)) == babel, (domain, lang)


def test_the_domains_split_the_keys_by_the_converters_rule():
    """A key lives in one domain; the library holds exactly the keys churn_core words (the rule of
    scripts/catalog_from_dict.py: rerun it when this fails after churn_core starts using an app key)."""
    library, app = set(i18n.STRINGS.own("en")), set(_app_catalog().own("en"))
    assert not library & app, f"keys in both domains: {library & app}"
    assert _converter().library_keys(library | app) == library
    assert {"error.no_target", "issue.leakage", "reason.sentence", "action.senior_agent", "risk.tier.high",
            "summary.case", "pdf.assumptions", "roi.a.customers", "flag.international.no"} <= library
    assert {"overview.title", "sidebar.language"} <= app


def test_the_library_words_every_key_churn_core_asks_for_without_the_app():
    used = set()
    for path in (ROOT / "churn_core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "text" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                used.add(node.args[0].value)
    assert {"summary.case", "pdf.assumptions", "reason.sentence", "source.service_calls"} <= used
    assert i18n.STRINGS.fallback is None
    for lang in LANGS:
        assert used <= set(i18n.STRINGS.own(lang)), used - set(i18n.STRINGS.own(lang))
    with pytest.raises(KeyError, match="No translation for 'overview.title' in .*churn_core.po"):
        i18n.text("overview.title")  # an app key is not the library's


def _app_catalog():
    from ui.i18n import STRINGS
    return STRINGS


def test_the_app_reads_its_catalog_then_the_librarys():
    from ui.i18n import has_key, text
    assert text("overview.title", lang="zh") == "流失总览"
    assert text("error.generic", lang="zh", message="x") == i18n.text("error.generic", lang="zh", message="x")
    assert has_key("overview.title") and has_key("error.generic") and not i18n.has_key("overview.title")


def _copy_locales(tmp_path: Path) -> Path:
    locales = tmp_path / "locales"
    shutil.copytree(DOMAINS["churn_core"], locales, ignore=shutil.ignore_patterns("*.mo"))
    return locales


def test_catalogs_load_from_the_po_when_the_mo_is_missing_or_stale(tmp_path):
    locales = _copy_locales(tmp_path)
    fresh = i18n.Catalog(locales, "churn_core")
    assert dict(fresh["zh"]) == i18n.read_po(_po("churn_core", "zh")) and len(fresh["zh"]) > 100

    po = locales / "zh" / "LC_MESSAGES" / "churn_core.po"
    catalog = _parsed("churn_core", "zh")
    catalog["error.generic"].string = "compiled {message}"
    with po.with_suffix(".mo").open("wb") as fh:
        write_mo(fh, catalog)
    os.utime(po.with_suffix(".mo"), (po.stat().st_mtime - 60,) * 2)  # older than the .po: stale, ignored
    assert i18n.Catalog(locales, "churn_core").text("error.generic", lang="zh", message="x") == "数据有问题：x"
    os.utime(po.with_suffix(".mo"), (po.stat().st_mtime + 60,) * 2)  # as new: the compiled catalog is read
    assert i18n.Catalog(locales, "churn_core").text("error.generic", lang="zh", message="x") == "compiled x"


def test_the_po_reader_keeps_what_a_compiler_keeps(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  '#, python-brace-format\nmsgid "a.b"\nmsgstr ""\n"two {n} "\n"lines \\"quoted\\"\\n"\n\n'
                  '#, fuzzy\nmsgid "a.fuzzy"\nmsgstr "unsure"\n\nmsgid "a.empty"\nmsgstr ""\n\n'
                  '#~ msgid "a.old"\n#~ msgstr "obsolete"\nmsgid "a.last"\nmsgstr "end"\n', encoding="utf-8")
    assert i18n.read_po(po) == {"a.b": 'two {n} lines "quoted"\n', "a.last": "end"}
    po.write_text('msgid "a"\nmsgstr unquoted\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: cannot read"):
        i18n.read_po(po)


OLD_STYLE = '''
from .errors import ParameterError
STRINGS: dict[str, dict[str, str]] = {
    "en": {"overview.title": "Churn at a glance", "error.brand_new": "New {thing} is wrong. "
                                                                   "Fix it."},
    "zh": {"overview.title": "流失一览", "error.brand_new": "新的 {thing} 有误。"},
}
STRINGS["en"].update({"made.up": "Only {x} in English"})
STRINGS["zh"].update({"made.up": "仅 {x}"})
'''


def test_the_converter_merges_an_old_style_dict_into_both_domains(tmp_path, monkeypatch, capsys):
    """scripts/catalog_from_dict.py, as the maintainer runs it at merge time: new keys go to their domain,
    changed texts are updated, other keys stay; a rerun changes nothing; --base applies a branch's deletions."""
    converter = _converter()
    domains = {d: tmp_path / d for d in DOMAINS}
    for domain, locales in DOMAINS.items():
        shutil.copytree(locales, domains[domain], ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(converter, "DOMAINS", domains)
    module = tmp_path / "old_i18n.py"
    module.write_text(OLD_STYLE, encoding="utf-8")
    assert converter.main([str(module)]) == 0
    library = i18n.Catalog(domains["churn_core"], "churn_core")
    app = i18n.Catalog(domains["app"], "app", fallback=library)
    assert library.text("error.brand_new", lang="zh", thing="x") == "新的 x 有误。"
    assert app.own("en")["overview.title"] == "Churn at a glance" and "made.up" in app.own("zh")
    assert len(app.own("en")) == len(_app_catalog().own("en")) + 1  # nothing else added or lost
    po = (domains["churn_core"] / "zh" / "LC_MESSAGES" / "churn_core.po").read_text(encoding="utf-8")
    assert '#. English: New {thing} is wrong. Fix it.\n#, python-brace-format\nmsgid "error.brand_new"' in po
    capsys.readouterr()
    assert converter.main([str(module)]) == 0
    assert "wrote nothing" in capsys.readouterr().out
    base = tmp_path / "base_i18n.py"
    base.write_text(OLD_STYLE, encoding="utf-8")
    module.write_text(OLD_STYLE.replace('STRINGS["en"].update({"made.up": "Only {x} in English"})', "")
                      .replace('STRINGS["zh"].update({"made.up": "仅 {x}"})', ""), encoding="utf-8")
    assert converter.main([str(module), "--base", str(base)]) == 0
    assert "made.up" not in i18n.Catalog(domains["app"], "app").own("en")


@pytest.mark.parametrize("path", [p for p in CODE if p.parent.name != "churn_core" or p.name not in RECOGNISERS],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_chinese_text_outside_the_catalog(path):
    # Single characters and character ranges (bounds of "is this character wide?") are not words; the
    # language switch names each language in itself.
    found = [f"line {line}: {value[:40]!r}" for line, value in _literals(path)
             if len(value) > 1 and not RANGES.fullmatch(value) and CJK.search(value)
             and value not in i18n.LANGUAGES.values()]
    assert not found, f"word these through the .po catalogs (README, 'Translations'): {found}"


def test_text_formats_and_names_a_missing_key():
    assert i18n.text("reason.sentence", lang="zh", phrase="4 次客服来电", points="+21 个百分点") == \
        "4 次客服来电（+21 个百分点）"
    with pytest.raises(KeyError, match=r"No translation for 'no.such.key' in .*churn_core.po. Add it to the .po"):
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
    assert not missing, f"add error.<code> to churn_core/locales/*/LC_MESSAGES/churn_core.po for: {sorted(missing)}"
    assert NOT_SHOWN_IN_THE_APP <= codes  # the list names codes that exist
