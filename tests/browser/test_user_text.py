"""A dataset named like a Markdown image and a column named like an HTML tag, in a real browser: shown as text, and
the browser never fetches the URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from screenshot import running_app

from tests.app.test_user_text import IMAGE_NAME, save_markup_dataset

from .conftest import SERVER_LOG
from .test_dataset_switch import idle

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def hostile_url(tmp_path, request) -> Iterator[str]:
    save_markup_dataset(tmp_path / "churn.duckdb")
    log_path = tmp_path / "server.log"
    request.node.stash[SERVER_LOG] = log_path
    with running_app(tmp_path, log_path) as url:
        yield url


@pytest.mark.parametrize("path", ["", "drivers"])
def test_names_are_text_and_no_url_is_fetched(page, hostile_url, path):
    fetched: list[str] = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(f"{hostile_url}/{path}")
    idle(page)
    sidebar = page.get_by_test_id("stSidebar").inner_text().replace("\u2060", "")  # the invisible word joiner
    assert IMAGE_NAME in sidebar  # the name, as typed
    assert page.locator('img[src*="127.0.0.1:9"]').count() == 0
    assert page.locator('a[href*="127.0.0.1:9"]').count() == 0
    assert page.locator('img[src="x"]').count() == 0
    assert not [url for url in fetched if "127.0.0.1:9/" in url], fetched
