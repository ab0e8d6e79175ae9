"""Write the bundled after-sales demo: a synthetic dealer visit log and its customer table.

Runs ``churn_core.events.demo.generate_visits`` (seeded) and writes
``data/aftersales_visits.csv.gz`` and ``data/aftersales_customers.csv.gz``. The bytes
are deterministic: the same arguments give identical files (gzip header without a
file name or time stamp). See data/README.md, "After-sales demo".

Usage::

    python scripts/make_demo_data.py [--customers N] [--years Y] [--seed S] [--out-dir DIR] [-v]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import sys
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from churn_core.events.demo import generate_visits  # noqa: E402

log = logging.getLogger("make_demo_data")

VISITS_FILE = "aftersales_visits.csv.gz"
CUSTOMERS_FILE = "aftersales_customers.csv.gz"


def write_csv_gz(frame: pd.DataFrame, path: Path) -> int:
    """Write ``frame`` as gzip-compressed CSV with a fixed header; return the file size in bytes."""
    text = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                               compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    tmp.replace(path)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the synthetic after-sales demo visit log and customers.")
    parser.add_argument("--customers", type=int, default=20_000, help="number of customers (default 20000)")
    parser.add_argument("--years", type=int, default=3, help="years of visits (default 3)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "data", help="folder to write to (default data/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")

    demo = generate_visits(args.customers, years=args.years, seed=args.seed)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    visits = args.out_dir / VISITS_FILE
    customers = args.out_dir / CUSTOMERS_FILE
    v_size = write_csv_gz(demo.visits, visits)
    c_size = write_csv_gz(demo.customers, customers)
    print(f"Wrote {len(demo.visits)} visits to {visits} ({v_size / 1e6:.2f} MB) and "
          f"{len(demo.customers)} customers to {customers} ({c_size / 1e6:.2f} MB); "
          f"{demo.start} to {demo.end}, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
