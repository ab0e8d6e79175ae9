"""A retention campaign in a real browser, on the after-sales demo: the director launches it from the Risk page's
list, the demo plays the calls and the next months of visits forward, and the Campaigns page reports the measured
uplift with its interval, in English and Chinese (switching twice); the ROI page's measured scenario shows the
campaign's own figures (issue 17's done-when)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import churn_core as cc
from churn_core.campaigns import report

from .conftest import SERVER_LOG
from .test_events_journeys import go, idle, language, trained_demo_server
from .test_journeys import expect_no_errors, main, metric_value

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, trained_demo_db) -> Iterator[tuple[str, Path, Path]]:
    """A server of its own on the after-sales demo with a logistic regression champion (campaigns change it)."""
    with trained_demo_server(tmp_path_factory.mktemp("campaign"), trained_demo_db) as served:
        yield served


def test_director_launches_a_campaign_and_reads_its_measured_uplift(page, demo_server, request, tmp_path):
    url, log_path, db = demo_server
    request.node.stash[SERVER_LOG] = log_path
    page.goto(f"{url}/risk")
    expect(main(page).locator("h1")).to_have_text("Customers at risk")
    idle(page)

    # Risk: create a campaign from the list (critical and high by default), see the detectable uplift, launch.
    main(page).get_by_text("Create a campaign from this list").click()
    name = main(page).get_by_label("Campaign name")
    name.fill("October call-back")
    name.press("Enter")
    idle(page)
    expect(main(page).get_by_text("at 80% power")).to_be_visible()
    main(page).get_by_text("at 80% power").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "risk-campaign-en.png"))
    main(page).get_by_role("button", name="Launch campaign").click()
    expect(main(page).get_by_text("Campaign 1 “October call-back” is launched")).to_be_visible(timeout=60_000)
    store = cc.Store(db)
    campaign = store.campaign(1)
    assert campaign.as_of is not None and campaign.window_days == 240
    assert abs(campaign.n_control / (campaign.n_contact + campaign.n_control) - 0.2) < 0.01
    expect_no_errors(page)

    # Campaigns: the demo plays the calls and the next months forward; the page measures the effect.
    go(page, "Campaigns", "Campaigns")
    expect(main(page).get_by_text("No results yet: record outcomes")).to_be_visible()
    main(page).get_by_role("button", name="Simulate the next months (demo only)").click()
    expect(main(page).get_by_text("The simulation's true effect was")).to_be_visible(timeout=120_000)
    idle(page)
    measured = report(store, 1)
    assert measured.finished and measured.verdict == "saved"
    saved = measured.customers_saved
    expect(main(page).get_by_text(f"Calling saved {round(saved.estimate):,} customers (95% interval "
                                  f"{round(saved.low):,}–{round(saved.high):,})")).to_be_visible()
    expect(metric_value(page, "Contacted churn rate")).to_have_text(f"{measured.contacted.churn_rate:.1%}")
    expect(metric_value(page, "Control churn rate")).to_have_text(f"{measured.control.churn_rate:.1%}")
    uplift = f"{measured.uplift.estimate * 100:+.1f} pts"
    expect(metric_value(page, "Uplift (churn points avoided)")).to_have_text(uplift)
    expect(main(page).get_by_text(f"95% interval: {measured.uplift.low * 100:+.1f} to "
                                  f"{measured.uplift.high * 100:+.1f}")).to_be_visible()
    expect_no_errors(page)
    page.screenshot(path=str(tmp_path / "campaigns-en.png"), full_page=True)

    # Chinese, English, Chinese again: the same figures, worded.
    language(page, "中文", "挽留活动")
    expect(main(page).get_by_text(f"联系挽回了 {round(saved.estimate):,} 位客户")).to_be_visible()
    expect(metric_value(page, "联系组流失率")).to_have_text(f"{measured.contacted.churn_rate:.1%}")
    language(page, "English", "Campaigns")
    expect(main(page).get_by_text(f"Calling saved {round(saved.estimate):,} customers")).to_be_visible()
    language(page, "中文", "挽留活动")
    expect(main(page).get_by_text("试点记分卡与行动手册目标")).to_be_visible()
    expect_no_errors(page)
    language(page, "English", "Campaigns")

    # ROI: the measured scenario is the campaign as it ran.
    go(page, "ROI", "Return on retention")
    main(page).get_by_test_id("stSelectbox").filter(has_text="Start from").click()
    page.get_by_role("option", name="Measured: campaign “October call-back”").click()
    idle(page)
    expect(metric_value(page, "Customers saved")).to_have_text(f"{round(saved.estimate):,}")
    expect_no_errors(page)
    page.screenshot(path=str(tmp_path / "roi-measured-en.png"), full_page=True)
