"""churn_core._io.read_table: size limits, binary and empty files, encodings, delimiters and workbooks."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import churn_core as cc
from tests import hostile_files as hostile

ROOT = Path(__file__).resolve().parents[1]
TABLE = "id,plan,calls,churn\n1,basic,0,no\n2,premium,3,yes\n3,basic,5,no\n"
CHINESE = "客户编号,套餐,客服来电次数,是否流失\nC001,基础套餐,1,否\nC002,高级套餐,4,是\nC003,基础套餐,0,否\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00" + bytes(200)


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


SMALL = pd.DataFrame({"id": [1, 2, 3], "calls": [0, 4, 1], "churn": ["no", "yes", "no"]})


# -- files that are not tables -------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    pytest.param(b"", id="zero-bytes"),
    pytest.param(b"   \n\t\r\n  ", id="whitespace-only"),
])
def test_empty_file_is_rejected(data):
    with pytest.raises(cc.DataFormatError, match=rf"is empty \(received {len(data)} bytes\).*Export the table again"
                       ) as info:
        cc.read_table(data, filename="blank.csv")
    assert info.value.code == "empty_file"


@pytest.mark.parametrize("data", [
    pytest.param(b"\xef\xbb\xbf", id="utf8-bom-only"),
    pytest.param(b"\xef\xbb\xbf\r\n", id="utf8-bom-and-newline"),
    pytest.param(" \n".encode("utf-16"), id="utf16-space"),
])
def test_file_with_only_an_encoding_mark_has_no_header(data):
    with pytest.raises(cc.DataFormatError, match="has no header row.*Export the table again with column names"
                       ) as info:
        cc.read_table(data)
    assert info.value.code == "empty_file"


@pytest.mark.parametrize("data", [
    pytest.param(b"customer_id,plan,churn\n", id="lf"),
    pytest.param(b"customer_id,plan,churn\r\n", id="crlf"),
    pytest.param(b"customer_id,plan,churn", id="no-newline"),
])
def test_header_only_file_is_rejected(data):
    with pytest.raises(cc.DataFormatError, match="has a header but no data rows.*including its rows") as info:
        cc.read_table(data, filename="header.csv")
    assert info.value.code == "no_rows"


@pytest.mark.parametrize("data", [
    pytest.param(bytes(range(256)) * 50, id="all-byte-values"),
    pytest.param(bytes(range(1, 256)) * 50, id="no-nul-bytes"),
    pytest.param(PNG, id="png-header"),
    pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4, id="jpeg-header"),
])
def test_binary_junk_is_rejected(data):
    with pytest.raises(cc.DataFormatError, match=r"'junk\.csv' is not a text table.*Upload a CSV") as info:
        cc.read_table(data, filename="junk.csv")
    assert info.value.code == "binary_file"


def test_ragged_rows_name_the_line():
    with pytest.raises(cc.DataFormatError, match="comma-separated table: line 3 has 4 fields but the header has 2"
                       ) as info:
        cc.read_table(b"a,b\n1,2\n1,2,3,4\n")
    assert (info.value.code, info.value.params["line"]) == ("too_many_fields", 3)


def test_missing_path_is_file_not_found(tmp_path):
    with pytest.raises(cc.DataFormatError, match="No file at .*missing.csv.*Check the path") as info:
        cc.read_table(tmp_path / "missing.csv")
    assert info.value.code == "file_not_found"


def test_source_of_the_wrong_kind_is_a_parameter_error():
    with pytest.raises(cc.ParameterError, match="expects a path, bytes or a binary file object. Got int") as info:
        cc.read_table(12)
    assert info.value.code == "bad_parameter"


# -- limits ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_source", [
    pytest.param(lambda data, tmp: data, id="bytes"),
    pytest.param(lambda data, tmp: io.BytesIO(data), id="file-object"),
    pytest.param(lambda data, tmp: (tmp / "big.csv").write_bytes(data) and tmp / "big.csv", id="path"),
])
def test_file_over_the_size_limit_is_rejected(tmp_path, as_source):
    # A stream is read only up to the limit plus one byte, so its message can state only that much.
    with pytest.raises(cc.DataFormatError, match=r"is \d+ bytes, over the 20 bytes limit.*Upload fewer") as info:
        cc.read_table(as_source(TABLE.encode(), tmp_path), max_bytes=20)
    assert info.value.code == "file_too_large"


def test_size_limit_message_uses_megabytes_for_large_limits():
    with pytest.raises(cc.DataFormatError, match=r"is 2 MB, over the 1 MB limit") as info:
        cc.read_table(b"a,b\n" + b"1,2\n" * (512 * 1024), max_bytes=1024 * 1024)
    assert info.value.params == {"name": "upload", "size_mb": 2.0, "limit_mb": 1}


def test_file_at_the_size_limit_is_read():
    data = TABLE.encode()
    assert len(cc.read_table(data, max_bytes=len(data)).frame) == 3


@pytest.mark.parametrize("data", [
    pytest.param(",".join(f"c{i}" for i in range(8)).encode() + b"\n" + b"1," * 7 + b"1\n", id="csv"),
    pytest.param(xlsx_bytes({"Sheet1": pd.DataFrame([range(8)], columns=[f"c{i}" for i in range(8)])}), id="xlsx"),
])
def test_too_many_columns_is_rejected(data):
    with pytest.raises(cc.DataFormatError, match="has 8 columns, more than the limit of 5.*Keep only the columns"
                       ) as info:
        cc.read_table(data, max_columns=5)
    assert (info.value.code, info.value.params["columns"]) == ("too_many_columns", 8)


# -- delimiters and encodings -------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [
    pytest.param(",", id="comma"), pytest.param(";", id="semicolon"),
    pytest.param("\t", id="tab"), pytest.param("|", id="pipe"),
])
def test_delimiter_is_detected(delimiter):
    raw = cc.read_table(TABLE.replace(",", delimiter).encode())
    assert raw.delimiter == delimiter
    assert list(raw.frame.columns) == ["id", "plan", "calls", "churn"]
    assert raw.frame["calls"].tolist() == [0, 3, 5]


@pytest.mark.parametrize(("encoding", "expected"), [
    pytest.param("gbk", "gb18030", id="gbk"),
    pytest.param("gb18030", "gb18030", id="gb18030"),
    pytest.param("utf-8", "utf-8", id="utf8"),
    pytest.param("utf-8-sig", "utf-8-sig", id="utf8-bom"),
    pytest.param("utf-16", "utf-16", id="utf16"),
])
def test_chinese_headers_survive_every_encoding(encoding, expected):
    raw = cc.read_table(CHINESE.encode(encoding), filename="客户.csv")
    assert raw.encoding == expected
    assert list(raw.frame.columns) == ["客户编号", "套餐", "客服来电次数", "是否流失"]
    assert raw.frame["套餐"].tolist() == ["基础套餐", "高级套餐", "基础套餐"]
    assert raw.frame["是否流失"].tolist() == ["否", "是", "否"]


@pytest.mark.parametrize(("text", "encoding"), [
    pytest.param("name,city\nJosé,Zürich\nRené,Köln\nSøren,Århus\n", "latin-1", id="western-latin1"),
    pytest.param("name,city\nJosé,Zürich\nRené,Köln\nSøren,Århus\n" * 5, "cp1252", id="western-cp1252"),
    pytest.param("имя,город\nИван,Москва\nОльга,Казань\nПётр,Самара\n" * 3, "cp1251", id="cyrillic-cp1251"),
])
def test_legacy_single_byte_encodings_are_decoded(text, encoding):
    raw = cc.read_table(text.encode(encoding))
    assert raw.frame.iloc[:3, 1].tolist() == [line.split(",")[1] for line in text.splitlines()[1:4]]


def test_utf8_bom_does_not_stick_to_the_first_column():
    raw = cc.read_table(b"\xef\xbb\xbf" + TABLE.encode())
    assert raw.frame.columns[0] == "id"


# -- column names ---------------------------------------------------------------------------------

def test_duplicate_column_names_are_renamed_and_reported():
    raw = cc.read_table(b"id,calls,calls,churn\n1,2,3,no\n2,4,5,yes\n")
    assert list(raw.frame.columns) == ["id", "calls", "calls.1", "churn"]
    assert raw.duplicate_columns == ("calls",)


def test_names_equal_after_stripping_spaces_stay_unique():
    raw = cc.read_table(b"id,calls,calls ,churn\n1,2,3,no\n2,4,5,yes\n")
    assert list(raw.frame.columns) == ["id", "calls", "calls.1", "churn"]
    assert raw.duplicate_columns == ("calls",)


def test_spaces_around_names_and_values_are_trimmed():
    raw = cc.read_table(b" id , plan\n1, basic\n2, premium\n")
    assert list(raw.frame.columns) == ["id", "plan"]
    assert raw.frame["plan"].tolist() == ["basic", "premium"]


# -- workbooks -------------------------------------------------------------------------------------

def test_xlsx_single_sheet_is_read(tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx_bytes({"Customers": SMALL}))
    raw = cc.read_table(path)
    assert (raw.file_format, raw.sheet, raw.source_name) == ("xlsx", "Customers", "customers.xlsx")
    pd.testing.assert_frame_equal(raw.frame, SMALL)


def test_xlsx_with_several_sheets_requires_a_choice():
    data = xlsx_bytes({"Notes": pd.DataFrame({"note": ["x"]}), "Customers": SMALL})
    with pytest.raises(cc.DataFormatError, match=r"has 2 sheets \(Notes, Customers\).*Say which sheet") as info:
        cc.read_table(data, filename="book.xlsx")
    assert (info.value.code, info.value.params["sheets"]) == ("sheet_required", ["Notes", "Customers"])


def test_sheet_names_lists_a_workbook_without_reading_it_and_none_for_a_csv():
    data = xlsx_bytes({"Notes": pd.DataFrame({"note": ["x"]}), "Customers": SMALL})
    assert cc.sheet_names(data, filename="book.xlsx") == ("Notes", "Customers")
    assert cc.sheet_names(SMALL.to_csv(index=False).encode(), filename="small.csv") == ()
    with pytest.raises(cc.DataFormatError, match="looks like an Excel workbook but cannot be opened"):
        cc.sheet_names(b"not a workbook at all", filename="broken.xlsx")


def test_xlsx_sheet_option_picks_the_sheet():
    data = xlsx_bytes({"Notes": pd.DataFrame({"note": ["x"]}), "Customers": SMALL})
    raw = cc.read_table(data, filename="book.xlsx", sheet="Customers")
    assert raw.sheet == "Customers"
    pd.testing.assert_frame_equal(raw.frame, SMALL)


def test_xlsx_unknown_sheet_lists_the_sheets():
    data = xlsx_bytes({"Notes": pd.DataFrame({"note": ["x"]}), "Customers": SMALL})
    with pytest.raises(cc.DataFormatError, match="has no sheet 'Clients'. Choose one of: Notes, Customers") as info:
        cc.read_table(data, filename="book.xlsx", sheet="Clients")
    assert info.value.code == "sheet_missing"


@pytest.mark.parametrize(("data", "filename"), [
    pytest.param(b"PK\x03\x04 not really a zip", "book.xlsx", id="zip-magic"),
    pytest.param(TABLE.encode(), "book.xlsx", id="csv-named-xlsx"),
])
def test_damaged_workbook_is_rejected(data, filename):
    with pytest.raises(cc.DataFormatError, match="looks like an Excel workbook but cannot be opened.*export it as CSV"
                       ) as info:
        cc.read_table(data, filename=filename)
    assert info.value.code == "bad_xlsx"


# -- what a RawTable records ---------------------------------------------------------------------------

def test_raw_table_records_its_source():
    data = TABLE.encode()
    raw = cc.read_table(data, filename="export.csv")
    assert (raw.source_name, raw.n_bytes, raw.file_format, raw.encoding) == ("export.csv", len(data), "csv", "utf-8")
    assert raw.sha256 == hashlib.sha256(data).hexdigest()
    assert raw.to_frame() is raw.frame


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param(lambda tmp: TABLE.encode(), "upload", id="bytes-without-name"),
    pytest.param(lambda tmp: (tmp / "a.csv").write_text(TABLE) and tmp / "a.csv", "a.csv", id="path"),
    pytest.param(lambda tmp: (tmp / "b.csv").write_text(TABLE) and open(tmp / "b.csv", "rb"), "b.csv",
                 id="open-file"),
])
def test_source_name_comes_from_the_source(tmp_path, source, expected):
    handle = source(tmp_path)
    try:
        raw = cc.read_table(handle)
    finally:
        if hasattr(handle, "close"):
            handle.close()
    assert raw.source_name.endswith(expected)
    assert len(raw.frame) == 3


# -- hostile files: bombs, far cells, long lines (generated small, see tests/hostile_files.py) ---------------



def measure_read(path: Path, *, guard: bool = False, **options) -> dict:
    """read_table of ``path`` in a fresh interpreter: the outcome, seconds and the peak RSS it added (MB).

    The guard is off by default, so the parse itself runs (and is measured) in that interpreter: the bound
    then shows the checks alone keep the read small, whatever the worker's limit.
    """
    code = (
        "import json, resource, sys, time\n"
        "import churn_core as cc, churn_core._io as io_\n"
        f"io_._guard_available = lambda: {guard}\n"
        f"data = open({str(path)!r}, 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    raw = cc.read_table(data, filename={path.name!r}, **{options!r})\n"
        "    outcome = {'shape': list(raw.frame.shape)}\n"
        "except cc.DataFormatError as err:\n"
        "    outcome = {'code': err.code, 'params': {k: str(v) for k, v in err.params.items()}}\n"
        "outcome['seconds'] = time.perf_counter() - start\n"
        "outcome['peak_mb'] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024\n"
        "print(json.dumps(outcome))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("name", "make", "code", "max_mb", "max_s"), [
    pytest.param("bomb.xlsx", hostile.shared_strings_bomb, "archive_bomb", 40, 5, id="shared-strings-bomb"),
    pytest.param("bomb.csv.gz", hostile.gzip_bomb, "archive_bomb", 40, 5, id="gzip-bomb"),
    pytest.param("far.xlsx", lambda: hostile.workbook(far_cell="XFD1048576"), "far_cell", 40, 5, id="far-cell"),
    pytest.param("sparse.csv", hostile.sparse_csv, "too_many_cells", 80, 5, id="sparse-csv"),
    pytest.param("line.csv", hostile.long_line, "line_too_long", 40, 5, id="long-line"),
    pytest.param("cell.csv", hostile.long_cell, "cell_too_long", 60, 5, id="long-cell"),
])
def test_hostile_file_is_refused_within_memory_and_time_bounds(tmp_path, name, make, code, max_mb, max_s):
    path = write(tmp_path, name, make())
    assert path.stat().st_size < 30 * 1024 * 1024
    result = measure_read(path)
    assert result.get("code") == code, result
    assert result["peak_mb"] < max_mb, result
    assert result["seconds"] < max_s, result


def test_shared_strings_bomb_is_refused_from_the_zip_directory_naming_the_part():
    data = hostile.shared_strings_bomb()
    assert len(data) < 40 * 1024  # a few KB on disk, 16 MB unpacked
    with pytest.raises(cc.DataFormatError, match=r"'bomb\.xlsx' is refused as a compression bomb: its part "
                       r"'xl/sharedStrings\.xml' unpacks to \d+ times") as info:
        cc.read_table(data, filename="bomb.xlsx")
    assert (info.value.code, info.value.params["part"], info.value.params["limit"]) == (
        "archive_bomb", "xl/sharedStrings.xml", 100)
    assert info.value.params["ratio"] > 100
    with pytest.raises(cc.DataFormatError, match="compression bomb") as listing:  # listing sheets opens it too
        cc.sheet_names(data, filename="bomb.xlsx")
    assert listing.value.code == "archive_bomb"


def test_far_corner_cell_is_refused_naming_the_cell_and_the_table():
    with pytest.raises(cc.DataFormatError, match=r"has a value in cell XFD1048576, far outside the table "
                       r"\(which ends at row 41, column E\)") as info:
        cc.read_table(hostile.workbook(far_cell="XFD1048576"), filename="far.xlsx")
    assert info.value.code == "far_cell"
    assert info.value.params == {"name": "far.xlsx", "sheet": "Customers", "cell": "XFD1048576", "last_row": 41,
                                 "last_column": "E"}


def test_value_far_below_the_table_is_refused():
    with pytest.raises(cc.DataFormatError, match="cell A500000, far outside the table") as info:
        cc.read_table(hostile.workbook(far_cell="A500000"), filename="below.xlsx")
    assert info.value.code == "far_cell"


@pytest.mark.parametrize("data", [
    pytest.param(hostile.declared_dimension, id="declared-whole-grid"),
    pytest.param(lambda: hostile.workbook(far_cell="XFD1048576", far_value=None), id="formatted-empty-far-cell"),
])
def test_sheet_extent_comes_from_the_cells_holding_values(data):
    start = time.perf_counter()
    raw = cc.read_table(data(), filename="book.xlsx")
    assert time.perf_counter() - start < 5
    pd.testing.assert_frame_equal(raw.frame, hostile.customers())


def test_sheet_read_in_chunks_is_the_sheet(monkeypatch):
    from churn_core import _io

    frame = hostile.customers().assign(note=[None] * 20 + ["late text"] * 20, score=[1] * 39 + [1.5])
    data = hostile.workbook(frame)
    monkeypatch.setattr(_io, "_guard_available", lambda: False)  # the chunk size is patched in this process
    monkeypatch.setattr(_io, "_CHUNK_ROWS", 7)
    pd.testing.assert_frame_equal(cc.read_table(data, filename="book.xlsx").frame, frame)


def test_a_few_empty_rows_and_columns_inside_a_sheet_are_read():
    frame = hostile.customers(5)
    data = hostile.workbook(frame, far_cell="H9", far_value=7)  # within reach: read; blank rows skipped, as in a CSV
    raw = cc.read_table(data, filename="book.xlsx")
    assert raw.frame.shape == (6, 8)
    assert list(raw.frame.columns[-3:]) == ["Unnamed: 5", "Unnamed: 6", "Unnamed: 7"]
    assert raw.frame.iloc[-1, -1] == 7


def test_one_megabyte_cell_is_read_and_a_longer_one_refused():
    raw = cc.read_table(hostile.long_cell(1024 * 1024), filename="notes.csv")
    assert len(raw.frame.loc[1, "note"]) == 1024 * 1024
    with pytest.raises(cc.DataFormatError, match=r"has a cell of 3145728 characters \(column 'note', row 2\), "
                       r"over the limit of 2097152") as info:
        cc.read_table(hostile.long_cell(), filename="notes.csv")
    assert info.value.code == "cell_too_long"


def test_long_line_is_refused_before_parsing(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the file was handed to pandas")
    monkeypatch.setattr(pd, "read_csv", fail)
    with pytest.raises(cc.DataFormatError, match=r"Line 3 of the file 'line\.csv' is 9 MB long, over the limit "
                       r"of 8 MB") as info:
        cc.read_table(hostile.long_line(), filename="line.csv")
    assert (info.value.code, info.value.params["line"]) == ("line_too_long", 3)


@pytest.mark.parametrize(("options", "code", "params"), [
    pytest.param({"max_rows": 30}, "too_many_rows", {"rows": 40, "limit": 30}, id="rows"),
    pytest.param({"max_cells": 150}, "too_many_cells", {"cells": 200, "limit": 150}, id="cells"),
])
@pytest.mark.parametrize("make", [
    pytest.param(lambda: hostile.customers().to_csv(index=False).encode(), id="csv"),
    pytest.param(hostile.workbook, id="xlsx"),
    pytest.param(hostile.parquet, id="parquet"),
])
def test_row_and_cell_limits(make, options, code, params):
    with pytest.raises(cc.DataFormatError, match=rf"more than (the limit of )?{params['limit']}") as info:
        cc.read_table(make(), filename="big", **options)
    assert info.value.code == code
    counted = "rows" if code == "too_many_rows" else "cells"
    assert info.value.params["limit"] == params["limit"]
    assert params["limit"] < info.value.params[counted] <= params[counted]  # a workbook stops at the first over


# -- more formats ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "make", "file_format"), [
    pytest.param("customers.csv.gz", hostile.csv_gz, "csv.gz", id="csv-gz"),
    pytest.param("customers.zip", lambda: hostile.zip_of({"export/customers.csv": hostile.customers().to_csv(
        index=False).encode(), "__MACOSX/._customers.csv": b"junk"}), "zip", id="zip-of-one-csv"),
    pytest.param("customers.parquet", hostile.parquet, "parquet", id="parquet"),
    pytest.param("customers.xlsm", hostile.xlsm, "xlsx", id="xlsm"),
])
def test_other_formats_round_trip(name, make, file_format):
    raw = cc.read_table(make(), filename=name)
    assert raw.file_format == file_format
    pd.testing.assert_frame_equal(raw.frame, hostile.customers())
    assert cc.load_dataset(make(), filename=name).n_rows == 40


def test_xlsm_macros_are_never_run(tmp_path, monkeypatch):
    """The VBA part is skipped: the workbook is read as cell values only, and nothing is started."""
    data = hostile.xlsm()
    assert b"vbaProject.bin" in data
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a))
    monkeypatch.setattr(os, "system", lambda *a, **k: started.append(a))
    assert cc.sheet_names(data, filename="macro.xlsm") == ("Customers",)
    assert cc.read_table(data, filename="macro.xlsm").frame.shape == (40, 5)
    assert started == []


def test_zip_of_several_files_names_them():
    data = hostile.zip_of({"a.csv": b"id,churn\n1,no\n", "b.csv": b"id,churn\n2,yes\n"})
    with pytest.raises(cc.DataFormatError, match=r"ZIP archive holding a\.csv, b\.csv: only an Excel workbook or "
                       r"a ZIP of exactly one CSV") as info:
        cc.read_table(data, filename="two.zip")
    assert (info.value.code, info.value.params["files"]) == ("zip_archive", ["a.csv", "b.csv"])


def test_archive_unpacking_past_the_size_limit_is_refused():
    data = hostile.csv_gz(hostile.customers(2000))
    with pytest.raises(cc.DataFormatError, match="unpacks to more than") as info:
        cc.read_table(data, filename="big.csv.gz", max_bytes=len(data) + 1000)
    assert info.value.code == "unpacked_too_large"


@pytest.mark.parametrize(("name", "data", "code"), [
    pytest.param("cut.csv.gz", hostile.csv_gz()[:-30], "bad_archive", id="truncated-gzip"),
    pytest.param("cut.parquet", hostile.parquet()[:-100], "bad_parquet", id="truncated-parquet"),
])
def test_damaged_compressed_files_are_refused(name, data, code):
    with pytest.raises(cc.DataFormatError, match=f"'{re.escape(name)}'") as info:
        cc.read_table(data, filename=name)
    assert info.value.code == code


def test_parquet_with_nested_columns_is_refused_naming_the_column():
    frame = hostile.customers(3).assign(orders=[[1, 2], [3], []])
    with pytest.raises(cc.DataFormatError, match="The column 'orders' of the Parquet file") as info:
        cc.read_table(hostile.parquet(frame), filename="nested.parquet")
    assert (info.value.code, info.value.params["column"]) == ("nested_column", "orders")


# -- what was lost on reading ---------------------------------------------------------------------------------

def test_decimal_commas_in_a_semicolon_file_are_numbers():
    raw = cc.read_table(hostile.decimal_commas(), filename="export.csv")
    assert raw.delimiter == ";"
    assert raw.frame["Umsatz"].dtype == float and raw.frame["Gebühr"].dtype == float
    assert raw.frame["Umsatz"].iloc[0] == 4165.0 and raw.frame["Umsatz"].iloc[1] == 4202.01
    assert raw.frame["Gebühr"].iloc[1] == 13.15
    assert raw.frame["Stichtag"].iloc[0] == "01.02.2024"  # dates are not numbers
    assert raw.frame["Anrufe"].dtype == "int64"
    dataset = cc.load_dataset(hostile.decimal_commas(), filename="export.csv")
    assert {"Umsatz", "Gebühr"} <= set(dataset.roles.numeric)


def test_decimal_comma_values_mixed_with_text_stay_text():
    raw = cc.read_table(b"id;code;churn\n1;1,5;no\n2;A-7;yes\n3;2,5;no\n")
    assert raw.frame["code"].tolist() == ["1,5", "A-7", "2,5"]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_bare_carriage_return_inside_quotes_stays_in_its_row(encoding):
    raw = cc.read_table(hostile.bare_cr_in_quotes().decode().encode(encoding), filename="notes.csv")
    assert raw.frame.shape == (40, 4)
    assert raw.frame.loc[3, "note"] == "first line\rsecond line 3"
    assert raw.frame["service_calls"].tolist() == [i % 5 for i in range(40)]


def test_integers_beyond_64_bits_are_text_ids_or_float_measures_and_the_preview_converts():
    import pyarrow as pa

    raw = cc.read_table(hostile.huge_integers(), filename="billing.csv")
    assert raw.frame["account_id"].iloc[0] == str(10**29)
    assert raw.frame["balance_units"].dtype == float and raw.frame["balance_units"].iloc[0] == 1e29
    pa.Table.from_pandas(raw.frame.head(20))  # what st.dataframe does: no "Python int too large"
    assert raw.frame["service_calls"].dtype == "int64"


def test_integers_that_fit_neither_int64_nor_uint64_together_still_convert_to_arrow():
    import pyarrow as pa

    raw = cc.read_table(f"id,delta,churn\n1,-5,no\n2,{2**63 + 5},yes\n3,-5,no\n".encode())
    pa.Table.from_pandas(raw.frame)
    assert raw.frame["delta"].tolist() == [-5.0, float(2**63 + 5), -5.0]
    ids = cc.read_table(f"id,churn\n-5,no\n{2**63 + 5},yes\n".encode()).frame["id"]
    assert ids.tolist() == ["-5", str(2**63 + 5)]  # distinct: an id, kept as text
    assert cc.read_table(f"id,big\n1,{2**64 - 1}\n2,5\n".encode()).frame["big"].dtype == "uint64"


# -- the memory guard -------------------------------------------------------------------------------------------

def test_small_csv_is_read_in_process_and_workbooks_in_the_worker(monkeypatch):
    from churn_core import _io

    def no_worker(*args, **kwargs):
        raise AssertionError("a worker process was started")
    monkeypatch.setattr(_io, "_guarded", no_worker)
    assert cc.read_table(TABLE.encode()).frame.shape == (3, 4)
    if _io._guard_available():
        with pytest.raises(AssertionError, match="a worker process was started"):
            cc.read_table(hostile.workbook(), filename="book.xlsx")


@pytest.fixture
def guard():
    from churn_core import _io

    if not _io._guard_available():
        pytest.skip("no forkserver and RLIMIT_AS on this platform")
    return _io


def test_a_parse_past_the_memory_limit_fails_that_read_only(guard):
    """An unforeseen bomb, played by a parse that allocates 2 GB: the worker stops at its limit, the caller
    gets a message, and the next read works."""
    with pytest.raises(cc.DataFormatError, match=r"needed more than 1032 MB of memory, so it was stopped") as info:
        guard._guarded(hostile.allocate, (2 * 1024 * 1024 * 1024,), name="bomb.xlsx", n_bytes=1024 * 1024)
    assert (info.value.code, info.value.params["name"]) == ("read_out_of_memory", "bomb.xlsx")
    assert guard._guarded(hostile.allocate, (64 * 1024 * 1024,), name="ok.xlsx", n_bytes=1) == 64 * 1024 * 1024
    assert cc.read_table(hostile.workbook(), filename="book.xlsx").frame.shape == (40, 5)


def test_a_parse_past_the_time_limit_is_stopped(guard, monkeypatch):
    monkeypatch.setattr(guard, "READ_SECONDS", 0.001)
    with pytest.raises(cc.DataFormatError, match=r"took more than 0.001 seconds, so it was stopped") as info:
        cc.read_table(hostile.workbook(hostile.customers(5000)), filename="slow.xlsx")
    assert info.value.code == "read_too_slow"


def test_the_worker_does_not_run_the_callers_main_script(tmp_path):
    """multiprocessing re-runs an unguarded main script in each child; the reading worker must not."""
    path = write(tmp_path, "book.xlsx", hostile.workbook())
    script = write(tmp_path, "script.py", (
        "import churn_core as cc\n"
        f"print(cc.read_table({str(path)!r}).frame.shape)\n").encode())
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"})
    assert (done.returncode, done.stdout) == (0, "(40, 5)\n"), done.stderr


def test_streamlit_refuses_uploads_over_the_same_limit_while_they_stream():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == cc.DEFAULT_MAX_BYTES


def test_lines_ended_by_cr_alone_are_counted_as_lines():
    data = ("id,plan,churn\r" + "".join(f"{i},{'basic' * 20},{'yes' if i % 3 else 'no'}\r"
                                        for i in range(100_000))).encode()  # 11 MB, no LF at all
    raw = cc.read_table(data, filename="mac.csv")
    assert raw.frame.shape == (100_000, 3)
