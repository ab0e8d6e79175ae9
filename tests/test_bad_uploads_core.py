"""The fuzz corpus against churn_core: each malformed file is refused with the code its README names.

tests/fixtures/bad_uploads/ is written by scripts/make_bad_uploads.py; its README table says, per
file, what is wrong and which ``error.<code>`` (the file cannot be read) or ``issue.<code>`` (a
blocking validation issue) it must produce. A regression names the exact file. The upload limits
(size, width) are checked here too: refused quickly and without reading the file into pandas.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import churn_core as cc
from churn_core.i18n import STRINGS
from tests.hostile_files import HOSTILE, Hostile

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "bad_uploads"
MAX_MESSAGE = 400  # characters: a message quotes values, but never a whole 200 KB cell


@dataclass(frozen=True)
class Expected:
    """One row of the corpus README."""

    file: str
    problem: str
    kind: str  # "error" or "issue"
    code: str
    warnings: tuple[str, ...]

    @property
    def path(self) -> Path:
        return CORPUS / self.file


def corpus() -> list[Expected]:
    """The README table: | `file` | what is wrong | `error.code` or `issue.code` | `issue.code`, ... |"""
    rows = []
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        kind, code = cells[2].strip("`").split(".")
        warnings = tuple(w.strip("`").removeprefix("issue.") for w in re.findall(r"`[^`]+`", cells[3]))
        rows.append(Expected(cells[0].strip("`"), cells[1], kind, code, warnings))
    return rows


CASES = corpus()


def test_corpus_is_large_small_and_complete():
    files = sorted(p.name for p in CORPUS.iterdir() if p.name != "README.md")
    assert len(CASES) >= 30
    assert sorted(c.file for c in CASES) == files, "every corpus file is in the README table, and only those"
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) < 1024 * 1024


def test_corpus_is_what_the_script_writes(tmp_path, monkeypatch):
    """The script is deterministic, and the committed corpus (README, names and bytes) is what it writes."""
    spec = importlib.util.spec_from_file_location("make_bad_uploads", ROOT / "scripts" / "make_bad_uploads.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # its dataclasses look their module up
    spec.loader.exec_module(script)
    first, second = script.write_corpus(tmp_path / "a"), script.write_corpus(tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second], "the script is not deterministic"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in CORPUS.iterdir())
    assert (tmp_path / "a" / "README.md").read_text(encoding="utf-8") == (CORPUS / "README.md").read_text(
        encoding="utf-8"), "run python scripts/make_bad_uploads.py"
    changed = [p.name for p in first if p.read_bytes() != (CORPUS / p.name).read_bytes()]
    assert not changed, f"{changed} differ from what the script writes: run python scripts/make_bad_uploads.py"


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "error"], ids=lambda c: c.file)
def test_unreadable_file_is_refused_with_its_code(case):
    data = case.path.read_bytes()
    with pytest.raises(cc.DataFormatError, match=re.escape(f"'{case.file}'")) as info:
        cc.read_table(data, filename=case.file)
    assert info.value.code == case.code, f"{case.file} ({case.problem}): {info.value}"
    assert len(str(info.value)) < MAX_MESSAGE
    with pytest.raises(cc.DataFormatError) as again:  # the one call most code makes says the same
        cc.load_dataset(case.path)
    assert again.value.code == case.code


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "issue"], ids=lambda c: c.file)
def test_readable_file_is_blocked_by_its_issue(case):
    with pytest.raises(cc.ValidationError, match=rf"The file '{re.escape(case.file)}' cannot be used as it is"
                       ) as info:
        cc.load_dataset(case.path)
    report = info.value.report
    assert [i.code for i in report.errors] == [case.code], f"{case.file} ({case.problem})"
    assert set(case.warnings) <= {i.code for i in report.warnings}, f"{case.file} ({case.problem})"
    assert all(len(i.message) < MAX_MESSAGE for i in report.issues)


def test_delimiter_and_encoding_are_detected_before_the_real_problem_is_named():
    expected = {"semicolon_no_target.csv": (";", "utf-8"), "tab_constant_target.tsv": ("\t", "utf-8"),
                "utf16_no_bom.csv": (",", "utf-16-le"), "gbk_three_values.csv": (",", "gb18030"),
                "gb18030_three_values.csv": (",", "gb18030")}
    for name, (delimiter, encoding) in expected.items():
        raw = cc.read_table(CORPUS / name)
        assert (raw.delimiter, raw.encoding, raw.frame.shape[0]) == (delimiter, encoding, 40), name
        assert raw.frame.shape[1] >= 6, name


def test_long_values_are_quoted_short():
    with pytest.raises(cc.ValidationError) as info:
        cc.load_dataset(CORPUS / "long_target_value.csv")
    values = info.value.report.errors[0].params["values"]
    assert max(len(v) for v in values) == 60 and any(v.endswith("…") for v in values)


# -- generated hostile files (tests/hostile_files.py): bombs too large unpacked to commit, other formats ----------

@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.file)
def test_generated_hostile_file_is_refused_with_its_code_or_loads(case: Hostile):
    data = case.make()
    if case.code is None:
        dataset = cc.load_dataset(data, filename=case.file)
        assert (dataset.n_rows, dataset.roles.target) == (40, "churn")
        return
    with pytest.raises(cc.DataFormatError, match=re.escape(f"'{case.file}'")) as info:
        cc.read_table(data, filename=case.file)
    assert info.value.code == case.code, f"{case.file} ({case.problem}): {info.value}"
    assert len(str(info.value)) < MAX_MESSAGE
    for lang in ("en", "zh"):  # the page words it in both languages, with the error's own parameters
        STRINGS[lang][f"error.{case.code}"].format(**info.value.params)


# -- what the corpus found, beside its files -----------------------------------------------------------------

CHINESE = "客户编号,套餐,客服来电次数,是否流失\nC001,基础套餐,1,否\nC002,高级套餐,4,是\nC003,基础套餐,0,否\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_byte_order_mark_is_read(encoding):
    raw = cc.read_table(CHINESE.encode(encoding), filename="客户.csv")
    assert raw.encoding == encoding
    assert list(raw.frame.columns) == ["客户编号", "套餐", "客服来电次数", "是否流失"]
    assert raw.frame["是否流失"].tolist() == ["否", "是", "否"]


def test_short_row_that_no_other_delimiter_explains_is_read():
    raw = cc.read_table(b"id,plan,churn\n1,basic\n2,plus,yes\n3,basic,no\n")
    assert raw.frame["churn"].isna().tolist() == [True, False, False]


def test_long_cell_does_not_hide_the_delimiter():
    data = ("id;note;churn\n1;" + "x" * 200_000 + ";no\n2;short;yes\n").encode()
    raw = cc.read_table(data)
    assert raw.delimiter == ";" and len(raw.frame.loc[0, "note"]) == 200_000


def test_empty_sheet_of_several_is_named():
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.create_sheet("Customers").append(["id", "churn"])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(cc.DataFormatError, match="The sheet 'Notes' of the workbook 'book.xlsx' is empty") as info:
        cc.read_table(buffer.getvalue(), filename="book.xlsx", sheet="Notes")
    assert info.value.params == {"name": "book.xlsx", "sheet": "Notes"}


# -- limits ------------------------------------------------------------------------------------------------

def wide_csv(columns: int = 10_000, rows: int = 3) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    return "\n".join([header, *[",".join(["1"] * columns)] * rows, ""]).encode()


def wide_xlsx(columns: int = 10_000, rows: int = 3) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Customers")
    sheet.append([f"c{i}" for i in range(columns)])
    for _ in range(rows):
        sheet.append([1] * columns)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def refuse(data: bytes, **options) -> tuple[cc.DataFormatError, float, float]:
    """The error read_table raises, its time in seconds and the peak memory (MB) it traced."""
    start = time.perf_counter()
    with pytest.raises(cc.DataFormatError) as info:
        cc.read_table(data, **options)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        with pytest.raises(cc.DataFormatError):
            cc.read_table(data, **options)
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()
    return info.value, seconds, peak


@pytest.fixture
def no_pandas_reading(monkeypatch):
    """A wide file must be refused from its header alone, before pandas reads the table."""
    def fail(*args, **kwargs):
        raise AssertionError("the whole table was handed to pandas")
    monkeypatch.setattr(pd, "read_csv", fail)
    monkeypatch.setattr(pd, "read_excel", fail)


@pytest.mark.parametrize(("make", "name", "budget_s"), [
    pytest.param(wide_csv, "wide.csv", 2.0, id="csv"),
    pytest.param(wide_xlsx, "wide.xlsx", 4.0, id="xlsx"),  # openpyxl parses the 10,000 header cells: ~1 s
])
def test_ten_thousand_columns_are_refused_quickly(no_pandas_reading, make, name, budget_s):
    err, seconds, peak_mb = refuse(make(), filename=name)
    assert (err.code, err.params["columns"], err.params["limit"]) == ("too_many_columns", 10_000, 2000)
    assert "has 10000 columns, more than the limit of 2000" in str(err)
    assert seconds < budget_s, f"{seconds:.2f} s"
    assert peak_mb < 200, f"{peak_mb:.0f} MB"


@pytest.mark.parametrize("as_source", [
    pytest.param(lambda data, tmp: data, id="bytes"),
    pytest.param(lambda data, tmp: io.BytesIO(data), id="file-object"),
    pytest.param(lambda data, tmp: (tmp / "big.csv").write_bytes(data) and tmp / "big.csv", id="path"),
])
def test_file_over_the_size_limit_is_refused_quickly(no_pandas_reading, tmp_path, as_source):
    data = b"id,calls,churn\n" + b"1,2,no\n" * (3 * 1024 * 1024 // 7)  # 3 MB against a 1 MB limit
    err, seconds, peak_mb = refuse(as_source(data, tmp_path), filename="big.csv", max_bytes=1024 * 1024)
    assert err.code == "file_too_large" and err.params["limit_mb"] == 1
    assert "over the 1 MB limit" in str(err) and "load it with the command line" in str(err)
    assert seconds < 1.0, f"{seconds:.2f} s"
    assert peak_mb < 10, f"{peak_mb:.0f} MB"  # the file object is read only up to the limit
