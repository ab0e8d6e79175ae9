"""In a real browser: an analyst's sign-in survives a reload (the session cookie) until they sign out."""

from __future__ import annotations

import re

import pytest

from ui import auth

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def main(page):
    return page.get_by_test_id("stMain")


def session_cookie(page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == auth.COOKIE_NAME), None)


def expect_analyst(page) -> None:
    expect(sidebar(page).get_by_text("Signed in as analyst.")).to_be_visible()
    expect(main(page).get_by_test_id("stFileUploader")).to_have_count(1)


def expect_viewer(page) -> None:
    expect(sidebar(page).get_by_text(re.compile(r"^Viewing\."))).to_be_visible()
    expect(main(page).get_by_text(re.compile("Only analysts can change data and models here"))).to_be_visible()
    expect(main(page).get_by_test_id("stFileUploader")).to_have_count(0)


def test_a_sign_in_survives_a_reload_until_sign_out(page, secured_app_server):
    from tests.browser.conftest import ANALYST_PASSWORD

    page.goto(f"{secured_app_server}/data")
    expect_viewer(page)
    sidebar(page).get_by_label("Analyst password").fill(ANALYST_PASSWORD)
    sidebar(page).get_by_role("button", name="Sign in as analyst").click()
    expect_analyst(page)
    page.wait_for_function(f"() => document.cookie.includes('{auth.COOKIE_NAME}=v1.analyst.')")
    cookie = session_cookie(page)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["expires"] > 0  # Max-Age: it outlives the tab, not the session length

    page.reload()  # a new Streamlit session: only the cookie can make it an analyst's
    expect_analyst(page)
    page.goto(f"{secured_app_server}/models")  # and a new tab on another page too
    expect(sidebar(page).get_by_text("Signed in as analyst.")).to_be_visible()

    sidebar(page).get_by_role("button", name="Sign out").click()
    expect(sidebar(page).get_by_text(re.compile(r"^Viewing\."))).to_be_visible()
    page.wait_for_function(f"() => !document.cookie.includes('{auth.COOKIE_NAME}=')")
    assert session_cookie(page) is None
    page.goto(f"{secured_app_server}/data")
    expect_viewer(page)


def test_a_tampered_cookie_does_not_sign_anyone_in(page, secured_app_server):
    from tests.browser.conftest import ANALYST_PASSWORD

    page.goto(f"{secured_app_server}/data")
    sidebar(page).get_by_label("Analyst password").fill(ANALYST_PASSWORD)
    sidebar(page).get_by_role("button", name="Sign in as analyst").click()
    expect_analyst(page)
    page.wait_for_function(f"() => document.cookie.includes('{auth.COOKIE_NAME}=v1.analyst.')")
    token = session_cookie(page)["value"]
    _, user, issued, expiry, mac = token.split(".")
    forged = f"v1.{user}.{issued}.{int(expiry) + 86_400}.{mac}"  # a longer session, same signature
    page.context.add_cookies([{"name": auth.COOKIE_NAME, "value": forged, "url": secured_app_server,
                               "sameSite": "Strict"}])
    page.reload()
    expect_viewer(page)
    page.wait_for_function(f"() => !document.cookie.includes('{auth.COOKIE_NAME}=')")  # and it is cleared
