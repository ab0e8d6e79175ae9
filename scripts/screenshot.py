"""Full-page screenshots of every page of the app, in every language, with headless chromium.

Starts the app on a free loopback port with a throw-away database (or uses a running one with
``--url``), opens each page through Playwright, waits until Streamlit has finished running the
script and the charts are drawn, and saves ``<page>-<lang>.png`` per page and language.

Usage::

    python scripts/screenshot.py [--url http://127.0.0.1:8501] [--lang en zh] [--pages overview drivers]
                                 [--out artifacts/screenshots] [--width 1400] [-v]

Exit status: 0 when every screenshot was taken and no page showed an error, 1 otherwise (the PNGs
of pages that showed an error or exception are still written, so they can be looked at).

To add a page: one line in ``PAGES`` (its st.navigation URL path and its i18n nav key).
Uses the Debian chromium at /usr/bin/chromium (``--chromium``); Playwright never downloads one.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("screenshot")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LANGUAGES = ("en", "zh")
DB_ENV_VAR = "CHURN_RADAR_DB"


@dataclass(frozen=True)
class Page:
    """A page of the app: its URL path under st.navigation and the i18n key of its nav label.

    st.navigation derives the path from the page file name (pages/drivers.py -> /drivers); the
    default page lives at "/" only (/overview shows Streamlit's "Page not found" dialog).
    """

    path: str
    nav_key: str
    upload: str | None = None  # a repo file to put in the page's file uploader before the screenshot
    query: str = ""  # extra query parameters, e.g. "customer=12" to open a customer on the Risk page


PAGES: dict[str, Page] = {
    "overview": Page(path="", nav_key="nav.overview"),
    "drivers": Page(path="drivers", nav_key="nav.drivers"),
    "risk": Page(path="risk", nav_key="nav.risk", query="customer=2802"),  # critical, still a customer (bundled data)
    "roi": Page(path="roi", nav_key="nav.roi"),
    "roi-analyst": Page(path="roi", nav_key="nav.roi", query="mode=analyst"),
    "campaigns": Page(path="campaigns", nav_key="nav.campaigns"),
    "models": Page(path="models", nav_key="nav.models"),
    "data": Page(path="data", nav_key="nav.data", upload="data/telecom_churn.csv"),
}

# What "the app has finished running" means on the page.
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONTENT = ('[data-testid="stMain"] [data-testid="stMetric"], [data-testid="stMain"] .js-plotly-plot, '
           '[data-testid="stMain"] [data-testid="stFileUploader"], '
           '[data-testid="stMain"] [data-testid="stPageLink"]')  # a page that is empty yet points elsewhere
STATUS_WIDGET = '[data-testid="stStatusWidget"]'
PROBLEMS = ('[data-testid="stMain"] [data-testid="stException"], '
            '[data-testid="stMain"] [data-testid="stAlertContentError"]')


def nav_label(page: Page, lang: str) -> str:
    """The sidebar label of ``page`` in ``lang``, from the app's own string table (so renames need no edit here)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from ui.i18n import STRINGS

    return STRINGS[lang].get(page.nav_key) or STRINGS["en"][page.nav_key]


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, *, timeout: float = 90.0, proc: subprocess.Popen | None = None,
                    log_path: Path | None = None) -> None:
    """Poll ``url``/_stcore/health until it answers "ok"; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    health = url.rstrip("/") + "/_stcore/health"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path else ""
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before it was healthy:\n{tail}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(health, timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        time.sleep(0.25)
    raise TimeoutError(f"{health} did not answer 'ok' within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_app(workdir: Path, log_path: Path, *, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port with a fresh database in ``workdir``; output to ``log_path``.
    ``extra_args`` go to ``streamlit run`` (e.g. ``--secrets.files path`` for a server with sign-in)."""
    port = free_port()
    env = {**os.environ, DB_ENV_VAR: str(workdir / "churn.duckdb")}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", *extra_args]
    log.info("starting streamlit on port %d (database %s)", port, env[DB_ENV_VAR])
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc=proc, log_path=log_path)
        log.info("streamlit is healthy at %s", url)
        yield url
    finally:
        stop(proc)
        log.info("streamlit stopped (log: %s)", log_path)


# -- the browser --------------------------------------------------------------------------------


def wait_until_rendered(page, *, timeout_ms: int = 60_000) -> None:
    """Until the script has finished, the content is visible, the network is idle and charts are drawn."""
    page.wait_for_selector(CONTENT, state="visible", timeout=timeout_ms)
    page.wait_for_selector(APP_IDLE, timeout=timeout_ms)
    page.wait_for_load_state("networkidle", timeout=timeout_ms)
    page.wait_for_selector(STATUS_WIDGET, state="detached", timeout=timeout_ms)
    # Every plotly element has drawn its SVG (the map and heatmap can take a moment).
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(el => el.querySelector('.js-plotly-plot .main-svg'))""",
        timeout=timeout_ms)
    page.wait_for_selector(APP_IDLE, timeout=timeout_ms)
    page.wait_for_timeout(500)  # plotly's resize-to-container pass after the first draw


def full_page_screenshot(page, path: Path) -> None:
    """A full-page PNG. Streamlit scrolls inside its own container, so grow the viewport to fit it."""
    width = page.viewport_size["width"]
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
                          ...[...document.querySelectorAll('[data-testid="stAppViewContainer"], [data-testid="stMain"],'
                               + ' [data-testid="stSidebarContent"]')].map(el => el.scrollHeight))""")
    original = page.viewport_size
    if height > original["height"]:
        page.set_viewport_size({"width": width, "height": int(height)})
        page.wait_for_timeout(700)  # charts re-layout to the new size
        wait_until_rendered(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(original)


def shoot(browser, base_url: str, name: str, lang: str, out: Path, width: int) -> tuple[Path, list[str]]:
    """Open ``name`` in ``lang`` on a fresh session, check it is that page, save the PNG; return problems."""
    spec = PAGES[name]
    url = f"{base_url.rstrip('/')}/{spec.path}?lang={lang}" + (f"&{spec.query}" if spec.query else "")
    context = browser.new_context(viewport={"width": width, "height": 1000}, device_scale_factor=1,
                                  locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    # Not fatal (this machine may have no internet, e.g. plotly's US map loads its topojson from a CDN),
    # but a page that needs the network to draw should be known.
    page.on("requestfailed", lambda r: log.warning("%s-%s: request failed: %s (%s)", name, lang, r.url, r.failure))
    page.on("pageerror", lambda e: log.warning("%s-%s: javascript error: %s", name, lang, e))
    try:
        log.info("opening %s", url)
        page.goto(url, wait_until="domcontentloaded")
        wait_until_rendered(page)
        if spec.upload:
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                str(REPO_ROOT / spec.upload))
            page.wait_for_selector('[data-testid="stMain"] [data-testid="stDataFrame"] >> nth=0', timeout=60_000)
            page.wait_for_timeout(1000)
            wait_until_rendered(page)
        problems: list[str] = []
        if page.locator('[role="dialog"]').count():
            problems.append("dialog: " + " / ".join(page.locator('[role="dialog"]').all_inner_texts()))
        expected = nav_label(spec, lang)
        current = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
        shown = current.first.inner_text().splitlines()[-1].strip() if current.count() else "<none>"
        if shown != expected:
            problems.append(f"expected the {name!r} page ({expected!r} in the sidebar), got {shown!r}")
        problems += [f"error on page: {text.strip()[:300]}" for text in page.locator(PROBLEMS).all_inner_texts()]
        path = out / f"{name}-{lang}.png"
        full_page_screenshot(page, path)
        log.info("saved %s", path)
        return path, problems
    finally:
        context.close()


def take_screenshots(base_url: str, pages: list[str], languages: list[str], out: Path, width: int,
                     chromium: str = CHROMIUM) -> tuple[list[Path], list[str]]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved, problems = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            for name in pages:
                for lang in languages:
                    path, found = shoot(browser, base_url, name, lang, out, width)
                    saved.append(path)
                    problems += [f"{name}-{lang}: {p}" for p in found]
        finally:
            browser.close()
    return saved, problems


# -- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="use this running app instead of starting one (e.g. http://127.0.0.1:8501)")
    parser.add_argument("--lang", nargs="+", choices=LANGUAGES, default=list(LANGUAGES), help="languages")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES), help="pages")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--width", type=int, default=1400, help="viewport width in CSS pixels (default 1400)")
    parser.add_argument("--customer", help="the customer id the Risk page opens (default 2802, of the bundled data)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"chromium executable (default {CHROMIUM})")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def seed_trained(workdir: Path) -> Path:
    """Train and promote a champion on the bundled data in the throw-away database, so the Models
    page has a run to show (the same command a scheduled job would run)."""
    log.info("training a champion on the bundled data")
    bundled = REPO_ROOT / "data" / "telecom_churn.csv"
    subprocess.run([sys.executable, "-m", "churn_core", "train", "--data", str(bundled), "--promote",
                    "--db", str(workdir / "churn.duckdb")], cwd=REPO_ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return workdir


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not Path(args.chromium).is_file():
        log.error("%s is not installed (apt-get install chromium fonts-noto-cjk)", args.chromium)
        return 2
    started = time.monotonic()
    if args.customer:
        PAGES["risk"] = dataclasses.replace(PAGES["risk"], query=f"customer={args.customer}")
    if args.url:
        wait_for_health(args.url, timeout=10)
        saved, problems = take_screenshots(args.url, args.pages, args.lang, args.out, args.width, args.chromium)
    else:
        with tempfile.TemporaryDirectory(prefix="churn-radar-shots-") as tmp, \
                running_app(seed_trained(Path(tmp)), args.out / "streamlit.log") as url:
            saved, problems = take_screenshots(url, args.pages, args.lang, args.out, args.width, args.chromium)
    for problem in problems:
        log.error("%s", problem)
    log.info("%d screenshot(s) in %.1f s: %s", len(saved), time.monotonic() - started,
             ", ".join(str(p) for p in saved))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
