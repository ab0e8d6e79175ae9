"""Every malformed upload of the fuzz corpus on the Data page, in English and in Chinese.

Each file must show its message translated (the README of tests/fixtures/bad_uploads/ names the
code), raise nothing, offer no Save, and leave the stored versions and the active one as they were.
One AppTest per language is reused across the corpus: a new upload replaces the previous one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

import churn_core as cc
from tests.app.conftest import ROOT
from tests.hostile_files import HOSTILE, Hostile
from tests.test_bad_uploads_core import CASES, Expected
from ui.i18n import STRINGS, _readable, literal

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
MIME = {".csv": "text/csv", ".tsv": "text/tab-separated-values",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12", ".gz": "application/gzip",
        ".zip": "application/zip", ".parquet": "application/vnd.apache.parquet"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Iterator[Path]:
    """One database for the module; the app seeds it with the bundled data on first use."""
    db = tmp_path_factory.mktemp("bad_uploads") / "app.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(cc.store.ENV_VAR, str(db))
        yield db


def _navigation_init(original):
    """As tests/app/conftest.py's autouse fixture: run pages through app.py's st.navigation."""
    @functools.wraps(original)
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False
    return init


@pytest.fixture(scope="module")
def data_pages(store_path) -> Iterator[dict[str, AppTest]]:
    """The Data page, opened once per language (the autouse fixture is function-scoped, so patch here too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PagesManager, "__init__", _navigation_init(PagesManager.__init__))
        pages = {}
        for lang in ("en", "zh"):
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
            at.session_state["lang"] = lang
            pages[lang] = at.run().switch_page("pages/data.py").run()
            assert not pages[lang].exception
        yield pages


def stored(db: Path) -> tuple[int, int]:
    store = cc.Store(db)
    return store.active_version().version, len(store.list_datasets().versions)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="upload").upload(name, data, MIME[Path(name).suffix]).run()


def render(lang: str, key: str, params: dict) -> str:
    """What ui.i18n shows for ``key`` in ``lang`` (names and values shown literally in the Markdown: ``literal``);
    the English and Chinese templates must differ."""
    template = STRINGS[lang][key]
    if lang == "zh":
        assert CJK.search(template) and template != STRINGS["en"][key], key
    else:
        assert not CJK.search(template), key
    return template.format(**{k: literal(v) if isinstance(v, str) else v for k, v in _readable(params).items()})


def expected_messages(case: Expected, lang: str) -> tuple[list[str], list[str]]:
    """The error texts and warning texts the page must show for this file, computed from churn_core."""
    data = case.path.read_bytes()
    if case.kind == "error":
        with pytest.raises(cc.DataFormatError) as info:
            cc.read_table(data, filename=case.file)
        assert info.value.code == case.code
        return [render(lang, f"error.{case.code}", info.value.params)], []
    _, report = cc.inspect_table(cc.read_table(data, filename=case.file))
    assert [i.code for i in report.errors] == [case.code]
    errors = [render(lang, f"issue.{i.code}", {"column": i.column, **i.params}) for i in report.errors]
    warnings = [render(lang, f"issue.{i.code}", {"column": i.column, **i.params})
                for i in report.warnings if i.code in case.warnings]
    return [*errors, STRINGS[lang]["data.blocked"]], warnings


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_bad_upload_is_refused_in_the_users_language(data_pages, store_path, case, lang):
    before = stored(store_path)
    errors, warnings = expected_messages(case, lang)
    at = upload(data_pages[lang], case.file, case.path.read_bytes())
    assert not at.exception, at.exception
    shown = [e.value for e in at.error]
    assert shown == errors, f"{case.file} ({case.problem})"
    assert set(warnings) <= {w.value for w in at.warning}
    if lang == "zh":
        english = expected_messages(case, "en")[0]
        assert all(CJK.search(text) and text not in english for text in shown), shown
    else:  # Chinese only where the file itself is Chinese (its names and values are quoted)
        own = set(CJK.findall(case.path.read_bytes().decode("gb18030", errors="ignore")))
        assert set(CJK.findall("\n".join(shown))) <= own, shown
    assert not [b for b in at.button if b.key == "save"]
    assert stored(store_path) == before


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_oversized_upload_is_refused_with_the_command_line_fix(data_pages, store_path, monkeypatch, lang):
    limited = functools.partial(cc.read_table, max_bytes=1024 * 1024)
    monkeypatch.setattr(cc, "read_table", limited)
    before = stored(store_path)
    name, data = f"big_{lang}.csv", b"id,calls,churn\n" + b"1,2,no\n" * (3 * 1024 * 1024 // 14)  # 1.5 MB
    with pytest.raises(cc.DataFormatError) as info:
        limited(data, filename=name)
    at = upload(data_pages[lang], name, data)
    assert not at.exception
    shown = [e.value for e in at.error]
    assert shown == [render(lang, "error.file_too_large", info.value.params)]
    assert "python -m churn_core import --data FILE" in shown[0]
    assert ("over the 1 MB upload limit" if lang == "en" else "超过 1 MB 的上传上限") in shown[0]
    assert not [b for b in at.button if b.key == "save"]
    assert stored(store_path) == before


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.file)
def test_generated_hostile_upload_is_refused_or_previewed(data_pages, store_path, case: Hostile, lang):
    """Bombs and limits are refused in the user's language; the other formats, decimal commas and 30-digit ids
    are read and previewed (the preview converts to Arrow) with Save offered. Nothing is stored either way."""
    before = stored(store_path)
    data = case.make()
    at = upload(data_pages[lang], case.file, data)
    assert not at.exception, at.exception
    saves = [b for b in at.button if b.key == "save"]
    if case.code is None:
        assert not at.error, [e.value for e in at.error]
        assert at.dataframe, "the preview is shown"
        assert saves
    else:
        with pytest.raises(cc.DataFormatError) as info:
            cc.read_table(data, filename=case.file)
        assert [e.value for e in at.error] == [render(lang, f"error.{case.code}", info.value.params)]
        assert not saves
    assert stored(store_path) == before
