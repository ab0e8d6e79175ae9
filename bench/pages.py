"""Benchmark: server-side time of each page's warm rerun, on the bundled data and at 200k rows.

    python bench/pages.py [--rows 200000] [--reruns 15] [--skip-cold] [--cold-runs 3]

For each dataset (the bundled 5,000 customers, then seeded synthetic customers at ``--rows``), a
throw-away database gets the dataset and an XGBoost champion (trained on a sample; training is
bench/train.py's subject). Each page is opened with ``streamlit.testing.v1.AppTest`` through app.py
(the first run computes and caches), then rerun ``--reruns`` times unchanged. The page's warm rerun
is the median server-side time of those reruns: the script run itself (ScriptRunner._run_script, from
start to the last element sent), timed inside its thread. AppTest's own wall time is shown beside it; it
adds the harness (a 1 ms polling loop that holds the GIL against the script, then parsing the element
tree), more the more elements a page has. The baseline is an empty page in the app's shell (bench/empty_app.py: the
same page config, sidebar and navigation, no content), timed the same way in the same process; a
bare one-line script is shown too. The "vs empty" column is against the shell.

Cold start: ``streamlit run app.py`` on a free port with a fresh database, timed until the Overview
is drawn in headless chromium (first request seeds the database with the bundled CSV); the median of
``--cold-runs`` starts, with the range.

Before the pages are opened, the active dataset is scored and explained as a promotion does it (in the
app, a background thread): that time is shown apart, with its CPU time. The Risk page then only reads the
stored scores; its first run is the director's first visit (target: under 3 s at 200k rows on 2 cores).

Targets: each page's warm rerun within 3x the empty page, and under 300 ms at 200k rows; cold start
to the first page under 5 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before OpenMP loads: idle threads sleep, not spin

import churn_core as cc  # noqa: E402

PAGES = ("overview", "drivers", "risk", "roi", "models", "data")
EMPTY = "import streamlit as st\nst.title('Empty page')\n"


def bundled_store(folder: Path) -> cc.Store:
    store = cc.Store(folder / "bench.duckdb")
    version = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV)).version
    cc.run_training(store, store.load_dataset(version), promote=True, models=("xgboost",), cv_folds=2,
                    artifact_root=folder / "models")
    return store


def synthetic_store(folder: Path, rows: int) -> cc.Store:
    from explain import champion_store

    store, _ = champion_store(folder, rows, "xgboost")
    return store


_SCRIPT_SECONDS: list[float] = []


def _time_script_runs() -> None:
    """Record how long each script run takes on the server side: ScriptRunner._run_script, in its own
    thread, from the rerun request to the last element sent. AppTest's wall time adds its harness (it
    polls every millisecond for the run's end, holding the GIL against the script, then parses the
    element tree), which grows with the number of elements, so both are shown."""
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner.ScriptRunner, "_bench_timed", False):
        return
    original = script_runner.ScriptRunner._run_script

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            _SCRIPT_SECONDS.append(time.perf_counter() - start)

    script_runner.ScriptRunner._run_script = timed
    script_runner.ScriptRunner._bench_timed = True


def warm_ms(make, *, reruns: int) -> tuple[float, float, float, float]:
    """(first run, its CPU time, median warm rerun's server-side script time, median warm rerun's AppTest wall
    time) in milliseconds for the AppTest ``make()`` returns, run as it is."""
    _time_script_runs()
    at = make()
    start, cpu = time.perf_counter(), time.process_time()
    at.run()
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    if at.exception:
        raise RuntimeError(f"the page raised: {at.exception}")
    at.run()  # the first rerun may still fill a cache the first run left (a widget's default)
    times, scripts = [], []
    for _ in range(reruns):
        _SCRIPT_SECONDS.clear()
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        scripts.append(sum(_SCRIPT_SECONDS))
    return first * 1000, first_cpu * 1000, statistics.median(scripts) * 1000, statistics.median(times) * 1000


def page_test(page: str):
    from streamlit.testing.v1 import AppTest

    def make():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        if page != "overview":
            at.run()
            at.switch_page(f"pages/{page}.py")
        return at
    return make


def measure(label: str, store: cc.Store, *, reruns: int, pages=PAGES) -> list[tuple[str, ...]]:
    from streamlit.testing.v1 import AppTest

    os.environ[cc.store.ENV_VAR] = str(store.path)
    start, cpu = time.perf_counter(), time.process_time()
    scored = cc.score_dataset(store.load_dataset(), store=store)  # what a promotion does in the background
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    rows = [(label, f"(scoring + reasons on promotion: {scored.explained:,} explained)", f"{wall_s * 1000:.0f}",
             f"{cpu_s * 1000:.0f}", "–", "–", "–")]
    _, _, bare, bare_wall = warm_ms(lambda: AppTest.from_string(EMPTY), reruns=reruns)
    _, _, shell, shell_wall = warm_ms(
        lambda: AppTest.from_file(str(ROOT / "bench" / "empty_app.py"), default_timeout=600), reruns=reruns)
    rows += [(label, "(empty script)", "–", "–", f"{bare:.0f}", f"{bare / shell:.1f}x", f"{bare_wall:.0f}"),
             (label, "(empty page in the app's shell)", "–", "–", f"{shell:.0f}", "1.0x", f"{shell_wall:.0f}")]
    for page in pages:
        first, first_cpu, warm, wall = warm_ms(page_test(page), reruns=reruns)
        rows.append((label, page, f"{first:.0f}", f"{first_cpu:.0f}", f"{warm:.0f}", f"{warm / shell:.1f}x",
                     f"{wall:.0f}"))
    return rows


def cold_start_s() -> tuple[float, float, float]:
    """Seconds from `streamlit run` (fresh database) to: the server answering its health check, the
    Overview's KPIs shown in chromium, and every chart drawn."""
    from playwright.sync_api import sync_playwright
    from screenshot import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_rendered

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        start = time.perf_counter()
        with running_app(Path(folder), Path(folder) / "server.log") as url:
            healthy = time.perf_counter() - start
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
            kpis = time.perf_counter() - start
            wait_until_rendered(page)
            drawn = time.perf_counter() - start
        browser.close()
    return healthy, kpis, drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--reruns", type=int, default=15)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES), help="which pages to time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows += measure("bundled 5,000", bundled_store(Path(folder)), reruns=args.reruns, pages=args.pages)
    with tempfile.TemporaryDirectory() as folder:
        rows += measure(f"synthetic {args.rows:,}", synthetic_store(Path(folder), args.rows), reruns=args.reruns,
                        pages=args.pages)
    head = ("data", "page", "first run ms", "first run CPU ms", "warm rerun ms (server)", "vs empty shell",
            "AppTest wall ms")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
              + " |")
    if not args.skip_cold:
        runs = [cold_start_s() for _ in range(args.cold_runs)]
        print(f"\ncold start (streamlit run, fresh database), median of {len(runs)} (range):")
        for i, what in enumerate(("server healthy", "Overview KPIs shown", "every chart drawn")):
            values = [r[i] for r in runs]
            print(f"  {what}: {statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
