"""The analyst switches the active dataset between two schemas in a real browser, and the language twice:
every page shows the active data's own numbers, never the other dataset's, and nothing raises."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from screenshot import running_app

import churn_core as cc
from tests.conftest import bank_customers

from .conftest import SERVER_LOG
from .test_journeys import expect_no_errors, main, metric_value, sidebar

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

BANK_ROWS = 600


@pytest.fixture
def two_schemas_url(trained_template, tmp_path, request) -> Iterator[str]:
    """A server on the trained bundled data (v1, active, its champion) plus a bank export saved as v2."""
    shutil.copy(trained_template, tmp_path / "churn.duckdb")
    store = cc.Store(tmp_path / "churn.duckdb")
    frame = bank_customers(BANK_ROWS, seed=3)
    store.save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="bank.csv"), activate=False)
    log_path = tmp_path / "server.log"
    request.node.stash[SERVER_LOG] = log_path
    with running_app(tmp_path, log_path) as url:
        yield url


def idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def go(page, nav: str) -> None:
    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name=nav).click()
    idle(page)


def make_active(page, version: int, name: str, *, label: str, button: str) -> None:
    """The Data page's version picker, then its "Make active" button."""
    idle(page)
    main(page).get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=re.compile(rf"^v{version} · {name} ")).click()
    idle(page)
    main(page).get_by_role("button", name=button).click()
    expect(sidebar(page).get_by_text(re.compile(rf"{name} · (v|版本 ){version}"))).to_be_visible()


def language(page, lang: str, title: str) -> None:
    sidebar(page).get_by_test_id("stRadio").get_by_text(lang, exact=True).click()
    expect(main(page).locator("h1")).to_have_text(title)
    idle(page)


def test_switching_the_active_dataset_between_two_schemas(page, two_schemas_url):
    page.goto(f"{two_schemas_url}/overview")
    expect(metric_value(page, "Customers")).to_have_text("5,000")

    go(page, "Data")
    make_active(page, 2, "bank", label="Dataset version", button="Make active")
    go(page, "Overview")
    expect(metric_value(page, "Customers")).to_have_text(f"{BANK_ROWS:,}")
    expect(main(page).get_by_text("total_day_minutes")).to_have_count(0)
    language(page, "中文", "流失总览")
    expect(metric_value(page, "客户数")).to_have_text(f"{BANK_ROWS:,}")
    expect_no_errors(page)

    go(page, "风险")  # the telecom champion cannot score the bank's customers: it says so, and shows no scores
    expect(main(page).get_by_text(re.compile(r"无法为当前数据集 bank v2"))).to_be_visible()
    expect(main(page).get_by_test_id("stMetric")).to_have_count(0)
    expect_no_errors(page)

    go(page, "投资回报")
    expect(main(page).get_by_text(re.compile(r"而不是当前的 v2"))).to_be_visible()
    expect(main(page).get_by_text(re.compile(rf"^{BANK_ROWS:,} 位客户中"))).to_be_visible()
    expect(main(page).get_by_text(re.compile(r"^5,000 位客户中"))).to_have_count(0)
    expect_no_errors(page)

    language(page, "English", "Return on retention")
    go(page, "Data")
    make_active(page, 1, "telecom_churn", label="Dataset version", button="Make active")
    go(page, "Risk")  # its own champion again: scored in the background, then the list
    expect(metric_value(page, "Customers")).to_have_text("4,293", timeout=90_000)
    expect(main(page).get_by_text(re.compile("cannot score the active dataset"))).to_have_count(0)
    go(page, "Overview")
    expect(metric_value(page, "Customers")).to_have_text("5,000")
    language(page, "中文", "流失总览")
    expect(metric_value(page, "客户数")).to_have_text("5,000")
    expect_no_errors(page)
