"""Issue 14, no clipped labels: every page opens cleanly at 1440×900 on a trained champion, and the ROI
presentation's exports are above the fold at 1920×1080."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from screenshot import PAGES, PROBLEMS, running_app, seed_trained, wait_until_rendered

from .conftest import SERVER_LOG, UI_TIMEOUT_MS

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def trained_url(tmp_path_factory, request) -> Iterator[str]:
    """A server on a database with a champion trained on the bundled data (Risk and Models need one)."""
    workdir = tmp_path_factory.mktemp("trained")
    log_path = workdir / "server.log"
    request.config.stash[SERVER_LOG] = log_path
    with running_app(seed_trained(workdir), log_path) as url:
        yield url


def _open(browser, url: str, *, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url, wait_until="domcontentloaded")
    wait_until_rendered(page)
    return context, page


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_without_errors_at_1440(browser, trained_url, name):
    spec = PAGES[name]
    url = f"{trained_url}/{spec.path}" + (f"?{spec.query}" if spec.query else "")
    context, page = _open(browser, url, width=1440, height=900)
    try:
        expect(page.locator(PROBLEMS)).to_have_count(0)
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "pdf", "png"), [("en", "One-page PDF", "PNG"), ("zh", "单页 PDF", "PNG")],
                         ids=["english", "chinese"])
def test_roi_presentation_exports_are_above_the_fold_at_1920x1080(browser, trained_url, lang, pdf, png):
    context, page = _open(browser, f"{trained_url}/roi?lang={lang}", width=1920, height=1080)
    try:
        for label in (pdf, png):
            button = page.get_by_test_id("stMain").get_by_role("button", name=label, exact=True)
            expect(button).to_be_visible()
            box = button.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 1080, f"{label!r} is below the fold: {box}"
        expect(page.locator(PROBLEMS)).to_have_count(0)
    finally:
        context.close()
