"""Hostile uploads generated at test time: bombs that are a few KB on disk, a far-corner cell, locale numbers.

They are too big unpacked (or depend too much on the zlib build) to commit beside the fuzz corpus in
tests/fixtures/bad_uploads/, so each is built here, small, when a test asks for it. HOSTILE lists the ones
that tests/test_bad_uploads_core.py and tests/app/test_bad_uploads.py push through the CLI and the Data page,
with the error code each must be refused with (or None when it must load).
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_XLSM_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def customers(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(1, n + 1)],
        "plan": ["basic" if i % 3 else "premium" for i in range(n)],
        "service_calls": [i % 6 for i in range(n)],
        "monthly_charges": [round(20 + (i * 7.3) % 80, 2) for i in range(n)],
        "churn": ["yes" if i % 4 == 0 else "no" for i in range(n)],
    })


def workbook(frame: pd.DataFrame | None = None, *, far_cell: str | None = None, far_value: object = "x") -> bytes:
    """An .xlsx of ``frame`` (default: 40 customers) on the sheet Customers, with an optional far cell."""
    import openpyxl
    from openpyxl.styles import Font

    frame = customers() if frame is None else frame
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Customers"
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    if far_cell is not None:
        sheet[far_cell] = far_value
        sheet[far_cell].font = Font(bold=True)  # formatted even when empty
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, changes: dict[str, bytes | Callable[[bytes], bytes]]) -> bytes:
    """The ZIP ``data`` with parts replaced (bytes), rewritten (a function of the old bytes) or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in source.namelist():
            body = source.read(name)
            change = changes.get(name)
            archive.writestr(name, change(body) if callable(change) else body if change is None else change)
        for name, change in changes.items():
            if name not in source.namelist():
                archive.writestr(name, change)
    return out.getvalue()


def shared_strings_bomb(unpacked: int = 16 * 1024 * 1024) -> bytes:
    """A valid workbook whose shared-strings part is ~20 KB packed and ``unpacked`` bytes unpacked (~1000x)."""
    item = b"<si><t>" + b"A" * 4000 + b"</t></si>"
    count = unpacked // len(item)
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
           % (count, count) + item * count + b"</sst>")
    return rezip(workbook(), {
        "xl/sharedStrings.xml": sst,
        "[Content_Types].xml": lambda body: body.replace(
            b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/></Types>'.encode()),
        "xl/_rels/workbook.xml.rels": lambda body: body.replace(
            b"</Relationships>",
            f'<Relationship Type="{_SST_REL}" Target="sharedStrings.xml" Id="rId99"/></Relationships>'.encode()),
    })


def declared_dimension(ref: str = "A1:XFD1048576") -> bytes:
    """A 40-customer workbook whose sheet declares the whole grid as its dimension."""
    import re

    return rezip(workbook(), {"xl/worksheets/sheet1.xml": lambda body: re.sub(
        rb'<dimension ref="[^"]+"', f'<dimension ref="{ref}"'.encode(), body)})


def xlsm(frame: pd.DataFrame | None = None) -> bytes:
    """A macro-enabled workbook: the xlsm content type and a VBA project part (never run, only skipped)."""
    return rezip(workbook(frame), {
        "[Content_Types].xml": lambda body: body.replace(_XLSX_TYPE.encode(), _XLSM_TYPE.encode()).replace(
            b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>'),
        "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b'Sub AutoOpen(): Shell "calc.exe": End Sub' * 8,
    })


def gzip_bomb(unpacked: int = 32 * 1024 * 1024) -> bytes:
    """A .csv.gz of a valid header and ``unpacked`` bytes of identical rows (~1000x packed)."""
    header = b"customer_id,plan,service_calls,churn\n"
    row = b"C1,basic,1,no\n"
    return gzip.compress(header + row * (unpacked // len(row)), compresslevel=9, mtime=0)


def csv_gz(frame: pd.DataFrame | None = None) -> bytes:
    return gzip.compress((customers() if frame is None else frame).to_csv(index=False).encode(), mtime=0)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def parquet(frame: pd.DataFrame | None = None) -> bytes:
    buffer = io.BytesIO()
    (customers() if frame is None else frame).to_parquet(buffer, index=False)
    return buffer.getvalue()


def long_line(length: int = 9 * 1024 * 1024) -> bytes:
    """A header, one customer, then one line of ``length`` bytes with no line break (no cell limit is reached
    first: the line is checked before parsing)."""
    return b"customer_id,note,churn\nC1,short,no\nC2," + b"x" * length + b",yes\n"


def long_cell(length: int = 3 * 1024 * 1024) -> bytes:
    return b"customer_id,note,churn\nC1,short,no\nC2," + b"x" * length + b",yes\nC3,short,no\n"


def sparse_csv(columns: int = 1000, rows: int = 26_000) -> bytes:
    """Only delimiters: a few bytes a cell, so rows x columns passes the cell limit long before the byte limit."""
    return (",".join(f"c{i}" for i in range(columns)) + "\n" + ("," * (columns - 1) + "\n") * rows).encode()


def decimal_commas() -> bytes:
    """A German/French Excel export: ';' separated, '.' groups thousands and ',' marks decimals."""
    lines = ["Kundennummer;Tarif;Umsatz;Gebühr;Anrufe;Stichtag;churn"]
    lines += [f"K{i:03d};{'Basis' if i % 2 else 'Plus'};{(4165 + 37 * i) // 1000}.{(4165 + 37 * i) % 1000:03d},"
              f"{i % 100:02d};{12 + i % 7},{i % 10}5;{i % 5};0{1 + i % 9}.02.2024;{'yes' if i % 4 == 0 else 'no'}"
              for i in range(40)]
    return ("\n".join(lines) + "\n").encode()


def huge_integers() -> bytes:
    """A 30-digit id (all distinct) and a 30-digit measure (repeating), as some billing systems export."""
    lines = ["account_id,balance_units,plan,service_calls,churn"]
    lines += [f"{10**29 + i * 7919},{(i % 3 + 1) * 10**29},{'basic' if i % 3 else 'plus'},{i % 5},"
              f"{'yes' if i % 4 == 0 else 'no'}" for i in range(40)]
    return ("\n".join(lines) + "\n").encode()


def bare_cr_in_quotes() -> bytes:
    """A note holding a bare carriage return inside its quotes (a Mac-era line break pasted into a cell)."""
    lines = ["customer_id,note,service_calls,churn"]
    lines += [f'C{i:03d},"first line\rsecond line {i}",{i % 5},{"yes" if i % 4 == 0 else "no"}' for i in range(40)]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True)
class Hostile:
    """A generated upload and the error code it must be refused with (None: it must load)."""

    file: str
    problem: str
    make: Callable[[], bytes]
    code: str | None


HOSTILE = [
    Hostile("shared_strings_bomb.xlsx", "shared strings ~20 KB packed, 16 MB unpacked", shared_strings_bomb,
            "archive_bomb"),
    Hostile("far_corner_cell.xlsx", "40 customers and a value in cell XFD1048576",
            lambda: workbook(far_cell="XFD1048576"), "far_cell"),
    Hostile("declared_whole_grid.xlsx", "40 customers; the sheet declares A1:XFD1048576 as its dimension",
            declared_dimension, None),
    Hostile("formatted_far_cell.xlsx", "40 customers and an empty but formatted cell XFD1048576",
            lambda: workbook(far_cell="XFD1048576", far_value=None), None),
    Hostile("gzip_bomb.csv.gz", "a .csv.gz of ~70 KB holding 32 MB of identical rows", gzip_bomb, "archive_bomb"),
    Hostile("long_line.csv", "one 9 MB line without a line break", long_line, "line_too_long"),
    Hostile("long_cell.csv", "one 3 MB cell", long_cell, "cell_too_long"),
    Hostile("sparse.csv", "26 MB of delimiters only: 26 million empty cells", sparse_csv, "too_many_cells"),
    Hostile("customers.xlsm", "a macro-enabled workbook (the macro is never run)", xlsm, None),
    Hostile("customers.csv.gz", "a gzip-compressed CSV", csv_gz, None),
    Hostile("customers.zip", "a ZIP of one CSV", lambda: zip_of({"customers.csv": customers().to_csv(index=False)
                                                                  .encode()}), None),
    Hostile("customers.parquet", "a Parquet file", parquet, None),
    Hostile("decimal_commas.csv", "';' separated with decimal commas (4.165,00)", decimal_commas, None),
    Hostile("huge_integers.csv", "30-digit ids and a 30-digit measure", huge_integers, None),
    Hostile("bare_cr.csv", "a bare carriage return inside quoted notes", bare_cr_in_quotes, None),
]


def allocate(n_bytes: int) -> int:
    """Run in the reading worker by the guard's test: allocates ``n_bytes`` and touches them."""
    block = bytearray(n_bytes)
    return len(block)
