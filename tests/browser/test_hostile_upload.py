"""A hostile upload costs only its own session: while one analyst uploads workbook bombs, another person's
session keeps drawing pages, and the uploader gets a message, not a traceback."""

from __future__ import annotations

import re

import pytest

from tests import hostile_files as hf

from .conftest import _new_page
from .test_journeys import expect_no_errors, main, metric_value, sidebar

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


def test_other_sessions_keep_working_while_bombs_are_uploaded(browser, app_url, tmp_path):
    bombs = {
        "bomb.xlsx": hf.shared_strings_bomb(64 * 1024 ** 2),  # about 100 KB on disk, 64 MB unpacked
        "far_corner.xlsx": hf.workbook(far_cell="XFD1048576"),
        "gzip_bomb.csv.gz": hf.gzip_bomb(),
    }
    for name, data in bombs.items():
        (tmp_path / name).write_bytes(data)

    uploader_context, uploader = _new_page(browser)
    viewer_context, viewer = _new_page(browser)
    try:
        uploader.goto(f"{app_url}/data")
        expect(main(uploader).locator("h1")).to_have_text("Data")
        viewer.goto(app_url)  # the Overview is the default page, at the root
        expect(metric_value(viewer, "Customers")).to_have_text("5,000")

        drawn = []  # the other session's page loads while the bombs are read, each within the timeout

        def browse() -> None:
            viewer.bring_to_front()
            for lang, title in (("中文", "流失总览"), ("English", "Churn overview")) * 2:
                sidebar(viewer).get_by_test_id("stRadio").get_by_text(lang, exact=True).click()
                expect(main(viewer).locator("h1")).to_have_text(title, timeout=20_000)
                drawn.append(lang)

        for name in bombs:
            uploader.bring_to_front()
            field = main(uploader).get_by_test_id("stFileUploader").locator('input[type="file"]')
            field.set_input_files(str(tmp_path / name))
            # Playwright's sync API is one thread: the other page is driven between the uploads' steps
            browse()
            uploader.bring_to_front()
            expect(main(uploader).get_by_test_id("stAlertContentError").first).to_be_visible(timeout=60_000)
            expect(main(uploader).get_by_test_id("stException")).to_have_count(0)
            assert re.search(r"refused|far|too", main(uploader).get_by_test_id("stAlertContentError").first
                             .inner_text())
        assert len(drawn) == 4 * len(bombs)
        expect(metric_value(viewer, "Customers")).to_have_text("5,000")
        expect_no_errors(viewer)
    finally:
        uploader_context.close()
        viewer_context.close()
