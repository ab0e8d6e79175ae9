"""Who may change things: viewers read every page; analysts also upload, retrain, promote, roll back, delete.

Three modes, chosen by what ``.streamlit/secrets.toml`` configures:

* **password**: ``[roles] analyst_password_hash`` holds an argon2 hash (``scripts/hash_password.py``
  makes one). Everyone starts as a viewer; the sidebar signs an analyst in. Failed attempts are
  rate-limited per client address.
* **oidc**: an ``[auth]`` section configures ``st.login``; a signed-in user is an analyst (or only the
  addresses in ``[roles] analyst_emails``, when listed).
* **local**: neither is configured, so the app runs as a single-user tool and everyone is an
  analyst; the sidebar says so. It is for this machine only: ``.streamlit/config.toml`` (and ``make run``)
  bind the server to 127.0.0.1, and a server listening beyond loopback (``server.address``) with no sign-in
  configured shows every session an error instead of the app, unless ``CHURN_RADAR_ALLOW_OPEN_LOCAL=1``
  accepts the risk (``refuse_open_local``).

The role lives server-side in the session as a token signed with a per-process secret and bound to
the session id, so neither a query parameter nor a hand-set session value makes anyone an analyst.

**Surviving a reload (password mode).** A reload opens a new session, so a successful password sign-in
also sets a browser cookie (``churn_radar_session``, ``SameSite=Strict``, ``Path=/``, ``Max-Age`` = the
session length) holding ``v1.<user>.<issued-at>.<expiry>.<HMAC-SHA256>`` signed with the *install
secret*. A new session reads it from ``st.context.cookies`` (the cookies of the page's WebSocket request),
checks the signature in constant time and the expiry, and grants the role; an expired, tampered or
revoked cookie is ignored and cleared. Streamlit has no server-side Set-Cookie API, so the cookie is
written by a one-line script through ``st.html(..., unsafe_allow_javascript=True)`` (not HttpOnly: a
script injected into the page could read it; the app renders no untrusted HTML). Signing out clears the
cookie and revokes its token in this process. Only a correct password issues a cookie, so the
per-client limit on failed passwords stands; a cookie is never a password attempt.

* session length: ``[roles] session_hours`` in secrets.toml (default 8);
* install secret: ``$CHURN_RADAR_AUTH_SECRET``, else ``[roles] session_secret`` in secrets.toml, else a
  random key generated once into ``churn_radar_auth.key`` next to the DuckDB file (mode 0600,
  git-ignored). Changing or deleting it signs every browser out. With OIDC, ``st.login`` keeps its own
  cookie and none of this applies.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
from collections import deque
from pathlib import Path

import streamlit as st

from churn_core.store import resolve_db_path

from .i18n import t

logger = logging.getLogger(__name__)

ROLE_KEY = "_churn_radar_role"
COOKIE_NAME = "churn_radar_session"
SECRET_ENV_VAR = "CHURN_RADAR_AUTH_SECRET"
OPEN_LOCAL_ENV_VAR = "CHURN_RADAR_ALLOW_OPEN_LOCAL"  # "1": serve local mode (everyone an analyst) beyond loopback
SECRET_FILE_NAME = "churn_radar_auth.key"  # in the DuckDB file's folder
DEFAULT_SESSION_HOURS = 8.0
_COOKIE_KEY = "_churn_radar_cookie"  # this session's cookie token (revoked on sign-out)
_COOKIE_SCRIPT_KEY = "_churn_radar_cookie_script"  # the cookie to write or clear on the next run
_SIGNED_OUT_KEY = "_churn_radar_signed_out"  # signed out here: ignore the cookie this session was opened with
MAX_FAILURES = 5  # failed sign-ins per client ...
WINDOW_S = 300.0  # ... within this many seconds lock that client out until the oldest failure expires


class _Limiter:
    """Sign-in attempts per client, process-wide (shared by every session of the server).

    An attempt is counted *before* its password is verified (``reserve``), under that client's lock, and a
    correct password clears the count: so parallel submissions from one address cannot verify more than
    MAX_FAILURES passwords in a window, however they interleave with the ~0.5 s verification.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the two dicts; each client's count has its own lock
        self._client_locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, deque[float]] = {}

    def _client_lock(self, client: str) -> threading.Lock:
        with self._lock:
            return self._client_locks.setdefault(client, threading.Lock())

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] > WINDOW_S:
            times.popleft()
        return times

    def wait_seconds(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._client_lock(client):
            times = self._recent(client, now)
            return WINDOW_S - (now - times[0]) if len(times) >= MAX_FAILURES else 0.0

    def reserve(self, client: str, now: float | None = None) -> bool:
        """Count one attempt, before its password is checked; False (count nothing) when the client is locked."""
        now = time.monotonic() if now is None else now
        with self._client_lock(client):
            times = self._recent(client, now)
            if len(times) >= MAX_FAILURES:
                return False
            times.append(now)
            return True

    def fail(self, client: str, now: float | None = None) -> None:
        """Count a failure (an attempt not reserved beforehand)."""
        with self._client_lock(client):
            self._failures.setdefault(client, deque()).append(time.monotonic() if now is None else now)

    def clear(self, client: str) -> None:
        with self._client_lock(client):
            self._failures.pop(client, None)


# Process-wide, like the server: module state survives every session's reruns (st.cache_resource would
# too, but can be cleared from the app's menu, which must not forgive failed sign-ins).
_LIMITER = _Limiter()
_SECRET = secrets.token_bytes(32)


def _limiter() -> _Limiter:
    return _LIMITER


# -- session cookies: pure token logic ---------------------------------------------------------------

_TOKEN_VERSION = "v1"
_USER = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_CLOCK_SKEW_S = 60  # an issued-at this far in the future is still accepted


def _mac(user: str, issued: int, expiry: int, secret: bytes) -> str:
    message = f"{_TOKEN_VERSION}|{user}|{issued}|{expiry}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_token(user: str, *, secret: bytes, lifetime_s: float, now: float | None = None) -> str:
    """A session token ``v1.<user>.<issued-at>.<expiry>.<HMAC-SHA256 hex>`` (Unix seconds), valid for
    ``lifetime_s`` seconds from ``now``."""
    if not _USER.fullmatch(user):
        raise ValueError(f"The 'user' of a session token must match {_USER.pattern}. Got {user!r} instead.")
    if lifetime_s <= 0:
        raise ValueError(f"The 'lifetime_s' of a session token must be positive. Got {lifetime_s!r} instead.")
    issued = int(time.time() if now is None else now)
    expiry = issued + int(lifetime_s)
    return f"{_TOKEN_VERSION}.{user}.{issued}.{expiry}.{_mac(user, issued, expiry, secret)}"


def verify_token(token: str, *, secret: bytes, max_age_s: float | None = None,
                 now: float | None = None) -> str | None:
    """The user of a well-formed, untampered, unexpired token; None otherwise.

    The signature is compared in constant time. ``max_age_s`` also rejects tokens issued longer ago than
    that (so shortening the session length applies to cookies already handed out).
    """
    if not isinstance(token, str) or len(token) > 256:
        return None
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != _TOKEN_VERSION or not _USER.fullmatch(parts[1]):
        return None
    _, user, issued_text, expiry_text, mac = parts
    if not (issued_text.isdigit() and expiry_text.isdigit()):
        return None
    issued, expiry = int(issued_text), int(expiry_text)
    if not hmac.compare_digest(mac.encode(), _mac(user, issued, expiry, secret).encode()):
        return None
    now = time.time() if now is None else now
    if now >= expiry or issued > now + _CLOCK_SKEW_S or expiry <= issued:
        return None
    if max_age_s is not None and now - issued >= max_age_s:
        return None
    return user


class _Revoked:
    """Tokens signed out before their expiry, process-wide (a restart forgets them; the browser has cleared
    its cookie by then)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def add(self, token: str) -> None:
        expiry = token.split(".")[3] if token.count(".") == 4 else ""
        now = time.time()
        with self._lock:
            self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[token] = float(expiry) if expiry.isdigit() else now + 86_400 * 365

    def __contains__(self, token: str) -> bool:
        with self._lock:
            return token in self._until


_REVOKED = _Revoked()


# -- session cookies: the install secret, the session length, reading and writing --------------------

_SECRET_FILES: dict[Path, bytes] = {}
_SECRET_FILES_LOCK = threading.Lock()


def load_or_create_secret(path: Path) -> bytes:
    """The key in ``path``, created once (32 random bytes as hex, mode 0600) when it does not exist."""
    path = Path(path)
    with _SECRET_FILES_LOCK:
        if path in _SECRET_FILES:
            return _SECRET_FILES[path]
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = b""
            for _ in range(20):  # another process may have created it a moment ago and be writing it
                key = path.read_bytes().strip()
                if key:
                    break
                time.sleep(0.05)
            if len(key) < 32:
                raise ValueError(f"The session key file {path} holds {len(key)} characters; it needs at least "
                                 "32. Delete it and the app makes a new one (everyone signs in again).") from None
            if path.stat().st_mode & 0o077:
                logger.warning("%s is readable by other users; chmod 600 it", path)
        else:
            key = secrets.token_hex(32).encode()
            with os.fdopen(fd, "wb") as handle:
                handle.write(key + b"\n")
            logger.info("created the session key %s", path)
        _SECRET_FILES[path] = key
        return key


def install_secret() -> bytes:
    """The key that signs session cookies: $CHURN_RADAR_AUTH_SECRET, else ``[roles] session_secret``, else
    the key file next to the database (created once). A folder the app cannot write falls back to the
    per-process secret: sign-ins then last until a restart."""
    configured = os.environ.get(SECRET_ENV_VAR) or str(_secrets_section("roles").get("session_secret") or "")
    if configured:
        if len(configured) < 32:
            logger.warning("the session secret is shorter than 32 characters; use a longer random one")
        return configured.encode()
    try:
        return load_or_create_secret(resolve_db_path().parent / SECRET_FILE_NAME)
    except (OSError, ValueError) as err:
        logger.warning("no session key file (%s): sign-ins last until the server restarts", err)
        return _process_secret()


def session_seconds() -> float:
    """How long a sign-in lasts in a browser: ``[roles] session_hours`` (default 8)."""
    hours = _secrets_section("roles").get("session_hours", DEFAULT_SESSION_HOURS)
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        hours = 0.0
    if hours <= 0:
        logger.warning("[roles] session_hours must be a positive number; using %s", DEFAULT_SESSION_HOURS)
        hours = DEFAULT_SESSION_HOURS
    return hours * 3600


def _request_cookies() -> dict[str, str]:
    """The cookies of this session's request (the seam tests replace: AppTest cannot send cookies)."""
    try:
        return dict(st.context.cookies)
    except Exception:  # no browser session (bare script run)
        return {}


def _cookie_role() -> str | None:
    """'analyst' when this session was opened with a valid session cookie; a bad one is cleared."""
    if st.session_state.get(_SIGNED_OUT_KEY):
        return None
    token = _request_cookies().get(COOKIE_NAME)
    if not token:
        return None
    if token not in _REVOKED and verify_token(token, secret=install_secret(), max_age_s=session_seconds()) \
            == "analyst":
        st.session_state[_COOKIE_KEY] = token
        return "analyst"
    st.session_state[_SIGNED_OUT_KEY] = True  # look once; the browser is told to forget it
    st.session_state[_COOKIE_SCRIPT_KEY] = None
    return None


def _cookie_script(token: str | None, *, max_age_s: int) -> str:
    """The script that stores ``token`` in the browser's session cookie (or clears it for None)."""
    value = token or ""
    age = max_age_s if token else 0
    return ("<script>document.cookie = " + json.dumps(f"{COOKIE_NAME}={value}; Path=/; Max-Age={age}; "
                                                      "SameSite=Strict")
            + " + (location.protocol === 'https:' ? '; Secure' : '');</script>")


def _write_pending_cookie() -> None:
    """Write (or clear) the browser cookie decided on the previous run: ``st.html`` runs its script once,
    when the browser draws it."""
    if _COOKIE_SCRIPT_KEY not in st.session_state:
        return
    token = st.session_state.pop(_COOKIE_SCRIPT_KEY)
    with st.container(key="auth_cookie"):  # hidden: it only runs its script, and leaves no gap
        st.html("<style>.st-key-auth_cookie{display:none}</style>"
                + _cookie_script(token, max_age_s=int(session_seconds())), unsafe_allow_javascript=True)


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


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` listens on this machine only (None or "" binds every interface)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def bind_address() -> str | None:
    """The address the server listens on (``server.address``; unset means every interface)."""
    return st.get_option("server.address")


def open_local() -> bool:
    """Local mode (no sign-in) served beyond this machine, and the override that accepts it is set."""
    return mode() == "local" and not is_loopback(bind_address()) and os.environ.get(OPEN_LOCAL_ENV_VAR) == "1"


def refuse_open_local() -> None:
    """Stop every page when the server listens beyond loopback with no sign-in configured: anyone who can reach
    it would be an analyst. Says how to configure sign-in, or to bind to 127.0.0.1, or the override."""
    address = bind_address()
    if mode() != "local" or is_loopback(address) or os.environ.get(OPEN_LOCAL_ENV_VAR) == "1":
        return
    logger.warning("refusing to serve local mode on %s: configure sign-in or set %s=1", address or "0.0.0.0",
                   OPEN_LOCAL_ENV_VAR)
    st.error(t("auth.open_local_refused", address=address or "0.0.0.0", env=OPEN_LOCAL_ENV_VAR))
    st.stop()


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
    if _cookie_role() == "analyst":  # a reload: a new session, opened with the sign-in's cookie
        _grant("analyst")
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
    """'ok', 'wrong' or 'locked'. The attempt is counted before the password is verified (see ``_Limiter``), and
    a success clears the client's count."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    limiter = _limiter()
    if not limiter.reserve(client):  # counted as a failure now; only a correct password takes it back
        return "locked"
    stored = str(_secrets_section("roles").get("analyst_password_hash", ""))
    try:
        PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return "wrong"
    limiter.clear(client)
    return "ok"


def sidebar() -> None:
    """The role line, and sign-in or sign-out, in the sidebar."""
    current = mode()
    box = st.sidebar.container(key="auth_box")
    if current == "local":
        box.caption(t("auth.local_mode_open" if open_local() else "auth.local_mode"))
        return
    analyst = is_analyst()  # first: reading a session cookie may decide to clear it
    if current == "password":
        with box:
            _write_pending_cookie()
    if analyst:
        box.caption(t("auth.signed_in"))
        if box.button(t("auth.sign_out"), key="auth_sign_out"):
            if current == "oidc":
                st.logout()
            _sign_out()
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
            token = sign_token("analyst", secret=install_secret(), lifetime_s=session_seconds())
            st.session_state[_COOKIE_KEY] = token
            st.session_state[_COOKIE_SCRIPT_KEY] = token  # written on the next run, drawn after the rerun
            st.session_state.pop(_SIGNED_OUT_KEY, None)
            st.rerun()
        elif outcome == "locked":
            box.error(t("auth.locked", seconds=int(_limiter().wait_seconds(client)) + 1))
        else:
            box.error(t("auth.wrong"))


def _sign_out() -> None:
    """Drop the role, revoke this session's cookie token and have the browser forget it."""
    st.session_state.pop(ROLE_KEY, None)
    token = st.session_state.pop(_COOKIE_KEY, None)
    if token:
        _REVOKED.add(token)
    st.session_state[_SIGNED_OUT_KEY] = True
    st.session_state[_COOKIE_SCRIPT_KEY] = None
