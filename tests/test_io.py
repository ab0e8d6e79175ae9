"""churn_core._io.read_table: size limits, binary and empty files, encodings, delimiters and workbooks."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

import churn_core as cc

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
