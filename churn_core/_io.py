"""Reading uploaded tables: size limits, XLSX, encodings and delimiters.

CSV bytes are decoded with UTF-8 (with or without BOM) when they are valid
UTF-8, otherwise with the encoding charset-normalizer detects (cp1252 when several
code pages fit equally well). GBK and GB2312 are read as GB18030, their superset,
so every Chinese Excel export decodes. UTF-16 is recognised with or without its
byte-order mark.

Every refusal is a DataFormatError with a code; tests/fixtures/bad_uploads/ holds
one malformed file for each (see its README).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import charset_normalizer
import pandas as pd

from .errors import DataFormatError, ParameterError

logger = logging.getLogger(__name__)

Source = str | Path | bytes | IO[bytes]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_COLUMNS = 2000
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DELIMITER_SHOWN = {",": "','", ";": "';'", "\t": "Tab", "|": "'|'"}
_SNIFF_BYTES = 256 * 1024
_CHINESE = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "hz": "gb18030"}


@dataclass(frozen=True, eq=False, kw_only=True)
class RawTable:
    """A table as read from a file, before any column is interpreted."""

    frame: pd.DataFrame
    source_name: str
    sha256: str
    n_bytes: int
    file_format: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    duplicate_columns: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def read_table(
    source: Source,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_columns: int = DEFAULT_MAX_COLUMNS,
) -> RawTable:
    """Read a CSV or XLSX file (path, bytes or binary file object) into a RawTable.

    Raises DataFormatError, with a message naming the problem and its fix, for an
    empty, oversized, binary, undecodable or header-only file.
    """
    if max_bytes < 1:
        raise ParameterError(
            f"The 'max_bytes' parameter of read_table must be at least 1. Got {max_bytes!r} instead.",
            code="bad_parameter", name="max_bytes", value=max_bytes,
        )
    data, name = _read_bytes(source, filename=filename, max_bytes=max_bytes)
    if not data.strip():
        raise DataFormatError(
            f"The file '{name}' is empty (received {len(data)} bytes). "
            "Export the table again with a header row and at least one data row.",
            code="empty_file", name=name,
        )
    digest = hashlib.sha256(data).hexdigest()
    if data[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        frame, sheet_used = _read_xlsx(data, name=name, sheet=sheet, max_columns=max_columns)
        raw = RawTable(frame=frame, source_name=name, sha256=digest, n_bytes=len(data), file_format="xlsx",
                       sheet=sheet_used)
    else:
        raw = _read_csv(data, name=name, digest=digest, max_columns=max_columns)
    if raw.frame.shape[1] > max_columns:
        raise _too_many_columns(name, raw.frame.shape[1], max_columns)
    if len(raw.frame) == 0:
        raise DataFormatError(
            f"The file '{name}' has a header but no data rows. "
            "Export the table again including its rows.",
            code="no_rows", name=name,
        )
    logger.info("read %s: %d rows x %d columns (%s)", name, *raw.frame.shape, raw.encoding or raw.file_format)
    return raw


def _read_bytes(source: Source, *, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    limit_mb = max_bytes / 1024 / 1024
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataFormatError(
                f"No file at '{path}'. Check the path, or pass the file's bytes instead.",
                code="file_not_found", name=str(path),
            )
        size = path.stat().st_size
        name = filename or path.name
        if size > max_bytes:
            raise _too_large(name, size, limit_mb)
        return path.read_bytes(), name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
    else:
        raise ParameterError(
            "read_table expects a path, bytes or a binary file object. "
            f"Got {type(source).__name__} instead.",
            code="bad_parameter", name="source", value=type(source).__name__,
        )
    name = filename or getattr(source, "name", None) or "upload"
    if len(data) > max_bytes:
        raise _too_large(str(name), len(data), limit_mb)
    return data, str(name)


def _too_large(name: str, size: int, limit_mb: float) -> DataFormatError:
    size_mb = size / 1024 / 1024
    return DataFormatError(
        f"The file '{name}' is {_size_text(size)}, over the {_size_text(limit_mb * 1024 * 1024)} limit. "
        "Upload fewer rows or columns, or load it with the command line.",
        code="file_too_large", name=name, size_mb=round(size_mb, 1), limit_mb=round(limit_mb),
    )


def _too_many_columns(name: str, columns: int, limit: int) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' has {columns} columns, more than the limit of {limit}. "
        "Keep only the columns you need, or split the file.",
        code="too_many_columns", name=name, columns=columns, limit=limit,
    )


def _size_text(n_bytes: float) -> str:
    """'200 MB', '1.5 KB' or '120 bytes': a small limit must not read as '0 MB'."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n_bytes >= scale:
            return f"{round(n_bytes / scale, 1):g} {unit}"
    return f"{int(n_bytes)} bytes"


def sheet_names(source: Source, *, filename: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, ...]:
    """The sheet names of an XLSX workbook, in workbook order, without reading any cell; () for a CSV.

    Raises DataFormatError for a file that looks like a workbook but cannot be opened.
    """
    data, name = _read_bytes(source, filename=filename, max_bytes=max_bytes)
    if not (data[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm"))):
        return ()
    book = _open_workbook(data, name=name)
    try:
        return tuple(book.sheetnames)
    finally:
        book.close()


def _open_workbook(data: bytes, *, name: str):
    import openpyxl

    _refuse_other_archives(data, name=name)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise DataFormatError(
            f"The file '{name}' looks like an Excel workbook but cannot be opened ({err}). "
            "Save it again from Excel as .xlsx, or export it as CSV.",
            code="bad_xlsx", name=name,
        ) from err


def _read_xlsx(data: bytes, *, name: str, sheet: str | None, max_columns: int) -> tuple[pd.DataFrame, str]:
    book = _open_workbook(data, name=name)
    try:
        sheets = list(book.sheetnames)
        if sheet is None and len(sheets) > 1:
            raise DataFormatError(
                f"The workbook '{name}' has {len(sheets)} sheets ({', '.join(sheets)}). "
                "Say which sheet holds the customer table.",
                code="sheet_required", name=name, sheets=sheets,
            )
        chosen = sheet if sheet is not None else sheets[0]
        if chosen not in sheets:
            raise DataFormatError(
                f"The workbook '{name}' has no sheet '{chosen}'. Choose one of: {', '.join(sheets)}.",
                code="sheet_missing", name=name, sheet=chosen, sheets=sheets,
            )
        # The header row alone (streamed) says whether the sheet is too wide to read at all.
        header = next(book[chosen].iter_rows(max_row=1, values_only=True), ())
    finally:
        book.close()
    width = len(header) - next((i for i, v in enumerate(reversed(header)) if v is not None), len(header))
    if width > max_columns:
        raise _too_many_columns(name, width, max_columns)
    frame = pd.read_excel(io.BytesIO(data), sheet_name=chosen, engine="openpyxl")
    if frame.shape[1] == 0:
        raise DataFormatError(
            f"The sheet '{chosen}' of the workbook '{name}' is empty: it has no header row and no data. "
            "Put the customer table on it, or choose the sheet that holds the table.",
            code="empty_sheet", name=name, sheet=chosen,
        )
    frame.columns = _clean_names(frame.columns)
    return frame, chosen


def _refuse_other_archives(data: bytes, *, name: str) -> None:
    """A ZIP that is not a workbook (a zipped CSV, a Word file...) gets its own message, naming its files."""
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        return  # a damaged workbook: openpyxl says why
    with zipfile.ZipFile(buffer) as archive:
        files = archive.namelist()
    if "xl/workbook.xml" not in files:
        raise DataFormatError(
            f"The file '{name}' is a ZIP archive (holding {', '.join(files[:5]) or 'no files'}), "
            "not an Excel workbook or a CSV. Unzip it and upload the customer table inside.",
            code="zip_archive", name=name, files=files[:5],
        )


def _clean_names(columns: pd.Index) -> list[str]:
    """Column names without surrounding spaces, kept unique the way pandas does ('a', 'a.1')."""
    names: list[str] = []
    seen: set[str] = set()
    for column in columns:
        name = base = str(column).strip()
        copy = 0
        while name in seen:
            copy += 1
            name = f"{base}.{copy}"
        names.append(name)
        seen.add(name)
    return names


def _read_csv(data: bytes, *, name: str, digest: str, max_columns: int) -> RawTable:
    encoding = _detect_encoding(data, name=name)
    lines = _sample_lines(data, encoding)
    delimiter = _detect_delimiter(lines)
    rows = _split(lines, delimiter)
    header = (rows[0][1] or []) if rows else []
    if len(header) > max_columns:
        raise _too_many_columns(name, len(header), max_columns)
    _refuse_mixed_delimiters(rows, lines, delimiter, name=name)
    counts = Counter(h.strip() for h in header)
    duplicates = tuple(sorted(h for h, n in counts.items() if n > 1))
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delimiter, encoding=encoding, skipinitialspace=True,
            low_memory=False, on_bad_lines="error",
        )
    except pd.errors.EmptyDataError as err:  # a ValueError too, so it is caught first
        raise DataFormatError(
            f"The file '{name}' has no header row (received {len(data)} bytes with no column names). "
            "Export the table again with column names.",
            code="empty_file", name=name,
        ) from err
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise _unparseable(str(err).splitlines()[0], name=name, delimiter=delimiter) from err
    frame.columns = _clean_names(frame.columns)
    return RawTable(frame=frame, source_name=name, sha256=digest, n_bytes=len(data), file_format="csv",
                    encoding=encoding, delimiter=delimiter, sheet=None, duplicate_columns=duplicates)


def _unparseable(detail: str, *, name: str, delimiter: str) -> DataFormatError:
    """The parser's complaint as a message naming the line, when it names one."""
    kind = _DELIMITER_NAMES[delimiter]
    if found := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail):
        expected, line, saw = map(int, found.groups())
        return DataFormatError(
            f"The file '{name}' could not be read as a {kind}-separated table: line {line} has {saw} fields "
            f"but the header has {expected}. Remove the extra fields (or quote values that contain the "
            "delimiter), and save the file again.",
            code="too_many_fields", name=name, line=line, expected=expected, saw=saw,
        )
    if found := re.search(r"EOF inside string starting at row (\d+)", detail):
        line = int(found.group(1)) + 1  # the parser counts rows from 0, header included
        return DataFormatError(
            f"The file '{name}' could not be read as a {kind}-separated table: a quote (\") opened on line "
            f"{line} is never closed, so the rest of the file would be one value. Close or remove that quote, "
            "and save the file again.",
            code="unclosed_quote", name=name, line=line,
        )
    return DataFormatError(
        f"The file '{name}' could not be parsed as a {kind}-separated table "
        f"({detail}). Check that every row has the same number of fields.",
        code="unparseable", name=name, detail=detail,
    )


def _detect_encoding(data: bytes, *, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is not None:
            return utf16
        raise _nul_bytes(data, name=name) if _is_utf8(data.replace(b"\x00", b"")) else _binary(name)
    try:
        data.decode("utf-8")
        return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    for candidate in ("gb18030",):  # the commonest non-UTF-8 export for this app's users
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if any("\u4e00" <= ch <= "\u9fff" for ch in text[:4096]):
            return candidate
    matches = charset_normalizer.from_bytes(head)
    best = matches.best()
    if best is None:
        raise _binary(name)
    # Western text often fits several code pages equally well; then prefer cp1252, Excel's Western export.
    tied = {m.encoding for m in matches if m.chaos == best.chaos}
    encoding = "cp1252" if "cp1252" in tied else _CHINESE.get(best.encoding.lower(), best.encoding)
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as err:
        raise DataFormatError(
            f"The file '{name}' is not valid text in any encoding we recognise "
            f"(best guess {encoding}). Save it again as UTF-8 CSV.",
            code="undecodable", name=name, encoding=encoding,
        ) from err
    return encoding


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' for UTF-16 text without its byte-order mark, else None.

    Such text (from some database and Windows tools) has a NUL in every other byte for
    Latin characters, digits and delimiters, and no NUL in the other bytes.
    """
    head = head[: len(head) // 2 * 2]
    even, odd = head[0::2], head[1::2]
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) > len(zeros) // 10 and others.count(0) <= len(others) // 20:
            text = head.decode(encoding, errors="replace")
            if sum(ch.isprintable() or ch in "\t\r\n" for ch in text) > 0.95 * len(text):
                return encoding
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _nul_bytes(data: bytes, *, name: str) -> DataFormatError:
    line = data[: data.index(b"\x00")].count(b"\n") + 1
    count = data.count(b"\x00")
    return DataFormatError(
        f"The file '{name}' is text but contains {count} NUL byte(s) (the first on line {line}), which a table "
        "cannot hold. Export the table again, or delete those characters in a text editor, and upload it again.",
        code="nul_bytes", name=name, line=line, count=count,
    )


def _binary(name: str) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' is not a text table: it contains binary data. "
        "Upload a CSV (comma, semicolon or tab separated) or an .xlsx workbook.",
        code="binary_file", name=name,
    )


def _sample_lines(data: bytes, encoding: str) -> list[str]:
    """The first 50 lines of the file, without a last line the sample may have cut short."""
    lines = data[:_SNIFF_BYTES].decode(encoding, errors="ignore").splitlines()
    if len(data) > _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]
    return lines[:50]


def _split(lines: list[str], delimiter: str) -> list[tuple[int, list[str] | None]]:
    """(line number, fields) of each row; fields are None where the csv module gave up on the row.

    The csv module refuses fields over its size limit (128 KB); pandas reads them, so such a
    row only counts as no evidence for or against a delimiter.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    rows: list[tuple[int, list[str] | None]] = []
    while True:
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            return rows
        except csv.Error:
            row = None
        rows.append((reader.line_num, row))


def _detect_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that splits the header and the next lines into the same field count."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        rows = [fields for _, fields in _split(lines, delimiter)]
        width = len(rows[0]) if rows and rows[0] else 0
        if width < 2:
            continue
        consistent = sum(r is not None and len(r) == width for r in rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _refuse_mixed_delimiters(rows: list[tuple[int, list[str] | None]], lines: list[str], delimiter: str, *,
                             name: str) -> None:
    """Refuse a sampled row that is short of fields but splits like the header with another delimiter.

    That row was saved with a different delimiter; pandas would fill it with missing values and say nothing.
    """
    width = len(rows[0][1] or []) if rows else 0
    for line, fields in rows[1:]:
        if width < 2 or fields is None or len(fields) >= width or line > len(lines):
            continue
        for other in DELIMITERS:
            split = _split([lines[line - 1]], other)
            if other != delimiter and split and len(split[0][1] or []) == width:
                raise DataFormatError(
                    f"The file '{name}' mixes delimiters: the header is separated by "
                    f"{_DELIMITER_SHOWN[delimiter]} but line {line} by {_DELIMITER_SHOWN[other]}, so its values "
                    "would be lost. Save the file again with one delimiter throughout.",
                    code="mixed_delimiters", name=name, line=line, delimiter=_DELIMITER_SHOWN[delimiter],
                    other=_DELIMITER_SHOWN[other],
                )
