"""User text (dataset, column and value names) is shown literally, never rendered as Markdown or HTML: a dataset
named like an image must not make every viewer's browser fetch a URL."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from ui.i18n import literal

IMAGE_NAME = "![x](http://127.0.0.1:9/p.png)"
HTML_COLUMN = "<img src=x>"
LINK_VALUE = "[click](http://127.0.0.1:9/v)"


def save_markup_dataset(db) -> None:
    """600 customers whose dataset name is a Markdown image, a column an HTML tag and a value a link, saved
    into the database ``db`` (active): the AppTests here and tests/browser/test_user_text.py read them."""
    rng = np.random.default_rng(3)
    n = 600
    plan = rng.choice([LINK_VALUE, "basic"], n)
    churn = np.where(plan == LINK_VALUE, rng.random(n) < 0.6, rng.random(n) < 0.05)
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)], HTML_COLUMN: plan,
                          "calls": rng.integers(0, 8, n), "churn": np.where(churn, "yes", "no")})
    dataset = cc.load_dataset(frame.to_csv(index=False).encode(), filename="hostile.csv")
    cc.Store(db).save_dataset(dataclasses.replace(dataset, name=IMAGE_NAME))


@pytest.fixture
def hostile_db(app_db):
    save_markup_dataset(app_db)
    return app_db


def markdown_sources(at) -> list[str]:
    """The Markdown source of every element drawn as Markdown (text, captions, alerts), sidebar included."""
    kinds = ("markdown", "caption", "title", "subheader", "header", "info", "warning", "error", "success")
    return [e.value for kind in kinds for e in getattr(at, kind)]


@pytest.mark.parametrize(("text", "shown"), [
    (IMAGE_NAME, "!\\[x\\](http\u2060\\://127.0.0.1\\:9/p.png)"),
    ("see www.example.com", "see www\u2060.example.com"),
    (HTML_COLUMN, r"\<img src=x\>"),
    ("a\n# heading", "a # heading"),  # no line break to start a block
    ("# heading", r"\# heading"), ("- item", r"\- item"), ("1. item", r"1\. item"), ("> quote", r"\> quote"),
    ("_it_ and *bold*", r"\_it\_ and \*bold\*"), (":red[x] $x$ `c`", r"\:red\[x\] \$x\$ \`c\`"),
    ("total_day_calls", "total_day_calls"), ("telecom_churn.csv", "telecom_churn.csv"),
    ("notes: text", "notes: text"), ("42.1%", "42.1%"), ("-5", "-5"), ("plain words 42", "plain words 42")])
def test_literal_escapes_what_markdown_and_html_would_use(text, shown):
    assert literal(text) == shown


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/drivers.py", "pages/data.py"])
def test_names_are_shown_literally_on_every_page(app, hostile_db, page):
    at = app.run()
    if page != "pages/overview.py":
        at = at.switch_page(page).run()
    assert not at.exception, at.exception
    sources = markdown_sources(at)
    joined = "\n".join(sources)
    for raw in (IMAGE_NAME, HTML_COLUMN, LINK_VALUE):
        assert raw not in joined  # never as live Markdown or HTML
    assert literal(IMAGE_NAME) in "\n".join(e.value for e in at.sidebar.markdown)  # shown, escaped


def test_column_and_value_names_reach_the_takeaways_escaped(app, hostile_db):
    at = app.run().switch_page("pages/drivers.py").run()
    joined = "\n".join(markdown_sources(at))
    assert literal(HTML_COLUMN) in joined
    assert literal(LINK_VALUE) in joined
