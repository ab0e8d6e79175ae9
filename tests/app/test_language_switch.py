"""Switching the language twice on every page, with a trained champion: nothing breaks, every title follows."""

from __future__ import annotations

import pytest

from ui.i18n import text

PAGES = [  # (page file, its title key, the URL's ?mode=)
    pytest.param("pages/overview.py", "overview.title", None, id="overview"),
    pytest.param("pages/drivers.py", "drivers.title", None, id="drivers"),
    pytest.param("pages/risk.py", "risk.title", None, id="risk"),
    pytest.param("pages/roi.py", "roi.title", None, id="roi-presentation"),
    pytest.param("pages/roi.py", "roi.title", "analyst", id="roi-analyst"),
    pytest.param("pages/campaigns.py", "campaigns.title", None, id="campaigns"),
    pytest.param("pages/models.py", "models.title", None, id="models"),
    pytest.param("pages/data.py", "data.title", None, id="data"),
]


@pytest.mark.parametrize(("page", "title_key", "mode"), PAGES)
def test_switching_the_language_twice_keeps_every_page_whole(trained_app, page, title_key, mode):
    """en -> zh -> en -> zh: no exception (a widget value that was a worded label broke the second switch)."""
    if mode:
        trained_app.query_params["mode"] = mode
    at = trained_app.run().switch_page(page).run()
    assert not at.exception, at.exception
    assert at.title[0].value == text(title_key, lang="en")
    for lang in ("zh", "en", "zh"):
        at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, (lang, at.exception)
        assert at.title[0].value == text(title_key, lang=lang), lang
