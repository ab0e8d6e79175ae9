"""Roles: a viewer reads every page but cannot change data or models, however they try; analysts sign in."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

import churn_core as cc
from tests.app.conftest import texts
from tests.test_store import small_dataset
from ui import auth

PASSWORD = "correct horse battery"
HASH = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)


@pytest.fixture(autouse=True)
def _fresh_limiter():
    auth._LIMITER.clear("local")  # process-wide by design; each test starts with no failed sign-ins
    yield
    auth._LIMITER.clear("local")


def with_password(at):
    at.secrets["roles"] = {"analyst_password_hash": HASH}
    return at


def open_page(at, page: str, **query):
    for key, value in query.items():
        at.query_params[key] = value
    return at.run().switch_page(page).run()


def sign_in(at, password: str):
    at.sidebar.text_input(key="auth_password").input(password)
    at.sidebar.button[0].click()  # the sign-in form's submit button
    return at.run()


def test_local_mode_says_so_and_allows_changes(app):
    at = open_page(app, "pages/data.py")
    assert not at.exception
    assert "Single-user local mode" in " ".join(c.value for c in at.sidebar.caption)
    assert len(at.get("file_uploader")) == 1


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/drivers.py", "pages/risk.py", "pages/roi.py",
                                  "pages/models.py", "pages/data.py"])
def test_a_viewer_reads_every_page(trained_app, page):
    at = open_page(with_password(trained_app), page)
    assert not at.exception, at.exception
    assert not at.error
    assert at.title  # the page drew its title and content


def test_a_viewer_cannot_upload_promote_roll_back_or_store_the_cut(trained_app, trained_app_db):
    at = open_page(with_password(trained_app), "pages/data.py")
    assert not at.get("file_uploader")
    assert "Only analysts can change data and models here" in texts(at)
    at = at.switch_page("pages/models.py").run()
    assert not [b for b in at.button if b.key in ("promote", "rollback")]
    at = open_page(at, "pages/roi.py", mode="analyst")
    assert not [b for b in at.button if b.key == "roi_save_threshold"]
    assert "Viewing." in " ".join(c.value for c in at.sidebar.caption)


def test_query_parameters_and_session_tricks_do_not_make_an_analyst(trained_app, trained_app_db):
    store = cc.Store(trained_app_db)
    champion = store.champion()
    at = with_password(trained_app)
    at.session_state["role"] = "analyst"
    at.session_state[auth.ROLE_KEY] = ("analyst", "0" * 64)  # a forged token
    at.session_state["promote"] = True  # the promote button's key, never drawn for a viewer
    at.session_state["rollback"] = True
    at = open_page(at, "pages/models.py", role="analyst", mode="analyst")
    assert not at.exception
    assert not [b for b in at.button if b.key in ("promote", "rollback")]
    at = at.switch_page("pages/data.py").run()
    assert not at.get("file_uploader")
    assert store.champion() == champion and len(store.list_runs()) == 1


def test_an_analyst_signs_in_and_out(app):
    at = open_page(with_password(app), "pages/data.py")
    at = sign_in(at, "guess")
    assert [e.value for e in at.sidebar.error] == [
        "That password is not right. Try again, or ask whoever runs the app for it."]
    assert not at.get("file_uploader")
    at = sign_in(at, PASSWORD)
    assert not at.exception
    assert "Signed in as analyst." in " ".join(c.value for c in at.sidebar.caption)
    assert len(at.get("file_uploader")) == 1
    at.sidebar.button(key="auth_sign_out").click().run()
    assert not at.get("file_uploader")


def test_failed_sign_ins_are_rate_limited_even_for_the_right_password(app):
    at = open_page(with_password(app), "pages/data.py")
    for _ in range(auth.MAX_FAILURES):
        at = sign_in(at, "wrong")
    at = sign_in(at, PASSWORD)
    assert "Too many failed sign-ins from here" in at.sidebar.error[0].value
    assert not at.get("file_uploader")


def test_the_limiter_forgets_old_failures():
    limiter = auth._Limiter()
    for i in range(auth.MAX_FAILURES):
        limiter.fail("10.0.0.1", now=100.0 + i)
    assert limiter.wait_seconds("10.0.0.1", now=110.0) == pytest.approx(auth.WINDOW_S - 10)
    assert limiter.wait_seconds("10.0.0.2", now=110.0) == 0  # per client
    assert limiter.wait_seconds("10.0.0.1", now=100.0 + auth.WINDOW_S + 1) == 0


def test_roles_in_chinese(app):
    app.session_state["lang"] = "zh"
    at = open_page(with_password(app), "pages/data.py")
    assert "只有分析师可以在此修改数据和模型" in texts(at)
    assert "只读浏览" in " ".join(c.value for c in at.sidebar.caption)


def test_an_analyst_deletes_a_version_after_confirming_and_a_viewer_cannot(app, app_db):
    store = cc.Store(app_db)
    at = open_page(app, "pages/data.py")  # local mode: an analyst; the app seeds version 1
    extra = store.save_dataset(small_dataset("extra"), activate=False)
    at.run()
    assert at.button(key="delete_button").disabled  # nothing happens before the confirmation
    at.checkbox(key="delete_sure").check().run()
    at.button(key="delete_button").click().run()
    assert not at.exception
    assert [v.version for v in store.list_datasets().versions] == [1]
    assert extra.version not in [v.version for v in store.list_datasets().versions]
    store.save_dataset(small_dataset("kept"), activate=False)
    viewer = open_page(with_password(AppTest.from_file(app._script_path, default_timeout=60)), "pages/data.py")
    assert not [b for b in viewer.button if b.key in ("delete_button", "activate_version", "retrain_version")]
    assert not [s for s in viewer.selectbox if s.key == "version_pick"]
    assert "kept" in list(viewer.dataframe[0].value["Name"])  # the versions are still listed
    assert len(store.list_datasets().versions) == 2


AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "churn-radar", "client_secret": "s3cret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


def with_oidc(at, *, user: dict, analysts: list[str] | None = None):
    at.secrets["auth"] = AUTH
    if analysts is not None:
        at.secrets["roles"] = {"analyst_emails": analysts}
    at.user = user
    return at


def test_with_oidc_a_signed_out_visitor_is_a_viewer_offered_st_login(app):
    at = open_page(with_oidc(app, user={"is_logged_in": False}), "pages/data.py")
    assert not at.exception
    assert "Viewing." in " ".join(c.value for c in at.sidebar.caption)  # not "single-user local mode"
    assert not at.get("file_uploader")
    assert "Only analysts can change data and models here" in texts(at)
    assert [b.key for b in at.sidebar.button] == ["auth_sign_in"]  # st.login, not a password form
    assert not at.sidebar.text_input


def test_with_oidc_a_signed_in_user_is_an_analyst(app):
    at = open_page(with_oidc(app, user={"is_logged_in": True, "email": "ana@example.com"}), "pages/data.py")
    assert not at.exception
    assert len(at.get("file_uploader")) == 1
    assert "Signed in as analyst." in " ".join(c.value for c in at.sidebar.caption)
    at.sidebar.button(key="auth_sign_out").click().run()  # st.logout
    assert not at.get("file_uploader")


def test_with_oidc_and_an_analyst_list_other_users_only_view(trained_app, trained_app_db):
    champion = cc.Store(trained_app_db).champion()
    at = with_oidc(trained_app, user={"is_logged_in": True, "email": "dir@example.com"},
                   analysts=["ana@example.com"])
    at.session_state[auth.ROLE_KEY] = ("analyst", "0" * 64)  # a forged token changes nothing here either
    at = open_page(at, "pages/models.py")
    assert not at.exception
    assert not [b for b in at.button if b.key in ("promote", "rollback")]
    assert "Only analysts can change data and models here" in texts(at)
    at.user = {"is_logged_in": True, "email": "ana@example.com"}
    at.run()
    assert [b.key for b in at.button if b.key in ("promote", "rollback")] == ["promote", "rollback"]
    assert cc.Store(trained_app_db).champion() == champion
