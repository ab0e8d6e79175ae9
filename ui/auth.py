"""Who may change things: viewers read every page; analysts also upload, retrain, promote, roll back, delete.

Three modes, chosen by what ``.streamlit/secrets.toml`` configures:

* **password**: ``[roles] analyst_password_hash`` holds an argon2 hash (``scripts/hash_password.py``
  makes one). Everyone starts as a viewer; the sidebar signs an analyst in. Failed attempts are
  rate-limited per client address.
* **oidc**: an ``[auth]`` section configures ``st.login``; a signed-in user is an analyst (or only the
  addresses in ``[roles] analyst_emails``, when listed).
* **local**: neither is configured, so the app runs as a single-user tool and everyone is an
  analyst; the sidebar says so.

The role lives server-side in the session as a token signed with a per-process secret and bound to
the session id, so neither a query parameter nor a hand-set session value makes anyone an analyst.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

import streamlit as st

from .i18n import t

ROLE_KEY = "_churn_radar_role"
MAX_FAILURES = 5  # failed sign-ins per client ...
WINDOW_S = 300.0  # ... within this many seconds lock that client out until the oldest failure expires


class _Limiter:
    """Failed sign-ins per client, process-wide (shared by every session of the server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def wait_seconds(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.get(client, deque())
            while times and now - times[0] > WINDOW_S:
                times.popleft()
            return WINDOW_S - (now - times[0]) if len(times) >= MAX_FAILURES else 0.0

    def fail(self, client: str, now: float | None = None) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(time.monotonic() if now is None else now)

    def clear(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


# Process-wide, like the server: module state survives every session's reruns (st.cache_resource would
# too, but can be cleared from the app's menu, which must not forgive failed sign-ins).
_LIMITER = _Limiter()
_SECRET = secrets.token_bytes(32)


def _limiter() -> _Limiter:
    return _LIMITER


def _process_secret() -> bytes:
    return _SECRET


def _secrets_section(name: str) -> dict:
    try:
        return dict(st.secrets.get(name, {}))
    except (FileNotFoundError, KeyError, ValueError):  # no secrets.toml at all: local mode
        return {}
    except Exception as err:  # a malformed secrets.toml must not open the analyst role
        if type(err).__name__ == "StreamlitSecretNotFoundError":
            return {}
        raise


def mode() -> str:
    """'password', 'oidc' or 'local'."""
    if _secrets_section("roles").get("analyst_password_hash"):
        return "password"
    if _secrets_section("auth"):
        return "oidc"
    return "local"


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "no-session"


def _signature(role: str) -> str:
    return hmac.new(_process_secret(), f"{_session_id()}:{role}".encode(), hashlib.sha256).hexdigest()


def _grant(role: str) -> None:
    st.session_state[ROLE_KEY] = (role, _signature(role))


def role() -> str:
    """'analyst' or 'viewer' for this session."""
    current = mode()
    if current == "local":
        return "analyst"
    if current == "oidc":
        user = st.user
        if not getattr(user, "is_logged_in", False):
            return "viewer"
        allowed = _secrets_section("roles").get("analyst_emails")
        return "analyst" if not allowed or getattr(user, "email", None) in allowed else "viewer"
    token = st.session_state.get(ROLE_KEY)
    if isinstance(token, tuple) and len(token) == 2 and token[0] == "analyst" \
            and hmac.compare_digest(str(token[1]), _signature("analyst")):
        return "analyst"
    return "viewer"


def is_analyst() -> bool:
    return role() == "analyst"


def require_analyst() -> None:
    """Stop the page here for a viewer, saying who can do this and how to become one."""
    if not is_analyst():
        st.info(t("auth.analyst_only"))
        st.stop()


def _client() -> str:
    """The client's address (behind a proxy, the proxy's: then the limit is shared by everyone)."""
    address = getattr(st.context, "ip_address", None)
    return address if isinstance(address, str) and address else "local"


def check_password(password: str, *, client: str) -> str:
    """'ok', 'wrong' or 'locked'; records failures and clears them on success."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    limiter = _limiter()
    if limiter.wait_seconds(client) > 0:
        return "locked"
    stored = str(_secrets_section("roles").get("analyst_password_hash", ""))
    try:
        PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        limiter.fail(client)
        return "wrong"
    limiter.clear(client)
    return "ok"


def sidebar() -> None:
    """The role line, and sign-in or sign-out, in the sidebar."""
    current = mode()
    box = st.sidebar.container(key="auth_box")
    if current == "local":
        box.caption(t("auth.local_mode"))
        return
    if is_analyst():
        box.caption(t("auth.signed_in"))
        if box.button(t("auth.sign_out"), key="auth_sign_out"):
            if current == "oidc":
                st.logout()
            st.session_state.pop(ROLE_KEY, None)
            st.rerun()
        return
    box.caption(t("auth.viewer"))
    if current == "oidc":
        if box.button(t("auth.sign_in"), key="auth_sign_in"):
            st.login()
        return
    with box.form("auth_form", clear_on_submit=True, border=False):
        password = st.text_input(t("auth.password"), type="password", key="auth_password")
        submitted = st.form_submit_button(t("auth.sign_in"))
    if submitted:
        client = _client()
        outcome = check_password(password or "", client=client)
        if outcome == "ok":
            _grant("analyst")
            st.rerun()
        elif outcome == "locked":
            box.error(t("auth.locked", seconds=int(_limiter().wait_seconds(client)) + 1))
        else:
            box.error(t("auth.wrong"))
