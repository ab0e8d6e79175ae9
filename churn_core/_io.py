"""Reading uploaded tables: size limits, XLSX, encodings and delimiters.

CSV bytes are decoded with UTF-8 (with or without BOM) when they are valid
UTF-8, otherwise with the encoding charset-normalizer detects (cp1252 when several
code pages fit equally well). GBK and GB2312 are read as GB18030, their superset,
so every Chinese Excel export decodes. UTF-16 is recognised with or without its
byte-order mark.

Formats: CSV (and .tsv/.txt), .csv.gz, a .zip holding exactly one CSV, Parquet, and
Excel workbooks (.xlsx, .xlsm: cell values only, macros are never run).

Every read is bounded: the size is checked before anything is read; a workbook's or
archive's parts are checked for their unpacked size and compression ratio before any
is unpacked; a workbook's rows are streamed and its extent judged from the cells that
hold values (never from its declared dimension); rows, columns, cells, a cell's length
and a line's length are capped. Workbooks, archives, Parquet and CSVs over
GUARD_MIN_BYTES are parsed in a worker process under a memory limit
(resource.setrlimit) and a time limit, so even an unforeseen bomb fails one read with
a message and never the server.

Every refusal is a DataFormatError with a code; tests/fixtures/bad_uploads/ holds
one malformed file for each (see its README).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import multiprocessing
import os
import re
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import charset_normalizer
import numpy as np
import pandas as pd

from ._names import unique_names
from .errors import ChurnCoreError, DataFormatError, ParameterError

logger = logging.getLogger(__name__)

Source = str | Path | bytes | IO[bytes]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_COLUMNS = 2000
DEFAULT_MAX_ROWS = 5_000_000
DEFAULT_MAX_CELLS = 25_000_000  # 200k customers x 125 columns; ~200 MB as float64
MAX_CELL_CHARS = 2 * 1024 * 1024  # a 1 MB note is read; a 150 MB "cell" is not
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_RATIO = 100  # unpacked / packed, per archive part (Apache POI's default for workbooks)
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024  # all parts of a workbook together
_RATIO_EXEMPT_BYTES = 1024 * 1024  # parts smaller than this unpacked are too small to matter
GUARD_MIN_BYTES = 2 * 1024 * 1024  # smaller CSVs are parsed in-process (a worker costs ~50 ms)
GUARD_MEMORY_BYTES = 1024 * 1024 * 1024  # a guarded parse may use this much plus GUARD_MEMORY_PER_BYTE x the file
GUARD_MEMORY_PER_BYTE = 8
READ_SECONDS = 60.0
_FAR_GAP_ROWS = 10_000  # a value after this many empty rows lies outside the table
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
    file_format: str  # "csv", "csv.gz", "zip" (one CSV inside), "parquet" or "xlsx" (also .xlsm)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    duplicate_columns: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.frame


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_columns: int
    max_rows: int
    max_cells: int


@dataclass(frozen=True, eq=False, kw_only=True)
class _Parsed:
    frame: pd.DataFrame
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    duplicate_columns: tuple[str, ...] = ()


def read_table(
    source: Source,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> RawTable:
    """Read a CSV, .csv.gz, one-CSV .zip, Parquet or XLSX/XLSM file (path, bytes or binary file object).

    Raises DataFormatError, with a message naming the problem and its fix, for an
    empty, oversized, binary, undecodable or header-only file, a compression bomb, a
    table over the row, column or cell limits, and a parse that runs out of memory or time.
    """
    for option, value in (("max_bytes", max_bytes), ("max_columns", max_columns), ("max_rows", max_rows),
                          ("max_cells", max_cells)):
        if value < 1:
            raise ParameterError(
                f"The '{option}' parameter of read_table must be at least 1. Got {value!r} instead.",
                code="bad_parameter", name=option, value=value,
            )
    data, name = _read_bytes(source, filename=filename, max_bytes=max_bytes)
    if not data or data.isspace():
        raise DataFormatError(
            f"The file '{name}' is empty (received {len(data)} bytes). "
            "Export the table again with a header row and at least one data row.",
            code="empty_file", name=name,
        )
    digest = hashlib.sha256(data).hexdigest()
    limits = _Limits(max_bytes, max_columns, max_rows, max_cells)
    if _needs_guard(data, name):
        parsed = _guarded(_parse, (data, name, sheet, limits), name=name, n_bytes=len(data))
    else:
        parsed = _parse(data, name, sheet, limits)
    raw = RawTable(frame=parsed.frame, source_name=name, sha256=digest, n_bytes=len(data),
                   file_format=parsed.file_format, encoding=parsed.encoding, delimiter=parsed.delimiter,
                   sheet=parsed.sheet, duplicate_columns=parsed.duplicate_columns)
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


def _kind(data: bytes, name: str) -> str:
    """'zip', 'gzip', 'parquet', 'xlsx' (named so but not a ZIP: damaged) or 'csv', from the bytes first."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"PAR1" or name.lower().endswith(".parquet"):
        return "parquet"
    if name.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    return "csv"


def _parse(data: bytes, name: str, sheet: str | None, limits: _Limits) -> _Parsed:
    kind = _kind(data, name)
    if kind == "parquet":
        return _read_parquet(data, name=name, limits=limits)
    if kind == "gzip":
        inner = _gunzip(data, name=name, limit=limits.max_bytes)
        return _with_format(_read_csv(inner, name=name, limits=limits), "csv.gz")
    if kind == "zip":
        archive = _checked_zip(data, name=name, max_unpacked=MAX_UNPACKED_BYTES)
        if archive is not None and "xl/workbook.xml" not in archive.namelist():
            inner = _only_csv(archive, name=name, limit=limits.max_bytes)
            return _with_format(_read_csv(inner, name=name, limits=limits), "zip")
    if kind in ("zip", "xlsx"):
        return _read_xlsx(data, name=name, sheet=sheet, limits=limits)
    return _read_csv(data, name=name, limits=limits)


def _with_format(parsed: _Parsed, file_format: str) -> _Parsed:
    return _Parsed(frame=parsed.frame, file_format=file_format, encoding=parsed.encoding, delimiter=parsed.delimiter,
                   duplicate_columns=parsed.duplicate_columns)


def _read_bytes(source: Source, *, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    limit_mb = max_bytes / 1024 / 1024
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataFormatError(
                f"No file at '{path}'. Check the path, or pass the file's bytes instead.",
                code="file_not_found", name=str(path),
            )
        size = path.stat().st_size  # before opening: a file over the limit is never read
        name = filename or path.name
        if size > max_bytes:
            raise _too_large(name, size, limit_mb)
        with path.open("rb") as handle:  # read at most the limit, should the file grow meanwhile
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_large(name, len(data), limit_mb)
        return data, name
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


def _too_many_rows(name: str, rows: int, limit: int) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' has more than {limit} rows ({rows} at least). Split the file, or keep only the "
        "customers you need.",
        code="too_many_rows", name=name, rows=rows, limit=limit,
    )


def _too_many_cells(name: str, cells: int, limit: int) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' has about {cells} cells (rows times columns), more than the limit of {limit}. "
        "Keep only the columns you need, or split the rows into several files.",
        code="too_many_cells", name=name, cells=cells, limit=limit,
    )


def _cell_too_long(name: str, where: str, length: int) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' has a cell of {length} characters ({where}), over the limit of {MAX_CELL_CHARS}. "
        "A customer table holds short values: remove or shorten that text and save the file again.",
        code="cell_too_long", name=name, where=where, length=length, limit=MAX_CELL_CHARS,
    )


def _size_text(n_bytes: float) -> str:
    """'200 MB', '1.5 KB' or '120 bytes': a small limit must not read as '0 MB'."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n_bytes >= scale:
            return f"{round(n_bytes / scale, 1):g} {unit}"
    return f"{int(n_bytes)} bytes"


def sheet_names(source: Source, *, filename: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, ...]:
    """The sheet names of an XLSX workbook, in workbook order, without reading any cell; () for other files.

    Raises DataFormatError for a file that looks like a workbook but cannot be opened, or is a bomb.
    """
    data, name = _read_bytes(source, filename=filename, max_bytes=max_bytes)
    kind = _kind(data, name)
    if kind not in ("zip", "xlsx"):
        return ()
    if _guard_available():
        return _guarded(_sheet_names_of, (data, name), name=name, n_bytes=len(data))
    return _sheet_names_of(data, name)


def _sheet_names_of(data: bytes, name: str) -> tuple[str, ...]:
    archive = _checked_zip(data, name=name, max_unpacked=MAX_UNPACKED_BYTES)
    if archive is not None and "xl/workbook.xml" not in archive.namelist():
        return ()  # an archive of a CSV, or one that reading refuses
    book = _open_workbook(data, name=name)
    try:
        return tuple(book.sheetnames)
    finally:
        book.close()


# -- archives ----------------------------------------------------------------------------------------------

def _checked_zip(data: bytes, *, name: str, max_unpacked: int) -> zipfile.ZipFile | None:
    """The ZIP archive, after refusing a bomb from its directory; None for a damaged one (the reader says why).

    zipfile never unpacks more of a part than the directory declares, so checking the declared sizes bounds
    what any reader (openpyxl included) can unpack.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if len(infos) > 10_000:
        raise _archive_bomb(name, f"{len(infos)} parts", len(infos))
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_EXEMPT_BYTES and ratio > MAX_RATIO:
            raise _archive_bomb(name, info.filename, round(ratio))
        if total > max_unpacked:
            raise _unpacked_too_large(name, info.filename, max_unpacked)
    return archive


def _archive_bomb(name: str, part: str, ratio: int) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' is refused as a compression bomb: its part '{part}' unpacks to {ratio} times its "
        f"packed size, over the limit of {MAX_RATIO} times. If it is a genuine export, save it as CSV and upload "
        "that.",
        code="archive_bomb", name=name, part=part, ratio=ratio, limit=MAX_RATIO,
    )


def _unpacked_too_large(name: str, part: str, limit: int) -> DataFormatError:
    return DataFormatError(
        f"The file '{name}' unpacks to more than {_size_text(limit)} (at its part '{part}'), over the limit. "
        "Upload fewer rows or columns, or split the file.",
        code="unpacked_too_large", name=name, part=part, limit_mb=round(limit / 1024 / 1024),
    )


def _bad_archive(name: str, err: BaseException) -> DataFormatError:
    detail = str(err) or type(err).__name__
    return DataFormatError(
        f"The file '{name}' is a damaged compressed file ({detail}). Compress the CSV again, or upload the CSV "
        "itself.",
        code="bad_archive", name=name, detail=detail,
    )


def _gunzip(data: bytes, *, name: str, limit: int) -> bytes:
    """A .gz file's content, unpacked a megabyte at a time and refused as soon as it is too big or too packed."""
    packed = io.BytesIO(data)
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=packed) as stream:
            while chunk := stream.read(_RATIO_EXEMPT_BYTES):
                out += chunk
                if len(out) > limit:
                    raise _unpacked_too_large(name, Path(name).stem or name, limit)
                if len(out) > _RATIO_EXEMPT_BYTES and len(out) / max(packed.tell(), 1) > MAX_RATIO:
                    raise _archive_bomb(name, Path(name).stem or name, round(len(out) / max(packed.tell(), 1)))
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise _bad_archive(name, err) from err
    return bytes(out)


def _only_csv(archive: zipfile.ZipFile, *, name: str, limit: int) -> bytes:
    """The one CSV of a ZIP archive (sizes already checked); anything else is refused, naming the files."""
    files = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    names = [i.filename for i in files]
    if len(files) != 1 or not files[0].filename.lower().endswith((".csv", ".tsv", ".txt")):
        raise DataFormatError(
            f"The file '{name}' is a ZIP archive holding {', '.join(names[:5]) or 'no files'}: only an Excel "
            "workbook or a ZIP of exactly one CSV can be read. Unzip it and upload the customer table inside.",
            code="zip_archive", name=name, files=names[:5],
        )
    if files[0].file_size > limit:
        raise _unpacked_too_large(name, files[0].filename, limit)
    try:
        with archive.open(files[0]) as stream:
            return stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as err:
        raise _bad_archive(name, err) from err


# -- workbooks ----------------------------------------------------------------------------------------------

def _open_workbook(data: bytes, *, name: str):
    import openpyxl

    archive = _checked_zip(data, name=name, max_unpacked=MAX_UNPACKED_BYTES)
    if archive is not None and "xl/workbook.xml" not in archive.namelist():
        _only_csv(archive, name=name, limit=0)  # raises zip_archive, naming the files
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except MemoryError:
        raise
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise DataFormatError(
            f"The file '{name}' looks like an Excel workbook but cannot be opened ({err}). "
            "Save it again from Excel as .xlsx, or export it as CSV.",
            code="bad_xlsx", name=name,
        ) from err


def _read_xlsx(data: bytes, *, name: str, sheet: str | None, limits: _Limits) -> _Parsed:
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
        frame = _sheet_frame(_sheet_rows(book, book[chosen], name=name, sheet=chosen, limits=limits))
    except (MemoryError, DataFormatError):
        raise
    except Exception as err:  # a part openpyxl cannot parse
        raise DataFormatError(
            f"The file '{name}' looks like an Excel workbook but cannot be opened ({err}). "
            "Save it again from Excel as .xlsx, or export it as CSV.",
            code="bad_xlsx", name=name,
        ) from err
    finally:
        book.close()
    if frame is None:
        raise DataFormatError(
            f"The sheet '{chosen}' of the workbook '{name}' is empty: it has no header row and no data. "
            "Put the customer table on it, or choose the sheet that holds the table.",
            code="empty_sheet", name=name, sheet=chosen,
        )
    frame.columns = _clean_names(frame.columns)
    return _Parsed(frame=frame, file_format="xlsx", sheet=chosen)


_CHUNK_ROWS = 20_000


def _sheet_frame(rows: Iterator[list]) -> pd.DataFrame | None:
    """The rows (the header first) as a frame, typed as pandas types a sheet; None for no rows at all.

    Rows are converted 20,000 at a time, each chunk under the header, so that only one chunk is ever held
    as Python objects (a sheet's cells take ~10x more memory as objects than in the frame).
    """
    from pandas.io.parsers import TextParser

    header = next(rows, None)
    if header is None:
        return None
    frames, chunk = [], []

    def convert() -> pd.DataFrame:
        width = max(len(header), *(len(row) for row in chunk)) if chunk else len(header)
        padded = [row + [""] * (width - len(row)) for row in (header, *chunk)]
        chunk.clear()
        return TextParser(padded, header=0).read()

    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK_ROWS:
            frames.append(convert())
    if chunk or not frames:
        frames.append(convert())
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True).infer_objects()


def _sheet_rows(book, worksheet, *, name: str, sheet: str, limits: _Limits) -> Iterator[list]:
    """The sheet's rows that hold values, each as long as its last value.

    The XML is streamed cell by cell. The extent comes from the cells that hold values: the declared
    dimension and empty (formatted) cells are ignored, and a value far outside the table is refused rather
    than read as a million empty rows or sixteen thousand empty columns.
    """
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import WorkSheetParser

    count = width = last_row = 0
    with worksheet._get_source() as source:  # what ReadOnlyWorksheet.iter_rows parses, without its padding
        parser = WorkSheetParser(source, worksheet._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for index, parsed in parser.parse():
            values = [(c["column"], c["value"], c["data_type"]) for c in parsed if c["value"] is not None]
            if not values:
                continue
            last = max(column for column, _, _ in values)
            if not count and last > limits.max_columns:
                raise _too_many_columns(name, last, limits.max_columns)
            if count and (last > limits.max_columns or index - last_row > _FAR_GAP_ROWS):
                column, value, _ = max(values, key=lambda v: v[0]) if last > limits.max_columns else values[0]
                raise DataFormatError(
                    f"The sheet '{sheet}' of the workbook '{name}' has a value in cell "
                    f"{get_column_letter(column)}{index}, far outside the table (which ends at row {last_row}, "
                    f"column {get_column_letter(max(width, 1))}). Delete what lies outside the table, or copy "
                    "the table to a new sheet, and save the workbook again.",
                    code="far_cell", name=name, sheet=sheet, cell=f"{get_column_letter(column)}{index}",
                    last_row=last_row, last_column=get_column_letter(max(width, 1)),
                )
            row: list = [""] * last
            for column, value, data_type in values:
                if data_type == "e":
                    value = np.nan  # #N/A, #DIV/0!: missing, as pandas reads them
                elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                    value = int(value)
                elif isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise _cell_too_long(name, f"cell {get_column_letter(column)}{index}", len(value))
                row[column - 1] = value
            count, width, last_row = count + 1, max(width, last), index
            cells = width * count  # as many as the padded table will hold
            if count > limits.max_rows + 1:  # the header is not a customer
                raise _too_many_rows(name, count - 1, limits.max_rows)
            if cells > limits.max_cells:
                raise _too_many_cells(name, cells, limits.max_cells)
            yield row


# -- parquet ------------------------------------------------------------------------------------------------

def _read_parquet(data: bytes, *, name: str, limits: _Limits) -> _Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(data))
        meta = file.metadata
    except MemoryError:
        raise
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError... for a damaged file
        raise DataFormatError(
            f"The file '{name}' looks like a Parquet file but cannot be read ({str(err)[:200]}). "
            "Write it again, or export the table as CSV.",
            code="bad_parquet", name=name,
        ) from err
    rows, columns = meta.num_rows, meta.num_columns
    if columns > limits.max_columns:
        raise _too_many_columns(name, columns, limits.max_columns)
    if rows > limits.max_rows:
        raise _too_many_rows(name, rows, limits.max_rows)
    if rows * columns > limits.max_cells:
        raise _too_many_cells(name, rows * columns, limits.max_cells)
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > _RATIO_EXEMPT_BYTES and unpacked / len(data) > MAX_RATIO:
        raise _archive_bomb(name, "row groups", round(unpacked / len(data)))
    for field in file.schema_arrow:
        if pa.types.is_nested(field.type):
            raise DataFormatError(
                f"The column '{field.name}' of the Parquet file '{name}' holds {field.type} values (lists or "
                "records), which a customer table cannot hold. Flatten it into plain columns, or leave it out.",
                code="nested_column", name=name, column=field.name, type=str(field.type),
            )
    try:
        table = file.read(use_threads=False)  # threads would each reserve address space under the guard
    except MemoryError:
        raise
    except Exception as err:
        raise DataFormatError(
            f"The file '{name}' looks like a Parquet file but cannot be read ({str(err)[:200]}). "
            "Write it again, or export the table as CSV.",
            code="bad_parquet", name=name,
        ) from err
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
        elif pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    frame = table.to_pandas(use_threads=False)
    frame.columns = _clean_names(frame.columns)
    counts = Counter(str(c).strip() for c in table.column_names)
    return _Parsed(frame=frame, file_format="parquet",
                   duplicate_columns=tuple(sorted(c for c, n in counts.items() if n > 1)))


# -- the memory guard -----------------------------------------------------------------------------------------

_CONTEXT_LOCK = threading.Lock()
_CONTEXT: multiprocessing.context.BaseContext | None = None


def _guard_available() -> bool:
    try:
        import resource  # noqa: F401  (POSIX only)
    except ImportError:
        return False
    return (_WorkerProcess is not None and "forkserver" in multiprocessing.get_all_start_methods()
            and os.path.exists("/proc/self/statm")
            and not multiprocessing.current_process().daemon)  # a daemonic process may not start one


def _needs_guard(data: bytes, name: str) -> bool:
    """Workbooks, archives and Parquet always (their size says little about their cost); big CSVs too."""
    return _guard_available() and (_kind(data, name) != "csv" or len(data) > GUARD_MIN_BYTES)


def _context() -> multiprocessing.context.BaseContext:
    """A forkserver: it imports pandas, openpyxl and pyarrow once, and each guarded read forks from it (~50 ms)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["churn_core._io", "openpyxl", "pyarrow.parquet", "pandas.io.parsers"])
            # Arrow's default allocator (mimalloc) reserves a 1 GB arena on first use, which the memory limit
            # counts; the server, and so every worker, uses the system allocator instead.
            previous = os.environ.get("ARROW_DEFAULT_MEMORY_POOL")
            os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
            try:
                _forkserver.ensure_running()
            finally:
                if previous is None:
                    del os.environ["ARROW_DEFAULT_MEMORY_POOL"]
                else:
                    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = previous
            _CONTEXT = context
        return _CONTEXT


try:  # POSIX only; elsewhere reads run in-process, without the guard
    from multiprocessing import forkserver as _forkserver
    from multiprocessing import popen_forkserver as _popen_forkserver
    from multiprocessing import reduction as _reduction
    from multiprocessing import spawn as _spawn
    from multiprocessing import util as _util
    from multiprocessing.context import ForkServerProcess as _ForkServerProcess
    from multiprocessing.context import set_spawning_popen as _set_spawning_popen
except ImportError:  # pragma: no cover
    _WorkerProcess = None
else:
    class _Popen(_popen_forkserver.Popen):
        """popen_forkserver.Popen without re-running the caller's main script in the worker.

        multiprocessing re-imports the main script in every child, so a script that calls read_table
        without an ``if __name__ == "__main__"`` guard would start a worker from the worker. The reading
        worker needs nothing from the main script.
        """

        def _launch(self, process_obj):  # popen_forkserver.Popen._launch, less the main module
            prep_data = _spawn.get_preparation_data(process_obj._name)
            prep_data.pop("init_main_from_path", None)
            prep_data.pop("init_main_from_name", None)
            buf = io.BytesIO()
            _set_spawning_popen(self)
            try:
                _reduction.dump(prep_data, buf)
                _reduction.dump(process_obj, buf)
            finally:
                _set_spawning_popen(None)
            self.sentinel, w = _forkserver.connect_to_new_process(self._fds)
            parent_w = os.dup(w)
            self.finalizer = _util.Finalize(self, _util.close_fds, (parent_w, self.sentinel))
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            self.pid = _forkserver.read_signed(self.sentinel)

    class _WorkerProcess(_ForkServerProcess):
        @staticmethod
        def _Popen(process_obj):
            return _Popen(process_obj)


def _guarded(func, args: tuple, *, name: str, n_bytes: int):
    """func(*args) in a worker process under a memory limit and READ_SECONDS; its errors are raised here."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    limit = GUARD_MEMORY_BYTES + GUARD_MEMORY_PER_BYTE * n_bytes
    worker = _WorkerProcess(target=_worker, args=(send, func, args, limit), daemon=True, name="churn-radar-read")
    worker.start()
    send.close()
    try:
        if not receive.poll(READ_SECONDS):
            raise DataFormatError(
                f"Reading the file '{name}' took more than {READ_SECONDS:g} seconds, so it was stopped. "
                "Save it as CSV (which reads fastest), or split it into smaller files.",
                code="read_too_slow", name=name, seconds=round(READ_SECONDS),
            )
        try:
            outcome = receive.recv()
        except (EOFError, OSError):
            outcome = ("crash", f"the reading process ended with code {worker.join(5) or worker.exitcode}")
    finally:
        if worker.is_alive():
            worker.kill()
        worker.join(5)
        receive.close()
    if outcome[0] == "ok":
        return outcome[1]
    if outcome[0] == "error":
        kind, message, code, params = outcome[1:]
        raise (ParameterError if kind == "ParameterError" else DataFormatError)(message, code=code, **params)
    if outcome[0] == "memory":
        raise DataFormatError(
            f"Reading the file '{name}' needed more than {_size_text(limit)} of memory, so it was stopped "
            "(the file expands far beyond its size). Save it again as CSV, or split it into smaller files.",
            code="read_out_of_memory", name=name, limit_mb=round(limit / 1024 / 1024),
        )
    logger.error("reading %s failed in the worker: %s", name, outcome[1])
    raise DataFormatError(
        f"The file '{name}' could not be read ({outcome[1]}). Save it again as CSV and upload that.",
        code="read_failed", name=name, detail=outcome[1],
    )


def _fewer_reservations() -> None:
    """The limit counts address space, not memory used: keep allocators and thread pools from reserving it.

    Each new thread gets a 64 MB malloc arena (128 MB reserved while it is aligned), and Arrow's allocator
    reserves large regions of its own; a parse needs neither.
    """
    import ctypes
    import ctypes.util

    import pyarrow as pa

    try:
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(-8, 1)  # M_ARENA_MAX (glibc)
    except (OSError, AttributeError, TypeError):
        pass
    pa.set_memory_pool(pa.system_memory_pool())
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _worker(conn, func, args: tuple, limit: int) -> None:
    """Runs in the worker process: sets the memory limit, parses, and sends back the result or the error."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        try:
            _fewer_reservations()
            in_use = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            cap = in_use + limit if hard == resource.RLIM_INFINITY else min(in_use + limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
            try:
                outcome: tuple = ("ok", func(*args))
            finally:
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        except ChurnCoreError as err:
            outcome = ("error", type(err).__name__, str(err), err.code, err.params)
        except MemoryError:
            outcome = ("memory",)
        except Exception as err:  # a bug or a parser's surprise: the parent says the file could not be read
            outcome = ("crash", f"{type(err).__name__}: {str(err)[:200]}")
        conn.send(outcome)
    finally:
        conn.close()


# -- CSV ------------------------------------------------------------------------------------------------------

def _clean_names(columns: pd.Index) -> list[str]:
    """Column names without surrounding spaces, kept unique the way pandas does ('a', 'a.1')."""
    return unique_names((str(column).strip() for column in columns), mark=lambda base, k: f"{base}.{k}")


def _read_csv(data: bytes, *, name: str, limits: _Limits) -> _Parsed:
    encoding = _detect_encoding(data, name=name)
    lines = _sample_lines(data, encoding)
    delimiter = _detect_delimiter(lines)
    rows = _split(lines, delimiter)
    header = (rows[0][1] or []) if rows else []
    if len(header) > limits.max_columns:
        raise _too_many_columns(name, len(header), limits.max_columns)
    _check_lines(data, name=name, width=max(len(header), 1), limits=limits)
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
    if len(frame) > limits.max_rows:
        raise _too_many_rows(name, len(frame), limits.max_rows)
    if frame.size > limits.max_cells:
        raise _too_many_cells(name, frame.size, limits.max_cells)
    frame.columns = _clean_names(frame.columns)
    if len(data) > MAX_CELL_CHARS:  # a shorter file cannot hold a longer cell
        _check_cell_lengths(frame, name=name)
    if delimiter != ",":
        _decimal_commas(frame, name=name)
    _huge_integers(frame, name=name)
    return _Parsed(frame=frame, file_format="csv", encoding=encoding, delimiter=delimiter, duplicate_columns=duplicates)


def _check_lines(data: bytes, *, name: str, width: int, limits: _Limits) -> None:
    """Refuse a line over MAX_LINE_BYTES, and a file whose lines times header fields exceed the cell limit,
    before the parser builds anything: a 200 MB file of commas is 100 million empty cells."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    newline = 10 if b"\n" in data or b"\r" not in data else 13  # old Mac files end lines with CR alone
    chunk = 16 * 1024 * 1024
    previous, count, longest, longest_at = -1, 0, 0, 1
    for start in range(0, len(buffer), chunk):
        ends = np.flatnonzero(buffer[start:start + chunk] == newline) + start
        if len(ends):
            lengths = np.diff(ends, prepend=previous) - 1
            at = int(lengths.argmax())
            if lengths[at] > longest:
                longest, longest_at = int(lengths[at]), count + at + 1
            count += len(ends)
            previous = int(ends[-1])
    if len(data) - previous - 1 > longest:
        longest, longest_at = len(data) - previous - 1, count + 1
    if longest > MAX_LINE_BYTES:
        raise DataFormatError(
            f"Line {longest_at} of the file '{name}' is {_size_text(longest)} long, over the limit of "
            f"{_size_text(MAX_LINE_BYTES)}. A customer table has short lines: check that the file really is a "
            "table with one customer a line, and save it again.",
            code="line_too_long", name=name, line=longest_at, length=longest, limit=MAX_LINE_BYTES,
        )
    lines = count + (previous < len(data) - 1)
    if lines - 1 > limits.max_rows:
        raise _too_many_rows(name, lines - 1, limits.max_rows)
    if (lines - 1) * width > limits.max_cells:
        raise _too_many_cells(name, (lines - 1) * width, limits.max_cells)


def _check_cell_lengths(frame: pd.DataFrame, *, name: str) -> None:
    for column in frame.columns:
        if frame[column].dtype.kind in "biufcmM":
            continue
        try:
            lengths = frame[column].str.len()
        except AttributeError:  # no text in this column
            continue
        longest = lengths.max()
        if pd.notna(longest) and longest > MAX_CELL_CHARS:
            row = int(lengths.fillna(0).to_numpy().argmax())
            raise _cell_too_long(name, f"column '{column}', row {row + 1}", int(longest))


_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")


def _decimal_commas(frame: pd.DataFrame, *, name: str) -> None:
    """Columns of numbers written with a decimal comma (4.165,00; 12,5) in a ';' or tab file, as numbers.

    A column is converted only when every value is such a number and at least one has the comma, so text
    (codes, dates like 01.02.2024) is left alone.
    """
    for column in frame.columns:
        if frame[column].dtype.kind in "biufcmMb":
            continue
        values = frame[column].dropna()
        sample = values.iloc[:1000]  # most text columns are ruled out here, cheaply
        if values.empty or not all(isinstance(v, str) for v in sample) or \
                not sample.str.strip().str.fullmatch(_DECIMAL_COMMA).all():
            continue
        if not all(isinstance(v, str) for v in values):
            continue
        text = values.str.strip()
        if not (text.str.fullmatch(_DECIMAL_COMMA).all() and text.str.contains(",", regex=False).any()):
            continue
        numbers = pd.to_numeric(text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        frame[column] = numbers.astype(float).reindex(frame.index)
        logger.info("%s: column %s read with a decimal comma", name, column)


def _huge_integers(frame: pd.DataFrame, *, name: str) -> None:
    """Integers beyond 64 bits (which no table library can hold) as text when they identify (all distinct),
    else as floats; left as Python ints, they break every later step, the page's preview first.

    pandas gives such a column as Python ints, or as text when negative values sit beside ones above
    int64 (nothing fits both); either way a repeating column is a measure, and becomes floats.
    """
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty:
            continue
        if frame[column].dtype == object:
            if not any(isinstance(v, int) and not -2**63 <= v < 2**63 for v in values):  # uint64 has a dtype
                continue
            numbers_only = all(isinstance(v, (int, float)) for v in values)
        elif pd.api.types.is_string_dtype(frame[column]):
            # Text made only of integers: pandas reads any integer that fits 64 bits as a number.
            if not (values.iloc[:1000].str.fullmatch(_INTEGER).all() and values.str.fullmatch(_INTEGER).all()):
                continue
            numbers_only = True
        else:
            continue
        if numbers_only and not values.is_unique:
            frame[column] = pd.to_numeric(frame[column].astype(object).map(
                lambda v: v if pd.isna(v) else float(v))).astype(float)
        elif frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: v if pd.isna(v) else str(v)).astype("str")
        else:
            continue  # already text: an id
        logger.info("%s: column %s holds integers beyond 64 bits, read as %s", name, column, frame[column].dtype)


_INTEGER = re.compile(r"[+-]?\d+")


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
