"""Reading uploaded tables: size limits, XLSX, encodings and delimiters.

CSV bytes are decoded with UTF-8 (with or without BOM) when they are valid
UTF-8, otherwise with the encoding charset-normalizer detects (cp1252 when several
code pages fit equally well). GBK and GB2312 are read as GB18030, their superset,
so every Chinese Excel export decodes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
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
_SNIFF_BYTES = 256 * 1024
_CHINESE = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "hz": "gb18030"}


@dataclass(frozen=True, eq=False)
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
        frame, sheet_used = _read_xlsx(data, name=name, sheet=sheet)
        raw = RawTable(frame, name, digest, len(data), "xlsx", sheet=sheet_used)
    else:
        raw = _read_csv(data, name=name, digest=digest, max_columns=max_columns)
    if raw.frame.shape[1] > max_columns:
        raise DataFormatError(
            f"The file '{name}' has {raw.frame.shape[1]} columns, more than the limit of {max_columns}. "
            "Keep only the columns you need, or split the file.",
            code="too_many_columns", name=name, columns=raw.frame.shape[1], limit=max_columns,
        )
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


def _size_text(n_bytes: float) -> str:
    """'200 MB', '1.5 KB' or '120 bytes': a small limit must not read as '0 MB'."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n_bytes >= scale:
            return f"{round(n_bytes / scale, 1):g} {unit}"
    return f"{int(n_bytes)} bytes"


def _read_xlsx(data: bytes, *, name: str, sheet: str | None) -> tuple[pd.DataFrame, str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise DataFormatError(
            f"The file '{name}' looks like an Excel workbook but cannot be opened ({err}). "
            "Save it again from Excel as .xlsx, or export it as CSV.",
            code="bad_xlsx", name=name,
        ) from err
    sheets = list(book.sheetnames)
    book.close()
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
    frame = pd.read_excel(io.BytesIO(data), sheet_name=chosen, engine="openpyxl")
    frame.columns = _clean_names(frame.columns)
    return frame, chosen


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
    sample = data[:_SNIFF_BYTES].decode(encoding, errors="ignore")
    delimiter = _detect_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    if len(header) > max_columns:
        raise DataFormatError(
            f"The file '{name}' has {len(header)} columns, more than the limit of {max_columns}. "
            "Keep only the columns you need, or split the file.",
            code="too_many_columns", name=name, columns=len(header), limit=max_columns,
        )
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
        raise DataFormatError(
            f"The file '{name}' could not be parsed as a {_DELIMITER_NAMES[delimiter]}-separated table "
            f"({str(err).splitlines()[0]}). Check that every row has the same number of fields.",
            code="unparseable", name=name, detail=str(err).splitlines()[0],
        ) from err
    frame.columns = _clean_names(frame.columns)
    return RawTable(frame, name, digest, len(data), "csv", encoding, delimiter, None, duplicates)


def _detect_encoding(data: bytes, *, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        raise _binary(name)
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


def _binary(name: str) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' is not a text table: it contains binary data. "
        "Upload a CSV (comma, semicolon or tab separated) or an .xlsx workbook.",
        code="binary_file", name=name,
    )


def _detect_delimiter(sample: str) -> str:
    """Pick the delimiter that splits the header and the next lines into the same field count."""
    lines = sample.splitlines()[:50]
    if len(sample) >= _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut short
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        width = len(rows[0]) if rows else 0
        if width < 2:
            continue
        consistent = sum(len(r) == width for r in rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best
