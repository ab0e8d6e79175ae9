"""Roles: a viewer reads every page but cannot change data or models, however they try; analysts sign in."""

from __future__ import annotations

import re
import time

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


def locked_out_after_the_right_password(at):
    """MAX_FAILURES wrong passwords, then the right one: refused while locked out, no uploader."""
    for _ in range(auth.MAX_FAILURES):
        at = sign_in(at, "wrong")
    at = sign_in(at, PASSWORD)
    assert "Too many failed sign-ins from here" in at.sidebar.error[0].value
    assert not at.get("file_uploader")
    return at


def test_failed_sign_ins_are_rate_limited_even_for_the_right_password(app):
    locked_out_after_the_right_password(open_page(with_password(app), "pages/data.py"))


def test_parallel_sign_ins_from_one_address_never_verify_more_than_the_limit(monkeypatch):
    """30 wrong passwords at once from one address: at most MAX_FAILURES are verified, and afterwards even the
    right password is refused while the address is locked."""
    import threading

    import argon2

    monkeypatch.setattr(auth, "_secrets_section", lambda name: {"analyst_password_hash": HASH} if name == "roles"
                        else {})
    verified, lock = [], threading.Lock()
    real_verify = argon2.PasswordHasher.verify

    def slow_verify(self, stored, password):  # as slow as the real hash: every thread is inside at once
        with lock:
            verified.append(password)
        time.sleep(0.3)
        return real_verify(self, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", slow_verify)
    client = "203.0.113.7"
    auth._LIMITER.clear(client)
    start = threading.Barrier(30)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        start.wait()
        outcome = auth.check_password(f"wrong-{i}", client=client)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert len(verified) <= auth.MAX_FAILURES, verified
        assert sorted(set(outcomes)) == ["locked", "wrong"] and outcomes.count("wrong") == len(verified)
        assert auth.check_password(PASSWORD, client=client) == "locked"
        assert len(verified) <= auth.MAX_FAILURES  # the right password was not even verified
        assert auth.check_password(PASSWORD, client="198.51.100.1") == "ok"  # another address is not locked
    finally:
        auth._LIMITER.clear(client)


def test_a_correct_password_clears_the_count():
    limiter = auth._Limiter()
    for _ in range(auth.MAX_FAILURES - 1):
        assert limiter.reserve("10.0.0.1")
    limiter.clear("10.0.0.1")  # what check_password does on success
    assert all(limiter.reserve("10.0.0.1") for _ in range(auth.MAX_FAILURES))
    assert not limiter.reserve("10.0.0.1") and limiter.wait_seconds("10.0.0.1") > 0


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


# -- a sign-in that survives a reload: the signed, expiring session cookie ------------------------------

SECRET = b"k" * 32
T0 = 1_800_000_000.0


def test_a_token_verifies_for_its_lifetime_only():
    token = auth.sign_token("analyst", secret=SECRET, lifetime_s=3600, now=T0)
    assert token.startswith(f"v1.analyst.{int(T0)}.{int(T0) + 3600}.")
    assert auth.verify_token(token, secret=SECRET, now=T0) == "analyst"
    assert auth.verify_token(token, secret=SECRET, now=T0 + 3599) == "analyst"
    assert auth.verify_token(token, secret=SECRET, now=T0 + 3600) is None  # expired
    assert auth.verify_token(token, secret=SECRET, now=T0 + 1800, max_age_s=1800) is None  # session shortened
    assert auth.verify_token(token, secret=SECRET, now=T0 - 3600) is None  # issued in the future


def _tamper(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


TOKEN = auth.sign_token("analyst", secret=SECRET, lifetime_s=3600, now=T0)


@pytest.mark.parametrize("token", [
    pytest.param(_tamper(TOKEN, 1, "admin"), id="other-user"),
    pytest.param(_tamper(TOKEN, 2, str(int(T0) - 10)), id="earlier-issued"),
    pytest.param(_tamper(TOKEN, 3, str(int(T0) + 86_400)), id="later-expiry"),
    pytest.param(_tamper(TOKEN, 4, "0" * 64), id="zero-signature"),
    pytest.param(_tamper(TOKEN, 4, TOKEN.rsplit(".", 1)[1][:-1] + "x"), id="one-char-signature"),
    pytest.param(_tamper(TOKEN, 0, "v2"), id="other-version"),
    pytest.param(TOKEN + ".x", id="extra-part"),
    pytest.param(TOKEN.rsplit(".", 1)[0], id="no-signature"),
    pytest.param(_tamper(TOKEN, 3, "-1"), id="negative-expiry"),
    pytest.param("", id="empty"),
    pytest.param("v1." + "a" * 300, id="oversized"),
])
def test_a_tampered_or_malformed_token_is_rejected(token):
    assert auth.verify_token(TOKEN, secret=SECRET, now=T0 + 1) == "analyst"  # the untouched one passes
    assert auth.verify_token(token, secret=SECRET, now=T0 + 1) is None


def test_a_token_signed_with_another_secret_is_rejected():
    assert auth.verify_token(TOKEN, secret=b"z" * 32, now=T0 + 1) is None


@pytest.mark.parametrize(("user", "lifetime", "match"), [("Analyst.x", 60, "'user'"), ("analyst", 0, "'lifetime_s'")],
                         ids=["dotted-user", "zero-lifetime"])
def test_sign_token_refuses_what_it_cannot_sign(user, lifetime, match):
    with pytest.raises(ValueError, match=match):
        auth.sign_token(user, secret=SECRET, lifetime_s=lifetime)


def test_the_key_file_is_created_once_private_and_kept(tmp_path):
    path = tmp_path / auth.SECRET_FILE_NAME
    key = auth.load_or_create_secret(path)
    assert len(key) == 64 and path.stat().st_mode & 0o777 == 0o600
    auth._SECRET_FILES.clear()  # a restarted server reads the same key back
    assert auth.load_or_create_secret(path) == key
    other = tmp_path / "elsewhere.key"
    other.write_text("short\n")
    with pytest.raises(ValueError, match="needs at least 32"):
        auth.load_or_create_secret(other)


def test_the_key_file_sits_next_to_the_database_unless_a_secret_is_configured(app_db, monkeypatch):
    key = auth.install_secret()
    assert (app_db.parent / auth.SECRET_FILE_NAME).read_bytes().strip() == key
    monkeypatch.setenv(auth.SECRET_ENV_VAR, "e" * 40)
    assert auth.install_secret() == b"e" * 40


def cookie_jar(monkeypatch, token: str | None) -> None:
    """The seam for the browser's cookies: AppTest cannot send any (st.context.cookies is empty there)."""
    monkeypatch.setattr(auth, "_request_cookies", lambda: {auth.COOKIE_NAME: token} if token else {})


def cookie_scripts(at) -> list[str]:
    return [h.proto.body for h in at.get("html") if "document.cookie" in h.proto.body]


def test_signing_in_writes_a_cookie_that_signs_in_the_next_session(app, app_db, monkeypatch):
    at = sign_in(open_page(with_password(app), "pages/data.py"), PASSWORD)
    assert len(at.get("file_uploader")) == 1
    [script] = cookie_scripts(at)
    token = re.search(rf"{auth.COOKIE_NAME}=([^;]+);", script).group(1)
    assert "Max-Age=28800" in script and "SameSite=Strict" in script  # 8 hours by default
    assert auth.verify_token(token, secret=auth.install_secret()) == "analyst"
    assert (app_db.parent / auth.SECRET_FILE_NAME).is_file()

    cookie_jar(monkeypatch, token)  # a reload: a new session opened with that cookie
    reloaded = open_page(with_password(AppTest.from_file(app._script_path, default_timeout=60)), "pages/data.py")
    assert not reloaded.exception
    assert "Signed in as analyst." in " ".join(c.value for c in reloaded.sidebar.caption)
    assert len(reloaded.get("file_uploader")) == 1
    assert not cookie_scripts(reloaded)  # nothing to write: the browser has it


def test_the_session_length_is_configurable(app):
    at = with_password(app)
    at.secrets["roles"] = {"analyst_password_hash": HASH, "session_hours": 0.5}
    at = sign_in(open_page(at, "pages/data.py"), PASSWORD)
    [script] = cookie_scripts(at)
    _, _, issued, expiry, _ = re.search(rf"{auth.COOKIE_NAME}=([^;]+);", script).group(1).split(".")
    assert int(expiry) - int(issued) == 1800 and "Max-Age=1800" in script


@pytest.mark.parametrize("make", [
    pytest.param(lambda: auth.sign_token("analyst", secret=auth.install_secret(), lifetime_s=60, now=time.time() - 120),
                 id="expired"),
    pytest.param(lambda: _tamper(auth.sign_token("analyst", secret=auth.install_secret(), lifetime_s=3600), 3,
                                 str(int(time.time()) + 86_400)), id="tampered"),
    pytest.param(lambda: auth.sign_token("analyst", secret=b"another install's key" * 2, lifetime_s=3600),
                 id="other-install"),
])
def test_an_expired_or_tampered_cookie_leaves_a_viewer_and_is_cleared(app, app_db, monkeypatch, make):
    cookie_jar(monkeypatch, make())
    at = with_password(app).run()  # the first run of the new session tells the browser to forget it
    assert not at.exception
    assert "Viewing." in " ".join(c.value for c in at.sidebar.caption)
    [script] = cookie_scripts(at)
    assert f"{auth.COOKIE_NAME}=; Path=/; Max-Age=0" in script
    at = at.switch_page("pages/data.py").run()
    assert not at.get("file_uploader")


def test_signing_out_clears_and_revokes_the_cookie(app, app_db, monkeypatch):
    token = auth.sign_token("analyst", secret=auth.install_secret(), lifetime_s=3600)
    cookie_jar(monkeypatch, token)
    at = open_page(with_password(app), "pages/data.py")
    assert len(at.get("file_uploader")) == 1
    at.sidebar.button(key="auth_sign_out").click().run()
    assert not at.get("file_uploader")  # the session still holds the cookie it was opened with: ignored
    assert "Viewing." in " ".join(c.value for c in at.sidebar.caption)
    assert [s for s in cookie_scripts(at) if "Max-Age=0" in s]
    again = open_page(with_password(AppTest.from_file(app._script_path, default_timeout=60)), "pages/data.py")
    assert not again.get("file_uploader")  # a copy of the signed-out token no longer works here


def test_a_cookie_is_no_way_around_the_password_limit(app, app_db, monkeypatch):
    forged = _tamper(auth.sign_token("analyst", secret=auth.install_secret(), lifetime_s=3600), 4, "0" * 64)
    cookie_jar(monkeypatch, forged)
    at = locked_out_after_the_right_password(open_page(with_password(app), "pages/data.py"))
    assert not [s for s in cookie_scripts(at) if "v1.analyst." in s]  # no cookie issued while locked out


def test_a_viewer_cannot_save_a_scenario_explain_more_or_change_settings(trained_app, trained_app_db):
    """Issue 15: viewers could save ROI scenarios and run "Explain the next 2,000"; the widgets are gone or
    disabled for them, and every action checks the role on the server whatever the page draws."""
    at = open_page(with_password(trained_app), "pages/roi.py", mode="analyst")
    assert not at.exception, at.exception
    assert not [f for f in at.get("form") if "roi_save_form" in str(getattr(f, "form_id", ""))]
    assert "Analysts save scenarios; you can load the saved ones." in texts(at)
    assert at.selectbox(key="roi_w_currency").disabled
    at = at.switch_page("pages/risk.py").run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.key == "risk_explain_more"]


@pytest.mark.parametrize(("action", "args"), [
    ("save_scenario", ("board", )), ("set_currency", ("€",)), ("set_value_per_customer", (10.0,)),
    ("rollback", ()), ("activate", (1,)), ("delete_version", (1,)),
])
def test_every_action_refuses_a_viewer_on_the_server(monkeypatch, trained_app_db, action, args):
    from ui import actions

    monkeypatch.setattr(auth, "is_analyst", lambda: False)
    store = cc.Store(trained_app_db)
    before = (store.champion(), store.active_version().version, store.list_scenarios(), store.currency(1))
    kwargs = {"inputs": {}, "settings": {}} if action == "save_scenario" else {}
    with pytest.raises(actions.NotAllowed, match="Only an analyst can"):
        getattr(actions, action)(*args, **kwargs)
    after = (store.champion(), store.active_version().version, store.list_scenarios(), store.currency(1))
    assert after == before
