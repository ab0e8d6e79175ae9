"""Safe by default: single-user local mode listens on loopback only, and a server listening beyond this machine
without sign-in shows every session a refusal instead of the app (unless the documented override is set).

The bind is checked by reading the server's listening sockets (/proc/net/tcp and tcp6), never by sending traffic
to any address but 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit import config

import churn_core as cc
from tests.app.conftest import texts
from tests.app.test_roles import with_password
from ui import auth

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from screenshot import free_port, stop, wait_for_health  # noqa: E402

# -- the refusal (AppTest, with server.address patched) --------------------------------------------------------

@pytest.fixture
def served_on():
    """Set ``server.address`` as `streamlit run --server.address X` would, and put the repo's value back."""
    before = config.get_option("server.address")

    def serve(address: str | None):
        config.set_option("server.address", address)

    yield serve
    config.set_option("server.address", before)


def test_the_repo_config_binds_to_loopback():
    assert config.get_option("server.address") == "127.0.0.1"  # read from .streamlit/config.toml
    assert 'address = "127.0.0.1"' in (ROOT / ".streamlit" / "config.toml").read_text()
    assert "--server.address $(ADDRESS)" in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "::", None])
@pytest.mark.parametrize("page", ["pages/overview.py", "pages/data.py"])
def test_local_mode_beyond_loopback_is_refused_on_every_page(app, served_on, monkeypatch, address, page):
    monkeypatch.delenv(auth.OPEN_LOCAL_ENV_VAR, raising=False)
    served_on(address)
    at = app.run()
    if page != "pages/overview.py":
        at = at.switch_page(page).run()
    assert not at.exception
    shown = address or "0.0.0.0"
    assert [e.value for e in at.error] == [
        f"Churn Radar is not served here: this server listens on {shown}, beyond this machine, and no sign-in is "
        "configured, so everyone who can reach it could change data and models. Whoever runs it can configure "
        "sign-in (an analyst password or single sign-on in .streamlit/secrets.toml; README, \"Roles\"), or serve "
        "it on this machine only (server.address = 127.0.0.1), or accept the risk by setting "
        "CHURN_RADAR_ALLOW_OPEN_LOCAL=1."]
    assert not at.title and not at.sidebar.radio and not at.get("file_uploader")  # no page, no sidebar
    assert texts(at) == at.error[0].value


def test_the_refusal_is_translated(app, served_on, monkeypatch):
    monkeypatch.delenv(auth.OPEN_LOCAL_ENV_VAR, raising=False)
    served_on("0.0.0.0")
    app.query_params["lang"] = "zh"
    at = app.run()
    assert "此处不提供流失雷达" in at.error[0].value and "CHURN_RADAR_ALLOW_OPEN_LOCAL=1" in at.error[0].value


def test_sign_in_configured_serves_beyond_loopback(trained_app, served_on):
    served_on("0.0.0.0")
    at = with_password(trained_app).run()
    assert not at.exception and not at.error
    assert at.title and "Viewing." in " ".join(c.value for c in at.sidebar.caption)


def test_the_override_serves_local_mode_and_says_it_is_open(app, served_on, monkeypatch):
    monkeypatch.setenv(auth.OPEN_LOCAL_ENV_VAR, "1")
    served_on("0.0.0.0")
    at = app.run().switch_page("pages/data.py").run()
    assert not at.exception and not at.error
    assert "open to the network" in " ".join(c.value for c in at.sidebar.caption)
    assert len(at.get("file_uploader")) == 1


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.1.1", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("10.0.0.5", False), ("myhost.lan", False)])
def test_is_loopback(address, loopback):
    assert auth.is_loopback(address) is loopback


# -- the bind: a real server, its listening sockets read from /proc -------------------------------------------

def listening(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(_address(address, width))
    return found


def _address(hex_address: str, width: int) -> str:
    """/proc/net/tcp's little-endian hex address (per 32-bit word) as text."""
    import ipaddress

    words = [bytes.fromhex(hex_address[i:i + 8])[::-1] for i in range(0, width, 8)]
    return str(ipaddress.ip_address(b"".join(words)))


def test_proc_addresses_are_read_right():
    assert _address("0100007F", 8) == "127.0.0.1"
    assert _address("00000000", 8) == "0.0.0.0"
    assert _address("00000000000000000000000001000000", 32) == "::1"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the listening sockets from /proc/net")
def test_streamlit_run_with_the_repo_config_listens_on_loopback_only(tmp_path):
    """`streamlit run app.py` as `make run` starts it (the repo's config, no --server.address)."""
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, cc.store.ENV_VAR: str(tmp_path / "churn.duckdb")}
    env.pop(auth.OPEN_LOCAL_ENV_VAR, None)
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    with log_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", proc=proc, log_path=log_path)
        addresses = listening(port)
        assert addresses, f"nothing listens on port {port}"
        assert all(auth.is_loopback(a) for a in addresses), addresses  # never 0.0.0.0 or ::
    finally:
        stop(proc)
