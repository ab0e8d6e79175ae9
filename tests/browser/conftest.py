"""Browser journeys: the real Streamlit server, driven by headless chromium through Playwright.

Fixtures:
- ``app_server``: ``streamlit run app.py`` on a free loopback port with a fresh temp database
  (CHURN_RADAR_DB); waits for /_stcore/health, yields the base URL, terminates the server.
  One server per test session; its log is written to a file.
- ``browser``: sync Playwright chromium at /usr/bin/chromium (Playwright never downloads one).
  Missing chromium: a failure when $CI is set, a skip otherwise.
- ``app_url``: the base URL the journeys use.
- ``fresh_app_server``: a server of the test's own, for the first session after a start.
- ``page``: a fresh browser context and page per test (a new Streamlit session each time).

A failing test leaves ``artifacts/browser/<test>.png`` (the page) and ``<test>-server.log``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from screenshot import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

ARTIFACTS = ROOT / "artifacts" / "browser"
NO_CHROMIUM = "chromium is not installed; .ci/run installs it with apt-get"
# The first page load imports the bundled CSV into the new database and runs the analysis.
UI_TIMEOUT_MS = 30_000

SERVER_LOG = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the real server in headless chromium (Playwright)")


# -- the server: started the same way as scripts/screenshot.py starts it ------------------------------


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, request) -> Iterator[str]:
    """The base URL of a real server on a fresh database (seeded from the bundled CSV on first page load).

    Shared by the tests of a session; its log is ``server.log`` in a temp folder (copied to
    artifacts/browser/ when a test fails).
    """
    workdir = tmp_path_factory.mktemp("streamlit")
    log_path = workdir / "server.log"
    request.config.stash[SERVER_LOG] = log_path
    with running_app(workdir, log_path) as url:
        yield url


@pytest.fixture
def fresh_app_server(tmp_path, request) -> Iterator[str]:
    """A server of the test's own, never visited: for what happens in the first session after a start."""
    log_path = tmp_path / "server.log"
    request.node.stash[SERVER_LOG] = log_path
    with running_app(tmp_path, log_path) as url:
        yield url


ANALYST_PASSWORD = "journey-analyst-pw"


@pytest.fixture
def secured_app_server(tmp_path, request) -> Iterator[str]:
    """A fresh server whose secrets configure an analyst password (ANALYST_PASSWORD): viewers by default."""
    from argon2 import PasswordHasher

    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[roles]\nanalyst_password_hash = "{PasswordHasher().hash(ANALYST_PASSWORD)}"\n')
    log_path = tmp_path / "server.log"
    request.node.stash[SERVER_LOG] = log_path
    with running_app(tmp_path, log_path, extra_args=("--secrets.files", str(secrets))) as url:
        yield url


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def trained_demo_db(tmp_path_factory) -> Path:
    """The after-sales demo trained once for the session by the command line (``train --events ... --promote
    --models logistic_regression``, about 20 s); the journeys serve copies of it."""
    import subprocess
    import sys

    db = tmp_path_factory.mktemp("demo_template") / "churn.duckdb"
    data = ROOT / "data"
    done = subprocess.run(
        [sys.executable, "-m", "churn_core", "train", "--events", str(data / "aftersales_visits.csv.gz"),
         "--customers", str(data / "aftersales_customers.csv.gz"), "--promote", "--models", "logistic_regression",
         "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "champion: run 1 logistic_regression" in done.stdout
    return db


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(NO_CHROMIUM, pytrace=False)
        pytest.skip(NO_CHROMIUM)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        playwright_api.expect.set_options(timeout=UI_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    return context, page


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    """The base URL the journeys use (the shared server; deep links work from the first request)."""
    return app_server


@pytest.fixture
def page(browser):
    """A new page on a new context (so a new Streamlit session), its default timeouts raised."""
    context, page = _new_page(browser)
    try:
        yield page
    finally:
        context.close()


# -- artifacts of a failure ---------------------------------------------------------------------


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1]).strip("_")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        saved = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = _artifact_name(item)
        page = getattr(item, "funcargs", {}).get("page")
        if page is not None and not page.is_closed():
            try:
                # Streamlit scrolls inside stMain: grow the viewport so the PNG shows the whole page.
                height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 0")
                if height > page.viewport_size["height"]:
                    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height), 8000)})
                path = ARTIFACTS / f"{name}.png"
                page.screenshot(path=str(path), full_page=True, timeout=10_000)
                saved.append(path)
            except Exception as err:  # the test's own failure is what matters
                report.sections.append(("browser artifacts", f"screenshot failed: {err}"))
        log = item.stash.get(SERVER_LOG, None) or item.config.stash.get(SERVER_LOG, None)
        if log is not None and log.is_file():
            path = ARTIFACTS / f"{name}-server.log"
            shutil.copyfile(log, path)
            saved.append(path)
        if saved:
            report.sections.append(("browser artifacts", "\n".join(str(p) for p in saved)))
    return report
