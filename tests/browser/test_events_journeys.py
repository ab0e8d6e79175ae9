"""The after-sales visit log in a real browser, in English and Chinese: the director picks the demo and reads
Overview, Drivers and Risk; the analyst uploads the log and its customer table, saves, trains and reads the
out-of-time verdict; the executive presents the ROI and exports its one page.

Risk and ROI need a champion: a database trained once per module with the command line
(``python -m churn_core train --events ... --promote --models logistic_regression``, about 20 s), then served.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from screenshot import running_app

from tests.conftest import copy_db

from .conftest import ROOT, SERVER_LOG
from .test_journeys import chart_title, expect_no_errors, main, metric_value, sidebar

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

VISITS = ROOT / "data" / "aftersales_visits.csv.gz"
CUSTOMERS = ROOT / "data" / "aftersales_customers.csv.gz"
SCORED = "16,008"  # customers with a visit in the 365 days before the log's last day, 2026-09-30
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@contextlib.contextmanager
def trained_demo_server(workdir: Path, template: Path) -> Iterator[tuple[str, Path, Path]]:
    """A server on a copy of ``template`` (the session's trained after-sales database: the demo as v1, active, and
    run 1, its logistic regression promoted, as the command line leaves it). Yields the base URL, the server log
    and the database."""
    db = copy_db(template, workdir)
    log_path = workdir / "server.log"
    with running_app(workdir, log_path) as url:
        yield url, log_path, db


@pytest.fixture(scope="module")
def events_server(tmp_path_factory, trained_demo_db) -> Iterator[tuple[str, Path]]:
    """The trained after-sales server (trained_demo_server): its base URL and log."""
    with trained_demo_server(tmp_path_factory.mktemp("events"), trained_demo_db) as (url, log_path, _):
        yield url, log_path


@pytest.fixture
def events_url(events_server, request) -> str:
    """The trained after-sales server's URL; a failing test gets its log as an artifact."""
    url, log_path = events_server
    request.node.stash[SERVER_LOG] = log_path
    return url


def idle(page) -> None:
    page.wait_for_selector(IDLE)


def language(page, lang: str, title: str) -> None:
    """The sidebar's language switch; ``title`` is the page's h1 in that language."""
    idle(page)
    sidebar(page).get_by_test_id("stRadio").get_by_text(lang, exact=True).click()
    expect(main(page).locator("h1")).to_have_text(title)
    idle(page)


def go(page, nav: str, title: str) -> None:
    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name=nav).click()
    expect(main(page).locator("h1")).to_have_text(title)
    idle(page)


def test_director_picks_the_aftersales_demo_and_reads_it(page, fresh_app_server, events_url):
    # A fresh server: the first screen offers both demos; the after-sales one becomes the active dataset.
    page.goto(fresh_app_server)
    expect(main(page).locator("h1")).to_have_text("Churn overview")
    picker = main(page).locator(".st-key-demo_picker")
    expect(picker.get_by_text("Try a demo:")).to_be_visible()
    expect(picker.get_by_role("button", name="Telecom customers (snapshot)")).to_be_visible()
    idle(page)
    picker.get_by_role("button", name="After-sales visits (event log)").click()
    expect(sidebar(page).get_by_text(re.compile(r"aftersales_demo · v2"))).to_be_visible(timeout=120_000)

    # Overview on the visit log: the population line, lifecycle, RFM segments and the cohort chart.
    expect(main(page).get_by_text(re.compile(r"^Visit log: churn means no visit in the 240 days after \d{4}-\d\d-\d\d"))
           ).to_be_visible(timeout=60_000)
    expect(main(page).get_by_text("Lifecycle and recency", exact=True)).to_be_visible()
    expect(main(page).get_by_text("RFM segments", exact=True)).to_be_visible()
    rfm = main(page).get_by_test_id("stDataFrame").or_(main(page).get_by_test_id("stTable"))
    expect(rfm.first).to_be_visible()
    expect(chart_title(page, "Cohort retention: share who visit, by time since the first visit")).to_be_visible()
    expect(main(page).locator(".st-key-demo_picker")).to_have_count(0)  # no longer a first visit
    expect_no_errors(page)

    # In Chinese, then Drivers in Chinese, then back to English.
    language(page, "中文", "流失总览")
    expect(main(page).get_by_text(re.compile(r"^到店记录：流失指 \d{4}-\d\d-\d\d 之后 240 天内没有到店"))
           ).to_be_visible()
    expect(main(page).get_by_text("RFM 客户分群", exact=True)).to_be_visible()
    expect(chart_title(page, "同期群留存：按首次到店后时间的到店比例")).to_be_visible()
    go(page, "驱动因素", "流失驱动因素")
    expect(main(page).get_by_role("heading", name="驱动因素排序")).to_be_visible()
    expect(main(page).locator(".js-plotly-plot").first).to_be_visible()
    expect_no_errors(page)
    language(page, "English", "Churn drivers")
    expect(main(page).get_by_role("heading", name="Driver ranking")).to_be_visible()
    expect_no_errors(page)

    # Risk needs a champion: the database the command line trained and promoted.
    page.goto(f"{events_url}/risk")
    expect(main(page).locator("h1")).to_have_text("Customers at risk")
    expect(main(page).get_by_text(re.compile(
        r"^As of 2026-09-30: the probability of no visit in the next 240 days, for the 16,008 customers"))
    ).to_be_visible(timeout=90_000)
    expect(main(page).get_by_role("button", name="Lapsed customers (CSV)")).to_be_visible()
    expect(metric_value(page, "Customers")).to_have_text(SCORED, timeout=90_000)
    expect(metric_value(page, "Expected value at risk")).to_have_text(re.compile(r"^¥[\d.]+M$"))  # amounts in CNY
    grid = main(page).get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    idle(page)
    grid.scroll_into_view_if_needed()  # the mouse clicks within the viewport
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection cell
    expect(main(page).get_by_role("heading", name=re.compile(r"^Customer "))).to_be_visible(timeout=30_000)
    expect(main(page).get_by_text("Top reasons")).to_be_visible()
    visit_words = re.compile(r"^(No visit for|Last visit|Visits (down|up|level)|\d+ visits? this quarter)")
    expect(main(page).locator("li", has_text=visit_words).first).to_be_visible()
    expect_no_errors(page)

    language(page, "中文", "流失风险客户")
    expect(main(page).get_by_text(re.compile(r"^截至 2026-09-30：未来 240 天内不再到店的概率"))).to_be_visible()
    expect(main(page).get_by_role("button", name="已流失客户（CSV）")).to_be_visible()
    expect(metric_value(page, "客户数")).to_have_text(SCORED)
    expect_no_errors(page)


def test_analyst_uploads_the_visit_log_trains_and_reads_the_out_of_time_verdict(page, fresh_app_server):
    # No sign-in configured: the local single-user mode, where everyone is an analyst.
    page.goto(f"{fresh_app_server}/data")
    expect(main(page).locator("h1")).to_have_text("Data")
    idle(page)
    main(page).get_by_test_id("stRadio").get_by_text(re.compile(r"^Visit log \(one row per visit")).click()
    uploaders = main(page).get_by_test_id("stFileUploader")
    expect(uploaders).to_have_count(2)
    expect(uploaders.nth(1)).to_contain_text("Customer table (optional)")
    uploaders.nth(0).locator('input[type="file"]').set_input_files(str(VISITS))
    expect(main(page).get_by_text("2 · Columns: who, when, what, how much")).to_be_visible(timeout=60_000)
    idle(page)
    uploaders.nth(1).locator('input[type="file"]').set_input_files(str(CUSTOMERS))
    expect(main(page).get_by_text(re.compile(r"^Customer table joined by its column"))).to_be_visible(timeout=60_000)

    # The suggested window (the 95th percentile gap, 213 days, rounded up to whole months) and the population
    # preview per cut-off.
    expect(main(page).get_by_text(re.compile(
        r"^Suggested from the 95th percentile gap between visits: \d+ days .*rounded up to whole months"))
    ).to_be_visible(timeout=60_000)
    expect(main(page).get_by_role("spinbutton", name="Label window H (days)")).to_have_value("240")
    expect(main(page).get_by_text(re.compile(
        r"^At the test cut-off \d{4}-\d\d-\d\d, [\d,]+ customers were active .* made no visit in the 240 days after"))
    ).to_be_visible(timeout=60_000)
    expect_no_errors(page)

    idle(page)
    main(page).get_by_role("button", name="Save as new version").click()
    expect(main(page).get_by_text("Working with dataset version 2.")).to_be_visible(timeout=120_000)
    expect(sidebar(page).get_by_text(re.compile(r"aftersales_visits · v2"))).to_be_visible()

    # Only the logistic regression, to keep the training short.
    idle(page)
    main(page).get_by_test_id("stExpander").filter(has_text="Training options").locator("summary").click()
    models = main(page).get_by_test_id("stMultiSelect").filter(has_text="Models")
    for name in ("Random forest", "XGBoost"):
        idle(page)
        models.get_by_role("button", name=re.compile(f"[Rr]emove {name}")).click()
    expect(models.get_by_role("button", name=re.compile("[Rr]emove "))).to_have_count(1)
    idle(page)
    main(page).get_by_role("button", name="Train", exact=True).click()
    expect(main(page).get_by_text("Run 1 trained and saved.")).to_be_visible(timeout=180_000)
    expect_no_errors(page)

    # Models: how much the model beats the best "no visit in the last X days" rule, out of time.
    go(page, "Models", "Models")
    expect(main(page).get_by_text("Out of time: the model against the simplest rule")).to_be_visible(timeout=60_000)
    expect(main(page).get_by_text(re.compile(
        r"^Logistic regression ranks who will stop coming with ROC-AUC 0\.\d+ .* \"no visit in the last \d+ days\": "
        r"\+0\.\d+"))).to_be_visible()
    expect(metric_value(page, "Model ROC-AUC")).to_have_text(re.compile(r"^0\.\d+"))
    expect(metric_value(page, "Rule ROC-AUC")).to_have_text(re.compile(r"^0\.\d+"))
    expect(metric_value(page, "Lift over the rule")).to_have_text(re.compile(r"^\+0\.\d+"))
    lift = metric_value(page, "Lift over the rule").inner_text()
    expect(chart_title(page, "Logistic regression: predicted against actual, by decile of risk")).to_be_visible()
    expect_no_errors(page)

    language(page, "中文", "模型")
    expect(main(page).get_by_text("跨时间检验：模型对比最简单的规则")).to_be_visible()
    expect(main(page).get_by_text(re.compile(r"最佳简单规则“最近 \d+ 天未到店”"))).to_be_visible()
    expect(metric_value(page, "相对规则的提升")).to_have_text(lift)
    expect_no_errors(page)
    language(page, "English", "Models")
    expect(main(page).get_by_text("Out of time: the model against the simplest rule")).to_be_visible()
    expect(metric_value(page, "Lift over the rule")).to_have_text(lift)
    expect_no_errors(page)


def test_executive_presents_the_roi_of_the_visit_log(page, events_url, tmp_path):
    import pypdfium2

    page.goto(f"{events_url}/roi")
    expect(main(page).locator("h1")).to_have_text("Return on retention")
    expect(main(page).get_by_text(re.compile(rf"^Of {SCORED} customers, "))).to_be_visible(timeout=60_000)
    for label in ("Customers saved", "Value retained", "Net benefit", "ROI", "Payback"):
        expect(metric_value(page, label)).to_have_text(re.compile(r"\d"))
    expect(metric_value(page, "Value retained")).to_have_text(re.compile(r"^¥[\d.]+M$"))  # the log's currency
    saved = metric_value(page, "Customers saved").inner_text()
    expect_no_errors(page)

    # A scenario slider: more churners accepting the offer saves more customers.
    idle(page)
    slider = main(page).get_by_test_id("stSlider").filter(has_text="Churners who accept the offer (%)")
    thumb = slider.get_by_role("slider")
    before = thumb.get_attribute("aria-valuenow")
    thumb.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(thumb).not_to_have_attribute("aria-valuenow", before)
    expect(metric_value(page, "Customers saved")).not_to_have_text(saved)
    idle(page)
    moved = metric_value(page, "Customers saved").inner_text()
    assert int(moved.replace(",", "")) > int(saved.replace(",", ""))

    def pdf_text(label: str, name: str) -> str:
        idle(page)  # the button's file belongs to the run that drew it
        with page.expect_download() as event:
            main(page).get_by_role("button", name=label, exact=True).click()
        path = tmp_path / name
        event.value.save_as(path)
        data = path.read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 5_000
        pdf = pypdfium2.PdfDocument(str(path))
        assert len(pdf) == 1
        return pdf[0].get_textpage().get_text_range()

    text = pdf_text("One-page PDF", "roi-en.pdf")
    assert "Retention business case" in text and moved in text

    language(page, "中文", "挽留投资回报")
    expect(metric_value(page, "挽留客户")).to_have_text(moved)
    expect(main(page).get_by_text(re.compile(rf"^{SCORED} 位客户中"))).to_be_visible()
    text = pdf_text("单页 PDF", "roi-zh.pdf")
    assert "客户挽留商业论证" in text and moved in text
    expect_no_errors(page)
    language(page, "English", "Return on retention")
    expect(metric_value(page, "Customers saved")).to_have_text(moved)
    expect_no_errors(page)
