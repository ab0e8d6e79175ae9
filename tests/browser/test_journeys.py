"""What a person sees in a real browser: the director's Overview → Chinese → Drivers journey."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect
PlaywrightTimeoutError = pytest.importorskip("playwright.sync_api").TimeoutError



def choose(page, label: str, option: str, *, took, attempts: int = 3) -> None:
    """Pick ``option`` in the selectbox labelled ``label``; ``took`` is a locator that shows once it did. Under
    load a rerun still drawing the page can close the dropdown under the click, so wait until the app is idle,
    type to filter the (virtualised) list, and try again if ``took`` does not show."""
    box = main(page).get_by_test_id("stSelectbox").filter(has_text=label)
    for attempt in range(attempts):
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        box.click()
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            expect(took).to_be_visible(timeout=10_000)
            return
        except (AssertionError, PlaywrightTimeoutError):
            page.keyboard.press("Escape")
            if attempt == attempts - 1:
                raise

def main(page):
    return page.get_by_test_id("stMain")


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def metric_value(page, label: str):
    """The value of the st.metric card whose label is exactly ``label``."""
    card = main(page).get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def chart_title(page, text: str):
    return main(page).locator(".js-plotly-plot .gtitle", has_text=text)


def expect_no_errors(page) -> None:
    expect(main(page).get_by_test_id("stException")).to_have_count(0)
    expect(main(page).get_by_test_id("stAlertContentError")).to_have_count(0)


def test_director_reads_overview_then_drivers_in_chinese(page, app_url):
    page.goto(app_url)

    # Overview, in English: the bundled data's KPIs and the service-call takeaway.
    expect(main(page).locator("h1")).to_have_text("Churn overview")
    expect(metric_value(page, "Customers")).to_have_text("5,000")
    expect(metric_value(page, "Churn rate")).to_have_text("14.14%")
    expect(main(page).get_by_text(re.compile(r"Customers with 4 or more number_customer_service_calls churn at"))
           ).to_be_visible()
    expect(chart_title(page, "Churn by international_plan")).to_be_visible()
    expect_no_errors(page)

    # Switch to Chinese with the sidebar radio: the page, its KPIs and its chart titles follow.
    sidebar(page).get_by_test_id("stRadio").get_by_text("中文", exact=True).click()
    expect(main(page).locator("h1")).to_have_text("流失总览")
    expect(metric_value(page, "客户数")).to_have_text("5,000")
    expect(metric_value(page, "流失率")).to_have_text("14.14%")
    expect(chart_title(page, "按 international_plan 的流失率")).to_be_visible()
    expect(chart_title(page, "按 number_customer_service_calls 的流失率")).to_be_visible()
    expect(main(page).get_by_text(re.compile("达到 4 次及以上的客户流失率"))).to_be_visible()
    expect(sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name="总览")).to_be_visible()

    # Drivers, opened by its Chinese nav label: still in Chinese, with the driver ranking.
    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name="驱动因素").click()
    expect(page).to_have_url(re.compile(r"/drivers"))
    expect(main(page).locator("h1")).to_have_text("流失驱动因素")
    expect(main(page).get_by_role("heading", name="驱动因素排序")).to_be_visible()
    expect(chart_title(page, "与流失的相关系数")).to_be_visible()
    expect_no_errors(page)


def test_lang_query_parameter_opens_chinese(page, app_url):
    page.goto(f"{app_url}/?lang=zh")
    expect(main(page).locator("h1")).to_have_text("流失总览")
    expect(metric_value(page, "客户数")).to_have_text("5,000")
    expect(sidebar(page).get_by_role("radio", name="中文")).to_be_checked()


# A new server process keeps Streamlit's old pages/-folder routing until app.py has run once, so a
# deep link served first used to run the page alone; ui.widgets.page_header reruns it through app.py.
def test_deep_link_on_a_new_server_has_the_app_sidebar(page, fresh_app_server):
    page.goto(f"{fresh_app_server}/drivers?lang=zh")
    expect(main(page).locator("h1")).to_have_text("流失驱动因素")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    expect(sidebar(page).get_by_role("link", name="驱动因素")).to_be_visible(timeout=3_000)
    expect(sidebar(page).get_by_role("radio", name="中文")).to_be_checked(timeout=3_000)


def test_analyst_signs_in_uploads_maps_trains_and_promotes(page, secured_app_server, tmp_path):
    """The analyst's path on a shared server: sign in, a bad file is refused, an export with another
    schema (its target named so nobody could guess it) is mapped, trained and promoted; Overview shows it."""
    from tests.app.test_data import telco
    from tests.browser.conftest import ANALYST_PASSWORD

    bad = tmp_path / "bad.csv"
    bad.write_text("id,plan,churn\n1,a,yes\n2,b,no\n3,a,maybe\n")
    good = tmp_path / "telco.csv"
    frame = telco(600).rename(columns={"Churn": "Outcome_Q3"})
    frame.to_csv(good, index=False)
    stayed = int((frame["Outcome_Q3"] == "No").sum())  # the call list: customers still here
    uploader = lambda: main(page).get_by_test_id("stFileUploader").locator('input[type="file"]')

    # A viewer first: no uploader. A wrong password is refused, the right one signs the analyst in.
    page.goto(f"{secured_app_server}/data")
    expect(main(page).locator("h1")).to_have_text("Data")
    expect(main(page).get_by_text(re.compile("Only analysts can change data and models here"))).to_be_visible()
    expect(main(page).get_by_test_id("stFileUploader")).to_have_count(0)
    password = sidebar(page).get_by_label("Analyst password")
    password.fill("not-it")
    sidebar(page).get_by_role("button", name="Sign in as analyst").click()
    expect(sidebar(page).get_by_text(re.compile("That password is not right"))).to_be_visible()
    password.fill(ANALYST_PASSWORD)
    sidebar(page).get_by_role("button", name="Sign in as analyst").click()
    expect(sidebar(page).get_by_text("Signed in as analyst.")).to_be_visible()

    uploader().set_input_files(str(bad))
    expect(main(page).get_by_text(re.compile("cannot be saved until the errors above are fixed"))).to_be_visible(
        timeout=30_000)
    expect(main(page).get_by_role("button", name="Save version")).to_have_count(0)
    expect(sidebar(page).get_by_text(re.compile(r"telecom_churn · v1"))).to_be_visible()

    uploader().set_input_files(str(good))  # a single-file uploader: the new file replaces the bad one
    expect(main(page).get_by_role("heading", name="3 · Checks")).to_be_visible(timeout=30_000)
    expect(main(page).get_by_role("button", name="Save version")).to_have_count(0)  # no target yet
    choose(page, "Churn target", "Outcome_Q3",
           took=main(page).get_by_test_id("stSelectbox").filter(has_text="Value that means churn"))
    main(page).get_by_role("button", name="Save version").click()
    expect(main(page).get_by_text("Working with dataset version 2.")).to_be_visible(timeout=30_000)
    expect(sidebar(page).get_by_text(re.compile(r"telco · v2 · 600"))).to_be_visible(timeout=10_000)

    main(page).get_by_role("button", name="Train", exact=True).click()
    expect(main(page).get_by_text("Run 1 trained and saved.")).to_be_visible(timeout=180_000)
    expect(main(page).get_by_text("There is no champion yet: promote the best new model.")).to_be_visible()
    main(page).get_by_role("button", name="Promote to champion").click()
    expect(main(page).get_by_text(re.compile(r"from run 1 is now the champion"))).to_be_visible(timeout=30_000)
    expect_no_errors(page)

    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    expect(main(page).locator("h1")).to_have_text("Churn overview")
    expect(metric_value(page, "Customers")).to_have_text("600")
    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name="Models").click()
    expect(main(page).get_by_text(re.compile(r"^Champion: .* from run 1 on telco v2 \(holdout ROC-AUC"))).to_be_visible(
        timeout=30_000)
    expect(chart_title(page, "ROC: how well each model ranks churners above stayers")).to_be_visible()
    expect_no_errors(page)

    # The director's risk list on the new champion: filtered, a row selected, its reasons, the export.
    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name="Risk").click()
    expect(main(page).locator("h1")).to_have_text("Customers at risk", timeout=60_000)
    expect(metric_value(page, "Customers")).to_have_text(f"{stayed:,}", timeout=60_000)
    expect(main(page).get_by_text(re.compile(rf"^Already churned: {600 - stayed} customers"))).to_be_visible()
    main(page).get_by_test_id("stMultiSelect").filter(has_text="Risk tier").click()
    page.get_by_role("option", name="Critical", exact=True).click()
    page.keyboard.press("Escape")
    expect(metric_value(page, "Customers")).not_to_have_text(f"{stayed:,}")
    shown = int(metric_value(page, "Customers").inner_text().replace(",", ""))
    assert 0 < shown < stayed
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    grid = main(page).get_by_test_id("stDataFrame").first  # the call list (the campaign preview is below it)
    grid.scroll_into_view_if_needed()  # the mouse clicks within the viewport
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection cell
    expect(main(page).get_by_role("heading", name=re.compile(r"^Customer "))).to_be_visible(timeout=30_000)
    expect(main(page).get_by_text("Top reasons")).to_be_visible()
    expect(main(page).locator("li", has_text=re.compile(r"\((?:\+|−)[\d.]+ pts\)")).first).to_be_visible()
    expect(chart_title(page, "From the average customer to this one")).to_be_visible()
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    with page.expect_download() as download:
        main(page).get_by_role("button", name="Export CSV").click()
    exported = (tmp_path / "risk.csv")
    download.value.save_as(exported)
    lines = exported.read_text(encoding="utf-8-sig").splitlines()
    # the page's export is for people: worded headers and tiers (the command line keeps the machine keys)
    assert lines[0].startswith("Customer ID,Status,Churn probability (%),Risk tier") and len(lines) == shown + 1
    assert all(",Active," in line and ",Critical," in line for line in lines[1:])
    expect_no_errors(page)


def test_executive_presents_the_roi_and_exports_one_page(page, app_url, tmp_path):
    """The meeting: a published case in presentation mode, its one-page PDF and PNG, then in Chinese."""
    import pypdfium2
    from PIL import Image

    page.goto(f"{app_url}/roi")
    expect(main(page).locator("h1")).to_have_text("Return on retention")
    main(page).get_by_test_id("stSelectbox").filter(has_text="Start from").click()
    page.get_by_role("option", name="Published case: 8,000 customers, 14.5% → 9.8%").click()
    expect(metric_value(page, "Customers saved")).to_have_text("376")
    expect(metric_value(page, "Value retained")).to_have_text("$37.6M")
    expect(metric_value(page, "ROI")).to_have_text("1690%")
    expect(metric_value(page, "Payback")).to_have_text("2.6 months")
    expect_no_errors(page)

    def download(label: str, name: str):
        # The button's file is registered by the script run that drew it: click once the app is idle,
        # not while a rerun is replacing it.
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        with page.expect_download() as event:
            main(page).get_by_role("button", name=label, exact=True).click()
        assert "telecom_8k" in event.value.suggested_filename  # the export names the published case
        event.value.save_as(tmp_path / name)
        return tmp_path / name

    def pdf_text(path) -> str:
        pdf = pypdfium2.PdfDocument(str(path))
        assert len(pdf) == 1 and pdf[0].get_size()[0] > pdf[0].get_size()[1]  # one A4-landscape page
        return pdf[0].get_textpage().get_text_range()

    text = pdf_text(download("One-page PDF", "roi-en.pdf"))
    for shown in ("Retention business case", "376", "$37.6M", "$35.5M", "1690%", "2.6 months",
                  "Published case: 8,000 customers"):
        assert shown in text, shown
    assert "telecom_churn" not in text and "Dataset" not in text  # the case's figures, not the data's or a model's
    width, height = Image.open(download("PNG", "roi-en.png")).size
    assert width > height > 1000

    sidebar(page).get_by_test_id("stRadio").get_by_text("中文", exact=True).click()
    expect(main(page).locator("h1")).to_have_text("挽留投资回报")
    expect(metric_value(page, "保住的价值")).to_have_text("$3,760万")  # the data's currency, worded in 万
    text = pdf_text(download("单页 PDF", "roi-zh.pdf"))
    for shown in ("客户挽留商业论证", "挽留客户", "$3,760万", "1690%", "投资回报率"):
        assert shown in text, shown
    assert Image.open(download("PNG", "roi-zh.png")).size == (width, height)
    expect_no_errors(page)

    # Switching the language twice more keeps the page whole, and the start box speaks the page's language
    # (it once kept its English label in Chinese, then crashed with KeyError: 'The active data (v1)').
    def start(label: str):
        return main(page).get_by_role("combobox", name=label)

    expect(start("起点")).to_have_value(re.compile("^公开案例：8,000 位客户"))
    for lang, title, label, case in (
            ("English", "Return on retention", "Start from", "Published case: 8,000 customers"),
            ("中文", "挽留投资回报", "起点", "公开案例：8,000 位客户")):
        sidebar(page).get_by_test_id("stRadio").get_by_text(lang, exact=True).click()
        expect(main(page).locator("h1")).to_have_text(title)
        expect(start(label)).to_have_value(re.compile(f"^{case}"))
        expect_no_errors(page)
    expect(metric_value(page, "挽留客户")).to_have_text("376")


def test_switching_the_language_twice_keeps_the_roi_choices_in_that_language(page, app_url):
    """The browser holds a choice as its label: before the fix the Start box kept "The active data (v1)" in the
    Chinese page and the next switch crashed with KeyError: 'The active data (v1)'."""
    page.goto(f"{app_url}/roi")
    expect(main(page).locator("h1")).to_have_text("Return on retention")
    for lang, title, label, value in (("中文", "挽留投资回报", "起点", "当前数据"),
                                      ("English", "Return on retention", "Start from", "The active data"),
                                      ("中文", "挽留投资回报", "起点", "当前数据"),
                                      ("English", "Return on retention", "Start from", "The active data")):
        sidebar(page).get_by_test_id("stRadio").get_by_text(lang, exact=True).click()
        expect(main(page).locator("h1")).to_have_text(title)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        expect(main(page).get_by_role("combobox", name=label)).to_have_value(re.compile(f"^{value}"))
        expect_no_errors(page)
